/*
 * demogen.h
 *		Deterministic simulation of the demo marketing/product dataset.
 *
 * The world is a fixed calendar (2026-01-01 to 2026-08-31 UTC, 243 days),
 * a list of workspaces, 8 marketing channels with 20 campaigns, and
 * round(scale * DG_USERS_PER_SCALE) people.  Each person is simulated on
 * their own random stream seeded from (seed, user_id), so a person's rows do
 * not depend on who else is in the data set, and each table of the data set
 * can be produced by a separate pass over the people that agrees with every
 * other pass.  docs/dataset.md explains the behavioural model.
 *
 * Pure C, no PostgreSQL headers: test/unit/test_demogen.c exercises it.
 */
#ifndef ANALYTICS_DEMOGEN_H
#define ANALYTICS_DEMOGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"

/* calendar: [DG_START_EPOCH, DG_END_EPOCH) in Unix seconds */
#define DG_START_EPOCH	INT64_C(1767225600)	/* 2026-01-01 00:00:00 UTC */
#define DG_DAYS			243			/* through 2026-08-31 */
#define DG_END_EPOCH	(DG_START_EPOCH + (int64_t) DG_DAYS * 86400)

#define DG_USERS_PER_SCALE	42000	/* scale 1 gives about 1M events */
#define DG_MAX_SCALE		1000.0
#define DG_MAX_WORKSPACES	512

/* per-person capacity; the simulation stops adding sessions when reached */
#define DG_MAX_SESSIONS		2048
#define DG_MAX_EVENTS		65536
#define DG_MAX_TOUCHES		8192
#define DG_MAX_CONVERSIONS	2048

typedef enum dg_channel
{
	DG_CH_SEARCH,
	DG_CH_SOCIAL,
	DG_CH_EMAIL,
	DG_CH_DISPLAY,
	DG_CH_DIRECT,
	DG_CH_AFFILIATE,
	DG_CH_REFERRAL,
	DG_CH_VIDEO,
	DG_NCHANNELS
} dg_channel;

typedef enum dg_event_type
{
	DG_EV_SIGNUP,
	DG_EV_VIEW,
	DG_EV_SEARCH,
	DG_EV_ADD_TO_CART,
	DG_EV_BEGIN_CHECKOUT,
	DG_EV_PURCHASE,
	DG_NEVENT_TYPES
} dg_event_type;

typedef enum dg_interaction
{
	DG_INT_IMPRESSION,			/* ad seen, no session */
	DG_INT_CLICK,				/* click that started a session */
	DG_INT_VISIT,				/* direct visit that started a session */
	DG_NINTERACTIONS
} dg_interaction;

#define DG_NDEVICES		3
#define DG_NPLANS		3
#define DG_NCOUNTRIES	11
#define DG_NCAMPAIGNS	20

typedef struct dg_country
{
	const char *code;			/* ISO 3166-1 alpha-2 */
	const char *timezone;		/* IANA name */
	int			utc_offset_min; /* standard offset used by the simulation */
	double		weight;
} dg_country;

typedef struct dg_campaign
{
	int			id;				/* 1-based */
	dg_channel	channel;
	const char *name;
	int			first_day;		/* live on days [first_day, last_day] */
	int			last_day;
	double		weight;			/* share among live campaigns of the channel */
	int			daily_budget;	/* currency units; 0 for organic programmes */
} dg_campaign;

extern const char *const dg_channel_names[DG_NCHANNELS];
extern const char *const dg_event_names[DG_NEVENT_TYPES];
extern const char *const dg_interaction_names[DG_NINTERACTIONS];
extern const char *const dg_device_names[DG_NDEVICES];
extern const char *const dg_plan_names[DG_NPLANS];
extern const dg_country dg_countries[DG_NCOUNTRIES];
extern const dg_campaign dg_campaigns[DG_NCAMPAIGNS];

/* everything shared by all people of one (scale, seed) */
typedef struct dg_world
{
	double		scale;
	uint64_t	seed;
	int64_t		n_users;
	int32_t		n_workspaces;
	double		workspace_cum[DG_MAX_WORKSPACES];
	double		arrival_cum[DG_DAYS];
	double		hour_cum[24];
	double		country_cum[DG_NCOUNTRIES];
	double		device_cum[DG_NDEVICES];
	double		acquisition_cum[DG_NCHANNELS];
	double		returning_member_cum[DG_NCHANNELS];
	double		returning_visitor_cum[DG_NCHANNELS];
	double		impression_cum[DG_NCHANNELS];
} dg_world;

typedef struct dg_workspace
{
	int32_t		id;
	char		name[64];
	int			plan;			/* index into dg_plan_names */
	int64_t		created_at;		/* Unix seconds */
} dg_workspace;

typedef struct dg_session
{
	int64_t		start;
	int64_t		end;			/* time of the last event */
	int16_t		channel;
	int16_t		campaign;		/* 1-based campaign id, 0 for none */
	int32_t		first_event;	/* index into dg_person.events */
	int32_t		n_events;
} dg_session;

typedef struct dg_event
{
	int64_t		ts;
	int64_t		revenue_cents;	/* purchases only, else 0 */
	int32_t		session;		/* index into dg_person.sessions */
	int16_t		type;
} dg_event;

typedef struct dg_touch
{
	int64_t		ts;
	int32_t		session;		/* index of the session it started, or -1 */
	int16_t		channel;
	int16_t		campaign;		/* 1-based, 0 for none */
	int16_t		interaction;
} dg_touch;

typedef struct dg_conversion
{
	int64_t		ts;
	int64_t		revenue_cents;
	int32_t		event;			/* index of the purchase event */
	int32_t		session;
} dg_conversion;

/* one simulated person; large, so allocate it once and reuse it */
typedef struct dg_person
{
	int64_t		user_id;
	int32_t		workspace;		/* 1-based */
	int16_t		country;
	int16_t		device;
	int16_t		acquisition_channel;
	bool		member;			/* signed up */
	int64_t		first_seen;
	int64_t		signup_at;		/* -1 when never signed up */
	int			n_sessions;
	int			n_events;
	int			n_touches;
	int			n_conversions;
	dg_session	sessions[DG_MAX_SESSIONS];
	dg_event	events[DG_MAX_EVENTS];
	dg_touch	touches[DG_MAX_TOUCHES];	/* sorted by ts, ties by creation */
	dg_conversion conversions[DG_MAX_CONVERSIONS];
} dg_person;

/*
 * Validate (scale, seed) and fill *w.  Returns NULL on success or a static
 * message describing what is wrong with scale.
 */
extern const char *dg_world_init(dg_world *w, double scale, uint64_t seed);

/* describe workspace id (1-based, <= w->n_workspaces) */
extern void dg_workspace_info(const dg_world *w, int32_t id, dg_workspace *out);

/* simulate person user_id (1-based, <= w->n_users) into *p */
extern void dg_simulate_person(const dg_world *w, int64_t user_id, dg_person *p);

/* campaign weight in the arrival curve etc. exposed for tests */
extern double dg_weekday_factor(int iso_dow_0);	/* 0 = Monday */
extern int	dg_day_dow(int64_t day);	/* day index -> 0 = Monday */

#endif							/* ANALYTICS_DEMOGEN_H */
