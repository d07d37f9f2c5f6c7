/*
 * markov.h
 *		SQL-side Markov attribution (markov.c), shared with report.c.
 */
#ifndef ANALYTICS_MARKOV_SQL_H
#define ANALYTICS_MARKOV_SQL_H

#include "paths.h"
#include "lib/markov.h"

/* analytics.markov_credit[] of the paths in ps, channels sorted by name */
extern ArrayType *markov_attribution_compute(PathSummary *ps, const mk_options *mo);

#endif							/* ANALYTICS_MARKOV_SQL_H */
