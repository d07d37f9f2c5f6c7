/*
 * attribution.c
 *		Rule-based attribution in SQL: the touch_credit aggregate (one
 *		conversion's touches), heuristic_attribution (over path summaries),
 *		and the model/option parsing shared with report.c.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "attribution.h"
#include "paths.h"
#include "util.h"
#include "lib/ihash.h"

const char *const attribution_model_names[N_MODELS] = {
	"first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
	"position_based", "w_shaped", "custom", "markov", "shapley"
};

#define BIT(m)			(UINT32_C(1) << (m))
#define ALL_RULES		(BIT(RULE_NMODELS) - 1)
#define ALL_MODELS		(BIT(N_MODELS) - 1)

int
attribution_model(text *t, bool data_driven)
{
	char	   *name = text_to_cstring(t);
	int			n = data_driven ? N_MODELS : RULE_NMODELS;
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(name, attribution_model_names[i]) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown attribution model \"%s\"", name),
			 data_driven
			 ? errhint("Valid models are: first_touch, last_touch, last_non_direct, linear, time_decay, position_based, w_shaped, custom, markov, shapley.")
			 : errhint("Valid models are: first_touch, last_touch, last_non_direct, linear, time_decay, position_based, w_shaped, custom.")));
	return -1;					/* keep compiler quiet */
}

static void
weights_error(const char *model, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid weights for %s", model),
			 errdetail("%s", detail)));
}

/* check k named shares are finite, >= 0 and sum to 1 */
static void
check_shares(const char *model, const double *w, int k)
{
	double		total = 0.0;
	int			i;

	for (i = 0; i < k; i++)
	{
		if (!(w[i] >= 0) || isinf(w[i]))
			weights_error(model, "Every weight must be a finite number >= 0.");
		total += w[i];
	}
	if (fabs(total - 1.0) > 1e-9)
		weights_error(model, psprintf("The weights must sum to 1; they sum to %s.",
									  float8out_internal(total)));
}

/* named or positional shares of an option into out[k] */
static void
shares(const an_option *o, const char *model, const char *const *names, int k,
	   const double *defaults, double *out)
{
	if (o->keys)
		an_weights_from_object(o, names, k, defaults, out);
	else
	{
		if (o->n_numbers != k)
		{
			weights_error(model, psprintf("Give %d weights [%s], or an object with those keys.",
										  k, an_join_names(names, k)));
		}
		memcpy(out, o->numbers, sizeof(double) * k);
	}
	check_shares(model, out, k);
}

static const char *
column_option(an_option *cols, const char *key, const char *dflt, bool *given_null)
{
	int			k;

	if (given_null)
		*given_null = false;
	if (cols->present)
		for (k = 0; k < cols->n_keys; k++)
			if (strcmp(cols->keys[k], key) == 0)
			{
				if (cols->strings[k] == NULL && given_null)
					*given_null = true;
				else if (cols->strings[k] == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("column \"%s\" in option \"%s\" must be a column name", key, cols->name)));
				return cols->strings[k];
			}
	return dflt;
}

/* reject keys of a column map that are not among names */
static void
check_column_keys(an_option *cols, const char *const *names, int n)
{
	int			k,
				i;

	for (k = 0; cols->present && k < cols->n_keys; k++)
	{
		for (i = 0; i < n; i++)
			if (strcmp(cols->keys[k], names[i]) == 0)
				break;
		if (i == n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in option \"%s\"", cols->keys[k], cols->name),
					 errhint("Valid keys are: %s.", an_join_names(names, n))));
	}
}

