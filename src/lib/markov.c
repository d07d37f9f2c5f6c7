/*
 * markov.c
 *		Exact removal-effect attribution on the absorbing Markov chain of
 *		marketing paths (the model is documented in markov.h).
 *
 * Construction.  Windows (the transient states) are interned in a hash
 * table keyed by their channel sequence, numbered in order of first
 * appearance; transient-to-transient weights accumulate in a hash table
 * keyed by (from, to), start and absorbing weights in per-state arrays.
 * The table is then turned into CSR rows sorted by target.
 *
 * Solving.  Only "live" states (those that can reach conversion) matter:
 * the others have absorption probability exactly 0 and can never lead back
 * to a live state.  Self-loops are removed by renormalising each row over
 * its other transitions, which leaves every absorption probability (and so
 * every removal result) unchanged and gives I - Q a unit diagonal.  With x
 * the conversion probabilities, y the expected values, h = u^T G the
 * expected visits from start (G = (I - Q)^-1) and S the live states whose
 * window contains channel c, the first-passage decomposition gives
 *		P_c = P - h_S (G_SS)^-1 x_S,	V_c = V - h_S (G_SS)^-1 y_S
 * (h_S (G_SS)^-1 is the distribution of the first entry into S).
 *
 *	- dense: G by Gauss-Jordan inversion with partial pivoting, then one
 *	  small LU solve per channel (a scalar division at order 1);
 *	- iterative: per channel, Gauss-Seidel on the CSR rows with the states
 *	  of S fixed at 0, warm-started from the unmodified solution, until the
 *	  largest update of a sweep is below MK_GS_TOL times the largest
 *	  right-hand side; since every row of Q sums to at most 1, that bounds
 *	  the residual of the final iterate by the same amount.
 *
 * The dense solver is used when the live states number at most
 * MK_DENSE_LIMIT and it is estimated cheaper than the iterative one (always
 * below MK_DENSE_ALWAYS states).  A pivot below MK_PIVOT_EPS makes the dense
 * solver hand over to the iterative one; an iterative solve that does not
 * converge hands over to the dense one when the size allows, else fails
 * with AN_ELIMIT.  Nothing is ever sampled, so results are deterministic.
 */
#include "markov.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK_DENSE_LIMIT		2000	/* most live states for the dense solver */
#define MK_DENSE_ALWAYS		300		/* dense below this, whatever the cost */
#define MK_GS_MAX_SWEEPS	20000
#define MK_GS_TOL			1e-13
#define MK_GS_SWEEP_GUESS	50.0	/* sweeps assumed by the cost estimate */
#define MK_PIVOT_EPS		1e-13
#define MK_FALLBACK			(-1)	/* internal: try the other solver */

/* solver selection of mk_attribute_solver (the unit tests force one) */
#define MK_SOLVER_AUTO		0
#define MK_SOLVER_DENSE		1
#define MK_SOLVER_ITERATIVE	2

/*
 * Not in markov.h: mk_attribute with a forced solver, so that the unit tests
 * can compare the dense and the iterative paths on the same input.
 */
extern int	mk_attribute_solver(const an_path *paths, int64_t n_paths,
								int n_channels, const mk_options *opt,
								int solver, const an_allocator *a,
								mk_result *out, char *err, size_t errlen);

/* an interning table of int32 sequences; ids in order of first insertion */
typedef struct mk_seqtab
{
	int32_t    *pool;			/* the sequences, concatenated */
	size_t		pool_len;
	size_t		pool_cap;
	size_t	   *off;			/* per id: start in pool */
	int32_t    *len;			/* per id: length */
	uint64_t   *hash;			/* per id: hash of the sequence */
	int32_t		n;				/* ids used */
	int32_t		cap;			/* ids allocated */
	int32_t    *slots;			/* open addressing: id or -1 */
	size_t		nslots;			/* a power of two, at least 2 * n */
} mk_seqtab;

/* (from, to) -> weight for transient-to-transient transitions */
typedef struct mk_edgetab
{
	uint64_t   *keys;			/* from << 32 | to, MK_EMPTY_KEY when free */
	double	   *w;
	size_t		n;
	size_t		nslots;
} mk_edgetab;

#define MK_EMPTY_KEY	UINT64_MAX

typedef struct mk_edge
{
	int32_t		to;
	double		w;
} mk_edge;

/* a chain under construction, then in CSR form */
typedef struct mk_chainbuf
{
	mk_seqtab	win;			/* the states */
	int32_t    *by_channel;		/* state of the window of length 1, or -1 */
	int32_t		cap;			/* allocated length of the per-state arrays */
	double	   *start_w;
	double	   *conv_w;
	double	   *null_w;
	double	   *val_w;			/* value of the paths ending in the state */
	mk_edgetab	edges;
	int64_t    *rp;				/* CSR (after chain_finish): n + 1 */
	mk_edge    *ed;
	double		total_w;
	double		total_conv;
	double		total_nulls;
	double		total_value;
} mk_chainbuf;

/* the linear system over the live states (see the file header) */
typedef struct mk_system
{
	int32_t		n;
	int64_t    *rp;				/* CSR of Q without self-loops */
	int32_t    *ci;
	double	   *q;
	double	   *b;				/* p(i -> conversion) */
	double	   *vb;				/* p(i -> conversion) * mean value at i */
	double	   *u;				/* start distribution */
	uint8_t    *vlive;			/* can reach a conversion with value */
	int64_t    *cp;				/* per channel: its live states in cs */
	int32_t    *cs;
} mk_system;

/* ---------------------------------------------------------------- helpers */

/* allocate n elements of size sz, NULL on overflow or out of memory */
static void *
alloc_array(const an_allocator *a, size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	return an_alloc(a, n * sz);
}

/* as alloc_array, zero-filled */
static void *
alloc_zero(const an_allocator *a, size_t n, size_t sz)
{
	void	   *p = alloc_array(a, n, sz);

	if (p)
		memset(p, 0, n * sz);
	return p;
}

/*
 * Reallocate an array from oldn to newn elements of size sz; the new tail
 * is zeroed.  Returns the new block, or NULL (old block untouched).
 */
static void *
grow_array(const an_allocator *a, void *old, size_t sz, size_t oldn, size_t newn)
{
	char	   *p = alloc_array(a, newn, sz);

	if (p == NULL)
		return NULL;
	if (old)
	{
		memcpy(p, old, oldn * sz);
		an_free(a, old);
	}
	memset(p + oldn * sz, 0, (newn - oldn) * sz);
	return p;
}

/* splitmix64 finaliser: a cheap, well-mixed 64-bit hash */
static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* hash of a channel sequence (depends on the length too) */
static uint64_t
seq_hash(const int32_t *s, int32_t len)
{
	uint64_t	h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t) len;
	int32_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint32_t) s[i]) * UINT64_C(0x100000001b3) + UINT64_C(0x9e3779b97f4a7c15);
	return mix64(h);
}

/* copy p's channels into seq, collapsing repeats if asked; returns the length */
static int32_t
path_sequence(const an_path *p, bool collapse, int32_t *seq)
{
	int32_t		n = 0,
				i;

	for (i = 0; i < p->length; i++)
		if (!collapse || n == 0 || seq[n - 1] != p->channels[i])
			seq[n++] = p->channels[i];
	return n;
}

/* ------------------------------------------------------- validation */

/* check the options; fills a default set when opt is NULL */
static int
check_options(const mk_options *opt, mk_options *copy, char *err, size_t errlen)
{
	if (opt == NULL)
		mk_default_options(copy);
	else
		*copy = *opt;
	if (copy->order < 1 || copy->order > MK_MAX_ORDER)
		return an_set_error(err, errlen, AN_EINVAL, "order must be between 1 and %d",
					   MK_MAX_ORDER);
	if (copy->max_states < 1)
		return an_set_error(err, errlen, AN_EINVAL, "max_states must be at least 1");
	return AN_OK;
}

/*
 * Check the paths (every id in range, length >= 1, counts finite and >= 0);
 * *max_len receives the longest length.
 */
