/*
 * kmeans.c
 *		k-means (k-means++ seeding, Lloyd iterations with or without
 *		Hamerly's bounds), the exact silhouette score and the canonical point
 *		order; the semantics are documented in kmeans.h.
 *
 * Distances.  Every squared distance is the sum over the coordinates, in
 * order, of (x[j] - c[j])^2, starting from 0.  sq_dist computes one;
 * sq_dist_block computes a point's distances to all the centres, stored
 * transposed (d rows, the columns padded to a multiple of KM_LANES), with
 * one accumulator per centre, so that it vectorises across centres without
 * reassociating any sum: both give bitwise the same value for the same
 * pair, which is what lets KM_LLOYD, KM_HAMERLY and km_nearest agree.
 *
 * Seeding is scikit-learn's _kmeans_plusplus: candidates are drawn with
 * an_rng_uniform() * potential and located by a binary search (the first
 * cumulative weight >= the value, the index clipped to n - 1) in the
 * running sums of the squared distances to the nearest chosen centre
 * (by chunks: the chunks before, plus the running sum within the chunk);
 * the candidate with the lowest potential (the chunked sum of min(current,
 * candidate) distances; the first on ties) wins.  Up to KM_TRIALS candidates are evaluated in one pass over the
 * points, and one more pass updates the distances for the winner.  When the potential is 0 (every point coincides with a chosen
 * centre) the candidates are drawn with an_rng_below(n) instead and the
 * first one is taken (all have potential 0).  Cost O(k * trials * n * d)
 * time, O(n) memory.
 *
 * Iterations follow _kmeans_single_lloyd: assign (lowest index on ties),
 * sum the points of each centre (by chunks), relocate empty clusters,
 * divide (multiplying by 1 / count, as scikit-learn does; a cluster drained
 * by the relocation keeps its residual sum, as there), then stop on
 * unchanged labels or on sum(shift^2) <= tol * mean feature variance, and
 * relabel against the final centres after a tolerance stop or max_iter.
 *
 * KM_HAMERLY keeps for every point an upper bound u on the (Euclidean)
 * distance to its centre and a lower bound l on the distance to every
 * other centre; s[j] is half the distance from centre j to its nearest
 * other centre.  A point is skipped when u < max(s[a], l) (strictly: then
 * every other centre is strictly farther, so the label is the one a full
 * scan would give even with ties); otherwise u is tightened to the exact
 * distance and tested again, and only then are all k distances computed.
 * After a move by shifts p, u += p[a] and l -= max over j != a of p[j].
 * When empty clusters are relocated the exact distances to the assigned
 * centres are computed (they choose the points to move) and the bounds are
 * reset to u = that distance, l = 0.  With the same labels both algorithms
 * sum the same points in the same order, hence identical centres.
 *
 * distance_evals counts the point-to-centre distances of the iterations
 * (assignment, tightening, relocation, the final relabelling and the
 * inertia pass), not those of the seeding, which are the same for both
 * algorithms: n * (1 + (k - 1) * trials) per run.
 *
 * The silhouette accumulates, for every point, the sums of its distances
 * to each cluster over the pairs i < j (n * k doubles), one row of
 * distances at a time so that the square roots vectorise.
 *
 * The canonical order sorts (hash, index) keys with an LSD radix sort on
 * the hash (a byte per pass, passes where every key has the same byte
 * skipped), sorts runs of equal hashes (duplicate points, in practice) by
 * their coordinates with a stable merge sort, and gathers the rows into a
 * copy in the new order (or, without the memory for it, permutes them in
 * place by following the cycles of the permutation).  Threads hash the
 * points and gather the rows; the keys are sorted by the calling thread.
 *
 * Threads.  The passes over the points (the finiteness check and the
 * tolerance's sums, seeding distances and candidate potentials, assignment
 * with the centre sums, bound shifts, inertia) run as one task per chunk
 * through an_par_for on p->threads threads (from KM_PAR_MIN points on);
 * each task writes only its chunk's points and its own partial results,
 * which are combined in chunk order, so any number of threads gives
 * bitwise the same fit.  What a thread writes per point (its distance
 * scratch, its chunk's sums and counts) starts on a cache line of its own
 * and fills whole lines: two threads writing one line made 2 threads as
 * slow as one.  Relocation and the seeding's draws stay in the calling
 * thread.
 *
 * Interrupts are checked before every pass (an_par_for also polls while
 * its threads run), once per iteration, and every KM_CHECK_WORK
 * coordinate operations (at most KM_CHECK_MAX points) in the other long
 * loops.
 */
#include "kmeans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "par.h"
#include "rng.h"

#define KM_LANES		4		/* columns of sq_dist_block come in multiples of this */
#define KM_TRIALS		8		/* k-means++ candidates evaluated per pass */
#define KM_CHECK_WORK	(1 << 22)	/* coordinate operations between checks */
#define KM_CHECK_MAX	65536	/* points between checks, at most */
#define KM_SORT_RUN		16		/* insertion-sorted runs of the merge sort */
#define KM_CHUNKS		64		/* chunks of the parallel passes, at most */
#define KM_PAR_MIN		32768	/* fewer points: no helper threads */
#define KM_LINE			64		/* bytes in a cache line */
#define KM_LINE_DOUBLES (KM_LINE / (int) sizeof(double))

/* countdown to the next interrupt check */
typedef struct km_ticker
{
	const an_allocator *a;
	size_t		stride;			/* points between checks */
	size_t		left;
} km_ticker;

/* everything one run needs; allocated once per km_fit */
typedef struct km_work
{
	const double *X;
	size_t		n;
	int			d;
	int			k;
	int			kp;				/* k rounded up to a multiple of KM_LANES */
	int			cs;				/* row length of ct: max(kp, KM_TRIALS) */
	km_algorithm alg;
	const an_allocator *a;
	double	   *C;				/* k * d: the current centres */
	double	   *Cn;				/* k * d: sums, then the new centres */
	double	   *ct;				/* d * cs: centres (or candidates) transposed */
	double	   *dist;			/* one point's distances, per worker: see worker_dist */
	size_t		dstride;		/* doubles between workers' distances (whole lines) */
	double	   *u;				/* n: Hamerly upper bounds; Lloyd: squared distances */
	double	   *l;				/* n: Hamerly lower bounds */
	double	   *p;				/* k: centre shifts */
	double	   *s;				/* k: half the distance to the nearest other centre */
	int64_t    *cnt;			/* k: points per centre */
	size_t	   *far;			/* k: points chosen for empty clusters */
	int32_t    *lab;			/* n: labels */
	int64_t		evals;			/* point-to-centre distances computed */

	/* the chunks: tasks of the parallel passes, results combined in order */
	int			threads;		/* threads for the passes (1: this one) */
	size_t		nch;			/* chunks */
	size_t		chs;			/* points per chunk (the last may have fewer) */
	double	   *part;			/* per chunk, pstride apart: k * d sums of points */
	int64_t    *pcnt;			/* per chunk, cstride apart: k counts */
	size_t		pstride;		/* k * d rounded up to whole cache lines */
	size_t		cstride;		/* k rounded up to whole cache lines */
	void	   *part_mem;		/* the allocations part and pcnt start in */
	void	   *pcnt_mem;
	double	   *ptot;			/* nch * KM_TRIALS: per-chunk totals */
	double	   *off;			/* nch + 1: where each chunk's running sums start */
	int64_t    *pev;			/* nch: per-chunk distance evaluations */
	unsigned char *pchg;		/* nch: whether a label changed in the chunk */

	/* arguments of the pass being run */
	const double *centre;		/* seeding: the new centre */
	int			m;				/* seeding: candidates in ct */
	int			ncols;			/* seeding: m rounded up to KM_LANES */
	bool		full;			/* assign: full scan; seeding: first centre */
	bool		accumulate;		/* assign: sum the points per label */
	int			data_pass;		/* check_and_tolerance: 0 or 1 */
	int			shift_arg1;		/* bounds: the centre that moved most */
	double		shift_max1;		/* bounds: its shift */
	double		shift_max2;		/* bounds: the largest shift of the others */
} km_work;

