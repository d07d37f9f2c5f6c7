/*
 * test_markov.c
 *		Unit tests of the Markov-chain attribution core (src/lib/markov.c).
 *
 * Groups:
 *	- hand-computed chains (derivations in the comments), checked to 1e-12;
 *	- degenerate inputs and argument errors;
 *	- an independent brute force: random small inputs, the chain rebuilt
 *	  here with linear searches and every removal solved as its own dense
 *	  system by Gaussian elimination, against both solvers of markov.c;
 *	- invariants (sums, signs, finiteness) on larger random inputs, and the
 *	  dense and iterative solvers against each other;
 *	- order selection: an exactly computable case and data drawn from true
 *	  order-1 and order-2 processes;
 *	- allocation failures and interrupts (no leaks on any failure path).
 *
 * Environment: MARKOV_QUICK=1 runs fewer random cases (for valgrind);
 * MARKOV_BENCH=1 adds a timing section that prints "# ..." lines.
 */
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "markov.h"
#include "rng.h"
#include "unit.h"

/* markov.c's test entry point (not in markov.h) */
extern int	mk_attribute_solver(const an_path *paths, int64_t n_paths,
								int n_channels, const mk_options *opt,
								int solver, const an_allocator *a,
								mk_result *out, char *err, size_t errlen);

#define SOLVER_AUTO			0
#define SOLVER_DENSE		1
#define SOLVER_ITERATIVE	2

#define A_	0
#define B_	1
#define C_	2
#define D_	3

static bool quick = false;

/* |a - b| <= tol * max(1, |b|) */
static bool
near(double a, double b, double tol)
{
	return fabs(a - b) <= tol * fmax(1.0, fabs(b));
}

/* an an_path over ch (not copied) */
static an_path
mkpath(const int32_t *ch, int len, double conv, double nulls, double value)
{
	an_path		p;

	p.channels = ch;
	p.length = len;
	p.conversions = conv;
	p.nulls = nulls;
	p.value = value;
	return p;
}

/* every number of a result is finite, effects in [0, 1], credit >= 0 */
static bool
result_sane(const mk_result *r)
{
	int			c;

	if (!isfinite(r->total_conversions) || !isfinite(r->total_nulls) ||
		!isfinite(r->total_value) || !isfinite(r->conversion_probability) ||
		r->conversion_probability < 0 || r->conversion_probability > 1)
		return false;
	for (c = 0; c < r->n_channels; c++)
	{
		if (!isfinite(r->conversions[c]) || !isfinite(r->value[c]) ||
			!isfinite(r->removal_effect[c]) || !isfinite(r->value_removal_effect[c]))
			return false;
		if (r->conversions[c] < 0 || r->value[c] < 0 ||
			r->removal_effect[c] < 0 || r->removal_effect[c] > 1 ||
			r->value_removal_effect[c] < 0 || r->value_removal_effect[c] > 1)
			return false;
	}
	return true;
}

/* sum of the attributed conversions (or values) */
static double
sum_of(const double *v, int n)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* a transition equals (from, to, weight, probability) to 1e-12 */
static bool
tr_is(const mk_transition *t, int from, int to, double w, double p)
{
	return t->from == from && t->to == to && near(t->weight, w, 1e-12) &&
		near(t->probability, p, 1e-12);
}

/* state s of the chain has the window ch[0 .. len) */
static bool
state_is(const mk_chain *c, int s, const int32_t *ch, int len)
{
	return s < c->n_states && c->states[s].length == len &&
		memcmp(c->states[s].channels, ch, sizeof(int32_t) * len) == 0;
}

/* a message is set, starts lower case and has no trailing period */
static bool
msg_ok(const char *err)
{
	size_t		n = strlen(err);

	return n > 0 && !(err[0] >= 'A' && err[0] <= 'Z') && err[n - 1] != '.';
}

/* ------------------------------------------------------------------ */

/* mk_default_options fills the documented defaults */
static void
test_defaults(void)
{
	mk_options	o;

	memset(&o, 0x55, sizeof(o));
	mk_default_options(&o);
	CHECK(o.order == 1 && o.use_nulls && o.collapse && o.max_states == MK_DEFAULT_MAX_STATES,
		  "defaults: order 1, use_nulls, collapse, max_states %d", MK_DEFAULT_MAX_STATES);
}

/*
 * The example of the brief, order 1 (A = 0, B = 1):
 *	[A,B] conv 1 null 0 value 10;  [A] conv 0 null 1;  [B] conv 1 null 0 value 30
 * Every path has weight 1.  start -> A 2/3, start -> B 1/3; A -> B 1/2,
 * A -> null 1/2; B -> conv 1 (weight 2).  x_B = 1, x_A = 1/2, so
 * P = 2/3 * 1/2 + 1/3 = 2/3.  Without A: P_A = 1/3, RE_A = 1/2; without
 * B nothing converts, RE_B = 1.  Sum 3/2, total conversions 2: A 2/3,
 * B 4/3.  Value: the paths ending in B carry 40 over 2 conversions, reward
 * 20 at B; V = 2/3 * 1/2 * 20 + 1/3 * 20 = 40/3; V_A = 20/3, VRE_A = 1/2,
 * VRE_B = 1; total value 40: A 40/3, B 80/3.
 */
static void
test_hand_order1(void)
{
	static const int32_t ab[] = {A_, B_},
				a[] = {A_},
				b[] = {B_};
	an_path		paths[3];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	char		err[256];
	int			rc,
				s;

	paths[0] = mkpath(ab, 2, 1, 0, 10);
	paths[1] = mkpath(a, 1, 0, 1, 0);
	paths[2] = mkpath(b, 1, 1, 0, 30);
	mk_default_options(&o);

	for (s = SOLVER_AUTO; s <= SOLVER_ITERATIVE; s++)
	{
		rc = mk_attribute_solver(paths, 3, 2, &o, s, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK, "hand order 1 (solver %d): attribute succeeds", s);
		if (rc != AN_OK)
		{
			NOTE("%s", err);
			continue;
		}
		CHECK(r.n_channels == 2 && r.n_states == 2 && r.n_transitions == 5,
			  "hand order 1 (solver %d): 2 states, 5 transitions (got %d, %lld)",
			  s, r.n_states, (long long) r.n_transitions);
		CHECK(r.dense == (s != SOLVER_ITERATIVE), "hand order 1 (solver %d): dense flag %d",
			  s, (int) r.dense);
		CHECK(near(r.total_conversions, 2, 1e-12) && near(r.total_nulls, 1, 1e-12) &&
			  near(r.total_value, 40, 1e-12), "hand order 1 (solver %d): totals 2, 1, 40", s);
		CHECK(near(r.conversion_probability, 2.0 / 3, 1e-12),
			  "hand order 1 (solver %d): P = 2/3 (got %.17g)", s, r.conversion_probability);
		CHECK(near(r.removal_effect[A_], 0.5, 1e-12) && near(r.removal_effect[B_], 1, 1e-12),
			  "hand order 1 (solver %d): RE_A = 1/2, RE_B = 1 (got %.17g, %.17g)",
			  s, r.removal_effect[A_], r.removal_effect[B_]);
		CHECK(near(r.conversions[A_], 2.0 / 3, 1e-12) && near(r.conversions[B_], 4.0 / 3, 1e-12),
			  "hand order 1 (solver %d): conversions A 2/3, B 4/3 (got %.17g, %.17g)",
			  s, r.conversions[A_], r.conversions[B_]);
		CHECK(near(r.value_removal_effect[A_], 0.5, 1e-12) &&
			  near(r.value_removal_effect[B_], 1, 1e-12),
			  "hand order 1 (solver %d): VRE_A = 1/2, VRE_B = 1", s);
		CHECK(near(r.value[A_], 40.0 / 3, 1e-12) && near(r.value[B_], 80.0 / 3, 1e-12),
			  "hand order 1 (solver %d): value A 40/3, B 80/3 (got %.17g, %.17g)",
			  s, r.value[A_], r.value[B_]);
		mk_result_free(&an_std_allocator, &r);
		CHECK(r.conversions == NULL && r.value == NULL, "mk_result_free clears the arrays");
	}

	rc = mk_build_chain(paths, 3, 2, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_OK && ch.n_states == 2 && ch.n_transitions == 5,
		  "hand order 1: chain of 2 states and 5 transitions");
	if (rc == AN_OK && ch.n_transitions == 5)
	{
		CHECK(state_is(&ch, 0, a, 1) && state_is(&ch, 1, b, 1),
			  "hand order 1: states A then B (first appearance)");
		CHECK(tr_is(&ch.transitions[0], MK_STATE_START, 0, 2, 2.0 / 3) &&
			  tr_is(&ch.transitions[1], MK_STATE_START, 1, 1, 1.0 / 3) &&
			  tr_is(&ch.transitions[2], 0, 1, 1, 0.5) &&
			  tr_is(&ch.transitions[3], 0, MK_STATE_NULL, 1, 0.5) &&
			  tr_is(&ch.transitions[4], 1, MK_STATE_CONVERSION, 2, 1),
			  "hand order 1: transitions, weights, probabilities and their order");
	}
	mk_chain_free(&an_std_allocator, &ch);
	CHECK(ch.states == NULL && ch.transitions == NULL, "mk_chain_free clears the chain");
}

