/*
 * test_funnel.c
 *		Unit tests of the event-sequence cores (src/lib/funnel.c): window
 *		funnels and sequence patterns.
 *
 * Hand examples carry their derivation in a comment; the ClickHouse cases
 * are the expected values of ClickHouse's own windowFunnel tests (seconds
 * there, seconds * 1e6 here).  Random inputs are compared with brute
 * forces written from the definitions in funnel.h, not from the scan or
 * the layered matcher of funnel.c.  FUNNEL_BENCH=1 adds timings.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "funnel.h"
#include "rng.h"
#include "unit.h"

#define SEC		INT64_C(1000000)
#define C1		UINT64_C(1)
#define C2		UINT64_C(2)
#define C3		UINT64_C(4)
#define C4		UINT64_C(8)
#define MAXEV	64
#define NELEM(x) ((int) (sizeof(x) / sizeof((x)[0])))

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------
 * window funnel helpers
 * ---------------------------------------------------------------------
 */

/* the level, or -1 on error (the message is noted) */
static int
wf(const fn_event *ev, int64_t n, int n_steps, int64_t window, unsigned modes,
   int64_t *chain)
{
	int			level = -2;
	char		err[256];
	int			rc;

	rc = fn_window_funnel(ev, n, n_steps, window, modes, &level, chain,
						  &an_std_allocator, err, sizeof(err));
	if (rc != AN_OK)
	{
		NOTE("fn_window_funnel: %s", err);
		return -1;
	}
	return level;
}

/* a condition of ClickHouse's tests over the event code e */
typedef struct ch_cond
{
	char		op;				/* '=' e == v, 'l' e <= v, 'g' e >= v */
	int			v;
} ch_cond;

/* windowFunnel(window_sec, modes)(t, conditions...) over rows (t, e) */
static int
ch_funnel(const int64_t *t, const int *e, int n, const ch_cond *c, int nc,
		  int64_t window_sec, unsigned modes)
{
	fn_event	ev[MAXEV];
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		uint64_t	m = 0;

		for (j = 0; j < nc; j++)
		{
			bool		holds = c[j].op == '=' ? e[i] == c[j].v :
				c[j].op == 'l' ? e[i] <= c[j].v : e[i] >= c[j].v;

			if (holds)
				m |= UINT64_C(1) << j;
		}
		ev[i].ts = t[i] * SEC;
		ev[i].mask = m;
		ev[i].row = i;
	}
	return wf(ev, n, nc, window_sec * SEC, modes, NULL);
}

typedef struct bf_entry
{
	int64_t		ts;
	int			k;
	int64_t		row;
} bf_entry;

/*
 * The scan's entries of events ev: one (ts, step, row) per step an event
 * satisfies, plus (ts, 0, row) for events satisfying none when with_zero
 * (strict_order); sorted by (ts, step, row) with an insertion sort.
 */
static int
bf_entries(const fn_event *ev, int n, int n_steps, bool with_zero, bf_entry *ent)
{
	int			ne = 0;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		if (ev[i].mask == 0 && with_zero)
		{
			ent[ne].ts = ev[i].ts;
			ent[ne].k = 0;
			ent[ne].row = ev[i].row;
			ne++;
		}
		for (j = 0; j < n_steps; j++)
			if (ev[i].mask & (UINT64_C(1) << j))
			{
				ent[ne].ts = ev[i].ts;
				ent[ne].k = j + 1;
				ent[ne].row = ev[i].row;
				ne++;
			}
	}
	/* insertion sort by (ts, k, row) */
	for (i = 1; i < ne; i++)
	{
		bf_entry	x = ent[i];

		for (j = i; j > 0; j--)
		{
			bf_entry   *y = &ent[j - 1];

			if (y->ts < x.ts || (y->ts == x.ts && (y->k < x.k ||
												   (y->k == x.k && y->row < x.row))))
				break;
			ent[j] = *y;
		}
		ent[j] = x;
	}
	return ne;
}

/*
 * Brute force of the default mode from the definition: the maximum over
 * step-1 entries s of the longest prefix of steps matched by entries after
 * s in the (ts, step, row) order, each with ts <= s.ts + window.  For one
 * s, taking each next step at its first possible entry is optimal (any
 * match of the prefix can be moved to the earliest entries one step at a
 * time), so the inner loop is the plain subsequence greedy.
 */
static int
brute_funnel(const fn_event *ev, int n, int n_steps, int64_t window)
{
	bf_entry	ent[MAXEV * FN_MAX_STEPS];
	int			ne = 0;
	int			i;
	int			j;
	int			best = 0;

	ne = bf_entries(ev, n, n_steps, false, ent);
	for (i = 0; i < ne; i++)
	{
		int			lvl = 1;

		if (ent[i].k != 1)
			continue;
		for (j = i + 1; j < ne && lvl < n_steps; j++)
			if (ent[j].k == lvl + 1 && ent[j].ts - ent[i].ts <= window)
				lvl++;
		if (lvl > best)
			best = lvl;
	}
	return best;
}

/* shuffle events in place */
static void
shuffle_events(an_rng *r, fn_event *ev, int n)
{
	int			i;

	for (i = n - 1; i > 0; i--)
	{
		int			j = (int) an_rng_below(r, (uint64_t) i + 1);
		fn_event	x = ev[i];

		ev[i] = ev[j];
		ev[j] = x;
	}
}

/* ---------------------------------------------------------------------
 * allocators for the failure and interrupt tests
 * ---------------------------------------------------------------------
 */

/* unit_ctx, unit_alloc, unit_release, unit_interrupts: see unit.h */

/* ---------------------------------------------------------------------
 * sequence helpers
 * ---------------------------------------------------------------------
 */

/* 1 match, 0 no match, -1 error (noted) */
static int
seq_match(const char *pat, int n_conds, const fn_event *ev, int n)
{
	sq_program *p = NULL;
	char		err[256];
	bool		m = false;
	int			rc;

	rc = sq_compile(pat, strlen(pat), n_conds, &an_std_allocator, &p, err, sizeof(err));
	if (rc != AN_OK)
	{
		NOTE("sq_compile(%s): %s", pat, err);
		return -1;
	}
	rc = sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
	sq_free(&an_std_allocator, p);
	if (rc != AN_OK)
	{
		NOTE("sq_match(%s): %s", pat, err);
		return -1;
	}
	return m ? 1 : 0;
}

/* the count, -1 on error (noted) */
static int64_t
seq_count(const char *pat, int n_conds, const fn_event *ev, int n)
{
	sq_program *p = NULL;
	char		err[256];
	int64_t		c = -2;
	int			rc;

	rc = sq_compile(pat, strlen(pat), n_conds, &an_std_allocator, &p, err, sizeof(err));
	if (rc != AN_OK)
	{
		NOTE("sq_compile(%s): %s", pat, err);
		return -1;
	}
	rc = sq_count(p, ev, n, INT64_MAX, &c, &an_std_allocator, err, sizeof(err));
	sq_free(&an_std_allocator, p);
	if (rc != AN_OK)
	{
		NOTE("sq_count(%s): %s", pat, err);
		return -1;
	}
	return c;
}

/* compile and expect AN_EINVAL whose message names "position pos" */
static bool
syntax_error_at(const char *pat, size_t len, int n_conds, int pos, const char *word)
{
	sq_program *p = NULL;
	char		err[256] = "";
	char		want[64];
	int			rc;

	rc = sq_compile(pat, len, n_conds, &an_std_allocator, &p, err, sizeof(err));
	if (rc == AN_OK)
	{
		sq_free(&an_std_allocator, p);
		NOTE("pattern \"%s\" compiled", pat);
		return false;
	}
	NOTE("\"%.*s\": %s", (int) len, pat, err);
	snprintf(want, sizeof(want), "position %d of the pattern", pos);
	return rc == AN_EINVAL && p == NULL && strstr(err, want) != NULL &&
		(word == NULL || strstr(err, word) != NULL);
}

/*
 * A random pattern as a structure (for the brute force) and as text.
 * gap[i] relates atom i - 1 and atom i: 0 adjacent, 1 .*, 2 time
 * conditions (with optional .* around them).
 */
#define BP_MAX_ATOMS 6
#define BP_MAX_TIME	3

typedef struct bpat
{
	int			m;
	int			cond[BP_MAX_ATOMS]; /* 0 = . */
	int			gap[BP_MAX_ATOMS];
	int			nt[BP_MAX_ATOMS];
	int			op[BP_MAX_ATOMS][BP_MAX_TIME];	/* 0 < 1 <= 2 > 3 >= 4 == 5 != */
	int64_t		sec[BP_MAX_ATOMS][BP_MAX_TIME];
	char		text[512];
} bpat;

static const char *const bp_ops[] = {"<", "<=", ">", ">=", "==", "!="};

static void
bp_random(an_rng *r, bpat *bp, int max_atoms, int n_conds)
{
	int			i;
	int			t;
	size_t		len = 0;

#define BP_PUT(...) (len += (size_t) snprintf(bp->text + len, sizeof(bp->text) - len, __VA_ARGS__))

	bp->m = 1 + (int) an_rng_below(r, (uint64_t) max_atoms);
	if (an_rng_below(r, 4) == 0)
		BP_PUT(".*");
	for (i = 0; i < bp->m; i++)
	{
		bp->cond[i] = (int) an_rng_below(r, (uint64_t) n_conds + 1);
		bp->gap[i] = i == 0 ? 1 : (int) an_rng_below(r, 3);
		bp->nt[i] = 0;
		if (i > 0 && bp->gap[i] == 1)
		{
			BP_PUT(".*");
			if (an_rng_below(r, 5) == 0)
				BP_PUT(".*");
		}
		if (i > 0 && bp->gap[i] == 2)
		{
			bp->nt[i] = 1 + (int) an_rng_below(r, an_rng_below(r, 3) == 0 ? BP_MAX_TIME : 1);
			if (an_rng_below(r, 4) == 0)
				BP_PUT(".*");
			for (t = 0; t < bp->nt[i]; t++)
			{
				bp->op[i][t] = (int) an_rng_below(r, 6);
				bp->sec[i][t] = (int64_t) an_rng_below(r, 4);
				BP_PUT("(?t%s%lld)", bp_ops[bp->op[i][t]], (long long) bp->sec[i][t]);
				if (an_rng_below(r, 6) == 0)
					BP_PUT(".*");
			}
		}
		if (bp->cond[i] == 0)
			BP_PUT(".");
		else
			BP_PUT("(?%d)", bp->cond[i]);
	}
	if (an_rng_below(r, 4) == 0)
		BP_PUT(".*");
#undef BP_PUT
}

/* the pattern's events (mask != 0) sorted by (ts, row) */
static int
bp_events(const fn_event *in, int n, fn_event *out)
{
	int			ne = 0;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
		if (in[i].mask != 0)
			out[ne++] = in[i];
	for (i = 1; i < ne; i++)
	{
		fn_event	x = out[i];

		for (j = i; j > 0; j--)
			if (out[j - 1].ts < x.ts || (out[j - 1].ts == x.ts && out[j - 1].row < x.row))
				break;
			else
				out[j] = out[j - 1];
		out[j] = x;
	}
	return ne;
}

