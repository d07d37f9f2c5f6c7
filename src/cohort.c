/*
 * cohort.c
 *		cohort_matrix, lifecycle and stickiness: one pass over the events with
 *		a hash of actors (activity.c), finished by the cores in lib/cohort.c.
 *
 * Rows whose actor or timestamp is NULL are skipped; NULL start/return
 * conditions count as false and a NULL value as 0.  Periods are buckets of
 * local time in the session time zone, or in options.timezone.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "activity.h"
#include "calendar.h"
#include "util.h"

typedef enum cohort_fn
{
	CF_COHORT,
	CF_LIFECYCLE,
	CF_STICKINESS
} cohort_fn;

static const char *const cohort_fn_names[] = {"cohort_matrix", "lifecycle", "stickiness"};

#define DEFAULT_MAX_CELLS	100000
#define MAX_PERIODS			10000

typedef struct CohortState
{
	cohort_fn	fn;
	int			period;			/* co_period, or CAL_ROLLING_24H */
	int			within;			/* stickiness */
	int32		periods;		/* cohort_matrix */
	bool		recurring;
	bool		on_or_after;
	bool		has_value;
	int64		max_cells;
	bool		params_const;	/* parameter arguments are constants: no per-row check */
	char	   *tzname;			/* NULL: session time zone */
	TzCache    *tz;
	Activity   *act;
	/* the first row's parameter arguments, to check later rows against */
	text	   *period_arg;
	text	   *within_arg;
	Jsonb	   *options_arg;
	MemoryContext own_cxt;		/* deserialized states: holds all of the state */
	bool		adoptable;		/* made by deserialize: combine may take it over */
	BucketCache bucket_cache;	/* last: 6 kB, the fields above share cache lines */
} CohortState;

static bool
same_text(text *a, text *b)
{
	return a == b || (VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
					  memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0);
}

static void
params_changed(cohort_fn fn)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the period and options of %s must be the same in every row", cohort_fn_names[fn]),
			 errhint("Pass constants for them.")));
}

/* a string option that must be `no` or `yes`: true for yes */
static bool
option_choice(const an_option *o, const char *no, const char *yes)
{
	if (strcmp(o->string, no) != 0 && strcmp(o->string, yes) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be \"%s\" or \"%s\", not \"%s\"",
						o->name, no, yes, o->string)));
	return strcmp(o->string, yes) == 0;
}

/* parse the options of fn into st */
static void
cohort_options(CohortState *st, Jsonb *options)
{
	an_option	spec[] = {
		AN_OPTION("timezone", AN_OPT_STRING, 0x7),
		AN_OPTION("retention", AN_OPT_STRING, 0x1),
		AN_OPTION("returns", AN_OPT_STRING, 0x1),
		AN_OPTION("max_cells", AN_OPT_INTEGER, 0x1),
	};

	st->max_cells = DEFAULT_MAX_CELLS;
	an_parse_options(options, spec, lengthof(spec), UINT32_C(1) << st->fn,
					 cohort_fn_names[st->fn], cohort_fn_names, 3, "function");
	st->tzname = spec[0].present ? spec[0].string : NULL;
	if (spec[1].present)
		st->recurring = option_choice(&spec[1], "first_time", "recurring");
	if (spec[2].present)
		st->on_or_after = option_choice(&spec[2], "on", "on_or_after");
	if (spec[3].present)
	{
		if (spec[3].number < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_cells\" must be at least 1")));
		st->max_cells = (int64) spec[3].number;
	}
}

/* granularity order of the calendar periods */
static int
period_rank(int p)
{
	return p == CO_HOUR ? 0 : p == CO_DAY ? 1 : p == CO_WEEK ? 2 : 3;
}

/*
 * The state of argument 0, created from the parameter arguments on the
 * first row and checked against them on later rows (cohort_state below is
 * the per-row entry).
 */