/*
 * Order 2 (A, B, C = 0, 1, 2):
 *	p1 [A,B,C] conv 1 null 0 value 10	 windows (A) (A,B) (B,C)	weight 1
 *	p2 [B,C]   conv 0 null 1			 windows (B) (B,C)		weight 1
 *	p3 [A,B]   conv 1 null 1 value 6	 windows (A) (A,B)		weight 2
 * States by first appearance: 0 (A), 1 (A,B), 2 (B,C), 3 (B).
 * Transitions (sorted): start->0 w3 p3/4, start->3 w1 p1/4, 0->1 w3 p1,
 * 1->2 w1 p1/3, 1->conv w1 p1/3, 1->null w1 p1/3, 2->conv w1 p1/2,
 * 2->null w1 p1/2, 3->2 w1 p1.
 * x(B,C) = 1/2, x(A,B) = 1/3 + 1/3 * 1/2 = 1/2, x(A) = x(B) = 1/2: P = 1/2.
 * Remove A: (A), (A,B) fail, P_A = 1/4 * 1/2 = 1/8, RE_A = 3/4.
 * Remove B: (A,B), (B,C), (B) fail, P_B = 0, RE_B = 1.
 * Remove C: (B,C) fails, x(A,B) = 1/3, P_C = 3/4 * 1/3 = 1/4, RE_C = 1/2.
 * Sum 9/4, total conversions 2: A 2/3, B 8/9, C 4/9.
 * Value: reward (B,C) = 10/1, (A,B) = 6/1.  y(B,C) = 5,
 * y(A,B) = 1/3 * 6 + 1/3 * 5 = 11/3, V = 3/4 * 11/3 + 1/4 * 5 = 4.
 * V_A = 1/4 * 5 = 5/4 (VRE 11/16), V_B = 0 (VRE 1), V_C = 3/4 * 2 = 3/2
 * (VRE 5/8).  Sum 37/16, total value 16: A 176/37, B 256/37, C 160/37.
 */
static void
test_hand_order2(void)
{
	static const int32_t abc[] = {A_, B_, C_},
				bc[] = {B_, C_},
				ab[] = {A_, B_},
				a[] = {A_},
				b[] = {B_};
	an_path		paths[3];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	char		err[256];
	int			rc,
				s;

	paths[0] = mkpath(abc, 3, 1, 0, 10);
	paths[1] = mkpath(bc, 2, 0, 1, 0);
	paths[2] = mkpath(ab, 2, 1, 1, 6);
	mk_default_options(&o);
	o.order = 2;

	rc = mk_build_chain(paths, 3, 3, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_OK && ch.n_states == 4 && ch.n_transitions == 9,
		  "hand order 2: chain of 4 states and 9 transitions (got %d, %lld)",
		  ch.n_states, (long long) ch.n_transitions);
	if (rc == AN_OK && ch.n_states == 4 && ch.n_transitions == 9)
	{
		CHECK(state_is(&ch, 0, a, 1) && state_is(&ch, 1, ab, 2) &&
			  state_is(&ch, 2, bc, 2) && state_is(&ch, 3, b, 1),
			  "hand order 2: states (A) (A,B) (B,C) (B)");
		CHECK(tr_is(&ch.transitions[0], MK_STATE_START, 0, 3, 0.75) &&
			  tr_is(&ch.transitions[1], MK_STATE_START, 3, 1, 0.25) &&
			  tr_is(&ch.transitions[2], 0, 1, 3, 1) &&
			  tr_is(&ch.transitions[3], 1, 2, 1, 1.0 / 3) &&
			  tr_is(&ch.transitions[4], 1, MK_STATE_CONVERSION, 1, 1.0 / 3) &&
			  tr_is(&ch.transitions[5], 1, MK_STATE_NULL, 1, 1.0 / 3) &&
			  tr_is(&ch.transitions[6], 2, MK_STATE_CONVERSION, 1, 0.5) &&
			  tr_is(&ch.transitions[7], 2, MK_STATE_NULL, 1, 0.5) &&
			  tr_is(&ch.transitions[8], 3, 2, 1, 1),
			  "hand order 2: transitions in (from, to) order with weights and probabilities");
	}
	mk_chain_free(&an_std_allocator, &ch);

	for (s = SOLVER_AUTO; s <= SOLVER_ITERATIVE; s++)
	{
		rc = mk_attribute_solver(paths, 3, 3, &o, s, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK, "hand order 2 (solver %d): attribute succeeds", s);
		if (rc != AN_OK)
			continue;
		CHECK(r.n_states == 4 && r.n_transitions == 9, "hand order 2 (solver %d): sizes", s);
		CHECK(near(r.conversion_probability, 0.5, 1e-12), "hand order 2 (solver %d): P = 1/2", s);
		CHECK(near(r.removal_effect[A_], 0.75, 1e-12) && near(r.removal_effect[B_], 1, 1e-12) &&
			  near(r.removal_effect[C_], 0.5, 1e-12),
			  "hand order 2 (solver %d): RE 3/4, 1, 1/2 (got %.17g %.17g %.17g)", s,
			  r.removal_effect[A_], r.removal_effect[B_], r.removal_effect[C_]);
		CHECK(near(r.conversions[A_], 2.0 / 3, 1e-12) && near(r.conversions[B_], 8.0 / 9, 1e-12) &&
			  near(r.conversions[C_], 4.0 / 9, 1e-12),
			  "hand order 2 (solver %d): conversions 2/3, 8/9, 4/9", s);
		CHECK(near(r.value_removal_effect[A_], 11.0 / 16, 1e-12) &&
			  near(r.value_removal_effect[B_], 1, 1e-12) &&
			  near(r.value_removal_effect[C_], 5.0 / 8, 1e-12),
			  "hand order 2 (solver %d): VRE 11/16, 1, 5/8", s);
		CHECK(near(r.value[A_], 176.0 / 37, 1e-12) && near(r.value[B_], 256.0 / 37, 1e-12) &&
			  near(r.value[C_], 160.0 / 37, 1e-12),
			  "hand order 2 (solver %d): value 176/37, 256/37, 160/37", s);
		mk_result_free(&an_std_allocator, &r);
	}
}

/*
 * use_nulls = false, order 1 (A, B, C = 0, 1, 2):
 *	p1 [A,B] conv 2 null 5 value 20;  p2 [A] conv 0 null 3 (ignored: no
 *	conversions);  p3 [B] conv 1 null 1 value 5;  p4 [C,A] conv 1 value 1.
 * Weights = conversions: 2, 1, 1.  start -> A 2, B 1, C 1 (of 4);
 * A -> B 2, A -> conv 1 (of 3); B -> conv 3; C -> A 1.  No null state.
 * Every x is 1, P = 1.  Remove A: P_A = 1/4 (only start -> B), RE 3/4.
 * Remove B: x_A = x_C = 1/3, P_B = 2/4 * 1/3 + 1/4 * 1/3 = 1/4, RE 3/4.
 * Remove C: P_C = 3/4, RE 1/4.  Sum 7/4, total conversions 4:
 * A 12/7, B 12/7, C 4/7.
 * Value: reward A = 1/1, B = 25/3.  y_B = 25/3, y_A = 2/3 * 25/3 + 1/3 =
 * 53/9 = y_C; V = 53/18 + 25/12 + 53/36 = 13/2 (= 26 / 4 as P = 1).
 * V_A = 25/12 (VRE 53/78), V_B = 1/4 (VRE 25/26), V_C = 181/36
 * (VRE 53/234).  Sum 437/234, total value 26: A 4134/437, B 5850/437,
 * C 1378/437.  total_nulls is 0: no null entered the chain.
 */
static void
test_hand_no_nulls(void)
{
	static const int32_t ab[] = {A_, B_},
				a[] = {A_},
				b[] = {B_},
				ca[] = {C_, A_};
	an_path		paths[4];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	char		err[256];
	int			rc;

	paths[0] = mkpath(ab, 2, 2, 5, 20);
	paths[1] = mkpath(a, 1, 0, 3, 0);
	paths[2] = mkpath(b, 1, 1, 1, 5);
	paths[3] = mkpath(ca, 2, 1, 0, 1);
	mk_default_options(&o);
	o.use_nulls = false;

	rc = mk_attribute(paths, 4, 3, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK, "no nulls: attribute succeeds");
	if (rc == AN_OK)
	{
		CHECK(r.n_states == 3 && r.n_transitions == 7,
			  "no nulls: 3 states, 7 transitions (got %d, %lld)", r.n_states,
			  (long long) r.n_transitions);
		CHECK(near(r.total_conversions, 4, 1e-12) && r.total_nulls == 0 &&
			  near(r.total_value, 26, 1e-12), "no nulls: totals 4, 0, 26");
		CHECK(near(r.conversion_probability, 1, 1e-12), "no nulls: P = 1");
		CHECK(near(r.removal_effect[A_], 0.75, 1e-12) && near(r.removal_effect[B_], 0.75, 1e-12) &&
			  near(r.removal_effect[C_], 0.25, 1e-12), "no nulls: RE 3/4, 3/4, 1/4");
		CHECK(near(r.conversions[A_], 12.0 / 7, 1e-12) && near(r.conversions[B_], 12.0 / 7, 1e-12) &&
			  near(r.conversions[C_], 4.0 / 7, 1e-12), "no nulls: conversions 12/7, 12/7, 4/7");
		CHECK(near(r.value_removal_effect[A_], 53.0 / 78, 1e-12) &&
			  near(r.value_removal_effect[B_], 25.0 / 26, 1e-12) &&
			  near(r.value_removal_effect[C_], 53.0 / 234, 1e-12),
			  "no nulls: VRE 53/78, 25/26, 53/234 (got %.17g %.17g %.17g)",
			  r.value_removal_effect[A_], r.value_removal_effect[B_], r.value_removal_effect[C_]);
		CHECK(near(r.value[A_], 4134.0 / 437, 1e-12) && near(r.value[B_], 5850.0 / 437, 1e-12) &&
			  near(r.value[C_], 1378.0 / 437, 1e-12), "no nulls: value 4134/437, 5850/437, 1378/437");
		mk_result_free(&an_std_allocator, &r);
	}
	rc = mk_build_chain(paths, 4, 3, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_OK && ch.n_transitions == 7 &&
		  tr_is(&ch.transitions[0], MK_STATE_START, 0, 2, 0.5) &&
		  tr_is(&ch.transitions[1], MK_STATE_START, 1, 1, 0.25) &&
		  tr_is(&ch.transitions[2], MK_STATE_START, 2, 1, 0.25) &&
		  tr_is(&ch.transitions[3], 0, 1, 2, 2.0 / 3) &&
		  tr_is(&ch.transitions[4], 0, MK_STATE_CONVERSION, 1, 1.0 / 3) &&
		  tr_is(&ch.transitions[5], 1, MK_STATE_CONVERSION, 3, 1) &&
		  tr_is(&ch.transitions[6], 2, 0, 1, 1),
		  "no nulls: transitions weighted by conversions, no null transition");
	mk_chain_free(&an_std_allocator, &ch);
}

