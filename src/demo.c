/*
 * demo.c
 *		SQL interface of the demo dataset generator (core in lib/demogen.c).
 *
 * Each table of the data set has its own set-returning function taking
 * (scale, seed).  They all walk the same people in user_id order with the
 * same per-person random streams, so their ids agree: events.session_id
 * points at demo_sessions' rows, conversions.event_id at the purchase event,
 * and so on.  The functions are declared CALLED ON NULL INPUT so that a NULL
 * scale or seed is an error rather than an empty result.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "lib/demogen.h"

/* seconds between the Unix and PostgreSQL epochs */
#define PG_UNIX_EPOCH_DIFF \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

typedef enum demo_table
{
	DEMO_USERS,
	DEMO_SESSIONS,
	DEMO_EVENTS,
	DEMO_TOUCHPOINTS,
	DEMO_CONVERSIONS
} demo_table;

/* number of output columns per table, checked against the SQL declaration */
static const int demo_natts[] = {8, 9, 7, 8, 7};

/* Interned text datums, so rows share one copy per distinct label. */
typedef struct demo_labels
{
	Datum		channel[DG_NCHANNELS];
	Datum		event[DG_NEVENT_TYPES];
	Datum		interaction[DG_NINTERACTIONS];
	Datum		device[DG_NDEVICES];
	Datum		plan[DG_NPLANS];
	Datum		country[DG_NCOUNTRIES];
	Datum		timezone[DG_NCOUNTRIES];
} demo_labels;

static TimestampTz
unix_to_timestamptz(int64 secs)
{
	return (TimestampTz) ((secs - PG_UNIX_EPOCH_DIFF) * USECS_PER_SEC);
}

static Datum
cents_to_numeric(int64 cents)
{
	return NumericGetDatum(int64_div_fast_to_numeric(cents, 2));
}

/*
 * Validate (scale float8, seed bigint) in arguments 0 and 1 and set up the
 * world.  NULLs, non-finite or out-of-range scales are user errors.
 */
static void
demo_world_from_args(FunctionCallInfo fcinfo, dg_world *w)
{
	double		scale;
	const char *problem;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("scale must not be null"),
				 errhint("Scale 1 gives about 1 million events; use for example 0.01 for a small data set.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed must not be null"),
				 errhint("Pass any bigint, for example 42; the same seed always produces the same data.")));
	scale = PG_GETARG_FLOAT8(0);
	problem = dg_world_init(w, scale, (uint64) PG_GETARG_INT64(1));
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", problem),
				 errdetail("Scale was %s.",
						   DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(scale)))),
				 errhint("Scale must be greater than 0 and at most %g; scale 1 gives about 1 million events.",
						 DG_MAX_SCALE)));
}

static void
demo_labels_init(demo_labels *l)
{
	int			i;

	for (i = 0; i < DG_NCHANNELS; i++)
		l->channel[i] = CStringGetTextDatum(dg_channel_names[i]);
	for (i = 0; i < DG_NEVENT_TYPES; i++)
		l->event[i] = CStringGetTextDatum(dg_event_names[i]);
	for (i = 0; i < DG_NINTERACTIONS; i++)
		l->interaction[i] = CStringGetTextDatum(dg_interaction_names[i]);
	for (i = 0; i < DG_NDEVICES; i++)
		l->device[i] = CStringGetTextDatum(dg_device_names[i]);
	for (i = 0; i < DG_NPLANS; i++)
		l->plan[i] = CStringGetTextDatum(dg_plan_names[i]);
	for (i = 0; i < DG_NCOUNTRIES; i++)
	{
		l->country[i] = CStringGetTextDatum(dg_countries[i].code);
		l->timezone[i] = CStringGetTextDatum(dg_countries[i].timezone);
	}
}

/* set up materialize mode and check the declared result has natts columns */
static ReturnSetInfo *
demo_init_srf(FunctionCallInfo fcinfo, int natts)
{
	ReturnSetInfo *rsinfo;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (rsinfo->setDesc->natts != natts)
		elog(ERROR, "demo generator declared with %d columns, expected %d",
			 rsinfo->setDesc->natts, natts);
	return rsinfo;
}