void
attribution_options(Jsonb *options, int model, opts_context ctx, ModelConfig *cfg)
{
	an_option	spec[] = {
		AN_OPTION("half_life", AN_OPT_DURATION, BIT(RULE_TIME_DECAY)),
		AN_OPTION("weights", AN_OPT_WEIGHTS, BIT(RULE_POSITION_BASED) | BIT(RULE_W_SHAPED) | BIT(RULE_CUSTOM)),
		AN_OPTION("direct", AN_OPT_STRING, BIT(RULE_LAST_NON_DIRECT)),
		AN_OPTION("anchor", AN_OPT_STRING, BIT(RULE_CUSTOM)),
		AN_OPTION("per_touch", AN_OPT_BOOL, ctx == OPTS_TOUCH_CREDIT ? ALL_RULES : 0),
		AN_OPTION("lead_position", AN_OPT_INTEGER, ctx == OPTS_HEURISTIC ? BIT(RULE_W_SHAPED) : 0),
		AN_OPTION("opportunity_position", AN_OPT_INTEGER, ctx == OPTS_HEURISTIC ? BIT(RULE_W_SHAPED) : 0),
		AN_OPTION("order", AN_OPT_INTEGER, ctx == OPTS_REPORT ? BIT(MODEL_MARKOV) : 0),
		AN_OPTION("use_nulls", AN_OPT_BOOL, ctx == OPTS_REPORT ? BIT(MODEL_MARKOV) : 0),
		AN_OPTION("collapse", AN_OPT_BOOL, ctx == OPTS_REPORT ? BIT(MODEL_MARKOV) : 0),
		AN_OPTION("method", AN_OPT_STRING, ctx == OPTS_REPORT ? BIT(MODEL_SHAPLEY) : 0),
		AN_OPTION("touchpoint_columns", AN_OPT_OBJECT, ctx == OPTS_REPORT ? ALL_MODELS : 0),
		AN_OPTION("conversion_columns", AN_OPT_OBJECT, ctx == OPTS_REPORT ? ALL_MODELS : 0),
	};
	const int	nspec = lengthof(spec);
	const char *mname = attribution_model_names[model];
	an_option  *o;

	memset(cfg, 0, sizeof(*cfg));
	cfg->model = model;
	rule_default_params(&cfg->rp);
	cfg->direct = "direct";
	cfg->order = 1;
	cfg->use_nulls = true;
	cfg->collapse = true;
	cfg->method = "simplified";

	an_parse_options(options, spec, nspec, BIT(model), mname,
					 attribution_model_names, N_MODELS, "attribution model");

	o = an_option_get(spec, nspec, "half_life");
	if (o->present)
		cfg->rp.half_life = o->number;
	o = an_option_get(spec, nspec, "direct");
	if (o->present)
		cfg->direct = o->string;
	o = an_option_get(spec, nspec, "weights");
	if (model == RULE_POSITION_BASED && o->present)
	{
		static const char *const names[] = {"first", "middle", "last"};
		static const double defaults[] = {0.4, 0.2, 0.4};
		double		w[3];

		shares(o, mname, names, 3, defaults, w);
		cfg->rp.first_weight = w[0];
		cfg->rp.middle_weight = w[1];
		cfg->rp.last_weight = w[2];
	}
	else if (model == RULE_W_SHAPED && o->present)
	{
		static const char *const names[] = {"first", "lead", "opportunity", "rest"};
		static const double defaults[] = {0.3, 0.3, 0.3, 0.1};
		double		w[4];

		shares(o, mname, names, 4, defaults, w);
		cfg->rp.w_first = w[0];
		cfg->rp.w_lead = w[1];
		cfg->rp.w_opportunity = w[2];
		cfg->rp.w_rest = w[3];
	}
	else if (model == RULE_CUSTOM)
	{
		int			i;
		bool		positive = false;

		if (!o->present || o->keys)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the custom model needs position weights"),
					 errhint("Pass {\"weights\": [w1, w2, ...]}: one weight per position from the first touch (or from the last with \"anchor\": \"last\"); the last weight repeats for longer paths.")));
		for (i = 0; i < o->n_numbers; i++)
		{
			if (!(o->numbers[i] >= 0) || isinf(o->numbers[i]))
				weights_error(mname, "Every weight must be a finite number >= 0.");
			positive |= o->numbers[i] > 0;
		}
		if (o->n_numbers == 0 || !positive)
			weights_error(mname, "Give at least one weight greater than 0.");
		cfg->rp.custom_weights = o->numbers;
		cfg->rp.n_custom_weights = o->n_numbers;
	}
	o = an_option_get(spec, nspec, "anchor");
	if (o->present)
	{
		if (strcmp(o->string, "first") == 0)
			cfg->rp.custom_from_last = false;
		else if (strcmp(o->string, "last") == 0)
			cfg->rp.custom_from_last = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"anchor\" must be \"first\" or \"last\", not \"%s\"", o->string)));
	}
	o = an_option_get(spec, nspec, "per_touch");
	cfg->per_touch = o->present && o->boolean;
	o = an_option_get(spec, nspec, "lead_position");
	if (o->present)
		cfg->lead_position = (int) o->number;
	o = an_option_get(spec, nspec, "opportunity_position");
	if (o->present)
		cfg->opportunity_position = (int) o->number;
	if (cfg->lead_position < 0 || cfg->opportunity_position < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("milestone positions must be 1 or more")));
	o = an_option_get(spec, nspec, "order");
	if (o->present)
		cfg->order = (int) o->number;
	o = an_option_get(spec, nspec, "use_nulls");
	if (o->present)
		cfg->use_nulls = o->boolean;
	o = an_option_get(spec, nspec, "collapse");
	if (o->present)
		cfg->collapse = o->boolean;
	o = an_option_get(spec, nspec, "method");
	if (o->present)
		cfg->method = o->string;

	if (ctx == OPTS_REPORT)
	{
		static const char *const tnames[] = {"user_id", "channel", "occurred_at", "milestone"};
		static const char *const cnames[] = {"conversion_id", "user_id", "occurred_at", "revenue"};
		an_option  *tc = an_option_get(spec, nspec, "touchpoint_columns");
		an_option  *cc = an_option_get(spec, nspec, "conversion_columns");
		bool		revenue_null;

		check_column_keys(tc, tnames, 4);
		check_column_keys(cc, cnames, 4);
		cfg->touch_user = (char *) column_option(tc, "user_id", "user_id", NULL);
		cfg->touch_channel = (char *) column_option(tc, "channel", "channel", NULL);
		cfg->touch_time = (char *) column_option(tc, "occurred_at", "occurred_at", NULL);
		cfg->touch_milestone = (char *) column_option(tc, "milestone", NULL, NULL);
		cfg->conv_id = (char *) column_option(cc, "conversion_id", "conversion_id", NULL);
		cfg->conv_user = (char *) column_option(cc, "user_id", "user_id", NULL);
		cfg->conv_time = (char *) column_option(cc, "occurred_at", "occurred_at", NULL);
		cfg->conv_revenue = (char *) column_option(cc, "revenue", "revenue", &revenue_null);
		if (revenue_null)
			cfg->conv_revenue = NULL;
		if (cfg->touch_milestone && model != RULE_W_SHAPED)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a milestone column applies only to the w_shaped model")));
	}
}

