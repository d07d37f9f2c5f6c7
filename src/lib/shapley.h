/*
 * shapley.h
 *		Shapley-value attribution of marketing paths.  Pure C; see shapley.c.
 *
 * Three methods over the same an_path input (paths.h):
 *
 * simplified (Zhao et al. 2018, "Shapley Value Methods for Attribution
 *	Modeling in Online Advertising"): the conversions (and value) of each
 *	path are split equally over its distinct channels.  This is the exact
 *	Shapley value of the game v(S) = sum over T subset of S of conv(T),
 *	where conv(T) counts conversions of paths whose channel set is T; it
 *	needs no enumeration and has no channel cap.
 *
 * ordered (same paper, "ordered Shapley"): as simplified, but credit goes
 *	to (channel, position) pairs, where positions number the distinct
 *	channels of a path in order of first touch (1-based).  Summed over
 *	positions it equals simplified.
 *
 * standard: the Shapley value of the game whose worth is the conversion
 *	rate of a coalition,
 *		v(S) = sum conv(T) / sum (conv(T) + nulls(T)) over T subset of S,
 *	the conversion rate of the journeys that only used channels in S
 *	(v(S) = 0 when there are none, so v(empty) = 0).  Computed exactly over
 *	all 2^n coalitions of the n channels that appear in the input (zeta
 *	transform of the two sums, then the Shapley weights per coalition), so
 *	n is capped at SH_STANDARD_MAX_CHANNELS.  The values sum to v(N), the
 *	overall conversion rate; each is scaled by total conversions / v(N) so
 *	they sum to the total conversions.  Value uses the game whose worth is
 *	value per journey (sum value(T) / sum (conv(T) + nulls(T))), scaled to
 *	the total value.  A channel whose presence lowers conversion rates gets
 *	negative credit: that is the Shapley value, reported as is.  All zeros
 *	when v(N) = 0.
 */
#ifndef ANALYTICS_SHAPLEY_H
#define ANALYTICS_SHAPLEY_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "paths.h"

#define SH_STANDARD_MAX_CHANNELS 24

/*
 * conversions and value: arrays of n_channels, filled (zeroed first).
 * Return AN_OK or an AN_* code with a message in err.
 */
extern int	sh_simplified(const an_path *paths, int64_t n_paths, int n_channels,
						  double *conversions, double *value,
						  const an_allocator *a, char *err, size_t errlen);

/*
 * *conversions and *value are allocated with the allocator as
 * n_channels x *n_positions arrays (channel-major: [c * n_positions + p]
 * for 0-based position p); *n_positions is the largest number of distinct
 * channels on one path.
 */
extern int	sh_ordered(const an_path *paths, int64_t n_paths, int n_channels,
					   double **conversions, double **value, int *n_positions,
					   const an_allocator *a, char *err, size_t errlen);

/* AN_ELIMIT when more than SH_STANDARD_MAX_CHANNELS channels appear */
extern int	sh_standard(const an_path *paths, int64_t n_paths, int n_channels,
						double *conversions, double *value,
						const an_allocator *a, char *err, size_t errlen);

#endif							/* ANALYTICS_SHAPLEY_H */