static int
check_paths(const an_path *paths, int64_t n_paths, int n_channels,
			const an_allocator *a, int32_t *max_len, char *err, size_t errlen)
{
	int64_t		p;
	int32_t		i;

	*max_len = 0;
	if (n_channels < 1)
		return an_set_error(err, errlen, AN_EINVAL, "n_channels must be at least 1");
	if (n_paths < 0)
		return an_set_error(err, errlen, AN_EINVAL, "n_paths must not be negative");
	if (n_paths > 0 && paths == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "paths is NULL");
	for (p = 0; p < n_paths; p++)
	{
		const an_path *path = &paths[p];

		if ((p & 1023) == 0)
			an_check_interrupts(a);
		if (path->length < 1)
			return an_set_error(err, errlen, AN_EINVAL,
						   "path %lld has length %d, it must be at least 1",
						   (long long) p, (int) path->length);
		if (path->channels == NULL)
			return an_set_error(err, errlen, AN_EINVAL, "path %lld has no channels",
						   (long long) p);
		if (!isfinite(path->conversions) || path->conversions < 0)
			return an_set_error(err, errlen, AN_EINVAL,
						   "path %lld has conversions %g, it must be finite and >= 0",
						   (long long) p, path->conversions);
		if (!isfinite(path->nulls) || path->nulls < 0)
			return an_set_error(err, errlen, AN_EINVAL,
						   "path %lld has nulls %g, it must be finite and >= 0",
						   (long long) p, path->nulls);
		if (!isfinite(path->value) || path->value < 0)
			return an_set_error(err, errlen, AN_EINVAL,
						   "path %lld has value %g, it must be finite and >= 0",
						   (long long) p, path->value);
		for (i = 0; i < path->length; i++)
			if (path->channels[i] < 0 || path->channels[i] >= n_channels)
				return an_set_error(err, errlen, AN_EINVAL,
							   "path %lld has channel id %d, outside 0 .. %d",
							   (long long) p, (int) path->channels[i], n_channels - 1);
		if (path->length > *max_len)
			*max_len = path->length;
	}
	return AN_OK;
}

/* ------------------------------------------------- sequence interning */

/* release everything a seqtab holds */
static void
seqtab_free(const an_allocator *a, mk_seqtab *t)
{
	an_free(a, t->pool);
	an_free(a, t->off);
	an_free(a, t->len);
	an_free(a, t->hash);
	an_free(a, t->slots);
	memset(t, 0, sizeof(*t));
}

