/*
 * actor.c
 *		Hash table of actor values of any hashable type (see actor.h).
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "actor.h"
#include "util.h"
#include "lib/ihash.h"
#include "lib/rng.h"

typedef enum actor_kind
{
	ACTOR_INT,					/* by-value integer of typlen bytes */
	ACTOR_TEXT,					/* varlena compared bytewise */
	ACTOR_FIXED,				/* by-reference fixed length compared bytewise */
	ACTOR_GENERIC				/* type's hash function and equality operator */
} actor_kind;

struct ActorTable
{
	MemoryContext cxt;
	an_allocator alloc;
	Oid			typid;
	Oid			collation;
	actor_kind	kind;
	int16		typlen;
	bool		typbyval;
	FmgrInfo   *hash_fn;		/* ACTOR_GENERIC */
	FmgrInfo   *eq_fn;
	Datum	   *keys;
	int64		n_keys;
	int64		cap;
	an_ihash	index;			/* all kinds but ACTOR_INT */
	Datum		probe;			/* value being looked up, for the eq callback */
	int64		last;			/* index of the last key looked up, or -1 */
	/* ACTOR_INT: open addressing over key indexes (keys[] holds the keys) */
	uint32	   *int_slots;		/* key index + 1; 0 = empty */
	uint32		int_mask;
	int64		int_min;		/* the smallest and largest keys (when n_keys > 0) */
	int64		int_max;
	int64		gap_lo;			/* no key lies strictly between these two */
	int64		gap_hi;
	/* keys[0 .. sorted_n) came in increasing order and are not in int_slots */
	int64		sorted_n;
	bool		sorted_open;	/* so far every key has: append the next one too */
	int64		sorted_lookups; /* lookups that found a key among them */
};

ActorTable *
actor_table_create(Oid typid, Oid collation, MemoryContext cxt, const char *what)
{
	ActorTable *t = MemoryContextAllocZero(cxt, sizeof(ActorTable));

	t->cxt = cxt;
	t->alloc = an_pg_allocator(cxt);
	t->typid = typid;
	t->collation = OidIsValid(collation) ? collation : DEFAULT_COLLATION_OID;
	get_typlenbyval(typid, &t->typlen, &t->typbyval);
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			t->kind = ACTOR_INT;
			break;
		case TEXTOID:
		case VARCHAROID:
			t->kind = ACTOR_TEXT;
			break;
		case UUIDOID:
			t->kind = ACTOR_FIXED;
			break;
		default:
			{
				TypeCacheEntry *tce = lookup_type_cache(typid,
														TYPECACHE_HASH_PROC_FINFO |
														TYPECACHE_EQ_OPR_FINFO);

				if (!OidIsValid(tce->hash_proc) || !OidIsValid(tce->eq_opr))
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_FUNCTION),
							 errmsg("%s of type %s cannot be hashed", what, format_type_be(typid)),
							 errhint("Cast it to text or bigint.")));
				t->kind = ACTOR_GENERIC;
				t->hash_fn = MemoryContextAlloc(cxt, sizeof(FmgrInfo));
				t->eq_fn = MemoryContextAlloc(cxt, sizeof(FmgrInfo));
				fmgr_info_copy(t->hash_fn, &tce->hash_proc_finfo, cxt);
				fmgr_info_copy(t->eq_fn, &tce->eq_opr_finfo, cxt);
			}
			break;
	}
	t->cap = 1024;
	t->last = -1;
	t->keys = MemoryContextAllocHuge(cxt, sizeof(Datum) * t->cap);
	if (t->kind == ACTOR_INT)
	{
		t->int_mask = 2047;
		t->sorted_open = true;
		t->int_slots = MemoryContextAllocZero(cxt, sizeof(uint32) * (t->int_mask + 1));
	}
	else if (an_ihash_init(&t->index, &t->alloc, 1024) != AN_OK)
		elog(ERROR, "out of memory");
	return t;
}

static uint32
actor_hash(ActorTable *t, Datum key)
{
	switch (t->kind)
	{
		case ACTOR_INT:
			return (uint32) (an_mix64((uint64) DatumGetInt64(key)) >> 32);
		case ACTOR_TEXT:
			{
				text	   *s = DatumGetTextPP(key);

				return an_hash_bytes(VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s));
			}
		case ACTOR_FIXED:
			return an_hash_bytes(DatumGetPointer(key), t->typlen);
		case ACTOR_GENERIC:
			return DatumGetUInt32(FunctionCall1Coll(t->hash_fn, t->collation, key));
	}
	return 0;
}

