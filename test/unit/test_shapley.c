/*
 * test_shapley.c
 *		Unit tests of the Shapley attribution cores (src/lib/shapley.c).
 *
 * Hand-derived examples for all three methods, then the methods against
 * independent brute force: every permutation of the players, with the
 * coalition worths computed straight from the paths (no zeta transform).
 * Then the efficiency property, absent and non-contiguous channel ids, the
 * 24-channel cap, argument errors, allocation failure at every allocation,
 * and interrupts (counted, and escaped with longjmp as PostgreSQL's
 * ereport does, leaving only allocator memory behind).
 *
 * SHAPLEY_BENCH=1 also times sh_standard for 16, 20 and 24 channels (median
 * of 3 runs) and reports the peak memory the allocator saw; that run is
 * too slow for valgrind, so it is off by default.
 */
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "shapley.h"
#include "unit.h"

#define ERRLEN 256

/*
 * A test allocator that behaves like a memory context: it keeps every live
 * block on a list (so a reset after a longjmp frees them), tracks live and
 * peak bytes, can fail a chosen allocation, and counts interrupt checks,
 * longjmp-ing out of a chosen one.
 */
typedef struct tblock
{
	struct tblock *prev;
	struct tblock *next;
	size_t		size;
} tblock;

#define THDR 32					/* header size, keeps 16-byte alignment */

typedef struct tctx
{
	tblock		head;			/* sentinel of a circular list */
	size_t		live;
	size_t		peak;
	long		allocs;			/* allocations attempted */
	long		fail_at;		/* allocation index that returns NULL, -1 never */
	long		checks;			/* interrupt checks seen */
	long		jump_at;		/* interrupt check index that longjmps, -1 never */
	jmp_buf    *jb;
} tctx;

static void *
t_alloc(void *ctx, size_t size)
{
	tctx	   *t = ctx;
	tblock	   *b;

	if (t->allocs++ == t->fail_at)
		return NULL;
	b = malloc(THDR + size);
	if (b == NULL)
		return NULL;
	b->size = size;
	b->next = t->head.next;
	b->prev = &t->head;
	t->head.next->prev = b;
	t->head.next = b;
	t->live += size;
	if (t->live > t->peak)
		t->peak = t->live;
	return (char *) b + THDR;
}

static void
t_release(void *ctx, void *ptr)
{
	tctx	   *t = ctx;
	tblock	   *b = (tblock *) ((char *) ptr - THDR);

	b->prev->next = b->next;
	b->next->prev = b->prev;
	t->live -= b->size;
	free(b);
}

static void
t_check(void *ctx)
{
	tctx	   *t = ctx;

	if (t->checks++ == t->jump_at)
		longjmp(*t->jb, 1);
}

static void
t_init(tctx *t, an_allocator *a)
{
	memset(t, 0, sizeof(*t));
	t->head.next = t->head.prev = &t->head;
	t->fail_at = -1;
	t->jump_at = -1;
	a->alloc = t_alloc;
	a->release = t_release;
	a->check_interrupts = t_check;
	a->ctx = t;
}

/* free every live block (a context reset); returns how many there were */
static int
t_reset(tctx *t)
{
	int			n = 0;

	while (t->head.next != &t->head)
	{
		t_release(t, (char *) t->head.next + THDR);
		n++;
	}
	return n;
}