/*
 * Cache lines.  What the threads write per point (a worker's distance
 * scratch, a chunk's sums and counts) starts on a line of its own and
 * fills whole lines, so that no two threads write one line (nor one that
 * holds the centres they all read).  line_start is the first line boundary
 * at or after p (those allocations have a line to spare); whole_lines
 * rounds a count of 8-byte values up to whole lines.
 */
static inline void *
line_start(void *p)
{
	return (void *) (((uintptr_t) p + KM_LINE - 1) & ~(uintptr_t) (KM_LINE - 1));
}

static inline size_t
whole_lines(size_t values)
{
	return (values + KM_LINE_DOUBLES - 1) / KM_LINE_DOUBLES * KM_LINE_DOUBLES;
}

/* the distance scratch of a worker: cs doubles, dstride apart */
static inline double *
worker_dist(const km_work *w, int worker)
{
	return (double *) line_start(w->dist) + (size_t) worker * w->dstride;
}

/* the sort key of km_sort_canonical */
typedef struct km_key
{
	uint64_t	hash;
	size_t		idx;
} km_key;

/*
 * Points per chunk of a loop whose points cost about work operations each:
 * interrupts are checked between chunks.  Hot loops are written as chunks
 * of a call-free inner loop (a call would keep their sums out of
 * registers); the others use a ticker.
 */
static inline size_t
chunk_points(double work)
{
	double		s = (double) KM_CHECK_WORK / (work > 1.0 ? work : 1.0);

	return s >= KM_CHECK_MAX ? KM_CHECK_MAX : s < 1.0 ? 1 : (size_t) s;
}

/* Start a ticker for a loop whose points cost about work operations each. */
static void
ticker_init(km_ticker *t, const an_allocator *a, double work)
{
	t->a = a;
	t->stride = chunk_points(work);
	t->left = t->stride;
}

/* Count one point; check for interrupts every stride points. */
static inline void
ticker_tick(km_ticker *t)
{
	if (--t->left == 0)
	{
		t->left = t->stride;
		an_check_interrupts(t->a);
	}
}

/* Squared Euclidean distance of x and c, coordinates summed in order. */
static inline double
sq_dist(const double *x, const double *c, int d)
{
	double		s = 0.0;
	int			j;

	for (j = 0; j < d; j++)
	{
		double		t = x[j] - c[j];

		s += t * t;
	}
	return s;
}

/*
 * Squared distances of x to the first ncols (a multiple of KM_LANES)
 * columns of the transposed table ct (d rows of stride doubles) into dist;
 * each equals sq_dist of x and that column bitwise.  Eight columns at a
 * time in eight scalar accumulators (which gcc packs into vector
 * registers), then four.
 */
static inline void
sq_dist_block(const double *x, const double *ct, int d, int stride, int ncols,
			  double *dist)
{
	int			cb = 0;
	int			j;

	for (; cb + 8 <= ncols; cb += 8)
	{
		double		a0 = 0.0,
					a1 = 0.0,
					a2 = 0.0,
					a3 = 0.0,
					a4 = 0.0,
					a5 = 0.0,
					a6 = 0.0,
					a7 = 0.0;

		for (j = 0; j < d; j++)
		{
			const double xj = x[j];
			const double *row = ct + (size_t) j * stride + cb;
			double		t0 = xj - row[0],
						t1 = xj - row[1],
						t2 = xj - row[2],
						t3 = xj - row[3],
						t4 = xj - row[4],
						t5 = xj - row[5],
						t6 = xj - row[6],
						t7 = xj - row[7];

			a0 += t0 * t0;
			a1 += t1 * t1;
			a2 += t2 * t2;
			a3 += t3 * t3;
			a4 += t4 * t4;
			a5 += t5 * t5;
			a6 += t6 * t6;
			a7 += t7 * t7;
		}
		dist[cb] = a0;
		dist[cb + 1] = a1;
		dist[cb + 2] = a2;
		dist[cb + 3] = a3;
		dist[cb + 4] = a4;
		dist[cb + 5] = a5;
		dist[cb + 6] = a6;
		dist[cb + 7] = a7;
	}
	for (; cb < ncols; cb += 4)
	{
		double		a0 = 0.0,
					a1 = 0.0,
					a2 = 0.0,
					a3 = 0.0;

		for (j = 0; j < d; j++)
		{
			const double xj = x[j];
			const double *row = ct + (size_t) j * stride + cb;
			double		t0 = xj - row[0],
						t1 = xj - row[1],
						t2 = xj - row[2],
						t3 = xj - row[3];

			a0 += t0 * t0;
			a1 += t1 * t1;
			a2 += t2 * t2;
			a3 += t3 * t3;
		}
		dist[cb] = a0;
		dist[cb + 1] = a1;
		dist[cb + 2] = a2;
		dist[cb + 3] = a3;
	}
}

/*
 * Index of the smallest of dist[0 .. k) (the first on ties); *best gets it
 * and *second the smallest of the others (infinity when k == 1).
 */
static inline int
nearest_two(const double *dist, int k, double *best, double *second)
{
	double		b = dist[0];
	double		s2 = INFINITY;
	int			a = 0;
	int			c;

	for (c = 1; c < k; c++)
	{
		double		v = dist[c];

		if (v < b)
		{
			s2 = b;
			b = v;
			a = c;
		}
		else if (v < s2)
			s2 = v;
	}
	*best = b;
	*second = s2;
	return a;
}

/* Index of the nearest centre to x, the first on ties (see kmeans.h). */
int
km_nearest(const double *centroids, int k, int d, const double *x,
		   double *dist2)
{
	double		best;
	int			a = 0;
	int			c;

	if (k < 1)
	{
		if (dist2)
			*dist2 = INFINITY;
		return -1;
	}
	best = sq_dist(x, centroids, d);
	for (c = 1; c < k; c++)
	{
		double		v = sq_dist(x, centroids + (size_t) c * d, d);

		if (v < best)
		{
			best = v;
			a = c;
		}
	}
	if (dist2)
		*dist2 = best;
	return a;
}

/* Copy the k centres of C into the transposed table w->ct. */
static void
transpose_centres(km_work *w, const double *C)
{
	int			c;
	int			j;

	for (c = 0; c < w->k; c++)
		for (j = 0; j < w->d; j++)
			w->ct[(size_t) j * w->cs + c] = C[(size_t) c * w->d + j];
}

/*
 * First index i with off[g] + cum[i] >= v, g the chunk of i, clipped to
 * n - 1: numpy's searchsorted (side 'left', then clip) in the running sums
 * of the squared distances, which are kept per chunk (cum restarts at
 * each chunk; off[g] is the sum of the chunks before g, and off[g + 1] is
 * exactly off[g] + the chunk's last cum, so the values are nondecreasing).
 */
