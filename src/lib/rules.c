/*
 * rules.c
 *		Rule-based attribution models (see rules.h for the definitions).
 */
#include "rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const rule_model_names[RULE_NMODELS] = {
	"first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
	"position_based", "w_shaped", "custom"
};

void
rule_default_params(rule_params *p)
{
	memset(p, 0, sizeof(*p));
	p->half_life = 7.0 * 86400.0;
	p->first_weight = 0.4;
	p->middle_weight = 0.2;
	p->last_weight = 0.4;
	p->w_first = 0.3;
	p->w_lead = 0.3;
	p->w_opportunity = 0.3;
	p->w_rest = 0.1;
	p->direct_channel = -1;
}

int
rule_model_from_name(const char *name)
{
	int			i;

	for (i = 0; i < RULE_NMODELS; i++)
		if (strcmp(name, rule_model_names[i]) == 0)
			return i;
	return -1;
}

static void
zero(double *credit, int n)
{
	memset(credit, 0, sizeof(double) * n);
}

/* w_shaped: milestone shares, the rest pool spread over the other touches */
static void
w_shaped(const rule_params *p, int n, const uint8_t *milestones, double *credit)
{
	int			lead = -1,
				opp = -1,
				i,
				others = 0,
				marked = 0;
	double		pool = p->w_rest;

	zero(credit, n);
	for (i = 0; i < n && milestones; i++)
	{
		if (lead < 0 && (milestones[i] & RULE_MILESTONE_LEAD))
			lead = i;
		if (opp < 0 && (milestones[i] & RULE_MILESTONE_OPPORTUNITY))
			opp = i;
	}
	credit[0] += p->w_first;
	if (lead >= 0)
		credit[lead] += p->w_lead;
	else
		pool += p->w_lead;
	if (opp >= 0)
		credit[opp] += p->w_opportunity;
	else
		pool += p->w_opportunity;

	for (i = 0; i < n; i++)
	{
		if (i == 0 || i == lead || i == opp)
			marked++;
		else
			others++;
	}
	for (i = 0; i < n; i++)
	{
		bool		is_milestone = (i == 0 || i == lead || i == opp);

		if (others > 0 && !is_milestone)
			credit[i] += pool / others;
		else if (others == 0 && is_milestone)
			credit[i] += pool / marked;
	}
}

/* custom: weights by position, repeating the last one, normalised */
static bool
custom(const rule_params *p, int n, double *credit, char *err, size_t errlen)
{
	double		total = 0.0;
	int			i;

	if (p->n_custom_weights < 1 || p->custom_weights == NULL)
	{
		snprintf(err, errlen, "the custom model needs position weights");
		return false;
	}
	for (i = 0; i < n; i++)
	{
		int			pos = p->custom_from_last ? n - 1 - i : i;
		int			w = pos < p->n_custom_weights ? pos : p->n_custom_weights - 1;

		credit[i] = p->custom_weights[w];
		total += credit[i];
	}
	if (!(total > 0.0))
	{
		snprintf(err, errlen, "the custom weights give a path of %d touch%s no weight",
				 n, n == 1 ? "" : "es");
		return false;
	}
	for (i = 0; i < n; i++)
		credit[i] /= total;
	return true;
}

bool
rule_credit(rule_model model, const rule_params *p, int n,
			const int32_t *channels, const double *age,
			const uint8_t *milestones, double *credit,
			char *err, size_t errlen)
{
	int			i;

	if (n < 1)
	{
		snprintf(err, errlen, "a conversion needs at least one touch to attribute");
		return false;
	}
	switch (model)
	{
		case RULE_FIRST_TOUCH:
			zero(credit, n);
			credit[0] = 1.0;
			return true;

		case RULE_LAST_TOUCH:
			zero(credit, n);
			credit[n - 1] = 1.0;
			return true;

		case RULE_LAST_NON_DIRECT:
			zero(credit, n);
			for (i = n - 1; i >= 0; i--)
				if (channels[i] != p->direct_channel)
					break;
			credit[i >= 0 ? i : n - 1] = 1.0;
			return true;

		case RULE_LINEAR:
			for (i = 0; i < n; i++)
				credit[i] = 1.0 / n;
			return true;

		case RULE_TIME_DECAY:
			{
				double		youngest = age[0],
							total = 0.0;

				for (i = 1; i < n; i++)
					if (age[i] < youngest)
						youngest = age[i];
				for (i = 0; i < n; i++)
				{
					credit[i] = exp2(-(age[i] - youngest) / p->half_life);
					total += credit[i];
				}
				/* total >= 1: the youngest touch has weight exactly 1 */
				for (i = 0; i < n; i++)
					credit[i] /= total;
				return true;
			}

		case RULE_POSITION_BASED:
			zero(credit, n);
			if (n == 1)
				credit[0] = 1.0;
			else if (n == 2)
			{
				double		ends = p->first_weight + p->last_weight;

				credit[0] = ends > 0.0 ? p->first_weight / ends : 0.5;
				credit[1] = 1.0 - credit[0];
			}
			else
			{
				credit[0] = p->first_weight;
				credit[n - 1] = p->last_weight;
				for (i = 1; i < n - 1; i++)
					credit[i] = p->middle_weight / (n - 2);
			}
			return true;

		case RULE_W_SHAPED:
			w_shaped(p, n, milestones, credit);
			return true;

		case RULE_CUSTOM:
			return custom(p, n, credit, err, errlen);

		case RULE_NMODELS:
			break;
	}
	snprintf(err, errlen, "unknown model %d", (int) model);
	return false;
}