/*
 * Collapse, order 1: p1 [A,A,B] conv 1 null 1 value 4, p2 [A] null 2.
 * On: p1 is [A,B]; start -> A 4; A -> B 2, A -> null 2; B -> conv 1,
 * B -> null 1.  Off: A -> A 2 joins, A -> A/B/null 1/3 each.  A self-loop
 * does not change where A is absorbed, so both give x_B = 1/2, x_A = 1/4,
 * P = 1/4, RE 1 and 1, conversions 1/2 each; reward at B is 4, y_B = 2,
 * V = 1, value 2 each.
 *
 * Collapse, order 2: q1 [B,A,A] conv 1, q2 [C,A] null 1, q3 [C,A,A] conv 1
 * null 1 (weights 1, 1, 2).
 * On: q1 = [B,A], q3 = [C,A]: states (B) (B,A) (C) (C,A); start -> (B) 1,
 * (C) 3; (B,A) -> conv 1; (C,A) -> conv 1, null 2, x = 1/3;
 * P = 1/4 + 3/4 * 1/3 = 1/2.  P_B = 1/4 and P_C = 1/4 (RE 1/2 each), RE_A
 * = 1: conversions A 1, B 1/2, C 1/2.
 * Off: states (B) (B,A) (A,A) (C) (C,A); (A,A) -> conv 2, null 1, x = 2/3;
 * (C,A) -> (A,A) 2, null 1, x = 4/9; P = 1/4 * 2/3 + 3/4 * 4/9 = 1/2.
 * P_B = 3/4 * 4/9 = 1/3 (RE 1/3), P_C = 1/4 * 2/3 = 1/6 (RE 2/3), RE_A = 1;
 * sum 2, total conversions 2: A 1, B 1/3, C 2/3.
 */
static void
test_hand_collapse(void)
{
	static const int32_t aab[] = {A_, A_, B_},
				a[] = {A_},
				baa[] = {B_, A_, A_},
				ca[] = {C_, A_},
				caa[] = {C_, A_, A_},
				aa[] = {A_, A_};
	an_path		paths[3];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	char		err[256];
	int			rc,
				col;

	paths[0] = mkpath(aab, 3, 1, 1, 4);
	paths[1] = mkpath(a, 1, 0, 2, 0);
	mk_default_options(&o);
	for (col = 1; col >= 0; col--)
	{
		o.collapse = col;
		rc = mk_build_chain(paths, 2, 2, &o, &an_std_allocator, &ch, err, sizeof(err));
		if (col)
			CHECK(rc == AN_OK && ch.n_states == 2 && ch.n_transitions == 5 &&
				  tr_is(&ch.transitions[0], MK_STATE_START, 0, 4, 1) &&
				  tr_is(&ch.transitions[1], 0, 1, 2, 0.5) &&
				  tr_is(&ch.transitions[2], 0, MK_STATE_NULL, 2, 0.5) &&
				  tr_is(&ch.transitions[3], 1, MK_STATE_CONVERSION, 1, 0.5) &&
				  tr_is(&ch.transitions[4], 1, MK_STATE_NULL, 1, 0.5),
				  "collapse on, A A B: no self-loop");
		else
			CHECK(rc == AN_OK && ch.n_states == 2 && ch.n_transitions == 6 &&
				  tr_is(&ch.transitions[0], MK_STATE_START, 0, 4, 1) &&
				  tr_is(&ch.transitions[1], 0, 0, 2, 1.0 / 3) &&
				  tr_is(&ch.transitions[2], 0, 1, 2, 1.0 / 3) &&
				  tr_is(&ch.transitions[3], 0, MK_STATE_NULL, 2, 1.0 / 3) &&
				  tr_is(&ch.transitions[4], 1, MK_STATE_CONVERSION, 1, 0.5) &&
				  tr_is(&ch.transitions[5], 1, MK_STATE_NULL, 1, 0.5),
				  "collapse off, A A B: self-loop A -> A of weight 2");
		mk_chain_free(&an_std_allocator, &ch);
		rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK && near(r.conversion_probability, 0.25, 1e-12) &&
			  near(r.removal_effect[A_], 1, 1e-12) && near(r.removal_effect[B_], 1, 1e-12) &&
			  near(r.conversions[A_], 0.5, 1e-12) && near(r.conversions[B_], 0.5, 1e-12) &&
			  near(r.value[A_], 2, 1e-12) && near(r.value[B_], 2, 1e-12),
			  "collapse %s, order 1: P 1/4, RE 1 and 1, halves of 1 conversion and 4 value",
			  col ? "on" : "off");
		if (rc == AN_OK)
			mk_result_free(&an_std_allocator, &r);
	}

	paths[0] = mkpath(baa, 3, 1, 0, 0);
	paths[1] = mkpath(ca, 2, 0, 1, 0);
	paths[2] = mkpath(caa, 3, 1, 1, 0);
	o.order = 2;
	o.collapse = true;
	rc = mk_attribute(paths, 3, 3, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 4 && near(r.conversion_probability, 0.5, 1e-12) &&
		  near(r.removal_effect[A_], 1, 1e-12) && near(r.removal_effect[B_], 0.5, 1e-12) &&
		  near(r.removal_effect[C_], 0.5, 1e-12) && near(r.conversions[A_], 1, 1e-12) &&
		  near(r.conversions[B_], 0.5, 1e-12) && near(r.conversions[C_], 0.5, 1e-12),
		  "collapse on, order 2: 4 states, RE 1, 1/2, 1/2, conversions 1, 1/2, 1/2");
	CHECK(rc == AN_OK && r.value[A_] == 0 && r.value[B_] == 0 && r.value[C_] == 0 &&
		  r.value_removal_effect[A_] == 0 && r.value_removal_effect[B_] == 0,
		  "no value anywhere: V = 0 gives zero value credit");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	o.collapse = false;
	rc = mk_attribute(paths, 3, 3, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 5 && near(r.conversion_probability, 0.5, 1e-12) &&
		  near(r.removal_effect[A_], 1, 1e-12) && near(r.removal_effect[B_], 1.0 / 3, 1e-12) &&
		  near(r.removal_effect[C_], 2.0 / 3, 1e-12) && near(r.conversions[A_], 1, 1e-12) &&
		  near(r.conversions[B_], 1.0 / 3, 1e-12) && near(r.conversions[C_], 2.0 / 3, 1e-12),
		  "collapse off, order 2: 5 states, RE 1, 1/3, 2/3, conversions 1, 1/3, 2/3");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	rc = mk_build_chain(paths, 3, 3, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_OK && ch.n_states == 5 && state_is(&ch, 2, aa, 2),
		  "collapse off, order 2: state 2 is (A,A)");
	mk_chain_free(&an_std_allocator, &ch);
}

/* degenerate inputs: zeros, exact zeros, never NaN */
static void
test_degenerate(void)
{
	static const int32_t ab[] = {A_, B_},
				a[] = {A_},
				aa[] = {A_, A_},
				b[] = {B_},
				c[] = {C_},
				dc[] = {D_, C_};
	an_path		paths[5];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	char		err[256];
	int			rc;

	mk_default_options(&o);

	/* no conversions at all */
	paths[0] = mkpath(ab, 2, 0, 3, 0);
	paths[1] = mkpath(b, 1, 0, 1, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 2 && r.conversion_probability == 0 &&
		  r.conversions[A_] == 0 && r.conversions[B_] == 0 && r.removal_effect[A_] == 0 &&
		  r.removal_effect[B_] == 0 && r.value[A_] == 0 && result_sane(&r),
		  "no conversions: P = 0, all zero, finite");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);

	/* a single channel: P = 4/6, removing it leaves nothing */
	paths[0] = mkpath(a, 1, 3, 2, 9);
	paths[1] = mkpath(aa, 2, 1, 0, 1);
	rc = mk_attribute(paths, 2, 1, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 1 && near(r.conversion_probability, 4.0 / 6, 1e-12) &&
		  near(r.removal_effect[0], 1, 1e-12) && near(r.conversions[0], 4, 1e-12) &&
		  near(r.value[0], 10, 1e-12) && result_sane(&r),
		  "one channel: it gets all 4 conversions and all 10 value");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);

	/*
	 * The hand example plus C and D only on non-converting paths ([C] and
	 * [D,C] end in null only) and E (4) absent: C, D, E get exactly 0.
	 */
	paths[0] = mkpath(ab, 2, 1, 0, 10);
	paths[1] = mkpath(a, 1, 0, 1, 0);
	paths[2] = mkpath(b, 1, 1, 0, 30);
	paths[3] = mkpath(c, 1, 0, 3, 0);
	paths[4] = mkpath(dc, 2, 0, 1, 0);
	rc = mk_attribute(paths, 5, 5, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 4, "non-converting channels: attribute succeeds, 4 states");
	if (rc == AN_OK)
	{
		CHECK(r.removal_effect[C_] == 0 && r.removal_effect[D_] == 0 &&
			  r.conversions[C_] == 0 && r.conversions[D_] == 0 && r.value[C_] == 0 &&
			  r.value[D_] == 0 && r.value_removal_effect[C_] == 0,
			  "channels only on non-converting paths get exactly 0");
		CHECK(r.removal_effect[4] == 0 && r.conversions[4] == 0 && r.value[4] == 0,
			  "a channel absent from the input gets 0");
		/*
		 * Weights 1, 1, 1, 3, 1: start -> A 2/7, B 1/7, C 3/7, D 1/7, so
		 * P = 2/7 * 1/2 + 1/7 = 2/7 and P_A = 1/7: RE_A = 1/2, RE_B = 1 as
		 * before, so A and B keep their credit.
		 */
		CHECK(near(r.conversion_probability, 2.0 / 7, 1e-12) &&
			  near(r.removal_effect[A_], 0.5, 1e-12) && near(r.removal_effect[B_], 1, 1e-12) &&
			  near(r.conversions[A_], 2.0 / 3, 1e-12) && near(r.value[B_], 80.0 / 3, 1e-12),
			  "non-converting channels do not change the credit of A and B");
		CHECK(result_sane(&r), "non-converting channels: every output finite and in range");
		mk_result_free(&an_std_allocator, &r);
	}

	/* empty input, and input whose paths all have zero weight */
	rc = mk_attribute(NULL, 0, 3, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 0 && r.n_transitions == 0 && r.n_channels == 3 &&
		  r.conversions[2] == 0 && r.total_conversions == 0 && result_sane(&r),
		  "empty input: valid, zeros");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	paths[0] = mkpath(ab, 2, 0, 0, 0);
	rc = mk_attribute(paths, 1, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 0 && r.conversions[0] == 0 && result_sane(&r),
		  "a path with zero weight is ignored");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	rc = mk_build_chain(NULL, 0, 3, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_OK && ch.n_states == 0 && ch.n_transitions == 0, "empty input: empty chain");
	mk_chain_free(&an_std_allocator, &ch);

	/* use_nulls = false and nothing converts: no path is used */
	o.use_nulls = false;
	paths[0] = mkpath(ab, 2, 0, 3, 0);
	rc = mk_attribute(paths, 1, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.n_states == 0 && r.conversions[0] == 0 && result_sane(&r),
		  "use_nulls off and no conversions: nothing used, zeros");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
}

