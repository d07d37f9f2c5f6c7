/*
 * report.c
 *		attribution_report() and attribution_by_conversion(): attribution
 *		straight from a touchpoints table and a conversions table.
 *
 * Both tables are read once through SPI (so privileges and row-level
 * security apply; views work too), with caller-chosen column names quoted
 * as identifiers.  Users are hashed by their own type (actor.c); touches
 * are bucketed by user and sorted by time (ties keep table order), and each
 * user's conversions sweep a window (conversion time - lookback,
 * conversion time] over them.  Touches after a conversion or outside its
 * lookback are not part of its path; conversions with no touch in their
 * window are reported under the channel "(none)".
 *
 * Rule models credit each conversion's touches directly.  For markov and
 * shapley the conversions' paths (value = revenue) and the users'
 * non-converting paths (the touches after their last conversion, within
 * the lookback of the last of them) go through the same cores as
 * markov_attribution and shapley_attribution.  Per conversion
 * (attribution_by_conversion), the data-driven models split each conversion
 * over the distinct channels of its path in proportion to those channels'
 * global credit (evenly when none of them has positive credit); for
 * shapley simplified and ordered this is exactly the model's own split.
 *
 * Memory: about 24 bytes per touchpoint read (for rule models only the
 * touches of users who converted are kept) plus about 80 bytes per
 * conversion, in the query's memory context.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "actor.h"
#include "attribution.h"
#include "markov.h"
#include "paths.h"
#include "shapley.h"
#include "util.h"

#define NONE_CHANNEL "(none)"
#define FETCH_BATCH 10000

typedef struct RTouch
{
	TimestampTz ts;
	int32		user;
	int32		channel;
	int32		seq;
	uint8		milestone;
} RTouch;

typedef struct RConv
{
	TimestampTz ts;
	double		revenue;
	int32		user;
	int32		seq;
	char	   *id;				/* NULL when the id is null */
} RConv;

typedef struct Report
{
	ModelConfig cfg;
	mk_options	mo;
	shapley_method method;
	bool		data_driven;
	Interval   *lookback;		/* NULL: unlimited */
	bool		by_conversion;
	MemoryContext cxt;
	ActorTable *users;
	PathSummary *ps;			/* channel names; paths for data-driven models */
	RConv	   *convs;
	int64		n_convs;
	RTouch	   *touches;
	int64		n_touches;
	int64		touches_cap;
	/* totals per channel id, plus (none) */
	double	   *credit;
	double	   *revenue;
	bool	   *used;			/* the channel is on some attributed path */
	int32		credit_cap;
	double		none_conversions;
	double		none_revenue;
	double		total_conversions;
	/* per-conversion split of the data-driven models */
	double	   *channel_weight;
} Report;

/* "schema"."table" of a regclass, erroring when it does not exist */
static char *
qualified_name(Oid relid, const char *what)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s relation with OID %u does not exist", what, relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/* check a column exists and return its type */
static Oid
column_type(Oid relid, const char *col, const char *option, const char *key)
{
	AttrNumber	att = get_attnum(relid, col);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid)),
				 errhint("Name the %s column in options: {\"%s\": {\"%s\": \"...\"}}.", key, option, key)));
	return get_atttype(relid, att);
}

/* read every row of query through a cursor, calling row() per tuple */
static void
read_rows(Report *r, const char *query,
		  void (*row) (Report *r, HeapTuple tup, TupleDesc desc))
{
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);
	Portal		portal;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, FETCH_BATCH);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
			row(r, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

static void
conversion_row(Report *r, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		id = SPI_getbinval(tup, desc, 1, &isnull);
	bool		id_null = isnull;
	Datum		user = SPI_getbinval(tup, desc, 2, &isnull);
	Datum		ts;
	Datum		rev;
	RConv	   *c;
	MemoryContext old;

	if (isnull)
		return;					/* no user: cannot be matched to touches */
	ts = SPI_getbinval(tup, desc, 3, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("conversion %s has no time", id_null ? "(null id)" : TextDatumGetCString(id)),
				 errhint("Filter out conversions without a time, e.g. with a view.")));
	rev = SPI_getbinval(tup, desc, 4, &isnull);
	old = MemoryContextSwitchTo(r->cxt);
	if (r->n_convs % 1024 == 0)
		r->convs = r->convs ? repalloc_huge(r->convs, sizeof(RConv) * (r->n_convs + 1024))
			: palloc(sizeof(RConv) * 1024);
	c = &r->convs[r->n_convs];
	c->ts = DatumGetTimestampTz(ts);
	c->revenue = isnull ? 0.0 : DatumGetFloat8(rev);
	if (isnan(c->revenue) || isinf(c->revenue))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion revenue must be finite")));
	c->user = (int32) actor_table_index(r->users, user, true);
	c->seq = (int32) r->n_convs;
	c->id = (r->by_conversion && !id_null) ? TextDatumGetCString(id) : NULL;
	MemoryContextSwitchTo(old);
	r->n_convs++;
}