/* double the slot array (or create it) and reinsert every id */
static int
seqtab_rehash(const an_allocator *a, mk_seqtab *t)
{
	size_t		nslots = t->nslots ? t->nslots * 2 : 64;
	size_t		mask = nslots - 1;
	int32_t    *slots = alloc_array(a, nslots, sizeof(int32_t));
	int32_t		id;

	if (slots == NULL)
		return AN_ENOMEM;
	memset(slots, 0xff, nslots * sizeof(int32_t));
	for (id = 0; id < t->n; id++)
	{
		size_t		i = t->hash[id] & mask;

		while (slots[i] >= 0)
			i = (i + 1) & mask;
		slots[i] = id;
	}
	an_free(a, t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return AN_OK;
}

/*
 * The id of seq (len >= 1), inserting it if new.  AN_ENOMEM when out of
 * memory, AN_ELIMIT when the ids would exceed INT32_MAX - 1.
 */
static int
seqtab_intern(const an_allocator *a, mk_seqtab *t, const int32_t *seq,
			  int32_t len, int32_t *id)
{
	uint64_t	h = seq_hash(seq, len);
	size_t		mask,
				i;
	int32_t		s;

	if ((size_t) t->n * 2 + 2 > t->nslots && seqtab_rehash(a, t) != AN_OK)
		return AN_ENOMEM;
	mask = t->nslots - 1;
	i = h & mask;
	while ((s = t->slots[i]) >= 0)
	{
		if (t->hash[s] == h && t->len[s] == len &&
			memcmp(t->pool + t->off[s], seq, (size_t) len * sizeof(int32_t)) == 0)
		{
			*id = s;
			return AN_OK;
		}
		i = (i + 1) & mask;
	}
	if (t->n >= INT32_MAX - 1)
		return AN_ELIMIT;
	if (t->n == t->cap)
	{
		int32_t		ncap = t->cap < INT32_MAX / 2 ? (t->cap ? t->cap * 2 : 64) : INT32_MAX;
		void	   *p;

		if ((p = grow_array(a, t->off, sizeof(size_t), t->cap, ncap)) == NULL)
			return AN_ENOMEM;
		t->off = p;
		if ((p = grow_array(a, t->len, sizeof(int32_t), t->cap, ncap)) == NULL)
			return AN_ENOMEM;
		t->len = p;
		if ((p = grow_array(a, t->hash, sizeof(uint64_t), t->cap, ncap)) == NULL)
			return AN_ENOMEM;
		t->hash = p;
		t->cap = ncap;
	}
	if (t->pool_len + (size_t) len > t->pool_cap)
	{
		size_t		ncap = t->pool_cap ? t->pool_cap * 2 : 256;
		void	   *p;

		while (ncap < t->pool_len + (size_t) len)
			ncap *= 2;
		if ((p = grow_array(a, t->pool, sizeof(int32_t), t->pool_cap, ncap)) == NULL)
			return AN_ENOMEM;
		t->pool = p;
		t->pool_cap = ncap;
	}
	s = t->n++;
	memcpy(t->pool + t->pool_len, seq, (size_t) len * sizeof(int32_t));
	t->off[s] = t->pool_len;
	t->len[s] = len;
	t->hash[s] = h;
	t->pool_len += len;
	t->slots[i] = s;
	*id = s;
	return AN_OK;
}

/* ------------------------------------------------------- edge table */

/* double the edge table (or create it) and reinsert every entry */
static int
edgetab_rehash(const an_allocator *a, mk_edgetab *e)
{
	size_t		nslots = e->nslots ? e->nslots * 2 : 256;
	size_t		mask = nslots - 1;
	uint64_t   *keys = alloc_array(a, nslots, sizeof(uint64_t));
	double	   *w = alloc_array(a, nslots, sizeof(double));
	size_t		k;

	if (keys == NULL || w == NULL)
	{
		an_free(a, keys);
		an_free(a, w);
		return AN_ENOMEM;
	}
	memset(keys, 0xff, nslots * sizeof(uint64_t));
	for (k = 0; k < e->nslots; k++)
	{
		size_t		i;

		if (e->keys[k] == MK_EMPTY_KEY)
			continue;
		i = mix64(e->keys[k]) & mask;
		while (keys[i] != MK_EMPTY_KEY)
			i = (i + 1) & mask;
		keys[i] = e->keys[k];
		w[i] = e->w[k];
	}
	an_free(a, e->keys);
	an_free(a, e->w);
	e->keys = keys;
	e->w = w;
	e->nslots = nslots;
	return AN_OK;
}

/* add w to the weight of from -> to (both transient states) */
static int
edgetab_add(const an_allocator *a, mk_edgetab *e, int32_t from, int32_t to, double w)
{
	uint64_t	key = ((uint64_t) (uint32_t) from << 32) | (uint32_t) to;
	size_t		mask,
				i;

	if (e->n * 2 + 2 > e->nslots && edgetab_rehash(a, e) != AN_OK)
		return AN_ENOMEM;
	mask = e->nslots - 1;
	i = mix64(key) & mask;
	while (e->keys[i] != MK_EMPTY_KEY)
	{
		if (e->keys[i] == key)
		{
			e->w[i] += w;
			return AN_OK;
		}
		i = (i + 1) & mask;
	}
	e->keys[i] = key;
	e->w[i] = w;
	e->n++;
	return AN_OK;
}

/* ------------------------------------------------- chain construction */

/* release everything a chain buffer holds */
static void
chainbuf_free(const an_allocator *a, mk_chainbuf *cb)
{
	seqtab_free(a, &cb->win);
	an_free(a, cb->by_channel);
	an_free(a, cb->start_w);
	an_free(a, cb->conv_w);
	an_free(a, cb->null_w);
	an_free(a, cb->val_w);
	an_free(a, cb->edges.keys);
	an_free(a, cb->edges.w);
	an_free(a, cb->rp);
	an_free(a, cb->ed);
	memset(cb, 0, sizeof(*cb));
}

/* make the per-state weight arrays hold at least n states (zeroed) */
static int
chainbuf_reserve(const an_allocator *a, mk_chainbuf *cb, int32_t n)
{
	int32_t		ncap;
	void	   *p;

	if (n <= cb->cap)
		return AN_OK;
	ncap = cb->cap ? cb->cap : 64;
	while (ncap < n)
		ncap = ncap < INT32_MAX / 2 ? ncap * 2 : INT32_MAX;
	if ((p = grow_array(a, cb->start_w, sizeof(double), cb->cap, ncap)) == NULL)
		return AN_ENOMEM;
	cb->start_w = p;
	if ((p = grow_array(a, cb->conv_w, sizeof(double), cb->cap, ncap)) == NULL)
		return AN_ENOMEM;
	cb->conv_w = p;
	if ((p = grow_array(a, cb->null_w, sizeof(double), cb->cap, ncap)) == NULL)
		return AN_ENOMEM;
	cb->null_w = p;
	if ((p = grow_array(a, cb->val_w, sizeof(double), cb->cap, ncap)) == NULL)
		return AN_ENOMEM;
	cb->val_w = p;
	cb->cap = ncap;
	return AN_OK;
}

/*
 * Build the chain of the (already checked) paths.  With count_only only
 * the states are collected (no weights).  Fails with AN_ELIMIT when there
 * are more than opt->max_states states; the message then gives the count,
 * which is exact up to four times the limit (we stop counting there).
 */
static int
chain_build(const an_path *paths, int64_t n_paths, int n_channels,
			const mk_options *opt, int32_t max_len, bool count_only,
			const an_allocator *a, mk_chainbuf *cb, char *err, size_t errlen)
{
	int32_t    *seq = NULL;
	int32_t		k = opt->order;
	int32_t		stop_count;
	bool		overflow = false;
	int64_t		p;
	int			rc = AN_OK;
	int			c;

	memset(cb, 0, sizeof(*cb));
	stop_count = opt->max_states < INT32_MAX / 4 - 1 ? opt->max_states * 4 + 1 : INT32_MAX - 2;
	cb->by_channel = alloc_array(a, n_channels, sizeof(int32_t));
	seq = alloc_array(a, max_len > 0 ? max_len : 1, sizeof(int32_t));
	if (cb->by_channel == NULL || seq == NULL)
	{
		rc = AN_ENOMEM;
		goto done;
	}
	for (c = 0; c < n_channels; c++)
		cb->by_channel[c] = -1;

	for (p = 0; p < n_paths; p++)
	{
		const an_path *path = &paths[p];
		double		w = opt->use_nulls ? path->conversions + path->nulls : path->conversions;
		int32_t		len,
					i,
					prev = -1;

		an_check_interrupts(a);
		if (!(w > 0))
			continue;
		len = path_sequence(path, opt->collapse, seq);
		for (i = 0; i < len; i++)
		{
			int32_t		lo = i + 1 > k ? i + 1 - k : 0;
			int32_t		wl = i + 1 - lo;
			int32_t		s;

			if (wl == 1 && cb->by_channel[seq[lo]] >= 0)
				s = cb->by_channel[seq[lo]];
			else
			{
				rc = seqtab_intern(a, &cb->win, seq + lo, wl, &s);
				if (rc == AN_ELIMIT)
				{
					overflow = true;
					rc = AN_OK;
					break;
				}
				if (rc != AN_OK)
					goto done;
				if (wl == 1)
					cb->by_channel[seq[lo]] = s;
				if (cb->win.n > opt->max_states)
					overflow = true;
				if (overflow && cb->win.n >= stop_count)
					break;
				if (!overflow && !count_only &&
					(rc = chainbuf_reserve(a, cb, cb->win.n)) != AN_OK)
					goto done;
			}
			if (!overflow && !count_only)
			{
				if (prev < 0)
					cb->start_w[s] += w;
				else if ((rc = edgetab_add(a, &cb->edges, prev, s, w)) != AN_OK)
					goto done;
			}
			prev = s;
		}
		if (overflow)
		{
			if (cb->win.n >= stop_count)
				break;
			continue;
		}
		cb->total_w += w;
		cb->total_conv += path->conversions;
		cb->total_value += path->value;
		if (opt->use_nulls)
			cb->total_nulls += path->nulls;
		if (!count_only)
		{
			cb->conv_w[prev] += path->conversions;
			if (opt->use_nulls)
				cb->null_w[prev] += path->nulls;
			cb->val_w[prev] += path->value;
		}
	}

	if (overflow)
	{
		if (cb->win.n >= stop_count)
			rc = an_set_error(err, errlen, AN_ELIMIT,
						 "the chain has more than %d states, the limit is %d",
						 (int) cb->win.n - 1, opt->max_states);
		else
			rc = an_set_error(err, errlen, AN_ELIMIT,
						 "the chain has %d states, more than the limit of %d",
						 (int) cb->win.n, opt->max_states);
	}
	else if (!isfinite(cb->total_w) || !isfinite(cb->total_value))
		rc = an_set_error(err, errlen, AN_EINVAL,
					 "the sum of the path counts or values is not finite");
done:
	an_free(a, seq);
	if (rc == AN_ENOMEM)
		an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	return rc;
}

/* order edges by target state */
static int
edge_cmp(const void *x, const void *y)
{
	int32_t		a = ((const mk_edge *) x)->to;
	int32_t		b = ((const mk_edge *) y)->to;

	return (a > b) - (a < b);
}

/*
 * Turn the edge table into CSR rows (rp, ed), each row sorted by target,
 * and release the table.
 */
static int
chain_finish(const an_allocator *a, mk_chainbuf *cb)
{
	int32_t		n = cb->win.n;
	int64_t    *cur;
	size_t		k;
	int32_t		i;

	cb->rp = alloc_zero(a, (size_t) n + 1, sizeof(int64_t));
	cb->ed = alloc_array(a, cb->edges.n, sizeof(mk_edge));
	cur = alloc_array(a, (size_t) n + 1, sizeof(int64_t));
	if (cb->rp == NULL || cb->ed == NULL || cur == NULL)
	{
		an_free(a, cur);
		return AN_ENOMEM;
	}
	for (k = 0; k < cb->edges.nslots; k++)
		if (cb->edges.keys[k] != MK_EMPTY_KEY)
			cb->rp[(cb->edges.keys[k] >> 32) + 1]++;
	for (i = 0; i < n; i++)
		cb->rp[i + 1] += cb->rp[i];
	memcpy(cur, cb->rp, ((size_t) n + 1) * sizeof(int64_t));
	for (k = 0; k < cb->edges.nslots; k++)
		if (cb->edges.keys[k] != MK_EMPTY_KEY)
		{
			int32_t		from = (int32_t) (cb->edges.keys[k] >> 32);
			mk_edge    *e = &cb->ed[cur[from]++];

			e->to = (int32_t) (cb->edges.keys[k] & 0xffffffff);
			e->w = cb->edges.w[k];
		}
	an_free(a, cur);
	for (i = 0; i < n; i++)
	{
		mk_edge    *row = cb->ed + cb->rp[i];
		int64_t		len = cb->rp[i + 1] - cb->rp[i];

		if (len > 16)
			qsort(row, (size_t) len, sizeof(mk_edge), edge_cmp);
		else
		{
			int64_t		x,
						y;

			for (x = 1; x < len; x++)
			{
				mk_edge		t = row[x];

				for (y = x; y > 0 && row[y - 1].to > t.to; y--)
					row[y] = row[y - 1];
				row[y] = t;
			}
		}
	}
	an_free(a, cb->edges.keys);
	an_free(a, cb->edges.w);
	memset(&cb->edges, 0, sizeof(cb->edges));
	return AN_OK;
}

/* number of distinct transitions with positive weight, start and absorbing included */
static int64_t
chain_n_transitions(const mk_chainbuf *cb)
{
	int32_t		n = cb->win.n;
	int64_t		t = n > 0 ? cb->rp[n] : 0;
	int32_t		i;

	for (i = 0; i < n; i++)
		t += (cb->start_w[i] > 0) + (cb->conv_w[i] > 0) + (cb->null_w[i] > 0);
	return t;
}

/* ------------------------------------------------------ the system */

/* release everything a system holds */
static void
system_free(const an_allocator *a, mk_system *s)
{
	an_free(a, s->rp);
	an_free(a, s->ci);
	an_free(a, s->q);
	an_free(a, s->b);
	an_free(a, s->vb);
	an_free(a, s->u);
	an_free(a, s->vlive);
	an_free(a, s->cp);
	an_free(a, s->cs);
	memset(s, 0, sizeof(*s));
}

/*
 * Mark in mark[] (1) every state that can reach a seed (seed[i] != 0),
 * walking the reversed CSR (rrp, rfrom) breadth first with queue.
 */
static void
reach_back(int32_t n, const int64_t *rrp, const int32_t *rfrom,
		   const uint8_t *seed, uint8_t *mark, int32_t *queue)
{
	int32_t		head = 0,
				tail = 0,
				i;

	memset(mark, 0, (size_t) n);
	for (i = 0; i < n; i++)
		if (seed[i])
		{
			mark[i] = 1;
			queue[tail++] = i;
		}
	while (head < tail)
	{
		int32_t		s = queue[head++];
		int64_t		e;

		for (e = rrp[s]; e < rrp[s + 1]; e++)
			if (!mark[rfrom[e]])
			{
				mark[rfrom[e]] = 1;
				queue[tail++] = rfrom[e];
			}
	}
}

/*
 * Build the live system of a finished chain: the states that can reach
 * conversion, renumbered in state order, rows renormalised without their
 * self-loop, and per channel the live states whose window contains it.
 */
static int
system_build(const an_allocator *a, const mk_chainbuf *cb, int n_channels,
			 mk_system *sys)
{
	int32_t		n = cb->win.n;
	int64_t    *rrp = NULL;
	int32_t    *rfrom = NULL;
	int32_t    *queue = NULL;
	int32_t    *lid = NULL;
	uint8_t    *seed = NULL;
	uint8_t    *live = NULL;
	uint8_t    *vlive = NULL;
	int64_t		e,
				nnz;
	int32_t		i,
				nl;
	int			rc = AN_ENOMEM;

	memset(sys, 0, sizeof(*sys));
	rrp = alloc_zero(a, (size_t) n + 1, sizeof(int64_t));
	rfrom = alloc_array(a, (size_t) cb->rp[n], sizeof(int32_t));
	queue = alloc_array(a, (size_t) n, sizeof(int32_t));
	lid = alloc_array(a, (size_t) n, sizeof(int32_t));
	seed = alloc_array(a, (size_t) n, 1);
	live = alloc_array(a, (size_t) n, 1);
	vlive = alloc_array(a, (size_t) n, 1);
	if (!rrp || !rfrom || !queue || !lid || !seed || !live || !vlive)
		goto done;

	/* reversed adjacency (the queue doubles as the fill cursor) */
	for (e = 0; e < cb->rp[n]; e++)
		rrp[cb->ed[e].to + 1]++;
	for (i = 0; i < n; i++)
		rrp[i + 1] += rrp[i];
	for (i = 0; i < n; i++)
		queue[i] = 0;
	for (i = 0; i < n; i++)
		for (e = cb->rp[i]; e < cb->rp[i + 1]; e++)
		{
			int32_t		t = cb->ed[e].to;

			rfrom[rrp[t] + queue[t]++] = i;
		}

	for (i = 0; i < n; i++)
		seed[i] = cb->conv_w[i] > 0;
	reach_back(n, rrp, rfrom, seed, live, queue);
	for (i = 0; i < n; i++)
		seed[i] = cb->conv_w[i] > 0 && cb->val_w[i] > 0;
	reach_back(n, rrp, rfrom, seed, vlive, queue);

	nl = 0;
	nnz = 0;
	for (i = 0; i < n; i++)
	{
		lid[i] = live[i] ? nl++ : -1;
		if (live[i])
			for (e = cb->rp[i]; e < cb->rp[i + 1]; e++)
				nnz += live[cb->ed[e].to] && cb->ed[e].to != i;
	}
	sys->n = nl;
	sys->rp = alloc_zero(a, (size_t) nl + 1, sizeof(int64_t));
	sys->ci = alloc_array(a, (size_t) nnz, sizeof(int32_t));
	sys->q = alloc_array(a, (size_t) nnz, sizeof(double));
	sys->b = alloc_zero(a, (size_t) nl, sizeof(double));
	sys->vb = alloc_zero(a, (size_t) nl, sizeof(double));
	sys->u = alloc_zero(a, (size_t) nl, sizeof(double));
	sys->vlive = alloc_array(a, (size_t) nl, 1);
	sys->cp = alloc_zero(a, (size_t) n_channels + 1, sizeof(int64_t));
	if (!sys->rp || !sys->ci || !sys->q || !sys->b || !sys->vb || !sys->u ||
		!sys->vlive || !sys->cp)
		goto done;

	nnz = 0;
	for (i = 0; i < n; i++)
	{
		int32_t		li = lid[i];
		double		denom;

		if (li < 0)
			continue;
		/* the row's weight without the self-loop, summed without cancellation */
		denom = cb->conv_w[i] + cb->null_w[i];
		for (e = cb->rp[i]; e < cb->rp[i + 1]; e++)
			if (cb->ed[e].to != i)
				denom += cb->ed[e].w;
		for (e = cb->rp[i]; e < cb->rp[i + 1]; e++)
		{
			int32_t		t = cb->ed[e].to;

			if (t != i && live[t])
			{
				sys->ci[nnz] = lid[t];
				sys->q[nnz] = cb->ed[e].w / denom;
				nnz++;
			}
		}
		sys->rp[li + 1] = nnz;
		sys->b[li] = cb->conv_w[i] / denom;
		sys->vb[li] = cb->val_w[i] / denom;
		sys->u[li] = cb->start_w[i] / cb->total_w;
		sys->vlive[li] = vlive[i];
	}

	/* channel -> live states containing it (each distinct channel once) */
	for (i = 0; i < n; i++)
	{
		const int32_t *w = cb->win.pool + cb->win.off[i];
		int32_t		len = cb->win.len[i],
					x,
					y;

		if (lid[i] < 0)
			continue;
		for (x = 0; x < len; x++)
		{
			for (y = 0; y < x && w[y] != w[x]; y++)
				;
			if (y == x)
				sys->cp[w[x] + 1]++;
		}
	}
	for (i = 0; i < n_channels; i++)
		sys->cp[i + 1] += sys->cp[i];
	sys->cs = alloc_array(a, (size_t) sys->cp[n_channels], sizeof(int32_t));
	if (sys->cs == NULL)
		goto done;
	{
		int64_t    *cur = alloc_array(a, (size_t) n_channels, sizeof(int64_t));

		if (cur == NULL)
			goto done;
		memcpy(cur, sys->cp, (size_t) n_channels * sizeof(int64_t));
		for (i = 0; i < n; i++)
		{
			const int32_t *w = cb->win.pool + cb->win.off[i];
			int32_t		len = cb->win.len[i],
						x,
						y;

			if (lid[i] < 0)
				continue;
			for (x = 0; x < len; x++)
			{
				for (y = 0; y < x && w[y] != w[x]; y++)
					;
				if (y == x)
					sys->cs[cur[w[x]]++] = lid[i];
			}
		}
		an_free(a, cur);
	}
	rc = AN_OK;
done:
	an_free(a, rrp);
	an_free(a, rfrom);
	an_free(a, queue);
	an_free(a, lid);
	an_free(a, seed);
	an_free(a, live);
	an_free(a, vlive);
	return rc;
}

/* ------------------------------------------------------ dense solver */

/*
 * Invert the n x n row-major matrix m in place (Gauss-Jordan with row
 * pivoting; the column swaps at the end undo the row interchanges).
 * Returns false when a pivot is below MK_PIVOT_EPS in magnitude; m is then
 * garbage.  perm needs n entries.
 */
static bool
dense_invert(const an_allocator *a, double *m, int32_t n, int32_t *perm)
{
	int32_t		i,
				j,
				k;

	for (k = 0; k < n; k++)
	{
		double	   *rk;
		double		best = fabs(m[(size_t) k * n + k]),
					inv;
		int32_t		p = k;

		an_check_interrupts(a);
		for (i = k + 1; i < n; i++)
			if (fabs(m[(size_t) i * n + k]) > best)
			{
				best = fabs(m[(size_t) i * n + k]);
				p = i;
			}
		if (!(best > MK_PIVOT_EPS))
			return false;
		perm[k] = p;
		if (p != k)
		{
			double	   *r1 = m + (size_t) k * n,
					   *r2 = m + (size_t) p * n;

			for (j = 0; j < n; j++)
			{
				double		t = r1[j];

				r1[j] = r2[j];
				r2[j] = t;
			}
		}
		rk = m + (size_t) k * n;
		inv = 1.0 / rk[k];
		rk[k] = 1.0;
		for (j = 0; j < n; j++)
			rk[j] *= inv;
		for (i = 0; i < n; i++)
		{
			double	   *ri = m + (size_t) i * n;
			double		f = ri[k];

			if (i == k || f == 0.0)
				continue;
			ri[k] = 0.0;
			for (j = 0; j < n; j++)
				ri[j] -= f * rk[j];
		}
	}
	for (k = n - 1; k >= 0; k--)
		if (perm[k] != k)
		{
			int32_t		c1 = k,
						c2 = perm[k];

			for (i = 0; i < n; i++)
			{
				double	   *ri = m + (size_t) i * n;
				double		t = ri[c1];

				ri[c1] = ri[c2];
				ri[c2] = t;
			}
		}
	return true;
}

/*
 * Solve the m x m row-major system M z = rhs in place (rhs becomes z) by
 * LU with partial pivoting; M is destroyed.  False on a pivot below
 * MK_PIVOT_EPS times the largest entry.
 */
static bool
small_solve(double *M, int32_t m, double *rhs)
{
	double		scale = 0.0;
	size_t		x;
	int32_t		i,
				j,
				k;

	for (x = 0; x < (size_t) m * m; x++)
		if (fabs(M[x]) > scale)
			scale = fabs(M[x]);
	for (k = 0; k < m; k++)
	{
		int32_t		p = k;
		double		best = fabs(M[(size_t) k * m + k]);

		for (i = k + 1; i < m; i++)
			if (fabs(M[(size_t) i * m + k]) > best)
			{
				best = fabs(M[(size_t) i * m + k]);
				p = i;
			}
		if (!(best > MK_PIVOT_EPS * scale))
			return false;
		if (p != k)
		{
			double		t;

			for (j = 0; j < m; j++)
			{
				t = M[(size_t) k * m + j];
				M[(size_t) k * m + j] = M[(size_t) p * m + j];
				M[(size_t) p * m + j] = t;
			}
			t = rhs[k];
			rhs[k] = rhs[p];
			rhs[p] = t;
		}
		for (i = k + 1; i < m; i++)
		{
			double		f = M[(size_t) i * m + k] / M[(size_t) k * m + k];

			if (f == 0.0)
				continue;
			for (j = k + 1; j < m; j++)
				M[(size_t) i * m + j] -= f * M[(size_t) k * m + j];
			rhs[i] -= f * rhs[k];
		}
	}
	for (k = m - 1; k >= 0; k--)
	{
		double		s = rhs[k];

		for (j = k + 1; j < m; j++)
			s -= M[(size_t) k * m + j] * rhs[j];
		rhs[k] = s / M[(size_t) k * m + k];
	}
	return true;
}

/*
 * The dense solver: P, V and per channel P_c, V_c by the first-passage
 * formula.  Returns AN_OK, AN_ENOMEM or MK_FALLBACK (tiny pivot).
 */
static int
solve_dense(const an_allocator *a, const mk_system *sys, int n_channels,
			double *P, double *V, double *Pc, double *Vc)
{
	int32_t		n = sys->n;
	double	   *G = alloc_zero(a, (size_t) n * n, sizeof(double));
	int32_t    *perm = alloc_array(a, (size_t) n, sizeof(int32_t));
	double	   *x = alloc_zero(a, (size_t) n, sizeof(double));
	double	   *y = alloc_zero(a, (size_t) n, sizeof(double));
	double	   *h = alloc_zero(a, (size_t) n, sizeof(double));
	double	   *M = NULL;
	double	   *w = NULL;
	int64_t		mmax = 0,
				e;
	int32_t		i,
				j;
	int			c,
				rc = AN_ENOMEM;

	if (!G || !perm || !x || !y || !h)
		goto done;
	for (c = 0; c < n_channels; c++)
		if (sys->cp[c + 1] - sys->cp[c] > mmax)
			mmax = sys->cp[c + 1] - sys->cp[c];
	if (mmax > 1)
	{
		M = alloc_array(a, (size_t) (mmax * mmax), sizeof(double));
		w = alloc_array(a, (size_t) mmax, sizeof(double));
		if (!M || !w)
			goto done;
	}

	for (i = 0; i < n; i++)
	{
		double	   *gi = G + (size_t) i * n;

		gi[i] = 1.0;
		for (e = sys->rp[i]; e < sys->rp[i + 1]; e++)
			gi[sys->ci[e]] -= sys->q[e];
	}
	if (!dense_invert(a, G, n, perm))
	{
		rc = MK_FALLBACK;
		goto done;
	}

	/* x = G b, y = G vb, h = G^T u */
	*P = 0.0;
	*V = 0.0;
	for (i = 0; i < n; i++)
	{
		const double *gi = G + (size_t) i * n;
		double		sx = 0.0,
					sy = 0.0;

		for (j = 0; j < n; j++)
		{
			sx += gi[j] * sys->b[j];
			sy += gi[j] * sys->vb[j];
		}
		x[i] = sx;
		y[i] = sys->vlive[i] ? sy : 0.0;
		if (sys->u[i] != 0.0)
			for (j = 0; j < n; j++)
				h[j] += sys->u[i] * gi[j];
	}
	for (i = 0; i < n; i++)
	{
		*P += sys->u[i] * x[i];
		*V += sys->u[i] * y[i];
	}

	for (c = 0; c < n_channels; c++)
	{
		const int32_t *S = sys->cs + sys->cp[c];
		int32_t		m = (int32_t) (sys->cp[c + 1] - sys->cp[c]);
		bool		yzero = true;
		double		dp = 0.0,
					dv = 0.0;

		an_check_interrupts(a);
		Pc[c] = *P;
		Vc[c] = *V;
		if (m == 0)
			continue;
		for (i = 0; i < m; i++)
			if (y[S[i]] != 0.0)
				yzero = false;
		if (m == 1)
		{
			double		f = h[S[0]] / G[(size_t) S[0] * n + S[0]];

			dp = f * x[S[0]];
			dv = f * y[S[0]];
		}
		else
		{
			/* G_SS^T f = h_S: f is the first-entry distribution into S */
			for (i = 0; i < m; i++)
			{
				for (j = 0; j < m; j++)
					M[(size_t) i * m + j] = G[(size_t) S[j] * n + S[i]];
				w[i] = h[S[i]];
			}
			if (!small_solve(M, m, w))
			{
				rc = MK_FALLBACK;
				goto done;
			}
			for (i = 0; i < m; i++)
			{
				dp += w[i] * x[S[i]];
				dv += w[i] * y[S[i]];
			}
		}
		Pc[c] = *P - dp;
		Vc[c] = yzero ? *V : *V - dv;
	}
	rc = AN_OK;
done:
	an_free(a, G);
	an_free(a, perm);
	an_free(a, x);
	an_free(a, y);
	an_free(a, h);
	an_free(a, M);
	an_free(a, w);
	return rc;
}

/* -------------------------------------------------- iterative solver */

/*
 * Gauss-Seidel sweeps (backwards: successors tend to have higher numbers)
 * on x = b + Q x and y = vb + Q y, with the states flagged in fail held at
 * 0.  Converged when a sweep changes no x by more than tolx and no y by
 * more than toly: as rows of Q sum to at most 1, the residual of the final
 * iterate is then below the same bounds.  False after MK_GS_MAX_SWEEPS.
 */
static bool
gs_solve(const an_allocator *a, const mk_system *s, const uint8_t *fail,
		 double *x, double *y, double tolx, double toly)
{
	int			it;

	for (it = 0; it < MK_GS_MAX_SWEEPS; it++)
	{
		double		dx = 0.0,
					dy = 0.0;
		int32_t		i;

		an_check_interrupts(a);
		for (i = s->n - 1; i >= 0; i--)
		{
			double		sx = s->b[i],
						sy = s->vb[i],
						d;
			int64_t		e;

			if (fail && fail[i])
				continue;
			for (e = s->rp[i]; e < s->rp[i + 1]; e++)
			{
				sx += s->q[e] * x[s->ci[e]];
				sy += s->q[e] * y[s->ci[e]];
			}
			d = fabs(sx - x[i]);
			if (d > dx)
				dx = d;
			d = fabs(sy - y[i]);
			if (d > dy)
				dy = d;
			x[i] = sx;
			y[i] = sy;
			if ((i & 0x7fff) == 0)
				an_check_interrupts(a);
		}
		if (!isfinite(dx) || !isfinite(dy))
			return false;
		if (dx <= tolx && dy <= toly)
			return true;
	}
	return false;
}

/*
 * The iterative solver: P, V, then per channel P_c, V_c by Gauss-Seidel on
 * the modified system.  AN_OK, AN_ENOMEM or MK_FALLBACK (no convergence).
 */
static int
solve_iterative(const an_allocator *a, const mk_system *sys, int n_channels,
				double *P, double *V, double *Pc, double *Vc)
{
	int32_t		n = sys->n;
	double	   *x = alloc_zero(a, (size_t) n, sizeof(double));
	double	   *y = alloc_zero(a, (size_t) n, sizeof(double));
	double	   *xc = alloc_array(a, (size_t) n, sizeof(double));
	double	   *yc = alloc_array(a, (size_t) n, sizeof(double));
	uint8_t    *fail = alloc_zero(a, (size_t) n, 1);
	double		bmax = 0.0,
				vbmax = 0.0,
				tolx,
				toly;
	int32_t		i;
	int			c,
				rc = AN_ENOMEM;

	if (!x || !y || !xc || !yc || !fail)
		goto done;
	for (i = 0; i < n; i++)
	{
		if (sys->b[i] > bmax)
			bmax = sys->b[i];
		if (sys->vb[i] > vbmax)
			vbmax = sys->vb[i];
	}
	tolx = MK_GS_TOL * bmax;
	toly = MK_GS_TOL * vbmax;
	rc = MK_FALLBACK;
	if (!gs_solve(a, sys, NULL, x, y, tolx, toly))
		goto done;
	*P = 0.0;
	*V = 0.0;
	for (i = 0; i < n; i++)
	{
		*P += sys->u[i] * x[i];
		*V += sys->u[i] * y[i];
	}
	for (c = 0; c < n_channels; c++)
	{
		const int32_t *S = sys->cs + sys->cp[c];
		int32_t		m = (int32_t) (sys->cp[c + 1] - sys->cp[c]);
		bool		yzero = true;
		double		pc = 0.0,
					vc = 0.0;

		an_check_interrupts(a);
		Pc[c] = *P;
		Vc[c] = *V;
		if (m == 0)
			continue;
		memcpy(xc, x, (size_t) n * sizeof(double));
		memcpy(yc, y, (size_t) n * sizeof(double));
		for (i = 0; i < m; i++)
		{
			if (y[S[i]] != 0.0)
				yzero = false;
			fail[S[i]] = 1;
			xc[S[i]] = 0.0;
			yc[S[i]] = 0.0;
		}
		if (!gs_solve(a, sys, fail, xc, yc, tolx, toly))
			goto done;
		for (i = 0; i < m; i++)
			fail[S[i]] = 0;
		for (i = 0; i < n; i++)
		{
			pc += sys->u[i] * xc[i];
			vc += sys->u[i] * yc[i];
		}
		Pc[c] = pc;
		Vc[c] = yzero ? *V : vc;
	}
	rc = AN_OK;
done:
	an_free(a, x);
	an_free(a, y);
	an_free(a, xc);
	an_free(a, yc);
	an_free(a, fail);
	return rc;
}

/* --------------------------------------------------------- attribution */

/* the documented defaults: order 1, use_nulls, collapse, MK_DEFAULT_MAX_STATES */
void
mk_default_options(mk_options *opt)
{
	opt->order = 1;
	opt->use_nulls = true;
	opt->collapse = true;
	opt->max_states = MK_DEFAULT_MAX_STATES;
}

/* release a result's arrays (safe on a zeroed or already freed result) */
void
mk_result_free(const an_allocator *a, mk_result *r)
{
	if (r == NULL)
		return;
	an_free(a, r->conversions);
	an_free(a, r->value);
	an_free(a, r->removal_effect);
	an_free(a, r->value_removal_effect);
	r->conversions = NULL;
	r->value = NULL;
	r->removal_effect = NULL;
	r->value_removal_effect = NULL;
}

/* clamp v into [lo, hi] (NaN becomes lo) */
static double
clamp(double v, double lo, double hi)
{
	if (!(v >= lo))
		return lo;
	return v > hi ? hi : v;
}

/*
 * Solve for P, V, P_c, V_c with the chosen solver and its fallback;
 * *dense tells which one produced the numbers.
 */
static int
solve_system(const an_allocator *a, const mk_system *sys, int n_channels,
			 int solver, double *P, double *V, double *Pc, double *Vc,
			 bool *dense, char *err, size_t errlen)
{
	int32_t		n = sys->n;
	bool		use_dense;
	int			rc;

	if (solver == MK_SOLVER_DENSE)
		use_dense = true;
	else if (solver == MK_SOLVER_ITERATIVE)
		use_dense = false;
	else if (n > MK_DENSE_LIMIT)
		use_dense = false;
	else if (n <= MK_DENSE_ALWAYS)
		use_dense = true;
	else
	{
		/* flop estimates: inversion plus small solves vs Gauss-Seidel sweeps */
		double		dn = n,
					dense_cost = 2.0 * dn * dn * dn,
					iter_cost = 4.0 * (double) (sys->rp[n] + n) * MK_GS_SWEEP_GUESS;
		int			c,
					active = 1;

		for (c = 0; c < n_channels; c++)
		{
			double		m = (double) (sys->cp[c + 1] - sys->cp[c]);

			active += m > 0;
			if (m > 1)
				dense_cost += m * m * m * (2.0 / 3.0);
		}
		use_dense = dense_cost <= iter_cost * active;
	}

	if (use_dense)
	{
		*dense = true;
		rc = solve_dense(a, sys, n_channels, P, V, Pc, Vc);
		if (rc == MK_FALLBACK)
		{
			*dense = false;
			rc = solve_iterative(a, sys, n_channels, P, V, Pc, Vc);
			if (rc == MK_FALLBACK)
				return an_set_error(err, errlen, AN_EINVAL,
							   "the linear system of the chain (%d states) is numerically singular",
							   (int) n);
		}
	}
	else
	{
		*dense = false;
		rc = solve_iterative(a, sys, n_channels, P, V, Pc, Vc);
		if (rc == MK_FALLBACK && n <= MK_DENSE_LIMIT)
		{
			*dense = true;
			rc = solve_dense(a, sys, n_channels, P, V, Pc, Vc);
		}
		if (rc == MK_FALLBACK)
			return an_set_error(err, errlen, AN_ELIMIT,
						   "the iterative solver did not converge within %d sweeps on the chain of %d states",
						   MK_GS_MAX_SWEEPS, (int) n);
	}
	if (rc == AN_ENOMEM)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	return rc;
}

/*
 * mk_attribute with a chosen solver (MK_SOLVER_*).  On failure nothing stays
 * allocated and *out is zeroed.
 */
int
mk_attribute_solver(const an_path *paths, int64_t n_paths, int n_channels,
					const mk_options *opt, int solver, const an_allocator *a,
					mk_result *out, char *err, size_t errlen)
{
	mk_options	o;
	mk_chainbuf cb;
	mk_system	sys;
	double	   *Pc = NULL;
	double	   *Vc = NULL;
	double		P = 0.0,
				V = 0.0,
				sum_re = 0.0,
				sum_vre = 0.0;
	int32_t		max_len;
	int			c,
				rc;

	memset(&cb, 0, sizeof(cb));
	memset(&sys, 0, sizeof(sys));
	if (err && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = check_options(opt, &o, err, errlen)) != AN_OK ||
		(rc = check_paths(paths, n_paths, n_channels, a, &max_len, err, errlen)) != AN_OK)
		return rc;

	out->n_channels = n_channels;
	out->conversions = alloc_zero(a, (size_t) n_channels, sizeof(double));
	out->value = alloc_zero(a, (size_t) n_channels, sizeof(double));
	out->removal_effect = alloc_zero(a, (size_t) n_channels, sizeof(double));
	out->value_removal_effect = alloc_zero(a, (size_t) n_channels, sizeof(double));
	Pc = alloc_zero(a, (size_t) n_channels, sizeof(double));
	Vc = alloc_zero(a, (size_t) n_channels, sizeof(double));
	if (!out->conversions || !out->value || !out->removal_effect ||
		!out->value_removal_effect || !Pc || !Vc)
	{
		rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
		goto done;
	}
	out->dense = true;			/* nothing to solve is solved exactly */

	if ((rc = chain_build(paths, n_paths, n_channels, &o, max_len, false, a,
						  &cb, err, errlen)) != AN_OK)
		goto done;
	if ((rc = chain_finish(a, &cb)) != AN_OK)
	{
		an_set_error(err, errlen, rc, "out of memory");
		goto done;
	}
	out->n_states = cb.win.n;
	out->n_transitions = chain_n_transitions(&cb);
	out->total_conversions = cb.total_conv;
	out->total_nulls = cb.total_nulls;
	out->total_value = cb.total_value;
	if (cb.win.n == 0 || !(cb.total_conv > 0))
		goto done;

	if ((rc = system_build(a, &cb, n_channels, &sys)) != AN_OK)
	{
		an_set_error(err, errlen, rc, "out of memory");
		goto done;
	}
	/* the weights are no longer needed: give the solver their memory */
	chainbuf_free(a, &cb);
	if (sys.n == 0)
		goto done;
	if ((rc = solve_system(a, &sys, n_channels, solver, &P, &V, Pc, Vc,
						   &out->dense, err, errlen)) != AN_OK)
		goto done;
	if (!isfinite(P) || !isfinite(V))
	{
		rc = an_set_error(err, errlen, AN_EINVAL,
					 "the linear system of the chain is numerically singular");
		goto done;
	}
	P = clamp(P, 0.0, 1.0);
	V = V > 0 ? V : 0.0;
	out->conversion_probability = P;

	for (c = 0; c < n_channels; c++)
	{
		double		pc = clamp(Pc[c], 0.0, P),
					vc = clamp(Vc[c], 0.0, V);

		out->removal_effect[c] = P > 0 ? clamp(1.0 - pc / P, 0.0, 1.0) : 0.0;
		out->value_removal_effect[c] = V > 0 ? clamp(1.0 - vc / V, 0.0, 1.0) : 0.0;
		sum_re += out->removal_effect[c];
		sum_vre += out->value_removal_effect[c];
	}
	for (c = 0; c < n_channels; c++)
	{
		if (sum_re > 0)
			out->conversions[c] = out->total_conversions * (out->removal_effect[c] / sum_re);
		if (sum_vre > 0)
			out->value[c] = out->total_value * (out->value_removal_effect[c] / sum_vre);
	}
	rc = AN_OK;
done:
	chainbuf_free(a, &cb);
	system_free(a, &sys);
	an_free(a, Pc);
	an_free(a, Vc);
	if (rc != AN_OK)
		mk_result_free(a, out);
	return rc;
}

