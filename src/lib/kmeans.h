/*
 * kmeans.h
 *		k-means clustering and silhouette scores on plain C arrays.  Pure C;
 *		see kmeans.c.
 *
 * Points are row-major: point i is X[i * d .. i * d + d - 1].  Distances are
 * squared Euclidean unless a name says otherwise.
 *
 * km_fit follows scikit-learn's KMeans (1.2) so that results are comparable:
 *	- greedy k-means++ seeding: the first centre is a uniformly drawn point;
 *	  every further centre is the best (lowest potential) of n_local_trials
 *	  candidates drawn with probability proportional to the squared distance
 *	  to the nearest chosen centre (default 2 + floor(ln k));
 *	- Lloyd iterations, exact, accelerated with Hamerly's bounds (one upper
 *	  bound to the assigned centre and one lower bound to the second
 *	  closest); KM_LLOYD computes every distance and gives bitwise the same
 *	  result on data without distance ties (it exists for tests);
 *	- new centres are the means of their points; sums over the points
 *	  (centre sums, potentials, inertia) are taken by chunks: the points
 *	  are cut into clamp(n / (4k), 1, 64) chunks of ceil(n / chunks)
 *	  points, each chunk summed in point order from 0, and the chunk sums
 *	  added in chunk order from 0; the chunks are the tasks of the passes
 *	  that threads share, so the result never depends on the threads;
 *	  a centre left without points is moved to the point farthest from its
 *	  own centre (the farthest for the first empty cluster, the next
 *	  farthest for the second, ...), as scikit-learn does;
 *	- convergence: the labels did not change (strict), or the sum over
 *	  centres of the squared shift is <= tol * mean per-feature variance of
 *	  X (population variance); after a tolerance stop or max_iter the
 *	  labels are recomputed against the final centres;
 *	- inertia: sum of squared distances of the points to their centre;
 *	- n_init runs, run r seeded with an_mix64(seed + r); the run with the
 *	  lowest inertia wins (the first on ties).
 */
#ifndef ANALYTICS_KMEANS_H
#define ANALYTICS_KMEANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define KM_MAX_K		10000
#define KM_MAX_DIMS		10000

typedef enum km_algorithm
{
	KM_HAMERLY,					/* bounds-accelerated Lloyd (default) */
	KM_LLOYD					/* plain Lloyd: every distance, every iteration */
} km_algorithm;

typedef struct km_params
{
	int			k;				/* 1 <= k <= n, <= KM_MAX_K */
	int			n_init;			/* >= 1 */
	int			max_iter;		/* >= 1 */
	double		tol;			/* >= 0, relative to the mean feature variance */
	uint64_t	seed;
	int			n_local_trials; /* <= 0: 2 + floor(ln k) */
	km_algorithm algorithm;
	int			threads;		/* <= 1: the calling thread only; the result
								 * does not depend on it */
} km_params;

typedef struct km_result
{
	double	   *centroids;		/* caller-allocated k * d: the best run's centres */
	int64_t    *sizes;			/* caller-allocated k: points per centre */
	double		inertia;		/* of the best run */
	int			iterations;		/* Lloyd iterations of the best run */
	bool		converged;		/* the best run stopped before max_iter */
	int			best_run;		/* 0-based */
	int64_t		distance_evals; /* point-to-centre distances computed, all runs */
} km_result;

/*
 * Cluster n points of d dimensions.  labels (optional, n entries) receives
 * the best run's 0-based labels.  Returns AN_OK, or AN_EINVAL (k out of
 * range, n == 0, d < 1, a non-finite coordinate, bad parameters) or
 * AN_ENOMEM with a message in err.  Memory: O(n + k * d) besides X.
 */
extern int	km_fit(const double *X, size_t n, int d, const km_params *p,
				   int32_t *labels, km_result *out, const an_allocator *a,
				   char *err, size_t errlen);

/* index of the nearest of k centres to x (lowest index on ties); *dist2 gets the squared distance */
extern int	km_nearest(const double *centroids, int k, int d, const double *x,
					   double *dist2);

/*
 * Exact mean silhouette coefficient of n labelled points (labels in
 * [0, k)), as scikit-learn's silhouette_score with the Euclidean metric:
 * s(i) = (b - a) / max(a, b) with a the mean distance to the other points of
 * its cluster and b the lowest mean distance to the points of another
 * cluster; s(i) = 0 for a point alone in its cluster.  Needs at least 2 and
 * at most n - 1 non-empty clusters (AN_EINVAL otherwise).  O(n^2 d) time,
 * O(n k) memory.
 */
extern int	km_silhouette(const double *X, size_t n, int d, const int32_t *labels,
						  int k, double *out, const an_allocator *a,
						  char *err, size_t errlen);

/*
 * A 64-bit hash of a point's coordinates (with -0.0 read as 0.0), mixed with
 * seed: the key of the order-independent sample and canonical order.
 */
extern uint64_t km_point_hash(const double *x, int d, uint64_t seed);

/*
 * Sort the n points of X in place by (km_point_hash, coordinates), a
 * canonical order that does not depend on the input order, so that a fit
 * on the sorted points gives the same model however the rows arrived.
 */
extern int	km_sort_canonical(double *X, size_t n, int d, uint64_t seed,
							  const an_allocator *a, char *err, size_t errlen);

/*
 * The same order, written to out (n * d, not overlapping X; X is left
 * alone), and when hash_out is not NULL the points' hashes to hash_out (n).
 * hash: the hashes km_point_hash(X + i * d, d, seed) when the caller has
 * them already (taken as the points arrived), or NULL to compute them.
 * threads (1 or more) share the hashing and the gather of the rows; the
 * order does not depend on them.
 */
extern int	km_sort_canonical_hashed(const double *X, const uint64_t *hash, uint64_t seed,
									 size_t n, int d, double *out, uint64_t *hash_out,
									 int threads, const an_allocator *a, char *err, size_t errlen);

/*
 * Merge the run B (nb points, hashes hb) into the run A (na points, hashes
 * ha), each in canonical order with the same seed: afterwards A and ha
 * hold the na + nb points in the canonical order of the union (they must
 * have room for it), so that sorting runs separately (in parallel workers)
 * and merging them equals one sort.  Equal points keep A's first.  Works
 * from the back in place: O(na + nb) time, no extra memory.
 */
extern void km_merge_canonical(double *A, uint64_t *ha, size_t na,
							   const double *B, const uint64_t *hb, size_t nb, int d);

#endif							/* ANALYTICS_KMEANS_H */