/* emit the rows of table `which` for one simulated person */
static void
emit_person(ReturnSetInfo *rsinfo, demo_table which, const dg_person *p,
			const demo_labels *l, int64 session_base, int64 event_base,
			int64 *touch_id, int64 *conversion_id)
{
	Datum		values[9];
	bool		nulls[9];
	int			i;

	memset(nulls, 0, sizeof(nulls));
	switch (which)
	{
		case DEMO_USERS:
			values[0] = Int64GetDatum(p->user_id);
			values[1] = Int32GetDatum(p->workspace);
			values[2] = TimestampTzGetDatum(unix_to_timestamptz(p->first_seen));
			if (p->signup_at >= 0)
				values[3] = TimestampTzGetDatum(unix_to_timestamptz(p->signup_at));
			else
				nulls[3] = true;
			values[4] = l->country[p->country];
			values[5] = l->timezone[p->country];
			values[6] = l->device[p->device];
			values[7] = l->channel[p->acquisition_channel];
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			break;

		case DEMO_SESSIONS:
			for (i = 0; i < p->n_sessions; i++)
			{
				const dg_session *s = &p->sessions[i];

				values[0] = Int64GetDatum(session_base + i);
				values[1] = Int64GetDatum(p->user_id);
				values[2] = Int32GetDatum(p->workspace);
				values[3] = TimestampTzGetDatum(unix_to_timestamptz(s->start));
				values[4] = TimestampTzGetDatum(unix_to_timestamptz(s->end));
				values[5] = l->channel[s->channel];
				values[6] = Int32GetDatum(s->campaign);
				nulls[6] = (s->campaign == 0);
				values[7] = l->device[p->device];
				values[8] = Int32GetDatum(s->n_events);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			break;

		case DEMO_EVENTS:
			for (i = 0; i < p->n_events; i++)
			{
				const dg_event *e = &p->events[i];

				values[0] = Int64GetDatum(event_base + i);
				values[1] = Int64GetDatum(p->user_id);
				values[2] = Int32GetDatum(p->workspace);
				values[3] = Int64GetDatum(session_base + e->session);
				values[4] = l->event[e->type];
				values[5] = TimestampTzGetDatum(unix_to_timestamptz(e->ts));
				if (e->type == DG_EV_PURCHASE)
				{
					values[6] = cents_to_numeric(e->revenue_cents);
					nulls[6] = false;
				}
				else
					nulls[6] = true;
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			break;

		case DEMO_TOUCHPOINTS:
			for (i = 0; i < p->n_touches; i++)
			{
				const dg_touch *t = &p->touches[i];

				values[0] = Int64GetDatum((*touch_id)++);
				values[1] = Int64GetDatum(p->user_id);
				values[2] = Int32GetDatum(p->workspace);
				values[3] = Int64GetDatum(session_base + t->session);
				nulls[3] = (t->session < 0);
				values[4] = l->channel[t->channel];
				values[5] = Int32GetDatum(t->campaign);
				nulls[5] = (t->campaign == 0);
				values[6] = l->interaction[t->interaction];
				values[7] = TimestampTzGetDatum(unix_to_timestamptz(t->ts));
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			break;

		case DEMO_CONVERSIONS:
			for (i = 0; i < p->n_conversions; i++)
			{
				const dg_conversion *c = &p->conversions[i];

				values[0] = Int64GetDatum((*conversion_id)++);
				values[1] = Int64GetDatum(p->user_id);
				values[2] = Int32GetDatum(p->workspace);
				values[3] = Int64GetDatum(session_base + c->session);
				values[4] = Int64GetDatum(event_base + c->event);
				values[5] = TimestampTzGetDatum(unix_to_timestamptz(c->ts));
				values[6] = cents_to_numeric(c->revenue_cents);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			break;
	}
}

/*
 * Simulate every person in user_id order and materialize the rows of one
 * table.  Ids are 1-based and dense in that order.
 */
static Datum
demo_people_srf(FunctionCallInfo fcinfo, demo_table which)
{
	dg_world   *w = palloc(sizeof(dg_world));
	dg_person  *p;
	demo_labels labels;
	ReturnSetInfo *rsinfo;
	MemoryContext scratch,
				old;
	int64		uid,
				session_base = 1,
				event_base = 1,
				touch_id = 1,
				conversion_id = 1;

	demo_world_from_args(fcinfo, w);
	rsinfo = demo_init_srf(fcinfo, demo_natts[which]);
	p = palloc(sizeof(dg_person));
	demo_labels_init(&labels);

	scratch = AllocSetContextCreate(CurrentMemoryContext, "analytics demo rows",
									ALLOCSET_DEFAULT_SIZES);
	for (uid = 1; uid <= w->n_users; uid++)
	{
		CHECK_FOR_INTERRUPTS();
		dg_simulate_person(w, uid, p);
		old = MemoryContextSwitchTo(scratch);
		emit_person(rsinfo, which, p, &labels, session_base, event_base,
					&touch_id, &conversion_id);
		MemoryContextSwitchTo(old);
		MemoryContextReset(scratch);
		session_base += p->n_sessions;
		event_base += p->n_events;
	}
	MemoryContextDelete(scratch);
	pfree(p);
	pfree(w);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(demo_users);
Datum
demo_users(PG_FUNCTION_ARGS)
{
	return demo_people_srf(fcinfo, DEMO_USERS);
}

PG_FUNCTION_INFO_V1(demo_sessions);
Datum
demo_sessions(PG_FUNCTION_ARGS)
{
	return demo_people_srf(fcinfo, DEMO_SESSIONS);
}

PG_FUNCTION_INFO_V1(demo_events);
Datum
demo_events(PG_FUNCTION_ARGS)
{
	return demo_people_srf(fcinfo, DEMO_EVENTS);
}

PG_FUNCTION_INFO_V1(demo_touchpoints);
Datum
demo_touchpoints(PG_FUNCTION_ARGS)
{
	return demo_people_srf(fcinfo, DEMO_TOUCHPOINTS);
}

PG_FUNCTION_INFO_V1(demo_conversions);
Datum
demo_conversions(PG_FUNCTION_ARGS)
{
	return demo_people_srf(fcinfo, DEMO_CONVERSIONS);
}

PG_FUNCTION_INFO_V1(demo_workspaces);

/* demo_workspaces(scale, seed): one row per workspace */
Datum
demo_workspaces(PG_FUNCTION_ARGS)
{
	dg_world   *w = palloc(sizeof(dg_world));
	demo_labels labels;
	ReturnSetInfo *rsinfo;
	int32		id;

	demo_world_from_args(fcinfo, w);
	rsinfo = demo_init_srf(fcinfo, 4);
	demo_labels_init(&labels);
	for (id = 1; id <= w->n_workspaces; id++)
	{
		dg_workspace ws;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		dg_workspace_info(w, id, &ws);
		values[0] = Int32GetDatum(ws.id);
		values[1] = CStringGetTextDatum(ws.name);
		values[2] = labels.plan[ws.plan];
		values[3] = TimestampTzGetDatum(unix_to_timestamptz(ws.created_at));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(w);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(demo_campaigns);

/* demo_campaigns(): the fixed campaign calendar */
Datum
demo_campaigns(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = demo_init_srf(fcinfo, 6);
	DateADT		first_day = (DateADT) ((DG_START_EPOCH - PG_UNIX_EPOCH_DIFF) / SECS_PER_DAY);
	int			i;

	for (i = 0; i < DG_NCAMPAIGNS; i++)
	{
		const dg_campaign *c = &dg_campaigns[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = Int32GetDatum(c->id);
		values[1] = CStringGetTextDatum(dg_channel_names[c->channel]);
		values[2] = CStringGetTextDatum(c->name);
		values[3] = DateADTGetDatum(first_day + c->first_day);
		values[4] = DateADTGetDatum(first_day + c->last_day);
		values[5] = cents_to_numeric((int64) c->daily_budget * 100);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
