/*
 * test_demogen.c
 *		Unit tests of the demo dataset simulation (src/lib/demogen.c).
 *
 * Three groups: argument validation and sizes (hand-computed from the
 * documented formulas), per-person invariants over every person of a small
 * world, and the traffic shape claimed in docs/dataset.md over scale 1.  The
 * thresholds of the shape checks are derived from the model's parameters in
 * the comments, with slack for sampling noise; they are not read off the
 * generator's output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demogen.h"
#include "unit.h"

#define DAY INT64_C(86400)

static dg_person *pa,
		   *pb;

static void
test_world(void)
{
	dg_world	w;

	CHECK(dg_world_init(&w, 0.0, 1) != NULL, "scale 0 is rejected");
	CHECK(dg_world_init(&w, -1.0, 1) != NULL, "negative scale is rejected");
	CHECK(dg_world_init(&w, NAN, 1) != NULL, "NaN scale is rejected");
	CHECK(dg_world_init(&w, INFINITY, 1) != NULL, "infinite scale is rejected");
	CHECK(dg_world_init(&w, 1000.5, 1) != NULL, "scale above 1000 is rejected");
	CHECK(dg_world_init(&w, 1000.0, 1) == NULL, "scale 1000 is accepted");

	dg_world_init(&w, 1.0, 1);
	CHECK(w.n_users == 42000 && w.n_workspaces == 12, "scale 1: 42000 people, 12 workspaces");
	dg_world_init(&w, 10.0, 1);
	/* 12 * sqrt(10) = 37.95 */
	CHECK(w.n_users == 420000 && w.n_workspaces == 38, "scale 10: 420000 people, 38 workspaces");
	dg_world_init(&w, 0.01, 1);
	/* 12 * 0.1 = 1.2 rounds to 1, raised to the minimum of 2 */
	CHECK(w.n_users == 420 && w.n_workspaces == 2, "scale 0.01: 420 people, 2 workspaces");
	dg_world_init(&w, 1e-9, 1);
	CHECK(w.n_users == 1, "a tiny scale still has one person");

	CHECK(dg_day_dow(0) == 3 && dg_day_dow(4) == 0 && dg_day_dow(-1) == 2,
		  "2026-01-01 is a Thursday, 01-05 a Monday, 2025-12-31 a Wednesday");
}

static int
same_person(const dg_person *a, const dg_person *b)
{
	return a->user_id == b->user_id && a->workspace == b->workspace &&
		a->country == b->country && a->first_seen == b->first_seen &&
		a->signup_at == b->signup_at && a->n_sessions == b->n_sessions &&
		a->n_events == b->n_events && a->n_touches == b->n_touches &&
		a->n_conversions == b->n_conversions &&
		memcmp(a->sessions, b->sessions, sizeof(dg_session) * a->n_sessions) == 0 &&
		memcmp(a->events, b->events, sizeof(dg_event) * a->n_events) == 0 &&
		memcmp(a->touches, b->touches, sizeof(dg_touch) * a->n_touches) == 0 &&
		memcmp(a->conversions, b->conversions, sizeof(dg_conversion) * a->n_conversions) == 0;
}

static void
test_determinism(void)
{
	dg_world	w,
				w2;
	int			i,
				differ = 0;

	memset(pa, 0, sizeof(*pa));
	memset(pb, 0, sizeof(*pb));
	dg_world_init(&w, 1.0, 42);
	dg_simulate_person(&w, 17, pa);
	for (i = 1; i <= 50; i++)
		dg_simulate_person(&w, i, pb);
	dg_simulate_person(&w, 17, pb);
	CHECK(same_person(pa, pb), "a person is the same whoever was simulated before");

	dg_world_init(&w2, 3.0, 42);
	dg_simulate_person(&w2, 17, pb);
	/* the workspace count differs between the worlds, the rest of the draw order does not */
	CHECK(pb->first_seen == pa->first_seen && pb->n_sessions == pa->n_sessions &&
		  pb->country == pa->country,
		  "a person's behaviour does not depend on the scale");

	dg_world_init(&w2, 1.0, 43);
	for (i = 1; i <= 50; i++)
	{
		dg_simulate_person(&w, i, pa);
		dg_simulate_person(&w2, i, pb);
		differ += pa->first_seen != pb->first_seen;
	}
	CHECK(differ >= 49, "another seed gives other people (%d of 50 differ)", differ);
}

