/*
 * funnel.h
 *		Event-sequence cores: window funnels (ClickHouse windowFunnel) and
 *		pattern matching (ClickHouse sequenceMatch / sequenceCount).  Pure C;
 *		see funnel.c.
 *
 * Input events are rows of one actor: a timestamp (microseconds), the set of
 * conditions the row satisfies (bit i = condition i + 1) and a row number
 * (order of arrival, unique per actor) that breaks ties deterministically.
 * Events may be passed in any order; the cores sort what they need.
 */
#ifndef ANALYTICS_FUNNEL_H
#define ANALYTICS_FUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define FN_MAX_STEPS 64

typedef struct fn_event
{
	int64_t		ts;				/* microseconds */
	uint64_t	mask;			/* bit i: condition i + 1 holds */
	int64_t		row;			/* unique per actor; ties keep row order */
} fn_event;

/* window_funnel modes (combinable) */
#define FN_STRICT_DEDUPLICATION	0x01
#define FN_STRICT_ORDER			0x02
#define FN_STRICT_INCREASE		0x04
#define FN_STRICT_ONCE			0x08

/*
 * strict_once: the most partial chains one level may hold while the scan
 * is inside one timestamp (after duplicates and dominated chains are
 * dropped; see fn_window_funnel).  Beyond it fn_window_funnel returns
 * AN_ELIMIT.  Only many rows at one timestamp that each satisfy several
 * steps come near it: p such rows can make p * (p - 1) / 2 chains of
 * level 1.  Memory at the limit: at most FN_ONCE_MAX_CHAINS * (48 + 9 *
 * n_steps) bytes per level.
 */
#define FN_ONCE_MAX_CHAINS	4096

/*
 * The longest prefix of the n_steps steps (1 .. FN_MAX_STEPS) reached inside
 * one window that starts at a step-1 event: ClickHouse's windowFunnel.
 *
 * 1. Every event contributes one entry (ts, k, row) per step k it satisfies;
 *    with FN_STRICT_ORDER, events that satisfy no step contribute (ts, 0,
 *    row) (without that mode callers may omit them).  Entries are sorted by
 *    (ts, k, row): ties in time are ordered by step index.
 * 2. Without FN_STRICT_ONCE, the entries are scanned keeping, per level j
 *    (0-based), whether it is reached and the first and last timestamp of
 *    the chain that reached it:
 *    - k == 0 (strict_order only): if a chain has started, stop; else skip.
 *    - k == 1: level 0 becomes (ts, ts): a new chain starts here (a later
 *      start leaves more of its window, so it replaces the earlier one).
 *    - else, with strict_deduplication, if level k - 1 is already reached,
 *      the repeated step interrupts: stop.
 *    - else, with strict_order, if a chain has started and level k - 2 is
 *      not reached (a step out of order intervened): stop.
 *    - else, if level k - 2 is reached and ts <= its first timestamp +
 *      window (the window end is inclusive) and, with strict_increase, its
 *      last timestamp < ts: level k - 1 is reached with the chain of level
 *      k - 2 plus this entry.  Reaching level n_steps - 1 stops the scan.
 * 3. With FN_STRICT_ONCE (a row counts for at most one step of a chain)
 *    the scan keeps, as ClickHouse does, a LIST of chains per level, each
 *    chain being its first and last timestamp and the rows of its steps:
 *    - k == 0 (strict_order only): if a chain has started, stop; else skip.
 *    - k == 1: the chain (ts, ts, [row]) is appended to level 0 (earlier
 *      chains stay).
 *    - else, with strict_deduplication, if level k - 1 is not empty: stop.
 *    - else, with strict_order, if a chain has started and level k - 2 is
 *      empty: stop.
 *    - else, for every chain c of level k - 2 with ts <= c.first + window,
 *      this row not among c's rows and, with strict_increase, c.last < ts,
 *      the chain (c.first, ts, c's rows + row) is appended to level k - 1;
 *      if that is the last level, stop.
 *    Equivalently, while no stop rule fires, the level is the longest
 *    prefix of steps matched by pairwise distinct rows r1 .. rL whose
 *    entries (ts_i, i, r_i) come in entry order (so ts_1 <= .. <= ts_L),
 *    with ts_L <= ts_1 + window (and, with strict_increase, ts_1 < .. <
 *    ts_L).  (ClickHouse also drops chains that fell out of the window,
 *    keeping at least one per level; that never changes the result.)
 *    The lists are bounded without changing any result: a row's entries
 *    all share its timestamp, so when the scan reaches a later timestamp
 *    no earlier row can recur and every chain ends before it, and each
 *    list is collapsed to its chain with the latest first timestamp (it
 *    can take every step the others can).  Within one timestamp, exact
 *    duplicates are dropped, and so is a chain when another chain of its
 *    level starts no earlier, has as relevant rows a subset of its
 *    relevant rows, and (strict_increase) can be extended at that
 *    timestamp if it can; the relevant rows of a chain of level j are its
 *    rows at that timestamp that satisfy step j + 2 or a later one (no
 *    other row at that timestamp is tested against it or its extensions
 *    any more).  A level whose list would still exceed FN_ONCE_MAX_CHAINS
 *    gives AN_ELIMIT ("window_funnel strict_once: too many rows at one
 *    timestamp satisfy several steps ...").  Cost: O(E) for the scan of E
 *    entries when timestamps are distinct; ties in time cost more, bounded
 *    by the limit.
 * 4. The result is the highest reached (non-empty) level + 1 (0 when
 *    none).  Without strict_order and with n_steps == 1 any entry gives 1.
 *
 * window >= 0 (microseconds).  When chain_ts is not NULL it receives the
 * timestamps of the steps of a chain that reached the result level
 * (chain_ts[0 .. result - 1]): the chain that reached it, or with
 * strict_once the one with the latest first timestamp among those that
 * reached it (at the stop, or at the end of the scan); the time to convert
 * from step i to step i+1 is chain_ts[i] - chain_ts[i - 1].  Returns AN_OK
 * with *level set, or an AN_* code with a message (bad n_steps, mask bits
 * beyond n_steps, ENOMEM, the strict_once limit).
 */
