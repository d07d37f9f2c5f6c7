/*
 * activity.c
 *		Per-actor activity sets (see activity.h).
 *
 * A run is a sequence of records sorted by the actors' sort keys (equal
 * sort keys only for different actors whose hashes collide), encoded
 * compactly because runs travel between processes and are copied several
 * times on the way (varints are LEB128: 7 bits a byte, low bits first):
 *
 *	sort key		the first record's as 8 bytes, then the increase over
 *					the previous record's as a varint (at least 1 for
 *					integer actors, whose sort keys are unique)
 *	n				varint: entries
 *	key				actors that are not integers: varint length and the
 *					key image (actor_table_key_image)
 *	roll info		ACT_ROLLING: ActRollInfo, 16 bytes
 *	n entries		calendar: varint (bucket code << 2 | flags), then the
 *					value as 8 bytes for ACT_CALENDAR_VALUE; rolling:
 *					varint day code, min_ret and max_ret as 8 bytes each.
 *					The code of the first entry is the zigzag-encoded
 *					difference to the previous record's first bucket
 *					(day; 0 for the first record), of the others the gap
 *					to the previous one minus 1, so buckets are strictly
 *					increasing.
 *
 * A typical actor of a weekly cohort takes about 5 bytes.  Decoding checks
 * every length against the end of the run, so a damaged state is an error,
 * never a read out of bounds.  A serialized state is a header (format,
 * kind, records, bytes, bounds) and one run.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "activity.h"
#include "analytics.h"
#include "lib/sort.h"

#define ACT_FORMAT 4
#define US_PER_DAY INT64CONST(86400000000)
#define MEMORY_CHECK_EVERY 8192
#define MAX_RUNS 16				/* more runs than this are merged into one */
#define VARINT_MAX 10			/* bytes of the longest varint */

int			analytics_max_aggregate_memory = 1048576;	/* kB */

/* an empty table in a context of its own */
static void
table_init(Activity *a)
{
	a->tcxt = AllocSetContextCreate(a->cxt, "analytics activity table", ALLOCSET_DEFAULT_SIZES);
	a->actors = actor_table_create(a->actor_type, InvalidOid, a->tcxt, "the actor");
	a->recs_cap = 1024;
	a->recs = MemoryContextAllocHuge(a->tcxt, sizeof(ActRec) * a->recs_cap);
	a->roll = a->kind == ACT_ROLLING
		? MemoryContextAllocHuge(a->tcxt, sizeof(ActRollInfo) * a->recs_cap) : NULL;
	a->last_entry = NULL;
	a->last_idx = -1;
}

Activity *
activity_create(MemoryContext parent, Oid actor_type, ActKind kind, const char *what)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "analytics activity",
											  ALLOCSET_DEFAULT_SIZES);
	Activity   *a = MemoryContextAllocZero(cxt, sizeof(Activity));

	a->cxt = cxt;
	a->kind = kind;
	a->what = what;
	a->actor_type = actor_type;
	a->entry_size = kind == ACT_CALENDAR ? sizeof(ActCal)
		: kind == ACT_CALENDAR_VALUE ? sizeof(ActVal) : sizeof(ActRoll);
	a->key_byval = get_typbyval(actor_type);
	table_init(a);
	a->int_keys = actor_table_int_keys(a->actors);
	return a;
}

/* actors in the table plus records in the runs (an actor may be in several) */
static int64
actor_records(const Activity *a)
{
	int64		n = actor_table_count(a->actors);
	int			r;

	for (r = 0; r < a->n_runs; r++)
		n += a->runs[r].n;
	return n;
}

bool
activity_empty(const Activity *a)
{
	return actor_records(a) == 0;
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
						   actor_records(a), used / 1024),
				 errhint("Raise analytics.max_aggregate_memory, or aggregate fewer actors at a time (for example per workspace or time range).")));
}

/* ---------- the table ---------- */

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
		char	   *ne = MemoryContextAlloc(a->tcxt, sz * cap);

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

