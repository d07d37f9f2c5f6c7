/*
 * funnel.c
 *		Event-sequence cores: window funnels (ClickHouse windowFunnel) and
 *		sequence patterns (sequenceMatch / sequenceCount); the semantics are
 *		documented in funnel.h.
 *
 * Window funnel.  Every event is expanded into one entry per step it
 * satisfies (plus a step-0 entry for events without steps under
 * strict_order), all in one allocation; the entries are sorted by (ts,
 * step, row) with a stable merge sort (skipped when they already are in
 * order) and scanned once as funnel.h describes.  Per level the scan keeps
 * the first and last timestamp of the chain that reached it and, when the
 * caller wants the chain, its timestamps (at most FN_MAX_STEPS per level,
 * copied from level k - 2 when level k - 1 is reached).  Cost: O(E log E)
 * for the sort of E entries and O(E) for the scan, O(E * n_steps) when
 * chains are copied.
 *
 * strict_once keeps ClickHouse's list of chains per level, bounded (see
 * funnel.h for why each step is exact).  A chain is stored as its first
 * timestamp, its "base" (the level whose chain, as it stood when the
 * current timestamp T began, it extends; all its later steps are at T) and
 * its relevant rows: its rows at T that satisfy a step the scan will still
 * test against it or its extensions (a step above level + 1), sorted.  At a
 * new timestamp every changed level keeps its chain with the latest start
 * (its path is rebuilt from its base, levels top down).  Within T a new
 * chain is dropped if a chain of its level starts no earlier with a subset
 * of its relevant rows (and is readable if it is: strict_increase), and
 * removes the chains it dominates that way; lists of 32 chains or more are
 * searched by a hash of the relevant rows (each subset of a chain with at
 * most 6 of them), shorter ones scanned.  With distinct timestamps each
 * list holds one or two chains and the scan is O(E) (O(E * n_steps) with
 * chain_ts); ties cost up to O(FN_ONCE_MAX_CHAINS^2 * n_steps) per entry
 * in the worst case, and a list past FN_ONCE_MAX_CHAINS is AN_ELIMIT.
 *
 * Sequence patterns.  A pattern compiles to a list of event atoms ((?N) or
 * .); each atom after the first carries the gap that relates it to the
 * atom before it:
 *	- next: the atom matches the event right after the previous one;
 *	- any:	some later event (a .* between them);
 *	- time: some later event whose distance d = after.ts - before.ts
 *			satisfies every time condition between the two atoms, folded
 *			into lo <= d <= hi minus a set of excluded values (!=);
 *	- never: contradictory time conditions (e.g. (?t<5)(?t>9)).
 * Time conditions and .* between two atoms combine (a time condition
 * already implies .*).  The first atom has the implicit leading .*.
 *
 * Because every constraint relates two consecutive atoms only, whether
 * event q can be matched by atom i at the end of a valid partial match
 * depends only on the set of events that can end a partial match at atom
 * i - 1: matching is a layered dynamic program over the sorted events,
 * with no backtracking at all.  One layer costs O(n) for next and any
 * gaps and O(n * (1 + excluded values)) for time gaps: the events are
 * sorted by time, so the previous layer's events within [lo, hi] of q, and
 * those at each excluded distance, are contiguous ranges found by pointers
 * that only move forward as q advances.
 *	- sq_match runs the layers forward over all events: F_1 = the events
 *	  accepted by atom 1, F_i+1 from F_i; it matches iff F_m is not empty.
 *	- sq_count first runs the layers backward over all events: B_m = the
 *	  events accepted by atom m, B_i = those accepted by atom i with a
 *	  valid continuation in B_i+1.  B_1 is the set of possible match
 *	  starts (a continuation only uses later events, so it does not depend
 *	  on where the search resumes).  For the earliest start s at or after
 *	  the resume position, the layers run forward from F_1 = {s}; min F_m
 *	  is the earliest end for that start.  They run over [s, s + L) with L
 *	  doubling from the number of atoms until F_m is not empty (restricting
 *	  to a prefix of the events is exact, as matches only move forward), so
 *	  the forward work is proportional to the span of the match and the
 *	  spans of successive matches are disjoint.
 * Total work: O(n * atoms) for patterns without time conditions (at most
 * about 5 times that for sq_count), O(n * atoms * (1 + excluded values))
 * with them.
 *
 * Step bound.  An elementary step is the test of one event against one
 * atom (plus one per excluded value on time gaps, plus one per element of
 * the previous layer).  Each layer is charged before it runs with the
 * exact number of steps it will take, so the bound is never exceeded: a
 * search that would need more than max_steps returns AN_ELIMIT instead.
 */
#include "funnel.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FN_ALL_MODES	(FN_STRICT_DEDUPLICATION | FN_STRICT_ORDER | \
						 FN_STRICT_INCREASE | FN_STRICT_ONCE)
#define FN_CHECK_MASK	4095	/* interrupt check every 4096 loop iterations */
#define FN_SORT_RUN		16		/* insertion-sorted runs of the merge sort */
#define FN_SORT_CHECK	65536	/* entries merged between interrupt checks */
#define SQ_USEC			INT64_C(1000000)
#define SQ_MAX_SECONDS	(INT64_MAX / SQ_USEC)
#define SQ_COND_CAP		100000	/* condition numbers above this are just "too large" */

/* gap kinds: how an atom relates to the one before it */
#define SQ_GAP_NEXT		0		/* the very next event */
#define SQ_GAP_ANY		1		/* any later event (.*) */
#define SQ_GAP_TIME		2		/* any later event with lo <= d <= hi, d not excluded */
#define SQ_GAP_NEVER	3		/* contradictory time conditions */

/* time operators */
#define SQ_OP_LT		0
#define SQ_OP_LE		1
#define SQ_OP_GT		2
#define SQ_OP_GE		3
#define SQ_OP_EQ		4
#define SQ_OP_NE		5

/* one sortable entry: a funnel entry (ts, k, row) or a pattern event */
typedef struct fn_entry
{
	int64_t		ts;
	int64_t		row;
	uint64_t	mask;			/* the event's conditions (funnel: its steps) */
	int32_t		k;				/* funnel entries: the step (0 = none) */
} fn_entry;

typedef struct sq_atom
{
	uint64_t	cond;			/* bit of the condition, 0 for . (any event) */
	uint64_t	lo;				/* time gap: lo <= d <= hi (microseconds) */
	uint64_t	hi;
	int64_t		excl_off;		/* time gap: excluded d values in excl[] */
	int32_t		n_excl;			/* distinct, all inside [lo, hi] */
	int32_t		gap;			/* SQ_GAP_*: relation to the previous atom */
} sq_atom;

struct sq_program
{
	int32_t		n_atoms;
	int32_t		n_conds;
	int32_t		max_excl;		/* most excluded values on one gap */
	sq_atom    *atoms;
	uint64_t   *excl;
};

/* time conditions and .* seen since the last event atom (parser state) */
typedef struct sq_pending
{
	bool		any;			/* a .* */
	bool		time;			/* a time condition */
	bool		never;			/* contradictory time conditions */
	uint64_t	lo;
	uint64_t	hi;
	size_t		time_pos;		/* 1-based position of the first time condition */
	int64_t		excl_start;		/* its != values: excl[excl_start .. n_excl) */
} sq_pending;

/* one run of the matcher */
typedef struct sq_run
{
	const sq_program *p;
	const fn_entry *ev;			/* the events, sorted by (ts, row) */
	int32_t		n;
	int64_t		steps;
	int64_t		max_steps;
	int32_t    *ptr;			/* 2 * max_excl pointers for the excluded blocks */
	const an_allocator *a;
	char	   *err;
	size_t		errlen;
} sq_run;

/* Is x before y in (ts, k, row) order? */
static inline bool
entry_before(const fn_entry *x, const fn_entry *y)
{
	if (x->ts != y->ts)
		return x->ts < y->ts;
	if (x->k != y->k)
		return x->k < y->k;
	return x->row < y->row;
}

