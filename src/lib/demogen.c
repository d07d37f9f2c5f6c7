/*
 * demogen.c
 *		The behavioural model behind the demo dataset (see docs/dataset.md).
 *
 * A person arrives on a day drawn from a growing, weekly-seasonal traffic
 * curve with two promotions, through an acquisition channel.  Some sign up
 * (members), the rest are visitors who come back a couple of times at most.
 * Members have a heavy-tailed session rate that decays with tenure, a
 * lifetime with early churn, and sometimes a resurrection stint.  Every
 * session starts with a touchpoint (click or direct visit); ad impressions
 * precede some sessions.  Inside a session people view, search, add to cart,
 * check out and purchase; the channel of the session and recent touches
 * raise or lower the chance to buy, which gives attribution models real
 * signal to find.
 */
#include "demogen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SECS_PER_DAY	INT64_C(86400)
#define SECS_PER_HOUR	INT64_C(3600)

const char *const dg_channel_names[DG_NCHANNELS] = {
	"search", "social", "email", "display", "direct", "affiliate",
	"referral", "video"
};

const char *const dg_event_names[DG_NEVENT_TYPES] = {
	"signup", "view", "search", "add_to_cart", "begin_checkout", "purchase"
};

const char *const dg_interaction_names[DG_NINTERACTIONS] = {
	"impression", "click", "visit"
};

const char *const dg_device_names[DG_NDEVICES] = {"desktop", "mobile", "tablet"};

const char *const dg_plan_names[DG_NPLANS] = {"free", "pro", "enterprise"};

const dg_country dg_countries[DG_NCOUNTRIES] = {
	{"US", "America/New_York", -300, 0.30},
	{"IN", "Asia/Kolkata", 330, 0.12},
	{"GB", "Europe/London", 0, 0.10},
	{"DE", "Europe/Berlin", 60, 0.09},
	{"BR", "America/Sao_Paulo", -180, 0.08},
	{"FR", "Europe/Paris", 60, 0.06},
	{"CA", "America/Toronto", -300, 0.06},
	{"JP", "Asia/Tokyo", 540, 0.06},
	{"AU", "Australia/Sydney", 600, 0.05},
	{"ES", "Europe/Madrid", 60, 0.04},
	{"MX", "America/Mexico_City", -360, 0.04},
};

/* day 0 = 2026-01-01; Mar 1 = 59, Apr 1 = 90, Jun 1 = 151, Jul 1 = 181 */
const dg_campaign dg_campaigns[DG_NCAMPAIGNS] = {
	{1, DG_CH_SEARCH, "brand_search", 0, 242, 3.0, 400},
	{2, DG_CH_SEARCH, "generic_search", 0, 242, 4.0, 900},
	{3, DG_CH_SEARCH, "competitor_search", 59, 242, 1.5, 300},
	{4, DG_CH_SOCIAL, "social_prospecting", 0, 242, 3.0, 500},
	{5, DG_CH_SOCIAL, "influencer_spring", 59, 119, 2.0, 350},
	{6, DG_CH_SOCIAL, "summer_ugc", 165, 242, 2.0, 300},
	{7, DG_CH_EMAIL, "newsletter", 0, 242, 3.0, 50},
	{8, DG_CH_EMAIL, "onboarding_drip", 0, 242, 2.0, 20},
	{9, DG_CH_EMAIL, "winback", 90, 242, 1.0, 20},
	{10, DG_CH_EMAIL, "summer_sale_email", 181, 199, 3.0, 40},
	{11, DG_CH_DISPLAY, "retargeting", 0, 242, 3.0, 350},
	{12, DG_CH_DISPLAY, "prospecting_banners", 0, 242, 2.0, 450},
	{13, DG_CH_DISPLAY, "summer_sale_banners", 181, 199, 3.0, 600},
	{14, DG_CH_AFFILIATE, "coupon_partners", 0, 242, 2.0, 200},
	{15, DG_CH_AFFILIATE, "review_sites", 0, 242, 2.0, 150},
	{16, DG_CH_REFERRAL, "partner_blogs", 0, 242, 2.0, 0},
	{17, DG_CH_REFERRAL, "refer_a_friend", 31, 242, 2.0, 100},
	{18, DG_CH_VIDEO, "youtube_preroll", 0, 242, 3.0, 700},
	{19, DG_CH_VIDEO, "brand_story", 14, 89, 2.0, 500},
	{20, DG_CH_VIDEO, "ctv_summer", 151, 242, 2.0, 800},
};