/* removal-effect attribution (markov.h), solver chosen automatically */
int
mk_attribute(const an_path *paths, int64_t n_paths, int n_channels,
			 const mk_options *opt, const an_allocator *a,
			 mk_result *out, char *err, size_t errlen)
{
	return mk_attribute_solver(paths, n_paths, n_channels, opt, MK_SOLVER_AUTO,
							   a, out, err, errlen);
}

/* ---------------------------------------------------------- the chain */

/*
 * The chain as documented in markov.h.  The states and all their windows'
 * channels share one allocation (out->states), freed by mk_chain_free.
 */
int
mk_build_chain(const an_path *paths, int64_t n_paths, int n_channels,
			   const mk_options *opt, const an_allocator *a,
			   mk_chain *out, char *err, size_t errlen)
{
	mk_options	o;
	mk_chainbuf cb;
	int32_t		max_len,
				n,
				i;
	int64_t		t = 0,
				e;
	int			rc;

	if (err && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = check_options(opt, &o, err, errlen)) != AN_OK ||
		(rc = check_paths(paths, n_paths, n_channels, a, &max_len, err, errlen)) != AN_OK)
		return rc;
	if ((rc = chain_build(paths, n_paths, n_channels, &o, max_len, false, a,
						  &cb, err, errlen)) != AN_OK)
		goto done;
	if ((rc = chain_finish(a, &cb)) != AN_OK)
		goto oom;

	n = cb.win.n;
	out->n_transitions = chain_n_transitions(&cb);
	if (n > 0)
	{
		/* one block: the state array, then every window's channels */
		size_t		sz = (size_t) n * sizeof(mk_state) + cb.win.pool_len * sizeof(int32_t);
		int32_t    *chans;

		out->states = an_alloc(a, sz);
		out->transitions = alloc_array(a, (size_t) out->n_transitions, sizeof(mk_transition));
		if (out->states == NULL || out->transitions == NULL)
			goto oom;
		chans = (int32_t *) (out->states + n);
		memcpy(chans, cb.win.pool, cb.win.pool_len * sizeof(int32_t));
		for (i = 0; i < n; i++)
		{
			out->states[i].length = cb.win.len[i];
			out->states[i].channels = chans + cb.win.off[i];
		}
	}
	out->n_states = n;

	/* start row, then each state's row: targets, conversion, null */
	{
		double		total = 0.0;

		for (i = 0; i < n; i++)
			total += cb.start_w[i];
		for (i = 0; i < n; i++)
			if (cb.start_w[i] > 0)
			{
				mk_transition *tr = &out->transitions[t++];

				tr->from = MK_STATE_START;
				tr->to = i;
				tr->weight = cb.start_w[i];
				tr->probability = cb.start_w[i] / total;
			}
	}
	for (i = 0; i < n; i++)
	{
		double		total = cb.conv_w[i] + cb.null_w[i];

		for (e = cb.rp[i]; e < cb.rp[i + 1]; e++)
			total += cb.ed[e].w;
		for (e = cb.rp[i]; e < cb.rp[i + 1]; e++)
		{
			mk_transition *tr = &out->transitions[t++];

			tr->from = i;
			tr->to = cb.ed[e].to;
			tr->weight = cb.ed[e].w;
			tr->probability = cb.ed[e].w / total;
		}
		if (cb.conv_w[i] > 0)
		{
			mk_transition *tr = &out->transitions[t++];

			tr->from = i;
			tr->to = MK_STATE_CONVERSION;
			tr->weight = cb.conv_w[i];
			tr->probability = cb.conv_w[i] / total;
		}
		if (cb.null_w[i] > 0)
		{
			mk_transition *tr = &out->transitions[t++];

			tr->from = i;
			tr->to = MK_STATE_NULL;
			tr->weight = cb.null_w[i];
			tr->probability = cb.null_w[i] / total;
		}
	}
	rc = AN_OK;
	goto done;