static size_t
search_cum(const km_work *w, const double *cum, double v)
{
	size_t		lo = 0;
	size_t		hi = w->nch;
	size_t		end;
	double		base;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (w->off[mid + 1] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == w->nch)
		return w->n - 1;
	base = w->off[lo];
	end = w->n - lo * w->chs < w->chs ? w->n : (lo + 1) * w->chs;
	hi = end;
	lo = lo * w->chs;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (base + cum[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < end ? lo : end - 1;
}

/* the points [*i0, *end) of chunk g */
static inline void
chunk_range(const km_work *w, size_t g, size_t *i0, size_t *end)
{
	*i0 = g * w->chs;
	*end = w->n - *i0 < w->chs ? w->n : *i0 + w->chs;
}

/*
 * Seeding, one chunk: the squared distance of each point to its nearest
 * centre so far (w->full: to the first centre w->centre; else the smaller
 * of the old one and the distance to w->centre) into w->u, their running
 * sum into w->l and the chunk's total into ptot[g].
 */
static void
seed_dist_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	const double *X = w->X;
	const double *centre = w->centre;
	double	   *closest = w->u;
	double	   *cum = w->l;
	double		pot = 0.0;
	int			d = w->d;
	size_t		i0;
	size_t		end;
	size_t		i;

	(void) worker;
	chunk_range(w, g, &i0, &end);
	if (w->full)
		for (i = i0; i < end; i++)
		{
			closest[i] = sq_dist(X + i * d, centre, d);
			pot += closest[i];
			cum[i] = pot;
		}
	else
		for (i = i0; i < end; i++)
		{
			double		v = sq_dist(X + i * d, centre, d);

			if (v < closest[i])
				closest[i] = v;
			pot += closest[i];
			cum[i] = pot;
		}
	w->ptot[g] = pot;
}

/* Run seed_dist_task on every chunk; returns the potential (sum of w->u). */
static double
seed_distances(km_work *w, const double *centre, bool first)
{
	size_t		g;

	w->centre = centre;
	w->full = first;
	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, seed_dist_task, w, w->a);
	w->off[0] = 0.0;
	for (g = 0; g < w->nch; g++)
		w->off[g + 1] = w->off[g] + w->ptot[g];
	return w->off[w->nch];
}

/*
 * Seeding, one chunk: for each of the w->m candidates in w->ct, the sum
 * over the chunk's points of min(current, candidate) squared distances,
 * into ptot[g * KM_TRIALS + t].
 */
static void
seed_trial_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	const double *X = w->X;
	const double *closest = w->u;
	double	   *dist = worker_dist(w, worker);
	double		cpot[KM_TRIALS];
	int			d = w->d;
	int			m = w->m;
	size_t		i0;
	size_t		end;
	size_t		i;
	int			t;

	chunk_range(w, g, &i0, &end);
	for (t = 0; t < m; t++)
		cpot[t] = 0.0;
	for (i = i0; i < end; i++)
	{
		double		ci = closest[i];

		sq_dist_block(X + i * d, w->ct, d, w->cs, w->ncols, dist);
		for (t = 0; t < m; t++)
			cpot[t] += dist[t] < ci ? dist[t] : ci;
	}
	for (t = 0; t < m; t++)
		w->ptot[g * KM_TRIALS + t] = cpot[t];
}

/*
 * Greedy k-means++ seeding of w->C with n_trials candidates per centre
 * (see the file header).  w->u holds the squared distance of each point to
 * its nearest chosen centre, w->l the running sums of w->u.
 */
static void
km_seed(km_work *w, an_rng *rng, int n_trials)
{
	const double *X = w->X;
	size_t		n = w->n;
	int			d = w->d;
	int			cs = w->cs;
	double	   *cum = w->l;
	double		pot;
	size_t		first = (size_t) an_rng_below(rng, n);
	size_t		g;
	int			c;

	memcpy(w->C, X + first * d, sizeof(double) * d);
	pot = seed_distances(w, w->C, true);

	for (c = 1; c < w->k; c++)
	{
		double	   *centre = w->C + (size_t) c * d;
		size_t		best_idx = 0;
		double		best_pot = 0.0;
		int			tb;

		if (!(pot > 0.0))
		{
			/* every point is a centre already: any point will do */
			for (tb = 0; tb < n_trials; tb++)
			{
				size_t		cand = (size_t) an_rng_below(rng, n);

				if (tb == 0)
					best_idx = cand;
			}
			memcpy(centre, X + best_idx * d, sizeof(double) * d);
			continue;
		}

		for (tb = 0; tb < n_trials; tb += KM_TRIALS)
		{
			int			m = n_trials - tb < KM_TRIALS ? n_trials - tb : KM_TRIALS;
			size_t		cand[KM_TRIALS];
			double		cpot[KM_TRIALS];
			int			t;
			int			j;

			for (t = 0; t < m; t++)
			{
				cand[t] = search_cum(w, cum, an_rng_uniform(rng) * pot);
				cpot[t] = 0.0;
				for (j = 0; j < d; j++)
					w->ct[(size_t) j * cs + t] = X[cand[t] * d + j];
			}
			w->m = m;
			w->ncols = (m + KM_LANES - 1) / KM_LANES * KM_LANES;
			an_check_interrupts(w->a);
			an_par_for(w->threads, w->nch, seed_trial_task, w, w->a);
			for (g = 0; g < w->nch; g++)
				for (t = 0; t < m; t++)
					cpot[t] += w->ptot[g * KM_TRIALS + t];
			for (t = 0; t < m; t++)
				if ((tb == 0 && t == 0) || cpot[t] < best_pot)
				{
					best_pot = cpot[t];
					best_idx = cand[t];
				}
		}
		memcpy(centre, X + best_idx * d, sizeof(double) * d);

		/* the last centre needs no distances */
		if (c == w->k - 1)
			break;
		pot = seed_distances(w, centre, false);
	}
}

/* s[j] = half the distance from centre j to its nearest other centre. */
static void
half_separations(km_work *w)
{
	int			k = w->k;
	int			d = w->d;
	int			c;
	int			c2;
	km_ticker	tk;

	for (c = 0; c < k; c++)
		w->s[c] = INFINITY;
	ticker_init(&tk, w->a, (double) k * d);
	for (c = 0; c < k; c++)
	{
		const double *x = w->C + (size_t) c * d;

		for (c2 = c + 1; c2 < k; c2++)
		{
			double		h = 0.5 * sqrt(sq_dist(x, w->C + (size_t) c2 * d, d));

			if (h < w->s[c])
				w->s[c] = h;
			if (h < w->s[c2])
				w->s[c2] = h;
		}
		ticker_tick(&tk);
	}
}

/*
 * Assignment, one chunk (see km_assign): labels, bounds, and with
 * w->accumulate the chunk's sums and counts per label into part and pcnt.
 */
static void
assign_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	const double *X = w->X;
	int			d = w->d;
	int			k = w->k;
	bool		full = w->full;
	bool		hamerly = (w->alg == KM_HAMERLY);
	bool		changed = false;
	int64_t		evals = 0;
	double	   *dist = worker_dist(w, worker);
	double	   *psum = w->part + g * w->pstride;
	int64_t    *pcnt = w->pcnt + g * w->cstride;
	size_t		i0;
	size_t		end;
	size_t		i;

	chunk_range(w, g, &i0, &end);
	if (w->accumulate)
	{
		memset(psum, 0, sizeof(double) * k * d);
		memset(pcnt, 0, sizeof(int64_t) * k);
	}
	for (i = i0; i < end; i++)
	{
		const double *x = X + i * d;
		int			a = w->lab[i];
		bool		scan = full;

		if (!full)
		{
			double		m = w->s[a] > w->l[i] ? w->s[a] : w->l[i];

			if (!(w->u[i] < m))
			{
				w->u[i] = sqrt(sq_dist(x, w->C + (size_t) a * d, d));
				evals++;
				scan = !(w->u[i] < m);
			}
		}
		if (scan)
		{
			double		best;
			double		second;

			sq_dist_block(x, w->ct, d, w->cs, w->kp, dist);
			evals += k;
			a = nearest_two(dist, k, &best, &second);
			if (hamerly)
			{
				w->u[i] = sqrt(best);
				w->l[i] = sqrt(second);
			}
			else
				w->u[i] = best;
		}
		if (a != w->lab[i])
		{
			changed = true;
			w->lab[i] = a;
		}
		if (w->accumulate)
		{
			double	   *sum = psum + (size_t) a * d;
			int			j;

			pcnt[a]++;
			for (j = 0; j < d; j++)
				sum[j] += x[j];
		}
	}
	w->pev[g] = evals;
	w->pchg[g] = changed;
}

