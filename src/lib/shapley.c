/*
 * shapley.c
 *		Shapley-value attribution of marketing paths (see shapley.h).
 *
 * simplified and ordered are one linear pass over the channels of every
 * path (ordered needs a first pass for the number of positions).  A
 * per-call array of n_channels marks stamped with the path's generation
 * finds the distinct channels of a path without a per-path allocation.
 *
 * standard works over the 2^n coalitions of the n channels present.  The
 * channels get bits 0..n-1 in order of first appearance and every path
 * its channel-set mask.  With
 *		w(k) = k! (n - k - 1)! / n! = 1 / (n * C(n - 1, k))
 * the Shapley value is
 *		phi_j = sum over S not containing j of w(|S|) (v(S + j) - v(S))
 *			  = P_j - Q_j,
 *		P_j = sum over S containing j of w(|S| - 1) v(S),
 *		Q_j = sum over S not containing j of w(|S|) v(S),
 * so every coalition contributes to the sums on its own and v never has to
 * be stored: the coalitions are visited once, in blocks.
 *
 * Memory layout.  A block is the 2^L coalitions (L = min(n, 20)) sharing
 * their h = n - L high bits b.  One block buffer of 2^L cells {total,
 * conversions, value} (24 bytes each: 24 MB for L = 20) is filled by
 * scattering every path whose high mask bits are a subset of b at its low
 * bits, then zeta-transformed over the L low bits in place; that gives
 * the exact subset sums of the three quantities for every coalition of the
 * block, because a subset of S = (b, s) is any (b', s') with b' subset of
 * b and s' subset of s.  The block is then consumed in chunks of 4096
 * coalitions (4 scratch arrays of 4096 doubles, 128 kB) that compute v for
 * both games and add to P and Q.  Besides the block buffer the call holds
 * one uint32 mask per path and one int32 per channel id, so the peak is
 * 24 MiB + 128 kB + 4 bytes per path + 4 bytes per channel id for any
 * n from 20 to 24 (2^n * 24 bytes + ... below that), against 384 MiB for
 * three dense arrays of 2^24 doubles.  The price is that each path is
 * scattered into every block whose high bits contain its own: at most
 * 2^h = 16 scans of the mask array for n = 24, cheap next to the O(n 2^n)
 * transform unless there are millions of paths.
 *
 * Accuracy: all arithmetic is in double.  The weights are one correctly
 * rounded division of exact integers.  P and Q are summed in three levels
 * (per chunk, per block, overall), so no accumulator takes more than 4096
 * terms, and the weights of P_j and of Q_j each sum to 1, so both are at
 * most max v(S) and their difference loses only a few ulps of that.
 *
 * Errors name paths by their 0-based index in the input array.
 */
#include "shapley.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SH_CHUNK_BITS	12		/* 4096 coalitions per interrupt check and partial sum */
#define SH_BLOCK_BITS	20		/* 2^20 cells of 24 bytes per block buffer */
#define SH_SCAN_CHECK	4095	/* interrupt check every 4096 paths in mask scans */

typedef struct sh_cell
{
	double		total;			/* conversions + nulls */
	double		conv;
	double		value;
} sh_cell;

/* P_j and Q_j of both games, indexed by channel bit */
typedef struct sh_sums
{
	double		pc[SH_STANDARD_MAX_CHANNELS];
	double		qc[SH_STANDARD_MAX_CHANNELS];
	double		pv[SH_STANDARD_MAX_CHANNELS];
	double		qv[SH_STANDARD_MAX_CHANNELS];
} sh_sums;

/* Allocate count elements of size bytes; NULL on overflow or out of memory. */
static void *
alloc_array(const an_allocator *a, int64_t count, size_t size)
{
	if (count < 0 || (uint64_t) count > SIZE_MAX / size)
		return NULL;
	return an_alloc(a, (size_t) count * size);
}

/* Validate the arguments shared by all three methods; clears err. */
static int
check_args(const an_path *paths, int64_t n_paths, int n_channels,
		   const an_allocator *a, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (a == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "no allocator given");
	if (n_channels < 1)
		return an_set_error(err, errlen, AN_EINVAL,
						"n_channels must be at least 1, got %d", n_channels);
	if (n_paths < 0)
		return an_set_error(err, errlen, AN_EINVAL,
						"n_paths must not be negative, got %" PRId64, n_paths);
	if (n_paths > 0 && paths == NULL)
		return an_set_error(err, errlen, AN_EINVAL,
						"paths is NULL but n_paths is %" PRId64, n_paths);
	return AN_OK;
}

