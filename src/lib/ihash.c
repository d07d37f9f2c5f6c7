/*
 * ihash.c
 *		Open-addressing index hash (see ihash.h).
 */
#include "ihash.h"

#include <string.h>

#include "rng.h"

int
an_ihash_init(an_ihash *h, const an_allocator *a, uint32_t expected)
{
	uint32_t	size = 16;

	while (size < expected * 2 && size < (UINT32_C(1) << 31))
		size <<= 1;
	h->slots = an_alloc(a, sizeof(uint32_t) * size);
	h->hashes = an_alloc(a, sizeof(uint32_t) * size);
	if (!h->slots || !h->hashes)
	{
		an_free(a, h->slots);
		an_free(a, h->hashes);
		h->slots = h->hashes = NULL;
		return AN_ENOMEM;
	}
	memset(h->slots, 0, sizeof(uint32_t) * size);
	h->mask = size - 1;
	h->count = 0;
	return AN_OK;
}

void
an_ihash_free(an_ihash *h, const an_allocator *a)
{
	an_free(a, h->slots);
	an_free(a, h->hashes);
	h->slots = h->hashes = NULL;
	h->count = 0;
}

uint32_t
an_ihash_find(const an_ihash *h, uint32_t hash, an_ihash_eq eq, void *ctx)
{
	uint32_t	i = hash & h->mask;

	while (h->slots[i] != 0)
	{
		if (h->hashes[i] == hash && eq(ctx, h->slots[i] - 1))
			return h->slots[i] - 1;
		i = (i + 1) & h->mask;
	}
	return AN_IHASH_NOT_FOUND;
}

/* place (hash, index) in the first free slot of its probe sequence */
static void
place(uint32_t *slots, uint32_t *hashes, uint32_t mask, uint32_t hash, uint32_t index)
{
	uint32_t	i = hash & mask;

	while (slots[i] != 0)
		i = (i + 1) & mask;
	slots[i] = index + 1;
	hashes[i] = hash;
}

int
an_ihash_insert(an_ihash *h, const an_allocator *a, uint32_t hash, uint32_t index)
{
	if ((h->count + 1) * 2 > h->mask + 1)
	{
		uint32_t	size = (h->mask + 1) * 2;
		uint32_t   *slots = an_alloc(a, sizeof(uint32_t) * size);
		uint32_t   *hashes = an_alloc(a, sizeof(uint32_t) * size);
		uint32_t	i;

		if (!slots || !hashes)
		{
			an_free(a, slots);
			an_free(a, hashes);
			return AN_ENOMEM;
		}
		memset(slots, 0, sizeof(uint32_t) * size);
		for (i = 0; i <= h->mask; i++)
			if (h->slots[i] != 0)
				place(slots, hashes, size - 1, h->hashes[i], h->slots[i] - 1);
		an_free(a, h->slots);
		an_free(a, h->hashes);
		h->slots = slots;
		h->hashes = hashes;
		h->mask = size - 1;
	}
	place(h->slots, h->hashes, h->mask, hash, index);
	h->count++;
	return AN_OK;
}

uint32_t
an_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t	h = UINT64_C(0xcbf29ce484222325);
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return (uint32_t) (an_mix64(h ^ len) >> 32);
}