static int
close_to(double got, double want, double tol)
{
	return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a message in our style: non-empty, starts lower case, no trailing period */
static int
good_message(const char *err)
{
	size_t		len = strlen(err);

	return len > 0 && !(err[0] >= 'A' && err[0] <= 'Z') && err[len - 1] != '.';
}

/* ---------------------------------------------------------------------- */

/*
 * Paths (A = 0, B = 1, C = 2):
 *	[A, B, A]	conversions 2, value 100
 *	[B]			conversions 1, value 30
 *	[C, A]		conversions 0, nulls 5
 * Simplified: path 1 has 2 distinct channels, so A and B get 2/2 = 1
 * conversion and 100/2 = 50 value each (A's second touch does not count
 * twice); path 2 gives B 1 and 30; path 3 has nothing to give.  So A = 1,
 * B = 2, C = 0; values A 50, B 80, C 0.  Sum 3 = total conversions.
 * Ordered: path 1 touches A first (position 1), B second (position 2);
 * path 2 touches B first.  A pos1 = 1 (50), B pos2 = 1 (50), B pos1 = 1
 * (30), everything else 0.  Two positions (paths 1 and 3 have 2 distinct).
 */
static void
test_simplified_ordered_example(void)
{
	static const int32_t p1[] = {0, 1, 0};
	static const int32_t p2[] = {1};
	static const int32_t p3[] = {2, 0};
	an_path		paths[3] = {
		{p1, 3, 2, 0, 100},
		{p2, 1, 1, 0, 30},
		{p3, 2, 0, 5, 0},
	};
	double		conv[3],
				val[3];
	double	   *oc = NULL,
			   *ov = NULL;
	int			npos = -1;
	char		err[ERRLEN];
	int			rc;

	rc = sh_simplified(paths, 3, 3, conv, val, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK, "simplified example runs");
	CHECK(close_to(conv[0], 1, 1e-15) && close_to(conv[1], 2, 1e-15) && conv[2] == 0,
		  "simplified conversions A 1, B 2, C 0 (got %g %g %g)", conv[0], conv[1], conv[2]);
	CHECK(close_to(val[0], 50, 1e-15) && close_to(val[1], 80, 1e-15) && val[2] == 0,
		  "simplified values A 50, B 80, C 0 (got %g %g %g)", val[0], val[1], val[2]);

	rc = sh_ordered(paths, 3, 3, &oc, &ov, &npos, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK && npos == 2, "ordered example runs with 2 positions (got %d)", npos);
	if (rc == AN_OK && npos == 2)
	{
		/* [c * 2 + p] */
		CHECK(close_to(oc[0 * 2 + 0], 1, 1e-15) && oc[0 * 2 + 1] == 0 &&
			  close_to(oc[1 * 2 + 0], 1, 1e-15) && close_to(oc[1 * 2 + 1], 1, 1e-15) &&
			  oc[2 * 2 + 0] == 0 && oc[2 * 2 + 1] == 0,
			  "ordered conversions: A pos1 1, B pos1 1, B pos2 1, rest 0");
		CHECK(close_to(ov[0 * 2 + 0], 50, 1e-15) && ov[0 * 2 + 1] == 0 &&
			  close_to(ov[1 * 2 + 0], 30, 1e-15) && close_to(ov[1 * 2 + 1], 50, 1e-15) &&
			  ov[2 * 2 + 0] == 0 && ov[2 * 2 + 1] == 0,
			  "ordered values: A pos1 50, B pos1 30, B pos2 50, rest 0");
	}
	an_free(&an_std_allocator, oc);
	an_free(&an_std_allocator, ov);

	/* n_positions counts every path, converting or not: [C, B, A] has 3 */
	{
		static const int32_t p4[] = {2, 1, 0, 2};
		an_path		more[2] = {{p2, 1, 1, 0, 30}, {p4, 4, 0, 7, 0}};

		rc = sh_ordered(more, 2, 3, &oc, &ov, &npos, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_OK && npos == 3 && oc[1 * 3 + 0] == 1 && ov[1 * 3 + 0] == 30 &&
			  oc[2 * 3 + 0] == 0 && oc[0 * 3 + 2] == 0,
			  "a non-converting path with 3 distinct channels makes 3 positions, credits nothing");
		an_free(&an_std_allocator, oc);
		an_free(&an_std_allocator, ov);
	}
}

/*
 * Two channels A = 0, B = 1; journeys by channel set:
 *	{A}: conversions 1, nulls 1		{B}: 1, 3		{A, B}: 2, 0
 * v(A) = 1/2, v(B) = 1/4, v(AB) = (1 + 1 + 2) / (2 + 4 + 2) = 1/2.
 * With two players each order has probability 1/2:
 *	phi_A = 1/2 (v(A) - 0) + 1/2 (v(AB) - v(B)) = 1/4 + 1/8 = 3/8
 *	phi_B = 1/2 (v(B) - 0) + 1/2 (v(AB) - v(A)) = 1/8 + 0 = 1/8
 * sum 1/2 = v(N).  Scaled by total conversions / v(N) = 4 / (1/2) = 8:
 * A = 3, B = 1.  Values 10 per conversion (10, 10, 20 on the three sets)
 * give v = 10 times the rates, so the value credits are 30 and 10.
 * The {A, B} journeys come as two entries [B, A] and [A, B, A] (1 conversion
 * each) to check that entries of one channel set add up.
 */
static void
test_standard_two(void)
{
	static const int32_t pa[] = {0};
	static const int32_t pb[] = {1};
	static const int32_t pba[] = {1, 0};
	static const int32_t paba[] = {0, 1, 0};
	an_path		paths[4] = {
		{pa, 1, 1, 1, 10},
		{pb, 1, 1, 3, 10},
		{pba, 2, 1, 0, 10},
		{paba, 3, 1, 0, 10},
	};
	double		conv[2],
				val[2];
	char		err[ERRLEN];
	int			rc;

	rc = sh_standard(paths, 4, 2, conv, val, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK, "standard two-channel example runs");
	CHECK(close_to(conv[0], 3, 1e-14) && close_to(conv[1], 1, 1e-14),
		  "standard two channels: A 3, B 1 (got %.17g %.17g)", conv[0], conv[1]);
	CHECK(close_to(val[0], 30, 1e-14) && close_to(val[1], 10, 1e-14),
		  "standard two channels value: A 30, B 10 (got %.17g %.17g)", val[0], val[1]);

	/* the same with the channels as ids 3 and 7 of 10 */
	{
		static const int32_t qa[] = {3};
		static const int32_t qb[] = {7};
		static const int32_t qba[] = {7, 3};
		static const int32_t qaba[] = {3, 7, 3};
		an_path		q[4] = {
			{qa, 1, 1, 1, 10},
			{qb, 1, 1, 3, 10},
			{qba, 2, 1, 0, 10},
			{qaba, 3, 1, 0, 10},
		};
		double		c10[10],
					v10[10];
		int			others = 0,
					i;

		rc = sh_standard(q, 4, 10, c10, v10, &an_std_allocator, err, sizeof(err));
		for (i = 0; i < 10; i++)
			if (i != 3 && i != 7 && (c10[i] != 0 || v10[i] != 0))
				others++;
		CHECK(rc == AN_OK && close_to(c10[3], 3, 1e-14) && close_to(c10[7], 1, 1e-14) &&
			  close_to(v10[3], 30, 1e-14) && close_to(v10[7], 10, 1e-14) && others == 0,
			  "ids 3 and 7 of 10: 3 and 1, absent ids 0 (got %g %g, %d nonzero others)",
			  c10[3], c10[7], others);
	}
}

/*
 * Three channels A = 0, B = 1, C = 2; journeys by channel set:
 *	{A}: conversions 1, nulls 1, value 100
 *	{B}: conversions 1, nulls 3, value 40
 *	{A, C}: conversions 0, nulls 2 (entered as [C, A, C])
 * Worths (conversions / journeys over the sets inside S):
 *	v(A) = 1/2, v(B) = 1/4, v(C) = 0 (no journey uses only C),
 *	v(AB) = 2/6 = 1/3, v(AC) = 1/4, v(BC) = 1/4, v(ABC) = 2/8 = 1/4.
 * Weights for 3 players: |S| = 0: 1/3, |S| = 1: 1/6, |S| = 2: 1/3.
 *	phi_A = 1/3 (1/2) + 1/6 (1/3 - 1/4) + 1/6 (1/4 - 0) + 1/3 (1/4 - 1/4)
 *		  = 12/72 + 1/72 + 3/72 = 16/72 = 2/9
 *	phi_B = 1/3 (1/4) + 1/6 (1/3 - 1/2) + 1/6 (1/4 - 0) + 1/3 (1/4 - 1/4)
 *		  = 6/72 - 2/72 + 3/72 = 7/72
 *	phi_C = 1/3 (0) + 1/6 (1/4 - 1/2) + 1/6 (1/4 - 1/4) + 1/3 (1/4 - 1/3)
 *		  = -3/72 - 2/72 = -5/72
 * sum 18/72 = 1/4 = v(N).  Scale 2 / (1/4) = 8: A = 16/9, B = 7/9, C = -5/9:
 * C only ever adds non-converting journeys, so its credit is negative.
 * Value game (value / journeys): v(A) = 50, v(B) = 10, v(C) = 0,
 * v(AB) = 140/6 = 70/3, v(AC) = 100/4 = 25, v(BC) = 40/4 = 10,
 * v(ABC) = 140/8 = 35/2.
 *	phi_A = 50/3 + (70/3 - 10)/6 + 25/6 + (35/2 - 10)/3 = 460/18 = 230/9
 *	phi_B = 10/3 + (70/3 - 50)/6 + 10/6 + (35/2 - 25)/3 = -35/18
 *	phi_C = 0 + (25 - 50)/6 + 0 + (35/2 - 70/3)/3 = -110/18 = -55/9
 * sum 315/18 = 35/2 = v(N); scale 140 / (35/2) = 8: A = 1840/9,
 * B = -140/9, C = -440/9 (B is negative too: it dilutes A's high value).
 */
static void
test_standard_three(void)
{
	static const int32_t pa[] = {0};
	static const int32_t pb[] = {1};
	static const int32_t pcac[] = {2, 0, 2};
	an_path		paths[3] = {
		{pa, 1, 1, 1, 100},
		{pb, 1, 1, 3, 40},
		{pcac, 3, 0, 2, 0},
	};
	double		conv[3],
				val[3];
	char		err[ERRLEN];
	int			rc;

	rc = sh_standard(paths, 3, 3, conv, val, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK, "standard three-channel example runs");
	CHECK(close_to(conv[0], 16.0 / 9, 1e-14) && close_to(conv[1], 7.0 / 9, 1e-14) &&
		  close_to(conv[2], -5.0 / 9, 1e-14),
		  "standard three channels: A 16/9, B 7/9, C -5/9 (got %.17g %.17g %.17g)",
		  conv[0], conv[1], conv[2]);
	CHECK(close_to(val[0], 1840.0 / 9, 1e-14) && close_to(val[1], -140.0 / 9, 1e-14) &&
		  close_to(val[2], -440.0 / 9, 1e-14),
		  "standard three channels value: A 1840/9, B -140/9, C -440/9 (got %.17g %.17g %.17g)",
		  val[0], val[1], val[2]);

	/* one channel takes everything */
	{
		static const int32_t p1[] = {4, 4};
		an_path		one[2] = {{p1, 2, 3, 5, 70}, {pa + 0, 1, 0, 0, 0}};
		double		c5[5],
					v5[5];

		/* the second entry is channel 0 with no journeys: present but a null player */
		rc = sh_standard(one, 2, 5, c5, v5, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_OK && close_to(c5[4], 3, 1e-15) && close_to(v5[4], 70, 1e-15) &&
			  c5[0] == 0 && v5[0] == 0,
			  "a lone converting channel gets all 3 conversions and 70 value (got %g %g)",
			  c5[4], v5[4]);
	}
}

/* ---------------------------------------------------------------------- */

/* random input: paths, their channel storage, and the ids they may use */
typedef struct tinput
{
	an_path    *paths;
	int32_t    *ids;
	int64_t		n_paths;
} tinput;

static void
tinput_free(tinput *in)
{
	free(in->paths);
	free(in->ids);
	in->paths = NULL;
	in->ids = NULL;
}

/*
 * n_paths paths of 1..maxlen touches drawn from chans[0..nch-1]; path i < nch
 * starts with chans[i] so that every channel appears.  A path converts
 * with probability p_conv (1..5 conversions), has 0..9 nulls, and value
 * 10..100 per conversion.
 */
static void
tinput_random(tinput *in, an_rng *r, int64_t n_paths, const int32_t *chans, int nch,
			  int maxlen, double p_conv)
{
	int64_t		i;

	in->n_paths = n_paths;
	in->paths = calloc((size_t) n_paths, sizeof(an_path));
	in->ids = malloc(sizeof(int32_t) * (size_t) (n_paths * maxlen));
	for (i = 0; i < n_paths; i++)
	{
		an_path    *p = &in->paths[i];
		int32_t    *ids = in->ids + i * maxlen;
		int			len = 1 + (int) an_rng_below(r, (uint64_t) maxlen),
					e;

		for (e = 0; e < len; e++)
			ids[e] = chans[an_rng_below(r, (uint64_t) nch)];
		if (i < nch)
			ids[0] = chans[i];
		p->channels = ids;
		p->length = len;
		p->conversions = an_rng_uniform(r) < p_conv ? (double) (1 + an_rng_below(r, 5)) : 0;
		p->nulls = (double) an_rng_below(r, 10);
		p->value = p->conversions * (10 + 90 * an_rng_uniform(r));
	}
}

/* index of id in chans, -1 if absent */
static int
chan_index(const int32_t *chans, int nch, int32_t id)
{
	int			i;

	for (i = 0; i < nch; i++)
		if (chans[i] == id)
			return i;
	return -1;
}

/* next permutation in lexicographic order; 0 after the last */
static int
next_perm(int *x, int n)
{
	int			i = n - 2,
				j,
				t;

	while (i >= 0 && x[i] >= x[i + 1])
		i--;
	if (i < 0)
		return 0;
	j = n - 1;
	while (x[j] <= x[i])
		j--;
	t = x[i];
	x[i] = x[j];
	x[j] = t;
	for (i++, j = n - 1; i < j; i++, j--)
	{
		t = x[i];
		x[i] = x[j];
		x[j] = t;
	}
	return 1;
}

/* Shapley value by averaging marginal contributions over all n! orders */
static void
perm_shapley(const double *v, int n, double *phi)
{
	int			order[8];
	double		count = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		order[i] = i;
		phi[i] = 0;
	}
	do
	{
		unsigned	s = 0;

		for (i = 0; i < n; i++)
		{
			phi[order[i]] += v[s | (1u << order[i])] - v[s];
			s |= 1u << order[i];
		}
		count++;
	} while (next_perm(order, n));
	for (i = 0; i < n; i++)
		phi[i] /= count;
}

