/*
 * rules.h
 *		Rule-based attribution: the credit of each touch of one conversion.
 *
 * Touches are given in time order (index 0 is the first touch).  Every model
 * returns credits >= 0 that sum to 1 (up to rounding) for n >= 1:
 *
 *	first_touch		1 to the first touch
 *	last_touch		1 to the last touch
 *	last_non_direct	1 to the last touch whose channel is not the direct
 *					channel; when every touch is direct, to the last touch
 *	linear			1/n to every touch (a channel touched twice gets two shares)
 *	time_decay		weight 2^(-age / half_life), age = conversion time - touch
 *					time, normalised; computed relative to the newest touch so
 *					very old touches cannot underflow every weight to zero
 *	position_based	first, middle, last shares (default 0.4 / 0.2 / 0.4): one
 *					touch gets 1; two touches split first : last in proportion
 *					(50/50 with the defaults); from three touches the middle
 *					share is spread evenly over the middle touches
 *	w_shaped		0.3 each to the first touch, the lead-creation touch and the
 *					opportunity-creation touch (the first touch flagged
 *					RULE_MILESTONE_LEAD / _OPPORTUNITY), 0.1 spread evenly over
 *					the other touches.  A touch holding several milestones gets
 *					their sum.  A missing milestone's share joins the 0.1 of
 *					the other touches; when there are no other touches, that
 *					pool is spread evenly over the milestone touches
 *	custom			caller weights by position from the first touch (or from
 *					the last when custom_from_last); a path longer than the
 *					weights repeats the last weight; normalised per path
 */
#ifndef ANALYTICS_RULES_H
#define ANALYTICS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rule_model
{
	RULE_FIRST_TOUCH,
	RULE_LAST_TOUCH,
	RULE_LAST_NON_DIRECT,
	RULE_LINEAR,
	RULE_TIME_DECAY,
	RULE_POSITION_BASED,
	RULE_W_SHAPED,
	RULE_CUSTOM,
	RULE_NMODELS
} rule_model;

extern const char *const rule_model_names[RULE_NMODELS];

#define RULE_MILESTONE_LEAD			0x01
#define RULE_MILESTONE_OPPORTUNITY	0x02

typedef struct rule_params
{
	double		half_life;		/* time_decay, seconds, > 0 */
	double		first_weight;	/* position_based shares, summing to 1 */
	double		middle_weight;
	double		last_weight;
	double		w_first;		/* w_shaped shares, summing to 1 with w_rest */
	double		w_lead;
	double		w_opportunity;
	double		w_rest;
	const double *custom_weights;	/* custom: >= 0, finite */
	int			n_custom_weights;
	bool		custom_from_last;
	int32_t		direct_channel; /* last_non_direct: channel id, or -1 */
} rule_params;

/* defaults: half-life 7 days, 40/20/40, 30/30/30/10, no custom weights */
extern void rule_default_params(rule_params *p);

/* the model named `name`, or -1 */
extern int	rule_model_from_name(const char *name);

/*
 * Credit of each of the n touches into credit[0 .. n-1].  channels are used
 * by last_non_direct, age (seconds, >= 0) by time_decay, milestones by
 * w_shaped; the others may be NULL when the model does not use them.
 * Returns false with a message in err (lower case) when the input cannot be
 * attributed: n < 1, custom weights that give a path no weight.
 */
extern bool rule_credit(rule_model model, const rule_params *p, int n,
						const int32_t *channels, const double *age,
						const uint8_t *milestones, double *credit,
						char *err, size_t errlen);

#endif							/* ANALYTICS_RULES_H */
