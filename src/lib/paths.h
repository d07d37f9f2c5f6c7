/*
 * paths.h
 *		Marketing paths as the attribution cores see them.
 *
 * A path is a sequence of channel ids (0 .. n_channels - 1, the PostgreSQL
 * side maps names to ids) with the number of conversions and of journeys
 * that did not convert ("nulls") that followed it, and the total value of
 * those conversions.  The same channel sequence may appear in several
 * an_path entries; they add up.  Invariants the callers guarantee:
 * length >= 1, every count finite and >= 0.
 */
#ifndef ANALYTICS_LIB_PATHS_H
#define ANALYTICS_LIB_PATHS_H

#include <stdint.h>

typedef struct an_path
{
	const int32_t *channels;	/* ids in [0, n_channels) */
	int32_t		length;			/* >= 1 */
	double		conversions;	/* >= 0 */
	double		nulls;			/* >= 0: journeys on this path without conversion */
	double		value;			/* >= 0: total value of the conversions */
} an_path;

#endif							/* ANALYTICS_LIB_PATHS_H */
