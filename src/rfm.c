/*
 * rfm.c
 *		RFM scoring: the quantile_score window function and rfm_segment, the
 *		fixed table from (recency, frequency, monetary) scores to the eleven
 *		named segments.  rfm_scores (src/rfm.sql) builds on both.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "windowapi.h"

#include "util.h"

/* the sorted non-NULL values of the current partition */
typedef struct QsPartition
{
	bool		ready;
	int64		n;
	double	   *values;
} QsPartition;

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* number of values < x (or <= x when or_equal) in sorted v[0 .. n-1] */
static int64
count_below(const double *v, int64 n, double x, bool or_equal)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (v[mid] < x || (or_equal && v[mid] == x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * quantile_score(value, buckets, reverse) OVER (PARTITION BY ...):
 * 1 + floor(buckets * (values below this one) / (non-NULL values)), so equal
 * values always get the same score, the lowest value gets 1 and a value
 * gets score s exactly when the share of values strictly below it lies in
 * [(s - 1) / buckets, s / buckets).  With reverse, "below" reads "above"
 * (lower values score higher: recency).  NULL for a NULL value.  The frame
 * and any ORDER BY of the window are ignored: it always reads the whole
 * partition.
 */
PG_FUNCTION_INFO_V1(quantile_score);
Datum
quantile_score(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	QsPartition *part;
	bool		isnull;
	Datum		d;
	int32		buckets;
	bool		reverse;
	double		x;
	int64		below;

	d = WinGetFuncArgCurrent(winobj, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("buckets of quantile_score must not be null")));
	buckets = DatumGetInt32(d);
	if (buckets < 1 || buckets > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buckets of quantile_score must be between 1 and 1000, not %d", buckets)));
	d = WinGetFuncArgCurrent(winobj, 2, &isnull);
	reverse = !isnull && DatumGetBool(d);

	part = (QsPartition *) WinGetPartitionLocalMemory(winobj, sizeof(QsPartition));
	if (!part->ready)
	{
		int64		rows = WinGetPartitionRowCount(winobj);
		int64		i;
		MemoryContext cxt = GetMemoryChunkContext(part);

		part->values = MemoryContextAllocHuge(cxt, sizeof(double) * Max(rows, 1));
		for (i = 0; i < rows; i++)
		{
			bool		isout;
			Datum		v = WinGetFuncArgInPartition(winobj, 0, i, WINDOW_SEEK_HEAD, false,
													 &isnull, &isout);

			if (isnull || isout)
				continue;
			x = DatumGetFloat8(v);
			if (isnan(x))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("quantile_score: values must not be NaN")));
			part->values[part->n++] = x;
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		qsort(part->values, part->n, sizeof(double), cmp_double);
		part->ready = true;
	}

	d = WinGetFuncArgCurrent(winobj, 0, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	x = DatumGetFloat8(d);
	if (reverse)				/* values above x: n - (values <= x) */
		below = part->n - count_below(part->values, part->n, x, true);
	else
		below = count_below(part->values, part->n, x, false);
	PG_RETURN_INT32(1 + (int32) ((double) buckets * below / part->n));
}

/*
 * The segment of each (R, FM) cell, FM = floor((F + M + 1) / 2) (the mean
 * of F and M, halves rounded up).  Rows R = 5 .. 1, columns FM = 1 .. 5;
 * docs/segmentation.md shows the same table.
 */
static const char *const rfm_table[5][5] = {
	/* R = 5 */ {"New Customers", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"},
	/* R = 4 */ {"Promising", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"},
	/* R = 3 */ {"About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"},
	/* R = 2 */ {"Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"},
	/* R = 1 */ {"Lost", "Lost", "At Risk", "Can't Lose Them", "Can't Lose Them"},
};

PG_FUNCTION_INFO_V1(rfm_segment);
Datum
rfm_segment(PG_FUNCTION_ARGS)
{
	int32		r = PG_GETARG_INT32(0),
				f = PG_GETARG_INT32(1),
				m = PG_GETARG_INT32(2);
	const char *name;

	if (r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("RFM scores must be between 1 and 5, got r = %d, f = %d, m = %d", r, f, m),
				 errhint("Compute them with analytics.quantile_score(value, 5) OVER () or analytics.rfm_scores.")));
	name = rfm_table[5 - r][(f + m + 1) / 2 - 1];
	PG_RETURN_TEXT_P(cstring_to_text(name));
}