bool
actor_table_equal(ActorTable *t, Datum a, Datum b)
{
	switch (t->kind)
	{
		case ACTOR_INT:
			return a == b;
		case ACTOR_TEXT:
			{
				text	   *x = DatumGetTextPP(a);
				text	   *y = DatumGetTextPP(b);

				return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
					memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
			}
		case ACTOR_FIXED:
			return memcmp(DatumGetPointer(a), DatumGetPointer(b), t->typlen) == 0;
		case ACTOR_GENERIC:
			return DatumGetBool(FunctionCall2Coll(t->eq_fn, t->collation, a, b));
	}
	return false;
}

static bool
actor_eq_cb(void *ctx, uint32 index)
{
	ActorTable *t = ctx;

	return actor_table_equal(t, t->keys[index], t->probe);
}

/*
 * The home slot of an integer key.  Keys that differ only in their low 4
 * bits share a random group of 16 slots (one cache line of int_slots) at
 * their own offset in it: ids that first appear in increasing order (users
 * numbered as they sign up, or a table stored by id) then insert into a few
 * cache lines rather than one cold line per actor.  The group is a strong
 * hash of the rest of the key, so other patterns spread as with a full
 * hash; at worst (all keys equal modulo 16) a group's keys probe along its
 * line.
 */
static inline uint32
int_home(int64 k, uint32 mask)
{
	return (uint32) ((an_mix64((uint64) k >> 4) << 4) | ((uint64) k & 15)) & mask;
}

/*
 * Rebuild the ACTOR_INT slots at size (a power of two), inserting the keys
 * from index from on in index order.
 */
static void
int_rehash(ActorTable *t, uint32 size, int64 from)
{
	uint32	   *slots = MemoryContextAllocHuge(t->cxt, sizeof(uint32) * size);
	int64		x;

	memset(slots, 0, sizeof(uint32) * size);
	for (x = from; x < t->n_keys; x++)
	{
		uint32		j = int_home(DatumGetInt64(t->keys[x]), size - 1);

		while (slots[j] != 0)
			j = (j + 1) & (size - 1);
		slots[j] = (uint32) x + 1;
	}
	pfree(t->int_slots);
	t->int_slots = slots;
	t->int_mask = size - 1;
}

/*
 * Keep the slots at most half full of the hashed keys (those from sorted_n
 * on), growing them when needed; rebuild: rehash even at the same size.
 */
static void
int_fit(ActorTable *t, bool rebuild)
{
	uint32		size = t->int_mask + 1;

	while ((uint64) (t->n_keys - t->sorted_n) * 2 > size)
		size *= 2;
	if (rebuild || size != t->int_mask + 1)
		int_rehash(t, size, t->sorted_n);
}

/*
 * The index of k in the sorted keys, or -1.  When these lookups become
 * frequent (a second pass over actors first seen in order), the sorted keys
 * move into the hash, where a lookup costs one probe instead of a binary
 * search, and every later key goes there too (appending again would leave
 * the moved keys in slots that the hash's size no longer counts).
 */
static int64
int_sorted_find(ActorTable *t, int64 k)
{
	int64		lo = 0,
				hi = t->sorted_n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (DatumGetInt64(t->keys[mid]) < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->sorted_n || DatumGetInt64(t->keys[lo]) != k)
		return -1;
	if (++t->sorted_lookups > t->sorted_n / 8 + 64)
	{
		t->sorted_n = 0;
		t->sorted_open = false; /* every key is hashed from now on */
		int_fit(t, true);
	}
	return lo;
}

