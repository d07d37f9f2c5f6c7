/*
 * sort.c
 *		Stable LSD radix sort of key/value pairs (see sort.h).
 */
#include <stdbool.h>
#include <string.h>

#include "sort.h"

an_kv *
an_radix_sort_kv(an_kv *a, an_kv *tmp, size_t n, void (*check_interrupts) (void *ctx), void *ctx)
{
	size_t		count[8 * 256];	/* 16 kB: the histograms of the 8 key bytes */
	bool		sorted = true;
	size_t		i;
	int			b;

	if (n < 2)
		return a;
	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++)
	{
		uint64_t	k = a[i].key;

		for (b = 0; b < 8; b++)
			count[b * 256 + ((k >> (8 * b)) & 0xff)]++;
		if (i > 0 && k < a[i - 1].key)
			sorted = false;
	}
	if (!sorted)
	{
		for (b = 0; b < 8; b++)
		{
			size_t	   *c = count + b * 256;
			size_t		sum = 0;
			int			d;
			an_kv	   *t;

			/* a byte that is the same in every key does not reorder anything */
			if (c[(a[0].key >> (8 * b)) & 0xff] == n)
				continue;
			for (d = 0; d < 256; d++)
			{
				size_t		here = c[d];

				c[d] = sum;
				sum += here;
			}
			for (i = 0; i < n; i++)
				tmp[c[(a[i].key >> (8 * b)) & 0xff]++] = a[i];
			t = a;
			a = tmp;
			tmp = t;
			if (check_interrupts)
				check_interrupts(ctx);
		}
	}
	return a;
}
