/*
 * test_sort.c
 *		Unit tests of src/lib/sort.c: the radix sort against the C library's
 *		qsort on (key, original position), which gives the stable order
 *		independently.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sort.h"
#include "unit.h"

static int
cmp_kv(const void *x, const void *y)
{
	const an_kv *a = x,
			   *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	/* val holds the original position: equal keys keep their order */
	return a->val < b->val ? -1 : a->val > b->val;
}

static long interrupt_calls;

static void
count_interrupts(void *ctx)
{
	(void) ctx;
	interrupt_calls++;
}

/* sort n keys made by gen and compare with qsort; returns the passes run */
static long
check_against_qsort(const char *what, size_t n, uint64_t (*gen) (an_rng *r, size_t i))
{
	an_kv	   *a = malloc(sizeof(an_kv) * (n + 1));
	an_kv	   *tmp = malloc(sizeof(an_kv) * (n + 1));
	an_kv	   *ref = malloc(sizeof(an_kv) * (n + 1));
	an_kv	   *out;
	an_rng		r;
	size_t		i;

	an_rng_seed(&r, n);
	for (i = 0; i < n; i++)
	{
		a[i].key = gen(&r, i);
		a[i].val = i;
	}
	memcpy(ref, a, sizeof(an_kv) * n);
	qsort(ref, n, sizeof(an_kv), cmp_kv);
	interrupt_calls = 0;
	out = an_radix_sort_kv(a, tmp, n, count_interrupts, NULL);
	CHECK((out == a || out == tmp) && (n == 0 || memcmp(out, ref, sizeof(an_kv) * n) == 0),
		  "%s: %zu pairs in qsort's stable order", what, n);
	free(a);
	free(tmp);
	free(ref);
	return interrupt_calls;
}

static uint64_t
gen_random(an_rng *r, size_t i)
{
	(void) i;
	return an_rng_next(r);
}

static uint64_t
gen_few(an_rng *r, size_t i)
{
	(void) i;
	return an_rng_below(r, 5) << 40;	/* many ties, one varying byte */
}

static uint64_t
gen_ids(an_rng *r, size_t i)
{
	(void) r;
	/* signed ids with the sign bit flipped, descending: the order reverses */
	return ((uint64_t) (int64_t) (1000000 - (int64_t) i)) ^ (UINT64_C(1) << 63);
}

static uint64_t
gen_sorted(an_rng *r, size_t i)
{
	(void) r;
	return (uint64_t) i * 3;
}

static uint64_t
gen_hash32(an_rng *r, size_t i)
{
	(void) i;
	return an_rng_next(r) >> 32;
}

int
main(void)
{
	long		passes;

	check_against_qsort("empty", 0, gen_random);
	check_against_qsort("one", 1, gen_random);
	check_against_qsort("random 64-bit keys", 100000, gen_random);
	passes = check_against_qsort("five distinct keys", 50000, gen_few);
	CHECK(passes == 1, "five keys differing in one byte take one pass (%ld)", passes);
	passes = check_against_qsort("descending ids", 300000, gen_ids);
	CHECK(passes == 3, "ids 700001 .. 1000000 take three passes (%ld)", passes);
	passes = check_against_qsort("already sorted", 100000, gen_sorted);
	CHECK(passes == 0, "sorted input takes no pass (%ld)", passes);
	passes = check_against_qsort("32-bit hashes", 100000, gen_hash32);
	CHECK(passes == 4, "32-bit keys take four passes (%ld)", passes);
	return unit_done();
}