/*
 * Assign every point to its nearest centre of w->C, by a full scan of the
 * k distances (full, always for KM_LLOYD) or through Hamerly's bounds,
 * which must be valid for w->C.  With accumulate, w->Cn and w->cnt receive
 * the sums and counts of the new labels (the chunks' sums added in chunk
 * order).  Returns whether a label changed.
 */
static bool
km_assign(km_work *w, bool full, bool accumulate)
{
	int			k = w->k;
	int			d = w->d;
	bool		changed = false;
	size_t		g;
	int			c;

	transpose_centres(w, w->C);
	if (!full)
		half_separations(w);
	w->full = full;
	w->accumulate = accumulate;
	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, assign_task, w, w->a);
	if (accumulate)
	{
		memset(w->Cn, 0, sizeof(double) * k * d);
		memset(w->cnt, 0, sizeof(int64_t) * k);
	}
	for (g = 0; g < w->nch; g++)
	{
		changed |= w->pchg[g];
		w->evals += w->pev[g];
		if (!accumulate)
			continue;
		for (c = 0; c < k; c++)
		{
			const double *ps = w->part + g * w->pstride + (size_t) c * d;
			double	   *sum = w->Cn + (size_t) c * d;
			int			j;

			w->cnt[c] += w->pcnt[g * w->cstride + c];
			for (j = 0; j < d; j++)
				sum[j] += ps[j];
		}
	}
	return changed;
}

/* Is point i farther from its centre than point j (the lower index on ties)? */
static inline bool
farther(const double *dist, size_t i, size_t j)
{
	return dist[i] > dist[j] || (dist[i] == dist[j] && i < j);
}

/* Restore the heap order of h[0 .. m) (least far on top) below position pos. */
static void
far_sift_down(size_t *h, size_t m, size_t pos, const double *dist)
{
	for (;;)
	{
		size_t		c = 2 * pos + 1;
		size_t		x;

		if (c >= m)
			break;
		if (c + 1 < m && farther(dist, h[c], h[c + 1]))
			c++;
		if (!farther(dist, h[pos], h[c]))
			break;
		x = h[pos];
		h[pos] = h[c];
		h[c] = x;
		pos = c;
	}
}

/*
 * Relocate the empty clusters of the sums w->Cn / counts w->cnt (labels
 * w->lab against the centres w->C), as scikit-learn's
 * _relocate_empty_clusters_dense: the j-th empty cluster (in index order)
 * gets the j-th farthest point from its assigned centre, which leaves its
 * old cluster.
 */
static void
km_relocate(km_work *w)
{
	const double *X = w->X;
	size_t		n = w->n;
	int			d = w->d;
	int			k = w->k;
	size_t	   *h = w->far;
	size_t		m = 0;
	size_t		n_empty = 0;
	size_t		i;
	int			c;
	km_ticker	tk;

	for (c = 0; c < k; c++)
		if (w->cnt[c] == 0)
			n_empty++;
	if (n_empty == 0)
		return;

	/* squared distances to the assigned centres: Lloyd has them already */
	if (w->alg == KM_HAMERLY)
	{
		ticker_init(&tk, w->a, (double) d);
		for (i = 0; i < n; i++)
		{
			w->u[i] = sq_dist(X + i * d, w->C + (size_t) w->lab[i] * d, d);
			ticker_tick(&tk);
		}
		w->evals += (int64_t) n;
	}

	/* the n_empty farthest points, in a heap with the least far on top */
	ticker_init(&tk, w->a, 1.0);
	for (i = 0; i < n; i++)
	{
		if (m < n_empty)
		{
			size_t		pos = m++;

			/* sift up */
			h[pos] = i;
			while (pos > 0 && farther(w->u, h[(pos - 1) / 2], h[pos]))
			{
				size_t		x = h[pos];

				h[pos] = h[(pos - 1) / 2];
				h[(pos - 1) / 2] = x;
				pos = (pos - 1) / 2;
			}
		}
		else if (farther(w->u, i, h[0]))
		{
			h[0] = i;
			far_sift_down(h, m, 0, w->u);
		}
		ticker_tick(&tk);
	}
	/* heap sort: the least far goes last, so h[0] ends up the farthest */
	while (m > 1)
	{
		size_t		x = h[0];

		h[0] = h[m - 1];
		h[m - 1] = x;
		m--;
		far_sift_down(h, m, 0, w->u);
	}

	m = 0;
	for (c = 0; c < k; c++)
	{
		const double *x;
		int			old;
		int			j;

		if (w->cnt[c] != 0)
			continue;
		x = X + h[m] * d;
		old = w->lab[h[m]];
		m++;
		for (j = 0; j < d; j++)
		{
			w->Cn[(size_t) old * d + j] -= x[j];
			w->Cn[(size_t) c * d + j] = x[j];
		}
		w->cnt[c] = 1;
		w->cnt[old]--;
	}

	/* the bounds: exact upper, trivial lower */
	if (w->alg == KM_HAMERLY)
		for (i = 0; i < n; i++)
		{
			w->u[i] = sqrt(w->u[i]);
			w->l[i] = 0.0;
		}
}

/*
 * Turn the sums in w->Cn into means, put each centre's shift (Euclidean)
 * in w->p and swap w->C and w->Cn.  Returns the sum of the squared shifts.
 */
static double
km_update(km_work *w)
{
	int			d = w->d;
	double		total = 0.0;
	double	   *swap;
	int			c;
	int			j;

	for (c = 0; c < w->k; c++)
	{
		double	   *cn = w->Cn + (size_t) c * d;

		if (w->cnt[c] > 0)
		{
			double		alpha = 1.0 / (double) w->cnt[c];

			for (j = 0; j < d; j++)
				cn[j] *= alpha;
		}
		w->p[c] = sqrt(sq_dist(cn, w->C + (size_t) c * d, d));
		total += w->p[c] * w->p[c];
	}
	swap = w->C;
	w->C = w->Cn;
	w->Cn = swap;
	return total;
}

/* Move Hamerly's bounds of one chunk by the centre shifts in w->p. */
static void
shift_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	size_t		i0;
	size_t		end;
	size_t		i;

	(void) worker;
	chunk_range(w, g, &i0, &end);
	for (i = i0; i < end; i++)
	{
		int			a = w->lab[i];

		w->u[i] += w->p[a];
		w->l[i] -= (a == w->shift_arg1) ? w->shift_max2 : w->shift_max1;
	}
}

/* Move Hamerly's bounds by the centre shifts in w->p. */
static void
km_shift_bounds(km_work *w)
{
	double		max1 = 0.0;
	double		max2 = 0.0;
	int			arg1 = -1;
	int			c;

	for (c = 0; c < w->k; c++)
	{
		if (w->p[c] > max1)
		{
			max2 = max1;
			max1 = w->p[c];
			arg1 = c;
		}
		else if (w->p[c] > max2)
			max2 = w->p[c];
	}
	w->shift_arg1 = arg1;
	w->shift_max1 = max1;
	w->shift_max2 = max2;
	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, shift_task, w, w->a);
}