/* argument and input errors */
static void
test_errors(void)
{
	static const int32_t ab[] = {A_, B_},
				bad[] = {A_, 2},
				neg[] = {-1};
	an_path		paths[2];
	mk_options	o;
	mk_result	r;
	mk_chain	ch;
	mk_order_score sc[17];
	char		err[256];
	int			rc;

	mk_default_options(&o);
	paths[0] = mkpath(ab, 2, 1, 1, 0);
	paths[1] = mkpath(bad, 2, 1, 1, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "channel id 2"),
		  "channel id = n_channels is rejected (%s)", err);
	paths[1] = mkpath(neg, 1, 1, 1, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "negative channel id is rejected (%s)", err);
	rc = mk_build_chain(paths, 2, 2, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "mk_build_chain rejects it too");

	paths[1] = mkpath(ab, 2, 1, 1, 0);
	o.order = 0;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && strcmp(err, "order must be between 1 and 16") == 0,
		  "order 0 is rejected (%s)", err);
	o.order = 17;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && strcmp(err, "order must be between 1 and 16") == 0,
		  "order 17 is rejected");
	o.order = 16;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK, "order 16 is accepted");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	mk_default_options(&o);

	paths[1] = mkpath(ab, 2, -1, 1, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "conversions"),
		  "negative conversions are rejected (%s)", err);
	paths[1] = mkpath(ab, 2, 1, NAN, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "nulls"),
		  "NaN nulls are rejected (%s)", err);
	paths[1] = mkpath(ab, 2, 1, 1, INFINITY);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "value"),
		  "infinite value is rejected (%s)", err);
	paths[1] = mkpath(ab, 0, 1, 1, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "length"),
		  "an empty path is rejected (%s)", err);
	paths[1] = mkpath(ab, 2, 1e308, 1e308, 0);
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "counts summing to infinity are rejected (%s)", err);
	paths[1] = mkpath(ab, 2, 1, 1, 0);
	rc = mk_attribute(paths, 2, 0, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "n_channels 0 is rejected (%s)", err);
	rc = mk_attribute(paths, -1, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "negative n_paths is rejected (%s)", err);

	/* 2 states against a limit of 1 */
	o.max_states = 1;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && strcmp(err, "the chain has 2 states, more than the limit of 1") == 0,
		  "max_states exceeded: AN_ELIMIT (%s)", err);
	rc = mk_build_chain(paths, 2, 2, &o, &an_std_allocator, &ch, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && msg_ok(err), "mk_build_chain: max_states exceeded");
	o.max_states = 2;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK, "max_states equal to the state count is accepted");
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	o.max_states = 0;
	rc = mk_attribute(paths, 2, 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "max_states 0 is rejected (%s)", err);
	mk_default_options(&o);

	/* order selection */
	paths[0] = mkpath(ab, 2, 1, 0, 0);
	paths[1] = mkpath(ab + 1, 1, 2, 0, 0);
	rc = mk_select_order(paths, 2, 2, 2, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "nulls"),
		  "order selection without nulls is rejected (%s)", err);
	paths[0] = mkpath(ab, 2, 0, 1, 0);
	paths[1] = mkpath(ab + 1, 1, 0, 2, 0);
	rc = mk_select_order(paths, 2, 2, 2, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "conversions"),
		  "order selection without conversions is rejected (%s)", err);
	paths[0] = mkpath(ab, 2, 1, 1, 0);
	rc = mk_select_order(paths, 2, 2, 2, 1, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "folds"), "1 fold is rejected (%s)", err);
	rc = mk_select_order(paths, 2, 2, 2, 21, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "21 folds are rejected");
	rc = mk_select_order(paths, 2, 2, 0, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "max_order"),
		  "max_order 0 is rejected (%s)", err);
	rc = mk_select_order(paths, 2, 2, 17, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err), "max_order 17 is rejected");
	paths[1] = mkpath(bad, 2, 1, 1, 0);
	rc = mk_select_order(paths, 2, 2, 2, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_EINVAL && msg_ok(err) && strstr(err, "channel id"),
		  "order selection checks channel ids (%s)", err);
}

/* ------------------------------------------------- random path sets */

typedef struct pathset
{
	an_path    *p;
	int32_t    *ch;
	int64_t		n;
	int64_t		cap;
	int64_t		nch;
	int64_t		chcap;
} pathset;

/* room for max_paths paths and max_channels touches in total */
static void
ps_init(pathset *s, int64_t max_paths, int64_t max_channels)
{
	s->p = malloc(sizeof(an_path) * (max_paths > 0 ? max_paths : 1));
	s->ch = malloc(sizeof(int32_t) * (max_channels > 0 ? max_channels : 1));
	s->n = 0;
	s->cap = max_paths;
	s->nch = 0;
	s->chcap = max_channels;
	if (s->p == NULL || s->ch == NULL)
		abort();
}

/* release a path set */
static void
ps_free(pathset *s)
{
	free(s->p);
	free(s->ch);
}

/* append a path (the channel pool never moves: sized at ps_init) */
static void
ps_add(pathset *s, const int32_t *ch, int len, double conv, double nulls, double value)
{
	if (s->n >= s->cap || s->nch + len > s->chcap)
		abort();
	memcpy(s->ch + s->nch, ch, sizeof(int32_t) * len);
	s->p[s->n++] = mkpath(s->ch + s->nch, len, conv, nulls, value);
	s->nch += len;
}

/* ------------------------------------------------------ brute force */

/*
 * The chain rebuilt independently: windows found by linear search, a dense
 * weight matrix with self-loops kept, rewards as documented.
 */
typedef struct bfchain
{
	int			n;
	int32_t    *win;			/* n x MK_MAX_ORDER */
	int		   *wlen;
	double	   *W;				/* n x n */
	double	   *start,
			   *conv,
			   *nul,
			   *val;
	double		total_conv,
				total_value;
} bfchain;

/* the state of a window, -1 if unknown */
static int
bf_find(const bfchain *c, const int32_t *w, int len)
{
	int			s;

	for (s = 0; s < c->n; s++)
		if (c->wlen[s] == len && memcmp(c->win + (size_t) s * MK_MAX_ORDER, w, sizeof(int32_t) * len) == 0)
			return s;
	return -1;
}

/* the brute-force chain of a path set under the options o */
static void
bf_build(const pathset *ps, const mk_options *o, bfchain *c)
{
	int64_t		p,
				total = 0;
	int			pass;

	for (p = 0; p < ps->n; p++)
		total += ps->p[p].length;
	memset(c, 0, sizeof(*c));
	c->win = calloc((size_t) total + 1, sizeof(int32_t) * MK_MAX_ORDER);
	c->wlen = calloc((size_t) total + 1, sizeof(int));
	for (pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			c->W = calloc((size_t) c->n * c->n + 1, sizeof(double));
			c->start = calloc(c->n + 1, sizeof(double));
			c->conv = calloc(c->n + 1, sizeof(double));
			c->nul = calloc(c->n + 1, sizeof(double));
			c->val = calloc(c->n + 1, sizeof(double));
		}
		for (p = 0; p < ps->n; p++)
		{
			const an_path *path = &ps->p[p];
			double		w = path->conversions + (o->use_nulls ? path->nulls : 0);
			int32_t    *seq;
			int			len = 0,
						i,
						prev = -1;

			if (w <= 0)
				continue;
			seq = malloc(sizeof(int32_t) * path->length);
			for (i = 0; i < path->length; i++)
				if (!o->collapse || len == 0 || seq[len - 1] != path->channels[i])
					seq[len++] = path->channels[i];
			for (i = 0; i < len; i++)
			{
				int			lo = i - o->order + 1 < 0 ? 0 : i - o->order + 1;
				int			s = bf_find(c, seq + lo, i - lo + 1);

				if (s < 0)
				{
					s = c->n++;
					memcpy(c->win + (size_t) s * MK_MAX_ORDER, seq + lo, sizeof(int32_t) * (i - lo + 1));
					c->wlen[s] = i - lo + 1;
				}
				if (pass == 1)
				{
					if (prev < 0)
						c->start[s] += w;
					else
						c->W[(size_t) prev * c->n + s] += w;
				}
				prev = s;
			}
			if (pass == 1)
			{
				c->conv[prev] += path->conversions;
				c->nul[prev] += o->use_nulls ? path->nulls : 0;
				c->val[prev] += path->value;
				c->total_conv += path->conversions;
				c->total_value += path->value;
			}
			free(seq);
		}
	}
}

/* release a brute-force chain */
static void
bf_free(bfchain *c)
{
	free(c->win);
	free(c->wlen);
	free(c->W);
	free(c->start);
	free(c->conv);
	free(c->nul);
	free(c->val);
}