static CohortState *
cohort_state_slow(FunctionCallInfo fcinfo, cohort_fn fn, int period_arg, int within_arg,
			 int periods_arg, int options_arg, bool has_value)
{
	MemoryContext aggcxt,
				old;
	CohortState *st;
	Jsonb	   *options;

	options = (options_arg < PG_NARGS() && !PG_ARGISNULL(options_arg))
		? PG_GETARG_JSONB_P(options_arg) : NULL;
	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s transition function called outside an aggregate", cohort_fn_names[fn])));
	if (PG_ARGISNULL(period_arg) || (within_arg >= 0 && PG_ARGISNULL(within_arg)) ||
		(periods_arg >= 0 && PG_ARGISNULL(periods_arg)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the period arguments of %s must not be null", cohort_fn_names[fn])));
	if (!PG_ARGISNULL(0))
	{
		st = (CohortState *) PG_GETARG_POINTER(0);
		if (!same_text(PG_GETARG_TEXT_PP(period_arg), st->period_arg) ||
			(within_arg >= 0 && !same_text(PG_GETARG_TEXT_PP(within_arg), st->within_arg)) ||
			(periods_arg >= 0 && PG_GETARG_INT32(periods_arg) != st->periods) ||
			!an_same_jsonb(options, st->options_arg))
			params_changed(fn);
		return st;
	}

	old = MemoryContextSwitchTo(aggcxt);
	st = palloc0(sizeof(CohortState));
	st->fn = fn;
	st->params_const = an_agg_args_const(fcinfo, period_arg, Min(PG_NARGS() - 1, options_arg));
	st->has_value = has_value;
	st->period = calendar_period(PG_GETARG_TEXT_PP(period_arg), fn == CF_COHORT, "period");
	st->period_arg = (text *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(period_arg));
	if (within_arg >= 0)
	{
		st->within = calendar_period(PG_GETARG_TEXT_PP(within_arg), false, "period for within");
		st->within_arg = (text *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(within_arg));
		if (period_rank(st->within) <= period_rank(st->period))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("within must be a longer period than the period"),
					 errhint("For example stickiness(actor, ts, 'day', 'week'): days active per week.")));
	}
	if (periods_arg >= 0)
	{
		st->periods = PG_GETARG_INT32(periods_arg);
		if (st->periods < 1 || st->periods > MAX_PERIODS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("periods must be between 1 and %d, not %d", MAX_PERIODS, st->periods)));
	}
	st->options_arg = options ? (Jsonb *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(options_arg)) : NULL;
	cohort_options(st, options);
	if (st->period == CAL_ROLLING_24H && st->recurring)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recurring retention is not defined for rolling_24h periods"),
				 errhint("Rolling periods are measured from each actor's first event; use a calendar period for recurring retention.")));
	if (st->period == CAL_ROLLING_24H && has_value)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a value column is not supported with rolling_24h periods"),
				 errhint("Use a calendar period (day, week, month) for value cohorts.")));
	st->tz = palloc(sizeof(TzCache));
	tzcache_init(st->tz, st->tzname);
	st->act = activity_create(aggcxt, get_fn_expr_argtype(fcinfo->flinfo, 1),
							  st->period == CAL_ROLLING_24H ? ACT_ROLLING
							  : has_value ? ACT_CALENDAR_VALUE : ACT_CALENDAR,
							  cohort_fn_names[fn]);
	MemoryContextSwitchTo(old);
	return st;
}

/* the state of argument 0 at no cost on rows after the first when the parameters are constants */
static inline CohortState *
cohort_state(FunctionCallInfo fcinfo, cohort_fn fn, int period_arg, int within_arg,
			 int periods_arg, int options_arg, bool has_value)
{
	if (likely(!PG_ARGISNULL(0)) && ((CohortState *) PG_GETARG_POINTER(0))->params_const)
		return (CohortState *) PG_GETARG_POINTER(0);
	return cohort_state_slow(fcinfo, fn, period_arg, within_arg, periods_arg, options_arg, has_value);
}

/* record one row: start/return flags and value at time ts */
static inline void
cohort_row(CohortState *st, Datum actor, TimestampTz ts, bool start, bool ret, double value)
{
	if (st->period == CAL_ROLLING_24H)
	{
		calendar_check_finite(ts);
		if (start || ret)
			activity_add_rolling(st->act, actor, TS_UNIX_US(ts), start, ret);
		return;
	}
	if (!start && !ret && value == 0.0)
		return;
	activity_add(st->act, actor,
				 calendar_bucket(st->tz, &st->bucket_cache, (co_period) st->period, ts),
				 (start ? CO_START : 0) | (ret ? CO_RETURN : 0), value);
}

static bool
bool_arg(FunctionCallInfo fcinfo, int n)
{
	return n < PG_NARGS() && !PG_ARGISNULL(n) && PG_GETARG_BOOL(n);
}

PG_FUNCTION_INFO_V1(cohort_matrix_accum);

/*
 * cohort_matrix(actor, ts, period, periods [, options [, is_start,
 * is_return [, value]]]) transition
 */