/* Inertia of one chunk into ptot[g], its label counts into pcnt. */
static void
inertia_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	int64_t    *pcnt = w->pcnt + g * w->cstride;
	double		total = 0.0;
	size_t		i0;
	size_t		end;
	size_t		i;

	(void) worker;
	chunk_range(w, g, &i0, &end);
	memset(pcnt, 0, sizeof(int64_t) * w->k);
	for (i = i0; i < end; i++)
	{
		int			a = w->lab[i];

		total += sq_dist(w->X + i * w->d, w->C + (size_t) a * w->d, w->d);
		pcnt[a]++;
	}
	w->ptot[g] = total;
}

/*
 * Lloyd iterations from the centres in w->C (see the file header); leaves
 * the final centres in w->C, labels in w->lab, sizes in w->cnt.
 */
static void
km_lloyd(km_work *w, int max_iter, double tol_scaled, double *inertia,
		 int *iterations, bool *converged)
{
	bool		hamerly = (w->alg == KM_HAMERLY);
	bool		strict = false;
	bool		stopped = false;
	double		total = 0.0;
	size_t		g;
	size_t		i;
	int			it;
	int			c;

	for (i = 0; i < w->n; i++)
		w->lab[i] = -1;
	for (it = 0; it < max_iter; it++)
	{
		bool		changed;
		double		shift;

		an_check_interrupts(w->a);
		changed = km_assign(w, !hamerly || it == 0, true);
		km_relocate(w);
		shift = km_update(w);
		if (!changed)
		{
			strict = stopped = true;
			break;
		}
		if (hamerly)
			km_shift_bounds(w);
		if (shift <= tol_scaled)
		{
			stopped = true;
			break;
		}
	}
	*iterations = stopped ? it + 1 : max_iter;
	*converged = stopped;
	if (!strict)
		(void) km_assign(w, !hamerly, false);

	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, inertia_task, w, w->a);
	memset(w->cnt, 0, sizeof(int64_t) * w->k);
	for (g = 0; g < w->nch; g++)
	{
		total += w->ptot[g];
		for (c = 0; c < w->k; c++)
			w->cnt[c] += w->pcnt[g * w->cstride + c];
	}
	w->evals += (int64_t) w->n;
	*inertia = total;
}

/*
 * Data pass, one chunk: pass 0 checks that the chunk's coordinates are
 * finite (pev[g] = the first point that is not, or -1) and sums them per
 * feature into the chunk's sums (part); pass 1 sums their squared
 * deviations from the means in w->C there.
 */
static void
data_task(void *ctx, size_t g, int worker)
{
	km_work    *w = ctx;
	const double *X = w->X;
	const double *mean = w->C;
	double	   *acc = w->part + g * w->pstride;
	int			d = w->d;
	size_t		i0;
	size_t		end;
	size_t		i;
	int			j;

	(void) worker;
	chunk_range(w, g, &i0, &end);
	for (j = 0; j < d; j++)
		acc[j] = 0.0;
	if (w->data_pass == 0)
	{
		w->pev[g] = -1;
		for (i = i0; i < end; i++)
		{
			const double *x = X + i * d;
			bool		finite = true;

			for (j = 0; j < d; j++)
			{
				finite &= (bool) isfinite(x[j]);
				acc[j] += x[j];
			}
			if (!finite)
			{
				w->pev[g] = (int64_t) i;
				return;
			}
		}
	}
	else
		for (i = i0; i < end; i++)
			for (j = 0; j < d; j++)
			{
				double		t = X[i * d + j] - mean[j];

				acc[j] += t * t;
			}
}

/* acc[j] = the chunks' sums of feature j from data_task, in chunk order */
static void
chunk_feature_sums(const km_work *w, double *acc)
{
	size_t		g;
	int			j;

	for (j = 0; j < w->d; j++)
		acc[j] = 0.0;
	for (g = 0; g < w->nch; g++)
		for (j = 0; j < w->d; j++)
			acc[j] += w->part[g * w->pstride + j];
}

/*
 * Check that every coordinate is finite (else AN_EINVAL naming the first
 * point that is not) and set *tol_scaled to tol times the mean over the
 * features of their population variance (scikit-learn's _tolerance), from
 * two parallel passes whose per-chunk sums are added in chunk order.
 * w->C and w->Cn serve as scratch (d doubles each; k >= 1).
 */
static int
check_and_tolerance(km_work *w, double tol, double *tol_scaled, char *err, size_t errlen)
{
	double	   *mean = w->C;
	double	   *acc = w->Cn;
	double		total = 0.0;
	int			d = w->d;
	size_t		g;
	int			j;

	w->data_pass = 0;
	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, data_task, w, w->a);
	for (g = 0; g < w->nch; g++)
		if (w->pev[g] >= 0)
			return an_set_error(err, errlen, AN_EINVAL,
								"point %zu has a non-finite coordinate (NaN or infinity)",
								(size_t) w->pev[g]);
	*tol_scaled = 0.0;
	if (tol == 0.0)
		return AN_OK;
	chunk_feature_sums(w, acc);
	for (j = 0; j < d; j++)
		mean[j] = acc[j] / (double) w->n;
	w->data_pass = 1;
	an_check_interrupts(w->a);
	an_par_for(w->threads, w->nch, data_task, w, w->a);
	chunk_feature_sums(w, acc);
	for (j = 0; j < d; j++)
		total += acc[j] / (double) w->n;
	*tol_scaled = tol * (total / d);
	return AN_OK;
}

