/*
 * test_kmeans.c
 *		Unit tests of the k-means core (src/lib/kmeans.c): km_fit,
 *		km_nearest, km_silhouette, km_point_hash and km_sort_canonical.
 *
 * Hand examples carry their derivation in a comment.  Random inputs are
 * compared with references written here from scikit-learn's algorithms
 * (_kmeans_plusplus, _kmeans_single_lloyd, _relocate_empty_clusters_dense,
 * silhouette_samples) with naive loops, not from kmeans.c: the seeding
 * recomputes every candidate's distances and the cumulative sums from
 * scratch, the Lloyd step scans every centre and picks the relocated
 * points by repeated maximum search.  Both sides sum squared distances
 * coordinate by coordinate from 0 and means as sum * (1 / count), and sums
 * over the points by kmeans.h's chunk rule (ref_chunk_size), so the
 * results are compared bitwise.
 *
 * KM_UNIT_QUICK=1 shrinks the random data sets and skips the timing of the
 * 1,000,000-point fit (for valgrind).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmeans.h"
#include "rng.h"
#include "unit.h"

static bool quick = false;
static int	fit_threads = 1;	/* km_params.threads of fit() */

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* ---------------------------------------------------------------------
 * data
 * ---------------------------------------------------------------------
 */

/* n points uniform in [0, 1)^d */
static double *
gen_uniform(an_rng *r, size_t n, int d)
{
	double	   *X = xmalloc(sizeof(double) * n * d);
	size_t		i;

	for (i = 0; i < n * d; i++)
		X[i] = an_rng_uniform(r);
	return X;
}

/*
 * n points around kc centres drawn uniformly in [-spread, spread]^d, with
 * standard deviation sd per coordinate; the centres go to centres (kc * d)
 * when not NULL.
 */
static double *
gen_blobs(an_rng *r, size_t n, int d, int kc, double spread, double sd,
		  double *centres)
{
	double	   *X = xmalloc(sizeof(double) * n * d);
	double	   *c = centres ? centres : xmalloc(sizeof(double) * kc * d);
	size_t		i;
	int			j;

	for (j = 0; j < kc * d; j++)
		c[j] = (2.0 * an_rng_uniform(r) - 1.0) * spread;
	for (i = 0; i < n; i++)
	{
		int			b = (int) an_rng_below(r, kc);

		for (j = 0; j < d; j++)
			X[i * d + j] = c[b * d + j] + sd * an_rng_normal(r);
	}
	if (centres == NULL)
		free(c);
	return X;
}

/*
 * n points of which most repeat a pool of a few distinct points (small
 * integers) and the rest are far outliers: many distance ties, empty
 * clusters and relocations.
 */
static double *
gen_dups(an_rng *r, size_t n, int d, int pool)
{
	double	   *X = xmalloc(sizeof(double) * n * d);
	double	   *P = xmalloc(sizeof(double) * pool * d);
	size_t		i;
	int			j;

	for (j = 0; j < pool * d; j++)
		P[j] = (double) an_rng_below(r, 7);
	for (i = 0; i < n; i++)
	{
		if (an_rng_below(r, 10) == 0)
			for (j = 0; j < d; j++)
				X[i * d + j] = 20.0 + 30.0 * an_rng_uniform(r);
		else
		{
			int			b = (int) an_rng_below(r, pool);

			for (j = 0; j < d; j++)
				X[i * d + j] = P[b * d + j];
		}
	}
	free(P);
	return X;
}

/* ---------------------------------------------------------------------
 * km_fit wrapper
 * ---------------------------------------------------------------------
 */

typedef struct fit_out
{
	double	   *cent;			/* k * d */
	int64_t    *sizes;			/* k */
	int32_t    *labels;			/* n */
	km_result	r;
	int			rc;
} fit_out;

static void
fit_free(fit_out *f)
{
	free(f->cent);
	free(f->sizes);
	free(f->labels);
	memset(f, 0, sizeof(*f));
}

/* km_fit with the standard allocator; the result owns its arrays */
static int
fit(fit_out *f, const double *X, size_t n, int d, int k, int n_init,
	int max_iter, double tol, uint64_t seed, km_algorithm alg, int trials)
{
	km_params	p;
	char		err[256];

	memset(&p, 0, sizeof(p));
	p.k = k;
	p.n_init = n_init;
	p.max_iter = max_iter;
	p.tol = tol;
	p.seed = seed;
	p.n_local_trials = trials;
	p.algorithm = alg;
	p.threads = fit_threads;
	memset(f, 0, sizeof(*f));
	f->cent = xmalloc(sizeof(double) * (k > 0 ? k : 1) * d);
	f->sizes = xmalloc(sizeof(int64_t) * (k > 0 ? k : 1));
	f->labels = xmalloc(sizeof(int32_t) * (n > 0 ? n : 1));
	f->r.centroids = f->cent;
	f->r.sizes = f->sizes;
	f->rc = km_fit(X, n, d, &p, f->labels, &f->r, &an_std_allocator, err, sizeof(err));
	if (f->rc != AN_OK)
		NOTE("km_fit: %s", err);
	return f->rc;
}

/* do two fits agree bitwise (centroids, labels, sizes, inertia, iterations)? */
static bool
same_fit(const fit_out *a, const fit_out *b, size_t n, int d, int k)
{
	return a->rc == AN_OK && b->rc == AN_OK &&
		memcmp(a->cent, b->cent, sizeof(double) * k * d) == 0 &&
		memcmp(a->labels, b->labels, sizeof(int32_t) * n) == 0 &&
		memcmp(a->sizes, b->sizes, sizeof(int64_t) * k) == 0 &&
		a->r.inertia == b->r.inertia &&
		a->r.iterations == b->r.iterations &&
		a->r.converged == b->r.converged &&
		a->r.best_run == b->r.best_run;
}

/* ---------------------------------------------------------------------
 * reference k-means (scikit-learn 1.2, naive loops)
 * ---------------------------------------------------------------------
 */

/* squared distance, coordinates summed in order from 0 */
static double
ref_d2(const double *x, const double *y, int d)
{
	double		s = 0.0;
	int			j;

	for (j = 0; j < d; j++)
		s += (x[j] - y[j]) * (x[j] - y[j]);
	return s;
}

/* kmeans.h's chunk rule: clamp(n / (4k), 1, 64) chunks of equal size, the last shorter */
static size_t
ref_chunk_size(size_t n, int k)
{
	size_t		nch = n / (4 * (size_t) k);

	if (nch < 1)
		nch = 1;
	if (nch > 64)
		nch = 64;
	return (n + nch - 1) / nch;
}

/* sum of v[0 .. n): each chunk from 0 in order, then the chunk sums from 0 in order */
static double
ref_sum(const double *v, size_t n, size_t chs)
{
	double		total = 0.0;
	size_t		i0;

	for (i0 = 0; i0 < n; i0 += chs)
	{
		double		part = 0.0;
		size_t		i;

		for (i = i0; i < n && i < i0 + chs; i++)
			part += v[i];
		total += part;
	}
	return total;
}

/*
 * _kmeans_plusplus: centre 0 is X[randint(n)]; then, per centre, draw all
 * trials values uniform * current_pot, locate each in the cumulative sum
 * of closest_dist_sq (first index with cumsum >= value, clipped), compute
 * each candidate's potential sum(min(closest, dist to candidate)) and keep
 * the lowest (the first on ties).  When current_pot is 0 the candidates are
 * drawn with an_rng_below (kmeans.h's rule for coincident points); they
 * all have potential 0, so the first wins.  chosen (k) gets the indices.
 */
static void
ref_kmeanspp(const double *X, size_t n, int d, int k, int trials, an_rng *rng,
			 double *C, size_t *chosen)
{
	double	   *closest = xmalloc(sizeof(double) * n);
	double	   *cum = xmalloc(sizeof(double) * n);
	double	   *cand = xmalloc(sizeof(double) * n * trials);
	double	   *vals = xmalloc(sizeof(double) * trials);
	size_t	   *ids = xmalloc(sizeof(size_t) * trials);
	double	   *pots = xmalloc(sizeof(double) * trials);
	double		current_pot;
	size_t		chs = ref_chunk_size(n, k);
	size_t		first = (size_t) an_rng_below(rng, n);
	size_t		i;
	int			c;
	int			t;

	memcpy(C, X + first * d, sizeof(double) * d);
	chosen[0] = first;
	for (i = 0; i < n; i++)
		closest[i] = ref_d2(C, X + i * d, d);
	current_pot = ref_sum(closest, n, chs);

	for (c = 1; c < k; c++)
	{
		int			best = 0;

		if (current_pot == 0.0)
		{
			for (t = 0; t < trials; t++)
				ids[t] = (size_t) an_rng_below(rng, n);
			chosen[c] = ids[0];
			memcpy(C + (size_t) c * d, X + ids[0] * d, sizeof(double) * d);
			continue;
		}
		for (t = 0; t < trials; t++)
			vals[t] = an_rng_uniform(rng) * current_pot;
		/* stable_cumsum, by chunks: the sum of the chunks before, plus the running sum in the chunk */
		{
			double		before = 0.0;
			double		run = 0.0;

			for (i = 0; i < n; i++)
			{
				if (i % chs == 0)
				{
					before += run;
					run = 0.0;
				}
				run += closest[i];
				cum[i] = before + run;
			}
		}
		/* searchsorted(side='left'), then clip to n - 1 */
		for (t = 0; t < trials; t++)
		{
			for (i = 0; i < n; i++)
				if (cum[i] >= vals[t])
					break;
			ids[t] = i < n ? i : n - 1;
		}
		for (t = 0; t < trials; t++)
		{
			pots[t] = 0.0;
			for (i = 0; i < n; i++)
			{
				double		v = ref_d2(X + ids[t] * d, X + i * d, d);

				cand[t * n + i] = v < closest[i] ? v : closest[i];
			}
			pots[t] = ref_sum(cand + t * n, n, chs);
		}
		for (t = 1; t < trials; t++)
			if (pots[t] < pots[best])
				best = t;
		current_pot = pots[best];
		memcpy(closest, cand + best * n, sizeof(double) * n);
		chosen[c] = ids[best];
		memcpy(C + (size_t) c * d, X + ids[best] * d, sizeof(double) * d);
	}
	free(closest);
	free(cum);
	free(cand);
	free(vals);
	free(ids);
	free(pots);
}

