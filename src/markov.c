/*
 * markov.c
 *		SQL interface of the exact Markov attribution core (lib/markov.c):
 *		markov_attribution, markov_transition_matrix, markov_order_selection,
 *		each as an aggregate over path rows and as a function of a stored
 *		analytics.path_summary.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "markov.h"
#include "paths.h"
#include "util.h"
#include "lib/markov.h"

/* variants, for option messages */
#define MV_ATTRIBUTION	0
#define MV_MATRIX		1
#define MV_ORDER		2
static const char *const markov_variant_names[] = {
	"markov_attribution", "markov_transition_matrix", "markov_order_selection"
};

#define DEFAULT_MAX_ORDER 4

/* parse options of a Markov function into *mo (and folds for order selection) */
static void
markov_config(Jsonb *options, int variant, int order, mk_options *mo, int *folds)
{
	an_option	spec[] = {
		AN_OPTION("use_nulls", AN_OPT_BOOL, 0x7),
		AN_OPTION("collapse", AN_OPT_BOOL, 0x7),
		AN_OPTION("max_states", AN_OPT_INTEGER, 0x7),
		AN_OPTION("folds", AN_OPT_INTEGER, 0x4),
	};
	an_option  *o;

	mk_default_options(mo);
	an_parse_options(options, spec, lengthof(spec), UINT32_C(1) << variant,
					 markov_variant_names[variant], markov_variant_names, 3, "function");
	if (spec[0].present)
		mo->use_nulls = spec[0].boolean;
	if (spec[1].present)
		mo->collapse = spec[1].boolean;
	o = &spec[2];
	if (o->present)
	{
		if (o->number < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_states\" must be at least 1")));
		mo->max_states = (int) o->number;
	}
	if (folds)
	{
		*folds = spec[3].present ? (int) spec[3].number : 5;
		if (*folds < 2 || *folds > 20)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"folds\" must be between 2 and 20, not %d", *folds)));
	}
	if (order < 1 || order > MK_MAX_ORDER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 1 and %d, not %d",
						variant == MV_ORDER ? "the maximum order" : "the Markov order",
						MK_MAX_ORDER, order)));
	mo->order = variant == MV_ORDER ? 1 : order;
}

static const char *markov_hint =
"Lower the order, or raise the option max_states; transforms such as path_transform(path, 'trim_long', NULL, n) shorten paths.";

ArrayType *
markov_attribution_compute(PathSummary *ps, const mk_options *mo)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "analytics markov",
											   ALLOCSET_DEFAULT_SIZES);
	an_allocator a = an_pg_allocator(work);
	mk_result	res;
	char		err[256];
	int			rc;
	int32	   *order,
				c;
	Datum	   *values;
	ArrayType  *result;

	if (ps->n_channels == 0)
		return an_composite_array("markov_credit", 0, 5, NULL, NULL);
	rc = mk_attribute(ps_core_paths(ps), ps->n_paths, ps->n_channels, mo, &a, &res,
					  err, sizeof(err));
	an_report_core_error(rc, err, markov_hint);
	order = ps_channels_by_name(ps);
	values = palloc(sizeof(Datum) * 5 * ps->n_channels);
	for (c = 0; c < ps->n_channels; c++)
	{
		int32		id = order[c];

		values[5 * c] = an_text_datum(ps->channel_names[id], ps->channel_lens[id]);
		values[5 * c + 1] = Float8GetDatum(res.conversions[id]);
		values[5 * c + 2] = Float8GetDatum(res.value[id]);
		values[5 * c + 3] = Float8GetDatum(res.removal_effect[id]);
		values[5 * c + 4] = Float8GetDatum(res.value_removal_effect[id]);
	}
	result = an_composite_array("markov_credit", ps->n_channels, 5, values, NULL);
	MemoryContextDelete(work);
	return result;
}

/* the name of a transient state: its channels joined by " > " */
static Datum
state_name(const PathSummary *ps, const mk_chain *chain, int32 s)
{
	StringInfoData buf;
	int32		k;

	if (s == MK_STATE_START)
		return CStringGetTextDatum("(start)");
	if (s == MK_STATE_CONVERSION)
		return CStringGetTextDatum("(conversion)");
	if (s == MK_STATE_NULL)
		return CStringGetTextDatum("(null)");
	initStringInfo(&buf);
	for (k = 0; k < chain->states[s].length; k++)
	{
		if (k)
			appendStringInfoString(&buf, " > ");
		appendStringInfoString(&buf, ps->channel_names[chain->states[s].channels[k]]);
	}
	return PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len));
}