/*
 * For n = 2..8 present channels spread over n + 3 ids: standard against the
 * permutation Shapley value of the rate games with worths summed straight
 * from the paths; simplified against the permutation Shapley value of the
 * additive game v(S) = sum of conv(T) over T inside S; ordered summed over
 * positions against simplified.
 */
static void
test_against_permutations(void)
{
	an_rng		r;
	int			n;
	int			negatives = 0;

	an_rng_seed(&r, 20240601);
	for (n = 2; n <= 8; n++)
	{
		double		err_std = 0,
					err_std_v = 0,
					err_simp = 0,
					err_ord = 0;
		int			bad_rc = 0,
					bad_npos = 0,
					trial;

		for (trial = 0; trial < 6; trial++)
		{
			int			n_ids = n + 3;
			int32_t		chans[8];
			int32_t		perm_ids[11];
			tinput		in;
			double		vr[256],
						vv[256],
						va[256],
						vav[256],
						phi_r[8],
						phi_v[8],
						phi_a[8],
						phi_av[8];
			double		sc[11],
						sv[11],
						pc[11],
						pv[11];
			double	   *oc = NULL,
					   *ov = NULL;
			double		tc = 0,
						tj = 0,
						tv = 0;
			int			npos = 0,
						maxdist = 0,
						rc;
			unsigned	s;
			int64_t		i;
			int			c;
			char		err[ERRLEN];

			/* a random subset of n ids out of n + 3 */
			for (c = 0; c < n_ids; c++)
				perm_ids[c] = c;
			for (c = n_ids - 1; c > 0; c--)
			{
				int			j = (int) an_rng_below(&r, (uint64_t) c + 1);
				int32_t		t = perm_ids[c];

				perm_ids[c] = perm_ids[j];
				perm_ids[j] = t;
			}
			memcpy(chans, perm_ids, sizeof(int32_t) * n);
			tinput_random(&in, &r, n + (int64_t) an_rng_below(&r, 40), chans, n, 6,
						  trial == 0 ? 0.9 : 0.4);

			/* worths by brute force over the paths, per subset of chans */
			for (s = 0; s < (1u << n); s++)
			{
				double		cs = 0,
							js = 0,
							vs = 0;

				for (i = 0; i < in.n_paths; i++)
				{
					const an_path *p = &in.paths[i];
					int			e,
								inside = 1;

					for (e = 0; e < p->length; e++)
						if (!(s & (1u << chan_index(chans, n, p->channels[e]))))
							inside = 0;
					if (inside)
					{
						cs += p->conversions;
						js += p->conversions + p->nulls;
						vs += p->value;
					}
				}
				vr[s] = js > 0 ? cs / js : 0;
				vv[s] = js > 0 ? vs / js : 0;
				va[s] = cs;
				vav[s] = vs;
			}
			for (i = 0; i < in.n_paths; i++)
			{
				unsigned	m = 0;
				int			e,
							d = 0;

				tc += in.paths[i].conversions;
				tj += in.paths[i].conversions + in.paths[i].nulls;
				tv += in.paths[i].value;
				for (e = 0; e < in.paths[i].length; e++)
				{
					unsigned	bit = 1u << chan_index(chans, n, in.paths[i].channels[e]);

					if (!(m & bit))
						d++;
					m |= bit;
				}
				if (d > maxdist)
					maxdist = d;
			}
			perm_shapley(vr, n, phi_r);
			perm_shapley(vv, n, phi_v);
			perm_shapley(va, n, phi_a);
			perm_shapley(vav, n, phi_av);

			rc = sh_standard(in.paths, in.n_paths, n_ids, sc, sv, &an_std_allocator, err, sizeof(err));
			bad_rc += rc != AN_OK;
			rc = sh_simplified(in.paths, in.n_paths, n_ids, pc, pv, &an_std_allocator, err, sizeof(err));
			bad_rc += rc != AN_OK;
			rc = sh_ordered(in.paths, in.n_paths, n_ids, &oc, &ov, &npos, &an_std_allocator, err, sizeof(err));
			bad_rc += rc != AN_OK;
			bad_npos += npos != maxdist;

			for (c = 0; c < n_ids; c++)
			{
				int			k = chan_index(chans, n, c);
				double		want_c = 0,
							want_v = 0,
							want_a = 0,
							want_av = 0,
							osum_c = 0,
							osum_v = 0;
				int			p;

				if (k >= 0)
				{
					/* scale: total conversions / v(N) = total journeys */
					want_c = tc > 0 ? phi_r[k] * tj : 0;
					want_v = tv > 0 ? phi_v[k] * tj : 0;
					want_a = phi_a[k];
					want_av = phi_av[k];
				}
				negatives += sc[c] < -1e-9;
				err_std = fmax(err_std, fabs(sc[c] - want_c) / fmax(1, fabs(want_c)));
				err_std_v = fmax(err_std_v, fabs(sv[c] - want_v) / fmax(1, fabs(want_v)));
				err_simp = fmax(err_simp, fabs(pc[c] - want_a) / fmax(1, fabs(want_a)));
				err_simp = fmax(err_simp, fabs(pv[c] - want_av) / fmax(1, fabs(want_av)));
				if (oc != NULL)
				{
					for (p = 0; p < npos; p++)
					{
						osum_c += oc[c * npos + p];
						osum_v += ov[c * npos + p];
					}
					err_ord = fmax(err_ord, fabs(osum_c - pc[c]) / fmax(1, fabs(pc[c])));
					err_ord = fmax(err_ord, fabs(osum_v - pv[c]) / fmax(1, fabs(pv[c])));
				}
			}
			an_free(&an_std_allocator, oc);
			an_free(&an_std_allocator, ov);
			tinput_free(&in);
		}
		CHECK(bad_rc == 0 && bad_npos == 0,
			  "n = %d: all methods run, ordered has as many positions as the most distinct channels", n);
		CHECK(err_std <= 1e-10, "n = %d: standard conversions match all n! orders (max rel err %.2e)",
			  n, err_std);
		CHECK(err_std_v <= 1e-10, "n = %d: standard value matches all n! orders (max rel err %.2e)",
			  n, err_std_v);
		CHECK(err_simp <= 1e-10, "n = %d: simplified is the Shapley value of the additive game (max rel err %.2e)",
			  n, err_simp);
		CHECK(err_ord <= 1e-12, "n = %d: ordered summed over positions is simplified (max rel err %.2e)",
			  n, err_ord);
	}
	NOTE("%d negative standard credits among the random cases", negatives);
}