/* room for one more key (indexes must fit the hash tables' uint32 slots) */
static void
keys_make_room(ActorTable *t)
{
	if (t->n_keys >= (int64) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct actors")));
	if (t->n_keys == t->cap)
	{
		t->cap *= 2;
		t->keys = repalloc_huge(t->keys, sizeof(Datum) * t->cap);
	}
}

/*
 * actor_table_index for ACTOR_INT.
 *
 * While every key is larger than the ones before, keys are only appended:
 * no hashing at all, and a lookup is a binary search over them.  The first
 * key out of order ends that; it and every later key go into the hash.  So
 * each process's share of a parallel scan of a table stored by actor (ids
 * in increasing order, chunk after chunk) builds no hash, and a table in any
 * other order soon builds the usual one.
 *
 * In the hash, a new key inside the gap (gap_lo, gap_hi), where no key
 * lies, needs only a free slot, no comparisons (each would read a cold
 * keys[] entry).  After a new key k the gap runs from k to the next key
 * above it when that is known: every key when k is the largest, the old
 * smallest when k is the smallest.  So when the order wraps around once (a
 * synchronized scan that began in the middle of the table), the keys after
 * the wrap, smaller than the appended ones and increasing again, skip the
 * comparisons.
 */
static int64
int_index(ActorTable *t, int64 k, bool add)
{
	uint32		i;
	uint32		v;

	if (t->sorted_open && (t->n_keys == 0 || k > t->int_max))
	{
		/* still increasing: append, no hashing */
		if (!add)
			return -1;
		keys_make_room(t);
		if (t->n_keys == 0)
			t->int_min = k;
		t->int_max = k;
		t->keys[t->n_keys] = Int64GetDatum(k);
		t->sorted_n = t->n_keys + 1;
		return t->last = t->n_keys++;
	}
	if (t->sorted_n > 0 && k >= DatumGetInt64(t->keys[0]) &&
		k <= DatumGetInt64(t->keys[t->sorted_n - 1]))
	{
		int64		x = int_sorted_find(t, k);

		if (x >= 0)
			return t->last = x;
	}
	i = int_home(k, t->int_mask);

	if (t->n_keys > 0 && k > t->gap_lo && k < t->gap_hi)
	{
		if (!add)
			return -1;
		while (t->int_slots[i] != 0)
			i = (i + 1) & t->int_mask;
		t->gap_lo = k;
	}
	else
	{
		while ((v = t->int_slots[i]) != 0)
		{
			if (DatumGetInt64(t->keys[v - 1]) == k)
				return t->last = v - 1;
			i = (i + 1) & t->int_mask;
		}
		if (!add)
			return -1;
		t->gap_lo = k;
		if (t->n_keys == 0 || k > t->int_max)
			t->gap_hi = PG_INT64_MAX;
		else if (k < t->int_min)
			t->gap_hi = t->int_min;
		else
			t->gap_hi = k;		/* the next key above is not known */
	}
	if (t->n_keys == 0 || k > t->int_max)
		t->int_max = k;
	if (t->n_keys == 0 || k < t->int_min)
		t->int_min = k;
	t->sorted_open = false;		/* later keys are hashed */
	keys_make_room(t);
	t->keys[t->n_keys] = Int64GetDatum(k);
	t->int_slots[i] = (uint32) t->n_keys + 1;
	t->last = t->n_keys++;
	int_fit(t, false);
	return t->last;
}

int64
actor_table_index(ActorTable *t, Datum key, bool add)
{
	uint32		h;
	uint32		found;
	MemoryContext old;

	/* event tables often hold runs of one actor's rows: try the last one */
	if (t->last >= 0 && actor_table_equal(t, t->keys[t->last], key))
		return t->last;
	if (t->kind == ACTOR_INT)
		return int_index(t, DatumGetInt64(key), add);
	h = actor_hash(t, key);
	t->probe = key;
	found = an_ihash_find(&t->index, h, actor_eq_cb, t);
	if (found != AN_IHASH_NOT_FOUND)
		return t->last = found;
	if (!add)
		return -1;
	keys_make_room(t);
	old = MemoryContextSwitchTo(t->cxt);
	if (t->kind == ACTOR_TEXT)
		key = PointerGetDatum(DatumGetTextPCopy(key));	/* plain 4-byte header copy */
	else
		key = datumCopy(key, t->typbyval, t->typlen);
	MemoryContextSwitchTo(old);
	t->keys[t->n_keys] = key;
	if (an_ihash_insert(&t->index, &t->alloc, h, (uint32) t->n_keys) != AN_OK)
		elog(ERROR, "out of memory");
	t->last = t->n_keys;
	return t->n_keys++;
}

int64
actor_table_count(const ActorTable *t)
{
	return t->n_keys;
}

Datum
actor_table_key(const ActorTable *t, int64 i)
{
	return t->keys[i];
}

Oid
actor_table_type(const ActorTable *t)
{
	return t->typid;
}

/*
 * Serialized keys: by-value types as their typlen bytes, fixed-length
 * by-reference types as typlen bytes, varlena types as an int32 length and
 * the bytes of a plain (4-byte header) varlena.
 */
void
actor_table_write_key(const ActorTable *t, int64 i, StringInfo buf)
{
	Datum		k = t->keys[i];

	if (t->typbyval)
	{
		int64		v = DatumGetInt64(k);

		appendBinaryStringInfo(buf, (char *) &v, sizeof(int64));
	}
	else if (t->typlen > 0)
		appendBinaryStringInfo(buf, DatumGetPointer(k), t->typlen);
	else
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(k);
		int32		len = VARSIZE_ANY_EXHDR(v);

		appendBinaryStringInfo(buf, (char *) &len, sizeof(int32));
		appendBinaryStringInfo(buf, VARDATA_ANY(v), len);
	}
}