/* a relocation seen by ref_lloyd */
typedef struct ref_reloc
{
	int			iteration;
	int			cluster;
	size_t		point;
	double		dist;			/* squared distance to its old centre */
} ref_reloc;

#define REF_MAX_RELOC 64

typedef struct ref_out
{
	double	   *C;				/* k * d */
	int32_t    *labels;
	int64_t    *sizes;
	double		inertia;
	int			iterations;
	bool		converged;
	int			best_run;
	int			n_reloc;
	ref_reloc	reloc[REF_MAX_RELOC];
} ref_out;

/* tol * mean over the features of np.var(X, axis=0) */
static double
ref_tolerance(const double *X, size_t n, int d, double tol)
{
	double		total = 0.0;
	int			j;

	for (j = 0; j < d; j++)
	{
		double		mean = 0.0;
		double		var = 0.0;
		size_t		i;

		for (i = 0; i < n; i++)
			mean += X[i * d + j];
		mean /= (double) n;
		for (i = 0; i < n; i++)
			var += (X[i * d + j] - mean) * (X[i * d + j] - mean);
		total += var / (double) n;
	}
	return tol * (total / d);
}

/* the nearest centre by scanning all of them (the first on ties) */
static int
ref_nearest(const double *C, int k, int d, const double *x, double *dist)
{
	int			best = 0;
	int			c;

	*dist = ref_d2(x, C, d);
	for (c = 1; c < k; c++)
	{
		double		v = ref_d2(x, C + (size_t) c * d, d);

		if (v < *dist)
		{
			*dist = v;
			best = c;
		}
	}
	return best;
}

/*
 * _kmeans_single_lloyd from the centres in o->C: per iteration, labels
 * against the current centres, sums by chunks, empty clusters get
 * the farthest points (from their assigned centre; the lower index on
 * ties, found by repeated maximum search), means as sum * (1 / count);
 * strict convergence on unchanged labels, else sum of squared shifts <=
 * tol_scaled; relabel unless strict; inertia by chunks.
 */
static void
ref_lloyd(const double *X, size_t n, int d, int k, int max_iter,
		  double tol_scaled, ref_out *o)
{
	double	   *Cn = xmalloc(sizeof(double) * k * d);
	double	   *part = xmalloc(sizeof(double) * k * d);
	double	   *dmin = xmalloc(sizeof(double) * n);
	size_t		chs = ref_chunk_size(n, k);
	size_t		i0;
	int32_t    *old = xmalloc(sizeof(int32_t) * n);
	bool	   *taken = xmalloc(sizeof(bool) * n);
	bool		strict = false;
	size_t		i;
	int			it;
	int			c;
	int			j;

	for (i = 0; i < n; i++)
		o->labels[i] = old[i] = -1;
	o->converged = false;
	o->iterations = max_iter;
	for (it = 0; it < max_iter; it++)
	{
		double		shift = 0.0;

		for (i = 0; i < n; i++)
			o->labels[i] = ref_nearest(o->C, k, d, X + i * d, &dmin[i]);
		for (c = 0; c < k * d; c++)
			Cn[c] = 0.0;
		for (c = 0; c < k; c++)
			o->sizes[c] = 0;
		for (i0 = 0; i0 < n; i0 += chs)
		{
			/* the chunk's sums from 0, then added to the total */
			for (c = 0; c < k * d; c++)
				part[c] = 0.0;
			for (i = i0; i < n && i < i0 + chs; i++)
			{
				o->sizes[o->labels[i]]++;
				for (j = 0; j < d; j++)
					part[o->labels[i] * d + j] += X[i * d + j];
			}
			for (c = 0; c < k * d; c++)
				Cn[c] += part[c];
		}
		/* relocation */
		for (i = 0; i < n; i++)
			taken[i] = false;
		for (c = 0; c < k; c++)
		{
			size_t		far = n;
			int			oc;

			if (o->sizes[c] != 0)
				continue;
			for (i = 0; i < n; i++)
				if (!taken[i] && (far == n || dmin[i] > dmin[far]))
					far = i;
			taken[far] = true;
			oc = o->labels[far];
			for (j = 0; j < d; j++)
			{
				Cn[oc * d + j] -= X[far * d + j];
				Cn[c * d + j] = X[far * d + j];
			}
			o->sizes[c] = 1;
			o->sizes[oc]--;
			if (o->n_reloc < REF_MAX_RELOC)
			{
				o->reloc[o->n_reloc].iteration = it;
				o->reloc[o->n_reloc].cluster = c;
				o->reloc[o->n_reloc].point = far;
				o->reloc[o->n_reloc].dist = dmin[far];
				o->n_reloc++;
			}
		}
		for (c = 0; c < k; c++)
		{
			double		sh;

			if (o->sizes[c] > 0)
			{
				double		alpha = 1.0 / (double) o->sizes[c];

				for (j = 0; j < d; j++)
					Cn[c * d + j] *= alpha;
			}
			sh = sqrt(ref_d2(Cn + c * d, o->C + c * d, d));
			shift += sh * sh;
		}
		memcpy(o->C, Cn, sizeof(double) * k * d);
		if (memcmp(o->labels, old, sizeof(int32_t) * n) == 0)
		{
			strict = true;
			break;
		}
		if (shift <= tol_scaled)
			break;
		memcpy(old, o->labels, sizeof(int32_t) * n);
	}
	if (it < max_iter)
	{
		o->converged = true;
		o->iterations = it + 1;
	}
	if (!strict)
		for (i = 0; i < n; i++)
			o->labels[i] = ref_nearest(o->C, k, d, X + i * d, &dmin[i]);
	for (c = 0; c < k; c++)
		o->sizes[c] = 0;
	for (i = 0; i < n; i++)
	{
		dmin[i] = ref_d2(X + i * d, o->C + o->labels[i] * d, d);
		o->sizes[o->labels[i]]++;
	}
	o->inertia = ref_sum(dmin, n, chs);
	free(Cn);
	free(part);
	free(dmin);
	free(old);
	free(taken);
}

static void
ref_init(ref_out *o, size_t n, int k, int d)
{
	memset(o, 0, sizeof(*o));
	o->C = xmalloc(sizeof(double) * k * d);
	o->labels = xmalloc(sizeof(int32_t) * n);
	o->sizes = xmalloc(sizeof(int64_t) * k);
}

static void
ref_free(ref_out *o)
{
	free(o->C);
	free(o->labels);
	free(o->sizes);
}

/*
 * The whole of KMeans.fit: n_init runs, run r seeded with an_mix64(seed +
 * r), the lowest inertia (the first on ties) wins.
 */
static void
ref_fit(const double *X, size_t n, int d, int k, int n_init, int max_iter,
		double tol, uint64_t seed, int trials, ref_out *best)
{
	double		tol_scaled = ref_tolerance(X, n, d, tol);
	int			r;

	if (trials <= 0)
		trials = 2 + (int) floor(log((double) k));
	ref_init(best, n, k, d);
	for (r = 0; r < n_init; r++)
	{
		ref_out		o;
		an_rng		rng;
		size_t	   *chosen = xmalloc(sizeof(size_t) * k);

		ref_init(&o, n, k, d);
		an_rng_seed(&rng, an_mix64(seed + (uint64_t) r));
		ref_kmeanspp(X, n, d, k, trials, &rng, o.C, chosen);
		ref_lloyd(X, n, d, k, max_iter, tol_scaled, &o);
		if (r == 0 || o.inertia < best->inertia)
		{
			ref_free(best);
			*best = o;
			best->best_run = r;
		}
		else
			ref_free(&o);
		free(chosen);
	}
}

/* does a km_fit result equal the reference bitwise? */
static bool
same_as_ref(const fit_out *f, const ref_out *o, size_t n, int d, int k)
{
	return f->rc == AN_OK &&
		memcmp(f->cent, o->C, sizeof(double) * k * d) == 0 &&
		memcmp(f->labels, o->labels, sizeof(int32_t) * n) == 0 &&
		memcmp(f->sizes, o->sizes, sizeof(int64_t) * k) == 0 &&
		f->r.inertia == o->inertia &&
		f->r.iterations == o->iterations &&
		f->r.converged == o->converged &&
		f->r.best_run == o->best_run;
}

/* ---------------------------------------------------------------------
 * allocators for the failure and interrupt tests
 * ---------------------------------------------------------------------
 */

/* unit_ctx, unit_alloc, unit_release, unit_interrupts: see unit.h */

/* ---------------------------------------------------------------------
 * km_fit: hand examples
 * ---------------------------------------------------------------------
 */

