/*
 * cohort.h
 *		Calendar buckets and the per-actor accumulators behind cohort_matrix,
 *		lifecycle and stickiness.  Pure C; see cohort.c.
 *
 * Time is local seconds since 1970-01-01 00:00 (the caller applies the
 * time zone).  A bucket is the index of the period containing a time:
 *	hour	floor(s / 3600)
 *	day		floor(s / 86400)
 *	week	ISO weeks starting Monday: floor((day + 3) / 7) (day 0 is a Thursday)
 *	month	year * 12 + month - 1
 */
#ifndef ANALYTICS_COHORT_H
#define ANALYTICS_COHORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

typedef enum co_period
{
	CO_HOUR,
	CO_DAY,
	CO_WEEK,
	CO_MONTH,
	CO_NPERIODS
} co_period;

/* floor(a / b); inline: it is on the per-row path of every calendar bucket */
static inline int64_t
co_floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* days since 1970-01-01 of a civil date, and back (proleptic Gregorian) */
extern int64_t co_days_from_civil(int64_t y, int m, int d);
extern void co_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* bucket of local seconds s, and local seconds at which bucket b starts */
extern int64_t co_bucket(co_period p, int64_t s);
extern int64_t co_bucket_start(co_period p, int64_t b);

/* ---- cohort matrix ---- */

#define CO_START	0x01		/* the actor did a start (cohort) event in the bucket */
#define CO_RETURN	0x02		/* the actor did a return event in the bucket */

/* one actor's activity in one bucket; an actor's list is sorted by bucket, unique */
typedef struct co_activity
{
	int32_t		bucket;
	uint8_t		flags;
	double		value;			/* sum of the value column over the actor's rows in the bucket */
} co_activity;

/*
 * Cells of cohorts first .. first + n_cohorts - 1 (buckets) by offsets
 * 0 .. periods - 1.  Cell (c, k) exists when c + k <= last (the triangle).
 */
typedef struct co_matrix
{
	int32_t		first;
	int32_t		last;
	int32_t		n_cohorts;
	int			periods;
	int64_t    *cohort_size;	/* [n_cohorts] */
	int64_t    *actors;			/* [n_cohorts * periods] */
	double	   *value;			/* [n_cohorts * periods] */
} co_matrix;

extern int	co_matrix_init(co_matrix *m, int32_t first, int32_t last, int periods,
						   const an_allocator *a);
extern void co_matrix_free(co_matrix *m, const an_allocator *a);

/*
 * Add one actor (calendar periods).
 * first_time: the cohort is the first bucket with CO_START; recurring: every
 * bucket with CO_START is a cohort of the actor.  For each of the actor's
 * cohorts c and offsets k with c + k <= last: the actor counts in cell
 * (c, k) when it has CO_RETURN in bucket c + k (returns "on"), or in any
 * bucket >= c + k (on_or_after); the cell's value adds the actor's value
 * in bucket c + k.  Buckets outside [first, last] are ignored as cohorts.
 */
extern void co_matrix_add(co_matrix *m, const co_activity *b, int n,
						  bool recurring, bool on_or_after);

/* one UTC day of an actor's return events (rolling 24-hour periods) */
typedef struct co_day
{
	int32_t		day;			/* floor(utc_us / 86400e6) */
	int64_t		min_ret;		/* earliest return event in the day (us) */
	int64_t		max_ret;		/* latest */
} co_day;

/*
 * Add one actor with rolling 24-hour periods: offset k is the window
 * [f + k * 24h, f + (k + 1) * 24h) after the actor's first start event f
 * (microseconds); cohort is the bucket (local day) of f.  on: a return
 * event in the window; on_or_after: any return event at or after the
 * window's start (max_ret is the actor's latest return).  days sorted by
 * day; a window covers the end of one UTC day and the start of the next,
 * so the earliest and latest return of each day decide it exactly.
 */
extern void co_matrix_add_rolling(co_matrix *m, int32_t cohort, int64_t f,
								  const co_day *days, int n, int64_t max_ret,
								  bool on_or_after);

/* ---- lifecycle ---- */

/*
 * Per bucket first .. last: actors new (first active bucket), returning
 * (active in this and the previous bucket), resurrecting (active now, not
 * in the previous bucket, but before) and dormant (active in the previous
 * bucket, not in this one).
 */
typedef struct co_lifecycle
{
	int32_t		first;
	int32_t		n;
	int64_t    *counts;			/* [n * 4]: new, returning, resurrecting, dormant */
} co_lifecycle;

extern int	co_lifecycle_init(co_lifecycle *l, int32_t first, int32_t last,
							  const an_allocator *a);
extern void co_lifecycle_free(co_lifecycle *l, const an_allocator *a);
/* active: the actor's sorted unique active buckets */
extern void co_lifecycle_add(co_lifecycle *l, const int32_t *active, int n);

/* ---- stickiness ---- */

/*
 * windows: the window (e.g. week) of each of the actor's sorted unique
 * active buckets (e.g. days), non-decreasing.  hist[k] counts the (actor,
 * window) pairs with exactly k active buckets; hist has max_k + 1 entries
 * and larger k are clamped to max_k.
 */
extern void co_stickiness_add(int64_t *hist, int max_k, const int64_t *windows, int n);

#endif							/* ANALYTICS_COHORT_H */
