/*
 * shapley.c
 *		SQL interface of the Shapley attribution core (lib/shapley.c):
 *		shapley_attribution as an aggregate over journeys or path summaries
 *		and as a function of a stored analytics.path_summary.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "shapley.h"
#include "util.h"
#include "lib/shapley.h"

static const char *const method_names[] = {"simplified", "ordered", "standard"};

shapley_method
shapley_method_from_name(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(method_names); i++)
		if (strcmp(name, method_names[i]) == 0)
			return (shapley_method) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown Shapley method \"%s\"", name),
			 errhint("Valid methods are: simplified, ordered, standard.")));
	return SHAPLEY_SIMPLIFIED;	/* keep compiler quiet */
}

static const char *cap_hint =
"The standard method enumerates every coalition of channels; use method simplified or ordered, which have no channel cap, or group rare channels together.";

/* run the core; ordered results come back per (channel, position) */
static void
shapley_run(PathSummary *ps, shapley_method method, an_allocator *a,
			double **conv, double **value, int *n_positions)
{
	char		err[256];
	int			rc;
	an_path    *paths = ps_core_paths(ps);

	*n_positions = 1;
	if (method == SHAPLEY_ORDERED)
		rc = sh_ordered(paths, ps->n_paths, ps->n_channels, conv, value, n_positions,
						a, err, sizeof(err));
	else
	{
		*conv = palloc0(sizeof(double) * ps->n_channels);
		*value = palloc0(sizeof(double) * ps->n_channels);
		if (method == SHAPLEY_SIMPLIFIED)
			rc = sh_simplified(paths, ps->n_paths, ps->n_channels, *conv, *value,
							   a, err, sizeof(err));
		else
			rc = sh_standard(paths, ps->n_paths, ps->n_channels, *conv, *value,
							 a, err, sizeof(err));
	}
	an_report_core_error(rc, err, cap_hint);
}

void
shapley_channel_totals(PathSummary *ps, shapley_method method,
					   double **conversions, double **value)
{
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	double	   *conv,
			   *val;
	int			npos,
				c,
				p;

	*conversions = palloc0(sizeof(double) * Max(ps->n_channels, 1));
	*value = palloc0(sizeof(double) * Max(ps->n_channels, 1));
	if (ps->n_channels == 0)
		return;
	shapley_run(ps, method, &a, &conv, &val, &npos);
	for (c = 0; c < ps->n_channels; c++)
		for (p = 0; p < npos; p++)
		{
			(*conversions)[c] += conv[(Size) c * npos + p];
			(*value)[c] += val[(Size) c * npos + p];
		}
}

/* analytics.shapley_credit[] of the paths in ps */
static ArrayType *
shapley_compute(PathSummary *ps, shapley_method method)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "analytics shapley",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	an_allocator a = an_pg_allocator(work);
	double	   *conv,
			   *val;
	int			npos,
				p,
				rows = 0;
	int32	   *order,
				c;
	Datum	   *values;
	bool	   *nulls;
	ArrayType  *result;

	if (ps->n_channels == 0)
		return an_composite_array("shapley_credit", 0, 4, NULL, NULL);
	old = MemoryContextSwitchTo(work);
	shapley_run(ps, method, &a, &conv, &val, &npos);
	MemoryContextSwitchTo(old);
	order = ps_channels_by_name(ps);
	values = palloc(sizeof(Datum) * 4 * (Size) ps->n_channels * npos);
	nulls = palloc0(sizeof(bool) * 4 * (Size) ps->n_channels * npos);
	for (c = 0; c < ps->n_channels; c++)
	{
		int32		id = order[c];

		for (p = 0; p < npos; p++)
		{
			double		cv = conv[(Size) id * npos + p];
			double		vv = val[(Size) id * npos + p];

			/* ordered: only the positions a channel actually held */
			if (method == SHAPLEY_ORDERED && cv == 0 && vv == 0)
				continue;
			values[4 * rows] = an_text_datum(ps->channel_names[id], ps->channel_lens[id]);
			values[4 * rows + 1] = Int32GetDatum(p + 1);
			nulls[4 * rows + 1] = (method != SHAPLEY_ORDERED);
			values[4 * rows + 2] = Float8GetDatum(cv);
			values[4 * rows + 3] = Float8GetDatum(vv);
			rows++;
		}
	}
	result = an_composite_array("shapley_credit", rows, 4, values, nulls);
	MemoryContextDelete(work);
	return result;
}

static void
not_null(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* record the method (validated on the first row) */
static void
shapley_params(PathSummary *ps, FunctionCallInfo fcinfo, int method_arg)
{
	text	   *method;

	if (PG_NARGS() <= method_arg)
	{
		if (!ps->has_params)
			ps_set_params(ps, PS_KIND_SHAPLEY, 0, "simplified", NULL);
		return;
	}
	not_null(fcinfo, method_arg, "the method");
	method = PG_GETARG_TEXT_PP(method_arg);
	if (!ps->has_params)
		(void) shapley_method_from_name(text_to_cstring(method));
	ps_set_params_text(ps, PS_KIND_SHAPLEY, 0, method, NULL);
}

PG_FUNCTION_INFO_V1(shapley_accum);

/*
 * shapley_attribution(path, conversions, value [, method]): one row per
 * journey, so a row with conversions c < 1 also counts 1 - c journeys that
 * did not convert (the standard method's conversion rates need them).
 */
Datum
shapley_accum(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_agg_state(fcinfo, "shapley_accum");
	double		conv;

	shapley_params(ps, fcinfo, 4);
	not_null(fcinfo, 1, "a path");
	not_null(fcinfo, 2, "conversions");
	conv = PG_GETARG_FLOAT8(2);
	ps_add_text_path(ps, PG_GETARG_ARRAYTYPE_P(1), conv, conv < 1.0 && conv >= 0 ? 1.0 - conv : 0.0,
					 PG_ARGISNULL(3) ? 0.0 : PG_GETARG_FLOAT8(3));
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(shapley_summary_accum);

/* shapley_attribution(path, conversions, nulls, value, method): path summaries */
Datum
shapley_summary_accum(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_agg_state(fcinfo, "shapley_summary_accum");

	shapley_params(ps, fcinfo, 5);
	not_null(fcinfo, 1, "a path");
	not_null(fcinfo, 2, "conversions");
	not_null(fcinfo, 3, "nulls");
	ps_add_text_path(ps, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3),
					 PG_ARGISNULL(4) ? 0.0 : PG_GETARG_FLOAT8(4));
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(shapley_final);
Datum
shapley_final(PG_FUNCTION_ARGS)
{
	PathSummary *ps;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ps = ps_read_arg(fcinfo, 0);
	PG_RETURN_ARRAYTYPE_P(shapley_compute(ps, shapley_method_from_name(ps->name)));
}

PG_FUNCTION_INFO_V1(shapley_attribution_summary);

/* shapley_attribution(summary, method) */
Datum
shapley_attribution_summary(PG_FUNCTION_ARGS)
{
	shapley_method m;

	not_null(fcinfo, 1, "the method");
	m = shapley_method_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(shapley_compute(ps_read_arg(fcinfo, 0), m));
}