/* do atom i at q and its gap from the atom before (at p) hold literally? */
static bool
bp_holds(const bpat *bp, const fn_event *ev, int i, int p, int q)
{
	int			t;

	if (bp->cond[i] != 0 && !(ev[q].mask & (UINT64_C(1) << (bp->cond[i] - 1))))
		return false;
	if (i == 0)
		return true;
	if (q <= p)
		return false;
	if (bp->gap[i] == 0)
		return q == p + 1;
	if (bp->gap[i] == 1)
		return true;
	for (t = 0; t < bp->nt[i]; t++)
	{
		int64_t		d = ev[q].ts - ev[p].ts;
		int64_t		c = bp->sec[i][t] * SEC;
		bool		ok;

		switch (bp->op[i][t])
		{
			case 0:
				ok = d < c;
				break;
			case 1:
				ok = d <= c;
				break;
			case 2:
				ok = d > c;
				break;
			case 3:
				ok = d >= c;
				break;
			case 4:
				ok = d == c;
				break;
			default:
				ok = d != c;
				break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/*
 * Enumerate every assignment of the atoms to increasing positions >= from;
 * keep the lexicographically smallest (start, end).
 */
static void
bp_enum(const bpat *bp, const fn_event *ev, int n, int i, int *pos, int from,
		int *best_s, int *best_e)
{
	int			q;

	if (i == bp->m)
	{
		if (*best_s < 0 || pos[0] < *best_s ||
			(pos[0] == *best_s && pos[bp->m - 1] < *best_e))
		{
			*best_s = pos[0];
			*best_e = pos[bp->m - 1];
		}
		return;
	}
	for (q = i == 0 ? from : pos[i - 1] + 1; q < n; q++)
	{
		if (!bp_holds(bp, ev, i, i == 0 ? -1 : pos[i - 1], q))
			continue;
		pos[i] = q;
		bp_enum(bp, ev, n, i + 1, pos, from, best_s, best_e);
	}
}

static bool
bp_brute_match(const bpat *bp, const fn_event *ev, int n)
{
	int			pos[BP_MAX_ATOMS];
	int			s = -1;
	int			e = -1;

	bp_enum(bp, ev, n, 0, pos, 0, &s, &e);
	return s >= 0;
}

/* the documented counting rule, by enumeration */
static int64_t
bp_brute_count(const bpat *bp, const fn_event *ev, int n)
{
	int			pos[BP_MAX_ATOMS];
	int			from = 0;
	int64_t		c = 0;

	for (;;)
	{
		int			s = -1;
		int			e = -1;

		bp_enum(bp, ev, n, 0, pos, from, &s, &e);
		if (s < 0)
			return c;
		c++;
		from = e + 1;
	}
}

#define MID_MAXN 256

/*
 * A second reference for longer inputs, O(n^2 * atoms): fin[i][p] says
 * whether atoms i.. can be matched with atom i at p (checking every pair
 * (p, q) literally), end[i][p] the earliest end of such a completion.
 * The count follows the documented rule: the smallest start s >= pos with
 * fin[0][s], its earliest end end[0][s], resume after it.
 */
static void
mid_reference(const bpat *bp, const fn_event *ev, int n, bool *match, int64_t *count)
{
	static bool fin[BP_MAX_ATOMS][MID_MAXN];
	static int	end[BP_MAX_ATOMS][MID_MAXN];
	int			i;
	int			p;
	int			q;
	int			pos = 0;

	for (i = bp->m - 1; i >= 0; i--)
		for (p = n - 1; p >= 0; p--)
		{
			fin[i][p] = false;
			end[i][p] = -1;
			if (bp->cond[i] != 0 && !(ev[p].mask & (UINT64_C(1) << (bp->cond[i] - 1))))
				continue;
			if (i == bp->m - 1)
			{
				fin[i][p] = true;
				end[i][p] = p;
				continue;
			}
			for (q = p + 1; q < n; q++)
				if (fin[i + 1][q] && bp_holds(bp, ev, i + 1, p, q) &&
					(end[i][p] < 0 || end[i + 1][q] < end[i][p]))
				{
					fin[i][p] = true;
					end[i][p] = end[i + 1][q];
				}
		}
	*match = false;
	*count = 0;
	for (p = 0; p < n; p++)
		if (fin[0][p])
			*match = true;
	while (pos < n)
	{
		for (p = pos; p < n && !fin[0][p]; p++)
			;
		if (p >= n)
			break;
		(*count)++;
		pos = end[0][p] + 1;
	}
}

static void
note_events(const fn_event *ev, int n)
{
	char		buf[2048];
	size_t		len = 0;
	int			i;

	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof(buf) - 64; i++)
		len += (size_t) snprintf(buf + len, sizeof(buf) - len, " (%lld,%llu,r%lld)",
								 (long long) ev[i].ts, (unsigned long long) ev[i].mask,
								 (long long) ev[i].row);
	NOTE("events:%s", buf);
}

/* ---------------------------------------------------------------------
 * tests
 * ---------------------------------------------------------------------
 */

static void
test_funnel_clickhouse(void)
{
	/* 00632_aggregation_window_funnel: rows (t, e) = (1, 1001) .. (8, 1008) */
	const int64_t t8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const int	e8[8] = {1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008};
	const ch_cond c5[5] = {{'=', 1003}, {'=', 1004}, {'=', 1005}, {'=', 1006}, {'=', 1007}};
	const ch_cond c18[2] = {{'=', 1001}, {'=', 1008}};
	const ch_cond c81[2] = {{'=', 1008}, {'=', 1001}};
	const ch_cond cmix[4] = {{'l', 1007}, {'g', 1002}, {'l', 1006}, {'g', 1004}};

	/* strict_deduplication: 1005 twice, at 50 and 51 */
	const int64_t td[10] = {0, 10, 20, 30, 40, 50, 51, 60, 70, 80};
	const int	ed[10] = {1000, 1001, 1002, 1003, 1004, 1005, 1005, 1006, 1007, 1008};
	const ch_cond cd[7] = {{'=', 1000}, {'=', 1001}, {'=', 1002}, {'=', 1003},
	{'=', 1004}, {'=', 1005}, {'=', 1006}};

	/* strict_increase: three rows at t = 1 */
	const int64_t ti[5] = {0, 1, 1, 1, 2};
	const int	ei[5] = {1000, 1001, 1002, 1003, 1004};
	const ch_cond ci[5] = {{'=', 1000}, {'=', 1001}, {'=', 1002}, {'=', 1003}, {'=', 1004}};
	const ch_cond c444[3] = {{'=', 1004}, {'=', 1004}, {'=', 1004}};

	/* 1003 at 3 .. 1007 at 7: 7 <= 3 + 4, all five steps */
	CHECK(ch_funnel(t8, e8, 8, c5, 5, 4, 0) == 5, "clickhouse: windowFunnel(4)(e=1003..e=1007) = 5");
	CHECK(ch_funnel(t8, e8, 8, c18, 2, 10000, 0) == 2, "clickhouse: windowFunnel(10000)(e=1001, e=1008) = 2");
	CHECK(ch_funnel(t8, e8, 8, c81, 2, 10000, 0) == 1, "clickhouse: windowFunnel(10000)(e=1008, e=1001) = 1");

	/*
	 * masks: 1001 {1,3}, 1002 1003 {1,2,3}, 1004 1005 1006 {1,2,3,4}, 1007
	 * {1,2,4}, 1008 {2,4}.  The chain restarts at every step-1 entry; at t =
	 * 4 the entries (4,1) (4,2) (4,3) (4,4) reach all four levels.
	 */
	CHECK(ch_funnel(t8, e8, 8, cmix, 4, 4, 0) == 4, "clickhouse: windowFunnel(4)(e<=1007, e>=1002, e<=1006, e>=1004) = 4");

	/* the second 1005 (step 6) finds level 5 reached: stop at level 6 */
	CHECK(ch_funnel(td, ed, 10, cd, 7, 10000, FN_STRICT_DEDUPLICATION) == 6,
		  "clickhouse: strict_deduplication stops at a repeated step (6)");
	CHECK(ch_funnel(td, ed, 10, cd, 7, 10000, 0) == 7, "clickhouse: without strict_deduplication = 7");

	CHECK(ch_funnel(ti, ei, 5, ci, 5, 10000, 0) == 5, "clickhouse: strict_increase data, default mode = 5");
	/* step 3 at t = 1 needs the step-2 timestamp (1) < 1: no */
	CHECK(ch_funnel(ti, ei, 5, ci, 5, 10000, FN_STRICT_INCREASE) == 2, "clickhouse: strict_increase = 2");
	/* the row (2, 1004) gives entries (2,1) (2,2) (2,3): three levels */
	CHECK(ch_funnel(ti, ei, 5, c444, 3, 10000, 0) == 3, "clickhouse: one row fills three steps in default mode (3)");
	/*
	 * strict_once (ClickHouse gives 1 too): only the row (2, 1004) matches,
	 * with entries (2,1) (2,2) (2,3).  (2,1) appends the chain [row 4] to
	 * level 0; (2,2) finds only that chain at level 0 and it already holds
	 * row 4, so nothing reaches level 1; (2,3) finds level 1 empty.  Level
	 * 0 only: 1.
	 */
	CHECK(ch_funnel(ti, ei, 5, c444, 3, 10000, FN_STRICT_ONCE) == 1, "strict_once: one row counts for one step (1)");
	/* strict_increase on the same: 2 < 2 fails */
	CHECK(ch_funnel(ti, ei, 5, c444, 3, 10000, FN_STRICT_INCREASE) == 1, "strict_increase: one row fills one step (1)");
}

static void
test_funnel_hand(void)
{
	int64_t		chain[FN_MAX_STEPS];
	fn_event	ev[MAXEV];
	int			i;

	{
		/* A at 1, B at 2, D (no step) at 3, C at 4; steps A, B, C */
		fn_event	abdc[4] = {{1 * SEC, C1, 0}, {2 * SEC, C2, 1}, {3 * SEC, 0, 2}, {4 * SEC, C3, 3}};
		/* D, A, B, C: D comes before any chain started */
		fn_event	dabc[4] = {{1 * SEC, 0, 0}, {2 * SEC, C1, 1}, {3 * SEC, C2, 2}, {4 * SEC, C3, 3}};
		/* A, C, B: C out of order */
		fn_event	acb[3] = {{1 * SEC, C1, 0}, {2 * SEC, C3, 1}, {3 * SEC, C2, 2}};

		CHECK(wf(abdc, 4, 3, 100 * SEC, FN_STRICT_ORDER, NULL) == 2, "strict_order: an event of no step stops the chain (2)");
		CHECK(wf(abdc, 4, 3, 100 * SEC, 0, NULL) == 3, "without strict_order the intervening event is ignored (3)");
		CHECK(wf(dabc, 4, 3, 100 * SEC, FN_STRICT_ORDER, NULL) == 3, "strict_order: events before the first step are skipped (3)");
		/* default: A level 0, C skipped (level 1 not reached), B level 1 */
		CHECK(wf(acb, 3, 3, 100 * SEC, 0, NULL) == 2, "default: a step out of order is skipped (2)");
		/* strict_order: C with level 1 unreached after A: stop at 1 */
		CHECK(wf(acb, 3, 3, 100 * SEC, FN_STRICT_ORDER, NULL) == 1, "strict_order: a step out of order stops (1)");
		CHECK(wf(acb, 3, 3, 100 * SEC, FN_STRICT_DEDUPLICATION, NULL) == 2, "strict_deduplication alone lets a skipped step pass (2)");
		{
			/*
			 * levels are never cleared by a restart: steps A B C, window 10,
			 * A@0 B@1 A@100 B@101 C@102.  Default: the chain restarted at
			 * 100 completes (3).  strict_deduplication: B@101 finds level 1
			 * reached (by the old chain) and stops: 2, as in ClickHouse.
			 */
			fn_event	rs[5] = {{0, C1, 0}, {SEC, C2, 1}, {100 * SEC, C1, 2}, {101 * SEC, C2, 3}, {102 * SEC, C3, 4}};

			CHECK(wf(rs, 5, 3, 10 * SEC, 0, NULL) == 3, "a restarted chain completes (3)");
			CHECK(wf(rs, 5, 3, 10 * SEC, FN_STRICT_DEDUPLICATION, NULL) == 2,
				  "strict_deduplication sees a step reached by an earlier chain as repeated (2)");
		}
		/* strict_order: a step 2 before any step 1 is skipped, not a stop */
		acb[0].mask = C2;
		acb[1].mask = C1;
		CHECK(wf(acb, 3, 3, 100 * SEC, FN_STRICT_ORDER, NULL) == 2, "strict_order: a step before the first start is skipped (2)");
	}

	{
		/* the window end is inclusive: 1 hour */
		fn_event	in[2] = {{5 * SEC, C1, 0}, {5 * SEC + 3600 * SEC, C2, 1}};
		fn_event	out[2] = {{5 * SEC, C1, 0}, {5 * SEC + 3600 * SEC + 1, C2, 1}};

		CHECK(wf(in, 2, 2, 3600 * SEC, 0, NULL) == 2, "a step exactly window after step 1 counts");
		CHECK(wf(out, 2, 2, 3600 * SEC, 0, NULL) == 1, "a step one microsecond later does not");
		CHECK(wf(in, 2, 2, 0, 0, NULL) == 1, "window 0 needs equal timestamps");
		in[1].ts = in[0].ts;
		CHECK(wf(in, 2, 2, 0, 0, NULL) == 2, "window 0 with a tie in time: step 1 sorts first (2)");
	}

	{
		/*
		 * restart: step 1 at 0 and at 100, step 2 at 150, window 100: from 0
		 * the step 2 is too late (150 > 100), from 100 it is in (150 <= 200)
		 */
		fn_event	r[3] = {{0, C1, 0}, {100 * SEC, C1, 1}, {150 * SEC, C2, 2}};

		memset(chain, 0, sizeof(chain));
		CHECK(wf(r, 3, 2, 100 * SEC, 0, chain) == 2 && chain[0] == 100 * SEC && chain[1] == 150 * SEC,
			  "a later step-1 event restarts the window; chain (100, 150)");
	}

	{
		/*
		 * window 100, steps 1..3: (10,1) level 0 [10]; (20,2) level 1
		 * [10,20]; (25,1) level 0 [25]; (30,3): level 1 still holds the old
		 * chain (first 10, 30 <= 110): level 2 [10,20,30]
		 */
		fn_event	c[4] = {{25 * SEC, C1, 2}, {30 * SEC, C3, 3}, {10 * SEC, C1, 0}, {20 * SEC, C2, 1}};
		/* adding (27,2): level 1 becomes [25,27] before (30,3): [25,27,30] */
		fn_event	d[5] = {{30 * SEC, C3, 4}, {27 * SEC, C2, 3}, {25 * SEC, C1, 2}, {10 * SEC, C1, 0}, {20 * SEC, C2, 1}};

		memset(chain, 0, sizeof(chain));
		CHECK(wf(c, 4, 3, 100 * SEC, 0, chain) == 3 &&
			  chain[0] == 10 * SEC && chain[1] == 20 * SEC && chain[2] == 30 * SEC,
			  "chain_ts: an older chain at level 1 still completes (10, 20, 30)");
		memset(chain, 0, sizeof(chain));
		CHECK(wf(d, 5, 3, 100 * SEC, 0, chain) == 3 &&
			  chain[0] == 25 * SEC && chain[1] == 27 * SEC && chain[2] == 30 * SEC,
			  "chain_ts: a newer chain replaces level 1 (25, 27, 30)");
		/* window 10: from 25, 30 <= 35; the old chain (first 10) could not */
		memset(chain, 0, sizeof(chain));
		CHECK(wf(d, 5, 3, 10 * SEC, 0, chain) == 3 && chain[0] == 25 * SEC,
			  "chain_ts: window 10 needs the newer chain");
		{
			/*
			 * reaching the last level stops the scan: 1@0 2@1 reach level 1
			 * and stop, so the later chain 1@2 2@3 is never looked at
			 */
			fn_event	top[4] = {{0, C1, 0}, {1, C2, 1}, {2, C1, 2}, {3, C2, 3}};

			memset(chain, 0, sizeof(chain));
			CHECK(wf(top, 4, 2, 10, 0, chain) == 2 && chain[0] == 0 && chain[1] == 1,
				  "chain_ts: the scan stops at the first chain reaching the last step (0, 1)");
		}
		/* strict_increase with d: unchanged, all strictly increasing */
		CHECK(wf(d, 5, 3, 100 * SEC, FN_STRICT_INCREASE, NULL) == 3, "strict_increase with increasing times (3)");
	}

	{
		/*
		 * one step: the level is 1 as soon as a step-1 event exists; the
		 * scan keeps restarting level 0, so the chain is the last step-1
		 * event (the scan of funnel.h has no stop on step 1)
		 */
		fn_event	o[3] = {{7 * SEC, C1, 0}, {9 * SEC, C1, 1}, {8 * SEC, 0, 2}};

		memset(chain, 0, sizeof(chain));
		CHECK(wf(o, 3, 1, 0, 0, chain) == 1 && chain[0] == 9 * SEC, "one step: level 1, chain is the last step-1 event");
		/* strict_order: the event without steps at 8 stops after the start at 7 */
		memset(chain, 0, sizeof(chain));
		CHECK(wf(o, 3, 1, 0, FN_STRICT_ORDER, chain) == 1 && chain[0] == 7 * SEC,
			  "one step with strict_order: stopped at the event without steps");
		CHECK(wf(o + 2, 1, 1, 0, 0, NULL) == 0, "no step-1 event: 0");
		CHECK(wf(NULL, 0, 3, 0, 0, NULL) == 0, "no events: 0");
		/* step 2 only, never a step 1 */
		o[0].mask = o[1].mask = C2;
		CHECK(wf(o, 3, 2, 100 * SEC, 0, NULL) == 0, "steps without a step 1: 0");
	}

	{
		/* 64 steps, one per second, each event its own step */
		for (i = 0; i < 64; i++)
		{
			ev[i].ts = i * SEC;
			ev[i].mask = UINT64_C(1) << i;
			ev[i].row = 63 - i;
		}
		memset(chain, 0, sizeof(chain));
		CHECK(wf(ev, 64, 64, 63 * SEC, 0, chain) == 64 && chain[63] == 63 * SEC && chain[0] == 0,
			  "64 steps: all reached (bit 63 included)");
		CHECK(wf(ev, 64, 64, 62 * SEC, 0, NULL) == 63, "64 steps, window one second short: 63");
		/* one event satisfying all 64 steps */
		ev[0].mask = UINT64_MAX;
		CHECK(wf(ev, 1, 64, 0, 0, NULL) == 64, "one event with all 64 steps, default mode: 64");
		/*
		 * strict_once: (0,1) appends [row 63] to level 0; every later entry
		 * (0,k) of the same row finds level k - 2 holding only chains with
		 * that row (level 0) or empty (the others): 1
		 */
		CHECK(wf(ev, 1, 64, 0, FN_STRICT_ONCE, NULL) == 1, "the same with strict_once: 1");
	}

	{
		/* extreme timestamps: no overflow in ts - first <= window */
		fn_event	x[2] = {{INT64_MIN, C1, 0}, {INT64_MAX, C2, 1}};

		CHECK(wf(x, 2, 2, INT64_MAX, 0, NULL) == 1, "extreme times: distance 2^64 - 1 exceeds any window");
		x[0].ts = -5;
		CHECK(wf(x, 2, 2, INT64_MAX, 0, NULL) == 1, "extreme times: distance INT64_MAX + 5 exceeds the window");
		x[0].ts = 0;
		CHECK(wf(x, 2, 2, INT64_MAX, 0, NULL) == 2, "extreme times: distance INT64_MAX fits the window");
		x[0].ts = INT64_MIN;
		x[1].ts = -1;
		CHECK(wf(x, 2, 2, INT64_MAX, 0, NULL) == 2, "extreme times: distance INT64_MAX from INT64_MIN fits");
	}

	{
		/* events of no step are accepted (and ignored) without strict_order */
		fn_event	z[4] = {{0, 0, 0}, {1, C1, 1}, {2, 0, 2}, {3, C2, 3}};

		CHECK(wf(z, 4, 2, 10, 0, NULL) == 2, "events of no step are ignored without strict_order");
		/* strict_order | strict_deduplication: stops at (2, no step) */
		CHECK(wf(z, 4, 2, 10, FN_STRICT_ORDER | FN_STRICT_DEDUPLICATION, NULL) == 1,
			  "combined strict_order and strict_deduplication (1)");
	}
}

static void
test_funnel_errors(void)
{
	fn_event	ev[2] = {{0, C1, 0}, {1, C3, 1}};
	int			level = 7;
	char		err[256];
	int			rc;

	rc = fn_window_funnel(ev, 2, 2, 10, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	NOTE("%s", err);
	CHECK(rc == AN_EINVAL && strstr(err, "step 3") != NULL && level == 0, "a mask bit beyond n_steps is an error");
	rc = fn_window_funnel(ev, 2, 0, 10, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "n_steps 0 is an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 65, 10, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "n_steps 65 is an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 3, -1, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "a negative window is an error (%s)", err);
	rc = fn_window_funnel(NULL, 2, 3, 1, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL events with n > 0 is an error (%s)", err);
	rc = fn_window_funnel(ev, -1, 3, 1, 0, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "a negative n is an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 3, 1, 0x10, &level, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "unknown mode bits are an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 3, 1, 0, NULL, NULL, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL level is an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 3, 1, 0, &level, NULL, NULL, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "NULL allocator is an error (%s)", err);
	rc = fn_window_funnel(ev, 2, 3, 1, 0, &level, NULL, &an_std_allocator, NULL, 0);
	/* step 1 reaches level 0; step 3 needs level 1: level 1 */
	CHECK(rc == AN_OK && level == 1, "no error buffer is fine; steps 1 and 3 of 3 give 1 (%d)", level);
}

/* random inputs against the brute force, and mode properties */
static void
test_funnel_random(void)
{
	fn_event	ev[MAXEV];
	int64_t		chain[FN_MAX_STEPS];
	int			seed;
	long		cases = 0;
	long		bad = 0;
	long		bad_chain = 0;
	long		bad_mode = 0;
	long		bad_shuffle = 0;
	long		nonzero = 0;

	for (seed = 1; seed <= 8; seed++)
	{
		an_rng		r;
		int			c;

		an_rng_seed(&r, (uint64_t) seed * 7919);
		for (c = 0; c < 4000; c++)
		{
			int			n_steps = 1 + (int) an_rng_below(&r, 6);
			int			n = (int) an_rng_below(&r, 31);
			int64_t		tr = 1 + (int64_t) an_rng_below(&r, 12);
			int64_t		window = (int64_t) an_rng_below(&r, (uint64_t) tr + 3);
			int			got;
			int			want;
			int			i;
			unsigned	modes;

			for (i = 0; i < n; i++)
			{
				ev[i].ts = (int64_t) an_rng_below(&r, (uint64_t) tr);
				ev[i].mask = an_rng_below(&r, UINT64_C(1) << n_steps);
				if (an_rng_below(&r, 3) == 0)	/* bias toward step 1 */
					ev[i].mask |= C1;
				ev[i].row = 1000 - 3 * i;
			}
			shuffle_events(&r, ev, n);
			cases++;
			memset(chain, 0xff, sizeof(chain));
			got = wf(ev, n, n_steps, window, 0, chain);
			want = brute_funnel(ev, n, n_steps, window);
			if (want > 1)
				nonzero++;
			if (got != want)
			{
				if (bad++ == 0)
				{
					NOTE("seed %d case %d: n_steps %d window %lld: scan %d, brute force %d",
						 seed, c, n_steps, (long long) window, got, want);
					note_events(ev, n);
				}
				continue;
			}
			/* the chain: a real entry per step, in order, inside the window */
			for (i = 0; i < got; i++)
			{
				int			j;
				bool		found = false;

				for (j = 0; j < n; j++)
					if (ev[j].ts == chain[i] && (ev[j].mask & (UINT64_C(1) << i)))
						found = true;
				if (!found || (i > 0 && chain[i] < chain[i - 1]) ||
					chain[i] - chain[0] > window)
				{
					if (bad_chain++ == 0)
						NOTE("seed %d case %d: bad chain at step %d", seed, c, i + 1);
					break;
				}
			}
			/* every strict mode gives at most the default level */
			modes = 1 + (unsigned) an_rng_below(&r, 15);
			if (wf(ev, n, n_steps, window, modes, NULL) > got)
			{
				if (bad_mode++ == 0)
					NOTE("seed %d case %d: modes 0x%x above the default %d", seed, c, modes, got);
			}
			/* the order of the input does not matter, in any mode */
			{
				int			before = wf(ev, n, n_steps, window, modes, NULL);

				shuffle_events(&r, ev, n);
				if (wf(ev, n, n_steps, window, modes, NULL) != before)
					bad_shuffle++;
			}
		}
	}
	NOTE("window funnel: %ld random cases, %ld with a level above 1", cases, nonzero);
	CHECK(bad == 0, "window funnel (default mode) equals the brute force on %ld random cases (%ld differ)", cases, bad);
	CHECK(bad_chain == 0, "chain_ts is a valid chain on every random case (%ld bad)", bad_chain);
	CHECK(bad_mode == 0, "strict modes never exceed the default level (%ld violations)", bad_mode);
	CHECK(bad_shuffle == 0, "shuffled input gives the same level in every mode (%ld differ)", bad_shuffle);
}

/* ---------------------------------------------------------------------
 * strict_once
 * ---------------------------------------------------------------------
 */

/*
 * The literal strict_once scan of ClickHouse (getEventLevelStrictOnce),
 * written from the rules in funnel.h: per level a list of every chain
 * (first, last, its rows and timestamps), never collapsed, no limit.  With
 * erase, chains out of the window are deleted as ClickHouse deletes them
 * (keeping at least one per level).  Returns the level.  acc receives the
 * chains that chain_ts may be: when the scan reached the last level, every
 * chain that the entry reaching it created (ClickHouse returns at the
 * first; all are collected here), else the list of the result level.
 */
#define LIT_STEPS 5

typedef struct lit_chain
{
	int64_t		first;
	int64_t		last;
	int64_t		row[LIT_STEPS];
	int64_t		ts[LIT_STEPS];
} lit_chain;

typedef struct lit_list
{
	lit_chain  *c;
	int			n;
	int			alloc;
} lit_list;

static void
lit_push(lit_list *l, const lit_chain *c)
{
	if (l->n == l->alloc)
	{
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->c = realloc(l->c, sizeof(lit_chain) * (size_t) l->alloc);
		if (l->c == NULL)
			abort();
	}
	l->c[l->n++] = *c;
}

static int
lit_once(const fn_event *ev, int n, int n_steps, int64_t window, unsigned modes,
		 bool erase, lit_list *acc)
{
	bool		dedup = (modes & FN_STRICT_DEDUPLICATION) != 0;
	bool		order = (modes & FN_STRICT_ORDER) != 0;
	bool		increase = (modes & FN_STRICT_INCREASE) != 0;
	bf_entry	ent[MAXEV * (LIT_STEPS + 1)];
	lit_list	lv[LIT_STEPS];
	bool		started = false;
	bool		reached = false;
	int			ne = 0;
	int			level = 0;
	int			i;
	int			j;

	memset(lv, 0, sizeof(lv));
	acc->n = 0;
	ne = bf_entries(ev, n, n_steps, order, ent);

	for (i = 0; i < ne && !reached; i++)
	{
		int64_t		ts = ent[i].ts;
		int64_t		row = ent[i].row;
		int			k = ent[i].k;
		lit_list   *prev;
		int			p;

		if (k == 0)
		{
			if (started)
				break;
			continue;
		}
		if (k == 1)
		{
			lit_chain	c;

			memset(&c, 0, sizeof(c));
			c.first = c.last = ts;
			c.row[0] = row;
			c.ts[0] = ts;
			lit_push(&lv[0], &c);
			started = true;
			continue;
		}
		if (dedup && lv[k - 1].n > 0)
			break;
		if (order && started && lv[k - 2].n == 0)
			break;
		prev = &lv[k - 2];
		for (p = 0; p < prev->n;)
		{
			lit_chain	c = prev->c[p];
			bool		ok = ts <= c.first + window;
			int			q;

			if (!ok && erase && prev->n > 1)
			{
				memmove(prev->c + p, prev->c + p + 1, sizeof(lit_chain) * (size_t) (prev->n - p - 1));
				prev->n--;
				continue;
			}
			for (q = 0; q < k - 1; q++)
				if (c.row[q] == row)
					ok = false;
			if (ok && increase)
				ok = c.last < ts;
			if (ok)
			{
				c.last = ts;
				c.row[k - 1] = row;
				c.ts[k - 1] = ts;
				if (k == n_steps)
				{
					lit_push(acc, &c);
					reached = true;
				}
				else
					lit_push(&lv[k - 1], &c);
			}
			p++;
		}
	}
	if (reached)
		level = n_steps;
	else
	{
		for (j = n_steps; j > 0; j--)
			if (lv[j - 1].n > 0)
				break;
		level = j;
		for (i = 0; level > 0 && i < lv[level - 1].n; i++)
			lit_push(acc, &lv[level - 1].c[i]);
	}
	for (j = 0; j < LIT_STEPS; j++)
		free(lv[j].c);
	return level;
}

/* Is chain[0 .. level) one of the chains of acc, with the latest first timestamp? */
static bool
lit_chain_ok(const lit_list *acc, int level, const int64_t *chain)
{
	int64_t		max_first = INT64_MIN;
	bool		found = false;
	int			i;

	if (level == 0)
		return true;
	for (i = 0; i < acc->n; i++)
	{
		if (acc->c[i].first > max_first)
			max_first = acc->c[i].first;
		if (memcmp(acc->c[i].ts, chain, sizeof(int64_t) * (size_t) level) == 0)
			found = true;
	}
	return found && chain[0] == max_first;
}

/* fn_window_funnel's return code and message, for the limit tests */
static int
wf_rc(const fn_event *ev, int64_t n, int n_steps, int64_t window, unsigned modes,
	  int *level, char *err, size_t errlen, const an_allocator *a)
{
	*level = -1;
	err[0] = '\0';
	return fn_window_funnel(ev, n, n_steps, window, modes, level, NULL, a, err, errlen);
}

static void
test_funnel_once(void)
{
	int64_t		chain[FN_MAX_STEPS];

	{
		/*
		 * ClickHouse's strict_once example: windowFunnel(200) over result =
		 * 'failure', result = 'failure', result = 'success' by uid, with
		 * strict_once, strict_once + strict_increase and strict_once +
		 * strict_deduplication: 3, 2, 1 in all three.  Codes: failure 1,
		 * success 2.
		 *
		 * uid 123, f@180 f@220 s@250.  (180,1) appends [180] to level 0.
		 * (220,1) appends [220] (the chain from 180 stays).  (220,2): the
		 * chain from 180 admits it (220 <= 380, another row, 180 < 220):
		 * level 1 gets [180, 220]; the chain from 220 holds this row.
		 * (250,3): [180, 220] admits it (250 <= 380, 220 < 250): level 2,
		 * the last: 3.  strict_deduplication: level 1 and 2 were empty at
		 * (220,2) and (250,3).
		 *
		 * uid 234, f@100 f@250: (250,2) extends [100] (250 <= 300): 2.
		 *
		 * uid 345, s@200 f@210 s@230: (200,3) and (230,3) find level 1
		 * empty; (210,2) finds only [210], its own row: 1.
		 */
		const int64_t t123[3] = {180, 220, 250};
		const int	e123[3] = {1, 1, 2};
		const int64_t t234[2] = {100, 250};
		const int	e234[2] = {1, 1};
		const int64_t t345[3] = {200, 210, 230};
		const int	e345[3] = {2, 1, 2};
		const ch_cond cfs[3] = {{'=', 1}, {'=', 1}, {'=', 2}};
		const unsigned modes[3] = {FN_STRICT_ONCE, FN_STRICT_ONCE | FN_STRICT_INCREASE,
		FN_STRICT_ONCE | FN_STRICT_DEDUPLICATION};
		const char *const names[3] = {"strict_once", "strict_once,strict_increase",
		"strict_once,strict_deduplication"};
		int			m;

		for (m = 0; m < 3; m++)
		{
			CHECK(ch_funnel(t123, e123, 3, cfs, 3, 200, modes[m]) == 3, "clickhouse %s: uid 123 = 3", names[m]);
			CHECK(ch_funnel(t234, e234, 2, cfs, 3, 200, modes[m]) == 2, "clickhouse %s: uid 234 = 2", names[m]);
			CHECK(ch_funnel(t345, e345, 3, cfs, 3, 200, modes[m]) == 1, "clickhouse %s: uid 345 = 1", names[m]);
		}
		/* without strict_once uid 123 also gives 3 (one row fills two steps) */
		CHECK(ch_funnel(t123, e123, 3, cfs, 3, 200, 0) == 3, "default mode: uid 123 = 3");
	}

	{
		/* the chain of uid 123: (180, 220, 250) */
		fn_event	u[3] = {{250 * SEC, C3, 2}, {180 * SEC, C1 | C2, 0}, {220 * SEC, C1 | C2, 1}};

		memset(chain, 0, sizeof(chain));
		CHECK(wf(u, 3, 3, 200 * SEC, FN_STRICT_ONCE, chain) == 3 &&
			  chain[0] == 180 * SEC && chain[1] == 220 * SEC && chain[2] == 250 * SEC,
			  "strict_once chain_ts: the older chain that completed (180, 220, 250)");
	}

	{
		/*
		 * strict_once keeps the earlier start for strict_increase: steps A B,
		 * A@5 (row 0), A@7 (row 1), B@7 (row 2).  strict_once: level 0 holds
		 * [5] and [7]; (7,2) extends [5] (5 < 7), not [7] (7 < 7 fails): 2,
		 * chain (5, 7).  Without strict_once, (7,1) replaces level 0 by [7]:
		 * 1.
		 */
		fn_event	x[3] = {{5 * SEC, C1, 0}, {7 * SEC, C1, 1}, {7 * SEC, C2, 2}};

		memset(chain, 0, sizeof(chain));
		CHECK(wf(x, 3, 2, 10 * SEC, FN_STRICT_ONCE | FN_STRICT_INCREASE, chain) == 2 &&
			  chain[0] == 5 * SEC && chain[1] == 7 * SEC,
			  "strict_once + strict_increase keeps the earlier start: 2, chain (5, 7)");
		CHECK(wf(x, 3, 2, 10 * SEC, FN_STRICT_INCREASE, NULL) == 1,
			  "strict_increase without strict_once replaces it: 1");
		/* without strict_increase both chains extend; the later start is reported */
		memset(chain, 0, sizeof(chain));
		CHECK(wf(x, 3, 2, 10 * SEC, FN_STRICT_ONCE, chain) == 2 &&
			  chain[0] == 7 * SEC && chain[1] == 7 * SEC,
			  "strict_once: of two chains reaching the last step, the later start (7, 7)");
	}

	{
		/*
		 * rows at one timestamp satisfying two steps: steps A B C, rows 0
		 * and 1 at 0 satisfy A and B, row 2 at 1 satisfies C.  (0,1) x2:
		 * level 0 [r0], [r1]; (0,2,r0) extends [r1]; (0,2,r1) extends [r0];
		 * (1,3) extends either: 3.  With only row 0: (0,2,r0) finds only
		 * [r0]: 1.
		 */
		fn_event	y[3] = {{0, C1 | C2, 0}, {0, C1 | C2, 1}, {SEC, C3, 2}};
		fn_event	y1[2] = {{0, C1 | C2, 0}, {SEC, C3, 2}};

		CHECK(wf(y, 3, 3, 10 * SEC, FN_STRICT_ONCE, NULL) == 3, "strict_once: two rows at one time fill steps 1 and 2 (3)");
		CHECK(wf(y1, 2, 3, 10 * SEC, FN_STRICT_ONCE, NULL) == 1, "strict_once: one row cannot (1)");
		CHECK(wf(y1, 2, 3, 10 * SEC, 0, NULL) == 3, "default mode: one row can (3)");
		/* strict_deduplication: (0,2,r1) finds level 1 reached by (0,2,r0): stop at 2 */
		CHECK(wf(y, 3, 3, 10 * SEC, FN_STRICT_ONCE | FN_STRICT_DEDUPLICATION, NULL) == 2,
			  "strict_once + strict_deduplication: the second row's step 2 repeats (2)");
		/*
		 * strict_order: a row of no step at 0 sorts first ((0,0) < (0,1)),
		 * before any chain started: skipped, 3.  One at 0.5: stop at 2.
		 */
		{
			fn_event	z[4] = {{0, C1 | C2, 0}, {0, C1 | C2, 1}, {SEC, C3, 2}, {SEC / 2, 0, 3}};

			CHECK(wf(z, 4, 3, 10 * SEC, FN_STRICT_ONCE | FN_STRICT_ORDER, NULL) == 2,
				  "strict_once + strict_order: an event of no step between stops (2)");
			z[3].ts = 0;
			CHECK(wf(z, 4, 3, 10 * SEC, FN_STRICT_ONCE | FN_STRICT_ORDER, NULL) == 3,
				  "strict_once + strict_order: an event of no step before the start is skipped (3)");
		}
	}

	{
		/*
		 * ClickHouse's own strict_once test: (0,1000) (1,1001) (1,1002)
		 * (1,1003) (2,1004), windowFunnel(10000, 'strict_once')(t, e = 1004,
		 * e = 1004, e = 1004) = 1 (see test_funnel_clickhouse), and with the
		 * three steps e = 1001, e = 1002, e = 1003 at one timestamp, three
		 * different rows: 3 (with strict_increase: 1).
		 */
		const int64_t ti[5] = {0, 1, 1, 1, 2};
		const int	ei[5] = {1000, 1001, 1002, 1003, 1004};
		const ch_cond c444[3] = {{'=', 1004}, {'=', 1004}, {'=', 1004}};
		const ch_cond c123[3] = {{'=', 1001}, {'=', 1002}, {'=', 1003}};

		CHECK(ch_funnel(ti, ei, 5, c444, 3, 10000, FN_STRICT_ONCE) == 1, "clickhouse strict_once: e = 1004 three times = 1");
		CHECK(ch_funnel(ti, ei, 5, c123, 3, 10000, FN_STRICT_ONCE) == 3, "strict_once: three rows at one time = 3");
		CHECK(ch_funnel(ti, ei, 5, c123, 3, 10000, FN_STRICT_ONCE | FN_STRICT_INCREASE) == 1,
			  "strict_once + strict_increase: three rows at one time = 1");
	}

	{
		/*
		 * the limit.  p rows at one timestamp, each satisfying steps 1..3 of
		 * 3: level 0 gets the p chains [r]; each step-2 entry of row s
		 * extends every [r], r != s, so level 1 holds the chains {r, s}
		 * (the same pair from either order is a duplicate, and chains with
		 * the same start and different rows do not dominate each other):
		 * p (p - 1) / 2 chains.  91 rows: 4095 <= FN_ONCE_MAX_CHAINS, the
		 * first step-3 entry completes (3).  92 rows: 4186, AN_ELIMIT.
		 */
		fn_event   *big = malloc(sizeof(fn_event) * 1000);
		char		err[256];
		int			level;
		int			rc;
		int			i;
		double		t0;
		unit_ctx	ctx = {-1, 0, 0};
		an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};

		for (i = 0; i < 1000; i++)
		{
			big[i].ts = 42 * SEC;
			big[i].mask = C1 | C2 | C3;
			big[i].row = 5000 - 7 * i;
		}
		NOTE("FN_ONCE_MAX_CHAINS = %d", FN_ONCE_MAX_CHAINS);
		rc = wf_rc(big, 91, 3, 0, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		CHECK(rc == AN_OK && level == 3, "strict_once: 91 rows x 3 steps at one time (4095 chains) = 3 (rc %d, %d)", rc, level);
		rc = wf_rc(big, 92, 3, 0, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		NOTE("92 rows: %s", err);
		CHECK(rc == AN_ELIMIT && level == 0 && strstr(err, "strict_once") != NULL &&
			  strstr(err, "too many rows at one timestamp") != NULL,
			  "strict_once: 92 rows x 3 steps at one time (4186 chains) exceed the limit");

		/* a few hundred rows, each satisfying all of 8 steps */
		for (i = 0; i < 300; i++)
			big[i].mask = 0xff;
		t0 = now_sec();
		rc = wf_rc(big, 300, 8, 3600 * SEC, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		NOTE("300 rows x 8 steps at one time: %.1f ms: %s", (now_sec() - t0) * 1e3, err);
		{
			char		want[64];

			snprintf(want, sizeof(want), "more than %d partial chains", FN_ONCE_MAX_CHAINS);
			CHECK(rc == AN_ELIMIT && strstr(err, want) != NULL,
				  "strict_once: 300 rows x 8 steps at one time give AN_ELIMIT (\"%s\")", want);
		}
		CHECK(ctx.live == 0, "strict_once: nothing leaks on AN_ELIMIT (%d live)", ctx.live);
		/* strict_increase: chains from one time cannot extend there; no blowup */
		rc = wf_rc(big, 300, 8, 3600 * SEC, FN_STRICT_ONCE | FN_STRICT_INCREASE, &level, err, sizeof(err), &a);
		CHECK(rc == AN_OK && level == 1, "strict_once + strict_increase: 300 rows x 8 steps at one time = 1 (rc %d)", rc);
		/* the default mode is not limited */
		rc = wf_rc(big, 300, 8, 3600 * SEC, 0, &level, err, sizeof(err), &a);
		CHECK(rc == AN_OK && level == 8, "default mode: 300 rows x 8 steps at one time = 8");
		/* and later timestamps reach all 8 steps in strict_once once there are 8 of them */
		for (i = 0; i < 8; i++)
		{
			big[300 + i].ts = (43 + i) * SEC;
			big[300 + i].mask = 0xff;
			big[300 + i].row = 10000 + i;
		}
		rc = wf_rc(big + 300, 8, 8, 3600 * SEC, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		CHECK(rc == AN_OK && level == 8, "strict_once: 8 rows at 8 times, each all steps = 8");

		/*
		 * many rows at one timestamp that satisfy several steps do not reach
		 * the limit when no later step needs them: 1000 rows at 42 satisfy
		 * steps 1 and 2 of 3, row 5 at 43 satisfies step 3.  Only the rows
		 * of a chain that a later step may test are kept (rows satisfying
		 * step 3), so level 1 keeps one chain: 3.
		 */
		for (i = 0; i < 1000; i++)
			big[i].mask = C1 | C2;
		big[5].ts = 43 * SEC;
		big[5].mask = C3;
		t0 = now_sec();
		rc = wf_rc(big, 1000, 3, 3600 * SEC, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		NOTE("999 rows x steps 1, 2 at one time, then step 3: %.1f ms", (now_sec() - t0) * 1e3);
		CHECK(rc == AN_OK && level == 3, "strict_once: 999 rows at one time satisfying steps 1 and 2, then step 3 = 3 (rc %d, %d)", rc, level);
		/*
		 * the same rows also satisfying step 3: step-2 entries make the
		 * pairs {r, s} (both can still be tested by step 3), but the first
		 * step-3 entry completes... only after 998 * 999 / 2 pairs: limit
		 */
		for (i = 0; i < 1000; i++)
			big[i].mask = C1 | C2 | C3;
		rc = wf_rc(big, 1000, 3, 3600 * SEC, FN_STRICT_ONCE, &level, err, sizeof(err), &a);
		CHECK(rc == AN_ELIMIT, "strict_once: 999 rows at one time satisfying steps 1, 2 and 3 hit the limit (rc %d)", rc);
		CHECK(ctx.live == 0, "strict_once: no leaks (%d live)", ctx.live);
		CHECK(ctx.interrupts >= 10, "strict_once: long scans call check_interrupts (%ld calls)", ctx.interrupts);

		/*
		 * allocation failures: 40 rows at 0 satisfying steps 1-3 of 4 and
		 * one at 1 satisfying step 4 make the lists grow (level 0: 40
		 * chains, level 1: 780 pairs, both past the hash table threshold);
		 * level 2 gets one chain (no row satisfies step 4 at 0, so no row
		 * is kept): 4.  With k allocations allowed: AN_ENOMEM and nothing
		 * left allocated, until enough are allowed.
		 */
		for (i = 0; i < 40; i++)
		{
			big[i].ts = 0;
			big[i].mask = C1 | C2 | C3;
			big[i].row = (i * 17) % 41;
		}
		big[40].ts = SEC;
		big[40].mask = C4;
		big[40].row = 100;
		{
			an_rng		r;
			int			allow;
			int			enomem = 0;
			int			leaks = 0;
			int			other = 0;
			int			ok_after = -1;

			an_rng_seed(&r, 99);
			shuffle_events(&r, big, 41);
			for (allow = 0; allow < 80 && ok_after < 0; allow++)
			{
				unit_ctx	c2 = {allow, 0, 0};
				an_allocator a2 = {unit_alloc, unit_release, NULL, &c2};
				int64_t		ch[4];

				level = -1;
				rc = fn_window_funnel(big, 41, 4, 10 * SEC, FN_STRICT_ONCE, &level, ch, &a2, err, sizeof(err));
				if (rc == AN_ENOMEM && strstr(err, "out of memory") != NULL && level == 0)
					enomem++;
				else if (rc == AN_OK && level == 4 && ch[0] == 0 && ch[3] == SEC)
					ok_after = allow;
				else
					other++;
				if (c2.live != 0)
					leaks++;
			}
			NOTE("strict_once allocation failures: %d AN_ENOMEM, success from %d allocations", enomem, ok_after);
			CHECK(enomem >= 10 && ok_after == enomem && other == 0 && leaks == 0,
				  "strict_once: AN_ENOMEM without leaks at each of its %d allocations", ok_after);
		}
		free(big);
	}

	{
		/*
		 * 1M events with distinct timestamps, one step each, 3 steps: with
		 * one step per row strict_once changes nothing without
		 * strict_increase, so the level equals the default mode's
		 */
		int64_t		total = 1000000;
		fn_event   *ev = malloc(sizeof(fn_event) * (size_t) total);
		an_rng		r;
		int64_t		i;
		int			l0 = -1;
		int			l1 = -1;
		int64_t		ch[3];
		char		err[128];
		double		t0;
		double		t1;
		double		t2;
		int			rc0;
		int			rc1;

		an_rng_seed(&r, 4242);
		for (i = 0; i < total; i++)
		{
			ev[i].ts = i * 10 * SEC + (int64_t) an_rng_below(&r, 5 * SEC);
			ev[i].mask = UINT64_C(1) << an_rng_below(&r, 3);
			if (i < total - 10)
				ev[i].mask = an_rng_below(&r, 2) ? C1 : C2;	/* steps 1 and 2 only */
			ev[i].row = i;
		}
		t0 = now_sec();
		rc0 = fn_window_funnel(ev, total, 3, 3600 * SEC, 0, &l0, ch, &an_std_allocator, err, sizeof(err));
		t1 = now_sec();
		rc1 = fn_window_funnel(ev, total, 3, 3600 * SEC, FN_STRICT_ONCE, &l1, ch, &an_std_allocator, err, sizeof(err));
		t2 = now_sec();
		NOTE("1M events, distinct times, 3 steps: default %.1f ms (level %d), strict_once %.1f ms (level %d)",
			 (t1 - t0) * 1e3, l0, (t2 - t1) * 1e3, l1);
		CHECK(rc0 == AN_OK && rc1 == AN_OK && l1 == l0 && l1 >= 2,
			  "strict_once over 1M events with distinct times equals the default mode (%d)", l1);
		/* shuffled: the sort runs */
		shuffle_events(&r, ev, (int) total);
		t1 = now_sec();
		rc1 = fn_window_funnel(ev, total, 3, 3600 * SEC, FN_STRICT_ONCE | FN_STRICT_INCREASE, &l1, ch,
							   &an_std_allocator, err, sizeof(err));
		t2 = now_sec();
		NOTE("the same shuffled, strict_once + strict_increase: %.1f ms (level %d)", (t2 - t1) * 1e3, l1);
		CHECK(rc1 == AN_OK && l1 == l0, "strict_once + strict_increase over 1M shuffled events (%d)", l1);
		/* every row satisfies all 3 steps */
		for (i = 0; i < total; i++)
			ev[i].mask = C1 | C2 | C3;
		t1 = now_sec();
		rc1 = fn_window_funnel(ev, total, 3, 3600 * SEC, FN_STRICT_ONCE, &l1, ch, &an_std_allocator, err, sizeof(err));
		t2 = now_sec();
		NOTE("1M shuffled events satisfying all 3 steps, strict_once: %.1f ms (level %d)", (t2 - t1) * 1e3, l1);
		CHECK(rc1 == AN_OK && l1 == 3, "strict_once: 1M events of all steps = 3");
		free(ev);
	}
}

/* random inputs against the literal ClickHouse list algorithm */
static void
test_funnel_once_random(void)
{
	fn_event	ev[MAXEV];
	int64_t		chain[FN_MAX_STEPS];
	lit_list	acc = {NULL, 0, 0};
	lit_list	acc2 = {NULL, 0, 0};
	long		cases = 0;
	long		bad = 0;
	long		bad_erase = 0;
	long		bad_chain = 0;
	long		bad_single = 0;
	long		bad_shuffle = 0;
	long		deep = 0;
	long		multi = 0;
	long		hist[LIT_STEPS + 1] = {0};
	int			seed;
	double		t0 = now_sec();

	for (seed = 1; seed <= 12; seed++)
	{
		an_rng		r;
		int			c;

		an_rng_seed(&r, (uint64_t) seed * 104729);
		for (c = 0; c < 1000; c++)
		{
			bool		wide = c % 4 == 3;	/* more events, fewer ties */
			int			n_steps = 1 + (int) an_rng_below(&r, LIT_STEPS);
			int			n = (int) an_rng_below(&r, wide ? 17 : 11);
			int64_t		tr = wide ? 3 + (int64_t) an_rng_below(&r, 10) : 1 + (int64_t) an_rng_below(&r, 4);
			int64_t		window = (int64_t) an_rng_below(&r, (uint64_t) tr + 2);
			bool		single = true;
			unsigned	other;
			int			i;

			for (i = 0; i < n; i++)
			{
				uint64_t	m;

				ev[i].ts = (int64_t) an_rng_below(&r, (uint64_t) tr);
				switch (an_rng_below(&r, 4))
				{
					case 0:		/* no step */
						m = 0;
						break;
					case 1:		/* one step */
						m = UINT64_C(1) << an_rng_below(&r, (uint64_t) n_steps);
						break;
					default:	/* any steps, often several */
						m = an_rng_below(&r, UINT64_C(1) << n_steps);
						break;
				}
				if (an_rng_below(&r, 4) == 0)
					m |= C1;
				ev[i].mask = m;
				ev[i].row = 1000 - 3 * i;
				if (__builtin_popcountll(m) > 1)
					single = false;
			}
			shuffle_events(&r, ev, n);
			for (other = 0; other < 8; other++)
			{
				unsigned	modes = FN_STRICT_ONCE |
					((other & 1) ? FN_STRICT_DEDUPLICATION : 0) |
					((other & 2) ? FN_STRICT_ORDER : 0) |
					((other & 4) ? FN_STRICT_INCREASE : 0);
				int			got;
				int			want;
				int			want2;

				cases++;
				memset(chain, 0xff, sizeof(chain));
				got = wf(ev, n, n_steps, window, modes, chain);
				want = lit_once(ev, n, n_steps, window, modes, false, &acc);
				want2 = lit_once(ev, n, n_steps, window, modes, true, &acc2);
				if (want >= 0 && want <= LIT_STEPS)
					hist[want]++;
				if (want >= 3)
					deep++;
				if (acc.n > 1)
					multi++;
				if (want2 != want && bad_erase++ == 0)
					NOTE("seed %d case %d modes 0x%x: ClickHouse's erasure changes the level %d -> %d",
						 seed, c, modes, want, want2);
				if (got != want)
				{
					if (bad++ < 3)
					{
						NOTE("seed %d case %d: n_steps %d window %lld modes 0x%x: scan %d, literal %d",
							 seed, c, n_steps, (long long) window, modes, got, want);
						note_events(ev, n);
					}
					continue;
				}
				if (!lit_chain_ok(&acc, got, chain))
				{
					if (bad_chain++ < 3)
					{
						NOTE("seed %d case %d: n_steps %d window %lld modes 0x%x level %d: chain_ts (%lld, %lld, ...) is not a latest-start chain",
							 seed, c, n_steps, (long long) window, modes, got,
							 (long long) chain[0], (long long) chain[1]);
						note_events(ev, n);
					}
				}
				/* one step per row and no strict_increase: strict_once changes nothing */
				if (single && !(modes & FN_STRICT_INCREASE) &&
					wf(ev, n, n_steps, window, modes & ~(unsigned) FN_STRICT_ONCE, NULL) != got)
				{
					if (bad_single++ == 0)
					{
						NOTE("seed %d case %d modes 0x%x: one step per row, yet strict_once differs", seed, c, modes);
						note_events(ev, n);
					}
				}
				/* input order does not matter */
				if ((c & 7) == 0)
				{
					fn_event	sh[MAXEV];

					memcpy(sh, ev, sizeof(fn_event) * (size_t) n);
					shuffle_events(&r, sh, n);
					if (wf(sh, n, n_steps, window, modes, NULL) != got)
						bad_shuffle++;
				}
			}
		}
	}
	NOTE("strict_once: %ld random cases in %.1f s; levels 0..5: %ld %ld %ld %ld %ld %ld; %ld of level >= 3, %ld with several candidate chains",
		 cases, now_sec() - t0, hist[0], hist[1], hist[2], hist[3], hist[4], hist[5], deep, multi);

	/*
	 * medium inputs: 12 to 24 rows on 2 or 3 timestamps, each row
	 * satisfying each step with probability 3/4, so that one level holds
	 * dozens of chains at one timestamp (the lists searched by hash, from
	 * FN_ONCE_TABLE_MIN = 32 chains in funnel.c).  The literal scan is
	 * exponential here but still small.
	 */
	{
		an_rng		r;
		long		mcases = 0;
		long		mbad = 0;
		long		mchain = 0;
		long		mdeep = 0;
		long		maxacc = 0;
		int			c;

		t0 = now_sec();
		an_rng_seed(&r, 777);
		for (c = 0; c < 250; c++)
		{
			int			n_steps = 3 + (int) an_rng_below(&r, 3);
			int			n = 12 + (int) an_rng_below(&r, 13);
			int64_t		tr = 2 + (int64_t) an_rng_below(&r, 2);
			int64_t		window = (int64_t) an_rng_below(&r, (uint64_t) tr + 1);
			unsigned	other;
			int			i;

			for (i = 0; i < n; i++)
			{
				ev[i].ts = (int64_t) an_rng_below(&r, (uint64_t) tr);
				ev[i].mask = an_rng_below(&r, UINT64_C(1) << n_steps) |
					an_rng_below(&r, UINT64_C(1) << n_steps);
				ev[i].row = 7 * i - 50;
			}
			shuffle_events(&r, ev, n);
			for (other = 0; other < 8; other++)
			{
				unsigned	modes = FN_STRICT_ONCE |
					((other & 1) ? FN_STRICT_DEDUPLICATION : 0) |
					((other & 2) ? FN_STRICT_ORDER : 0) |
					((other & 4) ? FN_STRICT_INCREASE : 0);
				int			got;
				int			want;

				mcases++;
				memset(chain, 0xff, sizeof(chain));
				got = wf(ev, n, n_steps, window, modes, chain);
				want = lit_once(ev, n, n_steps, window, modes, false, &acc);
				if (want >= 3)
					mdeep++;
				if (acc.n > maxacc)
					maxacc = acc.n;
				if (got != want)
				{
					if (mbad++ < 3)
					{
						NOTE("medium case %d: n_steps %d window %lld modes 0x%x: scan %d, literal %d",
							 c, n_steps, (long long) window, modes, got, want);
						note_events(ev, n);
					}
				}
				else if (!lit_chain_ok(&acc, got, chain))
					mchain++;
			}
		}
		NOTE("strict_once: %ld medium random cases in %.1f s, %ld of level >= 3, up to %ld candidate chains",
			 mcases, now_sec() - t0, mdeep, maxacc);
		CHECK(mbad == 0 && mchain == 0,
			  "strict_once equals the literal scan on %ld medium cases with many ties (%ld differ, %ld bad chains)",
			  mcases, mbad, mchain);
	}
	CHECK(bad == 0, "strict_once equals the literal ClickHouse list scan on %ld random cases (%ld differ)", cases, bad);
	CHECK(bad_erase == 0, "ClickHouse's erasure of chains out of the window never changes the level (%ld differ)", bad_erase);
	CHECK(bad_chain == 0, "strict_once chain_ts is a chain of the literal scan with the latest start (%ld bad)", bad_chain);
	CHECK(bad_single == 0, "with one step per row, strict_once equals the same modes without it unless strict_increase (%ld differ)", bad_single);
	CHECK(bad_shuffle == 0, "strict_once: shuffled input gives the same level (%ld differ)", bad_shuffle);
	free(acc.c);
	free(acc2.c);
}

static void
test_sequence_hand(void)
{
	{
		/* adjacency */
		fn_event	a12[2] = {{0, C1, 0}, {SEC, C2, 1}};
		fn_event	a132[3] = {{0, C1, 0}, {SEC, C3, 1}, {2 * SEC, C2, 2}};
		fn_event	a102[3] = {{0, C1, 0}, {SEC, 0, 1}, {2 * SEC, C2, 2}};
		fn_event	a1332[4] = {{0, C1, 0}, {SEC, C3, 1}, {2 * SEC, C3, 2}, {3 * SEC, C2, 3}};
		fn_event	a21[2] = {{0, C2, 0}, {SEC, C1, 1}};
		fn_event	a3312[4] = {{0, C3, 0}, {SEC, C3, 1}, {2 * SEC, C1, 2}, {3 * SEC, C2, 3}};

		CHECK(seq_match("(?1)(?2)", 3, a12, 2) == 1, "(?1)(?2) matches 1 2");
		CHECK(seq_match("(?1)(?2)", 3, a132, 3) == 0, "(?1)(?2) does not match 1 3 2 (3 is an event)");
		CHECK(seq_match("(?1)(?2)", 3, a102, 3) == 1, "(?1)(?2): a row of no condition is not an event");
		CHECK(seq_match("(?1).*(?2)", 3, a132, 3) == 1, "(?1).*(?2) matches 1 3 2");
		CHECK(seq_match("(?1).*(?2)", 3, a21, 2) == 0, "(?1).*(?2) does not match 2 1");
		CHECK(seq_match("(?1).(?2)", 3, a132, 3) == 1, "(?1).(?2) matches 1 3 2");
		CHECK(seq_match("(?1).(?2)", 3, a12, 2) == 0, "(?1).(?2) does not match 1 2");
		CHECK(seq_match("(?1).(?2)", 3, a1332, 4) == 0, "(?1).(?2) does not match 1 3 3 2");
		CHECK(seq_match("(?1)..(?2)", 3, a1332, 4) == 1, "(?1)..(?2) matches 1 3 3 2");
		CHECK(seq_match("(?1)(?2)", 3, a3312, 4) == 1, "implicit leading .*: (?1)(?2) matches 3 3 1 2");
		CHECK(seq_match(".*(?1)(?2).*", 3, a3312, 4) == 1, "explicit .* at both ends");
		CHECK(seq_match(".", 3, a102 + 1, 1) == 0, ". needs an event (a row of no condition is none)");
		CHECK(seq_match(".", 3, a132 + 1, 1) == 1, ". matches any event");
	}

	{
		/* (?1)(?t>1800)(?2) with an event in between: 2000 > 1800 */
		fn_event	t1[3] = {{0, C1, 0}, {1000 * SEC, C3, 1}, {2000 * SEC, C2, 2}};
		fn_event	t2[2] = {{0, C1, 0}, {1800 * SEC, C2, 1}};
		fn_event	t3[2] = {{0, C1, 0}, {1800 * SEC + 1, C2, 1}};

		CHECK(seq_match("(?1)(?t>1800)(?2)", 3, t1, 3) == 1, "(?t>1800): 2000 s later, with an event between");
		CHECK(seq_match("(?1)(?t>1800)(?2)", 3, t2, 2) == 0, "(?t>1800): exactly 1800 s is not enough");
		CHECK(seq_match("(?1)(?t>1800)(?2)", 3, t3, 2) == 1, "(?t>1800): 1800 s + 1 us is");
	}

	{
		fn_event	u1[2] = {{0, C1, 0}, {3600 * SEC, C2, 1}};
		fn_event	u2[2] = {{0, C1, 0}, {3601 * SEC, C2, 1}};
		/* from the second 1 (at 5000) the 2 at 7000 is 2000 s later */
		fn_event	u3[3] = {{0, C1, 0}, {5000 * SEC, C1, 1}, {7000 * SEC, C2, 2}};

		CHECK(seq_match("(?1)(?t<=3600)(?2)", 3, u1, 2) == 1, "(?t<=3600): exactly 3600 s");
		CHECK(seq_match("(?1)(?t<=3600)(?2)", 3, u2, 2) == 0, "(?t<=3600): 3601 s is too late");
		CHECK(seq_match("(?1)(?t<=3600)(?2)", 3, u3, 3) == 1, "(?t<=3600): a later (?1) is tried");
		CHECK(seq_match("(?1)(?t<60)(?2)", 3, (fn_event[]) {{0, C1, 0}, {60 * SEC - 1, C2, 1}}, 2) == 1,
			  "(?t<60): 60 s - 1 us");
		CHECK(seq_match("(?1)(?t<60)(?2)", 3, (fn_event[]) {{0, C1, 0}, {60 * SEC, C2, 1}}, 2) == 0,
			  "(?t<60): not 60 s");
		CHECK(seq_match("(?1)(?t>=60)(?2)", 3, (fn_event[]) {{0, C1, 0}, {60 * SEC, C2, 1}}, 2) == 1,
			  "(?t>=60): 60 s");
		CHECK(seq_match("(?1)(?t>=60)(?2)", 3, (fn_event[]) {{0, C1, 0}, {60 * SEC - 1, C2, 1}}, 2) == 0,
			  "(?t>=60): not 60 s - 1 us");
	}

	{
		fn_event	e1[3] = {{0, C1, 0}, {59 * SEC, C2, 1}, {61 * SEC, C2, 2}};
		fn_event	e2[4] = {{0, C1, 0}, {59 * SEC, C2, 1}, {60 * SEC, C2, 3}, {61 * SEC, C2, 2}};
		fn_event	e3[2] = {{0, C1, 0}, {60 * SEC + 1, C2, 1}};

		CHECK(seq_match("(?1)(?t==60)(?2)", 3, e1, 3) == 0, "(?t==60): 59 and 61 s do not match");
		CHECK(seq_match("(?1)(?t==60)(?2)", 3, e2, 4) == 1, "(?t==60): 60 s matches past a 2 at 59 s");
		CHECK(seq_match("(?1)(?t==60)(?2)", 3, e3, 2) == 0, "(?t==60): 60 s + 1 us does not");
	}

	{
		fn_event	n1[2] = {{0, C1, 0}, {60 * SEC, C2, 1}};
		fn_event	n2[3] = {{0, C1, 0}, {60 * SEC, C2, 1}, {61 * SEC, C2, 2}};
		/* from the 1 at 30 the 2 at 60 is 30 s away */
		fn_event	n3[3] = {{0, C1, 0}, {30 * SEC, C1, 1}, {60 * SEC, C2, 2}};

		CHECK(seq_match("(?1)(?t!=60)(?2)", 3, n1, 2) == 0, "(?t!=60): only a 60 s pair");
		CHECK(seq_match("(?1)(?t!=60)(?2)", 3, n2, 3) == 1, "(?t!=60): a 61 s pair");
		CHECK(seq_match("(?1)(?t!=60)(?2)", 3, n3, 3) == 1, "(?t!=60): from a later (?1)");
		CHECK(seq_match("(?1)(?t!=60)(?t!=61)(?2)", 3, n2, 3) == 0, "two != exclude both pairs");
		CHECK(seq_match("(?1)(?t!=60)(?t!=60)(?2)", 3, n2, 3) == 1, "a repeated != is one exclusion");
		/* B@61 has A@0 at 61 s and A@1 at 60 s: one allowed even with != 60 twice */
		CHECK(seq_match("(?1)(?t!=60)(?t!=60)(?2)", 3,
						(fn_event[]) {{0, C1, 0}, {SEC, C1, 1}, {61 * SEC, C2, 2}}, 3) == 1,
			  "a repeated != removes its pair once");
	}

	{
		/* several time conditions on one pair: 10 < d < 20 */
		fn_event	m10[2] = {{0, C1, 0}, {10 * SEC, C2, 1}};
		fn_event	m20[2] = {{0, C1, 0}, {20 * SEC, C2, 1}};
		fn_event	m15[2] = {{0, C1, 0}, {15 * SEC, C2, 1}};

		CHECK(seq_match("(?1)(?t>10)(?t<20)(?2)", 3, m10, 2) == 0, "10 < d < 20: not 10");
		CHECK(seq_match("(?1)(?t>10)(?t<20)(?2)", 3, m20, 2) == 0, "10 < d < 20: not 20");
		CHECK(seq_match("(?1)(?t>10)(?t<20)(?2)", 3, m15, 2) == 1, "10 < d < 20: 15");
		CHECK(seq_match("(?1)(?t>10).*(?t<20)(?2)", 3, m15, 2) == 1, ".* between time conditions is allowed");
		CHECK(seq_match("(?1)(?t>20)(?t<10)(?2)", 3, m15, 2) == 0, "contradictory conditions never match");
		CHECK(seq_match("(?1)(?t<0)(?2)", 3, m15, 2) == 0, "(?t<0) never matches");
		CHECK(seq_match("(?1)(?t>=15)(?t<=15)(?t!=15)(?2)", 3, m15, 2) == 0, "== 15 and != 15 never match");
	}

	{
		/* a time condition after .* is measured from the event before the .* */
		fn_event	s[3] = {{0, C1, 0}, {3 * SEC, C3, 1}, {6 * SEC, C2, 2}};

		CHECK(seq_match("(?1).*(?t>5)(?2)", 3, s, 3) == 1, "(?1).*(?t>5)(?2): 6 s from the (?1)");
		CHECK(seq_match("(?1).*(?t<5)(?2)", 3, s, 3) == 0, "(?1).*(?t<5)(?2): not 3 s from the .*");
		/* a time condition after . relates the . event (3 s) and (?2) */
		CHECK(seq_match("(?1).(?t<=3)(?2)", 3, s, 3) == 1, "(?1).(?t<=3)(?2): 3 s from the . event");
		CHECK(seq_match("(?1).(?t<3)(?2)", 3, s, 3) == 0, "(?1).(?t<3)(?2): not under 3 s");
	}

	{
		/* events satisfying several conditions */
		fn_event	one[1] = {{0, C1 | C2, 0}};
		fn_event	two[2] = {{0, C1 | C2, 0}, {SEC, C1 | C2, 1}};

		CHECK(seq_match("(?1)", 3, one, 1) == 1 && seq_match("(?2)", 3, one, 1) == 1,
			  "an event with conditions 1 and 2 matches (?1) and (?2)");
		CHECK(seq_match("(?1)(?2)", 3, one, 1) == 0, "(?1)(?2) needs two events");
		CHECK(seq_match("(?1)(?2)", 3, two, 2) == 1 && seq_match("(?2)(?1)", 3, two, 2) == 1,
			  "(?1)(?2) and (?2)(?1) both match two such events");
	}

	{
		/* ties in time keep row order, whatever the order of the input */
		fn_event	tie[2] = {{5 * SEC, C2, 2}, {5 * SEC, C1, 1}};

		CHECK(seq_match("(?1)(?2)", 3, tie, 2) == 1, "ties: row 1 (cond 1) before row 2 (cond 2)");
		CHECK(seq_match("(?2)(?1)", 3, tie, 2) == 0, "ties: not the other way round");
		CHECK(seq_match("(?1)(?t==0)(?2)", 3, tie, 2) == 1, "ties: (?t==0) between rows at the same time");
		CHECK(seq_match("(?2)(?t<=0)(?1)", 3, tie, 2) == 0, "ties: (?t<=0) keeps the row order");
	}

	{
		/*
		 * conditions beyond n_conds (here 2): the row with only condition 3
		 * is still an event (it breaks adjacency and matches .) but no atom
		 * can name it
		 */
		fn_event	b[3] = {{0, C1, 0}, {SEC, C3, 1}, {2 * SEC, C2, 2}};

		CHECK(seq_match("(?1)(?2)", 2, b, 3) == 0, "a condition beyond n_conds still makes an event");
		CHECK(seq_match("(?1).(?2)", 2, b, 3) == 1, "it matches .");
		CHECK(seq_match("(?1)(?t>=2)(?2)", 2, b, 3) == 1, "a time gap passes it");
	}
}

static void
test_sequence_count(void)
{
	fn_event	alt[6] = {{0, C1, 0}, {1, C2, 1}, {2, C1, 2}, {3, C2, 3}, {4, C1, 4}, {5, C2, 5}};
	fn_event	ones[5] = {{0, C1, 0}, {1, C1, 1}, {2, C1, 2}, {3, C1, 3}, {4, C1, 4}};
	/* 1 1 2 2 */
	fn_event	e1122[4] = {{0, C1, 0}, {1, C1, 1}, {2, C2, 2}, {3, C2, 3}};
	/* 1 2 2 1 1 2 */
	fn_event	e122112[6] = {{0, C1, 0}, {1, C2, 1}, {2, C2, 2}, {3, C1, 3}, {4, C1, 4}, {5, C2, 5}};
	/* A@0 A@1 B@10 A@12 B@20 */
	fn_event	ne[5] = {{0, C1, 0}, {1 * SEC, C1, 1}, {10 * SEC, C2, 2}, {12 * SEC, C1, 3}, {20 * SEC, C2, 4}};

	/* [0,1] [2,3] [4,5] */
	CHECK(seq_count("(?1)(?2)", 3, alt, 6) == 3, "count (?1)(?2) over 1 2 1 2 1 2 = 3");
	CHECK(seq_count("(?1)", 3, alt, 6) == 3, "count (?1) = the number of 1s");
	CHECK(seq_count(".", 3, alt, 6) == 6, "count . = the number of events");
	/* [0,1] [2,3], then 4 alone */
	CHECK(seq_count("(?1)(?1)", 3, ones, 5) == 2, "count (?1)(?1) over five 1s = 2 (no overlap)");
	/*
	 * 1 1 2 2: the earliest start is 0; for it the earliest end is 2; the
	 * search resumes at 3, where only a 2 is left: 1
	 */
	CHECK(seq_count("(?1).*(?2)", 3, e1122, 4) == 1, "count (?1).*(?2) over 1 1 2 2 = 1");
	/* [0,1], then from 2: start 3 (the first 1), end 5: 2 */
	CHECK(seq_count("(?1).*(?2)", 3, e122112, 6) == 2, "count (?1).*(?2) over 1 2 2 1 1 2 = 2");
	/*
	 * (?1)(?t!=10)(?2) over A@0 A@1 B@10 A@12 B@20: A@0 can start a match
	 * (B@20, d = 20) but not with B@10 (d = 10), so the leftmost start is
	 * A@0 and its earliest end B@20, the last event: 1.  (Taking first the
	 * match that ends earliest, A@1 B@10, would then find A@12 B@20: 2.)
	 */
	CHECK(seq_count("(?1)(?t!=10)(?2)", 3, ne, 5) == 1, "count: leftmost start wins over an earlier end (1)");
	CHECK(seq_count("(?1)(?t!=10)(?2)", 3, ne, 4) == 1, "count: without B@20 the match is A@1 B@10 (1)");
	CHECK(seq_count("(?1)(?2)", 3, NULL, 0) == 0, "count over no events = 0");
}

static void
test_sequence_syntax(void)
{
	sq_program *p = NULL;
	char		err[256];
	int			rc;

	CHECK(syntax_error_at("", 0, 3, 1, "empty"), "empty pattern: position 1");
	CHECK(syntax_error_at("(?0)", 4, 3, 1, "(?0)"), "(?0): position 1");
	CHECK(syntax_error_at("(?5)", 4, 3, 1, "there are 3 conditions"), "(?5) with 3 conditions: position 1");
	CHECK(syntax_error_at("(?1)(?2)", 8, 1, 5, "there is 1 condition"), "(?2) with 1 condition: position 5");
	CHECK(syntax_error_at("(?99999999999999999999)", 23, 3, 1, "out of range"), "a huge condition number: position 1");
	CHECK(syntax_error_at("(?t>5)(?1)", 10, 3, 1, "no preceding event"), "(?t>5)(?1): position 1");
	CHECK(syntax_error_at(".*(?t>5)(?1)", 12, 3, 3, "no preceding event"), ".*(?t>5)(?1): position 3");
	CHECK(syntax_error_at("(?1)(?t>5)", 10, 3, 5, "no following event"), "(?1)(?t>5): position 5");
	CHECK(syntax_error_at("(?1)(?t>5).*", 12, 3, 5, "no following event"), "(?1)(?t>5).*: position 5");
	CHECK(syntax_error_at("(?1)(?t~5)(?2)", 14, 3, 8, "unknown time operator"), "(?1)(?t~5)(?2): position 8");
	CHECK(syntax_error_at("(?1)(?t=5)(?2)", 14, 3, 8, "unknown time operator"), "(?1)(?t=5)(?2): position 8");
	CHECK(syntax_error_at("(?1)(?t)(?2)", 12, 3, 8, "unknown time operator"), "(?1)(?t)(?2): position 8");
	CHECK(syntax_error_at("(?1", 3, 3, 4, "end of the pattern"), "(?1: position 4 (the end)");
	CHECK(syntax_error_at("(?1)x", 5, 3, 5, "'x'"), "(?1)x: position 5");
	CHECK(syntax_error_at("(?1) (?2)", 9, 3, 5, NULL), "no whitespace: position 5");
	CHECK(syntax_error_at("(?t>-1)", 7, 3, 5, "seconds"), "(?t>-1): position 5");
	CHECK(syntax_error_at("(?1)(?t>-1)(?2)", 15, 3, 9, "seconds"), "(?1)(?t>-1)(?2): position 9");
	CHECK(syntax_error_at("(?1)(?t>)(?2)", 13, 3, 9, "seconds"), "(?1)(?t>)(?2): position 9");
	CHECK(syntax_error_at("(?1)(?t>99999999999999999999)(?2)", 33, 3, 9, "too large"), "seconds overflow: position 9");
	CHECK(syntax_error_at("(?1)(?t>9223372036855)(?2)", 26, 3, 9, "too large"), "seconds * 1e6 beyond int64: position 9");
	CHECK(syntax_error_at("(?1)(?t>5", 9, 3, 10, "end of the pattern"), "(?1)(?t>5: position 10");
	CHECK(syntax_error_at("(?1)(?t>5x", 10, 3, 10, "'x'"), "(?1)(?t>5x: position 10");
	CHECK(syntax_error_at(".*", 2, 3, 3, "no event"), ".* alone has no event: position 3");
	CHECK(syntax_error_at("(?x)", 4, 3, 3, NULL), "(?x): position 3");
	CHECK(syntax_error_at("(1)", 3, 3, 2, NULL), "(1): position 2");
	CHECK(syntax_error_at("*", 1, 3, 1, NULL), "*: position 1");
	CHECK(syntax_error_at(".**", 3, 3, 3, NULL), ".**: position 3");
	CHECK(syntax_error_at("(?1)\0", 5, 3, 5, "0x00"), "a NUL byte inside the length: position 5");

	/* valid patterns */
	{
		static const char *const ok[] = {
			"(?1)", ".", ".*(?1).*", "(?1)(?t>=1)(?t<=2)(?2)", "(?1).*(?t!=5).*(?2)",
			"(?1)(?t<9223372036854)(?2)", "(?01)(?3)", "(?1).*.*(?2)", "..."
		};
		int			i;
		int			good = 0;

		for (i = 0; i < NELEM(ok); i++)
		{
			rc = sq_compile(ok[i], strlen(ok[i]), 3, &an_std_allocator, &p, err, sizeof(err));
			if (rc == AN_OK && p != NULL)
				good++;
			else
				NOTE("\"%s\": %s", ok[i], err);
			sq_free(&an_std_allocator, p);
			p = NULL;
		}
		CHECK(good == NELEM(ok), "valid patterns compile (%d of %d)", good, NELEM(ok));
	}
	/* the pattern is (ptr, len): what follows len is not read */
	rc = sq_compile("(?1)(?2)garbage", 8, 3, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_OK, "only len bytes of the pattern are parsed");
	sq_free(&an_std_allocator, p);
	p = NULL;

	rc = sq_compile("(?1)", 4, 65, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_EINVAL && p == NULL, "n_conds 65 is an error (%s)", err);
	rc = sq_compile("(?1)", 4, -1, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "n_conds -1 is an error (%s)", err);
	rc = sq_compile(NULL, 4, 3, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "a NULL pattern is an error (%s)", err);
	rc = sq_compile("(?1)", 4, 3, &an_std_allocator, NULL, err, sizeof(err));
	CHECK(rc == AN_EINVAL, "a NULL out is an error (%s)", err);
	rc = sq_compile("(?64)", 5, 64, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_OK, "(?64) with 64 conditions compiles");
	if (rc == AN_OK)
	{
		fn_event	e64[1] = {{0, UINT64_C(1) << 63, 0}};
		bool		m = false;

		rc = sq_match(p, e64, 1, 100, &m, &an_std_allocator, err, sizeof(err));
		CHECK(rc == AN_OK && m, "(?64) matches bit 63");
	}
	sq_free(&an_std_allocator, p);
	sq_free(&an_std_allocator, NULL);

	/* argument checks of the matcher */
	rc = sq_compile("(?1)", 4, 3, &an_std_allocator, &p, err, sizeof(err));
	{
		fn_event	e[1] = {{0, C1, 0}};
		bool		m;
		int64_t		c;

		CHECK(sq_match(NULL, e, 1, 10, &m, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_match: NULL program");
		CHECK(sq_match(p, e, 1, 10, NULL, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_match: NULL result");
		CHECK(sq_match(p, NULL, 1, 10, &m, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_match: NULL events");
		CHECK(sq_match(p, e, -1, 10, &m, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_match: negative n");
		CHECK(sq_match(p, e, 1, 0, &m, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_match: max_steps 0");
		CHECK(sq_count(p, e, 1, 10, NULL, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_count: NULL result");
		CHECK(sq_count(p, NULL, 1, 10, &c, &an_std_allocator, err, sizeof(err)) == AN_EINVAL, "sq_count: NULL events");
		CHECK(sq_count(p, e, 1, 10, &c, &an_std_allocator, err, sizeof(err)) == AN_OK && c == 1, "sq_count: one event");
	}
	sq_free(&an_std_allocator, p);
}

/* random patterns and events against the enumeration */
static void
test_sequence_random(void)
{
	fn_event	ev[MAXEV];
	fn_event	sorted[MAXEV];
	int			round;
	long		cases = 0;
	long		bad_match = 0;
	long		bad_count = 0;
	long		bad_shuffle = 0;
	long		matched = 0;
	long		multi = 0;
	long		errors = 0;

	for (round = 0; round < 2; round++)
	{
		an_rng		r;
		int			c;
		int			n_cases = round == 0 ? 30000 : 2000;
		int			max_n = round == 0 ? 9 : 14;
		int			max_atoms = round == 0 ? 4 : 5;

		an_rng_seed(&r, 20240601 + (uint64_t) round);
		for (c = 0; c < n_cases; c++)
		{
			bpat		bp;
			sq_program *p = NULL;
			char		err[256];
			int			n = (int) an_rng_below(&r, (uint64_t) max_n + 1);
			int			ns;
			int			i;
			bool		m = false;
			int64_t		cnt = -1;
			bool		want_m;
			int64_t		want_c;
			int			rc;

			bp_random(&r, &bp, max_atoms, 3);
			for (i = 0; i < n; i++)
			{
				ev[i].ts = (int64_t) an_rng_below(&r, 6) * SEC;
				if (an_rng_below(&r, 5) == 0)
					ev[i].ts += (int64_t) an_rng_below(&r, 3) - 1;
				/* bits 1..3 are conditions, bit 4 beyond n_conds, 0 = no event */
				ev[i].mask = an_rng_below(&r, 16);
				ev[i].row = (int64_t) an_rng_below(&r, 4) * 100 + i;
			}
			shuffle_events(&r, ev, n);
			ns = bp_events(ev, n, sorted);
			cases++;
			rc = sq_compile(bp.text, strlen(bp.text), 3, &an_std_allocator, &p, err, sizeof(err));
			if (rc == AN_OK)
				rc = sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
			if (rc == AN_OK)
				rc = sq_count(p, ev, n, INT64_MAX, &cnt, &an_std_allocator, err, sizeof(err));
			if (rc != AN_OK)
			{
				if (errors++ == 0)
					NOTE("\"%s\": %s", bp.text, err);
				sq_free(&an_std_allocator, p);
				continue;
			}
			want_m = bp_brute_match(&bp, sorted, ns);
			want_c = bp_brute_count(&bp, sorted, ns);
			matched += want_m;
			multi += want_c > 1;
			if (m != want_m)
			{
				if (bad_match++ == 0)
				{
					NOTE("\"%s\": sq_match %d, enumeration %d", bp.text, m, want_m);
					note_events(sorted, ns);
				}
			}
			if (cnt != want_c)
			{
				if (bad_count++ == 0)
				{
					NOTE("\"%s\": sq_count %lld, enumeration %lld", bp.text,
						 (long long) cnt, (long long) want_c);
					note_events(sorted, ns);
				}
			}
			shuffle_events(&r, ev, n);
			{
				int64_t		cnt2 = -1;

				if (sq_count(p, ev, n, INT64_MAX, &cnt2, &an_std_allocator, err, sizeof(err)) != AN_OK ||
					cnt2 != cnt)
					bad_shuffle++;
			}
			sq_free(&an_std_allocator, p);
		}
	}
	NOTE("sequence: %ld random cases, %ld match, %ld with more than one match", cases, matched, multi);
	CHECK(errors == 0, "random patterns compile and run (%ld errors)", errors);
	CHECK(bad_match == 0, "sq_match equals the enumeration on %ld random cases (%ld differ)", cases, bad_match);
	CHECK(bad_count == 0, "sq_count equals the enumerated counting rule on %ld random cases (%ld differ)", cases, bad_count);
	CHECK(bad_shuffle == 0, "sq_count does not depend on the input order (%ld differ)", bad_shuffle);
}

/* longer random inputs against the pairwise reference */
static void
test_sequence_medium(void)
{
	fn_event   *ev = malloc(sizeof(fn_event) * MID_MAXN);
	fn_event   *sorted = malloc(sizeof(fn_event) * MID_MAXN);
	an_rng		r;
	int			c;
	long		bad = 0;
	long		total_matches = 0;

	an_rng_seed(&r, 99);
	for (c = 0; c < 300; c++)
	{
		bpat		bp;
		sq_program *p = NULL;
		char		err[256];
		int			n = 50 + (int) an_rng_below(&r, MID_MAXN - 50);
		int			ns;
		int			i;
		int64_t		span = 1 + (int64_t) an_rng_below(&r, 40);
		bool		m = false;
		bool		want_m;
		int64_t		cnt = -1;
		int64_t		want_c;

		bp_random(&r, &bp, BP_MAX_ATOMS, 3);
		for (i = 0; i < n; i++)
		{
			ev[i].ts = (int64_t) an_rng_below(&r, (uint64_t) span) * SEC;
			ev[i].mask = an_rng_below(&r, 16);
			ev[i].row = i;
		}
		shuffle_events(&r, ev, n);
		ns = bp_events(ev, n, sorted);
		if (sq_compile(bp.text, strlen(bp.text), 3, &an_std_allocator, &p, err, sizeof(err)) != AN_OK ||
			sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err)) != AN_OK ||
			sq_count(p, ev, n, INT64_MAX, &cnt, &an_std_allocator, err, sizeof(err)) != AN_OK)
		{
			NOTE("\"%s\": %s", bp.text, err);
			bad++;
			sq_free(&an_std_allocator, p);
			continue;
		}
		sq_free(&an_std_allocator, p);
		mid_reference(&bp, sorted, ns, &want_m, &want_c);
		total_matches += want_c;
		if (m != want_m || cnt != want_c)
		{
			if (bad++ == 0)
				NOTE("\"%s\" over %d events: match %d / %d, count %lld / %lld", bp.text, ns,
					 m, want_m, (long long) cnt, (long long) want_c);
		}
	}
	NOTE("sequence, 50-255 events: 300 random cases, %ld matches counted", total_matches);
	CHECK(bad == 0, "sq_match and sq_count equal the pairwise reference on longer inputs (%ld differ)", bad);
	free(ev);
	free(sorted);
}

/* the step bound */
static void
test_sequence_bound(void)
{
	const char *pat = "(?1).*(?1).*(?1).*(?1)(?t<1)(?2)";
	int			n = 5000;
	fn_event   *ev = malloc(sizeof(fn_event) * (size_t) n);
	sq_program *p = NULL;
	char		err[256] = "";
	bool		m = true;
	int64_t		c = -1;
	double		t0;
	double		t1;
	int			rc;
	int			i;

	for (i = 0; i < n; i++)
	{
		ev[i].ts = (int64_t) i * SEC;
		ev[i].mask = C1;
		ev[i].row = i;
	}
	rc = sq_compile(pat, strlen(pat), 2, &an_std_allocator, &p, err, sizeof(err));
	CHECK(rc == AN_OK, "the pathological pattern compiles");

	t0 = now_sec();
	rc = sq_match(p, ev, n, 1000, &m, &an_std_allocator, err, sizeof(err));
	t1 = now_sec();
	NOTE("pathological sq_match, max_steps 1000: %.3f ms: %s", (t1 - t0) * 1e3, err);
	CHECK(rc == AN_ELIMIT && strcmp(err, "pattern matching needed more than 1000 steps") == 0,
		  "pathological pattern: AN_ELIMIT with a small max_steps");
	rc = sq_count(p, ev, n, 1000, &c, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && c == 0, "pathological pattern: sq_count hits the bound too");

	t0 = now_sec();
	rc = sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
	t1 = now_sec();
	NOTE("pathological sq_match over %d events, unbounded: %.3f ms", n, (t1 - t0) * 1e3);
	CHECK(rc == AN_OK && !m, "pathological pattern with a huge max_steps finishes: no match");
	t0 = now_sec();
	rc = sq_count(p, ev, n, INT64_MAX, &c, &an_std_allocator, err, sizeof(err));
	t1 = now_sec();
	NOTE("pathological sq_count over %d events, unbounded: %.3f ms", n, (t1 - t0) * 1e3);
	CHECK(rc == AN_OK && c == 0, "pathological sq_count finishes: 0");

	/* add one (?2) at the end, 1 s after the last (?1): still no match (< 1 s) */
	ev[n - 1].mask = C2;
	rc = sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK && !m, "(?t<1) one second later does not match");
	/* (?2) at the same time as the last (?1) (and after it by row) matches */
	ev[n - 1].ts = ev[n - 2].ts;
	rc = sq_match(p, ev, n, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
	CHECK(rc == AN_OK && m, "(?t<1) at the same time matches");
	sq_free(&an_std_allocator, p);

	/*
	 * The bound is consistent: as max_steps grows the result goes from
	 * AN_ELIMIT to the right answer once, and never back.
	 */
	{
		fn_event	e[12];
		int			k;
		int			switches = 0;
		int			first_ok = -1;
		int			prev = AN_ELIMIT;
		bool		all_right = true;

		rc = sq_compile("(?1).*(?t>=2)(?2)(?1)", 21, 2, &an_std_allocator, &p, err, sizeof(err));
		for (i = 0; i < 12; i++)
		{
			e[i].ts = i * SEC;
			e[i].mask = (i % 3 == 2) ? C2 : C1;
			e[i].row = i;
		}
		for (k = 1; k <= 400; k++)
		{
			int64_t		cc = -1;

			rc = sq_count(p, e, 12, k, &cc, &an_std_allocator, err, sizeof(err));
			if (rc != prev)
				switches++;
			if (rc == AN_OK && first_ok < 0)
				first_ok = k;
			/*
			 * 1 1 2 1 1 2 1 1 2 1 1 2 at 0..11 s: from 0, (?2)@2 (2 s) and
			 * (?1)@3: end 3; from 4, (?2)@5 is 1 s away, (?2)@8 4 s, (?1)@9:
			 * end 9; from 10, (?2)@11 is 1 s away: 2 matches
			 */
			if (rc == AN_OK && cc != 2)
				all_right = false;
			prev = rc;
		}
		NOTE("sq_count of the 12-event example needs %d steps", first_ok);
		CHECK(switches == 1 && first_ok > 1 && all_right,
			  "the step bound is monotone: AN_ELIMIT below %d steps, the right count from there", first_ok);
		sq_free(&an_std_allocator, p);
	}
	free(ev);
}

/* allocation failures and interrupt checks */
static void
test_allocation(void)
{
	fn_event   *ev;
	int			n = 100000;
	int			i;
	int			allow;
	int			enomem = 0;
	int			leaks = 0;
	int			ok_after = -1;
	bool		right = true;

	ev = malloc(sizeof(fn_event) * (size_t) n);
	for (i = 0; i < n; i++)
	{
		/* descending times: forces the sort and its scratch allocation */
		ev[i].ts = (int64_t) (n - i) * SEC;
		ev[i].mask = (uint64_t) (i % 4);
		ev[i].row = i;
	}

	/* window funnel: with k allocations allowed, either ENOMEM or success */
	for (allow = 0; allow < 4; allow++)
	{
		unit_ctx	ctx = {allow, 0, 0};
		an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
		int			level = -1;
		int64_t		chain[2];
		char		err[128];
		int			rc;

		rc = fn_window_funnel(ev, 64, 2, 1000 * SEC, FN_STRICT_ONCE, &level, chain, &a, err, sizeof(err));
		if (rc == AN_ENOMEM)
			enomem++;
		else if (rc == AN_OK && ok_after < 0)
		{
			ok_after = allow;
			right = level == 2;
		}
		if (ctx.live != 0)
			leaks++;
	}
	CHECK(enomem >= 2 && ok_after >= 2 && right && leaks == 0,
		  "window funnel: AN_ENOMEM without leaks until %d allocations succeed", ok_after);

	{
		const char *pat = "(?1)(?t<=5)(?t!=3)(?2)";
		int			nfail = 0;
		int			nleak = 0;
		int			nright = 0;

		for (allow = 0; allow < 6; allow++)
		{
			unit_ctx	ctx = {allow, 0, 0};
			an_allocator a = {unit_alloc, unit_release, NULL, &ctx};
			sq_program *p = NULL;
			char		err[128];
			bool		m = false;
			int64_t		c = -1;
			int			rc;

			rc = sq_compile(pat, strlen(pat), 2, &a, &p, err, sizeof(err));
			if (rc == AN_OK)
				rc = sq_match(p, ev, 64, INT64_MAX, &m, &a, err, sizeof(err));
			if (rc == AN_OK)
				rc = sq_count(p, ev, 64, INT64_MAX, &c, &a, err, sizeof(err));
			if (rc == AN_ENOMEM)
				nfail++;
			else if (rc == AN_OK && m && c > 0)
				nright++;
			sq_free(&a, p);
			if (ctx.live != 0)
				nleak++;
		}
		CHECK(nfail >= 3 && nright >= 1 && nleak == 0,
			  "sequence: AN_ENOMEM without leaks at every allocation (%d failures)", nfail);
	}

	{
		unit_ctx	ctx = {-1, 0, 0};
		an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
		sq_program *p = NULL;
		char		err[128];
		int			level = 0;
		bool		m = false;
		long		wf_int;

		fn_window_funnel(ev, n, 2, 1000 * SEC, 0, &level, NULL, &a, err, sizeof(err));
		wf_int = ctx.interrupts;
		ctx.interrupts = 0;
		sq_compile("(?1)(?t>1)(?2)", 14, 2, &a, &p, err, sizeof(err));
		sq_match(p, ev, n, INT64_MAX, &m, &a, err, sizeof(err));
		sq_free(&a, p);
		NOTE("interrupt checks: %ld in the funnel, %ld in sq_match over %d events", wf_int, ctx.interrupts, n);
		CHECK(wf_int >= 10 && ctx.interrupts >= 10 && ctx.live == 0,
			  "long loops call check_interrupts");
	}
	free(ev);
}

/* FUNNEL_BENCH=1: 1M events in 100k actors of 10 */
static void
bench(void)
{
	int			n_actors = 100000;
	int			per = 10;
	int64_t		total = (int64_t) n_actors * per;
	fn_event   *ev = malloc(sizeof(fn_event) * (size_t) total);
	an_rng		r;
	int64_t		i;
	int			k;
	double		t0;
	double		t1;
	long		sum = 0;
	long		msum = 0;
	int64_t		csum = 0;
	sq_program *p = NULL;
	char		err[128];
	int64_t		chain[3];
	int			level;

	an_rng_seed(&r, 42);
	for (k = 0; k < n_actors; k++)
	{
		int64_t		t = (int64_t) an_rng_below(&r, 1000000) * SEC;

		for (i = 0; i < per; i++)
		{
			fn_event   *e = &ev[(int64_t) k * per + i];

			t += (int64_t) an_rng_below(&r, 600) * SEC;
			e->ts = t;
			e->mask = an_rng_below(&r, 4) == 0 ? 0 : UINT64_C(1) << an_rng_below(&r, 3);
			e->row = i;
		}
	}
	t0 = now_sec();
	for (k = 0; k < n_actors; k++)
	{
		fn_window_funnel(ev + (int64_t) k * per, per, 3, 3600 * SEC, 0, &level, chain,
						 &an_std_allocator, err, sizeof(err));
		sum += level;
	}
	t1 = now_sec();
	NOTE("bench: fn_window_funnel, 100k actors x 10 events, 3 steps: %.1f ms (sum of levels %ld)",
		 (t1 - t0) * 1e3, sum);

	sq_compile("(?1).*(?2).*(?3)", 16, 3, &an_std_allocator, &p, err, sizeof(err));
	t0 = now_sec();
	for (k = 0; k < n_actors; k++)
	{
		bool		m = false;

		sq_match(p, ev + (int64_t) k * per, per, 1000000, &m, &an_std_allocator, err, sizeof(err));
		msum += m;
	}
	t1 = now_sec();
	NOTE("bench: sq_match (?1).*(?2).*(?3), 100k actors x 10 events: %.1f ms (%ld match)",
		 (t1 - t0) * 1e3, msum);
	t0 = now_sec();
	for (k = 0; k < n_actors; k++)
	{
		int64_t		c = 0;

		sq_count(p, ev + (int64_t) k * per, per, 1000000, &c, &an_std_allocator, err, sizeof(err));
		csum += c;
	}
	t1 = now_sec();
	NOTE("bench: sq_count (?1).*(?2).*(?3), 100k actors x 10 events: %.1f ms (%lld matches)",
		 (t1 - t0) * 1e3, (long long) csum);
	sq_free(&an_std_allocator, p);

	/* one actor with all 1M events, shuffled */
	shuffle_events(&r, ev, (int) total);
	for (i = 0; i < total; i++)
		ev[i].row = i;
	t0 = now_sec();
	fn_window_funnel(ev, total, 3, 3600 * SEC, 0, &level, chain, &an_std_allocator, err, sizeof(err));
	t1 = now_sec();
	NOTE("bench: fn_window_funnel, one actor of 1M shuffled events: %.1f ms (level %d)", (t1 - t0) * 1e3, level);
	sq_compile("(?1).*(?2)(?t<=60)(?3)", 22, 3, &an_std_allocator, &p, err, sizeof(err));
	t0 = now_sec();
	{
		bool		m = false;
		int64_t		c = 0;
		int			rc1;
		int			rc2;

		rc1 = sq_match(p, ev, total, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
		t1 = now_sec();
		NOTE("bench: sq_match (?1).*(?2)(?t<=60)(?3), one actor of 1M events: %.1f ms (rc %d, %d)",
			 (t1 - t0) * 1e3, rc1, m);
		t0 = now_sec();
		rc2 = sq_count(p, ev, total, INT64_MAX, &c, &an_std_allocator, err, sizeof(err));
		t1 = now_sec();
		NOTE("bench: sq_count of the same: %.1f ms (rc %d, %lld matches)", (t1 - t0) * 1e3, rc2, (long long) c);
	}
	sq_free(&an_std_allocator, p);

	/* a long pattern with time conditions on every gap, over the 1M events */
	{
		const char *tp = "(?1)(?t<=3600)(?2)(?t!=0)(?t!=60)(?1)(?t<=3600)(?3).*(?t>=1)(?1)(?t<=600)(?2)(?t<=600)(?3)";
		bool		m = false;
		int64_t		c = 0;
		int			rc1;
		int			rc2;

		sq_compile(tp, strlen(tp), 3, &an_std_allocator, &p, err, sizeof(err));
		t0 = now_sec();
		rc1 = sq_match(p, ev, total, INT64_MAX, &m, &an_std_allocator, err, sizeof(err));
		t1 = now_sec();
		NOTE("bench: sq_match of a 7-atom pattern with 7 time conditions, 1M events: %.1f ms (rc %d, %d)",
			 (t1 - t0) * 1e3, rc1, m);
		t0 = now_sec();
		rc2 = sq_count(p, ev, total, INT64_MAX, &c, &an_std_allocator, err, sizeof(err));
		t1 = now_sec();
		NOTE("bench: sq_count of the same: %.1f ms (rc %d, %lld matches)", (t1 - t0) * 1e3, rc2, (long long) c);
		sq_free(&an_std_allocator, p);
	}
	free(ev);
}

int
main(void)
{
	const char *b = getenv("FUNNEL_BENCH");

	test_funnel_clickhouse();
	test_funnel_hand();
	test_funnel_errors();
	test_funnel_random();
	test_funnel_once();
	test_funnel_once_random();
	test_sequence_hand();
	test_sequence_count();
	test_sequence_syntax();
	test_sequence_random();
	test_sequence_medium();
	test_sequence_bound();
	test_allocation();
	if (b != NULL && strcmp(b, "1") == 0)
		bench();
	return unit_done();
}