/* Cluster the n points of X (see kmeans.h). */
int
km_fit(const double *X, size_t n, int d, const km_params *p,
	   int32_t *labels, km_result *out, const an_allocator *a,
	   char *err, size_t errlen)
{
	km_work		w;
	double		tol_scaled = 0.0;
	int			n_trials;
	int			k;
	int			r;
	int			rc = AN_OK;

	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (p == NULL || out == NULL || out->centroids == NULL || out->sizes == NULL)
		return an_set_error(err, errlen, AN_EINVAL,
							"parameters, result, centroids and sizes must not be NULL");
	if (n == 0)
		return an_set_error(err, errlen, AN_EINVAL, "there are no points to cluster");
	if (X == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "points must not be NULL");
	if (d < 1 || d > KM_MAX_DIMS)
		return an_set_error(err, errlen, AN_EINVAL,
							"the number of dimensions (%d) must be between 1 and %d",
							d, KM_MAX_DIMS);
	k = p->k;
	if (k < 1)
		return an_set_error(err, errlen, AN_EINVAL, "k (%d) must be at least 1", k);
	if (k > KM_MAX_K)
		return an_set_error(err, errlen, AN_EINVAL, "k (%d) must be at most %d",
							k, KM_MAX_K);
	if ((size_t) k > n)
		return an_set_error(err, errlen, AN_EINVAL,
							"k (%d) is greater than the number of points (%zu)", k, n);
	if (p->n_init < 1)
		return an_set_error(err, errlen, AN_EINVAL, "n_init (%d) must be at least 1",
							p->n_init);
	if (p->max_iter < 1)
		return an_set_error(err, errlen, AN_EINVAL, "max_iter (%d) must be at least 1",
							p->max_iter);
	if (!(p->tol >= 0.0))
		return an_set_error(err, errlen, AN_EINVAL,
							"tol (%g) must be a non-negative number", p->tol);
	if (p->algorithm != KM_HAMERLY && p->algorithm != KM_LLOYD)
		return an_set_error(err, errlen, AN_EINVAL, "unknown k-means algorithm (%d)",
							(int) p->algorithm);
	n_trials = p->n_local_trials > 0 ? p->n_local_trials : 2 + (int) floor(log((double) k));

	memset(&w, 0, sizeof(w));
	w.X = X;
	w.n = n;
	w.d = d;
	w.k = k;
	w.kp = (k + KM_LANES - 1) / KM_LANES * KM_LANES;
	w.alg = p->algorithm;
	w.a = a;
	w.C = an_alloc(a, sizeof(double) * k * d);
	w.Cn = an_alloc(a, sizeof(double) * k * d);
	w.cs = w.kp > KM_TRIALS ? w.kp : KM_TRIALS;
	w.ct = an_alloc(a, sizeof(double) * w.cs * d);
	w.threads = (n >= KM_PAR_MIN && p->threads > 1) ? p->threads : 1;
	if (w.threads > AN_PAR_MAX_THREADS)
		w.threads = AN_PAR_MAX_THREADS;
	/* chunks: at most KM_CHUNKS, and their sums at most n * d / 4 doubles */
	w.nch = n / (4 * (size_t) k);
	w.nch = w.nch < 1 ? 1 : w.nch > KM_CHUNKS ? KM_CHUNKS : w.nch;
	w.chs = (n + w.nch - 1) / w.nch;
	w.nch = (n + w.chs - 1) / w.chs;
	/* what the threads write per point, on cache lines of its own */
	w.dstride = whole_lines((size_t) w.cs);
	w.dist = an_alloc(a, sizeof(double) * (w.dstride * w.threads + KM_LINE_DOUBLES));
	w.pstride = whole_lines((size_t) k * d);
	w.cstride = whole_lines((size_t) k);
	w.part_mem = an_alloc(a, sizeof(double) * (w.nch * w.pstride + KM_LINE_DOUBLES));
	w.pcnt_mem = an_alloc(a, sizeof(int64_t) * (w.nch * w.cstride + KM_LINE_DOUBLES));
	w.part = line_start(w.part_mem);
	w.pcnt = line_start(w.pcnt_mem);
	w.ptot = an_alloc(a, sizeof(double) * w.nch * KM_TRIALS);
	w.off = an_alloc(a, sizeof(double) * (w.nch + 1));
	w.pev = an_alloc(a, sizeof(int64_t) * w.nch);
	w.pchg = an_alloc(a, w.nch);
	w.u = an_alloc(a, sizeof(double) * n);
	w.l = an_alloc(a, sizeof(double) * n);
	w.p = an_alloc(a, sizeof(double) * k);
	w.s = an_alloc(a, sizeof(double) * k);
	w.cnt = an_alloc(a, sizeof(int64_t) * k);
	w.far = an_alloc(a, sizeof(size_t) * k);
	w.lab = an_alloc(a, sizeof(int32_t) * n);
	if (!w.C || !w.Cn || !w.ct || !w.dist || !w.u || !w.l || !w.p || !w.s ||
		!w.cnt || !w.far || !w.lab || !w.part_mem || !w.pcnt_mem || !w.ptot || !w.off ||
		!w.pev || !w.pchg)
	{
		rc = an_set_error(err, errlen, AN_ENOMEM,
						  "out of memory for k-means of %zu points", n);
		goto done;
	}
	rc = check_and_tolerance(&w, p->tol, &tol_scaled, err, errlen);
	if (rc != AN_OK)
		goto done;
	/* unused columns of the transposed table are computed on, never read */
	memset(w.ct, 0, sizeof(double) * w.cs * d);

	out->distance_evals = 0;
	for (r = 0; r < p->n_init; r++)
	{
		an_rng		rng;
		double		inertia;
		int			iterations;
		bool		converged;

		an_rng_seed(&rng, an_mix64(p->seed + (uint64_t) r));
		km_seed(&w, &rng, n_trials);
		km_lloyd(&w, p->max_iter, tol_scaled, &inertia, &iterations, &converged);
		if (r == 0 || inertia < out->inertia)
		{
			memcpy(out->centroids, w.C, sizeof(double) * k * d);
			memcpy(out->sizes, w.cnt, sizeof(int64_t) * k);
			if (labels)
				memcpy(labels, w.lab, sizeof(int32_t) * n);
			out->inertia = inertia;
			out->iterations = iterations;
			out->converged = converged;
			out->best_run = r;
		}
	}
	out->distance_evals = w.evals;

done:
	an_free(a, w.C);
	an_free(a, w.Cn);
	an_free(a, w.ct);
	an_free(a, w.dist);
	an_free(a, w.u);
	an_free(a, w.l);
	an_free(a, w.p);
	an_free(a, w.s);
	an_free(a, w.cnt);
	an_free(a, w.far);
	an_free(a, w.lab);
	an_free(a, w.part_mem);
	an_free(a, w.pcnt_mem);
	an_free(a, w.ptot);
	an_free(a, w.off);
	an_free(a, w.pev);
	an_free(a, w.pchg);
	return rc;
}

/* Mean silhouette coefficient of labelled points (see kmeans.h). */
int
km_silhouette(const double *X, size_t n, int d, const int32_t *labels,
			  int k, double *out, const an_allocator *a,
			  char *err, size_t errlen)
{
	int64_t    *size = NULL;
	double	   *S = NULL;
	double	   *row = NULL;
	double		total = 0.0;
	double		work = 0.0;
	int			nonempty = 0;
	int			rc = AN_OK;
	size_t		i;
	size_t		j;
	int			c;

	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (out == NULL || (n > 0 && (X == NULL || labels == NULL)))
		return an_set_error(err, errlen, AN_EINVAL,
							"points, labels and the result must not be NULL");
	if (d < 1 || d > KM_MAX_DIMS)
		return an_set_error(err, errlen, AN_EINVAL,
							"the number of dimensions (%d) must be between 1 and %d",
							d, KM_MAX_DIMS);
	if (k < 1)
		return an_set_error(err, errlen, AN_EINVAL,
							"the number of clusters (%d) must be at least 1", k);
	if ((size_t) k > SIZE_MAX / sizeof(double) / (n > 0 ? n : 1))
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory for the silhouette of %zu points", n);
	for (i = 0; i < n; i++)
	{
		if (labels[i] < 0 || labels[i] >= k)
			return an_set_error(err, errlen, AN_EINVAL,
								"label %d of point %zu is outside [0, %d)",
								(int) labels[i], i, k);
		for (c = 0; c < d; c++)
			if (!isfinite(X[i * d + c]))
				return an_set_error(err, errlen, AN_EINVAL,
									"point %zu has a non-finite coordinate (NaN or infinity)", i);
	}

	size = an_alloc(a, sizeof(int64_t) * k);
	if (size == NULL)
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory for the silhouette of %zu points", n);
	memset(size, 0, sizeof(int64_t) * k);
	for (i = 0; i < n; i++)
		if (size[labels[i]]++ == 0)
			nonempty++;
	if (nonempty < 2 || (size_t) nonempty > n - 1)
	{
		rc = an_set_error(err, errlen, AN_EINVAL,
						  "the silhouette needs between 2 and n - 1 non-empty clusters "
						  "(%d non-empty clusters, %zu points)", nonempty, n);
		goto done;
	}

	S = an_alloc(a, sizeof(double) * k * n);
	row = an_alloc(a, sizeof(double) * n);
	if (S == NULL || row == NULL)
	{
		rc = an_set_error(err, errlen, AN_ENOMEM,
						  "out of memory for the silhouette of %zu points", n);
		goto done;
	}
	memset(S, 0, sizeof(double) * k * n);

	/*
	 * S[i * k + c] = sum of the distances from point i to the points of
	 * cluster c, over the pairs i < j; each point's sums take the other
	 * points in index order.
	 */
	for (i = 0; i < n; i++)
	{
		const double *x = X + i * d;
		int			li = labels[i];

		for (j = i + 1; j < n; j++)
			row[j] = sq_dist(x, X + j * d, d);
		for (j = i + 1; j < n; j++)
			row[j] = sqrt(row[j]);
		for (j = i + 1; j < n; j++)
		{
			S[i * k + labels[j]] += row[j];
			S[j * k + li] += row[j];
		}
		work += (double) (n - i) * (d + 2);
		if (work >= KM_CHECK_WORK)
		{
			work = 0.0;
			an_check_interrupts(a);
		}
	}

	for (i = 0; i < n; i++)
	{
		const double *si = S + i * k;
		int			li = labels[i];
		double		aa;
		double		bb = INFINITY;
		double		den;

		if (size[li] <= 1)
			continue;			/* s(i) = 0 */
		aa = si[li] / (double) (size[li] - 1);
		for (c = 0; c < k; c++)
			if (c != li && size[c] > 0)
			{
				double		v = si[c] / (double) size[c];

				if (v < bb)
					bb = v;
			}
		den = aa > bb ? aa : bb;
		if (den > 0.0)
			total += (bb - aa) / den;
	}
	*out = total / (double) n;

done:
	an_free(a, size);
	an_free(a, S);
	an_free(a, row);
	return rc;
}