oom:
	rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
done:
	chainbuf_free(a, &cb);
	if (rc != AN_OK)
		mk_chain_free(a, out);
	return rc;
}

/* release a chain built by mk_build_chain (safe on a zeroed chain) */
void
mk_chain_free(const an_allocator *a, mk_chain *c)
{
	if (c == NULL)
		return;
	/* the windows' channels live in the states block */
	an_free(a, c->states);
	an_free(a, c->transitions);
	c->states = NULL;
	c->transitions = NULL;
	c->n_states = 0;
	c->n_transitions = 0;
}

/* ------------------------------------------------------ order selection */

typedef struct mk_scored
{
	double		score;
	int64_t		idx;
} mk_scored;

/* by score, then by index (so equal scores sort the same way every time) */
static int
scored_cmp(const void *x, const void *y)
{
	const mk_scored *p = x;
	const mk_scored *q = y;

	if (p->score != q->score)
		return p->score < q->score ? -1 : 1;
	return (p->idx > q->idx) - (p->idx < q->idx);
}

/*
 * Weighted AUC of scores with positive weights pos and negative weights
 * neg (ties count one half); sc is scratch of n entries.  The caller
 * guarantees both totals are positive.
 */
static double
weighted_auc(const double *score, const double *pos, const double *neg,
			 int64_t n, mk_scored *sc)
{
	double		neg_below = 0.0,
				tp = 0.0,
				tn = 0.0,
				acc = 0.0;
	int64_t		i,
				j;

	for (i = 0; i < n; i++)
	{
		sc[i].score = score[i];
		sc[i].idx = i;
	}
	qsort(sc, (size_t) n, sizeof(mk_scored), scored_cmp);
	for (i = 0; i < n; i = j)
	{
		double		gp = 0.0,
					gn = 0.0;

		for (j = i; j < n && sc[j].score == sc[i].score; j++)
		{
			gp += pos[sc[j].idx];
			gn += neg[sc[j].idx];
		}
		acc += gp * (neg_below + 0.5 * gn);
		neg_below += gn;
		tp += gp;
		tn += gn;
	}
	return acc / (tp * tn);
}