uint8
attribution_milestone(text *t)
{
	char	   *s = text_to_cstring(t);
	char	   *tok,
			   *save = NULL;
	uint8		flags = 0;

	for (tok = strtok_r(s, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
	{
		if (strcmp(tok, "lead") == 0)
			flags |= RULE_MILESTONE_LEAD;
		else if (strcmp(tok, "opportunity") == 0)
			flags |= RULE_MILESTONE_OPPORTUNITY;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown milestone \"%s\"", tok),
					 errhint("Valid milestones are lead and opportunity (or both, comma-separated), or NULL.")));
	}
	return flags;
}

/* ---------- touch_credit ---------- */

typedef struct TouchItem
{
	TimestampTz ts;
	int32		channel;
	int32		seq;
	uint8		milestone;
} TouchItem;

typedef struct TouchState
{
	ModelConfig cfg;
	text	   *model_text;		/* first row's, to check later rows */
	Jsonb	   *options;
	bool		has_milestone_arg;
	TimestampTz converted_at;
	int			n;
	int			cap;
	TouchItem  *items;
	int			n_names;
	int			names_cap;
	char	  **names;
	int		   *lens;
	an_ihash	name_index;
	an_allocator alloc;
	const char *probe;
	int			probe_len;
} TouchState;

static bool
touch_name_eq(void *ctx, uint32 index)
{
	TouchState *st = ctx;

	return st->lens[index] == st->probe_len &&
		memcmp(st->names[index], st->probe, st->probe_len) == 0;
}

/* channel id within one conversion's state */
static int32
touch_channel(TouchState *st, const char *s, int len, MemoryContext cxt)
{
	uint32		h = an_hash_bytes(s, len);
	uint32		found;

	st->probe = s;
	st->probe_len = len;
	found = an_ihash_find(&st->name_index, h, touch_name_eq, st);
	if (found != AN_IHASH_NOT_FOUND)
		return (int32) found;
	if (st->n_names == st->names_cap)
	{
		st->names_cap *= 2;
		st->names = repalloc(st->names, sizeof(char *) * st->names_cap);
		st->lens = repalloc(st->lens, sizeof(int) * st->names_cap);
	}
	st->names[st->n_names] = MemoryContextAlloc(cxt, len + 1);
	memcpy(st->names[st->n_names], s, len);
	st->names[st->n_names][len] = '\0';
	st->lens[st->n_names] = len;
	if (an_ihash_insert(&st->name_index, &st->alloc, h, st->n_names) != AN_OK)
		elog(ERROR, "out of memory");
	return st->n_names++;
}