/* every invariant the SQL tables rely on, for one person; returns a reason */
static const char *
person_invariant(const dg_person *p)
{
	int			i,
				signups = 0,
				purchases = 0,
				session_touches = 0;

	if (p->n_sessions < 1)
		return "no session";
	if (p->first_seen != p->sessions[0].start)
		return "first_seen is not the first session";
	if (p->sessions[0].channel != p->acquisition_channel)
		return "first session not from the acquisition channel";
	for (i = 0; i < p->n_sessions; i++)
	{
		const dg_session *s = &p->sessions[i];
		int			j;

		if (s->start < DG_START_EPOCH || s->end >= DG_END_EPOCH || s->end < s->start)
			return "session outside the calendar";
		if (i > 0 && s->start <= p->sessions[i - 1].end)
			return "sessions overlap or are out of order";
		if (s->n_events < 1 || p->events[s->first_event].type != DG_EV_VIEW ||
			p->events[s->first_event].ts != s->start)
			return "session does not start with a view at its start";
		for (j = s->first_event; j < s->first_event + s->n_events; j++)
			if (p->events[j].session != i || p->events[j].ts < s->start || p->events[j].ts > s->end)
				return "event outside its session";
		if (s->campaign != 0 && ((int) dg_campaigns[s->campaign - 1].channel != s->channel))
			return "session campaign of another channel";
	}
	for (i = 0; i < p->n_events; i++)
	{
		const dg_event *e = &p->events[i];

		if (i > 0 && e->ts < p->events[i - 1].ts)
			return "events out of order";
		if (e->type == DG_EV_SIGNUP)
		{
			signups++;
			if (e->ts != p->signup_at || e->session != 0)
				return "signup not in the first session or not at signup_at";
		}
		if (e->type == DG_EV_PURCHASE)
		{
			purchases++;
			if (!p->member || e->revenue_cents < 100)
				return "purchase by a visitor or below 1.00";
			if (i < 2 || p->events[i - 1].type != DG_EV_BEGIN_CHECKOUT ||
				p->events[i - 2].type != DG_EV_ADD_TO_CART || p->events[i - 2].session != e->session)
				return "purchase not preceded by cart and checkout in its session";
		}
		else if (e->revenue_cents != 0)
			return "revenue on a non-purchase event";
	}
	if (signups != (p->signup_at >= 0 ? 1 : 0) || (signups && !p->member))
		return "signup count does not match signup_at";
	if (purchases != p->n_conversions)
		return "conversions do not match purchases";
	for (i = 0; i < p->n_conversions; i++)
	{
		const dg_conversion *c = &p->conversions[i];
		const dg_event *e = &p->events[c->event];

		if (e->type != DG_EV_PURCHASE || e->ts != c->ts || e->revenue_cents != c->revenue_cents ||
			e->session != c->session)
			return "conversion does not match its purchase event";
	}
	for (i = 0; i < p->n_touches; i++)
	{
		const dg_touch *t = &p->touches[i];
		int64_t		day = (t->ts - DG_START_EPOCH) / DAY;

		if (t->ts < DG_START_EPOCH || t->ts >= DG_END_EPOCH)
			return "touch outside the calendar";
		if (i > 0 && t->ts < p->touches[i - 1].ts)
			return "touches out of order";
		if (t->session >= 0)
		{
			const dg_session *s = &p->sessions[t->session];

			session_touches++;
			if (t->ts != s->start || t->channel != s->channel || t->campaign != s->campaign)
				return "session touch differs from its session";
			if ((t->interaction == DG_INT_VISIT) != (t->channel == DG_CH_DIRECT) ||
				t->interaction == DG_INT_IMPRESSION)
				return "direct sessions must be visits, others clicks";
		}
		else if (t->interaction != DG_INT_IMPRESSION ||
				 (t->channel != DG_CH_DISPLAY && t->channel != DG_CH_VIDEO && t->channel != DG_CH_SOCIAL))
			return "impression of the wrong kind";
		if (t->channel == DG_CH_DIRECT ? t->campaign != 0 : t->campaign == 0)
			return "direct touches have no campaign, others have one";
		if (t->campaign != 0)
		{
			const dg_campaign *c = &dg_campaigns[t->campaign - 1];

			if ((int) c->channel != t->channel || day < c->first_day || day > c->last_day)
				return "campaign not live or of another channel";
		}
	}
	if (session_touches != p->n_sessions)
		return "not one touch per session";
	return NULL;
}