/*
 * The share of a path's n journeys (n may be fractional: the last one is
 * partial) that falls in fold f when journeys at positions start,
 * start + 1, ... are dealt round-robin over the folds.
 */
static double
fold_share(double n, int64_t start, int folds, int f)
{
	double		whole = floor(n);
	double		frac = n - whole;
	int64_t		q = (int64_t) whole;
	int64_t		g = ((f - start) % folds + folds) % folds;	/* first i with (start + i) % folds == f */
	double		share = q > g ? (double) ((q - g - 1) / folds + 1) : 0.0;

	if (frac > 0 && (start + q) % folds == f)
		share += frac;
	return share;
}

/*
 * Order selection (markov.h).  Journeys are dealt to folds round-robin per
 * path, conversions first then nulls, starting at a fold chosen by a hash of
 * the path: so a common path is in every fold (training and test agree on
 * it) while a path of one journey is always held out, which is what
 * penalises high orders that only memorise rare paths.  Each (path, fold)
 * with journeys is a unit.  Per order k, every unit's last-state key
 * (its last min(L, k) channels) is interned twice, alone and prefixed by
 * its fold; a test path's training weights are the key's totals minus its
 * own fold's.  Back-off is incremental: pred[] keeps the order k - 1
 * prediction (order 0: the training conversion rate, 0.5 when the other
 * folds are empty) and order k overrides it where its key has training
 * weight.  Conversions and nulls are the absorbing weights whatever
 * opt->use_nulls says (without nulls nothing could be scored); opt->order is
 * not used, collapse is, and use_nulls and max_states only for n_states.
 */