/* Gaussian elimination with partial pivoting, two right-hand sides */
static void
bf_gauss(double *A, int n, double *r1, double *r2)
{
	int			i,
				j,
				k;

	for (k = 0; k < n; k++)
	{
		int			p = k;

		for (i = k + 1; i < n; i++)
			if (fabs(A[(size_t) i * n + k]) > fabs(A[(size_t) p * n + k]))
				p = i;
		if (p != k)
		{
			double		t;

			for (j = 0; j < n; j++)
			{
				t = A[(size_t) k * n + j];
				A[(size_t) k * n + j] = A[(size_t) p * n + j];
				A[(size_t) p * n + j] = t;
			}
			t = r1[k];
			r1[k] = r1[p];
			r1[p] = t;
			t = r2[k];
			r2[k] = r2[p];
			r2[p] = t;
		}
		for (i = k + 1; i < n; i++)
		{
			double		f = A[(size_t) i * n + k] / A[(size_t) k * n + k];

			if (f == 0)
				continue;
			for (j = k; j < n; j++)
				A[(size_t) i * n + j] -= f * A[(size_t) k * n + j];
			r1[i] -= f * r1[k];
			r2[i] -= f * r2[k];
		}
	}
	for (k = n - 1; k >= 0; k--)
	{
		for (j = k + 1; j < n; j++)
		{
			r1[k] -= A[(size_t) k * n + j] * r1[j];
			r2[k] -= A[(size_t) k * n + j] * r2[j];
		}
		r1[k] /= A[(size_t) k * n + k];
		r2[k] /= A[(size_t) k * n + k];
	}
}

/*
 * Conversion probability and expected value from start with every state
 * containing channel `removed` (-1: none) made an absorbing failure.
 */
static void
bf_solve(const bfchain *c, int removed, double *P, double *V)
{
	int			n = c->n,
				i,
				j;
	double	   *A = calloc((size_t) n * n + 1, sizeof(double));
	double	   *x = calloc(n + 1, sizeof(double));
	double	   *y = calloc(n + 1, sizeof(double));
	double		W = 0;

	for (i = 0; i < n; i++)
	{
		double		out = c->conv[i] + c->nul[i];
		bool		fail = false;

		for (j = 0; j < c->wlen[i]; j++)
			if (c->win[(size_t) i * MK_MAX_ORDER + j] == removed)
				fail = true;
		for (j = 0; j < n; j++)
			out += c->W[(size_t) i * n + j];
		A[(size_t) i * n + i] = 1;
		if (fail)
			continue;			/* x_i = 0 */
		for (j = 0; j < n; j++)
			A[(size_t) i * n + j] -= c->W[(size_t) i * n + j] / out;
		x[i] = c->conv[i] / out;
		/* p(conversion) times the mean value of the conversions ending here */
		y[i] = c->conv[i] > 0 ? x[i] * (c->val[i] / c->conv[i]) : 0;
	}
	bf_gauss(A, n, x, y);
	*P = 0;
	*V = 0;
	for (i = 0; i < n; i++)
		W += c->start[i];
	for (i = 0; i < n; i++)
	{
		*P += c->start[i] / W * x[i];
		*V += c->start[i] / W * y[i];
	}
	free(A);
	free(x);
	free(y);
}

/* random small input: 20-200 paths of 1-5 touches over n_channels */
static void
random_paths(an_rng *rng, pathset *ps, int n_channels, int n_paths, int max_len)
{
	int			i,
				j;

	ps_init(ps, n_paths, (int64_t) n_paths * max_len);
	for (i = 0; i < n_paths; i++)
	{
		int32_t		ch[64];
		int			len = 1 + (int) an_rng_below(rng, max_len);
		double		conv = (double) an_rng_below(rng, 3),
					nulls = (double) an_rng_below(rng, 4),
					value;

		for (j = 0; j < len; j++)
			ch[j] = (j > 0 && an_rng_uniform(rng) < 0.2) ? ch[j - 1] :
				(int32_t) an_rng_below(rng, n_channels);
		if (an_rng_uniform(rng) < 0.1)
			conv *= 0.5;		/* fractional counts happen after weighting */
		value = conv > 0 && an_rng_uniform(rng) < 0.8 ? conv * 100 * an_rng_uniform(rng) : 0;
		ps_add(ps, ch, len, conv, nulls, value);
	}
}

/* |a - b| <= 1e-9 * max(|a|, |b|, floor) */
static bool
rel_close(double a, double b, double floor)
{
	return fabs(a - b) <= 1e-9 * fmax(fmax(fabs(a), fabs(b)), floor);
}

/*
 * Random small chains against the brute force: removal effects, credit,
 * P and the chain itself, with both solvers and the automatic choice.
 */
static void
test_brute_force(void)
{
	int			cases = quick ? 8 : 48,
				t;
	double		worst_re = 0,
				worst_credit = 0;
	int			bad_chain = 0,
				bad[3] = {0, 0, 0},
				bad_flag = 0,
				tested = 0,
				max_states = 0;

	for (t = 0; t < cases; t++)
	{
		an_rng		rng;
		pathset		ps;
		bfchain		bc;
		mk_options	o;
		mk_chain	ch;
		char		err[256];
		int			n_channels,
					s,
					c,
					rc;
		double		P,
					V,
				   *re,
				   *vre,
					sre = 0,
					svre = 0;

		an_rng_seed(&rng, 1000 + t);
		n_channels = 3 + (int) an_rng_below(&rng, 6);
		mk_default_options(&o);
		o.order = 1 + (int) an_rng_below(&rng, 3);
		o.collapse = an_rng_uniform(&rng) < 0.7;
		o.use_nulls = an_rng_uniform(&rng) < 0.8;
		random_paths(&rng, &ps, n_channels, 20 + (int) an_rng_below(&rng, quick ? 60 : 181),
					 quick ? 4 : 5);
		bf_build(&ps, &o, &bc);
		if (bc.n > max_states)
			max_states = bc.n;

		/* the chain: states and every transition against the brute force */
		rc = mk_build_chain(ps.p, ps.n, n_channels, &o, &an_std_allocator, &ch, err, sizeof(err));
		if (rc != AN_OK || ch.n_states != bc.n)
			bad_chain++;
		else
		{
			int64_t		k = 0,
						expect = 0;
			int			i,
						j,
						ok = 1;
			double		W = 0;

			for (i = 0; i < bc.n; i++)
				W += bc.start[i];
			for (i = 0; i < bc.n; i++)
				ok &= state_is(&ch, i, bc.win + (size_t) i * MK_MAX_ORDER, bc.wlen[i]);
			for (i = 0; i < bc.n && ok; i++)
				if (bc.start[i] > 0)
					ok &= k < ch.n_transitions &&
						tr_is(&ch.transitions[k++], MK_STATE_START, i, bc.start[i], bc.start[i] / W);
			for (i = 0; i < bc.n && ok; i++)
			{
				double		out = bc.conv[i] + bc.nul[i];

				for (j = 0; j < bc.n; j++)
					out += bc.W[(size_t) i * bc.n + j];
				for (j = 0; j < bc.n && ok; j++)
					if (bc.W[(size_t) i * bc.n + j] > 0)
						ok &= k < ch.n_transitions &&
							tr_is(&ch.transitions[k++], i, j, bc.W[(size_t) i * bc.n + j],
								  bc.W[(size_t) i * bc.n + j] / out);
				if (bc.conv[i] > 0)
					ok &= k < ch.n_transitions &&
						tr_is(&ch.transitions[k++], i, MK_STATE_CONVERSION, bc.conv[i], bc.conv[i] / out);
				if (bc.nul[i] > 0)
					ok &= k < ch.n_transitions &&
						tr_is(&ch.transitions[k++], i, MK_STATE_NULL, bc.nul[i], bc.nul[i] / out);
			}
			expect = k;
			if (!ok || ch.n_transitions != expect)
				bad_chain++;
		}
		mk_chain_free(&an_std_allocator, &ch);

		/* brute-force removal effects */
		re = calloc(n_channels, sizeof(double));
		vre = calloc(n_channels, sizeof(double));
		bf_solve(&bc, -1, &P, &V);
		for (c = 0; c < n_channels; c++)
		{
			double		pc,
						vc;

			bf_solve(&bc, c, &pc, &vc);
			re[c] = P > 0 ? fmax(0, 1 - pc / P) : 0;
			vre[c] = V > 0 ? fmax(0, 1 - vc / V) : 0;
			sre += re[c];
			svre += vre[c];
		}

		for (s = SOLVER_AUTO; s <= SOLVER_ITERATIVE; s++)
		{
			mk_result	r;
			int			ok = 1;

			rc = mk_attribute_solver(ps.p, ps.n, n_channels, &o, s, &an_std_allocator, &r,
									 err, sizeof(err));
			if (rc != AN_OK)
			{
				NOTE("case %d solver %d: %s", t, s, err);
				bad[s]++;
				continue;
			}
			if (s != SOLVER_AUTO && r.dense != (s == SOLVER_DENSE))
				bad_flag++;
			ok &= r.n_states == bc.n && rel_close(r.conversion_probability, P, 1e-6);
			for (c = 0; c < n_channels; c++)
			{
				double		ec = sre > 0 ? bc.total_conv * re[c] / sre : 0,
							ev = svre > 0 ? bc.total_value * vre[c] / svre : 0;

				worst_re = fmax(worst_re, fabs(r.removal_effect[c] - re[c]) /
								fmax(fmax(re[c], r.removal_effect[c]), 1e-6));
				if (bc.total_conv > 0)
					worst_credit = fmax(worst_credit, fabs(r.conversions[c] - ec) /
										fmax(fmax(ec, r.conversions[c]), 1e-6 * bc.total_conv));
				ok &= rel_close(r.removal_effect[c], re[c], 1e-6);
				ok &= rel_close(r.value_removal_effect[c], vre[c], 1e-6);
				ok &= rel_close(r.conversions[c], ec, 1e-6 * bc.total_conv);
				ok &= rel_close(r.value[c], ev, 1e-6 * bc.total_value);
			}
			ok &= result_sane(&r);
			if (!ok)
			{
				NOTE("case %d (order %d, %d channels, %d states) solver %d differs from the brute force",
					 t, o.order, n_channels, bc.n, s);
				for (c = 0; c < n_channels; c++)
					NOTE("  channel %d: RE %.17g vs %.17g, VRE %.17g vs %.17g", c,
						 r.removal_effect[c], re[c], r.value_removal_effect[c], vre[c]);
				bad[s]++;
			}
			mk_result_free(&an_std_allocator, &r);
		}
		tested++;
		free(re);
		free(vre);
		bf_free(&bc);
		ps_free(&ps);
	}
	NOTE("brute force: %d random cases, up to %d states; largest relative difference "
		 "%.2g in removal effects, %.2g in credit", tested, max_states, worst_re, worst_credit);
	CHECK(bad_chain == 0, "random chains: states and transitions match the brute force (%d bad)",
		  bad_chain);
	CHECK(bad[SOLVER_AUTO] == 0, "random chains, automatic solver: every removal effect and credit "
		  "matches the brute force to 1e-9 (%d bad)", bad[SOLVER_AUTO]);
	CHECK(bad[SOLVER_DENSE] == 0, "random chains, dense solver: matches the brute force (%d bad)",
		  bad[SOLVER_DENSE]);
	CHECK(bad[SOLVER_ITERATIVE] == 0, "random chains, iterative solver: matches the brute force "
		  "(%d bad)", bad[SOLVER_ITERATIVE]);
	CHECK(bad_flag == 0, "the forced solver is the one reported in dense");
}