static void
test_invariants(void)
{
	dg_world	w;
	int64_t		uid;
	long		bad = 0;
	const char *first_problem = NULL;

	dg_world_init(&w, 0.25, 5);
	for (uid = 1; uid <= w.n_users; uid++)
	{
		const char *problem;

		dg_simulate_person(&w, uid, pa);
		problem = person_invariant(pa);
		if (problem)
		{
			if (!bad)
				first_problem = problem;
			bad++;
		}
	}
	if (first_problem)
		NOTE("first problem: %s", first_problem);
	CHECK(bad == 0, "every one of %lld people satisfies the invariants (%ld do not)",
		  (long long) w.n_users, bad);
}

static int
cmp_int_desc(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return (x < y) - (x > y);
}

static void
test_shape(void)
{
	dg_world	w;
	int64_t		uid;
	long		events = 0,
				members = 0,
				arrivals_jan = 0,
				arrivals_aug = 0,
				arrivals_sale = 0,
				arrivals_before_sale = 0,
				weekday_sessions = 0,
				weekend_sessions = 0,
				hour3 = 0,
				hour11 = 0,
				cohort = 0,
				retained = 0,
				ws_first = 0,
				ws_last = 0,
				email_sessions = 0,
				email_purchases = 0,
				display_sessions = 0,
				display_purchases = 0,
				total_member_sessions = 0,
				top_sessions = 0;
	int		   *member_sessions;
	int			i;

	dg_world_init(&w, 1.0, 42);
	member_sessions = calloc(w.n_users, sizeof(int));
	for (uid = 1; uid <= w.n_users; uid++)
	{
		dg_person  *p = pa;
		int64_t		d0;

		dg_simulate_person(&w, uid, p);
		events += p->n_events;
		d0 = (p->first_seen - DG_START_EPOCH) / DAY;
		arrivals_jan += d0 < 31;
		arrivals_aug += d0 >= 212;
		arrivals_sale += d0 >= 186 && d0 <= 199;
		arrivals_before_sale += d0 >= 172 && d0 <= 185;
		ws_first += p->workspace == 1;
		ws_last += p->workspace == w.n_workspaces;
		if (p->member)
		{
			member_sessions[members++] = p->n_sessions;
			total_member_sessions += p->n_sessions;
		}
		/* week-4 retention of members who arrived in the first 120 days */
		if (p->member && d0 < 120)
		{
			int			active = 0;

			cohort++;
			for (i = 0; i < p->n_sessions; i++)
			{
				int64_t		age = p->sessions[i].start - p->first_seen;

				if (age >= 28 * DAY && age < 35 * DAY)
					active = 1;
			}
			retained += active;
		}
		for (i = 0; i < p->n_sessions; i++)
		{
			const dg_session *s = &p->sessions[i];
			int64_t		local = s->start + dg_countries[p->country].utc_offset_min * 60;
			int64_t		ld = (local - DG_START_EPOCH) / DAY;
			int			hour = (int) (((local - DG_START_EPOCH) % DAY) / 3600);
			int			dow = dg_day_dow(ld);
			int			j,
						bought = 0;

			if (dow >= 5)
				weekend_sessions++;
			else
				weekday_sessions++;
			hour3 += hour == 3;
			hour11 += hour == 11;
			for (j = s->first_event; j < s->first_event + s->n_events; j++)
				bought |= p->events[j].type == DG_EV_PURCHASE;
			if (s->channel == DG_CH_EMAIL)
			{
				email_sessions++;
				email_purchases += bought;
			}
			if (s->channel == DG_CH_DISPLAY)
			{
				display_sessions++;
				display_purchases += bought;
			}
		}
	}

	/* the calibration promise: scale 1 is about one million events */
	CHECK(events > 900000 && events < 1100000, "scale 1 has about 1M events (%ld)", events);

	/*
	 * sum over channels of acquisition share x signup probability = 0.3638;
	 * binomial standard error sqrt(.364 * .636 / 42000) = 0.0023
	 */
	CHECK(fabs((double) members / w.n_users - 0.3638) < 5 * 0.0023,
		  "member share is 36.4%% (%.4f)", (double) members / w.n_users);

	/* growth exp(ln 3 * d / 243): mean factor 2.79 in August vs 1.07 in January */
	CHECK((double) arrivals_aug / arrivals_jan > 2.2 && (double) arrivals_aug / arrivals_jan < 3.0,
		  "traffic grows: August arrivals / January arrivals = %.2f (model 2.6)",
		  (double) arrivals_aug / arrivals_jan);

	/* the summer sale multiplies arrivals by 1.6 over the growth curve */
	CHECK((double) arrivals_sale / arrivals_before_sale > 1.35,
		  "summer sale lifts arrivals (%.2f x the two weeks before, model 1.65)",
		  (double) arrivals_sale / arrivals_before_sale);

	/*
	 * weekday factors: weekend mean 0.81, weekday mean 1.026, so a weekend
	 * day has about 0.79 of a weekday's sessions
	 */
	CHECK((weekend_sessions / 2.0) / (weekday_sessions / 5.0) < 0.9 &&
		  (weekend_sessions / 2.0) / (weekday_sessions / 5.0) > 0.7,
		  "weekly seasonality: weekend day / weekday = %.3f (model 0.79)",
		  (weekend_sessions / 2.0) / (weekday_sessions / 5.0));

	/* diurnal weights 0.3 at 03:00 and 3.6 at 11:00 local time */
	CHECK(hour3 < 0.2 * hour11, "sessions follow the day: 03:00 / 11:00 = %.3f (model 0.08)",
		  (double) hour3 / hour11);

	/* Zipf(1.1) over 12 workspaces: the largest is 12^1.1 = 15 times the smallest */
	CHECK(ws_first > 5 * ws_last, "workspace sizes are skewed (%ld vs %ld)", ws_first, ws_last);

	/*
	 * The session rate alone is lognormal(sigma 0.9), whose top decile holds
	 * 1 - Phi(1.2816 - 0.9) = 35% of the mass; lifetimes only spread it more.
	 */
	qsort(member_sessions, members, sizeof(int), cmp_int_desc);
	for (i = 0; i < members / 10; i++)
		top_sessions += member_sessions[i];
	CHECK((double) top_sessions / total_member_sessions > 0.35,
		  "activity is heavy-tailed: top 10%% of members have %.1f%% of member sessions",
		  100.0 * top_sessions / total_member_sessions);

	/*
	 * Churn: alive at day 28 with probability .35 e^(-7) + .65 e^(-28/75) =
	 * 0.45, and active in a given week less often than that.
	 */
	CHECK((double) retained / cohort < 0.45 && (double) retained / cohort > 0.05,
		  "members churn: %.3f of a cohort is active in week 4", (double) retained / cohort);

	/* cart factor 1.60 for email vs 0.55 for display, and only members buy */
	CHECK((double) email_purchases / email_sessions > 2.0 * display_purchases / display_sessions,
		  "email sessions convert better than display (%.4f vs %.4f)",
		  (double) email_purchases / email_sessions, (double) display_purchases / display_sessions);
	free(member_sessions);
}

int
main(void)
{
	pa = malloc(sizeof(dg_person));
	pb = malloc(sizeof(dg_person));
	test_world();
	test_determinism();
	test_invariants();
	test_shape();
	free(pa);
	free(pb);
	return unit_done();
}
