/*
 * activity.c
 *		Per-actor activity sets (see activity.h).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "activity.h"
#include "analytics.h"

#define ACT_FORMAT 1
#define US_PER_DAY INT64CONST(86400000000)
#define MEMORY_CHECK_EVERY 8192

int			analytics_max_aggregate_memory = 1048576;	/* kB */

Activity *
activity_create(MemoryContext parent, Oid actor_type, ActKind kind, const char *what)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "analytics activity",
											  ALLOCSET_DEFAULT_SIZES);
	Activity   *a = MemoryContextAllocZero(cxt, sizeof(Activity));

	a->cxt = cxt;
	a->kind = kind;
	a->what = what;
	a->entry_size = kind == ACT_CALENDAR ? sizeof(ActCal)
		: kind == ACT_CALENDAR_VALUE ? sizeof(ActVal) : sizeof(ActRoll);
	a->actors = actor_table_create(actor_type, InvalidOid, cxt, "the actor");
	a->recs_cap = 1024;
	a->recs = MemoryContextAllocHuge(cxt, sizeof(ActRec) * a->recs_cap);
	if (kind == ACT_ROLLING)
		a->roll = MemoryContextAllocHuge(cxt, sizeof(ActRollInfo) * a->recs_cap);
	return a;
}


/* error out when the state has outgrown analytics.max_aggregate_memory */
static void
check_memory(Activity *a)
{
	Size		used = MemoryContextMemAllocated(a->cxt, true);

	if (used / 1024 > (Size) analytics_max_aggregate_memory)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs more memory than analytics.max_aggregate_memory allows (%d kB)",
						a->what, analytics_max_aggregate_memory),
				 errdetail("It holds the activity of " INT64_FORMAT " actors in %zu kB.",
						   actor_table_count(a->actors), used / 1024),
				 errhint("Raise analytics.max_aggregate_memory, or aggregate fewer actors at a time (for example per workspace or time range).")));
}

/* initialise record idx (called when the actor is new) */
static void
rec_init(Activity *a, int64 idx)
{
	ActRec	   *r = &a->recs[idx];

	r->entries = NULL;
	r->n = 0;
	r->cap = (int32) (ACT_INLINE / a->entry_size);
	if (a->roll)
	{
		a->roll[idx].min_start = PG_INT64_MAX;
		a->roll[idx].max_ret = PG_INT64_MIN;
	}
}