/* ------------------------------------------- larger random inputs */

/*
 * Journeys with a skewed channel mix (channel i drawn with weight
 * 1 / (i + 1)), geometric lengths (mean about 3.3, at most 12), about
 * `counts` journeys per path, and conversions more likely when channel 0
 * or 1 was touched.  With distinct, a path whose channel sequence was
 * already drawn is drawn again (sequences compared by a 64-bit hash), as
 * after GROUP BY path in SQL.
 */
static void
gen_journeys(an_rng *rng, pathset *ps, int n_channels, int64_t n_paths, double counts,
			 bool distinct)
{
	double	   *wt = malloc(sizeof(double) * n_channels),
			   *cum = malloc(sizeof(double) * n_channels);
	size_t		nslots = 1,
				mask;
	uint64_t   *seen;
	int64_t		i;
	int			c;

	while (nslots < (size_t) n_paths * 2 + 2)
		nslots *= 2;
	mask = nslots - 1;
	seen = calloc(distinct ? nslots : 1, sizeof(uint64_t));
	for (c = 0; c < n_channels; c++)
		wt[c] = 1.0 / (c + 1);
	an_cumulate(wt, cum, n_channels);
	ps_init(ps, n_paths, n_paths * 12);
	for (i = 0; i < n_paths; i++)
	{
		int32_t		ch[12];
		int			len = 1,
					j;
		double		pc = 0.05,
					n,
					conv;

		while (len < 12 && an_rng_uniform(rng) < 0.7)
			len++;
		for (j = 0; j < len; j++)
		{
			ch[j] = an_rng_pick(rng, cum, n_channels);
			if (ch[j] <= 1)
				pc += 0.1;
		}
		if (distinct)
		{
			uint64_t	h = (uint64_t) len;
			size_t		k;

			for (j = 0; j < len; j++)
				h = an_mix64(h * 31 + (uint64_t) ch[j]);
			h |= 1;				/* 0 marks a free slot */
			for (k = h & mask; seen[k] != 0 && seen[k] != h; k = (k + 1) & mask)
				;
			if (seen[k] == h)
			{
				i--;
				continue;
			}
			seen[k] = h;
		}
		n = 1 + floor(an_rng_uniform(rng) * 2 * counts);
		conv = floor(n * fmin(pc, 0.9) + an_rng_uniform(rng));
		if (conv > n)
			conv = n;
		ps_add(ps, ch, len, conv, n - conv, conv * (20 + 80 * an_rng_uniform(rng)));
	}
	free(seen);
	free(wt);
	free(cum);
}

/* sums, signs and finiteness on larger inputs; dense against iterative */
static void
test_invariants(void)
{
	static const struct
	{
		int			channels,
					order,
					paths;
	}			cases[] = {
		{12, 1, 3000}, {12, 2, 3000}, {8, 3, 3000}, {40, 1, 3000}, {10, 4, 2000}
	};
	int			t,
				nc = quick ? 3 : 5;

	for (t = 0; t < nc; t++)
	{
		an_rng		rng;
		pathset		ps;
		mk_options	o;
		mk_result	r[3];
		char		err[256];
		int			s,
					c,
					rc,
					ok = 1,
					diff = 0;

		an_rng_seed(&rng, 77 + t);
		gen_journeys(&rng, &ps, cases[t].channels, cases[t].paths, 4, false);
		mk_default_options(&o);
		o.order = cases[t].order;
		for (s = 0; s < 3; s++)
		{
			rc = mk_attribute_solver(ps.p, ps.n, cases[t].channels, &o, s,
									 &an_std_allocator, &r[s], err, sizeof(err));
			if (rc != AN_OK)
			{
				NOTE("%s", err);
				ok = 0;
			}
		}
		CHECK(ok, "invariants %d (%d channels, order %d): every solver succeeds", t,
			  cases[t].channels, cases[t].order);
		if (!ok)
		{
			ps_free(&ps);
			continue;
		}
		NOTE("invariants %d: %d states, %lld transitions, automatic solver %s", t,
			 r[0].n_states, (long long) r[0].n_transitions, r[0].dense ? "dense" : "iterative");
		CHECK(rel_close(sum_of(r[0].conversions, cases[t].channels), r[0].total_conversions, 0) &&
			  rel_close(sum_of(r[0].value, cases[t].channels), r[0].total_value, 0),
			  "invariants %d: credit sums to the total conversions and value", t);
		CHECK(result_sane(&r[0]) && result_sane(&r[1]) && result_sane(&r[2]),
			  "invariants %d: no NaN, no negative credit, effects in [0, 1]", t);
		for (c = 0; c < cases[t].channels; c++)
		{
			diff += !rel_close(r[1].removal_effect[c], r[2].removal_effect[c], 1e-6);
			diff += !rel_close(r[1].value_removal_effect[c], r[2].value_removal_effect[c], 1e-6);
			diff += !rel_close(r[1].conversions[c], r[2].conversions[c], 1e-6 * r[1].total_conversions);
			diff += !rel_close(r[1].value[c], r[2].value[c], 1e-6 * r[1].total_value);
			diff += !rel_close(r[0].conversions[c], r[1].conversions[c], 1e-6 * r[1].total_conversions);
		}
		CHECK(diff == 0 && r[1].dense && !r[2].dense &&
			  rel_close(r[1].conversion_probability, r[2].conversion_probability, 0),
			  "invariants %d: dense and iterative agree to 1e-9 (%d differ)", t, diff);
		for (s = 0; s < 3; s++)
			mk_result_free(&an_std_allocator, &r[s]);
		ps_free(&ps);
	}

	/* more live states than the dense limit: the automatic choice iterates */
	if (!quick)
	{
		an_rng		rng;
		pathset		ps;
		mk_options	o;
		mk_result	r;
		char		err[256];
		int			rc;

		an_rng_seed(&rng, 5);
		gen_journeys(&rng, &ps, 16, 30000, 3, false);
		mk_default_options(&o);
		o.order = 3;
		rc = mk_attribute(ps.p, ps.n, 16, &o, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK && r.n_states > 2000 && !r.dense && result_sane(&r) &&
			  rel_close(sum_of(r.conversions, 16), r.total_conversions, 0),
			  "order 3 over 16 channels (%d states): iterative, sane, sums to the total",
			  rc == AN_OK ? r.n_states : -1);
		if (rc == AN_OK)
			mk_result_free(&an_std_allocator, &r);
		ps_free(&ps);
	}
}

/*
 * Solver hand-overs.  A path ping-ponging A B A B ... over 40000 touches
 * leaves A <-> B with an exit chance of about 1/20000 per step, so
 * Gauss-Seidel would need some 10^6 sweeps: the iterative solver gives up
 * after its cap and, the chain being small, the dense one takes over (with
 * the brute force's numbers).  With 2000 more channels, each converting on
 * its own, the live states exceed the dense limit and the call fails with
 * AN_ELIMIT instead of returning unconverged numbers.
 */
static void
test_solver_fallback(void)
{
	int			n_extra = 2000,
				i,
				rc;
	int32_t    *ping = malloc(sizeof(int32_t) * 40000);
	int32_t    *extra = malloc(sizeof(int32_t) * n_extra);
	an_path    *paths = malloc(sizeof(an_path) * (n_extra + 2));
	mk_options	o;
	mk_result	r;
	bfchain		bc;
	pathset		ps;
	char		err[256];
	double		P,
				V,
				pa,
				va;

	for (i = 0; i < 40000; i++)
		ping[i] = i % 2;
	paths[0] = mkpath(ping, 40000, 1, 1, 7);
	paths[1] = mkpath(ping + 1, 1, 0, 1, 0);
	mk_default_options(&o);
	rc = mk_attribute_solver(paths, 2, 2, &o, SOLVER_ITERATIVE, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_OK && r.dense, "a slowly mixing chain: the iterative solver hands over to the dense one");
	ps.p = paths;
	ps.n = 2;
	bf_build(&ps, &o, &bc);
	bf_solve(&bc, -1, &P, &V);
	bf_solve(&bc, A_, &pa, &va);
	if (rc == AN_OK)
	{
		CHECK(rel_close(r.conversion_probability, P, 0) &&
			  rel_close(r.removal_effect[A_], 1 - pa / P, 1e-6) &&
			  rel_close(r.value_removal_effect[A_], 1 - va / V, 1e-6) && result_sane(&r),
			  "a slowly mixing chain: P %.17g and RE_A as the brute force", r.conversion_probability);
		mk_result_free(&an_std_allocator, &r);
	}
	bf_free(&bc);

	for (i = 0; i < n_extra; i++)
	{
		extra[i] = 2 + i;
		paths[2 + i] = mkpath(extra + i, 1, 1, 0, 0);
	}
	rc = mk_attribute(paths, n_extra + 2, n_extra + 2, &o, &an_std_allocator, &r, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && msg_ok(err) && strstr(err, "did not converge"),
		  "a slowly mixing chain above the dense limit: AN_ELIMIT (%s)", err);
	if (rc == AN_OK)
		mk_result_free(&an_std_allocator, &r);
	free(ping);
	free(extra);
	free(paths);
}