Datum
cohort_matrix_accum(PG_FUNCTION_ARGS)
{
	int			nargs = PG_NARGS();
	CohortState *st = cohort_state(fcinfo, CF_COHORT, 3, -1, 4, 5, nargs > 8);
	bool		conds = nargs > 6;
	double		value = 0.0;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	if (nargs > 8 && !PG_ARGISNULL(8))
	{
		value = PG_GETARG_FLOAT8(8);
		if (isnan(value) || isinf(value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cohort values must be finite")));
	}
	cohort_row(st, PG_GETARG_DATUM(1), PG_GETARG_TIMESTAMPTZ(2),
			   conds ? bool_arg(fcinfo, 6) : true, conds ? bool_arg(fcinfo, 7) : true, value);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(lifecycle_accum);

/* lifecycle(actor, ts, period [, options]) transition */
Datum
lifecycle_accum(PG_FUNCTION_ARGS)
{
	CohortState *st = cohort_state(fcinfo, CF_LIFECYCLE, 3, -1, -1, 4, false);

	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		cohort_row(st, PG_GETARG_DATUM(1), PG_GETARG_TIMESTAMPTZ(2), true, true, 0.0);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(stickiness_accum);

/* stickiness(actor, ts, period, within [, options]) transition */
Datum
stickiness_accum(PG_FUNCTION_ARGS)
{
	CohortState *st = cohort_state(fcinfo, CF_STICKINESS, 3, 4, -1, 5, false);

	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		cohort_row(st, PG_GETARG_DATUM(1), PG_GETARG_TIMESTAMPTZ(2), true, true, 0.0);
	PG_RETURN_POINTER(st);
}

/* ---------- combine and serialization ---------- */

/* a copy of the parameters of src (no activity) in cxt */
static CohortState *
params_copy(const CohortState *src, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CohortState *st = palloc(sizeof(CohortState));

	memcpy(st, src, sizeof(CohortState));
	st->tzname = src->tzname ? pstrdup(src->tzname) : NULL;
	st->period_arg = src->period_arg ? (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(src->period_arg)) : NULL;
	st->within_arg = src->within_arg ? (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(src->within_arg)) : NULL;
	st->options_arg = src->options_arg ? (Jsonb *) PG_DETOAST_DATUM_COPY(PointerGetDatum(src->options_arg)) : NULL;
	st->tz = palloc(sizeof(TzCache));
	tzcache_init(st->tz, st->tzname);
	st->act = NULL;
	st->own_cxt = NULL;
	st->adoptable = false;
	MemoryContextSwitchTo(old);
	return st;
}

PG_FUNCTION_INFO_V1(cohort_combine);

/* combine two partial states of any of the three aggregates */
Datum
cohort_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	CohortState *a = PG_ARGISNULL(0) ? NULL : (CohortState *) PG_GETARG_POINTER(0);
	CohortState *b = PG_ARGISNULL(1) ? NULL : (CohortState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "cohort_combine called outside an aggregate");
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL && b->adoptable)
	{
		/* a state deserialize made for us: keep it rather than copy it */
		MemoryContextSetParent(b->own_cxt, aggcxt);
		b->adoptable = false;
		PG_RETURN_POINTER(b);
	}
	if (a == NULL)
	{
		a = params_copy(b, aggcxt);
		a->act = activity_create(aggcxt, actor_table_type(b->act->actors), b->act->kind,
								 cohort_fn_names[b->fn]);
	}
	activity_merge(a->act, b->act, b->adoptable);
	if (b->adoptable)
		MemoryContextDelete(b->own_cxt);	/* merged: free it now, not with the tuple */
	PG_RETURN_POINTER(a);
}

static void
put_str(StringInfo buf, const char *s)
{
	int32		len = s ? (int32) strlen(s) : -1;

	appendBinaryStringInfo(buf, (char *) &len, sizeof(int32));
	if (s)
		appendBinaryStringInfo(buf, s, len);
}

static void
put_varlena(StringInfo buf, const struct varlena *v)
{
	int32		len = v ? (int32) VARSIZE_ANY(v) : -1;

	appendBinaryStringInfo(buf, (char *) &len, sizeof(int32));
	if (v)
		appendBinaryStringInfo(buf, (const char *) v, len);
}

PG_FUNCTION_INFO_V1(cohort_serialize);
Datum
cohort_serialize(PG_FUNCTION_ARGS)
{
	CohortState *st = (CohortState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	Oid			type = actor_table_type(st->act->actors);
	bytea	   *result;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) st, offsetof(CohortState, tzname));
	appendBinaryStringInfo(&buf, (char *) &type, sizeof(Oid));
	put_str(&buf, st->tzname);
	put_varlena(&buf, (struct varlena *) st->period_arg);
	put_varlena(&buf, (struct varlena *) st->within_arg);
	put_varlena(&buf, (struct varlena *) st->options_arg);
	activity_serialize(st->act, &buf);
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	PG_RETURN_BYTEA_P(result);
}

/* bounds-checked reads from a serialized state */
typedef struct Reader
{
	const char *p;
	const char *end;
} Reader;

static void
rd(Reader *r, void *dst, Size n)
{
	if ((Size) (r->end - r->p) < n)
		elog(ERROR, "truncated cohort state");
	memcpy(dst, r->p, n);
	r->p += n;
}

/* a length-prefixed byte string (NULL for length -1), NUL-terminated when text */
static void *
rd_bytes(Reader *r, bool text)
{
	int32		len;
	char	   *v;

	rd(r, &len, sizeof(int32));
	if (len < 0)
		return NULL;
	v = palloc(len + (text ? 1 : 0));
	rd(r, v, len);
	if (text)
		v[len] = '\0';
	return v;
}

PG_FUNCTION_INFO_V1(cohort_deserialize);
Datum
cohort_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Reader		r;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "analytics cohort state",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CohortState *st = palloc0(sizeof(CohortState));
	Oid			type;
	Size		used;

	r.p = VARDATA_ANY(b);
	r.end = r.p + VARSIZE_ANY_EXHDR(b);
	rd(&r, st, offsetof(CohortState, tzname));
	rd(&r, &type, sizeof(Oid));
	st->tzname = rd_bytes(&r, true);
	st->period_arg = rd_bytes(&r, false);
	st->within_arg = rd_bytes(&r, false);
	st->options_arg = rd_bytes(&r, false);
	st->tz = palloc(sizeof(TzCache));
	tzcache_init(st->tz, st->tzname);
	st->act = activity_deserialize(cxt, type, cohort_fn_names[st->fn], r.p, r.end - r.p, &used);
	st->own_cxt = cxt;
	st->adoptable = true;
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* ---------- final functions ---------- */

/* the local-day bucket of a rolling actor's first start */
static int32
rolling_cohort(CohortState *st, int64 unix_us)
{
	TimestampTz t = unix_us - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	return (int32) co_bucket(CO_DAY, tzcache_local(st->tz, t));
}

/* what the final functions collect over the actors */
typedef struct FinalScan
{
	CohortState *st;
	int32		first;			/* smallest cohort / bucket */
	int32		last;			/* largest bucket */
	int32		max_n;			/* most entries of one actor */
	co_matrix  *m;
	co_lifecycle *l;
	int64	   *hist;			/* stickiness */
	void	   *buf;			/* per-actor scratch of max_n elements */
	int64	   *windows;
} FinalScan;

static void
scan_init(FinalScan *f, CohortState *st)
{
	memset(f, 0, sizeof(FinalScan));
	f->st = st;
	f->first = PG_INT32_MAX;
	f->last = PG_INT32_MIN;
	f->max_n = 1;
}

/* the range of cohorts (first start .. last activity) and the largest actor */
static void
range_visit(void *arg, const ActView *v)
{
	FinalScan  *f = arg;
	CohortState *st = f->st;
	int32		j;

	f->max_n = Max(f->max_n, v->n);
	if (st->period == CAL_ROLLING_24H)
	{
		int32		c;

		if (v->roll.min_start == PG_INT64_MAX)
			return;
		c = rolling_cohort(st, v->roll.min_start);
		f->first = Min(f->first, c);
		f->last = Max(f->last, c);
		if (v->roll.max_ret != PG_INT64_MIN)
			f->last = Max(f->last, rolling_cohort(st, v->roll.max_ret));
		return;
	}
	for (j = 0; j < v->n; j++)
	{
		const ActCal *e = (const ActCal *) (v->entries + (Size) j * st->act->entry_size);

		if (st->fn != CF_COHORT || (e->flags & CO_START))
			f->first = Min(f->first, e->bucket);
		f->last = Max(f->last, e->bucket);
	}
}

/* an actor with more entries than the bounds allow: a damaged partial state */
static inline void
check_actor_size(const FinalScan *f, const ActView *v)
{
	if (v->n > f->max_n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid activity state")));
}

/* f's range and largest actor: from the runs' bounds when they have them */
static void
final_range(FinalScan *f)
{
	ActBounds	b;

	if (activity_run_bounds(f->st->act, &b))
	{
		f->first = f->st->fn == CF_COHORT ? b.first_start : b.first_any;
		f->last = b.last;
		f->max_n = Max(b.max_n, 1);
	}
	else
		activity_foreach(f->st->act, range_visit, f);
}

static void
matrix_visit(void *arg, const ActView *v)
{
	FinalScan  *f = arg;
	CohortState *st = f->st;
	Size		sz = st->act->entry_size;
	int32		j;

	check_actor_size(f, v);
	if (st->period == CAL_ROLLING_24H)
	{
		co_day	   *days = f->buf;

		if (v->roll.min_start == PG_INT64_MAX)
			return;
		for (j = 0; j < v->n; j++)
		{
			const ActRoll *e = (const ActRoll *) (v->entries + (Size) j * sz);

			days[j].day = e->day;
			days[j].min_ret = e->min_ret;
			days[j].max_ret = e->max_ret;
		}
		co_matrix_add_rolling(f->m, rolling_cohort(st, v->roll.min_start), v->roll.min_start,
							  days, v->n, v->roll.max_ret, st->on_or_after);
	}
	else
	{
		co_activity *acts = f->buf;

		for (j = 0; j < v->n; j++)
		{
			const ActCal *e = (const ActCal *) (v->entries + (Size) j * sz);

			acts[j].bucket = e->bucket;
			acts[j].flags = e->flags;
			acts[j].value = st->act->kind == ACT_CALENDAR_VALUE ? ((const ActVal *) e)->value : 0.0;
		}
		co_matrix_add(f->m, acts, v->n, st->recurring, st->on_or_after);
	}
}

PG_FUNCTION_INFO_V1(cohort_matrix_final);

/* the cohort triangle as analytics.cohort_cell[] */
Datum
cohort_matrix_final(PG_FUNCTION_ARGS)
{
	CohortState *st;
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	co_matrix	m;
	FinalScan	f;
	int32		first,
				last;
	co_period	bucket_period;
	Datum	   *values;
	int64		rows = 0;
	int32		c;
	int			k;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (CohortState *) PG_GETARG_POINTER(0);
	if (activity_empty(st->act))
		PG_RETURN_NULL();		/* no row counted, like sum() over no rows */
	bucket_period = st->period == CAL_ROLLING_24H ? CO_DAY : (co_period) st->period;

	scan_init(&f, st);
	final_range(&f);
	first = f.first;
	last = f.last;
	if (first > last)
		PG_RETURN_ARRAYTYPE_P(an_composite_array("cohort_cell", 0, 6, NULL, NULL));
	if ((int64) (last - first + 1) * st->periods > st->max_cells)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the cohort matrix would have " INT64_FORMAT " cells, more than the limit of " INT64_FORMAT,
						(int64) (last - first + 1) * st->periods, st->max_cells),
				 errdetail("%d cohorts by %d periods.", last - first + 1, st->periods),
				 errhint("Narrow the time range, use a longer period, or raise options.max_cells.")));
	an_report_core_error(co_matrix_init(&m, first, last, st->periods, &a), "cohort matrix", NULL);
	f.m = &m;
	f.buf = palloc_extended(Max(sizeof(co_day), sizeof(co_activity)) * f.max_n, MCXT_ALLOC_HUGE);
	activity_foreach(st->act, matrix_visit, &f);

	values = palloc_extended(sizeof(Datum) * 6 * (Size) m.n_cohorts * m.periods, MCXT_ALLOC_HUGE);
	for (c = 0; c < m.n_cohorts; c++)
	{
		int64		size = m.cohort_size[c];
		TimestampTz start;

		if (size == 0)
			continue;
		start = tzcache_to_utc(st->tz, co_bucket_start(bucket_period, first + c));
		for (k = 0; k < m.periods && first + c + k <= last; k++)
		{
			int64		cell = (int64) c * m.periods + k;

			values[6 * rows] = TimestampTzGetDatum(start);
			values[6 * rows + 1] = Int32GetDatum(k);
			values[6 * rows + 2] = Int64GetDatum(m.actors[cell]);
			values[6 * rows + 3] = Int64GetDatum(size);
			values[6 * rows + 4] = Float8GetDatum((double) m.actors[cell] / size);
			values[6 * rows + 5] = Float8GetDatum(m.value[cell]);
			rows++;
		}
	}
	PG_RETURN_ARRAYTYPE_P(an_composite_array("cohort_cell", (int) rows, 6, values, NULL));
}

