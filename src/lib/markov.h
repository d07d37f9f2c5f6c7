/*
 * markov.h
 *		Exact removal-effect attribution on the absorbing Markov chain of
 *		marketing paths, of any order k >= 1.  Pure C; see markov.c.
 *
 * The chain (ChannelAttribution's model, solved exactly instead of by
 * simulation):
 *
 *	- Each path c1..cL is first collapsed (when opt->collapse) so that no
 *	  channel follows itself: A A B A -> A B A.
 *	- Order k: the state after step i is the window of the last
 *	  min(i, k) channels (c_{max(1,i-k+1)} .. c_i), so a path visits
 *	  start -> w1 -> w2 -> ... -> wL -> conversion | null, where the first
 *	  k-1 windows are shorter prefixes.  Distinct windows are the transient
 *	  states; start, conversion and null are special.
 *	- Transition weights: every transition of a path is weighted by
 *	  conversions + nulls of the path (when opt->use_nulls) or by
 *	  conversions only (then paths without conversions are ignored and
 *	  there is no null state).  The last window goes to conversion with
 *	  weight conversions and to null with weight nulls.  Probabilities are
 *	  weights normalised per source state.  Paths with zero weight are
 *	  ignored.
 *	- P = probability of absorption in conversion from start.  Removing
 *	  channel c turns every state whose window contains c into a failure
 *	  (absorbing, never converts); P_c is the conversion probability of
 *	  that chain.  Removal effect RE_c = 1 - P_c / P (0 when P = 0), never
 *	  negative.  Attributed conversions of c = total conversions *
 *	  RE_c / sum(RE); all zero when sum(RE) = 0.
 *	- Value: converting from the last state s yields the mean value of the
 *	  conversions whose paths end in s (value / conversions over the paths
 *	  ending in s; 0 when they have no conversions).  V = expected value
 *	  from start, V_c the same with c removed, value removal effect
 *	  VRE_c = 1 - V_c / V (0 when V = 0, never negative), attributed
 *	  value of c = total value * VRE_c / sum(VRE).
 *
 * Everything is deterministic linear algebra (no sampling).  Results never
 * contain NaN or negative credit: degenerate chains (no conversions, one
 * channel, channels that only appear on non-converting paths) give zeros
 * where the formulas above divide by zero.  Channels that never appear get
 * zero.
 */
#ifndef ANALYTICS_MARKOV_H
#define ANALYTICS_MARKOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "paths.h"

#define MK_MAX_ORDER			16
#define MK_DEFAULT_MAX_STATES	2000000

/* special state numbers in mk_transition.from / .to */
#define MK_STATE_START		(-1)
#define MK_STATE_CONVERSION	(-2)
#define MK_STATE_NULL		(-3)

typedef struct mk_options
{
	int			order;			/* 1 .. MK_MAX_ORDER */
	bool		use_nulls;		/* weight by conversions + nulls (default true) */
	bool		collapse;		/* collapse consecutive repeated channels (default true) */
	int			max_states;		/* error AN_ELIMIT above this many transient states */
} mk_options;

/* the defaults: order 1, use_nulls, collapse, MK_DEFAULT_MAX_STATES */
extern void mk_default_options(mk_options *opt);

typedef struct mk_result
{
	int			n_channels;
	/* per channel, arrays of n_channels allocated with the allocator */
	double	   *conversions;
	double	   *value;
	double	   *removal_effect;
	double	   *value_removal_effect;
	/* totals over the paths that were used */
	double		total_conversions;
	double		total_nulls;
	double		total_value;
	double		conversion_probability; /* P */
	int			n_states;		/* transient states */
	int64_t		n_transitions;	/* distinct (from, to) pairs incl. start/absorbing */
	bool		dense;			/* solved by a dense factorisation (else iterative) */
} mk_result;

/*
 * Attribute the paths.  On success returns AN_OK and fills *out (release its
 * arrays with mk_result_free); otherwise returns an AN_* code with a message
 * in err (lower case, no trailing period).
 */
extern int	mk_attribute(const an_path *paths, int64_t n_paths, int n_channels,
						 const mk_options *opt, const an_allocator *a,
						 mk_result *out, char *err, size_t errlen);
extern void mk_result_free(const an_allocator *a, mk_result *r);

/* A transient state: its channel window (length 1 .. order). */
typedef struct mk_state
{
	int32_t		length;
	int32_t	   *channels;
} mk_state;

typedef struct mk_transition
{
	int32_t		from;			/* state index, or MK_STATE_START */
	int32_t		to;				/* state index, MK_STATE_CONVERSION or MK_STATE_NULL */
	double		weight;			/* summed path weight */
	double		probability;	/* weight / total weight out of `from` */
} mk_transition;

/*
 * The chain itself: states (in order of first appearance in the input) and
 * every transition with a positive weight, sorted by (from, to) with start
 * first (from = -1) and, for equal from, transient targets in index order
 * followed by conversion then null.  Release with mk_chain_free.
 */
typedef struct mk_chain
{
	int32_t		n_states;
	mk_state   *states;
	int64_t		n_transitions;
	mk_transition *transitions;
} mk_chain;

extern int	mk_build_chain(const an_path *paths, int64_t n_paths, int n_channels,
						   const mk_options *opt, const an_allocator *a,
						   mk_chain *out, char *err, size_t errlen);
extern void mk_chain_free(const an_allocator *a, mk_chain *c);

/*
 * Order selection: score orders 1 .. max_order on held-out paths.
 *
 * Journeys are split into `folds` folds (2 .. 20): each path's conversions
 * and then its nulls are dealt round-robin over the folds, starting at a
 * fold given by a hash of the collapsed channel sequence.  A common path
 * thus appears in every fold, while a path of a single journey is always
 * unseen in training, which is what exposes orders that memorise rare
 * paths.  For each order and fold the chain is estimated on the other
 * folds; a test path's predicted conversion
 * probability is p = w(s -> conversion) / (w(s -> conversion) + w(s -> null))
 * at its last state s, backing off to the longest suffix of s's window that
 * has absorbing transitions in training (orders k-1 .. 1 of the same
 * training data), then to the training conversion rate.  Scores pooled
 * over folds: AUC with conversions as positives and nulls as negatives,
 * weighted by their counts, ties counted one half; and the weighted log
 * loss with p clipped to [1e-12, 1 - 1e-12].  selected marks the order with
 * the lowest held-out log loss (ties within 1e-9 go to the lower order):
 * removal effects are computed from the estimated probabilities, so the
 * order whose probabilities generalise best is chosen; AUC, which only
 * ranks, keeps rewarding sparse high-order states that log loss shows to
 * be over-confident.  Needs
 * non-converting paths: AN_EINVAL when the input has no nulls or no
 * conversions.  out must hold max_order entries.
 */
typedef struct mk_order_score
{
	int			order;
	int			n_states;		/* of the chain on all paths */
	double		auc;
	double		log_loss;
	bool		selected;
} mk_order_score;

extern int	mk_select_order(const an_path *paths, int64_t n_paths, int n_channels,
							int max_order, int folds, const mk_options *opt,
							const an_allocator *a, mk_order_score *out,
							char *err, size_t errlen);

#endif							/* ANALYTICS_MARKOV_H */
