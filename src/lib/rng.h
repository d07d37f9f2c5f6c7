/*
 * rng.h
 *		Deterministic pseudo-random numbers for the pure-C cores.
 *
 * xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64, plus
 * the handful of distributions the cores need.  Nothing here depends on
 * PostgreSQL headers, so the unit tests in test/unit link it directly.
 *
 * Every function is deterministic: the same seed gives the same stream on
 * every run.  Distribution samplers draw a fixed number of raw outputs per
 * call where that is cheap (uniform, normal, exponential), so adding a draw
 * in one place does not silently shift unrelated streams: callers that need
 * independent streams seed one generator per stream with an_mix64().
 */
#ifndef ANALYTICS_RNG_H
#define ANALYTICS_RNG_H

#include <stdint.h>

typedef struct an_rng
{
	uint64_t	s[4];
} an_rng;

/*
 * splitmix64 step: advances *state and returns the next output.  Inline, as
 * is an_mix64: the hot loops hash with them (points, actor keys).
 */
static inline uint64_t
an_splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* stateless 64-bit mixer (the splitmix64 finaliser of x + golden ratio) */
static inline uint64_t
an_mix64(uint64_t x)
{
	return an_splitmix64(&x);
}

/* seed all four words of the xoshiro state from one 64-bit seed */
extern void an_rng_seed(an_rng *r, uint64_t seed);

/* next raw 64-bit output of xoshiro256** */
extern uint64_t an_rng_next(an_rng *r);

/* uniform double in [0, 1) with 53 random bits */
extern double an_rng_uniform(an_rng *r);

/* uniform double in (0, 1]: safe to take the logarithm of */
extern double an_rng_uniform_pos(an_rng *r);

/* uniform integer in [0, n), unbiased; n must be > 0 */
extern uint64_t an_rng_below(an_rng *r, uint64_t n);

/* standard normal deviate (Box-Muller, one per two uniforms) */
extern double an_rng_normal(an_rng *r);

/* exponential deviate with the given mean */
extern double an_rng_exponential(an_rng *r, double mean);

/* exp(N(mu, sigma^2)) */
extern double an_rng_lognormal(an_rng *r, double mu, double sigma);

/* failures before the first success in Bernoulli(p) trials, 0 < p <= 1 */
extern uint32_t an_rng_geometric(an_rng *r, double p);

/*
 * Pick an index from a cumulative weight table: cum[i] is the sum of the
 * weights 0..i, so cum[n - 1] is the total.  Weights must be >= 0 and the
 * total > 0; zero-weight entries are never returned.
 */
extern int	an_rng_pick(an_rng *r, const double *cum, int n);

/* build the cumulative table for an_rng_pick; returns the total */
extern double an_cumulate(const double *weights, double *cum, int n);

#endif							/* ANALYTICS_RNG_H */