/* ---------------------------------------------------------------------- */

/*
 * The standard Shapley value straight from the definition, for any n up
 * to about 22: worths by looping over the paths for every coalition, then
 * phi_j = sum over S without j of |S|! (n - |S| - 1)! / n! (v(S + j) - v(S))
 * with the weights from lgamma.  Outputs are scaled like sh_standard's and
 * indexed by channel id (n_ids of them); chans lists the n present ids.
 */
static void
brute_standard(const tinput *in, const int32_t *chans, int n, int n_ids,
			   double *conv, double *val)
{
	size_t		size = (size_t) 1 << n;
	double	   *vr = malloc(sizeof(double) * size);
	double	   *vv = malloc(sizeof(double) * size);
	unsigned   *masks = malloc(sizeof(unsigned) * (size_t) in->n_paths);
	double		w[32];
	double		tc = 0,
				tj = 0,
				tv = 0;
	unsigned	s;
	int64_t		i;
	int			j;

	for (i = 0; i < in->n_paths; i++)
	{
		int			e;

		masks[i] = 0;
		for (e = 0; e < in->paths[i].length; e++)
			masks[i] |= 1u << chan_index(chans, n, in->paths[i].channels[e]);
		tc += in->paths[i].conversions;
		tj += in->paths[i].conversions + in->paths[i].nulls;
		tv += in->paths[i].value;
	}
	for (s = 0; s < size; s++)
	{
		double		cs = 0,
					js = 0,
					vs = 0;

		for (i = 0; i < in->n_paths; i++)
			if ((masks[i] & ~s) == 0)
			{
				cs += in->paths[i].conversions;
				js += in->paths[i].conversions + in->paths[i].nulls;
				vs += in->paths[i].value;
			}
		vr[s] = js > 0 ? cs / js : 0;
		vv[s] = js > 0 ? vs / js : 0;
	}
	for (j = 0; j < n; j++)
		w[j] = exp(lgamma(j + 1.0) + lgamma((double) (n - j)) - lgamma(n + 1.0));
	for (j = 0; j < n_ids; j++)
		conv[j] = val[j] = 0;
	for (j = 0; j < n; j++)
	{
		unsigned	bit = 1u << j;
		double		pr = 0,
					pv = 0;

		for (s = 0; s < size; s++)
			if (!(s & bit))
			{
				int			k = __builtin_popcount(s);

				pr += w[k] * (vr[s | bit] - vr[s]);
				pv += w[k] * (vv[s | bit] - vv[s]);
			}
		conv[chans[j]] = tc > 0 ? pr * tj : 0;
		val[chans[j]] = tv > 0 ? pv * tj : 0;
	}
	free(vr);
	free(vv);
	free(masks);
}