static ArrayType *
markov_matrix_compute(PathSummary *ps, const mk_options *mo)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "analytics markov",
											   ALLOCSET_DEFAULT_SIZES);
	an_allocator a = an_pg_allocator(work);
	mk_chain	chain;
	char		err[256];
	int			rc;
	Datum	   *values;
	Datum	   *names;
	int64		t;
	int32		s;
	ArrayType  *result;

	if (ps->n_channels == 0)
		return an_composite_array("markov_transition", 0, 4, NULL, NULL);
	rc = mk_build_chain(ps_core_paths(ps), ps->n_paths, ps->n_channels, mo, &a, &chain,
						err, sizeof(err));
	an_report_core_error(rc, err, markov_hint);
	if ((Size) chain.n_transitions > MaxAllocSize / (4 * sizeof(Datum)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the transition matrix has too many entries to return")));
	names = palloc(sizeof(Datum) * (chain.n_states + 3));
	for (s = -3; s < chain.n_states; s++)
		names[s + 3] = state_name(ps, &chain, s);
	values = palloc_extended(sizeof(Datum) * 4 * Max(chain.n_transitions, 1), MCXT_ALLOC_HUGE);
	for (t = 0; t < chain.n_transitions; t++)
	{
		const mk_transition *tr = &chain.transitions[t];

		values[4 * t] = names[tr->from + 3];
		values[4 * t + 1] = names[tr->to + 3];
		values[4 * t + 2] = Float8GetDatum(tr->probability);
		values[4 * t + 3] = Float8GetDatum(tr->weight);
		if ((t & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	result = an_composite_array("markov_transition", (int) chain.n_transitions, 4, values, NULL);
	MemoryContextDelete(work);
	return result;
}

static ArrayType *
markov_order_compute(PathSummary *ps, int max_order, const mk_options *mo, int folds)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "analytics markov",
											   ALLOCSET_DEFAULT_SIZES);
	an_allocator a = an_pg_allocator(work);
	mk_order_score *scores = palloc(sizeof(mk_order_score) * max_order);
	Datum	   *values = palloc(sizeof(Datum) * 5 * max_order);
	char		err[256];
	int			rc,
				i;
	ArrayType  *result;

	rc = mk_select_order(ps_core_paths(ps), ps->n_paths, Max(ps->n_channels, 1), max_order,
						 folds, mo, &a, scores, err, sizeof(err));
	an_report_core_error(rc, err,
						 "Order selection scores how well each order predicts conversions on held-out paths, so it needs converting and non-converting paths.");
	for (i = 0; i < max_order; i++)
	{
		values[5 * i] = Int32GetDatum(scores[i].order);
		values[5 * i + 1] = Int32GetDatum(scores[i].n_states);
		values[5 * i + 2] = Float8GetDatum(scores[i].auc);
		values[5 * i + 3] = Float8GetDatum(scores[i].log_loss);
		values[5 * i + 4] = BoolGetDatum(scores[i].selected);
	}
	result = an_composite_array("markov_order_score", max_order, 5, values, NULL);
	MemoryContextDelete(work);
	return result;
}

/*
 * Shared transition: arguments (state, path, conversions, nulls, value?,
 * order?, options?), where has_value says whether argument 4 is a value.
 */
static Datum
markov_accum_common(FunctionCallInfo fcinfo, ps_kind kind, bool has_value, int default_order)
{
	PathSummary *ps = ps_agg_state(fcinfo, "markov transition");
	int			first_param = has_value ? 5 : 4;
	int			nargs = PG_NARGS();
	int32		order = default_order;
	Jsonb	   *options = NULL;

	if (nargs > first_param)
	{
		if (PG_ARGISNULL(first_param))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the order must not be null")));
		order = PG_GETARG_INT32(first_param);
	}
	if (nargs > first_param + 1 && !PG_ARGISNULL(first_param + 1))
		options = PG_GETARG_JSONB_P(first_param + 1);
	if (!ps->has_params)
	{
		mk_options	mo;
		int			folds;

		markov_config(options, kind == PS_KIND_MARKOV ? MV_ATTRIBUTION :
					  kind == PS_KIND_MARKOV_MATRIX ? MV_MATRIX : MV_ORDER,
					  order, &mo, kind == PS_KIND_MARKOV_ORDER ? &folds : NULL);
	}
	ps_set_params(ps, kind, order, NULL, options);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a path must not be null")));
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("conversions and nulls must not be null"),
				 errhint("Use coalesce(..., 0) for paths without conversions or without non-converting journeys.")));
	ps_add_text_path(ps, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3),
					 (has_value && !PG_ARGISNULL(4)) ? PG_GETARG_FLOAT8(4) : 0.0);
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(markov_accum);
Datum
markov_accum(PG_FUNCTION_ARGS)
{
	return markov_accum_common(fcinfo, PS_KIND_MARKOV, true, 1);
}