/* Check the length, channel array and counts of path i (not its ids). */
static int
check_path(const an_path *p, int64_t i, char *err, size_t errlen)
{
	const char *bad = NULL;
	double		x = 0;

	if (p->length < 1)
		return an_set_error(err, errlen, AN_EINVAL,
						"path %" PRId64 " has length %d; every path needs at least one channel",
						i, (int) p->length);
	if (p->channels == NULL)
		return an_set_error(err, errlen, AN_EINVAL,
						"path %" PRId64 " has no channel array", i);
	if (!(isfinite(p->conversions) && p->conversions >= 0))
	{
		bad = "conversions";
		x = p->conversions;
	}
	else if (!(isfinite(p->nulls) && p->nulls >= 0))
	{
		bad = "nulls";
		x = p->nulls;
	}
	else if (!(isfinite(p->value) && p->value >= 0))
	{
		bad = "value";
		x = p->value;
	}
	if (bad != NULL)
		return an_set_error(err, errlen, AN_EINVAL,
						"path %" PRId64 " has %s %g; counts must be finite and >= 0",
						i, bad, x);
	return AN_OK;
}

/* The error for channel id at step e of path i. */
static int
bad_channel(int64_t i, int e, int32_t id, int n_channels, char *err, size_t errlen)
{
	return an_set_error(err, errlen, AN_EINVAL,
					"path %" PRId64 " has channel id %d at step %d, outside 0..%d",
					i, (int) id, e, n_channels - 1);
}

/*
 * Validate path i and list its distinct channels in order of first touch.
 * mark[] must hold no value equal to gen (callers use a fresh generation
 * per path).  Returns the number of distinct channels, or -1 with a
 * message in err.
 */
static int
distinct_channels(const an_path *p, int64_t i, int n_channels, int64_t *mark,
				  int64_t gen, int32_t *list, char *err, size_t errlen)
{
	int			k = 0;
	int			e;

	if (check_path(p, i, err, errlen) != AN_OK)
		return -1;
	for (e = 0; e < p->length; e++)
	{
		int32_t		id = p->channels[e];

		if (id < 0 || id >= n_channels)
		{
			bad_channel(i, e, id, n_channels, err, errlen);
			return -1;
		}
		if (mark[id] != gen)
		{
			mark[id] = gen;
			list[k++] = id;
		}
	}
	return k;
}

/*
 * Simplified Shapley: split each path's conversions and value equally over
 * its distinct channels.  On error the outputs are left zeroed.
 */
int
sh_simplified(const an_path *paths, int64_t n_paths, int n_channels,
			  double *conversions, double *value,
			  const an_allocator *a, char *err, size_t errlen)
{
	int64_t    *mark = NULL;
	int32_t    *list = NULL;
	int64_t		i;
	int			rc;

	rc = check_args(paths, n_paths, n_channels, a, err, errlen);
	if (rc != AN_OK)
		return rc;
	if (conversions == NULL || value == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "output arrays must not be NULL");
	memset(conversions, 0, sizeof(double) * (size_t) n_channels);
	memset(value, 0, sizeof(double) * (size_t) n_channels);

	mark = alloc_array(a, n_channels, sizeof(int64_t));
	list = alloc_array(a, n_channels, sizeof(int32_t));
	if (mark == NULL || list == NULL)
	{
		rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
		goto done;
	}
	memset(mark, 0, sizeof(int64_t) * (size_t) n_channels);

	for (i = 0; i < n_paths; i++)
	{
		const an_path *p = &paths[i];
		int			k,
					e;

		an_check_interrupts(a);
		k = distinct_channels(p, i, n_channels, mark, i + 1, list, err, errlen);
		if (k < 0)
		{
			rc = AN_EINVAL;
			break;
		}
		if (p->conversions != 0 || p->value != 0)
		{
			double		c = p->conversions / k;
			double		v = p->value / k;

			for (e = 0; e < k; e++)
			{
				conversions[list[e]] += c;
				value[list[e]] += v;
			}
		}
	}
	if (rc != AN_OK)
	{
		memset(conversions, 0, sizeof(double) * (size_t) n_channels);
		memset(value, 0, sizeof(double) * (size_t) n_channels);
	}

done:
	an_free(a, mark);
	an_free(a, list);
	return rc;
}

/*
 * Ordered Shapley: as simplified, credited to (channel, position of first
 * touch).  Pass 1 validates and finds the number of positions (the most
 * distinct channels on any path, counting paths without conversions too),
 * pass 2 credits.  On error the outputs are NULL and *n_positions is 0.
 */