/*
 * Random inputs with n present channels among n + 2 ids against
 * brute_standard; returns the largest relative error.
 */
static double
random_vs_brute(an_rng *r, int n, int64_t n_paths, int *bad_rc)
{
	int32_t		chans[32];
	double		c[34],
				v[34],
				bc[34],
				bv[34];
	double		maxerr = 0;
	tinput		in;
	char		err[ERRLEN];
	int			k;

	/* ids 0..n+1 without 1 and n: absent ids at both ends of the range */
	for (k = 0; k < n; k++)
		chans[k] = k == 0 ? 0 : k + 1;
	chans[n - 1] = n + 1;
	tinput_random(&in, r, n_paths, chans, n, 6, 0.4);
	if (sh_standard(in.paths, in.n_paths, n + 2, c, v, &an_std_allocator, err, ERRLEN) != AN_OK)
		(*bad_rc)++;
	brute_standard(&in, chans, n, n + 2, bc, bv);
	for (k = 0; k < n + 2; k++)
	{
		maxerr = fmax(maxerr, fabs(c[k] - bc[k]) / fmax(1, fabs(bc[k])));
		maxerr = fmax(maxerr, fabs(v[k] - bv[k]) / fmax(1, fabs(bv[k])));
	}
	tinput_free(&in);
	return maxerr;
}

/*
 * a channels of type X (one path each: 1 conversion, value 10) and b of type
 * Y (one path each: 1 null), interleaved in id and appearance order, so
 * both types sit on low and high bits.  v(S) = x / (x + y) for x X's and y
 * Y's in S, so by symmetry the Shapley value only depends on the type, and
 * summing the marginal contributions over the counts (x, y) of the others
 * in S, with C(a', x) C(b', y) coalitions each, gives it without any
 * enumeration of coalitions.  Scaled by total journeys (n): X gets
 * n phi_X, Y gets n phi_Y (negative: a Y only ever dilutes the rate).
 */
static void
symmetric_game(int a, int b, double *phi_x, double *phi_y)
{
	int			n = a + b,
				x,
				y;

	*phi_x = *phi_y = 0;
	for (x = 0; x <= a; x++)
		for (y = 0; y <= b; y++)
		{
			double		s = x + y;
			double		w = exp(lgamma(s + 1) + lgamma(n - s) - lgamma(n + 1.0));
			double		vs = s > 0 ? x / s : 0;

			if (x < a)			/* coalitions of the others of a given X */
				*phi_x += w * exp(lgamma(a) - lgamma(x + 1.0) - lgamma(a - x) +
								  lgamma(b + 1.0) - lgamma(y + 1.0) - lgamma(b - y + 1.0)) *
					((x + 1) / (s + 1) - vs);
			if (y < b)			/* of a given Y */
				*phi_y += w * exp(lgamma(a + 1.0) - lgamma(x + 1.0) - lgamma(a - x + 1.0) +
								  lgamma(b) - lgamma(y + 1.0) - lgamma(b - y)) *
					(x / (s + 1) - vs);
		}
}

static void
check_symmetric(int a, int b)
{
	int			n = a + b,
				k,
				rc;
	an_path    *paths = malloc(sizeof(an_path) * (size_t) n);
	int32_t    *ids = malloc(sizeof(int32_t) * (size_t) n);
	double	   *c = malloc(sizeof(double) * (size_t) n);
	double	   *v = malloc(sizeof(double) * (size_t) n);
	double		phi_x,
				phi_y,
				maxerr = 0;
	char		err[ERRLEN];

	symmetric_game(a, b, &phi_x, &phi_y);
	CHECK(fabs(a * phi_x + b * phi_y - (double) a / n) <= 1e-12,
		  "symmetric game %d X + %d Y: the formula is efficient (phi_X %.6g, phi_Y %.6g)",
		  a, b, phi_x, phi_y);
	/* X at even ids while there are X's left */
	for (k = 0; k < n; k++)
	{
		int			is_x = (k % 2 == 0 && k / 2 < a) || k - (k + 1) / 2 >= b;

		ids[k] = k;
		paths[k] = (an_path) {&ids[k], 1, is_x ? 1 : 0, is_x ? 0 : 1, is_x ? 10 : 0};
	}
	rc = sh_standard(paths, n, n, c, v, &an_std_allocator, err, ERRLEN);
	for (k = 0; k < n; k++)
	{
		double		want = n * (paths[k].conversions > 0 ? phi_x : phi_y);

		maxerr = fmax(maxerr, fabs(c[k] - want) / fmax(1, fabs(want)));
		maxerr = fmax(maxerr, fabs(v[k] - 10 * want) / fmax(1, fabs(10 * want)));
	}
	CHECK(rc == AN_OK && maxerr <= 1e-10,
		  "symmetric game %d X + %d Y: every channel gets its type's value (max rel err %.2e)",
		  a, b, maxerr);
	free(paths);
	free(ids);
	free(c);
	free(v);
}

/*
 * Beyond the permutation range: n = 14 spans 4 chunks of 4096 coalitions,
 * n = 21 two blocks of 2^20; heavier sizes only under SHAPLEY_BENCH.
 */
static void
test_large_n(void)
{
	an_rng		r;
	int			bad_rc = 0,
				trial;
	double		e = 0;

	an_rng_seed(&r, 1414);
	for (trial = 0; trial < 3; trial++)
		e = fmax(e, random_vs_brute(&r, 14, 40, &bad_rc));
	CHECK(bad_rc == 0 && e <= 1e-10,
		  "n = 14 (4 chunks): standard matches the definition by brute force (max rel err %.2e)", e);
	check_symmetric(7, 7);
	check_symmetric(9, 12);
	if (getenv("SHAPLEY_BENCH"))
	{
		e = random_vs_brute(&r, 21, 40, &bad_rc);
		e = fmax(e, random_vs_brute(&r, 22, 60, &bad_rc));
		CHECK(bad_rc == 0 && e <= 1e-10,
			  "n = 21, 22 (2, 4 blocks): standard matches the definition by brute force (max rel err %.2e)", e);
		check_symmetric(12, 12);
		check_symmetric(5, 19);
	}
}

/* ---------------------------------------------------------------------- */

/* sum of standard outputs vs the totals, relative errors */
static void
efficiency_errors(const tinput *in, const double *c, const double *v, int n_channels,
				  double *err_c, double *err_v)
{
	double		tc = 0,
				tv = 0,
				sc = 0,
				sv = 0;
	int64_t		i;
	int			k;

	for (i = 0; i < in->n_paths; i++)
	{
		tc += in->paths[i].conversions;
		tv += in->paths[i].value;
	}
	for (k = 0; k < n_channels; k++)
	{
		sc += c[k];
		sv += v[k];
	}
	*err_c = fabs(sc - tc) / tc;
	*err_v = fabs(sv - tv) / tv;
}

