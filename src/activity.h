/*
 * activity.h
 *		Per-actor activity: for every actor (any hashable type), the sorted
 *		set of buckets in which it was active, with start/return flags and
 *		optionally a value sum; or, for rolling 24-hour periods, per UTC day
 *		the earliest and latest return event plus the first start event.
 *		The state behind cohort_matrix, lifecycle and stickiness, with merge
 *		and serialization for parallel aggregation.
 *
 * Memory per actor: about 90 bytes (hash slots, key, a 48-byte record that
 * holds the first four active periods, two with values, one rolling day)
 * plus, beyond those, 8 bytes per active period (16 with values, 24 per
 * rolling day) in a growable array; rolling periods add 16 bytes for the
 * first start and last return.  analytics.max_aggregate_memory caps the
 * total with a clear error.
 */
#ifndef ANALYTICS_ACTIVITY_H
#define ANALYTICS_ACTIVITY_H

#include "postgres.h"

#include "actor.h"
#include "lib/cohort.h"

typedef enum ActKind
{
	ACT_CALENDAR,				/* bucket + flags */
	ACT_CALENDAR_VALUE,			/* bucket + flags + value */
	ACT_ROLLING					/* UTC day + min/max return time */
} ActKind;

#define ACT_INLINE 32			/* bytes of entries stored inside the record */

typedef struct ActRec
{
	char	   *entries;		/* n sorted entries: allocated, or NULL for inline_buf */
	int32		n;
	int32		cap;			/* entries that fit */
	char		inline_buf[ACT_INLINE] pg_attribute_aligned(8);
} ActRec;

/* the entries of record r */
#define ACT_ENTRIES(r) ((r)->entries ? (r)->entries : (r)->inline_buf)

/* rolling kind only: per actor, parallel to recs */
typedef struct ActRollInfo
{
	int64		min_start;		/* earliest start event (us), INT64_MAX if none */
	int64		max_ret;		/* latest return event (us), INT64_MIN if none */
} ActRollInfo;

typedef struct Activity
{
	MemoryContext cxt;
	ActorTable *actors;
	ActKind		kind;
	Size		entry_size;
	ActRec	   *recs;
	ActRollInfo *roll;			/* ACT_ROLLING, else NULL */
	int64		recs_cap;
	int64		rows;			/* rows added (for the memory check cadence) */
	const char *what;			/* function name for messages */
} Activity;

/* entry layouts */
typedef struct ActCal
{
	int32		bucket;
	uint8		flags;
} ActCal;

typedef struct ActVal
{
	int32		bucket;
	uint8		flags;
	double		value;
} ActVal;

typedef struct ActRoll
{
	int32		day;
	int64		min_ret;
	int64		max_ret;
} ActRoll;

extern Activity *activity_create(MemoryContext parent, Oid actor_type, ActKind kind,
								 const char *what);

/* calendar kinds: flags ORed, value added */
extern void activity_add(Activity *a, Datum actor, int32 bucket, uint8 flags, double value);

/* rolling: a start and/or return event at t (Unix microseconds) */
extern void activity_add_rolling(Activity *a, Datum actor, int64 t, bool start, bool ret);

extern void activity_merge(Activity *dst, const Activity *src);

extern void activity_serialize(const Activity *a, StringInfo buf);
extern Activity *activity_deserialize(MemoryContext parent, Oid actor_type, const char *what,
									  const char *p, Size len, Size *used);

#endif							/* ANALYTICS_ACTIVITY_H */