int
sh_ordered(const an_path *paths, int64_t n_paths, int n_channels,
		   double **conversions, double **value, int *n_positions,
		   const an_allocator *a, char *err, size_t errlen)
{
	int64_t    *mark = NULL;
	int32_t    *list = NULL;
	double	   *conv = NULL;
	double	   *val = NULL;
	int64_t		i;
	int64_t		cells;
	int			npos = 0;
	int			rc;

	if (conversions == NULL || value == NULL || n_positions == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "output pointers must not be NULL");
	*conversions = NULL;
	*value = NULL;
	*n_positions = 0;
	rc = check_args(paths, n_paths, n_channels, a, err, errlen);
	if (rc != AN_OK)
		return rc;

	mark = alloc_array(a, n_channels, sizeof(int64_t));
	list = alloc_array(a, n_channels, sizeof(int32_t));
	if (mark == NULL || list == NULL)
		goto nomem;
	memset(mark, 0, sizeof(int64_t) * (size_t) n_channels);

	/* pass 1: generations 1 .. n_paths */
	for (i = 0; i < n_paths; i++)
	{
		int			k;

		an_check_interrupts(a);
		k = distinct_channels(&paths[i], i, n_channels, mark, i + 1, list, err, errlen);
		if (k < 0)
		{
			rc = AN_EINVAL;
			goto done;
		}
		if (k > npos)
			npos = k;
	}

	/* npos <= n_channels, so this is at most 2^62 cells: no int64 overflow */
	cells = (int64_t) n_channels * npos;
	conv = alloc_array(a, cells, sizeof(double));
	val = alloc_array(a, cells, sizeof(double));
	if (conv == NULL || val == NULL)
		goto nomem;
	memset(conv, 0, sizeof(double) * (size_t) cells);
	memset(val, 0, sizeof(double) * (size_t) cells);

	/* pass 2: generations n_paths + 1 .. 2 n_paths; cannot fail any more */
	for (i = 0; i < n_paths; i++)
	{
		const an_path *p = &paths[i];
		int			k,
					e;

		an_check_interrupts(a);
		k = distinct_channels(p, i, n_channels, mark, n_paths + i + 1, list, err, errlen);
		if (p->conversions != 0 || p->value != 0)
		{
			double		c = p->conversions / k;
			double		v = p->value / k;

			for (e = 0; e < k; e++)
			{
				size_t		at = (size_t) list[e] * (size_t) npos + (size_t) e;

				conv[at] += c;
				val[at] += v;
			}
		}
	}
	*conversions = conv;
	*value = val;
	*n_positions = npos;
	conv = val = NULL;
	goto done;

nomem:
	rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
done:
	an_free(a, conv);
	an_free(a, val);
	an_free(a, mark);
	an_free(a, list);
	return rc;
}

/* Number of set bits of x. */
static inline int
popcount32(uint32_t x)
{
	x = x - ((x >> 1) & 0x55555555u);
	x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
	x = (x + (x >> 4)) & 0x0f0f0f0fu;
	return (int) ((x * 0x01010101u) >> 24);
}

/*
 * In-place subset-sum (zeta) transform of 2^bits cells over all their bits:
 * afterwards f[S] is the sum of the input over the subsets of S.  Halves
 * are transformed recursively before the top bit is folded in, so all but
 * the top few passes run on data that fits in cache.
 */
static void
zeta_cells(sh_cell *f, int bits, const an_allocator *a)
{
	size_t		half,
				i0,
				i;

	if (bits <= SH_CHUNK_BITS)
	{
		size_t		size = (size_t) 1 << bits;
		size_t		step,
					base,
					u;

		an_check_interrupts(a);
		for (step = 1; step < size; step <<= 1)
			for (base = 0; base < size; base += 2 * step)
				for (u = base; u < base + step; u++)
				{
					f[u + step].total += f[u].total;
					f[u + step].conv += f[u].conv;
					f[u + step].value += f[u].value;
				}
		return;
	}
	half = (size_t) 1 << (bits - 1);
	zeta_cells(f, bits - 1, a);
	zeta_cells(f + half, bits - 1, a);
	for (i0 = 0; i0 < half; i0 += (size_t) 1 << SH_CHUNK_BITS)
	{
		an_check_interrupts(a);
		for (i = i0; i < i0 + ((size_t) 1 << SH_CHUNK_BITS); i++)
		{
			f[half + i].total += f[i].total;
			f[half + i].conv += f[i].conv;
			f[half + i].value += f[i].value;
		}
	}
}