/*
 * The record index of an actor, created (and initialised) when the actor is
 * new.  The previous row's actor, when its type is by value, needs no lookup.
 */
static int64
get_rec(Activity *a, Datum actor)
{
	int64		idx;

	Assert(a->n_runs == 0);		/* rows go into tables only */
	if (a->last_idx >= 0 && actor == a->last_key)
		idx = a->last_idx;
	else
	{
		int64		before = actor_table_count(a->actors);

		idx = actor_table_index(a->actors, actor, true);
		if (idx >= a->recs_cap)
		{
			a->recs_cap *= 2;
			a->recs = repalloc_huge(a->recs, sizeof(ActRec) * a->recs_cap);
			if (a->roll)
				a->roll = repalloc_huge(a->roll, sizeof(ActRollInfo) * a->recs_cap);
		}
		if (actor_table_count(a->actors) > before)
			rec_init(a, idx);
		if (a->key_byval)
		{
			a->last_key = actor;
			a->last_idx = idx;
		}
	}
	a->last_entry = NULL;		/* records and entries may move */
	if (++a->rows % MEMORY_CHECK_EVERY == 0)
		check_memory(a);
	return idx;
}

void
activity_add_slow(Activity *a, Datum actor, int32 bucket, uint8 flags, double value)
{
	int64		idx = get_rec(a, actor);	/* first: it may move recs */
	ActRec	   *r = &a->recs[idx];
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
	if (a->key_byval)			/* get_rec made actor the last key */
		a->last_entry = ACT_ENTRIES(r) + (Size) (r->n - 1) * a->entry_size;
}

void
activity_add_rolling(Activity *a, Datum actor, int64 t, bool start, bool ret)
{
	int64		idx = get_rec(a, actor);

	if (start && t < a->roll[idx].min_start)
		a->roll[idx].min_start = t;
	if (ret)
	{
		bool		fresh;
		ActRoll    *e = (ActRoll *) rec_entry(a, &a->recs[idx],
											  (int32) co_floor_div(t, US_PER_DAY), &fresh);

		if (fresh || t < e->min_ret)
			e->min_ret = t;
		if (fresh || t > e->max_ret)
			e->max_ret = t;
		if (t > a->roll[idx].max_ret)
			a->roll[idx].max_ret = t;
	}
}

static void
interrupts_cb(void *ctx)
{
	(void) ctx;
	CHECK_FOR_INTERRUPTS();
}