static void
touch_row(Report *r, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		user = SPI_getbinval(tup, desc, 1, &isnull);
	Datum		channel,
				ts;
	int64		u;
	RTouch	   *t;
	text	   *ch;

	if (isnull)
		return;
	/* rule models need only the touches of users who converted */
	u = actor_table_index(r->users, user, r->data_driven);
	if (u < 0)
		return;
	channel = SPI_getbinval(tup, desc, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a touchpoint has a null channel"),
				 errhint("Filter out touchpoints without a channel, or coalesce them to a channel name.")));
	ts = SPI_getbinval(tup, desc, 3, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a touchpoint has a null time"),
				 errhint("Filter out touchpoints without a time.")));
	if (r->n_touches == r->touches_cap)
	{
		r->touches_cap = r->touches_cap ? 2 * r->touches_cap : 65536;
		r->touches = r->touches
			? repalloc_huge(r->touches, sizeof(RTouch) * r->touches_cap)
			: MemoryContextAllocHuge(r->cxt, sizeof(RTouch) * r->touches_cap);
	}
	t = &r->touches[r->n_touches];
	t->ts = DatumGetTimestampTz(ts);
	t->user = (int32) u;
	t->seq = (int32) Min(r->n_touches, PG_INT32_MAX);
	ch = DatumGetTextPP(channel);
	t->channel = ps_channel_id(r->ps, VARDATA_ANY(ch), VARSIZE_ANY_EXHDR(ch));
	t->milestone = 0;
	if (r->cfg.touch_milestone)
	{
		Datum		m = SPI_getbinval(tup, desc, 4, &isnull);

		if (!isnull)
			t->milestone = attribution_milestone(DatumGetTextPP(m));
	}
	r->n_touches++;
}