/* the active buckets of an actor into f->buf */
static int32 *
active_buckets(FinalScan *f, const ActView *v)
{
	int32	   *buf = f->buf;
	int32		j;

	check_actor_size(f, v);
	for (j = 0; j < v->n; j++)
		memcpy(&buf[j], v->entries + (Size) j * f->st->act->entry_size, sizeof(int32));
	return buf;
}

static void
lifecycle_visit(void *arg, const ActView *v)
{
	FinalScan  *f = arg;

	co_lifecycle_add(f->l, active_buckets(f, v), v->n);
}

PG_FUNCTION_INFO_V1(lifecycle_final);

/* per period: new, returning, resurrecting, dormant actors */
Datum
lifecycle_final(PG_FUNCTION_ARGS)
{
	CohortState *st;
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	co_lifecycle l;
	FinalScan	f;
	int32		first,
				last,
				b;
	Datum	   *values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (CohortState *) PG_GETARG_POINTER(0);
	if (activity_empty(st->act))
		PG_RETURN_NULL();
	scan_init(&f, st);
	final_range(&f);
	first = f.first;
	last = f.last;
	if (first > last)
		PG_RETURN_ARRAYTYPE_P(an_composite_array("lifecycle_period", 0, 5, NULL, NULL));
	if ((int64) last - first + 1 > DEFAULT_MAX_CELLS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lifecycle over %d periods is more than the limit of %d", last - first + 1,
						DEFAULT_MAX_CELLS),
				 errhint("Narrow the time range or use a longer period.")));
	an_report_core_error(co_lifecycle_init(&l, first, last, &a), "lifecycle", NULL);
	f.l = &l;
	f.buf = palloc_extended(sizeof(int32) * f.max_n, MCXT_ALLOC_HUGE);
	activity_foreach(st->act, lifecycle_visit, &f);
	values = palloc(sizeof(Datum) * 5 * l.n);
	for (b = 0; b < l.n; b++)
	{
		values[5 * b] = TimestampTzGetDatum(tzcache_to_utc(st->tz,
														   co_bucket_start((co_period) st->period, first + b)));
		values[5 * b + 1] = Int64GetDatum(l.counts[b * 4]);
		values[5 * b + 2] = Int64GetDatum(l.counts[b * 4 + 1]);
		values[5 * b + 3] = Int64GetDatum(l.counts[b * 4 + 2]);
		values[5 * b + 4] = Int64GetDatum(l.counts[b * 4 + 3]);
	}
	PG_RETURN_ARRAYTYPE_P(an_composite_array("lifecycle_period", l.n, 5, values, NULL));
}

