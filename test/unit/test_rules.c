/*
 * test_rules.c
 *		Unit tests of the rule-based models (src/lib/rules.c); every expected
 *		credit is worked out by hand in the comment beside it.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rules.h"
#include "unit.h"

#define EPS 1e-12

static int
close_all(const double *got, const double *want, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (fabs(got[i] - want[i]) > EPS)
		{
			NOTE("index %d: got %.15g, want %.15g", i, got[i], want[i]);
			return 0;
		}
	return 1;
}

static double
sum(const double *x, int n)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < n; i++)
		s += x[i];
	return s;
}

int
main(void)
{
	rule_params p;
	double		c[8];
	char		err[128];
	/* channels: 0 search, 1 direct, 2 email */
	const int32_t ch[5] = {0, 2, 1, 0, 1};
	const int32_t all_direct[3] = {1, 1, 1};

	rule_default_params(&p);
	p.direct_channel = 1;

	CHECK(rule_model_from_name("w_shaped") == RULE_W_SHAPED &&
		  rule_model_from_name("linear") == RULE_LINEAR &&
		  rule_model_from_name("nope") == -1, "model names resolve");

	rule_credit(RULE_FIRST_TOUCH, &p, 5, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {1, 0, 0, 0, 0}, 5), "first_touch credits the first touch");
	rule_credit(RULE_LAST_TOUCH, &p, 5, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0, 0, 0, 0, 1}, 5), "last_touch credits the last touch");

	/* the last touch (index 4) is direct, index 3 is search */
	rule_credit(RULE_LAST_NON_DIRECT, &p, 5, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0, 0, 0, 1, 0}, 5), "last_non_direct skips trailing direct touches");
	rule_credit(RULE_LAST_NON_DIRECT, &p, 3, all_direct, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0, 0, 1}, 3), "an all-direct journey credits its last direct touch");

	rule_credit(RULE_LINEAR, &p, 4, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0.25, 0.25, 0.25, 0.25}, 4), "linear gives 1/n per touch");

	{
		/*
		 * ages 14, 7 and 0 days with a 7-day half-life: weights 1/4, 1/2, 1,
		 * total 7/4, credits 1/7, 2/7, 4/7
		 */
		double		age[3] = {14 * 86400.0, 7 * 86400.0, 0.0};
		/* same shape 1000 half-lives in the past: relative weights are unchanged */
		double		old[3] = {1014 * 7 * 86400.0, 1013 * 7 * 86400.0, 1012 * 7 * 86400.0};

		rule_credit(RULE_TIME_DECAY, &p, 3, ch, age, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {1.0 / 7, 2.0 / 7, 4.0 / 7}, 3), "time_decay halves weight per half-life");
		rule_credit(RULE_TIME_DECAY, &p, 3, ch, old, NULL, c, err, sizeof(err));
		/* 2 days per step with a 1-day half-life */
		CHECK(fabs(sum(c, 3) - 1.0) < EPS && c[0] > 0 && fabs(c[2] / c[0] - 4.0) < 1e-9,
			  "time_decay does not underflow for old touches");
		p.half_life = 86400.0;
		rule_credit(RULE_TIME_DECAY, &p, 3, ch, (double[]) {4 * 86400.0, 2 * 86400.0, 0}, NULL, c, err, sizeof(err));
		/* weights 1/16, 1/4, 1: total 21/16 */
		CHECK(close_all(c, (double[]) {1.0 / 21, 4.0 / 21, 16.0 / 21}, 3), "time_decay honours the half-life");
		p.half_life = 7 * 86400.0;
	}

	rule_credit(RULE_POSITION_BASED, &p, 1, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {1}, 1), "position_based: one touch gets everything");
	rule_credit(RULE_POSITION_BASED, &p, 2, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0.5, 0.5}, 2), "position_based: two touches split 50/50");
	rule_credit(RULE_POSITION_BASED, &p, 5, ch, NULL, NULL, c, err, sizeof(err));
	/* 0.4 first, 0.4 last, 0.2 / 3 for each of the three middle touches */
	CHECK(close_all(c, (double[]) {0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4}, 5), "position_based: 40/20/40");
	p.first_weight = 0.3;
	p.middle_weight = 0.6;
	p.last_weight = 0.1;
	rule_credit(RULE_POSITION_BASED, &p, 2, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0.75, 0.25}, 2), "position_based 30/60/10: two touches split 3:1");
	rule_credit(RULE_POSITION_BASED, &p, 3, ch, NULL, NULL, c, err, sizeof(err));
	CHECK(close_all(c, (double[]) {0.3, 0.6, 0.1}, 3), "position_based 30/60/10 over three touches");
	rule_default_params(&p);
	p.direct_channel = 1;

	{
		uint8_t		m[5] = {0, 0, RULE_MILESTONE_LEAD, 0, RULE_MILESTONE_OPPORTUNITY};
		uint8_t		both_first[3] = {RULE_MILESTONE_LEAD, 0, RULE_MILESTONE_OPPORTUNITY};
		uint8_t		none[3] = {0, 0, 0};
		uint8_t		two[2] = {0, RULE_MILESTONE_LEAD | RULE_MILESTONE_OPPORTUNITY};

		/* first 0.3, lead (2) 0.3, opportunity (4) 0.3, touches 1 and 3 share 0.1 */
		rule_credit(RULE_W_SHAPED, &p, 5, ch, NULL, m, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.3, 0.05, 0.3, 0.05, 0.3}, 5), "w_shaped 30/30/30 + 10 over the rest");
		/* lead on the first touch: 0.6 there, 0.3 on the opportunity, 0.1 on touch 1 */
		rule_credit(RULE_W_SHAPED, &p, 3, ch, NULL, both_first, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.6, 0.1, 0.3}, 3), "w_shaped: a touch holding two milestones gets both shares");
		/* no milestones: first 0.3, the other 0.7 spread over touches 1 and 2 */
		rule_credit(RULE_W_SHAPED, &p, 3, ch, NULL, none, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.3, 0.35, 0.35}, 3), "w_shaped: missing milestones join the rest pool");
		/* touch 1 is lead and opportunity: 0.3 + 0.6, no other touches, pool 0.1 over both */
		rule_credit(RULE_W_SHAPED, &p, 2, ch, NULL, two, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.35, 0.65}, 2), "w_shaped: without other touches the pool goes to the milestones");
		rule_credit(RULE_W_SHAPED, &p, 1, ch, NULL, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {1}, 1), "w_shaped: a single touch gets everything");
	}

	{
		double		w[3] = {0.5, 0.3, 0.2};
		double		zero_first[2] = {0, 1};

		p.custom_weights = w;
		p.n_custom_weights = 3;
		rule_credit(RULE_CUSTOM, &p, 3, ch, NULL, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.5, 0.3, 0.2}, 3), "custom weights by position");
		/* two touches use 0.5 and 0.3: 5/8, 3/8 */
		rule_credit(RULE_CUSTOM, &p, 2, ch, NULL, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.625, 0.375}, 2), "custom weights truncated and normalised");
		/* five touches: 0.5 0.3 0.2 0.2 0.2, total 1.4 */
		rule_credit(RULE_CUSTOM, &p, 5, ch, NULL, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.5 / 1.4, 0.3 / 1.4, 0.2 / 1.4, 0.2 / 1.4, 0.2 / 1.4}, 5),
			  "custom weights repeat the last weight");
		p.custom_from_last = true;
		/* from the last touch: positions (first..last) get 0.2 0.3 0.5 */
		rule_credit(RULE_CUSTOM, &p, 3, ch, NULL, NULL, c, err, sizeof(err));
		CHECK(close_all(c, (double[]) {0.2, 0.3, 0.5}, 3), "custom weights anchored at the last touch");
		p.custom_from_last = false;
		p.custom_weights = zero_first;
		p.n_custom_weights = 2;
		CHECK(!rule_credit(RULE_CUSTOM, &p, 1, ch, NULL, NULL, c, err, sizeof(err)) &&
			  strstr(err, "no weight") != NULL, "custom weights giving a path no weight are an error (%s)", err);
		p.custom_weights = NULL;
		CHECK(!rule_credit(RULE_CUSTOM, &p, 1, ch, NULL, NULL, c, err, sizeof(err)),
			  "custom without weights is an error");
	}

	CHECK(!rule_credit(RULE_LINEAR, &p, 0, ch, NULL, NULL, c, err, sizeof(err)),
		  "no touches is an error (%s)", err);
	return unit_done();
}