static int
rtouch_cmp(const void *a, const void *b)
{
	const RTouch *x = a;
	const RTouch *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int
rconv_cmp(const void *a, const void *b)
{
	const RConv *x = a;
	const RConv *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * Counting sort of items (of size sz, user id at user_offset) by user into
 * a new array; *starts gets n_users + 1 bucket boundaries.
 */
static void *
bucket_by_user(const void *items, int64 n, Size sz, Size user_offset, int64 n_users,
			   int64 **starts)
{
	int64	   *start = palloc_extended(sizeof(int64) * (n_users + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	int64	   *fill = palloc_extended(sizeof(int64) * Max(n_users, 1), MCXT_ALLOC_HUGE);
	char	   *out = palloc_extended(sz * Max(n, 1), MCXT_ALLOC_HUGE);
	int64		i;

	for (i = 0; i < n; i++)
	{
		int32		u;

		memcpy(&u, (const char *) items + i * sz + user_offset, sizeof(int32));
		start[u + 1]++;
	}
	for (i = 0; i < n_users; i++)
		start[i + 1] += start[i];
	memcpy(fill, start, sizeof(int64) * n_users);
	for (i = 0; i < n; i++)
	{
		int32		u;

		memcpy(&u, (const char *) items + i * sz + user_offset, sizeof(int32));
		memcpy(out + fill[u]++ * sz, (const char *) items + i * sz, sz);
	}
	pfree(fill);
	*starts = start;
	return out;
}

/* the start of the lookback window (exclusive) of time ts */
static TimestampTz
window_start(const Report *r, TimestampTz ts)
{
	if (r->lookback == NULL)
		return DT_NOBEGIN;
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(ts),
												   IntervalPGetDatum(r->lookback)));
}

static void
grow_credit(Report *r)
{
	while (r->credit_cap < r->ps->n_channels)
	{
		int32		cap = Max(16, r->credit_cap * 2);

		r->credit = r->credit ? repalloc(r->credit, sizeof(double) * cap) : palloc(sizeof(double) * cap);
		r->revenue = r->revenue ? repalloc(r->revenue, sizeof(double) * cap) : palloc(sizeof(double) * cap);
		r->used = r->used ? repalloc(r->used, sizeof(bool) * cap) : palloc(sizeof(bool) * cap);
		memset(r->credit + r->credit_cap, 0, sizeof(double) * (cap - r->credit_cap));
		memset(r->revenue + r->credit_cap, 0, sizeof(double) * (cap - r->credit_cap));
		memset(r->used + r->credit_cap, 0, sizeof(bool) * (cap - r->credit_cap));
		r->credit_cap = cap;
	}
}

/* by_conversion row: one per (conversion, channel) */
static void
emit_split(ReturnSetInfo *rsinfo, const RConv *c, const char *channel,
		   int touches, double credit)
{
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	values[0] = c->id ? CStringGetTextDatum(c->id) : (Datum) 0;
	nulls[0] = c->id == NULL;
	values[1] = TimestampTzGetDatum(c->ts);
	values[2] = Float8GetDatum(c->revenue);
	values[3] = CStringGetTextDatum(channel);
	values[4] = Int32GetDatum(touches);
	values[5] = Float8GetDatum(credit);
	values[6] = Float8GetDatum(credit * c->revenue);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Walk every user's conversions and touches.  pass 1 credits rule models
 * (and emits their per-conversion rows) or collects the data-driven paths;
 * pass 2 (data-driven by_conversion only) splits each conversion by the
 * channels' global weights.
 */
static void
sweep(Report *r, const RTouch *touches, const int64 *tstart,
	  const RConv *convs, const int64 *cstart, int pass, ReturnSetInfo *rsinfo)
{
	int64		n_users = actor_table_count(r->users);
	int32		nch = r->ps->n_channels;
	int32	   *ids = NULL;
	double	   *age = NULL,
			   *credit = NULL;
	uint8	   *milestones = NULL;
	int64		cap = 0;
	double	   *per_channel = palloc0(sizeof(double) * Max(nch, 1));
	int		   *per_touches = palloc0(sizeof(int) * Max(nch, 1));
	int32	   *seen = palloc(sizeof(int32) * Max(nch, 1));
	int64		u;
	char		err[256];

	for (u = 0; u < n_users; u++)
	{
		const RTouch *t = touches + tstart[u];
		int64		nt = tstart[u + 1] - tstart[u];
		const RConv *c = convs + cstart[u];
		int64		nc = cstart[u + 1] - cstart[u];
		int64		lo = 0,
					hi = 0,
					k;
		TimestampTz last_conv = DT_NOBEGIN;

		if ((u & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (nt > cap)
		{
			cap = Max(nt, 2 * cap);
			ids = ids ? repalloc_huge(ids, sizeof(int32) * cap) : palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
			age = age ? repalloc_huge(age, sizeof(double) * cap) : palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
			credit = credit ? repalloc_huge(credit, sizeof(double) * cap) : palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
			milestones = milestones ? repalloc_huge(milestones, cap) : palloc_extended(cap, MCXT_ALLOC_HUGE);
		}
		for (k = 0; k < nc; k++)
		{
			const RConv *cv = &c[k];
			TimestampTz from = window_start(r, cv->ts);
			int64		n,
						i;
			int			distinct = 0;

			while (hi < nt && t[hi].ts <= cv->ts)
				hi++;
			while (lo < hi && t[lo].ts <= from)
				lo++;
			n = hi - lo;
			last_conv = cv->ts;
			if (pass == 1)
				r->total_conversions += 1;
			if (n == 0)
			{
				if (pass == 1)
				{
					r->none_conversions += 1;
					r->none_revenue += cv->revenue;
					if (r->by_conversion)
						emit_split(rsinfo, cv, NONE_CHANNEL, 0, 1.0);
				}
				continue;
			}
			for (i = 0; i < n; i++)
			{
				ids[i] = t[lo + i].channel;
				age[i] = (double) (cv->ts - t[lo + i].ts) / USECS_PER_SEC;
				milestones[i] = t[lo + i].milestone;
				r->used[ids[i]] = true;
			}
			if (r->data_driven && pass == 1)
			{
				ps_add_ids(r->ps, ids, (int32) n, 1.0, 0.0, Max(cv->revenue, 0.0));
				continue;
			}
			if (r->data_driven)
			{
				/* pass 2: split by the global weight of the path's channels */
				double		total = 0.0;

				for (i = 0; i < n; i++)
					if (per_touches[ids[i]]++ == 0)
					{
						seen[distinct++] = ids[i];
						total += Max(r->channel_weight[ids[i]], 0.0);
					}
				for (i = 0; i < distinct; i++)
					per_channel[seen[i]] = total > 0
						? Max(r->channel_weight[seen[i]], 0.0) / total : 1.0 / distinct;
			}
			else
			{
				if (!rule_credit(r->cfg.model, &r->cfg.rp, (int) n, ids, age, milestones,
								 credit, err, sizeof(err)))
					ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", err)));
				for (i = 0; i < n; i++)
				{
					if (per_touches[ids[i]]++ == 0)
						seen[distinct++] = ids[i];
					per_channel[ids[i]] += credit[i];
				}
			}
			for (i = 0; i < distinct; i++)
			{
				int32		ch = seen[i];

				if (!r->data_driven)
				{
					r->credit[ch] += per_channel[ch];
					r->revenue[ch] += per_channel[ch] * cv->revenue;
				}
				if (r->by_conversion)
					emit_split(rsinfo, cv, r->ps->channel_names[ch], per_touches[ch], per_channel[ch]);
				per_channel[ch] = 0.0;
				per_touches[ch] = 0;
			}
		}
		/* the journey that did not (yet) convert: touches after the last conversion */
		if (r->data_driven && pass == 1)
		{
			int64		first = hi;

			while (first < nt && t[first].ts <= last_conv)
				first++;
			if (first < nt)
			{
				TimestampTz from = window_start(r, t[nt - 1].ts);
				int64		i,
							n = 0;

				for (i = first; i < nt; i++)
					if (t[i].ts > from)
					{
						ids[n++] = t[i].channel;
						r->used[t[i].channel] = true;
					}
				ps_add_ids(r->ps, ids, (int32) n, 0.0, 1.0, 0.0);
			}
		}
	}
}

/* the channel totals of the data-driven models */
static void
data_driven_totals(Report *r)
{
	int32		c;

	grow_credit(r);
	if (r->ps->n_channels == 0 || r->ps->n_paths == 0)
		return;
	if (r->cfg.model == MODEL_MARKOV)
	{
		ArrayType  *arr = markov_attribution_compute(r->ps, &r->mo);
		Datum	   *elems;
		bool	   *enulls;
		int			n,
					i;
		Oid			typid = an_type_oid("markov_credit");
		int16		typlen;
		bool		typbyval;
		char		typalign;

		/* markov_credit rows come sorted by name: map back to ids */
		get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, typid, typlen, typbyval, typalign, &elems, &enulls, &n);
		for (i = 0; i < n; i++)
		{
			HeapTupleHeader h = DatumGetHeapTupleHeader(elems[i]);
			bool		isnull;
			char	   *name = TextDatumGetCString(GetAttributeByNum(h, 1, &isnull));
			int32		id = ps_channel_id(r->ps, name, strlen(name));

			r->credit[id] = DatumGetFloat8(GetAttributeByNum(h, 2, &isnull));
			r->revenue[id] = DatumGetFloat8(GetAttributeByNum(h, 3, &isnull));
		}
	}
	else
	{
		double	   *conv,
				   *val;

		shapley_channel_totals(r->ps, r->method, &conv, &val);
		for (c = 0; c < r->ps->n_channels; c++)
		{
			r->credit[c] = conv[c];
			r->revenue[c] = val[c];
		}
	}
	r->channel_weight = palloc(sizeof(double) * Max(r->ps->n_channels, 1));
	for (c = 0; c < r->ps->n_channels; c++)
		r->channel_weight[c] = r->credit[c];
}

/* SQL snippet "col::type", with col quoted */
static char *
cast_column(const char *col, const char *type)
{
	return psprintf("%s::%s", quote_identifier(col), type);
}

static void
run_report(FunctionCallInfo fcinfo, bool by_conversion)
{
	Report		r;
	ReturnSetInfo *rsinfo;
	Oid			touch_rel,
				conv_rel;
	Oid			user_type,
				conv_user_type;
	char	   *tquery,
			   *cquery;
	char	   *conv_user;
	RTouch	   *touches;
	RConv	   *convs;
	int64	   *tstart,
			   *cstart;
	int64		u,
				i;
	int			model;

	for (i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", i == 0 ? "the model" : i == 1 ? "touchpoints" : "conversions")));
	memset(&r, 0, sizeof(r));
	model = attribution_model(PG_GETARG_TEXT_PP(0), true);
	attribution_options(PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), model, OPTS_REPORT, &r.cfg);
	r.data_driven = model == MODEL_MARKOV || model == MODEL_SHAPLEY;
	r.by_conversion = by_conversion;
	if (model == MODEL_MARKOV)
	{
		mk_default_options(&r.mo);
		if (r.cfg.order < 1 || r.cfg.order > MK_MAX_ORDER)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the Markov order must be between 1 and %d, not %d", MK_MAX_ORDER, r.cfg.order)));
		r.mo.order = r.cfg.order;
		r.mo.use_nulls = r.cfg.use_nulls;
		r.mo.collapse = r.cfg.collapse;
	}
	if (model == MODEL_SHAPLEY)
		r.method = shapley_method_from_name(r.cfg.method);
	if (model == RULE_W_SHAPED && r.cfg.touch_milestone == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the w_shaped model needs a milestone column"),
				 errhint("Name a touchpoints column holding 'lead', 'opportunity' or NULL: {\"touchpoint_columns\": {\"milestone\": \"stage\"}}.")));
	if (!PG_ARGISNULL(3))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(3);
		Interval	zero;

		memset(&zero, 0, sizeof(zero));
		if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(iv),
											  IntervalPGetDatum(&zero))) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the lookback must be a positive interval"),
					 errhint("Pass NULL for no lookback limit.")));
		r.lookback = iv;
	}

	touch_rel = PG_GETARG_OID(1);
	conv_rel = PG_GETARG_OID(2);
	user_type = column_type(touch_rel, r.cfg.touch_user, "touchpoint_columns", "user_id");
	(void) column_type(touch_rel, r.cfg.touch_channel, "touchpoint_columns", "channel");
	(void) column_type(touch_rel, r.cfg.touch_time, "touchpoint_columns", "occurred_at");
	if (r.cfg.touch_milestone)
		(void) column_type(touch_rel, r.cfg.touch_milestone, "touchpoint_columns", "milestone");
	(void) column_type(conv_rel, r.cfg.conv_id, "conversion_columns", "conversion_id");
	conv_user_type = column_type(conv_rel, r.cfg.conv_user, "conversion_columns", "user_id");
	(void) column_type(conv_rel, r.cfg.conv_time, "conversion_columns", "occurred_at");
	if (r.cfg.conv_revenue)
		(void) column_type(conv_rel, r.cfg.conv_revenue, "conversion_columns", "revenue");

	conv_user = conv_user_type == user_type ? (char *) quote_identifier(r.cfg.conv_user)
		: cast_column(r.cfg.conv_user, format_type_be_qualified(user_type));
	cquery = psprintf("SELECT %s, %s, %s, %s FROM %s",
					  cast_column(r.cfg.conv_id, "text"), conv_user,
					  cast_column(r.cfg.conv_time, "timestamptz"),
					  r.cfg.conv_revenue ? cast_column(r.cfg.conv_revenue, "float8") : "NULL::float8",
					  qualified_name(conv_rel, "conversions"));
	tquery = psprintf("SELECT %s, %s, %s%s%s FROM %s",
					  quote_identifier(r.cfg.touch_user),
					  cast_column(r.cfg.touch_channel, "text"),
					  cast_column(r.cfg.touch_time, "timestamptz"),
					  r.cfg.touch_milestone ? ", " : "",
					  r.cfg.touch_milestone ? cast_column(r.cfg.touch_milestone, "text") : "",
					  qualified_name(touch_rel, "touchpoints"));

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	r.cxt = AllocSetContextCreate(CurrentMemoryContext, "analytics attribution report",
								  ALLOCSET_DEFAULT_SIZES);
	r.users = actor_table_create(user_type, InvalidOid, r.cxt, "the user_id column");
	r.ps = ps_create(r.cxt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	read_rows(&r, cquery, conversion_row);
	read_rows(&r, tquery, touch_row);
	SPI_finish();

	{
		MemoryContext old = MemoryContextSwitchTo(r.cxt);
		int64		n_users = actor_table_count(r.users);

		if (n_users > PG_INT32_MAX - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct users")));
		touches = bucket_by_user(r.touches, r.n_touches, sizeof(RTouch),
								 offsetof(RTouch, user), n_users, &tstart);
		convs = bucket_by_user(r.convs, r.n_convs, sizeof(RConv),
							   offsetof(RConv, user), n_users, &cstart);
		if (r.touches)
			pfree(r.touches);
		r.touches = NULL;
		for (u = 0; u < n_users; u++)
		{
			if (tstart[u + 1] - tstart[u] > 1)
				qsort(touches + tstart[u], tstart[u + 1] - tstart[u], sizeof(RTouch), rtouch_cmp);
			if (cstart[u + 1] - cstart[u] > 1)
				qsort(convs + cstart[u], cstart[u + 1] - cstart[u], sizeof(RConv), rconv_cmp);
			if ((u & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		grow_credit(&r);
		r.cfg.rp.direct_channel = -1;
		for (i = 0; i < r.ps->n_channels; i++)
			if (strcmp(r.ps->channel_names[i], r.cfg.direct) == 0)
				r.cfg.rp.direct_channel = (int32) i;
		sweep(&r, touches, tstart, convs, cstart, 1, rsinfo);
		if (r.data_driven)
		{
			data_driven_totals(&r);
			if (by_conversion)
				sweep(&r, touches, tstart, convs, cstart, 2, rsinfo);
		}
		MemoryContextSwitchTo(old);
	}

	if (!by_conversion)
	{
		int32		n = r.ps->n_channels,
					c,
					k;
		int32	   *order = palloc(sizeof(int32) * (n + 1));

		/* channels by conversions descending, then name; (none) as -1 */
		for (c = 0; c < n; c++)
			order[c] = c;
		order[n] = -1;
		for (c = 1; c <= n; c++)
		{
			int32		x = order[c];
			double		xv = x < 0 ? r.none_conversions : r.credit[x];
			const char *xn = x < 0 ? NONE_CHANNEL : r.ps->channel_names[x];

			for (k = c; k > 0; k--)
			{
				int32		y = order[k - 1];
				double		yv = y < 0 ? r.none_conversions : r.credit[y];
				const char *yn = y < 0 ? NONE_CHANNEL : r.ps->channel_names[y];

				if (yv > xv || (yv == xv && strcmp(yn, xn) <= 0))
					break;
				order[k] = y;
			}
			order[k] = x;
		}
		for (c = 0; c <= n; c++)
		{
			int32		id = order[c];
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};
			double		conv = id < 0 ? r.none_conversions : r.credit[id];

			if (id < 0 ? r.none_conversions == 0 : !r.used[id])
				continue;
			values[0] = CStringGetTextDatum(id < 0 ? NONE_CHANNEL : r.ps->channel_names[id]);
			values[1] = Float8GetDatum(conv);
			values[2] = Float8GetDatum(id < 0 ? r.none_revenue : r.revenue[id]);
			values[3] = Float8GetDatum(r.total_conversions > 0 ? conv / r.total_conversions : 0.0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	MemoryContextDelete(r.cxt);
}

PG_FUNCTION_INFO_V1(attribution_report);
Datum
attribution_report(PG_FUNCTION_ARGS)
{
	run_report(fcinfo, false);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(attribution_by_conversion);
Datum
attribution_by_conversion(PG_FUNCTION_ARGS)
{
	run_report(fcinfo, true);
	return (Datum) 0;
}