/* index of the first entry with key >= key (keys: the leading int32) */
static int32
lower_bound(const char *e, int32 n, Size sz, int32 key)
{
	int32		lo = 0,
				hi = n;

	/* fast path: appending in time order */
	if (n > 0)
	{
		int32		last;

		memcpy(&last, e + (Size) (n - 1) * sz, sizeof(int32));
		if (last < key)
			return n;
		if (last == key)
			return n - 1;
	}
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int32		k;

		memcpy(&k, e + (Size) mid * sz, sizeof(int32));
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The entry for key in r, inserted (zeroed but for the key) when absent;
 * *fresh tells which.
 */
static char *
rec_entry(Activity *a, ActRec *r, int32 key, bool *fresh)
{
	Size		sz = a->entry_size;
	char	   *e = ACT_ENTRIES(r);
	int32		pos = lower_bound(e, r->n, sz, key);
	int32		k;

	if (pos < r->n)
	{
		memcpy(&k, e + (Size) pos * sz, sizeof(int32));
		if (k == key)
		{
			*fresh = false;
			return e + (Size) pos * sz;
		}
	}
	if (r->n == r->cap)
	{
		int32		cap = r->cap < 4 ? 4 : r->cap * 2;
		char	   *ne = MemoryContextAlloc(a->cxt, sz * cap);

		memcpy(ne, e, sz * r->n);
		if (r->entries)
			pfree(r->entries);
		r->entries = ne;
		r->cap = cap;
		e = ne;
	}
	memmove(e + (Size) (pos + 1) * sz, e + (Size) pos * sz, sz * (r->n - pos));
	memset(e + (Size) pos * sz, 0, sz);
	memcpy(e + (Size) pos * sz, &key, sizeof(int32));
	r->n++;
	*fresh = true;
	return e + (Size) pos * sz;
}

/* the record index of an actor, created (and initialised) when the actor is new */
static int64
get_rec(Activity *a, Datum actor)
{
	int64		before = actor_table_count(a->actors);
	int64		idx = actor_table_index(a->actors, actor, true);

	if (idx >= a->recs_cap)
	{
		a->recs_cap *= 2;
		a->recs = repalloc_huge(a->recs, sizeof(ActRec) * a->recs_cap);
		if (a->roll)
			a->roll = repalloc_huge(a->roll, sizeof(ActRollInfo) * a->recs_cap);
	}
	if (actor_table_count(a->actors) > before)
		rec_init(a, idx);
	if (++a->rows % MEMORY_CHECK_EVERY == 0)
		check_memory(a);
	return idx;
}

/* OR flags / add value into the calendar entry of bucket */
static void
rec_add_calendar(Activity *a, ActRec *r, int32 bucket, uint8 flags, double value)
{
	bool		fresh;
	char	   *e = rec_entry(a, r, bucket, &fresh);

	if (a->kind == ACT_CALENDAR_VALUE)
	{
		ActVal	   *v = (ActVal *) e;

		v->flags |= flags;
		v->value += value;
	}
	else
		((ActCal *) e)->flags |= flags;
}

void
activity_add(Activity *a, Datum actor, int32 bucket, uint8 flags, double value)
{
	int64		idx = get_rec(a, actor);

	rec_add_calendar(a, &a->recs[idx], bucket, flags, value);
}

/* widen the return range of the rolling entry of day of record idx */
static void
rec_add_day(Activity *a, int64 idx, int32 day, int64 min_ret, int64 max_ret)
{
	bool		fresh;
	ActRoll    *e = (ActRoll *) rec_entry(a, &a->recs[idx], day, &fresh);

	if (fresh || min_ret < e->min_ret)
		e->min_ret = min_ret;
	if (fresh || max_ret > e->max_ret)
		e->max_ret = max_ret;
	if (max_ret > a->roll[idx].max_ret)
		a->roll[idx].max_ret = max_ret;
}

void
activity_add_rolling(Activity *a, Datum actor, int64 t, bool start, bool ret)
{
	int64		idx = get_rec(a, actor);

	if (start && t < a->roll[idx].min_start)
		a->roll[idx].min_start = t;
	if (ret)
		rec_add_day(a, idx, (int32) co_floor_div(t, US_PER_DAY), t, t);
}

void
activity_merge(Activity *dst, const Activity *src)
{
	int64		n = actor_table_count(src->actors),
				i;

	for (i = 0; i < n; i++)
	{
		ActRec	   *s = &src->recs[i];
		int64		d = get_rec(dst, actor_table_key(src->actors, i));
		const char *e = ACT_ENTRIES(s);
		int32		j;

		if (src->roll && src->roll[i].min_start < dst->roll[d].min_start)
			dst->roll[d].min_start = src->roll[i].min_start;
		for (j = 0; j < s->n; j++)
		{
			const char *x = e + (Size) j * src->entry_size;

			if (src->kind == ACT_ROLLING)
			{
				const ActRoll *v = (const ActRoll *) x;

				rec_add_day(dst, d, v->day, v->min_ret, v->max_ret);
			}
			else if (src->kind == ACT_CALENDAR_VALUE)
			{
				const ActVal *v = (const ActVal *) x;

				rec_add_calendar(dst, &dst->recs[d], v->bucket, v->flags, v->value);
			}
			else
			{
				const ActCal *v = (const ActCal *) x;

				rec_add_calendar(dst, &dst->recs[d], v->bucket, v->flags, 0.0);
			}
		}
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

void
activity_serialize(const Activity *a, StringInfo buf)
{
	int32		hdr[2] = {ACT_FORMAT, (int32) a->kind};
	int64		n = actor_table_count(a->actors),
				i;

	appendBinaryStringInfo(buf, (char *) hdr, sizeof(hdr));
	appendBinaryStringInfo(buf, (char *) &n, sizeof(int64));
	for (i = 0; i < n; i++)
	{
		const ActRec *r = &a->recs[i];

		actor_table_write_key(a->actors, i, buf);
		if (a->roll)
			appendBinaryStringInfo(buf, (char *) &a->roll[i], sizeof(ActRollInfo));
		appendBinaryStringInfo(buf, (char *) &r->n, sizeof(int32));
		appendBinaryStringInfo(buf, ACT_ENTRIES(r), a->entry_size * r->n);
	}
}

static void
need(Size have, Size want)
{
	if (have < want)
		elog(ERROR, "truncated activity state");
}

Activity *
activity_deserialize(MemoryContext parent, Oid actor_type, const char *what,
					 const char *p, Size len, Size *used)
{
	const char *start = p;
	int32		hdr[2];
	int64		n,
				i;
	Activity   *a;

	need(len, sizeof(hdr) + sizeof(int64));
	memcpy(hdr, p, sizeof(hdr));
	p += sizeof(hdr);
	if (hdr[0] != ACT_FORMAT || hdr[1] < ACT_CALENDAR || hdr[1] > ACT_ROLLING)
		elog(ERROR, "invalid activity state");
	memcpy(&n, p, sizeof(int64));
	p += sizeof(int64);
	a = activity_create(parent, actor_type, (ActKind) hdr[1], what);
	for (i = 0; i < n; i++)
	{
		Datum		key;
		int64		idx;
		ActRec	   *r;
		int32		cnt;
		Size		bytes;

		p += actor_table_read_key(a->actors, p, len - (p - start), &key);
		idx = get_rec(a, key);
		r = &a->recs[idx];
		if (a->roll)
		{
			need(len - (p - start), sizeof(ActRollInfo));
			memcpy(&a->roll[idx], p, sizeof(ActRollInfo));
			p += sizeof(ActRollInfo);
		}
		need(len - (p - start), sizeof(int32));
		memcpy(&cnt, p, sizeof(int32));
		p += sizeof(int32);
		if (cnt < 0)
			elog(ERROR, "invalid activity state");
		bytes = a->entry_size * cnt;
		need(len - (p - start), bytes);
		if ((Size) cnt > ACT_INLINE / a->entry_size)
		{
			r->entries = MemoryContextAlloc(a->cxt, bytes);
			r->cap = cnt;
		}
		memcpy(ACT_ENTRIES(r), p, bytes);
		r->n = cnt;
		p += bytes;
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*used = p - start;
	return a;
}