static void
null_argument(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s must not be null", what),
			 errhint("Filter out touches without a channel or time, and conversions without a time.")));
}

PG_FUNCTION_INFO_V1(touch_credit_accum);

/*
 * touch_credit(model, channel, touched_at, converted_at [, options
 * [, milestone]]) transition.  Touches after the conversion are ignored.
 */
Datum
touch_credit_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt,
				old;
	TouchState *st;
	int			nargs = PG_NARGS();
	Jsonb	   *options = (nargs > 5 && !PG_ARGISNULL(5)) ? PG_GETARG_JSONB_P(5) : NULL;
	TimestampTz touched,
				converted;
	text	   *channel;
	TouchItem  *it;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("touch_credit_accum can only be called as an aggregate transition function")));
	if (PG_ARGISNULL(1))
		null_argument("model");
	if (PG_ARGISNULL(2))
		null_argument("channel");
	if (PG_ARGISNULL(3))
		null_argument("touched_at");
	if (PG_ARGISNULL(4))
		null_argument("converted_at");
	touched = PG_GETARG_TIMESTAMPTZ(3);
	converted = PG_GETARG_TIMESTAMPTZ(4);

	if (PG_ARGISNULL(0))
	{
		text	   *model = PG_GETARG_TEXT_PP(1);
		int			m = attribution_model(model, false);

		old = MemoryContextSwitchTo(aggcxt);
		st = palloc0(sizeof(TouchState));
		attribution_options(options, m, OPTS_TOUCH_CREDIT, &st->cfg);
		st->model_text = (text *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(1));
		st->options = options ? (Jsonb *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(5)) : NULL;
		st->has_milestone_arg = nargs > 6;
		st->converted_at = converted;
		st->cap = 16;
		st->items = palloc(sizeof(TouchItem) * st->cap);
		st->names_cap = 8;
		st->names = palloc(sizeof(char *) * st->names_cap);
		st->lens = palloc(sizeof(int) * st->names_cap);
		st->alloc = an_pg_allocator(aggcxt);
		if (an_ihash_init(&st->name_index, &st->alloc, 8) != AN_OK)
			elog(ERROR, "out of memory");
		MemoryContextSwitchTo(old);
		if (m == RULE_W_SHAPED && !st->has_milestone_arg)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the w_shaped model needs milestone flags"),
					 errhint("Call touch_credit(model, channel, touched_at, converted_at, options, milestone) with milestone 'lead', 'opportunity' or NULL per touch.")));
	}
	else
	{
		text	   *model = PG_GETARG_TEXT_PP(1);

		st = (TouchState *) PG_GETARG_POINTER(0);
		if (VARSIZE_ANY_EXHDR(model) != VARSIZE_ANY_EXHDR(st->model_text) ||
			memcmp(VARDATA_ANY(model), VARDATA_ANY(st->model_text), VARSIZE_ANY_EXHDR(model)) != 0 ||
			((options == NULL) != (st->options == NULL)) ||
			(options && (VARSIZE(options) != VARSIZE(st->options) ||
						 memcmp(options, st->options, VARSIZE(options)) != 0)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the model and options must be the same for every touch of a conversion")));
		if (converted != st->converted_at)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("converted_at must be the same for every touch of a conversion"),
					 errhint("Group by the conversion, e.g. GROUP BY conversion_id.")));
	}

	if (touched > converted)
		PG_RETURN_POINTER(st);	/* after the conversion: not part of its path */

	channel = PG_GETARG_TEXT_PP(2);
	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->items = repalloc_huge(st->items, sizeof(TouchItem) * st->cap);
	}
	it = &st->items[st->n];
	it->ts = touched;
	it->seq = st->n;
	it->channel = touch_channel(st, VARDATA_ANY(channel), VARSIZE_ANY_EXHDR(channel), aggcxt);
	it->milestone = 0;
	if (nargs > 6 && !PG_ARGISNULL(6))
	{
		if (st->cfg.model != RULE_W_SHAPED)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("milestones apply only to the w_shaped model")));
		it->milestone = attribution_milestone(PG_GETARG_TEXT_PP(6));
	}
	st->n++;
	PG_RETURN_POINTER(st);
}