static void
test_hand(void)
{
	/*
	 * 1-D {0, 1, 10, 11}, k = 2.  Whatever the first centre, the second is
	 * drawn from the other pair with probability >= 200/222 per trial and
	 * wins on potential (2 against 181 for the near point), so the seeds
	 * are one point of each pair; the assignment is {0, 1} | {10, 11}, the
	 * means 0.5 and 10.5, the next assignment the same (strict
	 * convergence), the inertia 4 * 0.5^2 = 1.0, the sizes 2 and 2.
	 */
	static const double x1[] = {0, 1, 10, 11};

	/*
	 * 2-D: A = {(0,0), (2,0), (0,2), (2,2)}, mean (1,1), each point at
	 * squared distance 1 + 1 = 2, sum 8; B = {(10,10), (12,10), (11,13)},
	 * mean (33/3, 33/3) = (11,11), squared distances 1+1, 1+1, 0+4, sum 8.
	 * k = 2: inertia 16, sizes 4 and 3.
	 */
	static const double x2[] = {0, 0, 2, 0, 0, 2, 2, 2, 10, 10, 12, 10, 11, 13};
	fit_out		f;
	uint64_t	seed;
	int			alg;

	for (alg = 0; alg < 2; alg++)
		for (seed = 1; seed <= 5; seed++)
		{
			int			lo;

			fit(&f, x1, 4, 1, 2, 1, 300, 1e-4, seed, (km_algorithm) alg, 0);
			lo = f.cent[0] < f.cent[1] ? 0 : 1;
			CHECK(f.rc == AN_OK && f.cent[lo] == 0.5 && f.cent[1 - lo] == 10.5 &&
				  f.r.inertia == 1.0 && f.sizes[0] == 2 && f.sizes[1] == 2 &&
				  f.labels[0] == lo && f.labels[1] == lo &&
				  f.labels[2] == 1 - lo && f.labels[3] == 1 - lo && f.r.converged,
				  "1-D {0,1,10,11} k=2 (%s, seed %d): centroids {%g, %g}, inertia %g",
				  alg ? "lloyd" : "hamerly", (int) seed, f.cent[0], f.cent[1], f.r.inertia);
			fit_free(&f);

			fit(&f, x2, 7, 2, 2, 1, 300, 1e-4, seed, (km_algorithm) alg, 0);
			lo = f.cent[0] < f.cent[2] ? 0 : 1;
			CHECK(f.rc == AN_OK &&
				  fabs(f.cent[2 * lo] - 1) < 1e-12 && fabs(f.cent[2 * lo + 1] - 1) < 1e-12 &&
				  fabs(f.cent[2 * (1 - lo)] - 11) < 1e-12 &&
				  fabs(f.cent[2 * (1 - lo) + 1] - 11) < 1e-12 &&
				  fabs(f.r.inertia - 16) < 1e-12 &&
				  f.sizes[lo] == 4 && f.sizes[1 - lo] == 3,
				  "2-D hand example (%s, seed %d): centroids (%g,%g) (%g,%g), inertia %g",
				  alg ? "lloyd" : "hamerly", (int) seed,
				  f.cent[0], f.cent[1], f.cent[2], f.cent[3], f.r.inertia);
			fit_free(&f);
		}
}

/*
 * k = 1: the only centre is the mean of the points (after the first
 * iteration; the second changes no label: strict convergence after 2) and
 * the inertia is sum_i |x_i - mean|^2 = n * (sum of the per-feature
 * population variances).
 */
static void
test_k1(void)
{
	an_rng		r;
	size_t		n = 500;
	int			d = 4;
	double	   *X;
	double		mean[4] = {0};
	double		var = 0.0;
	double		err = 0.0;
	fit_out		f;
	size_t		i;
	int			j;

	an_rng_seed(&r, 11);
	X = gen_blobs(&r, n, d, 3, 5.0, 1.0, NULL);
	for (j = 0; j < d; j++)
	{
		for (i = 0; i < n; i++)
			mean[j] += X[i * d + j];
		mean[j] /= n;
		for (i = 0; i < n; i++)
			var += (X[i * d + j] - mean[j]) * (X[i * d + j] - mean[j]) / n;
	}
	fit(&f, X, n, d, 1, 1, 300, 1e-4, 3, KM_HAMERLY, 0);
	for (j = 0; j < d; j++)
		err = fmax(err, fabs(f.cent[j] - mean[j]));
	CHECK(f.rc == AN_OK && err < 1e-12 && f.sizes[0] == (int64_t) n,
		  "k=1: the centroid is the mean (max error %.3g)", err);
	CHECK(fabs(f.r.inertia - n * var) <= 1e-10 * n * var,
		  "k=1: inertia %.17g = n * total variance %.17g", f.r.inertia, n * var);
	CHECK(f.r.iterations == 2 && f.r.converged,
		  "k=1: strict convergence after 2 iterations (%d)", f.r.iterations);
	fit_free(&f);
	free(X);
}

/*
 * k = n distinct points: the seeds are all the points, every point is its
 * own cluster, the inertia is 0 and every size is 1.
 */
static void
test_k_equals_n(void)
{
	an_rng		r;
	size_t		n = 7;
	int			d = 3;
	double	   *X;
	fit_out		f;
	bool		ones = true;
	bool		perm = true;
	int			c;

	an_rng_seed(&r, 12);
	X = gen_uniform(&r, n, d);
	fit(&f, X, n, d, (int) n, 1, 300, 1e-4, 1, KM_HAMERLY, 0);
	for (c = 0; c < (int) n; c++)
	{
		ones &= f.sizes[c] == 1;
		perm &= memcmp(f.cent + f.labels[c] * d, X + c * d, sizeof(double) * d) == 0;
	}
	CHECK(f.rc == AN_OK && f.r.inertia == 0.0 && ones && perm,
		  "k=n distinct points: inertia %g, sizes 1, centroids are the points",
		  f.r.inertia);
	fit_free(&f);
	free(X);
}

/* ---------------------------------------------------------------------
 * km_fit against the references
 * ---------------------------------------------------------------------
 */

/*
 * k-means++ seeding.  With k = n distinct points one iteration leaves
 * every centre on its own seed (its cluster is that point alone), so
 * max_iter = 1 shows the k-means++ choices in order: they must be the
 * reference's, for several seeds and numbers of local trials.  With k < n,
 * max_iter = 1, tol = 0 the result is the reference seeding plus one
 * reference Lloyd step and the relabelling.
 */
static void
test_seeding(void)
{
	static const int trials[] = {1, 2, 3, 0, 9, 20};
	an_rng		r;
	size_t		n = 40;
	int			d = 2;
	double	   *X;
	int			t;
	uint64_t	seed;

	an_rng_seed(&r, 21);
	X = gen_blobs(&r, n, d, 4, 10.0, 1.0, NULL);
	for (t = 0; t < (int) (sizeof(trials) / sizeof(trials[0])); t++)
	{
		bool		ok = true;

		for (seed = 0; seed < 8; seed++)
		{
			an_rng		rng;
			size_t		chosen[40];
			double		C[80];
			int			tr = trials[t] > 0 ? trials[t] : 2 + (int) floor(log((double) n));
			fit_out		f;

			an_rng_seed(&rng, an_mix64(seed));
			ref_kmeanspp(X, n, d, (int) n, tr, &rng, C, chosen);
			fit(&f, X, n, d, (int) n, 1, 1, 0.0, seed, KM_HAMERLY, trials[t]);
			ok &= f.rc == AN_OK && memcmp(f.cent, C, sizeof(double) * n * d) == 0;
			fit_free(&f);
		}
		CHECK(ok, "k-means++ with k = n, %d local trials: the reference's choices, in order, for 8 seeds",
			  trials[t]);
	}
	free(X);

	/* k < n: seeding + one Lloyd step */
	for (t = 0; t < 4; t++)
	{
		int			k = 2 + 3 * t;
		bool		ok = true;

		n = 300 + 100 * t;
		X = gen_blobs(&r, n, 3, 5, 4.0, 1.0, NULL);
		for (seed = 100; seed < 106; seed++)
		{
			ref_out		o;
			fit_out		f;

			ref_fit(X, n, 3, k, 1, 1, 0.0, seed, trials[t], &o);
			fit(&f, X, n, 3, k, 1, 1, 0.0, seed, t % 2 ? KM_LLOYD : KM_HAMERLY, trials[t]);
			ok &= same_as_ref(&f, &o, n, 3, k) && !f.r.converged && f.r.iterations == 1;
			ref_free(&o);
			fit_free(&f);
		}
		CHECK(ok, "k-means++ then one Lloyd step (n %zu, k %d): equal to the reference for 6 seeds",
			  n, k);
		free(X);
	}

	/*
	 * Coincident points: 12 points, 4 distinct values 3 times each, k = 6.
	 * After the 4 distinct values the potential is 0, so centres 5 and 6
	 * are drawn with an_rng_below; they duplicate earlier centres, lose
	 * their points to the lower index and are relocated (every distance is
	 * 0, so to points 0 and 1).  One iteration must match the reference.
	 */
	{
		static const double xd[] = {3, 1, 4, 1, 3, 1, 4, 1, 3, 1, 4, 1};
		bool		ok = true;

		for (seed = 0; seed < 10; seed++)
		{
			ref_out		o;
			fit_out		f;

			ref_fit(xd, 12, 1, 6, 1, 1, 0.0, seed, 0, &o);
			fit(&f, xd, 12, 1, 6, 1, 1, 0.0, seed, seed % 2 ? KM_LLOYD : KM_HAMERLY, 0);
			ok &= same_as_ref(&f, &o, 12, 1, 6) && f.r.inertia == 0.0;
			ref_free(&o);
			fit_free(&f);
		}
		CHECK(ok, "zero potential (k > distinct points): uniform candidates and relocation as the reference");
	}
}

/*
 * The full reference (seeding, Lloyd to convergence, n_init runs) against
 * km_fit with both algorithms, bitwise, on blobs and duplicate-heavy data.
 */
static void
test_reference(void)
{
	an_rng		r;
	int			t;

	an_rng_seed(&r, 31);
	for (t = 0; t < 8; t++)
	{
		size_t		n = quick ? 300 : 1500 + 500 * t;
		int			d = 1 + t % 4;
		int			k = 3 + t;
		int			n_init = 1 + t % 3;
		double		tol = t % 2 ? 0.0 : 1e-4;
		double	   *X = t < 6 ? gen_blobs(&r, n, d, 6, 3.0, 1.0, NULL) : gen_dups(&r, n, d, 5);
		uint64_t	seed;
		bool		ok = true;

		for (seed = 7; seed < 10; seed++)
		{
			ref_out		o;
			fit_out		f;
			fit_out		g;

			ref_fit(X, n, d, k, n_init, 300, tol, seed * 1000, 0, &o);
			fit(&f, X, n, d, k, n_init, 300, tol, seed * 1000, KM_HAMERLY, 0);
			fit(&g, X, n, d, k, n_init, 300, tol, seed * 1000, KM_LLOYD, 0);
			ok &= same_as_ref(&f, &o, n, d, k) && same_as_ref(&g, &o, n, d, k);
			ref_free(&o);
			fit_free(&f);
			fit_free(&g);
		}
		CHECK(ok, "reference k-means (n %zu, d %d, k %d, n_init %d, tol %g): hamerly and lloyd equal it for 3 seeds",
			  n, d, k, n_init, tol);
		free(X);
	}
}

/*
 * Threads: with enough points for helper threads (KM_PAR_MIN is 32768),
 * fits with 2, 3 and 7 threads are bitwise the fit with 1, for both
 * algorithms and n_init 2, and equal the reference; a point count that
 * leaves a short last chunk included.
 */
