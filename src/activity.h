/*
 * activity.h
 *		Per-actor activity: for every actor (any hashable type), the sorted
 *		set of buckets in which it was active, with start/return flags and
 *		optionally a value sum; or, for rolling 24-hour periods, per UTC day
 *		the earliest and latest return event plus the first start event.
 *		The state behind cohort_matrix, lifecycle and stickiness, with merge
 *		and serialization for parallel aggregation.
 *
 * An activity has two forms.  Rows accumulate in a table: a hash of actors
 * and one record per actor.  Partial states of a parallel (or distributed)
 * aggregate arrive as runs: records sorted by the actors' sort key (see
 * actor.h), serialized by the processes that built them.  Combining states
 * collects runs without looking at them; readers (activity_foreach) merge
 * the runs as they go, so the leader of a parallel plan builds no hash
 * table at all.
 *
 * Memory per actor in a table: about 70 bytes for integer actors (4-byte
 * hash slots unless first seen in increasing order, key, a 48-byte record
 * that holds the first four active periods, two with values, one rolling
 * day), roughly 50 more for others,
 * plus, beyond those, 8 bytes per active period (16 with values, 24 per
 * rolling day) in a growable array; rolling periods add 16 bytes for the
 * first start and last return.  In a run: a few bytes per actor and period
 * (activity.c), and for actors that are not integers the key.
 * analytics.max_aggregate_memory caps the total with a clear error.
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

/* entry layouts (all multiples of 8 bytes) */
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

/* what the entries of some actors span (calendar kinds) */
typedef struct ActBounds
{
	int32		first_any;		/* smallest bucket, PG_INT32_MAX if none */
	int32		first_start;	/* smallest bucket with CO_START, PG_INT32_MAX if none */
	int32		last;			/* largest bucket, PG_INT32_MIN if none */
	int32		max_n;			/* at least the entries of any one actor */
} ActBounds;

/* sorted records in memory of their own (format in activity.c) */
typedef struct ActRun
{
	char	   *data;
	Size		len;
	int64		n;				/* records */
	ActBounds	bounds;			/* of its records */
	MemoryContext owner;		/* holds data; deleted with the run */
} ActRun;

typedef struct Activity
{
	MemoryContext cxt;			/* all of it */
	ActKind		kind;
	Size		entry_size;
	Oid			actor_type;
	const char *what;			/* function name for messages */

	/* table form */
	MemoryContext tcxt;			/* the table: actors, records, entries */
	ActorTable *actors;
	ActRec	   *recs;
	ActRollInfo *roll;			/* ACT_ROLLING, else NULL */
	int64		recs_cap;
	int64		rows;			/* slow-path rows (for the memory check cadence) */

	/*
	 * The actor of the previous calendar row, when its type is by value, and
	 * the last entry of its record (NULL: none; reset by every change that
	 * may move entries).
	 */
	bool		key_byval;
	bool		int_keys;		/* actor_table_int_keys */
	Datum		last_key;
	int64		last_idx;		/* its record, or -1 */
	char	   *last_entry;

	/* run form: when there are runs, the table is empty */
	ActRun	   *runs;
	int			n_runs;
	int			runs_cap;
} Activity;

extern Activity *activity_create(MemoryContext parent, Oid actor_type, ActKind kind,
								 const char *what);

extern void activity_add_slow(Activity *a, Datum actor, int32 bucket, uint8 flags, double value);

/*
 * Calendar kinds: flags ORed, value added.  Inline for the common row: the
 * same actor (by value) and bucket as the previous row, as when events are
 * stored by actor or by session.  Equal by-value Datums are the same actor
 * under any type's equality.
 */
static inline void
activity_add(Activity *a, Datum actor, int32 bucket, uint8 flags, double value)
{
	char	   *e = a->last_entry;

	if (e && actor == a->last_key && ((ActCal *) e)->bucket == bucket)
	{
		((ActCal *) e)->flags |= flags;
		if (a->kind == ACT_CALENDAR_VALUE)
			((ActVal *) e)->value += value;
		return;
	}
	activity_add_slow(a, actor, bucket, flags, value);
}

/* rolling: a start and/or return event at t (Unix microseconds) */
extern void activity_add_rolling(Activity *a, Datum actor, int64 t, bool start, bool ret);

/*
 * Add the activity of src to dst.  When src_disposable, src is not used
 * afterwards (its runs move into dst, and its context may be deleted).
 */
extern void activity_merge(Activity *dst, Activity *src, bool src_disposable);

/* no actor at all */
extern bool activity_empty(const Activity *a);

/*
 * The bounds of a calendar activity in run form, read off the runs without
 * merging them (max_n adds up the runs' largest actors).  False for the
 * table form and for rolling periods: ask activity_foreach.
 */
extern bool activity_run_bounds(const Activity *a, ActBounds *b);

/* one actor's merged activity, as activity_foreach shows it */
typedef struct ActView
{
	Datum		key;
	uint64		sort_key;		/* filled only when sorted order was asked for */
	const char *entries;		/* n sorted entries of the kind's layout */
	int32		n;
	ActRollInfo roll;			/* ACT_ROLLING */
} ActView;

typedef void (*ActVisit) (void *arg, const ActView *v);

/*
 * Call visit once per distinct actor (in no particular order), with the
 * union of its activity over the table and all runs.  The view is valid
 * during the call only.
 */
extern void activity_foreach(Activity *a, ActVisit visit, void *arg);

extern void activity_serialize(Activity *a, StringInfo buf);

/* a state in run form, its run in a context of its own under parent */
extern Activity *activity_deserialize(MemoryContext parent, Oid actor_type, const char *what,
									  const char *p, Size len, Size *used);

#endif							/* ANALYTICS_ACTIVITY_H */