/*
 * Add the P and Q contributions of one zeta-transformed block of 2^L
 * coalitions (high bits b) to *sums, chunk by chunk.  cb = chunk bits
 * (<= L), popc = popcount table of 2^cb entries, wp[k] = w(k - 1) and
 * wq[k] = w(k) for a coalition of size k (0 where undefined), scratch =
 * 4 arrays of 2^cb doubles.  Per chunk, bits below cb vary inside it and
 * are summed by strided loops; bits at or above cb are fixed for the
 * chunk and take the chunk totals.
 */
static void
accumulate_block(const sh_cell *cells, int n, int L, int cb, uint32_t b,
				 const uint8_t *popc, const double *wp, const double *wq,
				 double *scratch, sh_sums *sums, const an_allocator *a)
{
	size_t		csize = (size_t) 1 << cb;
	uint32_t	nchunks = UINT32_C(1) << (L - cb);
	double	   *pc = scratch;
	double	   *qc = scratch + csize;
	double	   *pv = scratch + 2 * csize;
	double	   *qv = scratch + 3 * csize;
	uint32_t	ci;

	for (ci = 0; ci < nchunks; ci++)
	{
		const sh_cell *c = cells + ((size_t) ci << cb);
		uint32_t	prefix = (b << (L - cb)) | ci;	/* S >> cb */
		int			pcp = popcount32(prefix);
		double		tpc = 0,
					tqc = 0,
					tpv = 0,
					tqv = 0;
		size_t		t;
		int			j;

		an_check_interrupts(a);
		for (t = 0; t < csize; t++)
		{
			int			k = pcp + popc[t];
			double		vc = 0,
						vv = 0;

			if (c[t].total > 0)
			{
				vc = c[t].conv / c[t].total;
				vv = c[t].value / c[t].total;
			}
			pc[t] = vc * wp[k];
			qc[t] = vc * wq[k];
			pv[t] = vv * wp[k];
			qv[t] = vv * wq[k];
			tpc += pc[t];
			tqc += qc[t];
			tpv += pv[t];
			tqv += qv[t];
		}
		for (j = 0; j < cb; j++)
		{
			size_t		step = (size_t) 1 << j;
			size_t		base,
						u;
			double		spc = 0,
						sqc = 0,
						spv = 0,
						sqv = 0;

			for (base = 0; base < csize; base += 2 * step)
				for (u = base; u < base + step; u++)
				{
					sqc += qc[u];
					spc += pc[u + step];
					sqv += qv[u];
					spv += pv[u + step];
				}
			sums->pc[j] += spc;
			sums->qc[j] += sqc;
			sums->pv[j] += spv;
			sums->qv[j] += sqv;
		}
		for (j = cb; j < n; j++)
		{
			if ((prefix >> (j - cb)) & 1)
			{
				sums->pc[j] += tpc;
				sums->pv[j] += tpv;
			}
			else
			{
				sums->qc[j] += tqc;
				sums->qv[j] += tqv;
			}
		}
	}
}

/*
 * Standard Shapley value of the conversion-rate and value-per-journey
 * games, exact over all coalitions (see the file header for the method
 * and its memory).  One validating pass maps channels to bits and builds
 * the path masks; the validation errors take precedence over AN_ELIMIT.
 */