/* Monday .. Sunday */
static const double weekday_weights[7] = {1.00, 1.06, 1.08, 1.04, 0.95, 0.78, 0.84};
#define WEEKDAY_MAX 1.08

/* local hour of day 0..23 */
static const double hour_weights[24] = {
	1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.0, 1.8, 2.6, 3.2, 3.5, 3.6,
	3.4, 3.5, 3.4, 3.2, 3.0, 2.9, 3.0, 3.4, 3.8, 3.6, 2.8, 1.9
};

static const double device_weights[DG_NDEVICES] = {0.55, 0.38, 0.07};

/* indexed by dg_channel: search social email display direct affiliate referral video */
static const double acquisition_weights[DG_NCHANNELS] =
{0.26, 0.17, 0.05, 0.10, 0.17, 0.07, 0.09, 0.09};
static const double returning_member_weights[DG_NCHANNELS] =
{0.18, 0.10, 0.18, 0.05, 0.34, 0.04, 0.05, 0.06};
static const double returning_visitor_weights[DG_NCHANNELS] =
{0.22, 0.12, 0.00, 0.06, 0.42, 0.05, 0.06, 0.07};
static const double impression_weights[DG_NCHANNELS] =
{0.00, 0.20, 0.00, 0.45, 0.00, 0.00, 0.00, 0.35};
static const double signup_probability[DG_NCHANNELS] =
{0.45, 0.25, 0.55, 0.15, 0.40, 0.35, 0.55, 0.22};
/* multiplier on the chance that a session adds to cart */
static const double channel_cart_factor[DG_NCHANNELS] =
{1.35, 0.75, 1.60, 0.55, 1.15, 1.45, 1.30, 0.65};

/* plan index -> order value multiplier */
static const double plan_revenue_factor[DG_NPLANS] = {0.8, 1.0, 1.6};

static const char *const workspace_names[] = {
	"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Goods",
	"Wayne Retail", "Soylent", "Vandelay", "Wonka", "Cyberdyne", "Tyrell",
	"Aperture", "Black Mesa", "Gringotts", "Monarch", "Oscorp", "Pied Piper",
	"Prestige", "Sirius", "Virtucon", "Wernham", "Zorg", "Duff", "Gekko",
	"Kramerica", "Nakatomi", "Ollivander", "Paper Street", "Rekall",
	"Sterling", "Bluth", "Dunder", "Frobozz", "Genco", "Ingen", "Lacuna",
	"Massive Dynamic", "Nuka", "Octan"
};
#define N_WORKSPACE_NAMES ((int) (sizeof(workspace_names) / sizeof(workspace_names[0])))

/* promotions: arrivals and purchases rise on these days */
#define SPRING_FIRST	74			/* 2026-03-16 .. 03-22 */
#define SPRING_LAST		80
#define SUMMER_FIRST	186			/* 2026-07-06 .. 07-19 */
#define SUMMER_LAST		199

static inline int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int
dg_day_dow(int64_t day)
{
	/* 2026-01-01 is a Thursday: ISO index 3 with Monday = 0 */
	int64_t		m = (day + 3) % 7;

	return (int) (m < 0 ? m + 7 : m);
}

double
dg_weekday_factor(int iso_dow_0)
{
	return weekday_weights[iso_dow_0];
}

static bool
in_summer_sale(int64_t day)
{
	return day >= SUMMER_FIRST && day <= SUMMER_LAST;
}

