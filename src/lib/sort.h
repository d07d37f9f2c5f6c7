/*
 * sort.h
 *		A stable LSD radix sort of (64-bit key, 64-bit value) pairs.
 *
 * One counting pass builds the histograms of all eight key bytes; bytes
 * that are the same in every key are skipped, so keys of a narrow range
 * (ids 1 .. 10^6, 32-bit hashes) take three or four passes.  Input that is
 * already in order is returned as it is after that one pass.
 */
#ifndef ANALYTICS_SORT_H
#define ANALYTICS_SORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct an_kv
{
	uint64_t	key;
	uint64_t	val;
} an_kv;

/*
 * Sort a[0 .. n-1] by key, equal keys keeping their order; tmp has room for
 * n pairs.  Returns a or tmp, whichever holds the result.  check_interrupts
 * (may be NULL) is called with ctx between passes.
 */
extern an_kv *an_radix_sort_kv(an_kv *a, an_kv *tmp, size_t n,
							   void (*check_interrupts) (void *ctx), void *ctx);

#endif							/* ANALYTICS_SORT_H */