/* Hash of a point's coordinates, -0.0 read as 0.0 (see kmeans.h). */
uint64_t
km_point_hash(const double *x, int d, uint64_t seed)
{
	uint64_t	h = an_mix64(seed);
	int			j;

	for (j = 0; j < d; j++)
	{
		double		v = x[j] == 0.0 ? 0.0 : x[j];
		uint64_t	bits;

		memcpy(&bits, &v, sizeof(bits));
		h = an_mix64(h ^ bits);
	}
	return h;
}

/*
 * Order of two points: coordinates compared with < in order, then (for
 * points equal that way, such as 0.0 and -0.0) their bit patterns, so that
 * the order is total on finite points.
 */
static int
row_cmp(const double *x, const double *y, int d)
{
	int			j;

	for (j = 0; j < d; j++)
	{
		if (x[j] < y[j])
			return -1;
		if (y[j] < x[j])
			return 1;
	}
	for (j = 0; j < d; j++)
	{
		uint64_t	bx;
		uint64_t	by;

		memcpy(&bx, &x[j], sizeof(bx));
		memcpy(&by, &y[j], sizeof(by));
		if (bx != by)
			return bx < by ? -1 : 1;
	}
	return 0;
}

static int	sort_canonical(double *X, const uint64_t *hash, size_t n, int d, uint64_t seed,
						   double *out_given, uint64_t *hash_out, int threads,
						   const an_allocator *a, char *err, size_t errlen);

/* keys a run ahead whose rows the gather prefetches */
#define KM_PREFETCH 16

static int
key_hash_cmp(const void *pa, const void *pb)
{
	uint64_t	a = ((const km_key *) pa)->hash;
	uint64_t	b = ((const km_key *) pb)->hash;

	return a < b ? -1 : a > b ? 1 : 0;
}

/*
 * Order keys v[0 .. n) by their whole hash (the caller then orders equal
 * hashes by their rows, so stability does not matter here): insertion sort
 * for the short runs that uniform hashes give, qsort for long ones (many
 * duplicate points).
 */