const char *
dg_world_init(dg_world *w, double scale, uint64_t seed)
{
	double		weights[DG_DAYS > DG_MAX_WORKSPACES ? DG_DAYS : DG_MAX_WORKSPACES];
	double		growth = log(3.0) / DG_DAYS;	/* traffic triples over the period */
	double		countries[DG_NCOUNTRIES];
	double		users;
	int			i;

	if (!(scale > 0.0) || isinf(scale))
		return "scale must be a positive finite number";
	if (scale > DG_MAX_SCALE)
		return "scale is too large";

	memset(w, 0, sizeof(*w));
	w->scale = scale;
	w->seed = seed;
	users = round(scale * DG_USERS_PER_SCALE);
	w->n_users = users < 1.0 ? 1 : (int64_t) users;
	w->n_workspaces = (int32_t) lround(12.0 * sqrt(scale));
	if (w->n_workspaces < 2)
		w->n_workspaces = 2;
	if (w->n_workspaces > DG_MAX_WORKSPACES)
		w->n_workspaces = DG_MAX_WORKSPACES;

	/* workspace sizes follow Zipf(1.1) */
	for (i = 0; i < w->n_workspaces; i++)
		weights[i] = pow(i + 1, -1.1);
	an_cumulate(weights, w->workspace_cum, w->n_workspaces);

	/* arrivals: exponential growth x weekday x promotions */
	for (i = 0; i < DG_DAYS; i++)
	{
		double		f = exp(growth * i) * weekday_weights[dg_day_dow(i)];

		if (i >= SPRING_FIRST && i <= SPRING_LAST)
			f *= 1.35;
		if (in_summer_sale(i))
			f *= 1.6;
		weights[i] = f;
	}
	an_cumulate(weights, w->arrival_cum, DG_DAYS);

	an_cumulate(hour_weights, w->hour_cum, 24);
	for (i = 0; i < DG_NCOUNTRIES; i++)
		countries[i] = dg_countries[i].weight;
	an_cumulate(countries, w->country_cum, DG_NCOUNTRIES);
	an_cumulate(device_weights, w->device_cum, DG_NDEVICES);
	an_cumulate(acquisition_weights, w->acquisition_cum, DG_NCHANNELS);
	an_cumulate(returning_member_weights, w->returning_member_cum, DG_NCHANNELS);
	an_cumulate(returning_visitor_weights, w->returning_visitor_cum, DG_NCHANNELS);
	an_cumulate(impression_weights, w->impression_cum, DG_NCHANNELS);
	return NULL;
}

/* uniform double in [0,1) from a hash of (seed, salt, id) */
static double
hash_uniform(uint64_t seed, uint64_t salt, uint64_t id)
{
	uint64_t	h = an_mix64(seed ^ an_mix64(salt ^ an_mix64(id)));

	return (double) (h >> 11) * 0x1.0p-53;
}

void
dg_workspace_info(const dg_world *w, int32_t id, dg_workspace *out)
{
	double		u = hash_uniform(w->seed, UINT64_C(0x5753), (uint64_t) id);
	double		age = hash_uniform(w->seed, UINT64_C(0x4147), (uint64_t) id);
	int			base = (id - 1) % N_WORKSPACE_NAMES;
	int			round_ = (id - 1) / N_WORKSPACE_NAMES;

	out->id = id;
	if (round_ == 0)
		snprintf(out->name, sizeof(out->name), "%s", workspace_names[base]);
	else
		snprintf(out->name, sizeof(out->name), "%s %d", workspace_names[base], round_ + 1);
	out->plan = u < 0.15 ? 2 : (u < 0.60 ? 1 : 0);
	out->created_at = DG_START_EPOCH - (int64_t) (30 + floor(age * 700)) * SECS_PER_DAY
		- (int64_t) floor(hash_uniform(w->seed, UINT64_C(0x544f44), (uint64_t) id) * SECS_PER_DAY);
}

/* The simulation state of one person beyond what dg_person records. */
typedef struct sim
{
	const dg_world *w;
	an_rng		rng;
	dg_person  *p;
	int			offset_secs;	/* local = utc + offset */
	double		intent;			/* multiplier on purchase propensity */
	double		revenue_factor;
} sim;

static int64_t
local_day_of(const sim *s, int64_t utc)
{
	return floor_div(utc + s->offset_secs - DG_START_EPOCH, SECS_PER_DAY);
}