int
sh_standard(const an_path *paths, int64_t n_paths, int n_channels,
			double *conversions, double *value,
			const an_allocator *a, char *err, size_t errlen)
{
	int32_t    *map = NULL;		/* channel id -> bit, -1 when absent */
	uint32_t   *masks = NULL;	/* channel set of each path */
	sh_cell    *cells = NULL;	/* block buffer */
	double	   *scratch = NULL;
	uint8_t		popc[1 << SH_CHUNK_BITS];
	double		w[SH_STANDARD_MAX_CHANNELS];
	double		wp[SH_STANDARD_MAX_CHANNELS + 1];
	double		wq[SH_STANDARD_MAX_CHANNELS + 1];
	sh_sums		sums;
	double		total_conv = 0,
				total_value = 0,
				total_journeys = 0,
				binom;
	int			n = 0,
				L,
				cb,
				h,
				k,
				ch,
				rc;
	int64_t		i;
	uint32_t	b;

	rc = check_args(paths, n_paths, n_channels, a, err, errlen);
	if (rc != AN_OK)
		return rc;
	if (conversions == NULL || value == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "output arrays must not be NULL");
	memset(conversions, 0, sizeof(double) * (size_t) n_channels);
	memset(value, 0, sizeof(double) * (size_t) n_channels);

	map = alloc_array(a, n_channels, sizeof(int32_t));
	masks = alloc_array(a, n_paths, sizeof(uint32_t));
	if (map == NULL || masks == NULL)
		goto nomem;
	for (ch = 0; ch < n_channels; ch++)
		map[ch] = -1;

	/* validate, number the channels in order of appearance, build masks */
	for (i = 0; i < n_paths; i++)
	{
		const an_path *p = &paths[i];
		uint32_t	m = 0;
		int			e;

		an_check_interrupts(a);
		rc = check_path(p, i, err, errlen);
		if (rc != AN_OK)
			goto done;
		for (e = 0; e < p->length; e++)
		{
			int32_t		id = p->channels[e];

			if (id < 0 || id >= n_channels)
			{
				rc = bad_channel(i, e, id, n_channels, err, errlen);
				goto done;
			}
			if (map[id] < 0)
				map[id] = n++;
			if (map[id] < SH_STANDARD_MAX_CHANNELS)
				m |= UINT32_C(1) << map[id];
		}
		masks[i] = m;
		total_conv += p->conversions;
		total_value += p->value;
		total_journeys += p->conversions + p->nulls;
	}
	if (n > SH_STANDARD_MAX_CHANNELS)
	{
		rc = an_set_error(err, errlen, AN_ELIMIT,
					  "standard shapley is exact for at most %d channels; the input has %d",
					  SH_STANDARD_MAX_CHANNELS, n);
		goto done;
	}
	/* v(N) = 0 in both games (this covers n = 0): all zeros */
	if (!(total_journeys > 0 && (total_conv > 0 || total_value > 0)))
		goto done;

	L = n < SH_BLOCK_BITS ? n : SH_BLOCK_BITS;
	cb = n < SH_CHUNK_BITS ? n : SH_CHUNK_BITS;
	h = n - L;
	cells = alloc_array(a, (int64_t) 1 << L, sizeof(sh_cell));
	scratch = alloc_array(a, (int64_t) 4 << cb, sizeof(double));
	if (cells == NULL || scratch == NULL)
		goto nomem;

	/* w(k) = 1 / (n C(n-1, k)); C(n-1, k) <= C(23, 11) is exact in double */
	binom = 1;
	for (k = 0; k < n; k++)
	{
		if (k > 0)
			binom = binom * (n - k) / k;
		w[k] = 1.0 / ((double) n * binom);
	}
	for (k = 0; k <= n; k++)
	{
		wp[k] = k > 0 ? w[k - 1] : 0;
		wq[k] = k < n ? w[k] : 0;
	}
	popc[0] = 0;
	for (k = 1; k < (1 << cb); k++)
		popc[k] = (uint8_t) (popc[k >> 1] + (k & 1));

	memset(&sums, 0, sizeof(sums));
	for (b = 0; b < (UINT32_C(1) << h); b++)
	{
		uint32_t	lowmask = (UINT32_C(1) << L) - 1;
		sh_sums		bs;
		int			j;

		memset(cells, 0, sizeof(sh_cell) * ((size_t) 1 << L));
		for (i = 0; i < n_paths; i++)
		{
			uint32_t	m = masks[i];
			sh_cell    *c;

			if ((i & SH_SCAN_CHECK) == 0)
				an_check_interrupts(a);
			if (((m >> L) & ~b) != 0)
				continue;
			c = &cells[m & lowmask];
			c->total += paths[i].conversions + paths[i].nulls;
			c->conv += paths[i].conversions;
			c->value += paths[i].value;
		}
		zeta_cells(cells, L, a);
		memset(&bs, 0, sizeof(bs));
		accumulate_block(cells, n, L, cb, b, popc, wp, wq, scratch, &bs, a);
		for (j = 0; j < n; j++)
		{
			sums.pc[j] += bs.pc[j];
			sums.qc[j] += bs.qc[j];
			sums.pv[j] += bs.pv[j];
			sums.qv[j] += bs.qv[j];
		}
	}

	/* scale by total / v(N) = total journeys */
	for (ch = 0; ch < n_channels; ch++)
	{
		int			j = map[ch];

		if (j < 0)
			continue;
		if (total_conv > 0)
			conversions[ch] = (sums.pc[j] - sums.qc[j]) * total_journeys;
		if (total_value > 0)
			value[ch] = (sums.pv[j] - sums.qv[j]) * total_journeys;
	}
	goto done;

nomem:
	rc = an_set_error(err, errlen, AN_ENOMEM, "out of memory");
done:
	an_free(a, map);
	an_free(a, masks);
	an_free(a, cells);
	an_free(a, scratch);
	return rc;
}