static void
test_threads(void)
{
	an_rng		r;
	size_t		n = 40009;
	int			d = 3;
	int			k = 6;
	int			tc[3] = {2, 3, 7};
	double	   *X;
	int			alg;

	an_rng_seed(&r, 77);
	X = gen_blobs(&r, n, d, 8, 4.0, 1.0, NULL);
	for (alg = 0; alg < 2; alg++)
	{
		km_algorithm a = alg ? KM_LLOYD : KM_HAMERLY;
		fit_out		one;
		bool		same = true;
		int			t;

		fit_threads = 1;
		fit(&one, X, n, d, k, 2, 300, 1e-4, 5, a, 0);
		for (t = 0; t < 3; t++)
		{
			fit_out		f;

			fit_threads = tc[t];
			fit(&f, X, n, d, k, 2, 300, 1e-4, 5, a, 0);
			same &= same_fit(&f, &one, n, d, k) && f.r.distance_evals == one.r.distance_evals;
			fit_free(&f);
		}
		fit_threads = 1;
		CHECK(same, "%s, n %zu: 2, 3 and 7 threads give bitwise the fit of 1 thread (%d iterations)",
			  alg ? "lloyd" : "hamerly", n, one.r.iterations);
		if (alg == 0 && !quick)
		{
			ref_out		o;

			ref_fit(X, n, d, k, 2, 300, 1e-4, 5, 0, &o);
			CHECK(same_as_ref(&one, &o, n, d, k), "hamerly, n %zu, threads: equal to the reference", n);
			ref_free(&o);
		}
		fit_free(&one);
	}
	free(X);
}

/*
 * Hamerly against Lloyd on 20 random data sets: overlapping blobs (b, k + 2
 * blobs of sd 1 in [-2, 2]^d), uniform points (u), duplicate-heavy points
 * with exact ties and empty clusters (x), and well-separated blobs (s: k/2
 * blobs of sd 1 in [-50, 50]^d, two centres per blob, tol 0 so the split
 * of each blob runs for dozens of iterations): identical labels, bitwise
 * identical centroids, sizes, inertia, iterations.  On the separated blobs
 * Hamerly skips almost every point after the first iteration, so it must
 * compute several times fewer distances (the ratio is in the message).
 */
static void
test_hamerly_lloyd(void)
{
	typedef struct cfg
	{
		int			n;
		int			d;
		int			k;
		char		kind;		/* b blobs, u uniform, s separated blobs, x dups */
		double		tol;
		int			n_init;
	} cfg;
	static const cfg cfgs[] = {
		{20000, 2, 8, 'b', 1e-4, 1},
		{20000, 8, 16, 'b', 1e-4, 1},
		{10000, 20, 8, 'u', 0.0, 1},
		{5000, 1, 3, 'u', 0.0, 2},
		{5000, 3, 16, 'u', 1e-4, 1},
		{2000, 2, 16, 'x', 0.0, 3},
		{200, 3, 16, 'u', 0.0, 3},
		{100, 1, 16, 'x', 0.0, 3},
		{20000, 3, 2, 'b', 0.0, 1},
		{8000, 20, 3, 'b', 1e-4, 2},
		{3000, 8, 8, 'u', 0.0, 1},
		{1000, 1, 8, 'b', 0.0, 2},
		{500, 20, 16, 'x', 0.0, 2},
		{12000, 2, 3, 'u', 1e-6, 1},
		{7000, 3, 8, 'b', 1e-3, 2},
		{300, 2, 2, 'x', 0.0, 3},
		{20000, 8, 8, 's', 0.0, 1},
		{15000, 20, 16, 's', 0.0, 1},
		{4000, 1, 16, 'u', 0.0, 1},
		{20000, 1, 2, 'u', 0.0, 1},
	};
	an_rng		r;
	int			t;
	bool		hamerly_cheaper = true;

	an_rng_seed(&r, 41);
	for (t = 0; t < (int) (sizeof(cfgs) / sizeof(cfgs[0])); t++)
	{
		const cfg  *c = &cfgs[t];
		size_t		n = quick && c->kind != 's' ? (size_t) c->n / 20 + c->k : (size_t) c->n;
		double	   *X;
		fit_out		h;
		fit_out		l;
		double		ratio;

		switch (c->kind)
		{
			case 'b':
				X = gen_blobs(&r, n, c->d, c->k + 2, 2.0, 1.0, NULL);
				break;
			case 's':
				X = gen_blobs(&r, n, c->d, c->k / 2, 50.0, 1.0, NULL);
				break;
			case 'x':
				X = gen_dups(&r, n, c->d, 4);
				break;
			default:
				X = gen_uniform(&r, n, c->d);
				break;
		}
		fit(&h, X, n, c->d, c->k, c->n_init, 100, c->tol, 1000 + t, KM_HAMERLY, 0);
		fit(&l, X, n, c->d, c->k, c->n_init, 100, c->tol, 1000 + t, KM_LLOYD, 0);
		ratio = (double) l.r.distance_evals / (double) h.r.distance_evals;
		CHECK(same_fit(&h, &l, n, c->d, c->k),
			  "hamerly = lloyd bitwise (n %zu, d %d, k %d, %c, tol %g, n_init %d): %d iterations, distance evals %lld vs %lld (x%.1f)",
			  n, c->d, c->k, c->kind, c->tol, c->n_init, h.r.iterations,
			  (long long) h.r.distance_evals, (long long) l.r.distance_evals, ratio);
		hamerly_cheaper &= h.r.distance_evals <= l.r.distance_evals || c->kind == 'x';
		if (c->kind == 's')
			CHECK(ratio > 3.0,
				  "hamerly computes far fewer distances on separated blobs (n %zu, d %d, k %d): %lld vs %lld, ratio %.1f",
				  n, c->d, c->k, (long long) h.r.distance_evals,
				  (long long) l.r.distance_evals, ratio);
		fit_free(&h);
		fit_free(&l);
		free(X);
	}
	CHECK(hamerly_cheaper, "hamerly never computes more distances than lloyd (outside duplicate-heavy data)");
}

/*
 * Empty clusters.
 *
 * (a) All points identical ((1.5, -2), 10 times), k = 3: the potential is
 * 0 after the first centre, so all three seeds are that point; every point
 * goes to centre 0 (lowest index on ties), centres 1 and 2 are empty and
 * take points 0 and 1 (all distances 0, lower index first); centre 0 keeps
 * 8 copies and 8 * x * (1/8) = x exactly.  The centres did not move (shift
 * 0 <= tol * variance 0): a tolerance stop after 1 iteration, then the
 * relabelling puts every point in cluster 0 again.  Inertia 0, sizes
 * {10, 0, 0}, every centroid (1.5, -2).
 *
 * (b) 1-D {0, 10, 54, 56, 56, 56, 100}, k = 3, tol = 0, seeded on {0, 10,
 * 100} (one local trial; the test scans seeds for a run whose reference
 * seeding picks these three points, in whatever order; call their
 * clusters A, B, C).
 *	- Iteration 1: the midpoints are 5 and 55: A = {0}, B = {10, 54},
 *	  C = {56, 56, 56, 100}; means A = 0, B = 32, C = 268/4 = 67.
 *	- Iteration 2: 10 is 10 from A, 22 from B: A; 54 is 13 from C, 22
 *	  from B: C; the 56s and 100 go to C.  B is empty.  Squared distances
 *	  to the assigned centres (0, 32, 67): 0, 100, 169, 121 (x3), 1089:
 *	  the farthest is 100 (point 6), which leaves C for B.  Means A = 10/2
 *	  = 5, B = 100, C = (54 + 3 * 56) / 4 = 55.5.
 *	- Iteration 3: labels A = {0, 10}, C = {54, 56, 56, 56}, B = {100}
 *	  (100 moved from C to B); the means do not move: shift 0 <= 0, stop.
 *	  Inertia 5^2 * 2 + 1.5^2 + 3 * 0.5^2 + 0 = 50 + 2.25 + 0.75 = 53;
 *	  sizes A 2, B 1, C 4; 3 iterations, converged.
 * With max_iter = 2 the fit stops right after the relocation: B is
 * already 100 and the relabelling gives the same labels and inertia.
 */
