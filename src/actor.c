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
	an_ihash	index;
	Datum		probe;			/* value being looked up, for the eq callback */
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
	t->keys = MemoryContextAllocHuge(cxt, sizeof(Datum) * t->cap);
	if (an_ihash_init(&t->index, &t->alloc, 1024) != AN_OK)
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

static bool
actor_equal(ActorTable *t, Datum a, Datum b)
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

	return actor_equal(t, t->keys[index], t->probe);
}

int64
actor_table_index(ActorTable *t, Datum key, bool add)
{
	uint32		h = actor_hash(t, key);
	uint32		found;
	MemoryContext old;

	t->probe = key;
	found = an_ihash_find(&t->index, h, actor_eq_cb, t);
	if (found != AN_IHASH_NOT_FOUND)
		return found;
	if (!add)
		return -1;
	if (t->n_keys >= (int64) UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct actors")));
	if (t->n_keys == t->cap)
	{
		t->cap *= 2;
		t->keys = repalloc_huge(t->keys, sizeof(Datum) * t->cap);
	}
	old = MemoryContextSwitchTo(t->cxt);
	if (t->kind == ACTOR_TEXT)
		key = PointerGetDatum(DatumGetTextPCopy(key));	/* plain 4-byte header copy */
	else
		key = datumCopy(key, t->typbyval, t->typlen);
	MemoryContextSwitchTo(old);
	t->keys[t->n_keys] = key;
	if (an_ihash_insert(&t->index, &t->alloc, h, (uint32) t->n_keys) != AN_OK)
		elog(ERROR, "out of memory");
	return t->n_keys++;
}

int64
actor_table_count(const ActorTable *t)
{
	return t->n_keys;
}