static void
key_sort_hash(km_key *v, size_t n)
{
	size_t		i;

	if (n > 32)
	{
		qsort(v, n, sizeof(km_key), key_hash_cmp);
		return;
	}
	for (i = 1; i < n; i++)
	{
		km_key		x = v[i];
		size_t		j = i;

		while (j > 0 && v[j - 1].hash > x.hash)
		{
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/*
 * Stable merge sort of keys v[0 .. n) (equal hashes) by the rows they
 * point to, with tmp as n entries of scratch; never out of bounds, whatever
 * row_cmp answers (NaN coordinates).
 */
static void
key_sort_rows(km_key *v, size_t n, km_key *tmp, const double *X, int d)
{
	km_key	   *src = v;
	km_key	   *dst = tmp;
	size_t		width;
	size_t		lo;
	size_t		i;

	for (lo = 0; lo < n; lo += KM_SORT_RUN)
	{
		size_t		hi = n - lo < KM_SORT_RUN ? n : lo + KM_SORT_RUN;

		for (i = lo + 1; i < hi; i++)
		{
			km_key		x = v[i];
			size_t		j = i;

			while (j > lo && row_cmp(X + x.idx * d, X + v[j - 1].idx * d, d) < 0)
			{
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
	}
	for (width = KM_SORT_RUN; width < n; width *= 2)
	{
		km_key	   *swap;

		for (lo = 0; lo < n; lo += 2 * width)
		{
			size_t		mid = n - lo < width ? n : lo + width;
			size_t		hi = n - mid < width ? n : mid + width;
			size_t		a = lo;
			size_t		b = mid;
			size_t		o = lo;

			while (a < mid && b < hi)
			{
				if (row_cmp(X + src[b].idx * d, X + src[a].idx * d, d) < 0)
					dst[o++] = src[b++];
				else
					dst[o++] = src[a++];
			}
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != v)
		memcpy(v, src, sizeof(km_key) * n);
}

/* Sort the points of X in the canonical order (see kmeans.h). */
int
km_sort_canonical(double *X, size_t n, int d, uint64_t seed,
				  const an_allocator *a, char *err, size_t errlen)
{
	return sort_canonical(X, NULL, n, d, seed, NULL, NULL, 1, a, err, errlen);
}

/* The canonical order of X into out (see kmeans.h). */
int
km_sort_canonical_hashed(const double *X, const uint64_t *hash, uint64_t seed, size_t n, int d,
						 double *out, uint64_t *hash_out, int threads,
						 const an_allocator *a, char *err, size_t errlen)
{
	if (out == NULL || (n > 0 && X == NULL))
		return an_set_error(err, errlen, AN_EINVAL, "points and output must not be NULL");
	if (n == 1 && d >= 1 && d <= KM_MAX_DIMS)
	{
		memcpy(out, X, sizeof(double) * d);
		if (hash_out)
			hash_out[0] = hash ? hash[0] : km_point_hash(X, d, seed);
	}
	return sort_canonical((double *) X, hash, n, d, seed, out, hash_out, threads, a, err, errlen);
}

/* Merge run B into run A, in canonical order (see kmeans.h). */
void
km_merge_canonical(double *A, uint64_t *ha, size_t na,
				   const double *B, const uint64_t *hb, size_t nb, int d)
{
	size_t		i = na;
	size_t		j = nb;
	size_t		o = na + nb;

	/*
	 * From the back: the larger of the two last points goes last (B's on
	 * equality, so that equal points keep A's first).  o > i while B has
	 * points left, so no point of A is overwritten before it is moved.
	 */
	while (j > 0)
	{
		if (i > 0 && (ha[i - 1] > hb[j - 1] ||
					  (ha[i - 1] == hb[j - 1] &&
					   row_cmp(A + (i - 1) * d, B + (j - 1) * d, d) > 0)))
		{
			i--;
			memcpy(A + (o - 1) * d, A + i * d, sizeof(double) * d);
			ha[o - 1] = ha[i];
		}
		else
		{
			j--;
			memcpy(A + (o - 1) * d, B + j * d, sizeof(double) * d);
			ha[o - 1] = hb[j];
		}
		o--;
	}
}

/* the parallel passes of sort_canonical */
typedef struct km_sort_ctx
{
	const double *X;
	const uint64_t *hash;		/* given hashes, or NULL: computed with seed */
	uint64_t	seed;
	km_key	   *keys;
	double	   *out;
	size_t		n;
	int			d;
	size_t		chs;			/* rows per task */
} km_sort_ctx;

/* the rows [*i0, *end) of chunk g of a sort */
static inline void
sort_chunk(const km_sort_ctx *sc, size_t g, size_t *i0, size_t *end)
{
	*i0 = g * sc->chs;
	*end = sc->n - *i0 < sc->chs ? sc->n : *i0 + sc->chs;
}

/* One task of the keys: (hash, index) of the rows of chunk g. */
static void
keys_task(void *ctx, size_t g, int worker)
{
	const km_sort_ctx *sc = ctx;
	size_t		i;
	size_t		end;

	(void) worker;
	for (sort_chunk(sc, g, &i, &end); i < end; i++)
	{
		sc->keys[i].hash = sc->hash ? sc->hash[i] : km_point_hash(sc->X + i * sc->d, sc->d, sc->seed);
		sc->keys[i].idx = i;
	}
}

/*
 * One task of the gather: out[i] = the row keys[i] points to, for the rows
 * of chunk g, prefetched a few keys ahead (the reads are random, the
 * writes sequential).
 */
static void
gather_task(void *ctx, size_t g, int worker)
{
	const km_sort_ctx *sc = ctx;
	const double *X = sc->X;
	const km_key *keys = sc->keys;
	int			d = sc->d;
	size_t		i;
	size_t		end;

	(void) worker;
	for (sort_chunk(sc, g, &i, &end); i < end; i++)
	{
		const double *from = X + keys[i].idx * d;
		double	   *to = sc->out + i * d;
		int			j;

		if (i + KM_PREFETCH < end)
			__builtin_prefetch(X + keys[i + KM_PREFETCH].idx * d);
		for (j = 0; j < d; j++)
			to[j] = from[j];
	}
}

/*
 * The work of both: with hash, the points' hashes are given (else computed
 * with seed); with out, the sorted points are written there and X is left
 * alone (else X is sorted in place); with hash_out, the sorted hashes are
 * written there.  threads share the hashing and the gather of the rows
 * (the keys are sorted by this thread alone).
 */
static int
sort_canonical(double *X, const uint64_t *hash, size_t n, int d, uint64_t seed,
			   double *out_given, uint64_t *hash_out, int threads,
			   const an_allocator *a, char *err, size_t errlen)
{
	km_sort_ctx sc;
	km_key	   *keys = NULL;
	km_key	   *tmp = NULL;
	km_key	   *src;
	km_key	   *dst;
	double	   *row = NULL;
	size_t	   *count = NULL;
	double	   *out;
	size_t		i;
	size_t		lo;
	int			pass;
	km_ticker	tk;

	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (d < 1 || d > KM_MAX_DIMS)
		return an_set_error(err, errlen, AN_EINVAL,
							"the number of dimensions (%d) must be between 1 and %d",
							d, KM_MAX_DIMS);
	if (n < 2)
		return AN_OK;
	if (X == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "points must not be NULL");

	keys = an_alloc(a, sizeof(km_key) * n);
	tmp = an_alloc(a, sizeof(km_key) * n);
	row = an_alloc(a, sizeof(double) * d);
	count = an_alloc(a, sizeof(size_t) * 8 * 256);
	if (!keys || !tmp || !row || !count)
	{
		an_free(a, keys);
		an_free(a, tmp);
		an_free(a, row);
		an_free(a, count);
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory for sorting %zu points", n);
	}

	/* keys (hashed by the threads), then the byte histograms of their top half */
	sc.X = X;
	sc.hash = hash;
	sc.seed = seed;
	sc.keys = keys;
	sc.n = n;
	sc.d = d;
	sc.chs = n / KM_CHUNKS + 1;
	threads = n >= KM_PAR_MIN ? threads : 1;
	an_check_interrupts(a);
	an_par_for(threads, (n + sc.chs - 1) / sc.chs, keys_task, &sc, a);
	memset(count, 0, sizeof(size_t) * 8 * 256);
	ticker_init(&tk, a, 4.0);
	for (i = 0; i < n; i++)
	{
		uint64_t	h = keys[i].hash;

		for (pass = 4; pass < 8; pass++)
			count[pass * 256 + ((h >> (8 * pass)) & 255)]++;
		ticker_tick(&tk);
	}

	/*
	 * LSD radix sort on the top 32 bits of the hash, a byte per pass
	 * (stable); the hashes are uniform, so runs that agree on those bits are
	 * short and are then ordered by the whole hash.
	 */
	src = keys;
	dst = tmp;
	for (pass = 4; pass < 8; pass++)
	{
		size_t	   *cp = count + pass * 256;
		size_t		off = 0;
		km_key	   *swap;
		int			b;

		if (cp[(src[0].hash >> (8 * pass)) & 255] == n)
			continue;			/* one byte value: nothing moves */
		for (b = 0; b < 256; b++)
		{
			size_t		c = cp[b];

			cp[b] = off;
			off += c;
		}
		ticker_init(&tk, a, 1.0);
		for (i = 0; i < n; i++)
		{
			dst[cp[(src[i].hash >> (8 * pass)) & 255]++] = src[i];
			ticker_tick(&tk);
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	for (lo = 0; lo < n;)
	{
		size_t		hi = lo + 1;

		while (hi < n && (src[hi].hash >> 32) == (src[lo].hash >> 32))
			hi++;
		if (hi - lo > 1)
			key_sort_hash(src + lo, hi - lo);
		lo = hi;
	}

	/* equal hashes (duplicate points, mostly) by their coordinates */
	for (lo = 0; lo < n;)
	{
		size_t		hi = lo + 1;

		while (hi < n && src[hi].hash == src[lo].hash)
			hi++;
		if (hi - lo > 1)
			key_sort_rows(src + lo, hi - lo, dst, X, d);
		lo = hi;
	}
	if (hash_out)
		for (i = 0; i < n; i++)
			hash_out[i] = src[i].hash;

	/*
	 * Gather the rows in the new order into a scratch copy, prefetching
	 * the rows a few keys ahead (the reads are random, the writes
	 * sequential), then copy it back.  Without the memory for the copy,
	 * permute in place by following cycles: the row at position pos comes
	 * from src[pos].idx; a placed position gets idx = pos.
	 */
	out = out_given ? out_given : an_alloc(a, sizeof(double) * n * d);
	if (out != NULL)
	{
		sc.out = out;
		an_check_interrupts(a);
		an_par_for(threads, (n + sc.chs - 1) / sc.chs, gather_task, &sc, a);
		if (out != out_given)
		{
			memcpy(X, out, sizeof(double) * n * d);
			an_free(a, out);
		}
	}
	else
	{
		ticker_init(&tk, a, (double) d);
		for (lo = 0; lo < n; lo++)
		{
			size_t		cur = lo;

			if (src[lo].idx == lo)
				continue;
			memcpy(row, X + lo * d, sizeof(double) * d);
			for (;;)
			{
				size_t		from = src[cur].idx;

				src[cur].idx = cur;
				if (from == lo)
				{
					memcpy(X + cur * d, row, sizeof(double) * d);
					break;
				}
				memcpy(X + cur * d, X + from * d, sizeof(double) * d);
				cur = from;
				ticker_tick(&tk);
			}
		}
	}

	an_free(a, keys);
	an_free(a, tmp);
	an_free(a, row);
	an_free(a, count);
	return AN_OK;
}