Size
actor_table_read_key(const ActorTable *t, const char *p, Size avail, Datum *key)
{
	if (t->typbyval)
	{
		int64		v;

		if (avail < sizeof(int64))
			elog(ERROR, "truncated actor key");
		memcpy(&v, p, sizeof(int64));
		*key = Int64GetDatum(v);
		return sizeof(int64);
	}
	if (t->typlen > 0)
	{
		if (avail < (Size) t->typlen)
			elog(ERROR, "truncated actor key");
		*key = PointerGetDatum(p);	/* copied by actor_table_index */
		return t->typlen;
	}
	{
		int32		len;
		struct varlena *v;

		if (avail < sizeof(int32))
			elog(ERROR, "truncated actor key");
		memcpy(&len, p, sizeof(int32));
		if (len < 0 || (Size) len > avail - sizeof(int32))
			elog(ERROR, "truncated actor key");
		v = palloc(VARHDRSZ + len);
		SET_VARSIZE(v, VARHDRSZ + len);
		memcpy(VARDATA(v), p + sizeof(int32), len);
		*key = PointerGetDatum(v);
		return sizeof(int32) + len;
	}
}

bool
actor_table_int_keys(const ActorTable *t)
{
	return t->kind == ACTOR_INT;
}

#define SORT_SIGN (UINT64CONST(1) << 63)

uint64
actor_table_sort_key(ActorTable *t, Datum key)
{
	if (t->kind == ACTOR_INT)
		return (uint64) DatumGetInt64(key) ^ SORT_SIGN;	/* signed order as unsigned */
	return actor_hash(t, key);
}

Size
actor_table_image_size(const ActorTable *t, Datum key)
{
	if (t->kind == ACTOR_INT)
		return 0;
	if (t->typbyval)
		return sizeof(Datum);
	if (t->typlen > 0)
		return t->typlen;
	return VARSIZE_ANY_EXHDR(pg_detoast_datum_packed((struct varlena *) DatumGetPointer(key))) + VARHDRSZ;
}

void
actor_table_key_image(const ActorTable *t, Datum key, char *dst)
{
	if (t->kind == ACTOR_INT)
		return;
	if (t->typbyval)
		memcpy(dst, &key, sizeof(Datum));
	else if (t->typlen > 0)
		memcpy(dst, DatumGetPointer(key), t->typlen);
	else
	{
		/* compressed or external values expanded; short headers made plain */
		struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(key));
		Size		len = VARSIZE_ANY_EXHDR(v);

		SET_VARSIZE(dst, len + VARHDRSZ);
		memcpy(dst + VARHDRSZ, VARDATA_ANY(v), len);
	}
}

Datum
actor_table_image_key(const ActorTable *t, uint64 sort_key, const char *p, Size len)
{
	Datum		key;

	if (t->kind == ACTOR_INT)
	{
		if (len != 0)
			elog(ERROR, "invalid actor key in an aggregate state");
		return Int64GetDatum((int64) (sort_key ^ SORT_SIGN));
	}
	if (t->typbyval)
	{
		if (len != sizeof(Datum))
			elog(ERROR, "invalid actor key in an aggregate state");
		memcpy(&key, p, sizeof(Datum));
		return key;
	}
	if (t->typlen > 0 ? len != (Size) t->typlen
		: len < VARHDRSZ || VARATT_IS_EXTENDED(p) || VARSIZE(p) != len)
		elog(ERROR, "invalid actor key in an aggregate state");
	return PointerGetDatum(p);
}