PG_FUNCTION_INFO_V1(markov_matrix_accum);
Datum
markov_matrix_accum(PG_FUNCTION_ARGS)
{
	return markov_accum_common(fcinfo, PS_KIND_MARKOV_MATRIX, false, 1);
}

PG_FUNCTION_INFO_V1(markov_order_accum);
Datum
markov_order_accum(PG_FUNCTION_ARGS)
{
	return markov_accum_common(fcinfo, PS_KIND_MARKOV_ORDER, false, DEFAULT_MAX_ORDER);
}

PG_FUNCTION_INFO_V1(markov_final);
Datum
markov_final(PG_FUNCTION_ARGS)
{
	PathSummary *ps;
	mk_options	mo;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ps = ps_read_arg(fcinfo, 0);
	markov_config(ps->options, MV_ATTRIBUTION, ps->order, &mo, NULL);
	PG_RETURN_ARRAYTYPE_P(markov_attribution_compute(ps, &mo));
}

PG_FUNCTION_INFO_V1(markov_matrix_final);
Datum
markov_matrix_final(PG_FUNCTION_ARGS)
{
	PathSummary *ps;
	mk_options	mo;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ps = ps_read_arg(fcinfo, 0);
	markov_config(ps->options, MV_MATRIX, ps->order, &mo, NULL);
	PG_RETURN_ARRAYTYPE_P(markov_matrix_compute(ps, &mo));
}

PG_FUNCTION_INFO_V1(markov_order_final);
Datum
markov_order_final(PG_FUNCTION_ARGS)
{
	PathSummary *ps;
	mk_options	mo;
	int			folds;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ps = ps_read_arg(fcinfo, 0);
	markov_config(ps->options, MV_ORDER, ps->order, &mo, &folds);
	PG_RETURN_ARRAYTYPE_P(markov_order_compute(ps, ps->order, &mo, folds));
}

/* the integer argument n, which must not be null */
static int32
int_arg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return PG_GETARG_INT32(n);
}

PG_FUNCTION_INFO_V1(markov_attribution_summary);

/* markov_attribution(summary, order, options) */
Datum
markov_attribution_summary(PG_FUNCTION_ARGS)
{
	mk_options	mo;

	markov_config(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), MV_ATTRIBUTION,
				  int_arg(fcinfo, 1, "the order"), &mo, NULL);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(markov_attribution_compute(ps_read_arg(fcinfo, 0), &mo));
}

PG_FUNCTION_INFO_V1(markov_matrix_summary);

/* markov_transition_matrix(summary, order, options) */
Datum
markov_matrix_summary(PG_FUNCTION_ARGS)
{
	mk_options	mo;

	markov_config(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), MV_MATRIX,
				  int_arg(fcinfo, 1, "the order"), &mo, NULL);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(markov_matrix_compute(ps_read_arg(fcinfo, 0), &mo));
}

PG_FUNCTION_INFO_V1(markov_order_summary);

/* markov_order_selection(summary, max_order, options) */
Datum
markov_order_summary(PG_FUNCTION_ARGS)
{
	mk_options	mo;
	int			folds;
	int32		max_order = int_arg(fcinfo, 1, "the maximum order");

	markov_config(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), MV_ORDER, max_order, &mo, &folds);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(markov_order_compute(ps_read_arg(fcinfo, 0), max_order, &mo, folds));
}