static int
touch_cmp(const void *a, const void *b)
{
	const TouchItem *x = a;
	const TouchItem *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

PG_FUNCTION_INFO_V1(touch_credit_final);

/* credits per channel (in order of first touch) or per touch */
Datum
touch_credit_final(PG_FUNCTION_ARGS)
{
	TouchState *st;
	double	   *credit;
	int32	   *channels;
	double	   *age;
	uint8	   *milestones;
	Datum	   *values;
	char		err[256];
	int			i,
				rows = 0;
	int32		direct = -1;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TouchState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();		/* every touch came after the conversion */

	/* sort a copy: the final function may run more than once */
	{
		TouchItem  *items = palloc(sizeof(TouchItem) * st->n);

		memcpy(items, st->items, sizeof(TouchItem) * st->n);
		qsort(items, st->n, sizeof(TouchItem), touch_cmp);
		channels = palloc(sizeof(int32) * st->n);
		age = palloc(sizeof(double) * st->n);
		milestones = palloc(sizeof(uint8) * st->n);
		credit = palloc(sizeof(double) * st->n);
		for (i = 0; i < st->n; i++)
		{
			channels[i] = items[i].channel;
			age[i] = (double) (st->converted_at - items[i].ts) / USECS_PER_SEC;
			milestones[i] = items[i].milestone;
		}
	}
	for (i = 0; i < st->n_names; i++)
		if (strcmp(st->names[i], st->cfg.direct) == 0)
			direct = i;
	st->cfg.rp.direct_channel = direct;
	if (!rule_credit(st->cfg.model, &st->cfg.rp, st->n, channels, age, milestones,
					 credit, err, sizeof(err)))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", err)));

	values = palloc(sizeof(Datum) * 2 * st->n);
	if (st->cfg.per_touch)
	{
		for (i = 0; i < st->n; i++)
		{
			values[2 * i] = an_text_datum(st->names[channels[i]], st->lens[channels[i]]);
			values[2 * i + 1] = Float8GetDatum(credit[i]);
		}
		rows = st->n;
	}
	else
	{
		/* channels in order of their first touch, credits summed */
		int		   *slot = palloc(sizeof(int) * st->n_names);
		double	   *sum = palloc0(sizeof(double) * st->n_names);
		int32	   *order = palloc(sizeof(int32) * st->n_names);

		for (i = 0; i < st->n_names; i++)
			slot[i] = -1;
		for (i = 0; i < st->n; i++)
		{
			if (slot[channels[i]] < 0)
			{
				slot[channels[i]] = rows;
				order[rows++] = channels[i];
			}
			sum[slot[channels[i]]] += credit[i];
		}
		for (i = 0; i < rows; i++)
		{
			values[2 * i] = an_text_datum(st->names[order[i]], st->lens[order[i]]);
			values[2 * i + 1] = Float8GetDatum(sum[i]);
		}
	}
	PG_RETURN_ARRAYTYPE_P(an_composite_array("channel_credit", rows, 2, values, NULL));
}

/* ---------- heuristic_attribution over paths ---------- */

/* index of a channel name in ps without adding it, or -1 */
static int32
ps_find_channel(const PathSummary *ps, const char *name)
{
	int32		c;

	for (c = 0; c < ps->n_channels; c++)
		if (strcmp(ps->channel_names[c], name) == 0)
			return c;
	return -1;
}

/* the model of a heuristic call: a rule model other than time_decay */
static int
heuristic_model(text *t)
{
	int			m = attribution_model(t, false);

	if (m == RULE_TIME_DECAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_decay needs touch times, which paths do not have"),
				 errhint("Use touch_credit() or attribution_report() with a touchpoints table.")));
	return m;
}

