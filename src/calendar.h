/*
 * calendar.h
 *		Time zones for the period functions: local time of a timestamptz with
 *		a per-day cache of the zone's offset, period names, and the
 *		timestamptz at which a local period starts.
 */
#ifndef ANALYTICS_CALENDAR_H
#define ANALYTICS_CALENDAR_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "pgtime.h"

#include "lib/cohort.h"

#define TZ_CACHE_SLOTS 1024

typedef struct TzCacheEntry
{
	int64		day;			/* UTC day (Unix days); INT64_MIN when empty */
	int64		boundary;		/* Unix seconds of a transition inside the day, or INT64_MAX */
	int32		before;			/* offset (seconds east of UTC) before the boundary */
	int32		after;			/* offset after it */
	bool		exact;			/* false: more than one transition that day, ask the zone */
} TzCacheEntry;

typedef struct TzCache
{
	pg_tz	   *tz;
	TzCacheEntry e[TZ_CACHE_SLOTS];
} TzCache;

/* the zone named tzname (NULL: the session time zone); unknown names are an error */
extern void tzcache_init(TzCache *c, const char *tzname);

/* local seconds since 1970-01-01 00:00 of t in the cache's zone */
extern int64 tzcache_local(TzCache *c, TimestampTz t);

/*
 * The bucket of period p containing t, with a cache of bucket ranges: the
 * UTC range [lo, hi) of a bucket, kept when the zone's offset is constant
 * over all of it (no transition inside).  Runs of nearby timestamps hit the
 * last range in two comparisons; others look in a direct-mapped table by
 * UTC day (by hour for hours), so an actor's rows that jump between the
 * buckets of a few hundred days compute each bucket once per slot.
 * Zero-initialise bc; one per period.  Infinite timestamps, and hours
 * beyond the int32 range, are errors.
 */
typedef struct BucketRange
{
	TimestampTz lo;
	TimestampTz hi;
	int32		bucket;
} BucketRange;

#define BUCKET_DAY_SLOTS 256

typedef struct BucketCache
{
	TimestampTz lo;				/* the last range */
	TimestampTz hi;
	int32		bucket;
	BucketRange day[BUCKET_DAY_SLOTS];	/* by UTC day (hour) of the timestamp */
} BucketCache;

/* calendar_bucket when t is in no cached range */
extern int32 calendar_bucket_fill(TzCache *c, BucketCache *bc, co_period p, TimestampTz t);

/* error out on 'infinity' and '-infinity': they lie in no period */
extern void calendar_check_finite(TimestampTz t);

/* the slot of t in bc->day: an hour wide for hours, a day for longer periods */
static inline BucketRange *
calendar_bucket_slot(BucketCache *bc, co_period p, TimestampTz t)
{
	/* two divisions by constants: multiplications, where one by a variable is not */
	int64		slot = p == CO_HOUR ? t / USECS_PER_HOUR : t / USECS_PER_DAY;

	return &bc->day[(uint64) slot & (BUCKET_DAY_SLOTS - 1)];
}

static inline int32
calendar_bucket(TzCache *c, BucketCache *bc, co_period p, TimestampTz t)
{
	BucketRange *r;

	if (t >= bc->lo && t < bc->hi)
		return bc->bucket;
	r = calendar_bucket_slot(bc, p, t);
	if (t >= r->lo && t < r->hi)
	{
		bc->lo = r->lo;
		bc->hi = r->hi;
		bc->bucket = r->bucket;
		return r->bucket;
	}
	return calendar_bucket_fill(c, bc, p, t);
}

/* the timestamptz of local wall-clock seconds (e.g. a local midnight) */
extern TimestampTz tzcache_to_utc(TzCache *c, int64 local_seconds);

/*
 * Period names: hour, day, week, month (and rolling_24h where allowed);
 * unknown names are an error listing the valid ones.
 */
extern int	calendar_period(text *name, bool allow_rolling, const char *what);

#define CAL_ROLLING_24H CO_NPERIODS

/* Unix microseconds of a timestamptz */
#define TS_UNIX_US(t) ((int64) (t) + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

#endif							/* ANALYTICS_CALENDAR_H */
