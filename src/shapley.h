/*
 * shapley.h
 *		SQL-side Shapley attribution (shapley.c), shared with report.c.
 */
#ifndef ANALYTICS_SHAPLEY_SQL_H
#define ANALYTICS_SHAPLEY_SQL_H

#include "paths.h"

typedef enum shapley_method
{
	SHAPLEY_SIMPLIFIED,
	SHAPLEY_ORDERED,
	SHAPLEY_STANDARD
} shapley_method;

/* the method named by name; unknown names are an error listing the valid ones */
extern shapley_method shapley_method_from_name(const char *name);

/*
 * Per-channel totals of the paths in ps (ordered summed over positions):
 * conversions and value arrays of ps->n_channels, palloc'd.
 */
extern void shapley_channel_totals(PathSummary *ps, shapley_method method,
								   double **conversions, double **value);

#endif							/* ANALYTICS_SHAPLEY_SQL_H */