static void
test_efficiency(void)
{
	an_rng		r;
	int32_t		chans[16];
	double		c[40],
				v[40],
				c2[40],
				v2[40];
	double		ec,
				ev,
				maxdiff = 0;
	tinput		in;
	char		err[ERRLEN];
	int			rc,
				k,
				absent_nonzero = 0;
	int64_t		i;

	an_rng_seed(&r, 7);
	/* 12 channels among ids 0..39, every third id */
	for (k = 0; k < 12; k++)
		chans[k] = 3 * k + 1;
	tinput_random(&in, &r, 3000, chans, 12, 7, 0.3);
	rc = sh_standard(in.paths, in.n_paths, 40, c, v, &an_std_allocator, err, sizeof(err));
	efficiency_errors(&in, c, v, 40, &ec, &ev);
	CHECK(rc == AN_OK && ec <= 1e-9 && ev <= 1e-9,
		  "12 channels of 40 ids: credits sum to the totals (rel err %.2e, %.2e)", ec, ev);
	for (k = 0; k < 40; k++)
		if (k % 3 != 1 && (c[k] != 0 || v[k] != 0))
			absent_nonzero++;
	CHECK(absent_nonzero == 0, "ids that never appear get 0 (%d do not)", absent_nonzero);

	/*
	 * The same paths in reverse order: channels get other bits, the result
	 * must not change.
	 */
	{
		an_path    *rev = malloc(sizeof(an_path) * (size_t) in.n_paths);

		for (i = 0; i < in.n_paths; i++)
			rev[i] = in.paths[in.n_paths - 1 - i];
		rc = sh_standard(rev, in.n_paths, 40, c2, v2, &an_std_allocator, err, sizeof(err));
		for (k = 0; k < 40; k++)
		{
			maxdiff = fmax(maxdiff, fabs(c2[k] - c[k]) / fmax(1, fabs(c[k])));
			maxdiff = fmax(maxdiff, fabs(v2[k] - v[k]) / fmax(1, fabs(v[k])));
		}
		CHECK(rc == AN_OK && maxdiff <= 1e-11,
			  "standard does not depend on the order of the paths (max rel diff %.2e)", maxdiff);
		free(rev);
	}

	/* no conversions at all: all zeros, also the value */
	for (i = 0; i < in.n_paths; i++)
	{
		in.paths[i].conversions = 0;
		in.paths[i].value = 0;
	}
	rc = sh_standard(in.paths, in.n_paths, 40, c, v, &an_std_allocator, err, sizeof(err));
	for (k = 0, absent_nonzero = 0; k < 40; k++)
		absent_nonzero += c[k] != 0 || v[k] != 0;
	CHECK(rc == AN_OK && absent_nonzero == 0, "no conversions: standard is all zeros");
	rc = sh_simplified(in.paths, in.n_paths, 40, c, v, &an_std_allocator, err, sizeof(err));
	for (k = 0, absent_nonzero = 0; k < 40; k++)
		absent_nonzero += c[k] != 0 || v[k] != 0;
	CHECK(rc == AN_OK && absent_nonzero == 0, "no conversions: simplified is all zeros");
	tinput_free(&in);

	/* no paths at all */
	rc = sh_standard(NULL, 0, 5, c, v, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK && c[0] == 0 && c[4] == 0, "no paths: standard is all zeros");
	{
		double	   *oc = NULL,
				   *ov = NULL;
		int			npos = -1;

		rc = sh_ordered(NULL, 0, 5, &oc, &ov, &npos, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_OK && npos == 0 && oc != NULL && ov != NULL,
			  "no paths: ordered has 0 positions and freeable arrays");
		an_free(&an_std_allocator, oc);
		an_free(&an_std_allocator, ov);
	}
}

/*
 * Many paths over many channels: simplified and ordered keep the totals
 * and agree with each other.
 */
static void
test_simplified_large(void)
{
	an_rng		r;
	int32_t    *chans;
	double	   *c,
			   *v,
			   *oc = NULL,
			   *ov = NULL;
	tinput		in;
	char		err[ERRLEN];
	double		tc = 0,
				tv = 0,
				sc = 0,
				sv = 0,
				maxdiff = 0;
	int			nch = 5000,
				npos = 0,
				rc,
				k,
				p;
	int64_t		i;

	chans = malloc(sizeof(int32_t) * nch);
	c = malloc(sizeof(double) * nch);
	v = malloc(sizeof(double) * nch);
	for (k = 0; k < nch; k++)
		chans[k] = k;
	an_rng_seed(&r, 99);
	tinput_random(&in, &r, 200000, chans, nch, 12, 0.3);
	for (i = 0; i < in.n_paths; i++)
	{
		tc += in.paths[i].conversions;
		tv += in.paths[i].value;
	}
	rc = sh_simplified(in.paths, in.n_paths, nch, c, v, &an_std_allocator, err, sizeof(err));
	for (k = 0; k < nch; k++)
	{
		sc += c[k];
		sv += v[k];
	}
	CHECK(rc == AN_OK && fabs(sc - tc) <= 1e-12 * tc && fabs(sv - tv) <= 1e-12 * tv,
		  "simplified over 200000 paths, 5000 channels keeps the totals (%.17g of %.17g)", sc, tc);
	rc = sh_ordered(in.paths, in.n_paths, nch, &oc, &ov, &npos, &an_std_allocator, err, sizeof(err));
	if (rc == AN_OK)
		for (k = 0; k < nch; k++)
		{
			double		a = 0,
						b = 0;

			for (p = 0; p < npos; p++)
			{
				a += oc[k * npos + p];
				b += ov[k * npos + p];
			}
			maxdiff = fmax(maxdiff, fabs(a - c[k]) / fmax(1, c[k]));
			maxdiff = fmax(maxdiff, fabs(b - v[k]) / fmax(1, v[k]));
		}
	CHECK(rc == AN_OK && npos >= 1 && npos <= 12 && maxdiff <= 1e-12,
		  "ordered over the same paths sums to simplified (%d positions, max rel diff %.2e)",
		  npos, maxdiff);
	an_free(&an_std_allocator, oc);
	an_free(&an_std_allocator, ov);
	tinput_free(&in);
	free(chans);
	free(c);
	free(v);
}

/* ---------------------------------------------------------------------- */