/* weights over 600 orders of magnitude: still finite, sane, summing up */
static void
test_extreme_weights(void)
{
	static const int32_t ab[] = {A_, B_},
				ba[] = {B_, A_},
				a[] = {A_},
				cab[] = {C_, A_, B_};
	an_path		paths[4];
	mk_options	o;
	mk_result	r;
	char		err[256];
	int			rc,
				s;

	paths[0] = mkpath(ab, 2, 1e300, 1e300, 1e300);
	paths[1] = mkpath(ba, 2, 1e-300, 0, 1e-300);
	paths[2] = mkpath(a, 1, 0, 1e-300, 0);
	paths[3] = mkpath(cab, 3, 1e-300, 1e-300, 0);
	mk_default_options(&o);
	for (s = SOLVER_AUTO; s <= SOLVER_ITERATIVE; s++)
	{
		rc = mk_attribute_solver(paths, 4, 3, &o, s, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK && result_sane(&r) &&
			  rel_close(sum_of(r.conversions, 3), r.total_conversions, 0) &&
			  rel_close(sum_of(r.value, 3), r.total_value, 0) &&
			  near(r.conversion_probability, 0.5, 1e-12),
			  "extreme weights (solver %d): finite, P = 1/2, credit sums to the totals", s);
		if (rc == AN_OK)
			mk_result_free(&an_std_allocator, &r);
	}
}

/* ---------------------------------------------------- order selection */

/*
 * Exactly computable: channels 2..21 each start one path [x, A] (conv 2,
 * null 2) and one path [x, B] (conv 2, null 6); 24 channels, 2 folds.
 * Journeys are dealt round-robin, and every count is even, so whatever
 * fold a path starts at, each fold gets exactly half of every path:
 * [x, A] conv 1 null 1, [x, B] conv 1 null 3.  So the training half
 * predicts 1/2 for paths ending in A and 1/4 for B, at order 1 and at
 * orders 2 and 3 alike (their keys (x, A), (x, B) have the other half as
 * training weight).  Pairs (weights): pos A 40 vs neg B 120 win, pos A vs
 * neg A 40 x 40 tie, pos B vs neg B 40 x 120 tie, pos B vs neg A lose:
 * AUC = (4800 + 800 + 2400) / (80 * 160) = 0.625.  Log loss = -(40 ln 1/2
 * + 40 ln 1/2 + 40 ln 1/4 + 120 ln 3/4) / 240.  Same scores for every
 * order, so order 1 is selected (ties go to the lower order).  States:
 * order 1 has 22, order 2 has 20 (x) + 20 (x,A) + 20 (x,B) = 60.
 */
static void
test_select_exact(void)
{
	int32_t		ch[80];
	an_path		paths[40];
	mk_options	o;
	mk_order_score sc[3];
	char		err[256];
	int			x,
				rc;
	double		ll = -(40 * log(0.5) + 40 * log(0.5) + 40 * log(0.25) + 120 * log(0.75)) / 240;

	for (x = 0; x < 20; x++)
	{
		ch[4 * x] = 2 + x;
		ch[4 * x + 1] = A_;
		ch[4 * x + 2] = 2 + x;
		ch[4 * x + 3] = B_;
		paths[2 * x] = mkpath(ch + 4 * x, 2, 2, 2, 0);
		paths[2 * x + 1] = mkpath(ch + 4 * x + 2, 2, 2, 6, 0);
	}
	mk_default_options(&o);
	o.order = 9;				/* ignored by order selection */
	rc = mk_select_order(paths, 40, 24, 3, 2, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_OK, "exact selection: succeeds (%s)", err);
	if (rc != AN_OK)
		return;
	CHECK(sc[0].order == 1 && sc[1].order == 2 && sc[2].order == 3,
		  "exact selection: orders 1, 2, 3");
	CHECK(sc[0].n_states == 22 && sc[1].n_states == 60 && sc[2].n_states == 60,
		  "exact selection: 22, 60, 60 states (got %d, %d, %d)",
		  sc[0].n_states, sc[1].n_states, sc[2].n_states);
	CHECK(near(sc[0].auc, 0.625, 1e-12), "exact selection: AUC(1) = 0.625 (got %.17g)", sc[0].auc);
	CHECK(near(sc[0].log_loss, ll, 1e-12), "exact selection: log loss(1) = %.12g (got %.17g)",
		  ll, sc[0].log_loss);
	CHECK(near(sc[1].auc, 0.625, 1e-12) && near(sc[1].log_loss, ll, 1e-12) &&
		  near(sc[2].auc, 0.625, 1e-12),
		  "exact selection: orders 2 and 3 score like order 1");
	CHECK(sc[0].selected && !sc[1].selected && !sc[2].selected,
		  "exact selection: the tie goes to order 1");
}

#define NC 6

/*
 * Journeys from a process of order `order` (1 or 2) over 6 channels: the
 * next channel (never the current one) and the conversion probability at
 * the end depend on the last `order` channels; a journey continues with
 * probability 0.6 after each touch (at most 10 touches).
 */
static void
gen_process(pathset *ps, int order, uint64_t seed, int n)
{
	an_rng		rng;
	double		cum[NC][NC][NC],
				conv[NC][NC];
	int			a,
				b,
				c,
				i;

	an_rng_seed(&rng, seed);
	for (a = 0; a < NC; a++)
		for (b = 0; b < NC; b++)
		{
			double		w[NC];

			for (c = 0; c < NC; c++)
				w[c] = c == b ? 0 : 0.05 + an_rng_uniform(&rng);
			an_cumulate(w, cum[a][b], NC);
		}
	if (order == 1)
		for (a = 1; a < NC; a++)
			memcpy(cum[a], cum[0], sizeof(cum[0]));
	for (a = 0; a < NC; a++)
		for (b = 0; b < NC; b++)
			conv[a][b] = an_rng_uniform(&rng) < 0.35 ? 0.5 : 0.04;
	if (order == 1)
		for (a = 1; a < NC; a++)
			memcpy(conv[a], conv[0], sizeof(conv[0]));

	ps_init(ps, n, (int64_t) n * 10);
	for (i = 0; i < n; i++)
	{
		int32_t		ch[10];
		int			len = 1;
		int			last2;

		ch[0] = (int32_t) an_rng_below(&rng, NC);
		while (len < 10 && an_rng_uniform(&rng) < 0.6)
		{
			int			p2 = len >= 2 ? ch[len - 2] : ch[len - 1];

			ch[len] = an_rng_pick(&rng, cum[p2][ch[len - 1]], NC);
			len++;
		}
		last2 = len >= 2 ? ch[len - 2] : ch[len - 1];
		if (an_rng_uniform(&rng) < conv[last2][ch[len - 1]])
			ps_add(ps, ch, len, 1, 0, 10);
		else
			ps_add(ps, ch, len, 0, 1, 0);
	}
}

/*
 * Selection on a true order-2 process picks order 2 or more with a clearly
 * better AUC; on a true order-1 process order 2 does not do clearly better.
 */