/* a UTC time on local day `day` with the hour drawn from the diurnal curve */
static int64_t
time_on_local_day(sim *s, int64_t day)
{
	int			hour = an_rng_pick(&s->rng, s->w->hour_cum, 24);
	int64_t		sec = hour * SECS_PER_HOUR + (int64_t) an_rng_below(&s->rng, 3600);

	return DG_START_EPOCH + day * SECS_PER_DAY + sec - s->offset_secs;
}

/* a campaign of channel ch live on (UTC) day `day`, or 0 */
static int
pick_campaign(sim *s, int ch, int64_t day)
{
	double		total = 0.0,
				x;
	int			i;

	for (i = 0; i < DG_NCAMPAIGNS; i++)
		if ((int) dg_campaigns[i].channel == ch &&
			day >= dg_campaigns[i].first_day && day <= dg_campaigns[i].last_day)
			total += dg_campaigns[i].weight;
	if (total <= 0.0)
		return 0;
	x = an_rng_uniform(&s->rng) * total;
	for (i = 0; i < DG_NCAMPAIGNS; i++)
		if ((int) dg_campaigns[i].channel == ch &&
			day >= dg_campaigns[i].first_day && day <= dg_campaigns[i].last_day)
		{
			x -= dg_campaigns[i].weight;
			if (x < 0.0)
				return dg_campaigns[i].id;
		}
	/* rounding: the last live campaign */
	for (i = DG_NCAMPAIGNS - 1; i >= 0; i--)
		if ((int) dg_campaigns[i].channel == ch &&
			day >= dg_campaigns[i].first_day && day <= dg_campaigns[i].last_day)
			return dg_campaigns[i].id;
	return 0;
}

static void
add_touch(sim *s, int64_t ts, int session, int ch, int interaction)
{
	dg_person  *p = s->p;
	dg_touch   *t = &p->touches[p->n_touches++];

	t->ts = ts;
	t->session = session;
	t->channel = (int16_t) ch;
	t->interaction = (int16_t) interaction;
	t->campaign = (int16_t) (ch == DG_CH_DIRECT ? 0 :
							 pick_campaign(s, ch, floor_div(ts - DG_START_EPOCH, SECS_PER_DAY)));
}

/*
 * Marketing touches (impressions and non-direct clicks) in the 7 days before
 * `ts`, not counting the last touch (the session's own).  Touches are
 * appended session by session and a session's impressions precede it by at
 * most 72 hours, so the backward scan can stop at the first session touch
 * older than the window.
 */
static int
recent_assists(const sim *s, int64_t ts)
{
	const dg_person *p = s->p;
	int64_t		from = ts - 7 * SECS_PER_DAY;
	int			n = 0,
				i;

	for (i = p->n_touches - 2; i >= 0; i--)
	{
		const dg_touch *t = &p->touches[i];

		if (t->session >= 0 && t->ts < from)
			break;
		if (t->ts >= from && t->ts < ts && t->interaction != DG_INT_VISIT)
			n++;
	}
	return n;
}

/* append an event if it falls inside the calendar */
static bool
add_event(sim *s, int64_t ts, int session, int type, int64_t revenue_cents)
{
	dg_person  *p = s->p;
	dg_event   *e;

	if (ts >= DG_END_EPOCH)
		return false;
	e = &p->events[p->n_events++];
	e->ts = ts;
	e->session = session;
	e->type = (int16_t) type;
	e->revenue_cents = revenue_cents;
	return true;
}

static int64_t
event_gap(sim *s)
{
	return 5 + (int64_t) an_rng_exponential(&s->rng, 40.0);
}