/* Stable insertion sort of a short run. */
static void
entry_insertion_sort(fn_entry *v, size_t n)
{
	size_t		i;

	for (i = 1; i < n; i++)
	{
		fn_entry	x = v[i];
		size_t		j = i;

		while (j > 0 && entry_before(&x, &v[j - 1]))
		{
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Stable merge of src[lo .. mid) and src[mid .. hi) into dst[lo .. hi). */
static void
entry_merge(const fn_entry *src, size_t lo, size_t mid, size_t hi,
			fn_entry *dst)
{
	size_t		i = lo;
	size_t		j = mid;
	size_t		o = lo;

	while (i < mid && j < hi)
	{
		if (entry_before(&src[j], &src[i]))
			dst[o++] = src[j++];
		else
			dst[o++] = src[i++];
	}
	while (i < mid)
		dst[o++] = src[i++];
	while (j < hi)
		dst[o++] = src[j++];
}

/*
 * Sort v[0 .. n) by (ts, k, row), stably, unless it already is in order.
 * The scratch buffer is allocated here; AN_ENOMEM if that fails.
 */
static int
entry_sort(fn_entry *v, size_t n, const an_allocator *a)
{
	fn_entry   *tmp;
	fn_entry   *src;
	fn_entry   *dst;
	fn_entry   *swap;
	size_t		width;
	size_t		lo;
	size_t		done = 0;

	for (lo = 1; lo < n; lo++)
		if (entry_before(&v[lo], &v[lo - 1]))
			break;
	if (lo >= n)
		return AN_OK;

	tmp = an_alloc(a, n * sizeof(fn_entry));
	if (tmp == NULL)
		return AN_ENOMEM;
	for (lo = 0; lo < n; lo += FN_SORT_RUN)
		entry_insertion_sort(v + lo, n - lo < FN_SORT_RUN ? n - lo : FN_SORT_RUN);
	src = v;
	dst = tmp;
	for (width = FN_SORT_RUN; width < n; width *= 2)
	{
		for (lo = 0; lo < n; lo += 2 * width)
		{
			size_t		mid = n - lo < width ? n : lo + width;
			size_t		hi = n - mid < width ? n : mid + width;

			entry_merge(src, lo, mid, hi, dst);
			done += hi - lo;
			if (done >= FN_SORT_CHECK)
			{
				done = 0;
				an_check_interrupts(a);
			}
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(fn_entry));
	an_free(a, tmp);
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * Window funnel: strict_once
 * ---------------------------------------------------------------------
 */

#define FN_ONCE_INIT		4		/* chains per level in the state block */
#define FN_ONCE_TABLE_MIN	32		/* lists this long are searched by hash */
#define FN_ONCE_SUBSETS		6		/* by hash: chains with at most 6 relevant rows */
#define ONCE_ROUND8(x)		(((x) + 7) & ~(size_t) 7)

/*
 * A chain of one level during the timestamp T being scanned.  Its steps
 * are those of the chain level base held when T began (the "committed"
 * chain of that level, whose steps all lie before T), then steps at T;
 * base == -1: every step is at T.  Only rows at T can recur in later
 * entries, and a row r only matters to a chain of level j when r will
 * still be tested against this chain or a chain extended from it, that is
 * when r satisfies a step > j + 1 (entries at T come in step order, and
 * step s only reads level s - 2).  Those rows are the chain's relevant
 * rows, kept sorted by row in the level's pools.
 */
typedef struct once_chain
{
	int64_t		first;			/* timestamp of its step 1 */
	uint64_t	hash;			/* of the relevant rows: sum of once_mix */
	uint64_t	sig;			/* bit once_mix >> 58 of each relevant row */
	int32_t		n_rel;			/* number of relevant rows */
	int16_t		base;
	bool		readable;		/* may be extended at T (strict_increase: last < T) */
} once_chain;

/* the list of one level */
typedef struct once_level
{
	once_chain *c;
	int64_t    *rel;			/* chain i: rel[i * stride ..], ascending */
	uint8_t    *relm;			/* the highest step each of those rows satisfies */
	int32_t		n;
	int32_t		alloc;
	int32_t		stride;			/* most relevant rows a chain of this level can have */
	bool		owned;			/* c, rel, relm: one allocation apart from the state */
	bool		tab_valid;		/* tab indexes exactly c[0 .. n) */
	int32_t    *tab;			/* open addressing: chain index + 1, 0 = free */
	int32_t		tab_size;		/* a power of two, > 2 n when valid */
} once_level;

typedef struct once_state
{
	once_level *lv;
	int64_t    *path;			/* chain_ts only: committed chain of level j at path[j * ns ..] */
	int			ns;
	bool		increase;
	int64_t		T;				/* the timestamp being scanned */
	uint64_t	touched;		/* levels that got chains at T */
	uint64_t	work;			/* inner iterations, for interrupt checks */
	const an_allocator *a;
} once_state;

/* A well-mixed 64-bit image of a row (splitmix64's finalizer). */
static inline uint64_t
once_mix(int64_t row)
{
	uint64_t	x = (uint64_t) row + UINT64_C(0x9e3779b97f4a7c15);

	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* One unit of inner work; checks interrupts every 4096. */
static inline void
once_tick(once_state *st)
{
	if ((++st->work & FN_CHECK_MASK) == 0)
		an_check_interrupts(st->a);
}

/* Is the ascending a[0 .. na) a subset of the ascending b[0 .. nb)? */
static bool
rows_subset(const int64_t *a, int na, const int64_t *b, int nb)
{
	int			i;
	int			j = 0;

	for (i = 0; i < na; i++)
	{
		while (j < nb && b[j] < a[i])
			j++;
		if (j >= nb || b[j] != a[i])
			return false;
		j++;
	}
	return true;
}

/* Is row among the ascending rows[0 .. n)? */
static bool
rows_have(const int64_t *rows, int n, int64_t row)
{
	int			i;

	for (i = 0; i < n && rows[i] <= row; i++)
		if (rows[i] == row)
			return true;
	return false;
}

/*
 * Does chain c (relevant rows cr) dominate chain d (dr)?  Then every later
 * entry that extends d also extends c (window: c starts no earlier; rows:
 * a row at T that d has not used and that is tested later is not among
 * c's relevant rows, hence not among its rows; strict_increase: c is
 * readable if d is), and the extension of c dominates that of d.
 */
static inline bool
once_dominates(const once_chain *c, const int64_t *cr,
			   const once_chain *d, const int64_t *dr)
{
	return c->first >= d->first && (c->readable || !d->readable) &&
		c->n_rel <= d->n_rel && (c->sig & ~d->sig) == 0 &&
		rows_subset(cr, c->n_rel, dr, d->n_rel);
}

/* Enter chain i in the hash table of L (which has room). */
static void
once_table_put(once_level *L, int32_t i)
{
	uint32_t	mask = (uint32_t) L->tab_size - 1;
	uint32_t	p = (uint32_t) L->c[i].hash & mask;

	while (L->tab[p] != 0)
		p = (p + 1) & mask;
	L->tab[p] = i + 1;
}

/* (Re)build the hash table of L; false when out of memory. */
static bool
once_table_build(once_state *st, once_level *L)
{
	int32_t		size = 128;
	int32_t		i;

	while (size < 4 * L->n)
		size *= 2;
	if (L->tab == NULL || L->tab_size < size)
	{
		int32_t    *t = an_alloc(st->a, (size_t) size * sizeof(int32_t));

		if (t == NULL)
			return false;
		an_free(st->a, L->tab);
		L->tab = t;
		L->tab_size = size;
	}
	memset(L->tab, 0, (size_t) L->tab_size * sizeof(int32_t));
	for (i = 0; i < L->n; i++)
	{
		once_tick(st);
		once_table_put(L, i);
	}
	L->tab_valid = true;
	return true;
}

/* The chain of L whose relevant rows are exactly rows[0 .. nr), or -1. */
static int32_t
once_table_find(const once_level *L, const int64_t *rows, int nr, uint64_t h)
{
	uint32_t	mask = (uint32_t) L->tab_size - 1;
	uint32_t	p = (uint32_t) h & mask;

	while (L->tab[p] != 0)
	{
		int32_t		i = L->tab[p] - 1;

		if (L->c[i].hash == h && L->c[i].n_rel == nr &&
			(nr == 0 || memcmp(L->rel + (size_t) i * (size_t) L->stride, rows,
							   (size_t) nr * sizeof(int64_t)) == 0))
			return i;
		p = (p + 1) & mask;
	}
	return -1;
}

/*
 * Is d (relevant rows dr) dominated by a chain of L?  Long lists without
 * strict_increase (where every chain is readable and no two chains have
 * the same relevant rows) are searched by hash for each subset of dr;
 * otherwise the list is scanned.  AN_OK or AN_ENOMEM.
 */
static int
once_dominated(once_state *st, once_level *L, const once_chain *d,
			   const int64_t *dr, bool *dominated)
{
	int32_t		i;

	*dominated = false;
	if (!st->increase && L->n >= FN_ONCE_TABLE_MIN && d->n_rel <= FN_ONCE_SUBSETS)
	{
		int64_t		sub[FN_ONCE_SUBSETS];
		uint64_t	mix[FN_ONCE_SUBSETS];
		unsigned	b;
		int			t;

		if (!L->tab_valid && !once_table_build(st, L))
			return AN_ENOMEM;
		for (t = 0; t < d->n_rel; t++)
			mix[t] = once_mix(dr[t]);
		for (b = 0; b < (1u << d->n_rel); b++)
		{
			uint64_t	h = 0;
			int			nsub = 0;

			once_tick(st);
			for (t = 0; t < d->n_rel; t++)
				if (b & (1u << t))
				{
					sub[nsub++] = dr[t];
					h += mix[t];
				}
			i = once_table_find(L, sub, nsub, h);
			if (i >= 0 && L->c[i].first >= d->first)
			{
				*dominated = true;
				break;
			}
		}
		return AN_OK;
	}
	for (i = 0; i < L->n; i++)
	{
		once_tick(st);
		if (once_dominates(&L->c[i], L->rel + (size_t) i * (size_t) L->stride, d, dr))
		{
			*dominated = true;
			break;
		}
	}
	return AN_OK;
}

/* Double the room of L (at most FN_ONCE_MAX_CHAINS); false when out of memory. */
static bool
once_grow(once_state *st, once_level *L)
{
	int32_t		na = L->alloc > FN_ONCE_MAX_CHAINS / 2 ? FN_ONCE_MAX_CHAINS : 2 * L->alloc;
	size_t		sc = (size_t) na * sizeof(once_chain);
	size_t		sr = (size_t) na * (size_t) L->stride * sizeof(int64_t);
	char	   *blk = an_alloc(st->a, sc + sr + (size_t) na * (size_t) L->stride);

	if (blk == NULL)
		return false;
	memcpy(blk, L->c, (size_t) L->n * sizeof(once_chain));
	if (L->stride > 0)
	{
		memcpy(blk + sc, L->rel, (size_t) L->n * (size_t) L->stride * sizeof(int64_t));
		memcpy(blk + sc + sr, L->relm, (size_t) L->n * (size_t) L->stride);
	}
	if (L->owned)
		an_free(st->a, L->c);
	L->c = (once_chain *) blk;
	L->rel = (int64_t *) (blk + sc);
	L->relm = (uint8_t *) (blk + sc + sr);
	L->alloc = na;
	L->owned = true;
	return true;
}

/*
 * Add chain d (relevant rows dr, their highest steps dm) to level j,
 * unless a chain there dominates it; the chains it dominates leave.
 * AN_OK, AN_ENOMEM (no message) or AN_ELIMIT (message set).
 */
static int
once_insert(once_state *st, int j, const once_chain *d, const int64_t *dr,
			const uint8_t *dm, char *err, size_t errlen)
{
	once_level *L = &st->lv[j];
	size_t		stride = (size_t) L->stride;
	bool		dominated;
	int32_t		i;
	int			rc;

	rc = once_dominated(st, L, d, dr, &dominated);
	if (rc != AN_OK || dominated)
		return rc;
	for (i = 0; i < L->n;)
	{
		once_tick(st);
		if (once_dominates(d, dr, &L->c[i], L->rel + (size_t) i * stride))
		{
			L->n--;
			if (i < L->n)
			{
				L->c[i] = L->c[L->n];
				if (stride > 0)
				{
					memcpy(L->rel + (size_t) i * stride, L->rel + (size_t) L->n * stride,
						   stride * sizeof(int64_t));
					memcpy(L->relm + (size_t) i * stride, L->relm + (size_t) L->n * stride,
						   stride);
				}
			}
			L->tab_valid = false;
		}
		else
			i++;
	}
	if (L->n >= FN_ONCE_MAX_CHAINS)
		return an_set_error(err, errlen, AN_ELIMIT,
						"window_funnel strict_once: too many rows at one timestamp satisfy several steps "
						"(more than %d partial chains reach step %d)",
						FN_ONCE_MAX_CHAINS, j + 1);
	if (L->n == L->alloc && !once_grow(st, L))
		return AN_ENOMEM;
	i = L->n++;
	L->c[i] = *d;
	if (d->n_rel > 0)
	{
		memcpy(L->rel + (size_t) i * stride, dr, (size_t) d->n_rel * sizeof(int64_t));
		memcpy(L->relm + (size_t) i * stride, dm, (size_t) d->n_rel);
	}
	if (L->tab_valid)
	{
		if (2 * L->n >= L->tab_size)
			L->tab_valid = false;
		else
			once_table_put(L, i);
	}
	st->touched |= UINT64_C(1) << j;
	return AN_OK;
}

/*
 * The scan moves past T: no row at T or before can appear again and every
 * chain ends before the next timestamp, so the chain of a level with the
 * latest start dominates the others.  Each level that changed at T keeps
 * only that chain, which becomes its committed chain (its path is built
 * from the committed path of its base, so levels go from the top down,
 * reading the bases before they change).
 */
static void
once_collapse(once_state *st)
{
	uint64_t	bits = st->touched;

	while (bits != 0)
	{
		int			j = 63 - __builtin_clzll(bits);
		once_level *L = &st->lv[j];
		int32_t		best = 0;
		int32_t		i;

		bits &= ~(UINT64_C(1) << j);
		for (i = 1; i < L->n; i++)
		{
			once_tick(st);
			if (L->c[i].first > L->c[best].first)
				best = i;
		}
		if (st->path != NULL && L->c[best].base != j)
		{
			int64_t    *dst = st->path + (size_t) j * (size_t) st->ns;
			int			b = L->c[best].base;
			int			t;

			if (b >= 0)
				memcpy(dst, st->path + (size_t) b * (size_t) st->ns,
					   (size_t) (b + 1) * sizeof(int64_t));
			for (t = b + 1; t <= j; t++)
				dst[t] = st->T;
		}
		L->c[0] = L->c[best];
		L->c[0].hash = 0;
		L->c[0].sig = 0;
		L->c[0].n_rel = 0;
		L->c[0].base = (int16_t) j;
		L->c[0].readable = true;
		L->n = 1;
		L->tab_valid = false;
	}
	st->touched = 0;
}

/* Release everything the strict_once scan allocated. */
static void
once_free(once_state *st, void *block)
{
	int			j;

	for (j = 0; j < st->ns; j++)
	{
		if (st->lv[j].owned)
			an_free(st->a, st->lv[j].c);
		an_free(st->a, st->lv[j].tab);
	}
	an_free(st->a, block);
}

/*
 * The strict_once scan of funnel.h over the sorted entries: per level a
 * list of chains, collapsed at each new timestamp, pruned of dominated
 * chains within one, at most FN_ONCE_MAX_CHAINS long.
 */
static int
fn_funnel_once(const fn_entry *ent, size_t ne, int n_steps, int64_t window,
			   unsigned modes, int *level, int64_t *chain_ts,
			   const an_allocator *a, char *err, size_t errlen)
{
	bool		dedup = (modes & FN_STRICT_DEDUPLICATION) != 0;
	bool		order = (modes & FN_STRICT_ORDER) != 0;
	bool		increase = (modes & FN_STRICT_INCREASE) != 0;
	size_t		ns = (size_t) n_steps;
	size_t		size;
	size_t		off;
	size_t		i;
	char	   *block;
	once_state	st;
	int64_t		rows[FN_MAX_STEPS];
	uint8_t		ms[FN_MAX_STEPS];
	int64_t		best_first = 0;
	int			best_base = -1;
	bool		reached_last = false;
	bool		started = false;
	int			top = -1;
	int			j;
	int			rc = AN_OK;

	/* one block: the levels, the committed paths, FN_ONCE_INIT chains per level */
	size = ns * sizeof(once_level) + (chain_ts != NULL ? ns * ns * sizeof(int64_t) : 0);
	for (j = 0; j < n_steps; j++)
	{
		size_t		stride = (!increase && j + 2 <= n_steps) ? (size_t) j + 1 : 0;

		size += FN_ONCE_INIT * (sizeof(once_chain) + stride * sizeof(int64_t)) +
			ONCE_ROUND8(FN_ONCE_INIT * stride);
	}
	block = an_alloc(a, size);
	if (block == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	memset(&st, 0, sizeof(st));
	st.lv = (once_level *) block;
	st.ns = n_steps;
	st.increase = increase;
	st.a = a;
	st.T = ent[0].ts;
	off = ns * sizeof(once_level);
	if (chain_ts != NULL)
	{
		st.path = (int64_t *) (block + off);
		off += ns * ns * sizeof(int64_t);
	}
	for (j = 0; j < n_steps; j++)
	{
		once_level *L = &st.lv[j];
		size_t		stride = (!increase && j + 2 <= n_steps) ? (size_t) j + 1 : 0;

		memset(L, 0, sizeof(*L));
		L->stride = (int32_t) stride;
		L->alloc = FN_ONCE_INIT;
		L->c = (once_chain *) (block + off);
		off += FN_ONCE_INIT * sizeof(once_chain);
		L->rel = (int64_t *) (block + off);
		off += FN_ONCE_INIT * stride * sizeof(int64_t);
		L->relm = (uint8_t *) (block + off);
		off += ONCE_ROUND8(FN_ONCE_INIT * stride);
	}

	for (i = 0; i < ne; i++)
	{
		const fn_entry *e = &ent[i];
		int			k = e->k;
		int			mr;
		once_chain	d;
		once_level *P;
		uint64_t	rbit;
		int32_t		p;

		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (e->ts != st.T)
		{
			if (st.touched != 0)
				once_collapse(&st);
			st.T = e->ts;
		}
		if (k == 0)
		{
			if (started)
				break;
			continue;
		}
		mr = 64 - __builtin_clzll(e->mask);	/* the row's highest step */
		d.readable = !increase;
		if (k == 1)
		{
			/* a new chain (T, T, row) joins level 0 */
			d.first = st.T;
			d.base = -1;
			d.n_rel = 0;
			d.hash = 0;
			d.sig = 0;
			if (st.lv[0].stride > 0 && mr >= 2)
			{
				rows[0] = e->row;
				ms[0] = (uint8_t) mr;
				d.n_rel = 1;
				d.hash = once_mix(e->row);
				d.sig = UINT64_C(1) << (d.hash >> 58);
			}
			rc = once_insert(&st, 0, &d, rows, ms, err, errlen);
			if (rc != AN_OK)
				break;
			started = true;
			if (top < 0)
				top = 0;
			continue;
		}
		if (dedup && st.lv[k - 1].n > 0)
			break;
		if (order && started && st.lv[k - 2].n == 0)
			break;
		if (st.lv[k - 2].n == 0)
			continue;

		/* extend every chain of level k - 2 that admits this entry */
		P = &st.lv[k - 2];
		rbit = UINT64_C(1) << (once_mix(e->row) >> 58);
		for (p = 0; p < P->n; p++)
		{
			const once_chain *c = &P->c[p];
			const int64_t *cr = P->rel + (size_t) p * (size_t) P->stride;
			const uint8_t *cm = P->relm + (size_t) p * (size_t) P->stride;
			int			nr = 0;
			int			t;
			bool		placed;

			once_tick(&st);
			/* entries are sorted, so T >= c->first: exact unsigned distance */
			if ((uint64_t) st.T - (uint64_t) c->first > (uint64_t) window)
				continue;
			if (!c->readable)
				continue;
			if ((c->sig & rbit) != 0 && rows_have(cr, c->n_rel, e->row))
				continue;
			if (k == n_steps)
			{
				/* the last level: the scan stops after this entry */
				if (!reached_last || c->first > best_first)
				{
					best_first = c->first;
					best_base = c->base;
					reached_last = true;
				}
				continue;
			}
			/* relevant rows at level k - 1: those satisfying a step > k */
			placed = !(st.lv[k - 1].stride > 0 && mr > k);
			for (t = 0; t < c->n_rel; t++)
			{
				if (!placed && e->row < cr[t])
				{
					rows[nr] = e->row;
					ms[nr++] = (uint8_t) mr;
					placed = true;
				}
				if (cm[t] > k)
				{
					rows[nr] = cr[t];
					ms[nr++] = cm[t];
				}
			}
			if (!placed)
			{
				rows[nr] = e->row;
				ms[nr++] = (uint8_t) mr;
			}
			d.first = c->first;
			d.base = c->base;
			d.n_rel = nr;
			d.hash = 0;
			d.sig = 0;
			for (t = 0; t < nr; t++)
			{
				uint64_t	h = once_mix(rows[t]);

				d.hash += h;
				d.sig |= UINT64_C(1) << (h >> 58);
			}
			rc = once_insert(&st, k - 1, &d, rows, ms, err, errlen);
			if (rc != AN_OK)
				break;
		}
		if (rc != AN_OK)
			break;
		if (reached_last)
		{
			top = n_steps - 1;
			break;
		}
		if (st.lv[k - 1].n > 0 && k - 1 > top)
			top = k - 1;
	}

	if (rc == AN_OK)
	{
		*level = top + 1;
		if (chain_ts != NULL && top >= 0)
		{
			int			t;

			if (!reached_last)
			{
				/* the chain of the top level with the latest start */
				const once_level *L = &st.lv[top];
				int32_t		b = 0;
				int32_t		q;

				for (q = 1; q < L->n; q++)
					if (L->c[q].first > L->c[b].first)
						b = q;
				best_base = L->c[b].base;
			}
			for (t = 0; t <= top; t++)
				chain_ts[t] = t <= best_base ? st.path[(size_t) best_base * ns + (size_t) t] : st.T;
		}
	}
	else if (rc == AN_ENOMEM)
		an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	once_free(&st, block);
	return rc;
}

/*
 * The window funnel: expand, sort and scan as funnel.h describes.
 */
int
fn_window_funnel(const fn_event *events, int64_t n, int n_steps,
				 int64_t window, unsigned modes, int *level,
				 int64_t *chain_ts, const an_allocator *a,
				 char *err, size_t errlen)
{
	bool		dedup = (modes & FN_STRICT_DEDUPLICATION) != 0;
	bool		order = (modes & FN_STRICT_ORDER) != 0;
	bool		increase = (modes & FN_STRICT_INCREASE) != 0;
	bool		once = (modes & FN_STRICT_ONCE) != 0;
	bool		keep_chain = chain_ts != NULL && !once;
	uint64_t	step_mask;
	uint64_t	n_entries = 0;
	size_t		ne;
	size_t		size;
	size_t		i;
	size_t		ns;
	fn_entry   *ent;
	int64_t    *ch_ts = NULL;	/* level j: ch_ts[j * ns .. j * ns + j] */
	int64_t		first[FN_MAX_STEPS];
	int64_t		last[FN_MAX_STEPS];
	bool		reached[FN_MAX_STEPS];
	bool		started = false;
	int			top = -1;
	int			rc;

	if (level == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "level is NULL");
	*level = 0;
	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (n_steps < 1 || n_steps > FN_MAX_STEPS)
		return an_set_error(err, errlen, AN_EINVAL,
						"the number of steps must be between 1 and %d, not %d",
						FN_MAX_STEPS, n_steps);
	if (n < 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"the number of events must not be negative");
	if (n > 0 && events == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "events is NULL");
	if (window < 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"the window must not be negative");
	if (modes & ~(unsigned) FN_ALL_MODES)
		return an_set_error(err, errlen, AN_EINVAL,
						"unknown window funnel mode bits 0x%x",
						modes & ~(unsigned) FN_ALL_MODES);

	step_mask = n_steps == 64 ? UINT64_MAX : (UINT64_C(1) << n_steps) - 1;
	for (i = 0; i < (size_t) n; i++)
	{
		uint64_t	m = events[i].mask;

		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (m & ~step_mask)
			return an_set_error(err, errlen, AN_EINVAL,
							"event %zu (row %lld) satisfies step %d but there are only %d steps",
							i, (long long) events[i].row,
							__builtin_ctzll(m & ~step_mask) + 1, n_steps);
		n_entries += m ? (uint64_t) __builtin_popcountll(m) : (order ? 1 : 0);
	}
	if (n_entries == 0)
		return AN_OK;

	ns = (size_t) n_steps;
	if (n_entries > (SIZE_MAX / 2 - 2 * ns * ns * sizeof(int64_t)) / sizeof(fn_entry))
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	ne = (size_t) n_entries;
	size = ne * sizeof(fn_entry);
	if (keep_chain)
		size += ns * ns * sizeof(int64_t);
	ent = an_alloc(a, size);
	if (ent == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	if (keep_chain)
		ch_ts = (int64_t *) (ent + ne);

	/* expand: steps in increasing order within an event */
	ne = 0;
	for (i = 0; i < (size_t) n; i++)
	{
		uint64_t	m = events[i].mask;

		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (m == 0 && order)
		{
			ent[ne].ts = events[i].ts;
			ent[ne].row = events[i].row;
			ent[ne].mask = 0;
			ent[ne].k = 0;
			ne++;
		}
		while (m)
		{
			ent[ne].ts = events[i].ts;
			ent[ne].row = events[i].row;
			ent[ne].mask = events[i].mask;	/* strict_once: the row's steps */
			ent[ne].k = __builtin_ctzll(m) + 1;
			ne++;
			m &= m - 1;
		}
	}
	rc = entry_sort(ent, ne, a);
	if (rc != AN_OK)
	{
		an_free(a, ent);
		return an_set_error(err, errlen, rc, "out of memory");
	}

	if (once)
	{
		rc = fn_funnel_once(ent, ne, n_steps, window, modes, level, chain_ts,
							a, err, errlen);
		an_free(a, ent);
		return rc;
	}

	/* scan */
	memset(reached, 0, sizeof(reached));
	for (i = 0; i < ne; i++)
	{
		const fn_entry *e = &ent[i];
		int			k = e->k;

		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (k == 0)
		{
			if (started)
				break;
			continue;
		}
		if (k == 1)
		{
			/* a new chain: a later start leaves more of its window */
			reached[0] = true;
			first[0] = last[0] = e->ts;
			if (keep_chain)
				ch_ts[0] = e->ts;
			started = true;
			if (top < 0)
				top = 0;
			continue;
		}
		if (dedup && reached[k - 1])
			break;
		if (order && started && !reached[k - 2])
			break;
		if (!reached[k - 2])
			continue;
		/* entries are sorted, so e->ts >= first[k - 2]: exact unsigned distance */
		if ((uint64_t) e->ts - (uint64_t) first[k - 2] > (uint64_t) window)
			continue;
		if (increase && !(last[k - 2] < e->ts))
			continue;
		reached[k - 1] = true;
		first[k - 1] = first[k - 2];
		last[k - 1] = e->ts;
		if (keep_chain)
		{
			int64_t    *dts = ch_ts + (size_t) (k - 1) * ns;

			memcpy(dts, ch_ts + (size_t) (k - 2) * ns, (size_t) (k - 1) * sizeof(int64_t));
			dts[k - 1] = e->ts;
		}
		if (k - 1 > top)
			top = k - 1;
		if (k == n_steps)
			break;
	}

	*level = top + 1;
	if (chain_ts != NULL && top >= 0)
		memcpy(chain_ts, ch_ts + (size_t) top * ns, (size_t) (top + 1) * sizeof(int64_t));
	an_free(a, ent);
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * Sequence patterns: compiler
 * ---------------------------------------------------------------------
 */

/* Describe the character at 0-based index i (or the end) for a message. */
static void
sq_describe(const char *pat, size_t len, size_t i, char *buf, size_t buflen)
{
	unsigned char c;

	if (i >= len)
		snprintf(buf, buflen, "the end of the pattern");
	else
	{
		c = (unsigned char) pat[i];
		if (c > 32 && c < 127)
			snprintf(buf, buflen, "character '%c'", c);
		else
			snprintf(buf, buflen, "byte 0x%02x", c);
	}
}

/* "expected X at position P of the pattern but found Y" */
static int
sq_expected(const char *pat, size_t len, size_t i, const char *what,
			char *err, size_t errlen)
{
	char		found[32];

	sq_describe(pat, len, i, found, sizeof(found));
	return an_set_error(err, errlen, AN_EINVAL,
					"expected %s at position %zu of the pattern but found %s",
					what, i + 1, found);
}

/* Sift-down step of the heap sort below. */
static void
u64_sift(uint64_t *v, size_t root, size_t n)
{
	size_t		child;
	uint64_t	x;

	while ((child = 2 * root + 1) < n)
	{
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		x = v[root];
		v[root] = v[child];
		v[child] = x;
		root = child;
	}
}

/* Sort n values in place (heap sort: O(n log n), no allocation). */
static void
u64_sort(uint64_t *v, size_t n)
{
	size_t		i;
	uint64_t	x;

	for (i = n / 2; i > 0; i--)
		u64_sift(v, i - 1, n);
	for (i = n; i > 1; i--)
	{
		x = v[0];
		v[0] = v[i - 1];
		v[i - 1] = x;
		u64_sift(v, 0, i - 1);
	}
}

/* Forget the gap state after an event atom. */
static void
sq_pending_reset(sq_pending *pd, int64_t n_excl)
{
	pd->any = false;
	pd->time = false;
	pd->never = false;
	pd->lo = 0;
	pd->hi = UINT64_MAX;
	pd->time_pos = 0;
	pd->excl_start = n_excl;
}

/*
 * Append an event atom (cond 0 = any event) with the pending gap.  In the
 * counting pass (prog NULL) only the counters move.
 */
static void
sq_add_atom(sq_program *prog, uint64_t cond, sq_pending *pd,
			int64_t *n_atoms, int64_t *n_excl)
{
	sq_atom    *at;
	uint64_t   *x;
	int64_t		cnt;
	int64_t		i;
	int64_t		kept = 0;

	if (prog != NULL)
	{
		at = &prog->atoms[*n_atoms];
		memset(at, 0, sizeof(*at));
		at->cond = cond;
		at->excl_off = pd->excl_start;
		if (*n_atoms == 0)
			at->gap = SQ_GAP_ANY;	/* the implicit leading .* */
		else if (pd->time)
		{
			at->lo = pd->lo;
			at->hi = pd->hi;
			at->gap = (pd->never || pd->lo > pd->hi) ? SQ_GAP_NEVER : SQ_GAP_TIME;
			/* keep the distinct excluded values inside [lo, hi] */
			x = prog->excl + pd->excl_start;
			cnt = *n_excl - pd->excl_start;
			u64_sort(x, (size_t) cnt);
			for (i = 0; i < cnt; i++)
			{
				if (x[i] < pd->lo || x[i] > pd->hi)
					continue;
				if (kept > 0 && x[kept - 1] == x[i])
					continue;
				x[kept++] = x[i];
			}
			if (at->gap == SQ_GAP_NEVER)
				kept = 0;
			at->n_excl = (int32_t) kept;
			if (kept > prog->max_excl)
				prog->max_excl = (int32_t) kept;
			*n_excl = pd->excl_start + kept;
		}
		else
			at->gap = pd->any ? SQ_GAP_ANY : SQ_GAP_NEXT;
	}
	(*n_atoms)++;
	sq_pending_reset(pd, *n_excl);
}

/* Fold the time condition "d OP c" into the pending gap. */
static void
sq_add_time(sq_program *prog, sq_pending *pd, int op, uint64_t c,
			int64_t *n_excl)
{
	switch (op)
	{
		case SQ_OP_LT:
			if (c == 0)
				pd->never = true;
			else if (c - 1 < pd->hi)
				pd->hi = c - 1;
			break;
		case SQ_OP_LE:
			if (c < pd->hi)
				pd->hi = c;
			break;
		case SQ_OP_GT:
			if (c + 1 > pd->lo)
				pd->lo = c + 1;
			break;
		case SQ_OP_GE:
			if (c > pd->lo)
				pd->lo = c;
			break;
		case SQ_OP_EQ:
			if (c > pd->lo)
				pd->lo = c;
			if (c < pd->hi)
				pd->hi = c;
			break;
		default:				/* SQ_OP_NE */
			if (prog != NULL)
				prog->excl[*n_excl] = c;
			(*n_excl)++;
			break;
	}
}

/*
 * Parse (and, when prog is not NULL, fill) a pattern.  The counting pass
 * (prog NULL) validates it and returns the number of atoms and an upper
 * bound of the excluded values.
 */
static int
sq_parse(const char *pat, size_t len, int n_conds, sq_program *prog,
		 int64_t *n_atoms_out, int64_t *n_excl_out, const an_allocator *a,
		 char *err, size_t errlen)
{
	sq_pending	pd;
	int64_t		n_atoms = 0;
	int64_t		n_excl = 0;
	size_t		i = 0;
	size_t		j;
	size_t		items = 0;

	sq_pending_reset(&pd, 0);
	if (len == 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"the pattern is empty: expected (?N) or . at position 1 of the pattern");
	while (i < len)
	{
		char		c = pat[i];

		if ((++items & FN_CHECK_MASK) == 0)
			an_check_interrupts(a);
		if (c == '.')
		{
			if (i + 1 < len && pat[i + 1] == '*')
			{
				pd.any = true;
				i += 2;
			}
			else
			{
				sq_add_atom(prog, 0, &pd, &n_atoms, &n_excl);
				i++;
			}
			continue;
		}
		if (c != '(')
			return sq_expected(pat, len, i, "(?N), (?t, . or .*", err, errlen);
		if (i + 1 >= len || pat[i + 1] != '?')
			return sq_expected(pat, len, i + 1, "? after (", err, errlen);
		j = i + 2;
		if (j < len && pat[j] >= '0' && pat[j] <= '9')
		{
			/* (?N) */
			int64_t		v = 0;

			while (j < len && pat[j] >= '0' && pat[j] <= '9')
			{
				if (v <= SQ_COND_CAP)
					v = v * 10 + (pat[j] - '0');
				j++;
			}
			if (j >= len || pat[j] != ')')
				return sq_expected(pat, len, j, "a digit or )", err, errlen);
			if (v == 0)
				return an_set_error(err, errlen, AN_EINVAL,
								"condition (?0) at position %zu of the pattern is out of range: conditions are numbered from 1",
								i + 1);
			if (v > n_conds)
			{
				if (v > SQ_COND_CAP)
					return an_set_error(err, errlen, AN_EINVAL,
									"condition at position %zu of the pattern is out of range: there %s %d condition%s",
									i + 1, n_conds == 1 ? "is" : "are", n_conds,
									n_conds == 1 ? "" : "s");
				return an_set_error(err, errlen, AN_EINVAL,
								"condition (?%lld) at position %zu of the pattern is out of range: there %s %d condition%s",
								(long long) v, i + 1, n_conds == 1 ? "is" : "are",
								n_conds, n_conds == 1 ? "" : "s");
			}
			sq_add_atom(prog, UINT64_C(1) << (v - 1), &pd, &n_atoms, &n_excl);
			i = j + 1;
			continue;
		}
		if (j < len && pat[j] == 't')
		{
			/* (?t OP S) */
			int			op;
			int64_t		s = 0;
			size_t		num;

			j++;
			if (j < len && pat[j] == '<')
				op = (j + 1 < len && pat[j + 1] == '=') ? SQ_OP_LE : SQ_OP_LT;
			else if (j < len && pat[j] == '>')
				op = (j + 1 < len && pat[j + 1] == '=') ? SQ_OP_GE : SQ_OP_GT;
			else if (j + 1 < len && pat[j] == '=' && pat[j + 1] == '=')
				op = SQ_OP_EQ;
			else if (j + 1 < len && pat[j] == '!' && pat[j + 1] == '=')
				op = SQ_OP_NE;
			else if (j >= len)
				return sq_expected(pat, len, j, "a time operator", err, errlen);
			else
				return an_set_error(err, errlen, AN_EINVAL,
								"unknown time operator at position %zu of the pattern: expected <, <=, >, >=, == or !=",
								j + 1);
			j += (op == SQ_OP_LT || op == SQ_OP_GT) ? 1 : 2;
			num = j;
			if (j >= len || pat[j] < '0' || pat[j] > '9')
				return sq_expected(pat, len, j, "a whole number of seconds", err, errlen);
			while (j < len && pat[j] >= '0' && pat[j] <= '9')
			{
				if (s > (SQ_MAX_SECONDS - (pat[j] - '0')) / 10)
					return an_set_error(err, errlen, AN_EINVAL,
									"the number of seconds at position %zu of the pattern is too large (at most %lld)",
									num + 1, (long long) SQ_MAX_SECONDS);
				s = s * 10 + (pat[j] - '0');
				j++;
			}
			if (j >= len || pat[j] != ')')
				return sq_expected(pat, len, j, "a digit or )", err, errlen);
			if (n_atoms == 0)
				return an_set_error(err, errlen, AN_EINVAL,
								"the time condition at position %zu of the pattern has no preceding event: expected (?N) or . before it",
								i + 1);
			if (!pd.time)
				pd.time_pos = i + 1;
			pd.time = true;
			sq_add_time(prog, &pd, op, (uint64_t) s * (uint64_t) SQ_USEC, &n_excl);
			i = j + 1;
			continue;
		}
		return sq_expected(pat, len, j, "a condition number or t after (?", err, errlen);
	}
	if (pd.time)
		return an_set_error(err, errlen, AN_EINVAL,
						"the time condition at position %zu of the pattern has no following event: expected (?N) or . after it",
						pd.time_pos);
	if (n_atoms == 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"the pattern has no event: expected (?N) or . at position %zu of the pattern",
						len + 1);
	*n_atoms_out = n_atoms;
	*n_excl_out = n_excl;
	return AN_OK;
}

/* Round a size up to a multiple of 16 bytes. */
static inline size_t
sq_align(size_t size)
{
	return (size + 15) & ~(size_t) 15;
}

/*
 * Compile a pattern: validate and count, allocate one block, fill it.
 */
int
sq_compile(const char *pattern, size_t len, int n_conds,
		   const an_allocator *a, sq_program **out, char *err, size_t errlen)
{
	sq_program *prog;
	int64_t		n_atoms = 0;
	int64_t		n_excl = 0;
	int64_t		dummy_atoms;
	int64_t		dummy_excl;
	size_t		size;
	int			rc;

	if (out == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "out is NULL");
	*out = NULL;
	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (pattern == NULL && len > 0)
		return an_set_error(err, errlen, AN_EINVAL, "pattern is NULL");
	if (n_conds < 0 || n_conds > FN_MAX_STEPS)
		return an_set_error(err, errlen, AN_EINVAL,
						"the number of conditions must be between 0 and %d, not %d",
						FN_MAX_STEPS, n_conds);
	rc = sq_parse(pattern, len, n_conds, NULL, &n_atoms, &n_excl, a, err, errlen);
	if (rc != AN_OK)
		return rc;
	if (n_atoms > INT32_MAX || n_excl > INT32_MAX)
		return an_set_error(err, errlen, AN_ELIMIT,
						"the pattern has more than %d event atoms or time conditions",
						INT32_MAX);

	size = sq_align(sizeof(sq_program)) + sq_align((size_t) n_atoms * sizeof(sq_atom)) +
		(size_t) n_excl * sizeof(uint64_t);
	prog = an_alloc(a, size);
	if (prog == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	memset(prog, 0, sizeof(sq_program));
	prog->n_atoms = (int32_t) n_atoms;
	prog->n_conds = n_conds;
	prog->atoms = (sq_atom *) ((char *) prog + sq_align(sizeof(sq_program)));
	prog->excl = (uint64_t *) ((char *) prog->atoms +
							   sq_align((size_t) n_atoms * sizeof(sq_atom)));
	rc = sq_parse(pattern, len, n_conds, prog, &dummy_atoms, &dummy_excl, a, err, errlen);
	if (rc != AN_OK)
	{
		/* cannot happen: the counting pass accepted the same text */
		an_free(a, prog);
		return rc;
	}
	*out = prog;
	return AN_OK;
}

/* Free a compiled pattern (NULL is fine). */
void
sq_free(const an_allocator *a, sq_program *p)
{
	if (a != NULL && p != NULL)
		an_free(a, p);
}

/* ---------------------------------------------------------------------
 * Sequence patterns: matcher
 * ---------------------------------------------------------------------
 */

/* Does the atom accept an event with this mask? */
static inline bool
sq_accepts(const sq_atom *at, uint64_t mask)
{
	return at->cond == 0 || (mask & at->cond) != 0;
}

/* later - earlier <= c, exactly (a negative distance is below any c) */
static inline bool
sq_dist_le(int64_t later, int64_t earlier, uint64_t c)
{
	return later < earlier || (uint64_t) later - (uint64_t) earlier <= c;
}

/* later - earlier < c, exactly */
static inline bool
sq_dist_lt(int64_t later, int64_t earlier, uint64_t c)
{
	return later < earlier || (uint64_t) later - (uint64_t) earlier < c;
}

/* Take count * per steps, or fail with AN_ELIMIT if that exceeds the bound. */
static int
sq_charge(sq_run *r, int64_t count, int64_t per)
{
	int64_t		left = r->max_steps - r->steps;

	if (count > 0 && (per > left / count || count * per > left))
		return an_set_error(r->err, r->errlen, AN_ELIMIT,
						"pattern matching needed more than %lld steps",
						(long long) r->max_steps);
	r->steps += count * per;
	return AN_OK;
}

/*
 * One layer through a time gap.  Forward (dir > 0): the events cur in
 * [from, to) accepted by atom test with some o in O (sorted, no >= 1
 * elements) before cur and d = ts[cur] - ts[o] allowed by gap.  Backward
 * (dir < 0): the same with o after cur and d = ts[o] - ts[cur].  Output in
 * order of iteration (ascending forward, descending backward).
 *
 * O is walked in order of decreasing d (ascending forward, descending
 * backward), so for a fixed cur the elements with d <= hi, with d < lo,
 * with d <= x and with d < x start at indices jlo, jhi, ax, bx; the
 * allowed ones are [jlo, min(jb, jhi)) minus the blocks [ax, bx) of the
 * excluded x, jb counting the elements on the right side of cur.  As cur
 * moves (in time order) every d grows, so every index only moves forward.
 */
static int
sq_time_layer(sq_run *r, const sq_atom *gap, const sq_atom *test, int dir,
			  const int32_t *O, int32_t no, int32_t from, int32_t to,
			  int32_t *out, int32_t *nout)
{
	const fn_entry *ev = r->ev;
	const uint64_t *x = r->p->excl + gap->excl_off;
	int32_t		nx = gap->n_excl;
	int32_t    *ax = r->ptr;
	int32_t    *bx = r->ptr + nx;
	int32_t		jb = 0;
	int32_t		jlo = 0;
	int32_t		jhi = 0;
	int32_t		cnt = 0;
	int32_t		it;
	int32_t		t;
	int			rc;

#define SQ_OTHER(k)		(dir > 0 ? O[(k)] : O[no - 1 - (k)])
#define SQ_LATER(k)		(dir > 0 ? tc : ev[SQ_OTHER(k)].ts)
#define SQ_EARLIER(k)	(dir > 0 ? ev[SQ_OTHER(k)].ts : tc)
#define SQ_DLE(k, c)	sq_dist_le(SQ_LATER(k), SQ_EARLIER(k), (c))
#define SQ_DLT(k, c)	sq_dist_lt(SQ_LATER(k), SQ_EARLIER(k), (c))

	*nout = 0;
	if (to <= from)
		return AN_OK;
	rc = sq_charge(r, (int64_t) (to - from), 1 + (int64_t) nx);
	if (rc == AN_OK)
		rc = sq_charge(r, no, 1);
	if (rc != AN_OK)
		return rc;
	for (t = 0; t < nx; t++)
		ax[t] = bx[t] = 0;
	for (it = 0; it < to - from; it++)
	{
		int32_t		cur = dir > 0 ? from + it : to - 1 - it;
		int64_t		tc;
		int32_t		end;
		int64_t		live;

		if ((it & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(r->a);
		if (!sq_accepts(test, ev[cur].mask))
			continue;
		tc = ev[cur].ts;
		while (jb < no && (dir > 0 ? SQ_OTHER(jb) < cur : SQ_OTHER(jb) > cur))
			jb++;
		while (jlo < no && !SQ_DLE(jlo, gap->hi))
			jlo++;
		while (jhi < no && !SQ_DLT(jhi, gap->lo))
			jhi++;
		end = jb < jhi ? jb : jhi;
		if (end <= jlo)
			continue;
		live = end - jlo;
		for (t = 0; t < nx && live > 0; t++)
		{
			int32_t		s;
			int32_t		e;

			while (ax[t] < no && !SQ_DLE(ax[t], x[t]))
				ax[t]++;
			while (bx[t] < no && !SQ_DLT(bx[t], x[t]))
				bx[t]++;
			s = ax[t] > jlo ? ax[t] : jlo;
			e = bx[t] < end ? bx[t] : end;
			if (e > s)
				live -= e - s;
		}
		if (live > 0)
			out[cnt++] = cur;
	}
	*nout = cnt;
	return AN_OK;

#undef SQ_OTHER
#undef SQ_LATER
#undef SQ_EARLIER
#undef SQ_DLE
#undef SQ_DLT
}

/*
 * Forward layer: from P (the events that can end a partial match at atom
 * i - 1, ascending, np >= 1) to Q, those in [0, end) that can end one at
 * atom i (ascending).
 */
static int
sq_forward(sq_run *r, int32_t i, const int32_t *P, int32_t np, int32_t end,
		   int32_t *Q, int32_t *nq)
{
	const sq_atom *at = &r->p->atoms[i];
	const fn_entry *ev = r->ev;
	int32_t		cnt = 0;
	int32_t		k;
	int32_t		q;
	int			rc;

	*nq = 0;
	switch (at->gap)
	{
		case SQ_GAP_NEVER:
			return AN_OK;
		case SQ_GAP_NEXT:
			rc = sq_charge(r, np, 1);
			if (rc != AN_OK)
				return rc;
			for (k = 0; k < np; k++)
			{
				if ((k & FN_CHECK_MASK) == FN_CHECK_MASK)
					an_check_interrupts(r->a);
				q = P[k] + 1;
				if (q < end && sq_accepts(at, ev[q].mask))
					Q[cnt++] = q;
			}
			break;
		case SQ_GAP_ANY:
			if (P[0] + 1 >= end)
				return AN_OK;
			rc = sq_charge(r, end - P[0] - 1, 1);
			if (rc != AN_OK)
				return rc;
			for (q = P[0] + 1; q < end; q++)
			{
				if ((q & FN_CHECK_MASK) == FN_CHECK_MASK)
					an_check_interrupts(r->a);
				if (sq_accepts(at, ev[q].mask))
					Q[cnt++] = q;
			}
			break;
		default:
			return sq_time_layer(r, at, at, 1, P, np, P[0] + 1, end, Q, nq);
	}
	*nq = cnt;
	return AN_OK;
}

/*
 * Backward layer: from Q (the events that can start a valid continuation
 * at atom i + 1, ascending, nq >= 1) to P, the events that can start one
 * at atom i (ascending).
 */
static int
sq_backward(sq_run *r, int32_t i, const int32_t *Q, int32_t nq,
			int32_t *P, int32_t *np)
{
	const sq_atom *at = &r->p->atoms[i];
	const sq_atom *gap = &r->p->atoms[i + 1];
	const fn_entry *ev = r->ev;
	int32_t		cnt = 0;
	int32_t		k;
	int32_t		p;
	int32_t		t;
	int			rc;

	*np = 0;
	switch (gap->gap)
	{
		case SQ_GAP_NEVER:
			return AN_OK;
		case SQ_GAP_NEXT:
			rc = sq_charge(r, nq, 1);
			if (rc != AN_OK)
				return rc;
			for (k = 0; k < nq; k++)
			{
				if ((k & FN_CHECK_MASK) == FN_CHECK_MASK)
					an_check_interrupts(r->a);
				p = Q[k] - 1;
				if (p >= 0 && sq_accepts(at, ev[p].mask))
					P[cnt++] = p;
			}
			break;
		case SQ_GAP_ANY:
			rc = sq_charge(r, Q[nq - 1], 1);
			if (rc != AN_OK)
				return rc;
			for (p = 0; p < Q[nq - 1]; p++)
			{
				if ((p & FN_CHECK_MASK) == FN_CHECK_MASK)
					an_check_interrupts(r->a);
				if (sq_accepts(at, ev[p].mask))
					P[cnt++] = p;
			}
			break;
		default:
			rc = sq_time_layer(r, gap, at, -1, Q, nq, 0, Q[nq - 1], P, &cnt);
			if (rc != AN_OK)
				return rc;
			for (k = 0, t = cnt - 1; k < t; k++, t--)
			{
				p = P[k];
				P[k] = P[t];
				P[t] = p;
			}
			break;
	}
	*np = cnt;
	return AN_OK;
}

/*
 * Validate the arguments shared by sq_match and sq_count, keep the events
 * with at least one condition, sort them by (ts, row) and allocate the
 * layer arrays (n_layers arrays of n int32) and the excluded-value
 * pointers.  On success *block holds everything (one allocation, or NULL
 * when there are no events).
 */
static int
sq_prepare(sq_run *r, const sq_program *p, const fn_event *events, int64_t n,
		   int64_t max_steps, int n_layers, int32_t **layers, void **block,
		   const an_allocator *a, char *err, size_t errlen)
{
	fn_entry   *ev;
	int64_t		kept = 0;
	int64_t		i;
	size_t		size;
	int			l;
	int			rc;

	*block = NULL;
	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "allocator is NULL");
	if (p == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "the pattern is NULL");
	if (n < 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"the number of events must not be negative");
	if (n > 0 && events == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "events is NULL");
	if (max_steps < 1)
		return an_set_error(err, errlen, AN_EINVAL, "max_steps must be at least 1");

	memset(r, 0, sizeof(*r));
	r->p = p;
	r->max_steps = max_steps;
	r->a = a;
	r->err = err;
	r->errlen = errlen;

	for (i = 0; i < n; i++)
	{
		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (events[i].mask != 0)
			kept++;
	}
	if (kept == 0)
		return AN_OK;
	if (kept >= INT32_MAX)
		return an_set_error(err, errlen, AN_ELIMIT,
						"too many events for pattern matching: %lld (at most %d)",
						(long long) kept, INT32_MAX - 1);

	size = sq_align((size_t) kept * sizeof(fn_entry)) +
		(size_t) n_layers * sq_align((size_t) kept * sizeof(int32_t)) +
		2 * (size_t) p->max_excl * sizeof(int32_t);
	ev = an_alloc(a, size);
	if (ev == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	for (l = 0; l < n_layers; l++)
		layers[l] = (int32_t *) ((char *) ev + sq_align((size_t) kept * sizeof(fn_entry)) +
								 (size_t) l * sq_align((size_t) kept * sizeof(int32_t)));
	r->ptr = (int32_t *) ((char *) ev + sq_align((size_t) kept * sizeof(fn_entry)) +
						  (size_t) n_layers * sq_align((size_t) kept * sizeof(int32_t)));

	kept = 0;
	for (i = 0; i < n; i++)
	{
		if ((i & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (events[i].mask == 0)
			continue;
		ev[kept].ts = events[i].ts;
		ev[kept].row = events[i].row;
		ev[kept].mask = events[i].mask;
		ev[kept].k = 0;
		kept++;
	}
	rc = entry_sort(ev, (size_t) kept, a);
	if (rc != AN_OK)
	{
		an_free(a, ev);
		return an_set_error(err, errlen, rc, "out of memory");
	}
	r->ev = ev;
	r->n = (int32_t) kept;
	*block = ev;
	return AN_OK;
}

/* The events in [0, end) accepted by atom 0, into L. */
static int
sq_first_layer(sq_run *r, int32_t end, int32_t *L, int32_t *nl)
{
	const sq_atom *at = &r->p->atoms[0];
	int32_t		cnt = 0;
	int32_t		q;
	int			rc;

	*nl = 0;
	rc = sq_charge(r, end, 1);
	if (rc != AN_OK)
		return rc;
	for (q = 0; q < end; q++)
	{
		if ((q & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(r->a);
		if (sq_accepts(at, r->ev[q].mask))
			L[cnt++] = q;
	}
	*nl = cnt;
	return AN_OK;
}

/*
 * Does the pattern match?  Forward layers over all events.
 */
int
sq_match(const sq_program *p, const fn_event *events, int64_t n,
		 int64_t max_steps, bool *matched, const an_allocator *a,
		 char *err, size_t errlen)
{
	sq_run		r;
	int32_t    *layers[2];
	int32_t    *swap;
	int32_t		na = 0;
	int32_t		nb = 0;
	int32_t		i;
	void	   *block;
	int			rc;

	if (matched == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "matched is NULL");
	*matched = false;
	rc = sq_prepare(&r, p, events, n, max_steps, 2, layers, &block, a, err, errlen);
	if (rc != AN_OK || block == NULL)
		return rc;

	rc = sq_first_layer(&r, r.n, layers[0], &na);
	for (i = 1; rc == AN_OK && i < p->n_atoms && na > 0; i++)
	{
		rc = sq_forward(&r, i, layers[0], na, r.n, layers[1], &nb);
		swap = layers[0];
		layers[0] = layers[1];
		layers[1] = swap;
		na = nb;
	}
	if (rc == AN_OK)
		*matched = na > 0;
	an_free(a, block);
	return rc;
}

/*
 * The earliest end of a match that starts at event s (which is known to
 * start one): forward layers from {s} over [s, s + L), L doubling.
 */
static int
sq_earliest_end(sq_run *r, int32_t s, int32_t *A, int32_t *B, int32_t *end_out)
{
	int64_t		span = r->p->n_atoms;
	int32_t		end;
	int32_t		na;
	int32_t		nb;
	int32_t		i;
	int32_t    *swap;
	int			rc;

	for (;;)
	{
		end = span >= r->n - s ? r->n : s + (int32_t) span;
		A[0] = s;
		na = 1;
		for (i = 1; i < r->p->n_atoms && na > 0; i++)
		{
			rc = sq_forward(r, i, A, na, end, B, &nb);
			if (rc != AN_OK)
				return rc;
			swap = A;
			A = B;
			B = swap;
			na = nb;
		}
		if (na > 0)
		{
			*end_out = A[0];
			return AN_OK;
		}
		if (end >= r->n)
			return an_set_error(r->err, r->errlen, AN_EINVAL,
							"internal error: no match from a possible start");
		span *= 2;
	}
}

/*
 * Count non-overlapping matches: leftmost start, then earliest end for
 * that start, resuming after the end.
 */
int
sq_count(const sq_program *p, const fn_event *events, int64_t n,
		 int64_t max_steps, int64_t *count, const an_allocator *a,
		 char *err, size_t errlen)
{
	sq_run		r;
	int32_t    *layers[3];
	int32_t    *starts;
	int32_t		ns = 0;
	int32_t		nb = 0;
	int32_t		si;
	int32_t		pos;
	int32_t		e = 0;
	int32_t		i;
	int32_t		q;
	int			cur = 0;		/* layers[cur] holds the current starts */
	void	   *block;
	int			rc;

	if (count == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "count is NULL");
	*count = 0;
	rc = sq_prepare(&r, p, events, n, max_steps, 3, layers, &block, a, err, errlen);
	if (rc != AN_OK || block == NULL)
		return rc;

	/* backward: B_m, then B_i from B_i+1; B_1 is the set of possible starts */
	rc = sq_charge(&r, r.n, 1);
	for (q = 0; rc == AN_OK && q < r.n; q++)
	{
		if ((q & FN_CHECK_MASK) == FN_CHECK_MASK)
			an_check_interrupts(a);
		if (sq_accepts(&p->atoms[p->n_atoms - 1], r.ev[q].mask))
			layers[cur][ns++] = q;
	}
	for (i = p->n_atoms - 2; rc == AN_OK && i >= 0 && ns > 0; i--)
	{
		rc = sq_backward(&r, i, layers[cur], ns, layers[1 - cur], &nb);
		cur = 1 - cur;
		ns = nb;
	}
	starts = layers[cur];

	pos = 0;
	si = 0;
	while (rc == AN_OK)
	{
		while (si < ns && starts[si] < pos)
			si++;
		if (si >= ns)
			break;
		rc = sq_earliest_end(&r, starts[si], layers[1 - cur], layers[2], &e);
		if (rc != AN_OK)
			break;
		(*count)++;
		pos = e + 1;
	}
	if (rc != AN_OK)
		*count = 0;
	an_free(a, block);
	return rc;
}