static void
stickiness_visit(void *arg, const ActView *v)
{
	FinalScan  *f = arg;
	int32	   *buckets = active_buckets(f, v);
	int32		j;

	for (j = 0; j < v->n; j++)
		f->windows[j] = co_bucket((co_period) f->st->within,
								  co_bucket_start((co_period) f->st->period, buckets[j]));
	co_stickiness_add(f->hist, f->max_n, f->windows, v->n);
}

PG_FUNCTION_INFO_V1(stickiness_final);

/* how many (actor, window) pairs had k active periods, k = 1 .. max */
Datum
stickiness_final(PG_FUNCTION_ARGS)
{
	CohortState *st;
	FinalScan	f;
	int			max_k,
				k,
				rows = 0;
	Datum	   *values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (CohortState *) PG_GETARG_POINTER(0);
	if (activity_empty(st->act))
		PG_RETURN_NULL();
	/* a window holds at most as many periods as the actor has active buckets */
	scan_init(&f, st);
	final_range(&f);
	f.buf = palloc_extended(sizeof(int32) * f.max_n, MCXT_ALLOC_HUGE);
	f.windows = palloc_extended(sizeof(int64) * f.max_n, MCXT_ALLOC_HUGE);
	f.hist = palloc0_array(int64, f.max_n + 1);
	activity_foreach(st->act, stickiness_visit, &f);
	max_k = f.max_n;
	while (max_k > 1 && f.hist[max_k] == 0)
		max_k--;
	values = palloc(sizeof(Datum) * 2 * max_k);
	for (k = 1; k <= max_k; k++)
	{
		values[2 * rows] = Int32GetDatum(k);
		values[2 * rows + 1] = Int64GetDatum(f.hist[k]);
		rows++;
	}
	PG_RETURN_ARRAYTYPE_P(an_composite_array("stickiness_count", rows, 2, values, NULL));
}