static void
test_select_processes(void)
{
	pathset		ps;
	mk_options	o;
	mk_order_score sc[4];
	mk_result	r;
	char		err[256];
	int			rc,
				k,
				sel = 0,
				n = 40000,
				nsel;

	mk_default_options(&o);
	gen_process(&ps, 2, 11, n);
	rc = mk_select_order(ps.p, ps.n, 6, 4, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_OK, "order-2 process: selection succeeds");
	if (rc == AN_OK)
	{
		nsel = 0;
		for (k = 0; k < 4; k++)
		{
			NOTE("order-2 process, order %d: %d states, AUC %.4f, log loss %.4f%s", k + 1,
				 sc[k].n_states, sc[k].auc, sc[k].log_loss, sc[k].selected ? " (selected)" : "");
			if (sc[k].selected)
			{
				sel = k + 1;
				nsel++;
			}
		}
		CHECK(nsel == 1 && sel >= 2, "order-2 process: order %d selected (2 or higher)", sel);
		CHECK(sel >= 1 && sc[sel - 1].log_loss <= sc[0].log_loss && sc[sel - 1].log_loss <= sc[1].log_loss &&
			  sc[sel - 1].log_loss <= sc[2].log_loss && sc[sel - 1].log_loss <= sc[3].log_loss,
			  "order-2 process: the selected order has the lowest log loss");
		CHECK(sc[1].auc > sc[0].auc + 0.01, "order-2 process: AUC(2) %.4f > AUC(1) %.4f",
			  sc[1].auc, sc[0].auc);
		CHECK(sc[1].log_loss < sc[0].log_loss, "order-2 process: log loss(2) < log loss(1)");
		o.order = 2;
		rc = mk_attribute(ps.p, ps.n, 6, &o, &an_std_allocator, &r, err, sizeof(err));
		CHECK(rc == AN_OK && r.n_states == sc[1].n_states,
			  "selection reports the state count of mk_attribute at order 2");
		if (rc == AN_OK)
			mk_result_free(&an_std_allocator, &r);
		o.order = 1;
	}
	ps_free(&ps);

	gen_process(&ps, 1, 12, n);
	rc = mk_select_order(ps.p, ps.n, 6, 3, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	CHECK(rc == AN_OK, "order-1 process: selection succeeds");
	if (rc == AN_OK)
	{
		for (k = 0; k < 3; k++)
			NOTE("order-1 process, order %d: %d states, AUC %.4f, log loss %.4f%s", k + 1,
				 sc[k].n_states, sc[k].auc, sc[k].log_loss, sc[k].selected ? " (selected)" : "");
		CHECK(sc[1].auc <= sc[0].auc + 0.005,
			  "order-1 process: AUC(2) %.4f does not beat AUC(1) %.4f by more than 0.005",
			  sc[1].auc, sc[0].auc);
		CHECK(sc[0].auc > 0.6 && sc[0].auc < 1 && isfinite(sc[0].log_loss) && sc[0].log_loss > 0,
			  "order-1 process: AUC(1) %.4f is informative, log loss finite", sc[0].auc);
		CHECK(sc[0].selected && !sc[1].selected && !sc[2].selected,
			  "order-1 process: order 1, the true order, is selected by log loss");
	}
	ps_free(&ps);
}

/* ---------------------------------------- allocation and interrupts */

typedef struct track
{
	int64_t		allocs;			/* successful allocations so far */
	int64_t		fail_at;		/* the allocation that fails (-1: none) */
	int64_t		live;
	void	  **blocks;			/* live blocks, to free after a longjmp */
	int64_t		nblocks;
	int64_t		interrupts;
	int64_t		jump_at;		/* longjmp on this interrupt check (-1: none) */
	jmp_buf	   *jb;
} track;

/* malloc, except for allocation number fail_at; records the live blocks */
static void *
track_alloc(void *ctx, size_t size)
{
	track	   *t = ctx;
	void	   *p;

	if (t->fail_at >= 0 && t->allocs == t->fail_at)
	{
		t->fail_at = -1;
		return NULL;
	}
	p = malloc(size);
	if (p == NULL)
		return NULL;
	t->allocs++;
	t->live++;
	t->blocks = realloc(t->blocks, sizeof(void *) * (t->nblocks + 1));
	t->blocks[t->nblocks++] = p;
	return p;
}

/* free and forget a block */
static void
track_release(void *ctx, void *ptr)
{
	track	   *t = ctx;
	int64_t		i;

	for (i = t->nblocks - 1; i >= 0; i--)
		if (t->blocks[i] == ptr)
		{
			t->blocks[i] = t->blocks[--t->nblocks];
			break;
		}
	t->live--;
	free(ptr);
}

/* count the checks; longjmp on check number jump_at (like an ereport) */
static void
track_interrupts(void *ctx)
{
	track	   *t = ctx;

	if (t->jump_at >= 0 && t->interrupts == t->jump_at)
		longjmp(*t->jb, 1);
	t->interrupts++;
}

/* free whatever is still live and start over */
static void
track_reset(track *t)
{
	int64_t		i;

	for (i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	memset(t, 0, sizeof(*t));
	t->fail_at = -1;
	t->jump_at = -1;
}

/*
 * Every allocation of a run fails in turn: the call must return AN_ENOMEM
 * with nothing left allocated, and finally succeed.
 */
static void
test_alloc_failures(void)
{
	static const int32_t abc[] = {A_, B_, C_},
				bc[] = {B_, C_},
				ab[] = {A_, B_};
	an_path		paths[3];
	mk_options	o;
	track		t;
	an_allocator al;
	int			which;

	paths[0] = mkpath(abc, 3, 1, 0, 10);
	paths[1] = mkpath(bc, 2, 0, 1, 0);
	paths[2] = mkpath(ab, 2, 1, 1, 6);
	mk_default_options(&o);
	o.order = 2;
	memset(&t, 0, sizeof(t));
	al.alloc = track_alloc;
	al.release = track_release;
	al.check_interrupts = track_interrupts;
	al.ctx = &t;

	for (which = 0; which < 5; which++)
	{
		int64_t		k;
		int			bad = 0,
					rc = AN_ENOMEM,
					tries = 0;

		for (k = 0; rc == AN_ENOMEM && k < 100000; k++)
		{
			mk_result	r;
			mk_chain	ch;
			mk_order_score sc[3];
			char		err[256];

			track_reset(&t);
			t.fail_at = k;
			if (which == 0)
				rc = mk_attribute_solver(paths, 3, 3, &o, SOLVER_DENSE, &al, &r, err, sizeof(err));
			else if (which == 1)
				rc = mk_attribute_solver(paths, 3, 3, &o, SOLVER_ITERATIVE, &al, &r, err, sizeof(err));
			else if (which == 2)
				rc = mk_build_chain(paths, 3, 3, &o, &al, &ch, err, sizeof(err));
			else if (which == 3)
				rc = mk_select_order(paths, 3, 3, 3, 2, &o, &al, sc, err, sizeof(err));
			else
			{
				mk_options	o1 = o;

				o1.order = 1;
				rc = mk_attribute_solver(paths, 3, 3, &o1, SOLVER_AUTO, &al, &r, err, sizeof(err));
			}
			tries++;
			if (rc == AN_ENOMEM)
				bad += t.live != 0 || !msg_ok(err);
			else if (rc == AN_OK)
			{
				if (which == 2)
					mk_chain_free(&al, &ch);
				else if (which != 3)
					mk_result_free(&al, &r);
				bad += t.live != 0;
			}
			else
				bad++;
		}
		CHECK(rc == AN_OK && bad == 0,
			  "allocation failures (%s): %d runs, each failure returns AN_ENOMEM and frees everything",
			  which == 0 ? "dense" : which == 1 ? "iterative" : which == 2 ? "chain" :
			  which == 3 ? "selection" : "order 1", tries);
	}
	track_reset(&t);
	free(t.blocks);
}

/* interrupts are checked, and a check that does not return leaks nothing but allocator memory */
static void
test_interrupts(void)
{
	an_rng		rng;
	pathset		ps;
	mk_options	o;
	track		t;
	an_allocator al;
	jmp_buf		jb;
	mk_result	r;
	char		err[256];
	int			rc,
				j;
	volatile int jumps = 0;
	int64_t		total;

	an_rng_seed(&rng, 3);
	gen_journeys(&rng, &ps, 8, 500, 3, false);
	mk_default_options(&o);
	o.order = 2;
	memset(&t, 0, sizeof(t));
	track_reset(&t);
	al.alloc = track_alloc;
	al.release = track_release;
	al.check_interrupts = track_interrupts;
	al.ctx = &t;
	t.jb = &jb;
	rc = mk_attribute_solver(ps.p, ps.n, 8, &o, SOLVER_ITERATIVE, &al, &r, err, sizeof(err));
	total = t.interrupts;
	CHECK(rc == AN_OK && total > 500, "interrupts are checked (%lld times for 500 paths)",
		  (long long) total);
	if (rc == AN_OK)
		mk_result_free(&al, &r);
	for (j = 1; j < 8; j++)
	{
		volatile int64_t at = total * j / 8;

		track_reset(&t);
		t.jb = &jb;
		t.jump_at = at;
		if (setjmp(jb) == 0)
		{
			rc = mk_attribute_solver(ps.p, ps.n, 8, &o, SOLVER_ITERATIVE, &al, &r, err, sizeof(err));
			if (rc == AN_OK)
				mk_result_free(&al, &r);
		}
		else
			jumps++;
	}
	track_reset(&t);
	free(t.blocks);
	CHECK(jumps == 7, "an interrupt that does not return unwinds cleanly (%d of 7)", jumps);
	ps_free(&ps);
}

/* ---------------------------------------------------------- bench */

/* monotonic seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* qsort order of doubles */
static int
dbl_cmp(const void *x, const void *y)
{
	double		a = *(const double *) x,
				b = *(const double *) y;

	return (a > b) - (a < b);
}

/* median of 3 timings of mk_attribute */
static void
bench_one(const char *label, int n_channels, int order, int64_t n_paths, double counts,
		  uint64_t seed)
{
	an_rng		rng;
	pathset		ps;
	mk_options	o;
	mk_result	r;
	char		err[256];
	double		tm[3],
				rows = 0;
	int			i,
				rc = AN_OK;
	int64_t		p;

	an_rng_seed(&rng, seed);
	gen_journeys(&rng, &ps, n_channels, n_paths, counts, true);
	for (p = 0; p < ps.n; p++)
		rows += ps.p[p].conversions + ps.p[p].nulls;
	mk_default_options(&o);
	o.order = order;
	for (i = 0; i < 3; i++)
	{
		double		t0 = now();

		rc = mk_attribute(ps.p, ps.n, n_channels, &o, &an_std_allocator, &r, err, sizeof(err));
		tm[i] = now() - t0;
		if (rc != AN_OK)
			break;
		if (i < 2)
			mk_result_free(&an_std_allocator, &r);
	}
	if (rc != AN_OK)
	{
		NOTE("%s: %s", label, err);
		ps_free(&ps);
		return;
	}
	qsort(tm, 3, sizeof(double), dbl_cmp);
	NOTE("bench %s: %lld distinct paths (%.0f journeys), %d states, %lld transitions, %s: median %.1f ms "
		 "(min %.1f, max %.1f)", label, (long long) ps.n, rows, r.n_states,
		 (long long) r.n_transitions, r.dense ? "dense" : "iterative", tm[1] * 1e3, tm[0] * 1e3,
		 tm[2] * 1e3);
	mk_result_free(&an_std_allocator, &r);
	ps_free(&ps);
}

/* timing of order selection over orders 1 .. 4 */
static void
bench_select(void)
{
	an_rng		rng;
	pathset		ps;
	mk_options	o;
	mk_order_score sc[4];
	char		err[256];
	double		t0;
	int			rc;

	an_rng_seed(&rng, 9);
	gen_journeys(&rng, &ps, 12, 100000, 10, true);
	mk_default_options(&o);
	t0 = now();
	rc = mk_select_order(ps.p, ps.n, 12, 4, 5, &o, &an_std_allocator, sc, err, sizeof(err));
	NOTE("bench select order 1..4, 12 channels, 100000 paths, 5 folds: %s in %.1f ms",
		 rc == AN_OK ? "ok" : err, (now() - t0) * 1e3);
	ps_free(&ps);
}

/* MARKOV_BENCH=1: the performance cases of the brief */
static void
bench(void)
{
	bench_one("order 1, 12 channels", 12, 1, 100000, 10, 1);
	bench_one("order 1, 500 channels", 500, 1, 200000, 5, 2);
	bench_one("order 2, 12 channels", 12, 2, 100000, 10, 3);
	bench_one("order 3, 12 channels", 12, 3, 100000, 10, 4);
	bench_one("order 4, 12 channels", 12, 4, 100000, 10, 5);
	bench_one("order 3, 8 channels", 8, 3, 100000, 10, 6);
	bench_select();
}

/* run every group; MARKOV_QUICK and MARKOV_BENCH as in the header */
int
main(void)
{
	const char *q = getenv("MARKOV_QUICK");
	const char *b = getenv("MARKOV_BENCH");

	quick = q && *q && strcmp(q, "0") != 0;
	test_defaults();
	test_hand_order1();
	test_hand_order2();
	test_hand_no_nulls();
	test_hand_collapse();
	test_degenerate();
	test_errors();
	test_brute_force();
	test_invariants();
	test_solver_fallback();
	test_extreme_weights();
	test_select_exact();
	test_select_processes();
	test_alloc_failures();
	test_interrupts();
	if (b && *b && strcmp(b, "0") != 0)
		bench();
	return unit_done();
}