int
mk_select_order(const an_path *paths, int64_t n_paths, int n_channels,
				int max_order, int folds, const mk_options *opt,
				const an_allocator *a, mk_order_score *out,
				char *err, size_t errlen)
{
	mk_options	o,
				ko1;
	mk_seqtab	keys,
				groups;
	mk_chainbuf cb;
	int32_t		max_len;
	int32_t    *seqs = NULL;	/* processed sequences of the used paths */
	int64_t    *soff = NULL;
	int32_t    *slen = NULL;
	int32_t    *fold = NULL;
	double	   *pos = NULL;
	double	   *neg = NULL;
	double	   *pred = NULL;
	int32_t    *kid = NULL;
	int32_t    *gid = NULL;
	double	   *kw = NULL;		/* per key: conv, null */
	double	   *gw = NULL;		/* per (fold, key): conv, null */
	int32_t    *buf = NULL;
	mk_scored  *sc = NULL;
	double		fold_c[20],
				fold_n[20],
				tot_c = 0.0,
				tot_n = 0.0,
				best_ll = HUGE_VAL;
	int64_t		p,
				n_used = 0,
				total_len = 0;
	int			k,
				f,
				best = 0,
				rc;

	memset(&keys, 0, sizeof(keys));
	memset(&groups, 0, sizeof(groups));
	memset(&cb, 0, sizeof(cb));
	if (err && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "out is NULL");
	if (max_order < 1 || max_order > MK_MAX_ORDER)
		return an_set_error(err, errlen, AN_EINVAL, "max_order must be between 1 and %d",
					   MK_MAX_ORDER);
	if (folds < 2 || folds > 20)
		return an_set_error(err, errlen, AN_EINVAL, "folds must be between 2 and 20");
	/* the options' order is not used here: check the rest with order 1 */
	if (opt == NULL)
		mk_default_options(&ko1);
	else
		ko1 = *opt;
	ko1.order = 1;
	if ((rc = check_options(&ko1, &o, err, errlen)) != AN_OK ||
		(rc = check_paths(paths, n_paths, n_channels, a, &max_len, err, errlen)) != AN_OK)
		return rc;

	for (p = 0; p < n_paths; p++)
		if (paths[p].conversions + paths[p].nulls > 0)
		{
			n_used++;
			total_len += paths[p].length;
			tot_c += paths[p].conversions;
			tot_n += paths[p].nulls;
		}
	if (!(tot_c > 0))
		return an_set_error(err, errlen, AN_EINVAL,
					   "order selection needs converting paths, the input has no conversions");
	if (!(tot_n > 0))
		return an_set_error(err, errlen, AN_EINVAL,
					   "order selection needs non-converting paths, the input has no nulls");
	if (!isfinite(tot_c + tot_n))
		return an_set_error(err, errlen, AN_EINVAL,
					   "the sum of the path counts is not finite");

	/* at most one unit per (path, fold) */
	seqs = alloc_array(a, (size_t) total_len, sizeof(int32_t));
	soff = alloc_array(a, (size_t) n_used * folds, sizeof(int64_t));
	slen = alloc_array(a, (size_t) n_used * folds, sizeof(int32_t));
	fold = alloc_array(a, (size_t) n_used * folds, sizeof(int32_t));
	pos = alloc_array(a, (size_t) n_used * folds, sizeof(double));
	neg = alloc_array(a, (size_t) n_used * folds, sizeof(double));
	pred = alloc_array(a, (size_t) n_used * folds, sizeof(double));
	kid = alloc_array(a, (size_t) n_used * folds, sizeof(int32_t));
	gid = alloc_array(a, (size_t) n_used * folds, sizeof(int32_t));
	buf = alloc_array(a, (size_t) max_len + 1, sizeof(int32_t));
	sc = alloc_array(a, (size_t) n_used * folds, sizeof(mk_scored));
	if (!seqs || !soff || !slen || !fold || !pos || !neg || !pred || !kid ||
		!gid || !buf || !sc)
		goto oom;

	/* processed sequences, and the journeys of each path dealt to folds */
	for (f = 0; f < folds; f++)
		fold_c[f] = fold_n[f] = 0.0;
	{
		int64_t		u = 0,
					at = 0;

		for (p = 0; p < n_paths; p++)
		{
			const an_path *path = &paths[p];
			int32_t		cl,
						len;
			int64_t		start,
						nulls_start;

			if (!(path->conversions + path->nulls > 0))
				continue;
			if ((p & 1023) == 0)
				an_check_interrupts(a);
			cl = path_sequence(path, true, buf);
			start = (int64_t) (seq_hash(buf, cl) % (uint64_t) folds);
			nulls_start = start + (int64_t) ceil(path->conversions);
			len = path_sequence(path, o.collapse, seqs + at);
			for (f = 0; f < folds; f++)
			{
				double		c = fold_share(path->conversions, start, folds, f);
				double		nn = fold_share(path->nulls, nulls_start, folds, f);

				if (!(c + nn > 0))
					continue;
				fold[u] = f;
				soff[u] = at;
				slen[u] = len;
				pos[u] = c;
				neg[u] = nn;
				fold_c[f] += c;
				fold_n[f] += nn;
				u++;
			}
			at += len;
		}
		n_used = u;				/* from here on: units */
	}
	/* order 0: the training conversion rate (0.5 without training data) */
	for (p = 0; p < n_used; p++)
	{
		double		c = tot_c - fold_c[fold[p]],
					nn = tot_n - fold_n[fold[p]];

		pred[p] = c + nn > 0 ? c / (c + nn) : 0.5;
	}

	for (k = 1; k <= max_order; k++)
	{
		double		ll = 0.0;
		mk_options	ko = o;

		an_check_interrupts(a);
		/* the size of the order-k chain on all paths */
		ko.order = k;
		if ((rc = chain_build(paths, n_paths, n_channels, &ko, max_len, true, a,
							  &cb, err, errlen)) != AN_OK)
			goto done;
		out[k - 1].order = k;
		out[k - 1].n_states = cb.win.n;
		chainbuf_free(a, &cb);

		/* absorbing weights per last-state key, in total and per fold */
		for (p = 0; p < n_used; p++)
		{
			int32_t		len = slen[p] < k ? slen[p] : k;
			const int32_t *key = seqs + soff[p] + slen[p] - len;
			int32_t		id,
						old_cap;

			if ((p & 1023) == 0)
				an_check_interrupts(a);
			old_cap = keys.cap;
			if ((rc = seqtab_intern(a, &keys, key, len, &id)) != AN_OK)
				goto oom;
			if (keys.cap != old_cap)
			{
				void	   *np = grow_array(a, kw, 2 * sizeof(double), old_cap, keys.cap);

				if (np == NULL)
					goto oom;
				kw = np;
			}
			kid[p] = id;
			kw[2 * id] += pos[p];
			kw[2 * id + 1] += neg[p];

			buf[0] = fold[p];
			memcpy(buf + 1, key, (size_t) len * sizeof(int32_t));
			old_cap = groups.cap;
			if ((rc = seqtab_intern(a, &groups, buf, len + 1, &id)) != AN_OK)
				goto oom;
			if (groups.cap != old_cap)
			{
				void	   *np = grow_array(a, gw, 2 * sizeof(double), old_cap, groups.cap);

				if (np == NULL)
					goto oom;
				gw = np;
			}
			gid[p] = id;
			gw[2 * id] += pos[p];
			gw[2 * id + 1] += neg[p];
		}
		/* back-off: keep the lower order's prediction without training weight */
		for (p = 0; p < n_used; p++)
		{
			double		c = kw[2 * kid[p]] - gw[2 * gid[p]],
						nn = kw[2 * kid[p] + 1] - gw[2 * gid[p] + 1];

			c = c > 0 ? c : 0.0;
			nn = nn > 0 ? nn : 0.0;
			if (c + nn > 0)
				pred[p] = c / (c + nn);
		}
		for (p = 0; p < n_used; p++)
		{
			double		q = clamp(pred[p], 1e-12, 1.0 - 1e-12);

			ll -= pos[p] * log(q) + neg[p] * log(1.0 - q);
		}
		out[k - 1].log_loss = ll / (tot_c + tot_n);
		out[k - 1].auc = weighted_auc(pred, pos, neg, n_used, sc);
		out[k - 1].selected = false;
		if (out[k - 1].log_loss < best_ll - 1e-9)
		{
			best_ll = out[k - 1].log_loss;
			best = k - 1;
		}
		seqtab_free(a, &keys);
		seqtab_free(a, &groups);
		an_free(a, kw);
		an_free(a, gw);
		kw = gw = NULL;
	}
	out[best].selected = true;
	rc = AN_OK;
	goto done;
oom:
	rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
done:
	chainbuf_free(a, &cb);
	seqtab_free(a, &keys);
	seqtab_free(a, &groups);
	an_free(a, seqs);
	an_free(a, soff);
	an_free(a, slen);
	an_free(a, fold);
	an_free(a, pos);
	an_free(a, neg);
	an_free(a, pred);
	an_free(a, kid);
	an_free(a, gid);
	an_free(a, kw);
	an_free(a, gw);
	an_free(a, buf);
	an_free(a, sc);
	return rc;
}