/* one session starting at ts: touches, then events */
static void
simulate_session(sim *s, int64_t ts)
{
	dg_person  *p = s->p;
	int			idx = p->n_sessions;
	dg_session *sess = &p->sessions[idx];
	int64_t		day = floor_div(ts - DG_START_EPOCH, SECS_PER_DAY);
	int64_t		t = ts;
	int			ch,
				n_views,
				assists,
				i;
	double		p_cart;

	if (idx == 0)
		ch = p->acquisition_channel;
	else if (an_rng_uniform(&s->rng) < 0.2)
		ch = p->acquisition_channel;
	else
		ch = an_rng_pick(&s->rng, p->member ? s->w->returning_member_cum
						 : s->w->returning_visitor_cum, DG_NCHANNELS);

	/* ad impressions in the 1..72 hours before the session */
	if (an_rng_uniform(&s->rng) < 0.2)
	{
		int			n_imp = an_rng_uniform(&s->rng) < 0.3 ? 2 : 1;

		for (i = 0; i < n_imp; i++)
		{
			int			ich = an_rng_pick(&s->rng, s->w->impression_cum, DG_NCHANNELS);
			int64_t		its = ts - SECS_PER_HOUR - (int64_t) an_rng_below(&s->rng, 71 * 3600);

			if (its >= DG_START_EPOCH)
				add_touch(s, its, -1, ich, DG_INT_IMPRESSION);
		}
	}
	add_touch(s, ts, idx, ch, ch == DG_CH_DIRECT ? DG_INT_VISIT : DG_INT_CLICK);
	assists = recent_assists(s, ts);

	p->n_sessions++;
	sess->start = ts;
	sess->channel = (int16_t) ch;
	sess->campaign = p->touches[p->n_touches - 1].campaign;
	sess->first_event = p->n_events;

	add_event(s, t, idx, DG_EV_VIEW, 0);
	if (p->member && idx == 0)
	{
		t += event_gap(s);
		if (add_event(s, t, idx, DG_EV_SIGNUP, 0))
			p->signup_at = t;
	}
	if (an_rng_uniform(&s->rng) < 0.35)
	{
		t += event_gap(s);
		add_event(s, t, idx, DG_EV_SEARCH, 0);
	}
	n_views = (int) an_rng_geometric(&s->rng, 0.2);
	if (n_views > 40)
		n_views = 40;
	for (i = 0; i < n_views; i++)
	{
		t += event_gap(s);
		add_event(s, t, idx, DG_EV_VIEW, 0);
	}

	p_cart = 0.26 * s->intent * channel_cart_factor[ch] *
		(1.0 + 0.12 * (assists < 4 ? assists : 4));
	if (!p->member)
		p_cart *= 0.4;
	if (p_cart > 0.85)
		p_cart = 0.85;
	if (an_rng_uniform(&s->rng) < p_cart)
	{
		t += event_gap(s);
		if (add_event(s, t, idx, DG_EV_ADD_TO_CART, 0) && p->member &&
			an_rng_uniform(&s->rng) < 0.62)
		{
			t += event_gap(s);
			if (add_event(s, t, idx, DG_EV_BEGIN_CHECKOUT, 0) &&
				an_rng_uniform(&s->rng) < (in_summer_sale(day) ? 0.83 : 0.72))
			{
				double		amount = an_rng_lognormal(&s->rng, log(4800.0), 0.75) *
					s->revenue_factor * (in_summer_sale(day) ? 0.85 : 1.0);
				int64_t		cents = (int64_t) llround(amount);

				if (cents < 100)
					cents = 100;
				t += event_gap(s);
				if (add_event(s, t, idx, DG_EV_PURCHASE, cents))
				{
					dg_conversion *c = &p->conversions[p->n_conversions++];

					c->ts = t;
					c->revenue_cents = cents;
					c->event = p->n_events - 1;
					c->session = idx;
				}
			}
		}
	}
	sess->n_events = p->n_events - sess->first_event;
	sess->end = p->events[p->n_events - 1].ts;
}

/* room for one more session of the largest possible size */
static bool
has_room(const dg_person *p)
{
	return p->n_sessions < DG_MAX_SESSIONS &&
		p->n_events + 48 <= DG_MAX_EVENTS &&
		p->n_touches + 3 <= DG_MAX_TOUCHES &&
		p->n_conversions < DG_MAX_CONVERSIONS;
}

/* stable insertion sort of touches by time (they are nearly sorted) */
static void
sort_touches(dg_person *p)
{
	int			i,
				j;

	for (i = 1; i < p->n_touches; i++)
	{
		dg_touch	t = p->touches[i];

		for (j = i; j > 0 && p->touches[j - 1].ts > t.ts; j--)
			p->touches[j] = p->touches[j - 1];
		p->touches[j] = t;
	}
}