static void
test_cap(void)
{
	an_rng		r;
	int32_t		chans[25];
	double		c[30],
				v[30];
	double		ec,
				ev,
				t0;
	tinput		in;
	char		err[ERRLEN];
	int			rc,
				k;

	for (k = 0; k < 25; k++)
		chans[k] = k + 5;
	an_rng_seed(&r, 16);
	tinput_random(&in, &r, 2000, chans, 16, 5, 0.3);
	t0 = now_sec();
	rc = sh_standard(in.paths, in.n_paths, 30, c, v, &an_std_allocator, err, sizeof(err));
	NOTE("16 channels, 2000 paths: %.3f s", now_sec() - t0);
	efficiency_errors(&in, c, v, 30, &ec, &ev);
	CHECK(rc == AN_OK && ec <= 1e-9 && ev <= 1e-9,
		  "16 channels present: runs, credits sum to the totals (rel err %.2e, %.2e)", ec, ev);
	tinput_free(&in);

	tinput_random(&in, &r, 100, chans, 25, 5, 0.3);
	c[0] = 123;
	rc = sh_standard(in.paths, in.n_paths, 30, c, v, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && strstr(err, "24") && strstr(err, "25") && good_message(err),
		  "25 channels present: AN_ELIMIT saying 24 and 25 (%s)", err);
	CHECK(c[0] == 0, "outputs are zeroed on AN_ELIMIT");

	/* a bad path after the 25th channel: invalid input wins over the limit */
	in.paths[in.n_paths - 1].nulls = -1;
	rc = sh_standard(in.paths, in.n_paths, 30, c, v, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "an invalid path is reported before the channel limit (%s)", err);
	tinput_free(&in);

	/* 25 ids allowed but only 24 used works (simplified has no cap at all) */
	tinput_random(&in, &r, 200, chans, 24, 5, 0.5);
	if (getenv("SHAPLEY_BENCH"))
	{
		rc = sh_standard(in.paths, in.n_paths, 30, c, v, &an_std_allocator, err, sizeof(err));
		efficiency_errors(&in, c, v, 30, &ec, &ev);
		CHECK(rc == AN_OK && ec <= 1e-9 && ev <= 1e-9,
			  "24 channels present: runs, credits sum to the totals (rel err %.2e, %.2e)", ec, ev);
	}
	tinput_free(&in);
	tinput_random(&in, &r, 200, chans, 25, 5, 0.5);
	rc = sh_simplified(in.paths, in.n_paths, 30, c, v, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK, "simplified has no channel cap");
	tinput_free(&in);
}

/* ---------------------------------------------------------------------- */

/* run all three methods on the paths; count how many return code */
static int
all_methods_return(const an_path *paths, int64_t n_paths, int n_channels, int code,
				   char *err, const char *must_contain)
{
	double		c[8],
				v[8];
	double	   *oc = (double *) 1,
			   *ov = (double *) 1;
	int			npos = 7,
				hits = 0;

	err[0] = '\0';
	hits += sh_simplified(paths, n_paths, n_channels, c, v, &an_std_allocator, err, ERRLEN) == code &&
		(code == AN_OK || good_message(err)) && strstr(err, must_contain) != NULL;
	err[0] = '\0';
	hits += sh_standard(paths, n_paths, n_channels, c, v, &an_std_allocator, err, ERRLEN) == code &&
		(code == AN_OK || good_message(err)) && strstr(err, must_contain) != NULL;
	err[0] = '\0';
	if (sh_ordered(paths, n_paths, n_channels, &oc, &ov, &npos, &an_std_allocator, err, ERRLEN) == code &&
		(code == AN_OK || good_message(err)) && strstr(err, must_contain) != NULL)
	{
		/* the arrays on success, NULL and 0 positions on error */
		if (code == AN_OK ? (oc != NULL && ov != NULL) : (oc == NULL && ov == NULL && npos == 0))
			hits++;
	}
	if (code == AN_OK)
	{
		an_free(&an_std_allocator, oc);
		an_free(&an_std_allocator, ov);
	}
	return hits;
}

static void
test_errors(void)
{
	static const int32_t ok[] = {0, 1};
	static const int32_t high[] = {0, 3};
	static const int32_t neg[] = {-1};
	an_path		p[2];
	char		err[ERRLEN];
	double		c[3],
				v[3];

	p[0] = (an_path) {ok, 2, 1, 1, 1};
	p[1] = (an_path) {high, 2, 1, 1, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "3") == 3,
		  "channel id 3 of 3 channels: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {neg, 1, 1, 1, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "-1") == 3,
		  "channel id -1: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {ok, 2, -1, 1, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "conversions") == 3,
		  "negative conversions: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {ok, 2, 1, NAN, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "nulls") == 3,
		  "NaN nulls: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {ok, 2, 1, 1, INFINITY};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "value") == 3,
		  "infinite value: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {ok, 0, 1, 1, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "length") == 3,
		  "length 0: AN_EINVAL from all three (%s)", err);
	p[1] = (an_path) {NULL, 2, 1, 1, 1};
	CHECK(all_methods_return(p, 2, 3, AN_EINVAL, err, "path 1") == 3,
		  "no channel array: AN_EINVAL from all three naming path 1 (%s)", err);
	p[1] = (an_path) {ok, 2, 1, 1, 1};
	CHECK(all_methods_return(p, 2, 0, AN_EINVAL, err, "n_channels") == 3,
		  "n_channels 0: AN_EINVAL from all three (%s)", err);
	CHECK(all_methods_return(p, -1, 3, AN_EINVAL, err, "n_paths") == 3,
		  "n_paths -1: AN_EINVAL from all three (%s)", err);
	CHECK(all_methods_return(NULL, 2, 3, AN_EINVAL, err, "NULL") == 3,
		  "paths NULL: AN_EINVAL from all three (%s)", err);
	CHECK(all_methods_return(p, 2, 3, AN_OK, err, "") == 3 && err[0] == '\0',
		  "the valid input passes all three and leaves err empty");

	/* a failing simplified leaves zeros, not half-done sums */
	p[1] = (an_path) {high, 2, 1, 1, 1};
	c[0] = c[1] = v[0] = 5;
	sh_simplified(p, 2, 3, c, v, &an_std_allocator, err, ERRLEN);
	CHECK(c[0] == 0 && c[1] == 0 && v[0] == 0, "simplified outputs are zero after an error");
	CHECK(sh_simplified(p, 2, 3, NULL, v, &an_std_allocator, err, ERRLEN) == AN_EINVAL &&
		  sh_standard(p, 2, 3, c, NULL, &an_std_allocator, err, ERRLEN) == AN_EINVAL &&
		  sh_ordered(p, 2, 3, NULL, NULL, NULL, &an_std_allocator, err, ERRLEN) == AN_EINVAL,
		  "NULL output pointers are AN_EINVAL");
	/* a tiny buffer is never overrun (valgrind would see it), NULL err works */
	CHECK(sh_simplified(p, 2, 3, c, v, &an_std_allocator, err, 4) == AN_EINVAL && strlen(err) == 3 &&
		  sh_standard(p, 2, 3, c, v, &an_std_allocator, NULL, 0) == AN_EINVAL,
		  "the message is truncated to the buffer, and err may be NULL");
}

/* ---------------------------------------------------------------------- */

typedef enum
{
	M_SIMPLIFIED,
	M_ORDERED,
	M_STANDARD
} method;

static const char *const method_names[] = {"simplified", "ordered", "standard"};

