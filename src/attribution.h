/*
 * attribution.h
 *		Model names and options shared by touch_credit, heuristic_attribution
 *		(attribution.c) and the report functions (report.c).
 */
#ifndef ANALYTICS_ATTRIBUTION_H
#define ANALYTICS_ATTRIBUTION_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "lib/rules.h"

/* the rule models are 0 .. RULE_NMODELS - 1; then the data-driven ones */
#define MODEL_MARKOV	RULE_NMODELS
#define MODEL_SHAPLEY	(RULE_NMODELS + 1)
#define N_MODELS		(RULE_NMODELS + 2)

extern const char *const attribution_model_names[N_MODELS];

/* where options are parsed: decides which extra options exist */
typedef enum opts_context
{
	OPTS_TOUCH_CREDIT,
	OPTS_HEURISTIC,
	OPTS_REPORT
} opts_context;

typedef struct ModelConfig
{
	int			model;
	rule_params rp;
	char	   *direct;			/* name of the direct channel */
	bool		per_touch;		/* touch_credit: one element per touch */
	int			lead_position;	/* heuristic w_shaped, 1-based, 0 = none */
	int			opportunity_position;
	int			order;			/* report, markov */
	bool		use_nulls;
	bool		collapse;
	char	   *method;			/* report, shapley */
	/* report: column names (defaults filled in) */
	char	   *touch_user;
	char	   *touch_channel;
	char	   *touch_time;
	char	   *touch_milestone;	/* NULL unless given */
	char	   *conv_id;
	char	   *conv_user;
	char	   *conv_time;
	char	   *conv_revenue;	/* NULL when mapped to null: revenue 0 */
} ModelConfig;

/*
 * The model named by t.  Rule models are always allowed; markov and
 * shapley only when data_driven.  Unknown names are an error listing the
 * valid ones.
 */
extern int	attribution_model(text *t, bool data_driven);

/* milestone flags from text: 'lead', 'opportunity' or both, comma-separated */
extern uint8 attribution_milestone(text *t);

/* parse options for model in ctx into cfg (defaults first) */
extern void attribution_options(Jsonb *options, int model, opts_context ctx,
								ModelConfig *cfg);

#endif							/* ANALYTICS_ATTRIBUTION_H */
