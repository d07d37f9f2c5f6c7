/*
 * ihash.h
 *		An open-addressing hash index over elements kept elsewhere.
 *
 * The table stores element indexes (and their hashes), not keys: the caller
 * keeps the keys in its own arrays and answers "is element i equal to what
 * I am looking for" through a callback.  That suits interned strings and
 * channel sequences stored in growable arenas whose addresses move.
 * Linear probing, load factor at most 1/2, power-of-two size.
 */
#ifndef ANALYTICS_IHASH_H
#define ANALYTICS_IHASH_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"

#define AN_IHASH_NOT_FOUND UINT32_MAX

typedef struct an_ihash
{
	uint32_t   *slots;			/* element index + 1; 0 = empty */
	uint32_t   *hashes;
	uint32_t	mask;			/* size - 1 */
	uint32_t	count;
} an_ihash;

/* does element `index` equal the probe the caller is looking for? */
typedef bool (*an_ihash_eq) (void *ctx, uint32_t index);

extern int	an_ihash_init(an_ihash *h, const an_allocator *a, uint32_t expected);
extern void an_ihash_free(an_ihash *h, const an_allocator *a);

/* the index of the element with this hash that eq accepts, or NOT_FOUND */
extern uint32_t an_ihash_find(const an_ihash *h, uint32_t hash, an_ihash_eq eq, void *ctx);

/* add element `index` (not already present); AN_OK or AN_ENOMEM */
extern int	an_ihash_insert(an_ihash *h, const an_allocator *a, uint32_t hash, uint32_t index);

/* 32-bit hash of a byte string (FNV-1a folded through a 64-bit mixer) */
extern uint32_t an_hash_bytes(const void *data, size_t len);

#endif							/* ANALYTICS_IHASH_H */