void
dg_simulate_person(const dg_world *w, int64_t user_id, dg_person *p)
{
	sim			s;
	int64_t		first,
				stint_end,
				t,
				last_end;
	int64_t		res_start = 0,
				res_end = 0;
	bool		resurrects = false;
	double		rate;			/* sessions per week */
	int			d0;
	dg_workspace ws;

	s.w = w;
	s.p = p;
	an_rng_seed(&s.rng, an_mix64(w->seed) ^ an_mix64((uint64_t) user_id * UINT64_C(0x9e3779b97f4a7c15)));

	p->user_id = user_id;
	p->n_sessions = p->n_events = p->n_touches = p->n_conversions = 0;
	p->signup_at = -1;
	p->workspace = 1 + an_rng_pick(&s.rng, w->workspace_cum, w->n_workspaces);
	p->country = (int16_t) an_rng_pick(&s.rng, w->country_cum, DG_NCOUNTRIES);
	p->device = (int16_t) an_rng_pick(&s.rng, w->device_cum, DG_NDEVICES);
	p->acquisition_channel = (int16_t) an_rng_pick(&s.rng, w->acquisition_cum, DG_NCHANNELS);
	p->member = an_rng_uniform(&s.rng) < signup_probability[p->acquisition_channel];
	s.offset_secs = dg_countries[p->country].utc_offset_min * 60;
	s.intent = an_rng_lognormal(&s.rng, 0.0, 0.6);
	dg_workspace_info(w, p->workspace, &ws);
	s.revenue_factor = plan_revenue_factor[ws.plan];
	rate = an_rng_lognormal(&s.rng, log(1.3), 0.9);
	if (rate < 0.1)
		rate = 0.1;
	if (rate > 35.0)
		rate = 35.0;

	d0 = an_rng_pick(&s.rng, w->arrival_cum, DG_DAYS);
	first = time_on_local_day(&s, d0);
	if (first < DG_START_EPOCH)
		first = DG_START_EPOCH + (int64_t) an_rng_below(&s.rng, 3600);
	if (first >= DG_END_EPOCH)
		first = DG_END_EPOCH - 1 - (int64_t) an_rng_below(&s.rng, 3600);
	p->first_seen = first;

	if (p->member)
	{
		double		life = an_rng_uniform(&s.rng) < 0.35
			? an_rng_exponential(&s.rng, 4.0)
			: an_rng_exponential(&s.rng, 75.0);

		stint_end = first + (int64_t) (life * SECS_PER_DAY);
		if (an_rng_uniform(&s.rng) < 0.18)
		{
			res_start = stint_end + (int64_t) ((14.0 + 46.0 * an_rng_uniform(&s.rng)) * SECS_PER_DAY);
			res_end = res_start + (int64_t) (an_rng_exponential(&s.rng, 21.0) * SECS_PER_DAY);
			resurrects = res_start < DG_END_EPOCH;
		}
	}
	else
	{
		stint_end = first + 14 * SECS_PER_DAY;
		rate = 0.9;
	}

	simulate_session(&s, first);
	last_end = p->sessions[0].end;
	t = first;
	while (has_room(p))
	{
		double		tenure = (double) (t - first) / SECS_PER_DAY;
		double		eff = rate * (0.55 + 0.45 * exp(-tenure / 21.0));
		int64_t		day,
					ts;

		t += (int64_t) an_rng_exponential(&s.rng, 7.0 * SECS_PER_DAY / eff);
		if (t > stint_end)
		{
			if (!resurrects)
				break;
			t = res_start;
			stint_end = res_end;
			resurrects = false;
		}
		if (t >= DG_END_EPOCH)
			break;
		day = local_day_of(&s, t);
		if (an_rng_uniform(&s.rng) * WEEKDAY_MAX >= weekday_weights[dg_day_dow(day)])
			continue;
		ts = time_on_local_day(&s, day);
		if (ts < last_end + 600)
			ts = last_end + 600 + (int64_t) an_rng_below(&s.rng, 3600);
		if (ts >= DG_END_EPOCH)
			break;
		simulate_session(&s, ts);
		last_end = p->sessions[p->n_sessions - 1].end;
		if (ts > t)
			t = ts;
	}
	sort_touches(p);
}