/* run one method with allocator a; ordered's arrays are freed on success */
static int
run_method(method m, const tinput *in, int n_channels, double *c, double *v,
		   const an_allocator *a, char *err)
{
	double	   *oc = NULL,
			   *ov = NULL;
	int			npos,
				rc;

	switch (m)
	{
		case M_SIMPLIFIED:
			return sh_simplified(in->paths, in->n_paths, n_channels, c, v, a, err, ERRLEN);
		case M_ORDERED:
			rc = sh_ordered(in->paths, in->n_paths, n_channels, &oc, &ov, &npos, a, err, ERRLEN);
			if (rc != AN_OK && (oc != NULL || ov != NULL))
				return -1;
			an_free(a, oc);
			an_free(a, ov);
			return rc;
		case M_STANDARD:
			return sh_standard(in->paths, in->n_paths, n_channels, c, v, a, err, ERRLEN);
	}
	return -1;
}

/*
 * Fail allocation 0, 1, 2, ... in turn until the call succeeds: every
 * failure must be AN_ENOMEM with nothing left allocated.
 */
static void
test_out_of_memory(void)
{
	an_rng		r;
	int32_t		chans[14];
	double		c[14],
				v[14];
	tinput		in;
	char		err[ERRLEN];
	int			k;
	method		m;

	for (k = 0; k < 14; k++)
		chans[k] = k;
	an_rng_seed(&r, 5);
	tinput_random(&in, &r, 300, chans, 14, 5, 0.4);
	for (m = M_SIMPLIFIED; m <= M_STANDARD; m++)
	{
		an_allocator a;
		tctx		t;
		long		fail;
		int			failures = 0,
					wrong = 0,
					rc = -1;

		for (fail = 0; fail < 100 && rc != AN_OK; fail++)
		{
			t_init(&t, &a);
			t.fail_at = fail;
			rc = run_method(m, &in, 14, c, v, &a, err);
			if (rc != AN_OK)
			{
				failures++;
				if (rc != AN_ENOMEM || t.live != 0 || strcmp(err, "out of memory") != 0)
					wrong++;
			}
			else if (t.live != 0)
				wrong++;
			t_reset(&t);
		}
		CHECK(rc == AN_OK && failures >= 2 && wrong == 0,
			  "%s: each of its %d allocations can fail with AN_ENOMEM and no leak",
			  method_names[m], failures);
	}
	tinput_free(&in);
}

/*
 * Interrupts are checked per path and per few thousand coalitions, and an
 * interrupt that does not return (longjmp, as ereport does) leaves only
 * allocator memory, which a context reset reclaims.
 */
static void
test_interrupts(void)
{
	an_rng		r;
	int32_t		chans[16];
	double		c[16],
				v[16];
	tinput		in;
	char		err[ERRLEN];
	int			k;
	method		m;

	for (k = 0; k < 16; k++)
		chans[k] = k;
	an_rng_seed(&r, 6);
	tinput_random(&in, &r, 1000, chans, 16, 5, 0.4);
	for (m = M_SIMPLIFIED; m <= M_STANDARD; m++)
	{
		an_allocator a;
		tctx		t;
		jmp_buf		jb;
		long		calls;
		volatile int jumped = 0;
		int			rc,
					freed;

		t_init(&t, &a);
		rc = run_method(m, &in, 16, c, v, &a, err);
		calls = t.checks;
		/* standard: 1000 paths, 2^16 / 4096 = 16 chunks and 16 zeta bases */
		CHECK(rc == AN_OK && calls >= (m == M_ORDERED ? 2000 : 1000) +
			  (m == M_STANDARD ? 32 : 0),
			  "%s checks interrupts per path (and per 4096 coalitions): %ld checks",
			  method_names[m], calls);

		t_init(&t, &a);
		t.jb = &jb;
		t.jump_at = calls - 3;
		if (setjmp(jb) == 0)
			run_method(m, &in, 16, c, v, &a, err);
		else
			jumped = 1;
		freed = t_reset(&t);
		CHECK(jumped && freed >= 1 && t.live == 0,
			  "%s: an interrupt that jumps out leaves %d allocator blocks, all reclaimed",
			  method_names[m], freed);
	}
	tinput_free(&in);
}

/* ---------------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* SHAPLEY_BENCH=1: median of 3 runs of sh_standard for 16, 20, 24 channels */
static void
bench(void)
{
	static const int ns[] = {16, 20, 24};
	an_rng		r;
	int32_t		chans[24];
	double		c[24],
				v[24];
	char		err[ERRLEN];
	int			ni,
				k;

	for (k = 0; k < 24; k++)
		chans[k] = k;
	an_rng_seed(&r, 2024);
	for (ni = 0; ni < 3; ni++)
	{
		int			n = ns[ni];
		tinput		in;
		double		times[3],
					ec,
					ev;
		an_allocator a;
		tctx		t;
		int			run,
					rc = AN_OK;

		tinput_random(&in, &r, 100000, chans, n, 8, 0.3);
		t_init(&t, &a);
		a.check_interrupts = NULL;
		for (run = 0; run < 3; run++)
		{
			double		t0 = now_sec();

			rc |= sh_standard(in.paths, in.n_paths, n, c, v, &a, err, ERRLEN);
			times[run] = now_sec() - t0;
		}
		qsort(times, 3, sizeof(double), cmp_double);
		efficiency_errors(&in, c, v, n, &ec, &ev);
		NOTE("standard, %d channels, 100000 paths: median %.3f s (min %.3f, max %.3f), peak %.1f MB",
			 n, times[1], times[0], times[2], t.peak / 1048576.0);
		CHECK(rc == AN_OK && ec <= 1e-9 && ev <= 1e-9,
			  "bench %d channels: credits sum to the totals (rel err %.2e, %.2e)", n, ec, ev);
		tinput_free(&in);
	}

	/* simplified at scale */
	{
		int			nch = 2000;
		int32_t    *ids = malloc(sizeof(int32_t) * nch);
		double	   *sc = malloc(sizeof(double) * nch),
				   *sv = malloc(sizeof(double) * nch);
		tinput		in;
		double		t0;
		int			rc;

		for (k = 0; k < nch; k++)
			ids[k] = k;
		tinput_random(&in, &r, 2000000, ids, nch, 10, 0.3);
		t0 = now_sec();
		rc = sh_simplified(in.paths, in.n_paths, nch, sc, sv, &an_std_allocator, err, ERRLEN);
		NOTE("simplified, 2000000 paths, 2000 channels: %.3f s (rc %d)", now_sec() - t0, rc);
		tinput_free(&in);
		free(ids);
		free(sc);
		free(sv);
	}
}

int
main(void)
{
	test_simplified_ordered_example();
	test_standard_two();
	test_standard_three();
	test_against_permutations();
	test_large_n();
	test_efficiency();
	test_simplified_large();
	test_cap();
	test_errors();
	test_out_of_memory();
	test_interrupts();
	if (getenv("SHAPLEY_BENCH"))
		bench();
	return unit_done();
}