/* visit the table's actors, in sort-key order when sorted */
static void
table_foreach(Activity *a, bool sorted, ActVisit visit, void *arg)
{
	int64		n = actor_table_count(a->actors),
				j;
	an_kv	   *order = NULL,
			   *kv = NULL,
			   *tmp = NULL;
	ActView		v;
	bool		need_sort = sorted;
	int64		start = 0;

	if (n == 0)
		return;
	if (sorted && a->int_keys)
	{
		/*
		 * Integer actors first seen in increasing order need no sort, nor do
		 * they when the order wraps around once (a synchronized scan that
		 * started in the middle of a table stored by actor): read from the
		 * wrap on.
		 */
		int64		descents = 0;

		for (j = 1; j < n && descents < 2; j++)
			if (DatumGetInt64(actor_table_key(a->actors, j)) <=
				DatumGetInt64(actor_table_key(a->actors, j - 1)))
			{
				descents++;
				start = j;
			}
		need_sort = descents > 1 || (descents == 1 &&
									 DatumGetInt64(actor_table_key(a->actors, n - 1)) >=
									 DatumGetInt64(actor_table_key(a->actors, 0)));
		if (need_sort)
			start = 0;
	}
	if (need_sort)
	{
		kv = palloc_extended(sizeof(an_kv) * n, MCXT_ALLOC_HUGE);
		tmp = palloc_extended(sizeof(an_kv) * n, MCXT_ALLOC_HUGE);
		for (j = 0; j < n; j++)
		{
			kv[j].key = actor_table_sort_key(a->actors, actor_table_key(a->actors, j));
			kv[j].val = (uint64) j;
		}
		order = an_radix_sort_kv(kv, tmp, n, interrupts_cb, NULL);
	}
	memset(&v, 0, sizeof(v));
	for (j = 0; j < n; j++)
	{
		int64		i = order ? (int64) order[j].val : (start + j) % n;
		const ActRec *r = &a->recs[i];

		v.key = actor_table_key(a->actors, i);
		v.sort_key = order ? order[j].key : sorted ? actor_table_sort_key(a->actors, v.key) : 0;
		v.entries = ACT_ENTRIES(r);
		v.n = r->n;
		if (a->roll)
			v.roll = a->roll[i];
		visit(arg, &v);
		if ((j & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (kv)
	{
		pfree(kv);
		pfree(tmp);
	}
}

/* ---------- runs ---------- */

static void
bad_state(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid activity state")));
}

static inline char *
put_varint(char *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (char) (v | 0x80);
		v >>= 7;
	}
	*p++ = (char) v;
	return p;
}

static uint64
get_varint_long(const char **pp, const char *end)
{
	const char *p = *pp;
	uint64		v = 0;
	int			shift = 0;

	for (;;)
	{
		uint8		b;

		if (p >= end || shift > 63)
			bad_state();
		b = (uint8) *p++;
		v |= (uint64) (b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	*pp = p;
	return v;
}

/* most varints here are one byte: gaps between periods, entry counts */
static inline uint64
get_varint(const char **pp, const char *end)
{
	const char *p = *pp;

	if (likely(p < end && !((uint8) *p & 0x80)))
	{
		*pp = p + 1;
		return (uint8) *p;
	}
	return get_varint_long(pp, end);
}

static inline uint64
zigzag(int64 v)
{
	return ((uint64) v << 1) ^ (uint64) (v >> 63);
}

static inline int64
unzigzag(uint64 v)
{
	return (int64) (v >> 1) ^ -(int64) (v & 1);
}

/* fixed-size fields */
static inline void
get_bytes(const char **pp, const char *end, void *dst, Size n)
{
	if ((Size) (end - *pp) < n)
		bad_state();
	memcpy(dst, *pp, n);
	*pp += n;
}

static void
bounds_init(ActBounds *b)
{
	b->first_any = PG_INT32_MAX;
	b->first_start = PG_INT32_MAX;
	b->last = PG_INT32_MIN;
	b->max_n = 0;
}

/* widen b by an actor's n entries (calendar kinds: sorted by bucket) */
static void
bounds_add(const Activity *a, ActBounds *b, const char *entries, int32 n)
{
	int32		j;

	b->max_n = Max(b->max_n, n);
	if (n == 0 || a->kind == ACT_ROLLING)
		return;
	b->first_any = Min(b->first_any, ((const ActCal *) entries)->bucket);
	b->last = Max(b->last, ((const ActCal *) (entries + (Size) (n - 1) * a->entry_size))->bucket);
	for (j = 0; j < n; j++)
	{
		const ActCal *e = (const ActCal *) (entries + (Size) j * a->entry_size);

		if (e->flags & CO_START)
		{
			b->first_start = Min(b->first_start, e->bucket);
			break;
		}
	}
}

bool
activity_run_bounds(const Activity *a, ActBounds *b)
{
	int			r;

	if (a->n_runs == 0 || a->kind == ACT_ROLLING)
		return false;
	bounds_init(b);
	for (r = 0; r < a->n_runs; r++)
	{
		const ActBounds *x = &a->runs[r].bounds;

		b->first_any = Min(b->first_any, x->first_any);
		b->first_start = Min(b->first_start, x->first_start);
		b->last = Max(b->last, x->last);
		b->max_n = (int32) Min((int64) b->max_n + x->max_n, (int64) PG_INT32_MAX - 1);
	}
	return true;
}

/* ---- writing ---- */

/* a serialized state is a bytea: at most 1 GB */
static void
check_serializable(const Activity *a, Size bytes)
{
	if (bytes >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the partial state of %s is too large to pass between processes (%zu MB)",
						a->what, bytes >> 20),
				 errhint("Disable parallel aggregation for this query (SET max_parallel_workers_per_gather = 0), or aggregate fewer actors at a time.")));
}

/* records written to a growable buffer */
typedef struct RunWriter
{
	Activity   *a;
	MemoryContext cxt;
	char	   *data;
	Size		len;
	Size		cap;
	int64		n;				/* records written */
	uint64		prev_key;		/* the last one's sort key */
	int32		prev_first;		/* the last one's first bucket (0 before) */
	ActBounds	bounds;			/* of the records written */
} RunWriter;

/* the most bytes a record of n entries and a key image of key_len takes */
static Size
rec_bound(const Activity *a, int32 n, Size key_len)
{
	Size		per_entry = VARINT_MAX + (a->kind == ACT_CALENDAR ? 0
										  : a->kind == ACT_CALENDAR_VALUE ? sizeof(double)
										  : 2 * sizeof(int64));

	return 8 + 2 * VARINT_MAX + key_len + sizeof(ActRollInfo) + per_entry * (Size) n;
}

static void
write_record(void *arg, const ActView *v)
{
	RunWriter  *w = arg;
	Activity   *a = w->a;
	bool		int_keys = a->int_keys;
	Size		key_len = int_keys ? 0 : actor_table_image_size(a->actors, v->key);
	Size		bound = rec_bound(a, v->n, key_len);
	Size		sz = a->entry_size;
	char	   *start,
			   *p;
	int32		prev = 0,
				j;

	if (w->len + bound > w->cap)
	{
		Size		cap = Max(Max(w->cap * 2, w->len + bound), 8192);

		w->data = w->data ? repalloc_huge(w->data, cap) : MemoryContextAllocHuge(w->cxt, cap);
		w->cap = cap;
	}
	start = p = w->data + w->len;
	if (w->n == 0)
	{
		memcpy(p, &v->sort_key, sizeof(uint64));
		p += sizeof(uint64);
	}
	else
		p = put_varint(p, v->sort_key - w->prev_key);
	w->prev_key = v->sort_key;
	p = put_varint(p, (uint64) v->n);
	if (!int_keys)
	{
		p = put_varint(p, key_len);
		actor_table_key_image(a->actors, v->key, p);
		p += key_len;
	}
	if (a->kind == ACT_ROLLING)
	{
		memcpy(p, &v->roll, sizeof(ActRollInfo));
		p += sizeof(ActRollInfo);
	}
	for (j = 0; j < v->n; j++)
	{
		const char *e = v->entries + (Size) j * sz;
		int32		b = ((const ActCal *) e)->bucket;	/* or ActRoll.day: same place */
		uint64		code = j == 0 ? zigzag((int64) b - w->prev_first)
			: (uint64) ((int64) b - prev - 1);

		prev = b;
		if (a->kind == ACT_ROLLING)
		{
			p = put_varint(p, code);
			memcpy(p, &((const ActRoll *) e)->min_ret, sizeof(int64));
			memcpy(p + sizeof(int64), &((const ActRoll *) e)->max_ret, sizeof(int64));
			p += 2 * sizeof(int64);
			continue;
		}
		p = put_varint(p, (code << 2) | (((const ActCal *) e)->flags & (CO_START | CO_RETURN)));
		if (a->kind == ACT_CALENDAR_VALUE)
		{
			memcpy(p, &((const ActVal *) e)->value, sizeof(double));
			p += sizeof(double);
		}
	}
	if (v->n > 0)
		w->prev_first = ((const ActCal *) v->entries)->bucket;
	w->len += p - start;
	bounds_add(a, &w->bounds, v->entries, v->n);
	w->n++;
}

/* ---- reading ---- */

/*
 * A run being read: p is just past the sort key of the next record, which
 * is in sort_key (when left > 0).
 */
typedef struct RunCursor
{
	const char *p;
	const char *end;
	int64		left;			/* records from the next one on */
	uint64		sort_key;
	int32		prev_first;		/* the last record's first bucket (0 before) */
} RunCursor;

/* read the sort key of the record at c->p (the first record's when first) */
static void
cursor_peek(Activity *a, RunCursor *c, bool first)
{
	if (c->left == 0)
		return;
	if (first)
		get_bytes(&c->p, c->end, &c->sort_key, sizeof(uint64));
	else
	{
		uint64		delta = get_varint(&c->p, c->end);

		if (c->sort_key + delta < c->sort_key ||
			(delta == 0 && a->int_keys))
			bad_state();
		c->sort_key += delta;
	}
}

static void
cursor_init(Activity *a, RunCursor *c, const ActRun *run)
{
	c->p = run->data;
	c->end = run->data + run->len;
	c->left = run->n;
	c->prev_first = 0;
	cursor_peek(a, c, true);
}

/* decoded records: entries and key images at 8-aligned offsets of one buffer */
typedef struct Arena
{
	char	   *data;
	Size		len;
	Size		cap;
} Arena;

static Size
arena_take(Arena *ar, Size n)
{
	Size		at = TYPEALIGN(8, ar->len);

	if (at + n > ar->cap)
	{
		Size		cap = Max(Max(ar->cap * 2, at + n), 1024);

		ar->data = ar->data ? repalloc_huge(ar->data, cap)
			: MemoryContextAllocHuge(CurrentMemoryContext, cap);
		ar->cap = cap;
	}
	ar->len = at + n;
	return at;
}

/* a decoded record: offsets into the arena, made pointers once it stops growing */
typedef struct Decoded
{
	ActView		v;
	Size		entries_at;
	Size		key_at;			/* by-reference keys; else v.key holds the key */
	bool		key_in_arena;
} Decoded;

/* decode the next record of c into d (entries in ar) and peek at the one after */
static void
cursor_take(Activity *a, RunCursor *c, Arena *ar, Decoded *d)
{
	Size		sz = a->entry_size;
	uint64		n;
	int64		prev = 0;
	char	   *e;
	int64		j;

	d->v.sort_key = c->sort_key;
	d->key_in_arena = false;
	n = get_varint(&c->p, c->end);
	if (n > (uint64) (c->end - c->p))	/* every entry takes a byte at least */
		bad_state();
	d->v.n = (int32) n;
	if (a->int_keys)
		d->v.key = actor_table_image_key(a->actors, c->sort_key, NULL, 0);
	else
	{
		uint64		key_len = get_varint(&c->p, c->end);
		Size		at;

		if (key_len > (uint64) (c->end - c->p))
			bad_state();
		/* copied: by-reference keys need the alignment of their type */
		at = arena_take(ar, key_len);
		memcpy(ar->data + at, c->p, key_len);
		c->p += key_len;
		if (a->key_byval)
			d->v.key = actor_table_image_key(a->actors, c->sort_key, ar->data + at, key_len);
		else
		{
			/* check the image now; the pointer is made later */
			(void) actor_table_image_key(a->actors, c->sort_key, ar->data + at, key_len);
			d->key_at = at;
			d->key_in_arena = true;
		}
	}
	if (a->kind == ACT_ROLLING)
		get_bytes(&c->p, c->end, &d->v.roll, sizeof(ActRollInfo));
	else
		d->v.roll.min_start = d->v.roll.max_ret = 0;	/* unused */
	d->entries_at = arena_take(ar, sz * n);
	e = ar->data + d->entries_at;
	for (j = 0; j < (int64) n; j++, e += sz)
	{
		uint64		code = get_varint(&c->p, c->end);
		uint64		gap = a->kind == ACT_ROLLING ? code : code >> 2;
		int64		b;

		if (j == 0)
		{
			if (gap > (uint64) PG_UINT32_MAX * 2)
				bad_state();
			b = c->prev_first + unzigzag(gap);
		}
		else
		{
			if (gap > (uint64) PG_INT32_MAX)
				bad_state();
			b = prev + 1 + (int64) gap;
		}
		/* buckets stop short of the int32 ends (calendar_bucket_fill) */
		if (b <= PG_INT32_MIN || b >= PG_INT32_MAX)
			bad_state();
		prev = b;
		if (j == 0)
			c->prev_first = (int32) b;
		((ActCal *) e)->bucket = (int32) b;
		if (a->kind == ACT_ROLLING)
		{
			get_bytes(&c->p, c->end, &((ActRoll *) e)->min_ret, sizeof(int64));
			get_bytes(&c->p, c->end, &((ActRoll *) e)->max_ret, sizeof(int64));
			continue;
		}
		((ActCal *) e)->flags = (uint8) (code & (CO_START | CO_RETURN));
		if (a->kind == ACT_CALENDAR_VALUE)
			get_bytes(&c->p, c->end, &((ActVal *) e)->value, sizeof(double));
	}
	c->left--;
	cursor_peek(a, c, false);
	if (c->left == 0 && c->p != c->end)
		bad_state();
}

/* d's pointers into the arena, now that it has stopped moving */
static void
decoded_fix(Decoded *d, const Arena *ar)
{
	d->v.entries = ar->data + d->entries_at;
	if (d->key_in_arena)
		d->v.key = PointerGetDatum(ar->data + d->key_at);
}

/*
 * The union of two entry lists (sorted by bucket) into out: flags ORed,
 * values added, rolling return ranges widened.  Returns the count.
 */
static int32
merge_entries(const Activity *a, const char *x, int32 nx, const char *y, int32 ny, char *out)
{
	Size		sz = a->entry_size;
	int32		i = 0,
				j = 0,
				k = 0;

	while (i < nx || j < ny)
	{
		const char *ex = x + (Size) i * sz;
		const char *ey = y + (Size) j * sz;
		char	   *eo = out + (Size) k * sz;
		int32		bx = 0,
					by = 0;

		if (i < nx)
			memcpy(&bx, ex, sizeof(int32));
		if (j < ny)
			memcpy(&by, ey, sizeof(int32));
		if (j >= ny || (i < nx && bx < by))
		{
			memcpy(eo, ex, sz);
			i++;
		}
		else if (i >= nx || by < bx)
		{
			memcpy(eo, ey, sz);
			j++;
		}
		else
		{
			memcpy(eo, ex, sz);
			if (a->kind == ACT_ROLLING)
			{
				ActRoll    *o = (ActRoll *) eo;
				const ActRoll *b = (const ActRoll *) ey;

				o->min_ret = Min(o->min_ret, b->min_ret);
				o->max_ret = Max(o->max_ret, b->max_ret);
			}
			else
			{
				((ActCal *) eo)->flags |= ((const ActCal *) ey)->flags;
				if (a->kind == ACT_CALENDAR_VALUE)
					((ActVal *) eo)->value += ((const ActVal *) ey)->value;
			}
			i++;
			j++;
		}
		k++;
	}
	return k;
}

/* two buffers that merged entry lists alternate between */
typedef struct MergeScratch
{
	char	   *buf[2];
	Size		cap[2];
	int			next;
} MergeScratch;

/* m := m + y, the entries in scratch */
static void
merge_view(Activity *a, ActView *m, const ActView *y, MergeScratch *s)
{
	int			b = s->next;
	Size		need = a->entry_size * ((Size) m->n + y->n);

	if (s->cap[b] < need)
	{
		if (s->buf[b])
			pfree(s->buf[b]);
		s->cap[b] = Max(need, s->cap[b] * 2);
		s->buf[b] = palloc_extended(s->cap[b], MCXT_ALLOC_HUGE);
	}
	m->n = merge_entries(a, m->entries, m->n, y->entries, y->n, s->buf[b]);
	m->entries = s->buf[b];
	m->roll.min_start = Min(m->roll.min_start, y->roll.min_start);
	m->roll.max_ret = Max(m->roll.max_ret, y->roll.max_ret);
	s->next = 1 - b;
}

/*
 * Visit the actors of all runs in sort-key order: a k-way merge.  Records
 * with the smallest sort key are gathered from every run, then grouped by
 * actor (all of them for integer actors; by equality otherwise, as
 * different actors may share a hash) and each group's records merged.
 */
static void
runs_foreach(Activity *a, ActVisit visit, void *arg)
{
	RunCursor  *cur = palloc(sizeof(RunCursor) * a->n_runs);
	bool		int_keys = a->int_keys;
	int			live = 0,
				cand_cap = 16,
				r;
	Decoded    *cand = palloc(sizeof(Decoded) * cand_cap);
	bool	   *used = palloc(sizeof(bool) * cand_cap);
	Arena		arena = {NULL, 0, 0};
	MergeScratch scratch;
	int64		groups = 0;

	memset(&scratch, 0, sizeof(scratch));
	for (r = 0; r < a->n_runs; r++)
	{
		cursor_init(a, &cur[live], &a->runs[r]);
		if (cur[live].left > 0)
			live++;
	}
	while (live > 0)
	{
		uint64		s = cur[0].sort_key;
		int			ncand = 0,
					i,
					j;

		for (r = 1; r < live; r++)
			s = Min(s, cur[r].sort_key);
		arena.len = 0;
		for (r = 0; r < live; r++)
		{
			while (cur[r].left > 0 && cur[r].sort_key == s)
			{
				if (ncand == cand_cap)
				{
					cand_cap *= 2;
					cand = repalloc(cand, sizeof(Decoded) * cand_cap);
					used = repalloc(used, sizeof(bool) * cand_cap);
				}
				cursor_take(a, &cur[r], &arena, &cand[ncand++]);
			}
		}
		for (r = 0; r < live;)
		{
			if (cur[r].left == 0)
				cur[r] = cur[--live];
			else
				r++;
		}
		for (i = 0; i < ncand; i++)
			decoded_fix(&cand[i], &arena);
		if ((++groups & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		if (ncand == 1)
		{
			visit(arg, &cand[0].v); /* most actors: in one run only */
			continue;
		}
		memset(used, 0, sizeof(bool) * ncand);
		for (i = 0; i < ncand; i++)
		{
			ActView		m;

			if (used[i])
				continue;
			m = cand[i].v;
			for (j = i + 1; j < ncand; j++)
				if (!used[j] && (int_keys || actor_table_equal(a->actors, cand[i].v.key, cand[j].v.key)))
				{
					merge_view(a, &m, &cand[j].v, &scratch);
					used[j] = true;
				}
			visit(arg, &m);
		}
	}
	pfree(cur);
	pfree(cand);
	pfree(used);
	if (arena.data)
		pfree(arena.data);
	for (r = 0; r < 2; r++)
		if (scratch.buf[r])
			pfree(scratch.buf[r]);
}

/* a new run context under a's */
static MemoryContext
run_context(Activity *a)
{
	return AllocSetContextCreate(a->cxt, "analytics activity run", ALLOCSET_DEFAULT_SIZES);
}

static void
add_run(Activity *a, ActRun run)
{
	if (run.n == 0)
	{
		MemoryContextDelete(run.owner);
		return;
	}
	if (a->n_runs == a->runs_cap)
	{
		a->runs_cap = a->runs_cap ? a->runs_cap * 2 : 4;
		a->runs = a->runs ? repalloc(a->runs, sizeof(ActRun) * a->runs_cap)
			: MemoryContextAlloc(a->cxt, sizeof(ActRun) * a->runs_cap);
	}
	a->runs[a->n_runs++] = run;
}

void
activity_foreach(Activity *a, ActVisit visit, void *arg)
{
	if (a->n_runs > 0)
		runs_foreach(a, visit, arg);
	else
		table_foreach(a, false, visit, arg);
}

/* the actors of src (table or runs) as one run in a new context under dst's */
static ActRun
run_of(Activity *dst, Activity *src)
{
	RunWriter	w;
	ActRun		run;

	memset(&w, 0, sizeof(w));
	w.a = src;
	bounds_init(&w.bounds);
	w.cxt = run_context(dst);
	if (src->n_runs > 0)
		runs_foreach(src, write_record, &w);
	else
		table_foreach(src, true, write_record, &w);
	run.data = w.data;
	run.len = w.len;
	run.n = w.n;
	run.bounds = w.bounds;
	run.owner = w.cxt;
	return run;
}

/* a's table as a run; the table starts over empty */
static void
table_to_run(Activity *a)
{
	ActRun		run = run_of(a, a);

	MemoryContextDelete(a->tcxt);
	table_init(a);
	add_run(a, run);
}

void
activity_merge(Activity *dst, Activity *src, bool src_disposable)
{
	int			r;

	if (activity_empty(src))
		return;
	if (actor_table_count(dst->actors) > 0)
		table_to_run(dst);
	if (src->n_runs == 0)
		add_run(dst, run_of(dst, src));
	else
		for (r = 0; r < src->n_runs; r++)
		{
			ActRun		run = src->runs[r];

			if (src_disposable)
				MemoryContextSetParent(run.owner, dst->cxt);
			else
			{
				run.owner = run_context(dst);
				run.data = MemoryContextAllocHuge(run.owner, run.len);
				memcpy(run.data, src->runs[r].data, run.len);
			}
			add_run(dst, run);
		}
	if (src_disposable)
		src->n_runs = 0;		/* they are dst's now */
	if (dst->n_runs > MAX_RUNS)
	{
		/* one run of all: readers merge at most MAX_RUNS ways */
		ActRun		run = run_of(dst, dst);

		for (r = 0; r < dst->n_runs; r++)
			MemoryContextDelete(dst->runs[r].owner);
		dst->n_runs = 0;
		add_run(dst, run);
	}
	check_memory(dst);
}

/* ---------- serialization ---------- */

typedef struct StateHead
{
	int32		format;
	int32		kind;
	int64		n;				/* records */
	int64		bytes;			/* of the run that follows */
	ActBounds	bounds;			/* of the run */
} StateHead;

void
activity_serialize(Activity *a, StringInfo buf)
{
	StateHead	h;
	int			at = buf->len;
	ActRun		run;

	memset(&h, 0, sizeof(h));
	h.format = ACT_FORMAT;
	h.kind = (int32) a->kind;
	appendBinaryStringInfo(buf, (char *) &h, sizeof(h));
	/* a single run goes as it is; a table or several runs become one */
	run = a->n_runs == 1 ? a->runs[0] : run_of(a, a);
	check_serializable(a, (Size) buf->len + run.len);
	if (run.len > 0)
		appendBinaryStringInfo(buf, run.data, (int) run.len);
	h.n = run.n;
	h.bounds = run.bounds;
	if (a->n_runs != 1)
		MemoryContextDelete(run.owner);
	h.bytes = buf->len - at - sizeof(h);
	memcpy(buf->data + at, &h, sizeof(h));
}

Activity *
activity_deserialize(MemoryContext parent, Oid actor_type, const char *what,
					 const char *p, Size len, Size *used)
{
	StateHead	h;
	Activity   *a;

	if (len < sizeof(h))
		bad_state();
	memcpy(&h, p, sizeof(h));
	if (h.format != ACT_FORMAT || h.kind < ACT_CALENDAR || h.kind > ACT_ROLLING ||
		h.n < 0 || h.bytes < 0 || (Size) h.bytes > len - sizeof(h) ||
		(h.n > 0) != (h.bytes > 0) || h.bounds.max_n < 0 || h.bounds.max_n > h.bytes)
		bad_state();
	a = activity_create(parent, actor_type, (ActKind) h.kind, what);
	if (h.n > 0)
	{
		ActRun		run;

		/*
		 * Taken as it is: records are checked as they are decoded, and the
		 * final functions check each actor against the bounds.
		 */
		run.owner = run_context(a);
		run.data = MemoryContextAllocHuge(run.owner, h.bytes);
		run.len = h.bytes;
		run.n = h.n;
		run.bounds = h.bounds;
		memcpy(run.data, p + sizeof(h), h.bytes);
		add_run(a, run);
		check_memory(a);
	}
	*used = sizeof(h) + h.bytes;
	return a;
}
