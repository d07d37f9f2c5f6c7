/*
 * heatmap.c
 *		engagement_heatmap: events by ISO day of week and hour of day in a
 *		time zone, and its long form.
 *
 * The state is a bigint[] of 168 counters (concrete type, updated in place
 * in the aggregate context like float8_accum), so the aggregate is parallel
 * with a plain element-wise sum as combine function and needs no
 * serialization.  NULL timestamps are skipped.  The time zone argument is
 * read once; later rows must pass the same one.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "calendar.h"

#define HEAT_CELLS (7 * 24)

/* per-call cache of the zone, kept in fn_extra */
typedef struct HeatCache
{
	text	   *tzname;			/* NULL: session zone */
	TzCache		tz;
	BucketCache hour;			/* the last local hour seen */
} HeatCache;

static HeatCache *
heat_cache(FunctionCallInfo fcinfo, text *tzname)
{
	HeatCache  *hc = (HeatCache *) fcinfo->flinfo->fn_extra;

	if (hc != NULL)
	{
		if ((hc->tzname == NULL) != (tzname == NULL) ||
			(tzname && (VARSIZE_ANY_EXHDR(tzname) != VARSIZE_ANY_EXHDR(hc->tzname) ||
						memcmp(VARDATA_ANY(tzname), VARDATA_ANY(hc->tzname), VARSIZE_ANY_EXHDR(tzname)) != 0)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the time zone of engagement_heatmap must be the same in every row")));
		return hc;
	}
	hc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(HeatCache));
	if (tzname)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		hc->tzname = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(tzname));
		MemoryContextSwitchTo(old);
	}
	tzcache_init(&hc->tz, tzname ? text_to_cstring(tzname) : NULL);
	fcinfo->flinfo->fn_extra = hc;
	return hc;
}

/* a fresh int8[168] of zeros in cxt */
static ArrayType *
new_counters(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Datum	   *zeros = palloc0(sizeof(Datum) * HEAT_CELLS);
	ArrayType  *a;
	int			i;

	for (i = 0; i < HEAT_CELLS; i++)
		zeros[i] = Int64GetDatum(0);
	a = construct_array(zeros, HEAT_CELLS, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	MemoryContextSwitchTo(old);
	return a;
}

static void
check_counters(ArrayType *a)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != HEAT_CELLS || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != INT8OID)
		elog(ERROR, "engagement_heatmap state is not an int8[%d]", HEAT_CELLS);
}

PG_FUNCTION_INFO_V1(heatmap_accum);

/* engagement_heatmap(ts [, tz]) transition: count the row's local (dow, hour) */
Datum
heatmap_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *state;
	HeatCache  *hc;
	int64		hours,
				days;
	int			dow,
				hour;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "heatmap_accum called outside an aggregate");
	if (PG_NARGS() > 2 && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the time zone must not be null"),
				 errhint("Omit it for the session time zone.")));
	if (PG_ARGISNULL(1))
	{
		/* skipped; with no counted row at all the result is NULL, as for sum() */
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	state = PG_ARGISNULL(0) ? new_counters(aggcxt) : PG_GETARG_ARRAYTYPE_P(0);
	hc = heat_cache(fcinfo, PG_NARGS() > 2 ? PG_GETARG_TEXT_PP(2) : NULL);
	hours = calendar_bucket(&hc->tz, &hc->hour, CO_HOUR, PG_GETARG_TIMESTAMPTZ(1));
	days = co_floor_div(hours, 24);
	dow = (int) ((days + 3) % 7 + 7) % 7;	/* 1970-01-01 is a Thursday: Monday = 0 */
	hour = (int) (hours - days * 24);
	((int64 *) ARR_DATA_PTR(state))[dow * 24 + hour]++;
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(heatmap_combine);

/* element-wise sum of two partial states */
Datum
heatmap_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *a,
			   *b;
	int64	   *x,
			   *y;
	int			i;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "heatmap_combine called outside an aggregate");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P(0));
	}
	b = PG_GETARG_ARRAYTYPE_P(1);
	check_counters(b);
	a = PG_ARGISNULL(0) ? new_counters(aggcxt) : PG_GETARG_ARRAYTYPE_P(0);
	check_counters(a);
	x = (int64 *) ARR_DATA_PTR(a);
	y = (int64 *) ARR_DATA_PTR(b);
	for (i = 0; i < HEAT_CELLS; i++)
		x[i] += y[i];
	PG_RETURN_ARRAYTYPE_P(a);
}

PG_FUNCTION_INFO_V1(heatmap_final);

/* the counters as bigint[7][24], Monday first */
Datum
heatmap_final(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	Datum	   *elems = palloc(sizeof(Datum) * HEAT_CELLS);
	int64	   *x;
	int			dims[2] = {7, 24},
				lbs[2] = {1, 0},
				i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = PG_GETARG_ARRAYTYPE_P(0);
	check_counters(state);
	x = (int64 *) ARR_DATA_PTR(state);
	for (i = 0; i < HEAT_CELLS; i++)
		elems[i] = Int64GetDatum(x[i]);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, NULL, 2, dims, lbs, INT8OID, 8,
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(heatmap_cells);

/* heatmap_cells(bigint[][]): one row per (ISO day of week 1..7, hour 0..23) */
Datum
heatmap_cells(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ReturnSetInfo *rsinfo;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	if (ARR_NDIM(a) != 2 || ARR_DIMS(a)[0] != 7 || ARR_DIMS(a)[1] != 24 ||
		ARR_ELEMTYPE(a) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("heatmap_cells expects a bigint[7][24] such as engagement_heatmap returns")));
	deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	for (i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		isnull[3] = {false, false, nulls[i]};

		values[0] = Int32GetDatum(i / 24 + 1);
		values[1] = Int32GetDatum(i % 24);
		values[2] = elems[i];
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}