static void
test_empty_clusters(void)
{
	static const double xr[] = {0, 10, 54, 56, 56, 56, 100};
	double		x[20];
	fit_out		f;
	int			i;
	int			alg;
	uint64_t	seed;
	bool		found = false;

	for (i = 0; i < 10; i++)
	{
		x[2 * i] = 1.5;
		x[2 * i + 1] = -2.0;
	}
	for (alg = 0; alg < 2; alg++)
	{
		bool		same = true;

		fit(&f, x, 10, 2, 3, 1, 300, 1e-4, 5, (km_algorithm) alg, 0);
		for (i = 0; i < 3; i++)
			same &= f.cent[2 * i] == 1.5 && f.cent[2 * i + 1] == -2.0;
		CHECK(f.rc == AN_OK && f.r.inertia == 0.0 && same && f.sizes[0] == 10 &&
			  f.sizes[1] == 0 && f.sizes[2] == 0 && f.r.converged && f.r.iterations == 1,
			  "identical points, k=3 (%s): inertia %g, sizes %lld/%lld/%lld, %d iterations",
			  alg ? "lloyd" : "hamerly", f.r.inertia, (long long) f.sizes[0],
			  (long long) f.sizes[1], (long long) f.sizes[2], f.r.iterations);
		fit_free(&f);
	}
	/* 0.1 does not survive sum * (1/count) exactly: no NaN, tiny inertia */
	for (i = 0; i < 20; i++)
		x[i] = 0.1;
	fit(&f, x, 7, 1, 3, 2, 300, 0.0, 9, KM_HAMERLY, 0);
	CHECK(f.rc == AN_OK && f.r.inertia < 1e-28 && !isnan(f.cent[0]) &&
		  !isnan(f.cent[1]) && !isnan(f.cent[2]),
		  "identical points 0.1, k=3: no error or NaN, inertia %g", f.r.inertia);
	fit_free(&f);

	/* (b): find a seed whose seeding is {0, 10, 100} */
	for (seed = 0; seed < 200000 && !found; seed++)
	{
		an_rng		rng;
		size_t		chosen[3];
		double		C[3];
		int			A = -1;
		int			B = -1;
		int			Cc = -1;

		an_rng_seed(&rng, an_mix64(seed));
		ref_kmeanspp(xr, 7, 1, 3, 1, &rng, C, chosen);
		for (i = 0; i < 3; i++)
		{
			if (chosen[i] == 0)
				A = i;
			else if (chosen[i] == 1)
				B = i;
			else if (chosen[i] == 6)
				Cc = i;
		}
		if (A < 0 || B < 0 || Cc < 0)
			continue;
		found = true;
		NOTE("seed %d seeds A = centre %d, B = centre %d, C = centre %d", (int) seed, A, B, Cc);
		for (alg = 0; alg < 2; alg++)
		{
			const char *name = alg ? "lloyd" : "hamerly";
			int			max_iter;

			for (max_iter = 2; max_iter <= 300; max_iter += 298)
			{
				ref_out		o;
				bool		labels_ok = true;

				fit(&f, xr, 7, 1, 3, 1, max_iter, 0.0, seed, (km_algorithm) alg, 1);
				for (i = 0; i < 7; i++)
					labels_ok &= f.labels[i] == (i < 2 ? A : i < 6 ? Cc : B);
				CHECK(f.rc == AN_OK && f.cent[A] == 5.0 && f.cent[B] == 100.0 &&
					  f.cent[Cc] == 55.5 && labels_ok && f.r.inertia == 53.0 &&
					  f.sizes[A] == 2 && f.sizes[B] == 1 && f.sizes[Cc] == 4 &&
					  f.r.iterations == (max_iter == 2 ? 2 : 3) &&
					  f.r.converged == (max_iter != 2),
					  "empty cluster B relocated to the farthest point 100 (%s, max_iter %d): centroids A %g B %g C %g, inertia %g, %d iterations",
					  name, max_iter, f.cent[A], f.cent[B], f.cent[Cc], f.r.inertia,
					  f.r.iterations);
				ref_fit(xr, 7, 1, 3, 1, max_iter, 0.0, seed, 1, &o);
				CHECK(same_as_ref(&f, &o, 7, 1, 3) && o.n_reloc == 1 &&
					  o.reloc[0].iteration == 1 && o.reloc[0].cluster == B &&
					  o.reloc[0].point == 6 && o.reloc[0].dist == 1089.0,
					  "the reference relocates the same way (%s, max_iter %d)", name, max_iter);
				ref_free(&o);
				fit_free(&f);
			}
		}
	}
	CHECK(found, "found a seed whose k-means++ seeds are {0, 10, 100} (%d seeds tried)", (int) seed);
}

/*
 * Lloyd never increases the inertia: with tol = 0 the result after m + 1
 * iterations (centres C_m+1 = means of the labels against C_m, then
 * relabelled) has inertia <= the one after m.  Rounding may wiggle the
 * last bits once the centres stop moving.
 */
static void
test_monotone(void)
{
	an_rng		r;
	size_t		n = 2000;
	int			d = 2;
	double	   *X;
	double		prev = INFINITY;
	bool		ok = true;
	int			m;
	int			last_it = 0;

	an_rng_seed(&r, 61);
	X = gen_uniform(&r, n, d);
	for (m = 1; m <= 25; m++)
	{
		fit_out		f;

		fit(&f, X, n, d, 10, 1, m, 0.0, 77, KM_HAMERLY, 0);
		ok &= f.rc == AN_OK && f.r.inertia <= prev * (1 + 1e-12);
		prev = f.r.inertia;
		last_it = f.r.iterations;
		fit_free(&f);
	}
	CHECK(ok, "inertia non-increasing in max_iter = 1..25 (final %.6g after %d iterations)",
		  prev, last_it);
	free(X);
}

/* n_init, determinism, seeds */
static void
test_n_init(void)
{
	an_rng		r;
	size_t		n = 1000;
	int			d = 2;
	int			k = 10;
	double	   *X;
	fit_out		all;
	fit_out		one[6];
	int			best = 0;
	int64_t		evals = 0;
	int			i;
	int			distinct = 0;

	an_rng_seed(&r, 71);
	X = gen_uniform(&r, n, d);

	/*
	 * Run i of a fit with seed s is seeded with an_mix64(s + i), as the
	 * single run of a fit with seed s + i: the best of n_init = 6 is the
	 * single run with the lowest inertia (the first on ties).
	 */
	fit(&all, X, n, d, k, 6, 300, 1e-4, 500, KM_HAMERLY, 0);
	for (i = 0; i < 6; i++)
	{
		fit(&one[i], X, n, d, k, 1, 300, 1e-4, 500 + i, KM_HAMERLY, 0);
		if (one[i].r.inertia < one[best].r.inertia)
			best = i;
		evals += one[i].r.distance_evals;
	}
	CHECK(all.r.best_run == best && all.r.inertia == one[best].r.inertia &&
		  memcmp(all.cent, one[best].cent, sizeof(double) * k * d) == 0 &&
		  memcmp(all.labels, one[best].labels, sizeof(int32_t) * n) == 0,
		  "n_init 6 keeps the lowest inertia: run %d, %.6g", all.r.best_run, all.r.inertia);
	CHECK(all.r.distance_evals == evals, "distance_evals adds up over the runs (%lld)",
		  (long long) evals);
	for (i = 1; i < 6; i++)
	{
		int			j;
		bool		dup = false;

		for (j = 0; j < i; j++)
			dup |= memcmp(one[i].cent, one[j].cent, sizeof(double) * k * d) == 0;
		if (!dup)
			distinct++;
		CHECK(one[i].r.inertia >= all.r.inertia, "run %d (%.6g) is no better than the best", i,
			  one[i].r.inertia);
	}
	CHECK(distinct > 0, "different seeds give different local optima (%d new of 5)", distinct);
	for (i = 0; i < 6; i++)
		fit_free(&one[i]);

	/* same seed, same everything */
	fit(&one[0], X, n, d, k, 6, 300, 1e-4, 500, KM_HAMERLY, 0);
	CHECK(same_fit(&all, &one[0], n, d, k) && all.r.distance_evals == one[0].r.distance_evals,
		  "same seed: identical results");
	fit_free(&one[0]);
	fit_free(&all);
	free(X);
}

/*
 * Three well-separated Gaussian blobs (sd 1, centres at (0,0), (10,0),
 * (0,10), 3000 points each): the means of 3000 N(0,1) points are within
 * about 4 / sqrt(3000) = 0.07 of the truth, so k = 3 recovers them within
 * 0.1.
 */
static void
test_quality(void)
{
	static const double truth[] = {0, 0, 10, 0, 0, 10};
	an_rng		r;
	size_t		n = 9000;
	double	   *X = xmalloc(sizeof(double) * n * 2);
	fit_out		f;
	double		worst = 0.0;
	size_t		i;
	int			c;
	bool		nearest_ok = true;
	double		inertia = 0.0;

	an_rng_seed(&r, 81);
	for (i = 0; i < n; i++)
	{
		X[2 * i] = truth[2 * (i % 3)] + an_rng_normal(&r);
		X[2 * i + 1] = truth[2 * (i % 3) + 1] + an_rng_normal(&r);
	}
	fit(&f, X, n, 2, 3, 1, 300, 1e-4, 42, KM_HAMERLY, 0);
	for (c = 0; c < 3; c++)
	{
		double		dd;
		int			t = km_nearest(f.cent, 3, 2, truth + 2 * c, &dd);

		(void) t;
		worst = fmax(worst, sqrt(dd));
	}
	CHECK(f.rc == AN_OK && worst < 0.1,
		  "3 separated blobs: every true centre within %.3f of a centroid", worst);

	/* km_nearest agrees with the labels and the inertia */
	for (i = 0; i < n; i++)
	{
		double		dd;

		nearest_ok &= km_nearest(f.cent, 3, 2, X + 2 * i, &dd) == f.labels[i];
		inertia += dd;
	}
	CHECK(nearest_ok && inertia == f.r.inertia,
		  "km_nearest gives the fitted labels and distances (inertia %.6g)", inertia);
	fit_free(&f);
	free(X);
}

/* ---------------------------------------------------------------------
 * silhouette
 * ---------------------------------------------------------------------
 */

/* silhouette_samples from the definition, then the mean */
static double
naive_silhouette(const double *X, size_t n, int d, const int32_t *lab, int k)
{
	double	   *sum = xmalloc(sizeof(double) * k);
	int64_t    *size = xmalloc(sizeof(int64_t) * k);
	double		total = 0.0;
	size_t		i;
	size_t		j;
	int			c;

	for (c = 0; c < k; c++)
		size[c] = 0;
	for (i = 0; i < n; i++)
		size[lab[i]]++;
	for (i = 0; i < n; i++)
	{
		double		a;
		double		b = INFINITY;

		for (c = 0; c < k; c++)
			sum[c] = 0.0;
		for (j = 0; j < n; j++)
			if (j != i)
				sum[lab[j]] += sqrt(ref_d2(X + i * d, X + j * d, d));
		if (size[lab[i]] == 1)
			continue;
		a = sum[lab[i]] / (size[lab[i]] - 1);
		for (c = 0; c < k; c++)
			if (c != lab[i] && size[c] > 0 && sum[c] / size[c] < b)
				b = sum[c] / size[c];
		if (fmax(a, b) > 0)
			total += (b - a) / fmax(a, b);
	}
	free(sum);
	free(size);
	return total / n;
}

static int
sil(const double *X, size_t n, int d, const int32_t *lab, int k, double *s)
{
	char		err[256];
	int			rc = km_silhouette(X, n, d, lab, k, s, &an_std_allocator, err, sizeof(err));

	if (rc != AN_OK)
		NOTE("km_silhouette: %s", err);
	return rc;
}

