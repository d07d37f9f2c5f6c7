/*
 * actor.h
 *		A hash table keyed by values of any hashable SQL type (user ids that
 *		are bigint, text, uuid, ...), mapping each distinct value to a dense
 *		index 0, 1, 2, ... in order of first appearance.
 *
 * int2/int4/int8/oid, text/varchar and uuid are hashed and compared on their
 * binary value (text by its bytes, i.e. deterministic collations); any other
 * type uses its default hash opclass and equality operator, so that for
 * example numeric 1.0 and 1.00 are the same actor.  Keys are copied into the
 * table's memory context.
 */
#ifndef ANALYTICS_ACTOR_H
#define ANALYTICS_ACTOR_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

typedef struct ActorTable ActorTable;

/* what: used in the error message when the type cannot be hashed */
extern ActorTable *actor_table_create(Oid typid, Oid collation, MemoryContext cxt,
									  const char *what);

/* index of key, adding it when absent and add is true; -1 if absent */
extern int64 actor_table_index(ActorTable *t, Datum key, bool add);

extern int64 actor_table_count(const ActorTable *t);

/* the key of index i */
extern Datum actor_table_key(const ActorTable *t, int64 i);

/* append key i to buf / read a key written by it (returns bytes consumed) */
extern void actor_table_write_key(const ActorTable *t, int64 i, StringInfo buf);
extern Size actor_table_read_key(const ActorTable *t, const char *p, Size avail, Datum *key);

extern Oid	actor_table_type(const ActorTable *t);

/* do keys a and b stand for the same actor? */
extern bool actor_table_equal(ActorTable *t, Datum a, Datum b);

/*
 * An order shared by every process: keys ordered by their sort key are
 * grouped by actor.  For integer types the sort key is the value (so equal
 * sort keys are the same actor), for the others a 32-bit hash (equal sort
 * keys may still be different actors: compare them with actor_table_equal).
 */
extern bool actor_table_int_keys(const ActorTable *t);
extern uint64 actor_table_sort_key(ActorTable *t, Datum key);

/*
 * A key as bytes that can be stored 8-aligned and read back in place:
 * nothing for integer types (the sort key is the value), the Datum for other
 * by-value types, the bytes of fixed-length types, and a plain 4-byte-header
 * varlena for the others.  actor_table_key_image writes image_size bytes;
 * actor_table_image_key returns a key (pointing into p for by-reference
 * types) or errors out when len is not a valid image.
 */
extern Size actor_table_image_size(const ActorTable *t, Datum key);
extern void actor_table_key_image(const ActorTable *t, Datum key, char *dst);
extern Datum actor_table_image_key(const ActorTable *t, uint64 sort_key, const char *p, Size len);

#endif							/* ANALYTICS_ACTOR_H */