extern int	fn_window_funnel(const fn_event *events, int64_t n, int n_steps,
							 int64_t window, unsigned modes, int *level,
							 int64_t *chain_ts, const an_allocator *a,
							 char *err, size_t errlen);

/*
 * Sequence patterns (ClickHouse's grammar):
 *	(?N)		an event satisfying condition N (1-based, N <= n_conds)
 *	.			any one event
 *	.*			any number of events (zero or more)
 *	(?t OP S)	a time condition: OP one of < <= > >= == != , S whole seconds
 *				(>= 0).  It relates the event matched by the event atom
 *				before it ((?N) or .) and the one matched by the event atom
 *				after it: (after.ts - before.ts) OP S * 1e6.  Any number of
 *				events may lie between those two (an implicit .*).  Several
 *				time conditions in a row all apply to the same pair.
 * No whitespace.  A time condition must be preceded and followed by an
 * event atom.  A pattern implicitly starts with .* (a match may start at
 * any event).  Events are the actor's rows that satisfy at least one
 * condition, sorted by (ts, row).
 *
 * ClickHouse differences (deliberate, documented): a time condition after
 * .* is measured from the event matched before the .* (ClickHouse measures
 * from the event where the .* started); a time condition must be followed
 * by an event atom (ClickHouse accepts trailing ones); != is accepted.
 */
typedef struct sq_program sq_program;

/* compile; syntax errors are AN_EINVAL with the 1-based position in err */
extern int	sq_compile(const char *pattern, size_t len, int n_conds,
					   const an_allocator *a, sq_program **out,
					   char *err, size_t errlen);
extern void sq_free(const an_allocator *a, sq_program *p);

/*
 * Does the pattern match the events?  The matcher may take at most
 * max_steps elementary steps; beyond that it returns AN_ELIMIT ("pattern
 * matching needed more than N steps") instead of running away.
 */
extern int	sq_match(const sq_program *p, const fn_event *events, int64_t n,
					 int64_t max_steps, bool *matched, const an_allocator *a,
					 char *err, size_t errlen);

/*
 * Number of non-overlapping matches: repeatedly the match that starts at
 * the earliest possible event and, for that start, ends at the earliest
 * possible event; the next search starts after the event that ended it.
 * Same step bound over the whole count.
 */
extern int	sq_count(const sq_program *p, const fn_event *events, int64_t n,
					 int64_t max_steps, int64_t *count, const an_allocator *a,
					 char *err, size_t errlen);

#endif							/* ANALYTICS_FUNNEL_H */