/* rule credits of every path, summed per channel, as channel_value[] */
static ArrayType *
heuristic_compute(PathSummary *ps, ModelConfig *cfg)
{
	double	   *conv = palloc0(sizeof(double) * Max(ps->n_channels, 1));
	double	   *val = palloc0(sizeof(double) * Max(ps->n_channels, 1));
	double	   *credit = NULL;
	uint8	   *milestones = NULL;
	int32		cap = 0,
				c,
				rows = 0;
	int64		i;
	Datum	   *values;
	char		err[256];
	int32	   *order;

	cfg->rp.direct_channel = ps_find_channel(ps, cfg->direct);
	for (i = 0; i < ps->n_paths; i++)
	{
		const PathEntry *e = &ps->paths[i];
		const int32 *ids = ps->ids + e->offset;
		int32		k;

		if (e->conversions == 0 && e->value == 0)
			continue;
		if (e->length > cap)
		{
			cap = Max(e->length, 2 * cap);
			credit = credit ? repalloc(credit, sizeof(double) * cap) : palloc(sizeof(double) * cap);
			milestones = milestones ? repalloc(milestones, cap) : palloc(cap);
		}
		memset(milestones, 0, e->length);
		if (cfg->lead_position > 0 && cfg->lead_position <= e->length)
			milestones[cfg->lead_position - 1] |= RULE_MILESTONE_LEAD;
		if (cfg->opportunity_position > 0 && cfg->opportunity_position <= e->length)
			milestones[cfg->opportunity_position - 1] |= RULE_MILESTONE_OPPORTUNITY;
		if (!rule_credit(cfg->model, &cfg->rp, e->length, ids, NULL, milestones,
						 credit, err, sizeof(err)))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", err)));
		for (k = 0; k < e->length; k++)
		{
			conv[ids[k]] += credit[k] * e->conversions;
			val[ids[k]] += credit[k] * e->value;
		}
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	order = ps_channels_by_name(ps);
	values = palloc(sizeof(Datum) * 3 * Max(ps->n_channels, 1));
	for (c = 0; c < ps->n_channels; c++)
	{
		int32		id = order[c];

		values[3 * rows] = an_text_datum(ps->channel_names[id], ps->channel_lens[id]);
		values[3 * rows + 1] = Float8GetDatum(conv[id]);
		values[3 * rows + 2] = Float8GetDatum(val[id]);
		rows++;
	}
	return an_composite_array("channel_value", rows, 3, values, NULL);
}

PG_FUNCTION_INFO_V1(heuristic_accum);

/* heuristic_attribution(path, conversions, value, model [, options]) transition */
Datum
heuristic_accum(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_agg_state(fcinfo, "heuristic_accum");
	Jsonb	   *options = (PG_NARGS() > 5 && !PG_ARGISNULL(5)) ? PG_GETARG_JSONB_P(5) : NULL;

	if (PG_ARGISNULL(4))
		null_argument("model");
	if (!ps->has_params)
	{
		ModelConfig cfg;

		/* validate once, on the first row */
		attribution_options(options, heuristic_model(PG_GETARG_TEXT_PP(4)), OPTS_HEURISTIC, &cfg);
	}
	ps_set_params_text(ps, PS_KIND_HEURISTIC, 0, PG_GETARG_TEXT_PP(4), options);
	if (PG_ARGISNULL(1))
		null_argument("path");
	if (PG_ARGISNULL(2))
		null_argument("conversions");
	ps_add_text_path(ps, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_FLOAT8(2), 0.0,
					 PG_ARGISNULL(3) ? 0.0 : PG_GETARG_FLOAT8(3));
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(heuristic_final);

Datum
heuristic_final(PG_FUNCTION_ARGS)
{
	PathSummary *ps;
	ModelConfig cfg;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ps = ps_read_arg(fcinfo, 0);
	attribution_options(ps->options, heuristic_model(cstring_to_text(ps->name)),
						OPTS_HEURISTIC, &cfg);
	PG_RETURN_ARRAYTYPE_P(heuristic_compute(ps, &cfg));
}

PG_FUNCTION_INFO_V1(heuristic_attribution_summary);

/* heuristic_attribution(summary, model [, options]) */
Datum
heuristic_attribution_summary(PG_FUNCTION_ARGS)
{
	ModelConfig cfg;

	if (PG_ARGISNULL(1))
		null_argument("model");
	attribution_options(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2),
						heuristic_model(PG_GETARG_TEXT_PP(1)), OPTS_HEURISTIC, &cfg);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(heuristic_compute(ps_read_arg(fcinfo, 0), &cfg));
}