static void
test_silhouette(void)
{
	/*
	 * {0, 1, 10, 11}, labels {0, 0, 1, 1}.  Every a is 1.  b: point 0
	 * (10 + 11) / 2 = 10.5, point 1 (9 + 10) / 2 = 9.5, point 10 (10 + 9)
	 * / 2 = 9.5, point 11 (11 + 10) / 2 = 10.5.  s = 9.5/10.5 = 19/21 for
	 * the outer points, 8.5/9.5 = 17/19 for the inner ones; the mean is
	 * (19/21 + 17/19) / 2 = (361 + 357) / (2 * 399) = 359/399.
	 */
	static const double x1[] = {0, 1, 10, 11};
	static const int32_t l1[] = {0, 0, 1, 1};

	/*
	 * {0, 1, 10}, labels {0, 0, 1}: point 10 is alone (s = 0); point 0:
	 * a = 1, b = 10, s = 9/10; point 1: a = 1, b = 9, s = 8/9.  Mean
	 * (9/10 + 8/9 + 0) / 3 = (81 + 80) / 270 = 161/270.
	 */
	static const int32_t l2[] = {0, 0, 1};

	/* {0, 1, 10, 11} with labels {2, 2, 0, 0} in k = 4: empty clusters 1, 3 are ignored */
	static const int32_t l3[] = {2, 2, 0, 0};
	static const int32_t lbad1[] = {0, 0, 0, 0};
	static const int32_t lbad2[] = {0, 1, 2};
	static const int32_t lbad3[] = {0, 1, 4, 0};
	static const int32_t lbad4[] = {0, -1, 1, 0};
	double		s = -2;
	double		xnan[] = {0, NAN, 1, 2};
	an_rng		r;
	int			t;

	CHECK(sil(x1, 4, 1, l1, 2, &s) == AN_OK && fabs(s - 359.0 / 399.0) < 1e-15,
		  "silhouette {0,1,10,11} | {0,0,1,1} = 359/399 (%.17g)", s);
	CHECK(sil(x1, 3, 1, l2, 2, &s) == AN_OK && fabs(s - 161.0 / 270.0) < 1e-15,
		  "silhouette with a singleton cluster = 161/270 (%.17g)", s);
	CHECK(sil(x1, 4, 1, l3, 4, &s) == AN_OK && fabs(s - 359.0 / 399.0) < 1e-15,
		  "silhouette ignores empty label values (%.17g)", s);

	an_rng_seed(&r, 91);
	for (t = 0; t < 6; t++)
	{
		size_t		n = quick ? 60 + 20 * t : 150 + 100 * t;
		int			d = 1 + t;
		int			k = 2 + t;
		double	   *X = gen_blobs(&r, n, d, k, 2.0, 1.0, NULL);
		int32_t    *lab = xmalloc(sizeof(int32_t) * n);
		double		want;
		size_t		i;

		for (i = 0; i < n; i++)
			lab[i] = (int32_t) an_rng_below(&r, k);
		if (t == 1)
			lab[5] = k + 1;		/* a singleton in k + 2 */
		if (t == 2)
			for (i = 0; i < n; i++)
				X[i * d] = (double) (i % 3);	/* ties and duplicates */
		want = naive_silhouette(X, n, d, lab, t == 1 ? k + 2 : k);
		CHECK(sil(X, n, d, lab, t == 1 ? k + 2 : k, &s) == AN_OK && fabs(s - want) < 1e-12,
			  "silhouette = naive definition (n %zu, d %d, k %d): %.15g vs %.15g",
			  n, d, k, s, want);
		free(X);
		free(lab);
	}

	/* errors */
	{
		char		err[256] = "";
		int			rc;

		rc = km_silhouette(x1, 4, 1, lbad1, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette of one cluster: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 3, 1, lbad2, 3, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette of n clusters: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, lbad3, 3, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette label >= k: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, lbad4, 3, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette label < 0: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, l1, 0, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette k = 0: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 2, 0, l1, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette d = 0: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 0, 1, l1, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette n = 0: AN_EINVAL (%s)", err);
		rc = km_silhouette(xnan, 4, 1, l1, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette NaN coordinate: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, NULL, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette NULL labels: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, l1, 2, NULL, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette NULL result: AN_EINVAL (%s)", err);
		rc = km_silhouette(x1, 4, 1, l1, 2, &s, NULL, err, sizeof(err));
		CHECK(rc == AN_EINVAL, "silhouette NULL allocator: AN_EINVAL (%s)", err);
		/* n * k doubles would not fit in size_t: refused before reading the points */
		rc = km_silhouette(x1, SIZE_MAX / 8, 1, l1, 2, &s, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_ENOMEM, "silhouette of too many points: AN_ENOMEM (%s)", err);
	}
}

/* ---------------------------------------------------------------------
 * hash and canonical order
 * ---------------------------------------------------------------------
 */

/* qsort order on the bit patterns of the rows (test side) */
static int	cmp_d = 0;

static int
cmp_bits(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(double) * cmp_d);
}

static void
shuffle_rows(an_rng *r, double *X, size_t n, int d)
{
	double		tmp[16];
	size_t		i;

	for (i = n - 1; i > 0; i--)
	{
		size_t		j = (size_t) an_rng_below(r, i + 1);

		memcpy(tmp, X + i * d, sizeof(double) * d);
		memcpy(X + i * d, X + j * d, sizeof(double) * d);
		memcpy(X + j * d, tmp, sizeof(double) * d);
	}
}

static int
sort_rows(double *X, size_t n, int d, uint64_t seed)
{
	char		err[256];
	int			rc = km_sort_canonical(X, n, d, seed, &an_std_allocator, err, sizeof(err));

	if (rc != AN_OK)
		NOTE("km_sort_canonical: %s", err);
	return rc;
}

static void
test_canonical(void)
{
	double		p1[3] = {0.0, 1.5, -0.0};
	double		p2[3] = {-0.0, 1.5, 0.0};
	double		p3[3] = {0.0, 1.5, 1e-300};
	an_rng		r;
	size_t		n = quick ? 500 : 5000;
	int			d = 3;
	double	   *X;
	double	   *A;
	double	   *B;
	double	   *S1;
	double	   *S2;
	size_t		i;
	bool		ordered = true;
	fit_out		fa;
	fit_out		fb;

	CHECK(km_point_hash(p1, 3, 7) == km_point_hash(p2, 3, 7),
		  "point hash reads -0.0 as 0.0");
	CHECK(km_point_hash(p1, 3, 7) != km_point_hash(p3, 3, 7) &&
		  km_point_hash(p1, 3, 7) != km_point_hash(p1, 3, 8) &&
		  km_point_hash(p1, 2, 7) != km_point_hash(p1, 3, 7),
		  "point hash depends on the coordinates, the seed and d");

	/*
	 * n points: a third copies of 40 base points, some with -0.0 in place
	 * of 0.0, the rest random; two shuffles sort to the same array, bit
	 * for bit (0.0 before -0.0 among otherwise equal points).
	 */
	an_rng_seed(&r, 101);
	X = xmalloc(sizeof(double) * n * d);
	for (i = 0; i < n; i++)
	{
		int			j;

		for (j = 0; j < d; j++)
		{
			if (i % 3 == 0)
			{
				int			b = (int) an_rng_below(&r, 40);

				X[i * d + j] = b % 4 == 0 ? (an_rng_below(&r, 2) ? 0.0 : -0.0) : (double) (b % 7);
			}
			else
				X[i * d + j] = an_rng_normal(&r);
		}
	}
	A = xmalloc(sizeof(double) * n * d);
	B = xmalloc(sizeof(double) * n * d);
	memcpy(A, X, sizeof(double) * n * d);
	memcpy(B, X, sizeof(double) * n * d);
	shuffle_rows(&r, A, n, d);
	shuffle_rows(&r, B, n, d);
	CHECK(sort_rows(A, n, d, 5) == AN_OK && sort_rows(B, n, d, 5) == AN_OK &&
		  memcmp(A, B, sizeof(double) * n * d) == 0,
		  "two shuffles sort to the same array, bitwise (n %zu)", n);
	for (i = 1; i < n; i++)
	{
		uint64_t	h0 = km_point_hash(A + (i - 1) * d, d, 5);
		uint64_t	h1 = km_point_hash(A + i * d, d, 5);

		ordered &= h0 <= h1;
	}
	CHECK(ordered, "sorted by hash");

	/* the same multiset of rows */
	S1 = xmalloc(sizeof(double) * n * d);
	S2 = xmalloc(sizeof(double) * n * d);
	memcpy(S1, X, sizeof(double) * n * d);
	memcpy(S2, A, sizeof(double) * n * d);
	cmp_d = d;
	qsort(S1, n, sizeof(double) * d, cmp_bits);
	qsort(S2, n, sizeof(double) * d, cmp_bits);
	CHECK(memcmp(S1, S2, sizeof(double) * n * d) == 0, "the sort permutes the rows");

	/* a fit on either sorted permutation is the same */
	for (i = 0; i < n * d; i++)
		if (X[i] == 0.0)
			X[i] = -X[i];		/* flip the zeros' signs */
	shuffle_rows(&r, X, n, d);
	sort_rows(X, n, d, 5);
	{
		bool		eq = true;

		for (i = 0; i < n * d; i++)
			eq &= X[i] == A[i];
		CHECK(eq, "a shuffle with the signs of the zeros flipped sorts to an equal (==) array");
	}
	fit(&fa, A, n, d, 6, 2, 300, 1e-4, 3, KM_HAMERLY, 0);
	fit(&fb, B, n, d, 6, 2, 300, 1e-4, 3, KM_HAMERLY, 0);
	CHECK(same_fit(&fa, &fb, n, d, 6), "fits on two sorted permutations are identical");
	fit_free(&fa);
	fit_free(&fb);

	/* small and degenerate inputs */
	{
		double		one[2] = {3, 4};
		double		dup[6] = {1, 2, 1, 2, 1, 2};
		char		err[256] = "";

		CHECK(sort_rows(one, 1, 2, 0) == AN_OK && one[0] == 3 && one[1] == 4,
			  "sorting one point is a no-op");
		CHECK(sort_rows(dup, 3, 2, 0) == AN_OK && dup[0] == 1 && dup[5] == 2,
			  "sorting identical points");
		CHECK(sort_rows(NULL, 0, 2, 0) == AN_OK, "sorting no points");
		CHECK(km_sort_canonical(one, 1, 0, 0, &an_std_allocator, err, sizeof(err)) == AN_EINVAL,
			  "sort with d = 0: AN_EINVAL (%s)", err);
		CHECK(km_sort_canonical(NULL, 5, 2, 0, &an_std_allocator, err, sizeof(err)) == AN_EINVAL,
			  "sort of NULL points: AN_EINVAL (%s)", err);
	}
	free(X);
	free(A);
	free(B);
	free(S1);
	free(S2);
}

/* ---------------------------------------------------------------------
 * errors, allocation failures, interrupts
 * ---------------------------------------------------------------------
 */

/* km_fit's error code with the given parameters (message noted) */
static int
fit_rc(const double *X, size_t n, int d, const km_params *p, const char *what)
{
	double		cent[64];
	int64_t		sizes[16];
	int32_t		labels[32];
	km_result	r;
	char		err[256] = "";
	int			rc;

	memset(&r, 0, sizeof(r));
	r.centroids = cent;
	r.sizes = sizes;
	rc = km_fit(X, n, d, p, n <= 32 ? labels : NULL, &r, &an_std_allocator, err, sizeof(err));
	NOTE("%s: %s", what, rc == AN_OK ? "ok" : err);
	return rc;
}

static void
test_errors(void)
{
	static const double x[] = {0, 1, 2, 3, 4, 5, 6, 7};
	double		xbad[8];
	km_params	p;
	km_params	q;
	km_result	r;
	double		cent[8];
	int64_t		sizes[4];
	char		err[256] = "";
	double	   *big;
	int			rc;

	memset(&p, 0, sizeof(p));
	p.k = 2;
	p.n_init = 1;
	p.max_iter = 10;
	p.tol = 1e-4;
	p.seed = 1;
	p.algorithm = KM_HAMERLY;

	CHECK(fit_rc(x, 8, 1, &p, "valid") == AN_OK, "valid parameters: AN_OK");
	CHECK(fit_rc(x, 0, 1, &p, "n = 0") == AN_EINVAL, "n = 0: AN_EINVAL");
	CHECK(fit_rc(x, 8, 0, &p, "d = 0") == AN_EINVAL, "d = 0: AN_EINVAL");
	CHECK(fit_rc(x, 1, KM_MAX_DIMS + 1, &p, "d too large") == AN_EINVAL, "d > KM_MAX_DIMS: AN_EINVAL");
	q = p;
	q.k = 0;
	CHECK(fit_rc(x, 8, 1, &q, "k = 0") == AN_EINVAL, "k = 0: AN_EINVAL");
	q.k = -3;
	CHECK(fit_rc(x, 8, 1, &q, "k < 0") == AN_EINVAL, "k < 0: AN_EINVAL");
	q.k = 5;
	{
		double		c5[5];
		int64_t		s5[5];

		memset(&r, 0, sizeof(r));
		r.centroids = c5;
		r.sizes = s5;
		rc = km_fit(x, 3, 1, &q, NULL, &r, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_EINVAL && strcmp(err, "k (5) is greater than the number of points (3)") == 0,
			  "k > n: AN_EINVAL (%s)", err);
	}
	q.k = KM_MAX_K + 1;
	big = xmalloc(sizeof(double) * (KM_MAX_K + 5));
	memset(big, 0, sizeof(double) * (KM_MAX_K + 5));
	CHECK(fit_rc(big, KM_MAX_K + 5, 1, &q, "k > KM_MAX_K") == AN_EINVAL, "k > KM_MAX_K: AN_EINVAL");
	free(big);
	q = p;
	q.n_init = 0;
	CHECK(fit_rc(x, 8, 1, &q, "n_init = 0") == AN_EINVAL, "n_init = 0: AN_EINVAL");
	q = p;
	q.max_iter = 0;
	CHECK(fit_rc(x, 8, 1, &q, "max_iter = 0") == AN_EINVAL, "max_iter = 0: AN_EINVAL");
	q = p;
	q.tol = -1e-9;
	CHECK(fit_rc(x, 8, 1, &q, "tol < 0") == AN_EINVAL, "tol < 0: AN_EINVAL");
	q.tol = NAN;
	CHECK(fit_rc(x, 8, 1, &q, "tol NaN") == AN_EINVAL, "tol NaN: AN_EINVAL");
	q = p;
	q.algorithm = (km_algorithm) 7;
	CHECK(fit_rc(x, 8, 1, &q, "bad algorithm") == AN_EINVAL, "unknown algorithm: AN_EINVAL");
	q = p;
	q.n_local_trials = -5;
	CHECK(fit_rc(x, 8, 1, &q, "n_local_trials < 0 (default)") == AN_OK,
		  "n_local_trials <= 0 means the default");
	memcpy(xbad, x, sizeof(x));
	xbad[5] = NAN;
	CHECK(fit_rc(xbad, 8, 1, &p, "NaN coordinate") == AN_EINVAL, "NaN coordinate: AN_EINVAL");
	xbad[5] = -INFINITY;
	CHECK(fit_rc(xbad, 4, 2, &p, "infinite coordinate") == AN_EINVAL, "infinite coordinate: AN_EINVAL");
	CHECK(fit_rc(NULL, 8, 1, &p, "NULL points") == AN_EINVAL, "NULL points: AN_EINVAL");
	CHECK(fit_rc(x, 8, 1, NULL, "NULL parameters") == AN_EINVAL, "NULL parameters: AN_EINVAL");

	memset(&r, 0, sizeof(r));
	r.sizes = sizes;
	rc = km_fit(x, 8, 1, &p, NULL, &r, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL centroids: AN_EINVAL (%s)", err);
	r.centroids = cent;
	r.sizes = NULL;
	rc = km_fit(x, 8, 1, &p, NULL, &r, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL sizes: AN_EINVAL (%s)", err);
	rc = km_fit(x, 8, 1, &p, NULL, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL result: AN_EINVAL (%s)", err);
	r.sizes = sizes;
	rc = km_fit(x, 8, 1, &p, NULL, &r, NULL, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL allocator: AN_EINVAL (%s)", err);
	rc = km_fit(x, 8, 1, &p, NULL, &r, &an_std_allocator, NULL, 0);
	/* {0..7}, k = 2: {0..3} | {4..7} (this seed finds it), 2 * (1.5^2 * 2 + 0.5^2 * 2) = 10 */
	CHECK(rc == AN_OK && r.inertia == 10.0,
		  "no labels, no error buffer: fine (inertia %g)", r.inertia);
	CHECK(km_nearest(cent, 0, 1, x, NULL) == -1, "km_nearest with k = 0: -1");
}

/*
 * Every allocation failure returns AN_ENOMEM and releases what was
 * allocated; with enough allocations the call succeeds.  The interrupt
 * hook is called at least once per iteration.
 */
static void
test_allocation(void)
{
	an_rng		r;
	size_t		n = 400;
	int			d = 3;
	double	   *X;
	int32_t    *lab = xmalloc(sizeof(int32_t) * n);
	km_params	p;
	unit_ctx	ctx;
	an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
	int			allow;
	bool		ok;
	int			rc = AN_ENOMEM;
	size_t		i;
	char		err[256];
	double		s;

	an_rng_seed(&r, 111);
	X = gen_blobs(&r, n, d, 4, 5.0, 1.0, NULL);
	memset(&p, 0, sizeof(p));
	p.k = 4;
	p.n_init = 2;
	p.max_iter = 300;
	p.tol = 1e-4;
	p.seed = 1;

	ok = true;
	for (allow = 0; rc != AN_OK && allow < 100; allow++)
	{
		double		cent[12];
		int64_t		sizes[4];
		km_result	res;

		memset(&res, 0, sizeof(res));
		res.centroids = cent;
		res.sizes = sizes;
		memset(&ctx, 0, sizeof(ctx));
		ctx.allow = allow;
		rc = km_fit(X, n, d, &p, lab, &res, &a, err, sizeof(err));
		ok &= (rc == AN_OK || rc == AN_ENOMEM) && ctx.live == 0;
		if (rc == AN_OK)
			CHECK(ctx.interrupts >= res.iterations,
				  "km_fit checks for interrupts (%ld times, %d iterations in the best run)",
				  ctx.interrupts, res.iterations);
	}
	CHECK(ok && rc == AN_OK, "km_fit: AN_ENOMEM on each of %d allocation failures, nothing leaked",
		  allow - 1);

	for (i = 0; i < n; i++)
		lab[i] = (int32_t) (i % 3);
	rc = AN_ENOMEM;
	ok = true;
	for (allow = 0; rc != AN_OK && allow < 100; allow++)
	{
		memset(&ctx, 0, sizeof(ctx));
		ctx.allow = allow;
		rc = km_silhouette(X, n, d, lab, 3, &s, &a, err, sizeof(err));
		ok &= (rc == AN_OK || rc == AN_ENOMEM) && ctx.live == 0;
	}
	CHECK(ok && rc == AN_OK, "km_silhouette: AN_ENOMEM on each of %d allocation failures, nothing leaked",
		  allow - 1);

	rc = AN_ENOMEM;
	ok = true;
	for (allow = 0; rc != AN_OK && allow < 100; allow++)
	{
		memset(&ctx, 0, sizeof(ctx));
		ctx.allow = allow;
		rc = km_sort_canonical(X, n, d, 1, &a, err, sizeof(err));
		ok &= (rc == AN_OK || rc == AN_ENOMEM) && ctx.live == 0;
	}
	CHECK(ok && rc == AN_OK, "km_sort_canonical: AN_ENOMEM on each of %d allocation failures, nothing leaked",
		  allow - 1);
	free(X);
	free(lab);
}

/* ---------------------------------------------------------------------
 * timing (no assertion)
 * ---------------------------------------------------------------------
 */

static void
timing(void)
{
	an_rng		r;
	size_t		n = 1000000;
	int			d = 8;
	double	   *X;
	fit_out		f;
	double		t0;
	double		t1;
	double		t2;

	an_rng_seed(&r, 121);
	X = gen_blobs(&r, n, d, 8, 10.0, 1.0, NULL);
	t0 = now_sec();
	fit(&f, X, n, d, 8, 1, 300, 1e-4, 1, KM_HAMERLY, 0);
	t1 = now_sec();
	NOTE("km_fit 1,000,000 x 8, k=8, n_init=1 (hamerly): %.3f s, %d iterations, %lld distance evaluations",
		 t1 - t0, f.r.iterations, (long long) f.r.distance_evals);
	fit_free(&f);
	t0 = now_sec();
	fit_threads = 2;
	fit(&f, X, n, d, 8, 1, 300, 1e-4, 1, KM_HAMERLY, 0);
	fit_threads = 1;
	t1 = now_sec();
	NOTE("km_fit 1,000,000 x 8, k=8, n_init=1 (hamerly, 2 threads): %.3f s", t1 - t0);
	fit_free(&f);
	t1 = now_sec();
	fit(&f, X, n, d, 8, 1, 300, 1e-4, 1, KM_LLOYD, 0);
	t2 = now_sec();
	NOTE("km_fit 1,000,000 x 8, k=8, n_init=1 (lloyd): %.3f s, %d iterations, %lld distance evaluations",
		 t2 - t1, f.r.iterations, (long long) f.r.distance_evals);
	fit_free(&f);
	t0 = now_sec();
	sort_rows(X, n, d, 1);
	t1 = now_sec();
	NOTE("km_sort_canonical 1,000,000 x 8: %.3f s", t1 - t0);
	free(X);
}

/*
 * km_sort_canonical_hashed with the hashes taken as the points arrive gives
 * the same order as km_sort_canonical, for a shuffled copy with duplicates
 * and both signs of zero, and leaves its input alone.
 */
static void
test_canonical_hashed(void)
{
	size_t		n = 5000;
	int			d = 3;
	double	   *X = malloc(sizeof(double) * n * d);
	double	   *ref = malloc(sizeof(double) * n * d);
	double	   *copy = malloc(sizeof(double) * n * d);
	double	   *out = malloc(sizeof(double) * n * d);
	uint64_t   *h = malloc(sizeof(uint64_t) * n);
	char		err[256];
	an_rng		r;
	size_t		i;
	int			j;

	an_rng_seed(&r, 99);
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			X[i * d + j] = i % 7 == 0 ? (j == 0 ? -0.0 : 0.0) : (double) an_rng_below(&r, 50) / 4;
	memcpy(ref, X, sizeof(double) * n * d);
	CHECK(km_sort_canonical(ref, n, d, 5, &an_std_allocator, err, sizeof(err)) == AN_OK,
		  "hashed: reference sort");
	for (i = 0; i < n; i++)
		h[i] = km_point_hash(X + i * d, d, 5);
	memcpy(copy, X, sizeof(double) * n * d);
	CHECK(km_sort_canonical_hashed(X, h, 5, n, d, out, NULL, 1, &an_std_allocator, err, sizeof(err)) == AN_OK,
		  "hashed: sort with given hashes");
	CHECK(memcmp(out, ref, sizeof(double) * n * d) == 0, "hashed: same order as km_sort_canonical");
	CHECK(memcmp(X, copy, sizeof(double) * n * d) == 0, "hashed: input left alone");
	memset(out, 0, sizeof(double) * n * d);
	CHECK(km_sort_canonical_hashed(X, NULL, 5, n, d, out, NULL, 1, &an_std_allocator, err, sizeof(err)) == AN_OK &&
		  memcmp(out, ref, sizeof(double) * n * d) == 0, "hashed: without hashes, computed with the seed: the same order");
	CHECK(km_sort_canonical_hashed(X, h, 5, n, d, NULL, NULL, 1, &an_std_allocator, err, sizeof(err)) == AN_EINVAL,
		  "hashed: NULL output rejected (%s)", err);
	CHECK(km_sort_canonical_hashed(X, h, 5, 1, d, out, NULL, 1, &an_std_allocator, err, sizeof(err)) == AN_OK &&
		  memcmp(out, X, sizeof(double) * d) == 0, "hashed: one point is copied");

	/* enough points for the gather to use helper threads: the same order */
	{
		size_t		nb = 70000;
		double	   *B = malloc(sizeof(double) * nb * d);
		double	   *o1 = malloc(sizeof(double) * nb * d);
		double	   *o2 = malloc(sizeof(double) * nb * d);
		uint64_t   *hb = malloc(sizeof(uint64_t) * nb);
		uint64_t   *ho = malloc(sizeof(uint64_t) * nb);

		for (i = 0; i < nb; i++)
		{
			for (j = 0; j < d; j++)
				B[i * d + j] = (double) an_rng_below(&r, 1000) / 8;
			hb[i] = km_point_hash(B + i * d, d, 5);
		}
		CHECK(km_sort_canonical_hashed(B, hb, 5, nb, d, o1, NULL, 1, &an_std_allocator, err, sizeof(err)) == AN_OK &&
			  km_sort_canonical_hashed(B, NULL, 5, nb, d, o2, ho, 3, &an_std_allocator, err, sizeof(err)) == AN_OK,
			  "hashed: %zu points sorted with 1 thread and given hashes, and with 3 threads that hash them", nb);
		CHECK(memcmp(o1, o2, sizeof(double) * nb * d) == 0, "hashed: the threads do not change the order");
		for (i = 1; i < nb; i++)
			if (km_point_hash(o1 + (i - 1) * d, d, 5) > km_point_hash(o1 + i * d, d, 5))
				break;
		CHECK(i == nb, "hashed: the threaded result is in hash order");
		for (i = 0; i < nb; i++)
			if (ho[i] != km_point_hash(o2 + i * d, d, 5))
				break;
		CHECK(i == nb, "hashed: the hashes it computed are written beside the points");
		free(ho);
		free(B);
		free(o1);
		free(o2);
		free(hb);
	}

	/*
	 * Runs sorted separately (as parallel workers do) and merged equal the
	 * one sort: three uneven runs cut from the same points, the hashes
	 * written beside the sorted points, merged pairwise; and an empty run.
	 */
	{
		size_t		cut[4] = {0, 1234, 1235, n};
		double	   *run[3];
		uint64_t   *rh[3];
		double	   *m1 = malloc(sizeof(double) * n * d);
		uint64_t   *mh1 = malloc(sizeof(uint64_t) * n);
		double	   *m2 = malloc(sizeof(double) * n * d);
		uint64_t   *mh2 = malloc(sizeof(uint64_t) * n);
		bool		hashes_ok = true;
		int			p;

		for (p = 0; p < 3; p++)
		{
			size_t		len = cut[p + 1] - cut[p];

			run[p] = malloc(sizeof(double) * len * d);
			rh[p] = malloc(sizeof(uint64_t) * len);
			CHECK(km_sort_canonical_hashed(X + cut[p] * d, h + cut[p], 5, len, d, run[p], rh[p], 1,
										   &an_std_allocator, err, sizeof(err)) == AN_OK,
				  "merge: run %d of %zu points sorted", p, len);
			for (i = 0; i < len; i++)
				hashes_ok &= rh[p][i] == km_point_hash(run[p] + i * d, d, 5);
		}
		CHECK(hashes_ok, "merge: each sorted hash is the hash of the point beside it");
		/* run 2, then run 0 merged into it, then run 1 merged into that */
		memcpy(m1, run[2], sizeof(double) * (cut[3] - cut[2]) * d);
		memcpy(mh1, rh[2], sizeof(uint64_t) * (cut[3] - cut[2]));
		km_merge_canonical(m1, mh1, cut[3] - cut[2], run[0], rh[0], cut[1], d);
		km_merge_canonical(m1, mh1, cut[1] + cut[3] - cut[2], run[1], rh[1], 1, d);
		CHECK(memcmp(m1, ref, sizeof(double) * n * d) == 0,
			  "merge: three runs merged in any order equal the one sort");
		for (i = 1, hashes_ok = true; i < n; i++)
			hashes_ok &= mh1[i - 1] <= mh1[i];
		CHECK(hashes_ok, "merge: merged hashes nondecreasing");
		/* the other way round: run 1 (one point) first, an empty run merged in */
		memcpy(m2, run[1], sizeof(double) * d);
		memcpy(mh2, rh[1], sizeof(uint64_t));
		km_merge_canonical(m2, mh2, 1, run[0], rh[0], cut[1], d);
		km_merge_canonical(m2, mh2, cut[1] + 1, run[2], rh[2], cut[3] - cut[2], d);
		km_merge_canonical(m2, mh2, n, NULL, NULL, 0, d);
		CHECK(memcmp(m2, ref, sizeof(double) * n * d) == 0 && memcmp(mh1, mh2, sizeof(uint64_t) * n) == 0,
			  "merge: another order, and an empty run, give the same");
		/* equal hashes, different points: coordinate order, from either side */
		{
			double		ea[4] = {3, 4, 0, 0};
			double		eb[2] = {1, 2};
			double		fa[4] = {1, 2, 0, 0};
			double		fb[2] = {3, 4};
			uint64_t	eh[2] = {5, 0};
			uint64_t	fh[2] = {5, 0};
			uint64_t	bh[1] = {5};

			km_merge_canonical(ea, eh, 1, eb, bh, 1, 2);
			km_merge_canonical(fa, fh, 1, fb, bh, 1, 2);
			CHECK(ea[0] == 1 && ea[1] == 2 && ea[2] == 3 && ea[3] == 4 && eh[1] == 5 &&
				  memcmp(ea, fa, sizeof(ea)) == 0,
				  "merge: equal hashes, different points: in coordinate order from either run");
		}
		for (p = 0; p < 3; p++)
		{
			free(run[p]);
			free(rh[p]);
		}
		free(m1);
		free(mh1);
		free(m2);
		free(mh2);
	}
	free(X);
	free(ref);
	free(copy);
	free(out);
	free(h);
}

int
main(void)
{
	const char *q = getenv("KM_UNIT_QUICK");

	quick = q != NULL && strcmp(q, "1") == 0;
	test_hand();
	test_k1();
	test_k_equals_n();
	test_seeding();
	test_reference();
	test_hamerly_lloyd();
	test_threads();
	test_empty_clusters();
	test_monotone();
	test_n_init();
	test_quality();
	test_silhouette();
	test_canonical();
	test_canonical_hashed();
	test_errors();
	test_allocation();
	if (!quick)
		timing();
	return unit_done();
}
