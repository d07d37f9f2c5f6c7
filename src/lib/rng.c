/*
 * rng.c
 *		xoshiro256** with splitmix64 seeding, and a few distributions.
 *
 * The generator algorithms are the public-domain reference algorithms of
 * Blackman and Vigna (https://prng.di.unimi.it/); test/unit/test_rng.c
 * checks our outputs against their reference vectors.
 */
#include "rng.h"

#include <math.h>

#define AN_TWO_PI 6.283185307179586476925286766559

static inline uint64_t
rotl(const uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* seed xoshiro256** from splitmix64 as its authors recommend */
void
an_rng_seed(an_rng *r, uint64_t seed)
{
	uint64_t	sm = seed;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = an_splitmix64(&sm);
	/* the all-zero state is the one invalid state; splitmix never gives it */
}

/* xoshiro256** next() */
uint64_t
an_rng_next(an_rng *r)
{
	uint64_t   *s = r->s;
	const uint64_t result = rotl(s[1] * 5, 7) * 9;
	const uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
an_rng_uniform(an_rng *r)
{
	return (double) (an_rng_next(r) >> 11) * 0x1.0p-53;
}

double
an_rng_uniform_pos(an_rng *r)
{
	return (double) ((an_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/*
 * Lemire's nearly-divisionless method: multiply into 128 bits and reject the
 * small biased region.
 */
uint64_t
an_rng_below(an_rng *r, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128) an_rng_next(r) * n;
	uint64_t	low = (uint64_t) m;

	if (low < n)
	{
		uint64_t	threshold = (0 - n) % n;

		while (low < threshold)
		{
			m = (unsigned __int128) an_rng_next(r) * n;
			low = (uint64_t) m;
		}
	}
	return (uint64_t) (m >> 64);
}

double
an_rng_normal(an_rng *r)
{
	double		u1 = an_rng_uniform_pos(r);
	double		u2 = an_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(AN_TWO_PI * u2);
}

double
an_rng_exponential(an_rng *r, double mean)
{
	return -mean * log(an_rng_uniform_pos(r));
}

double
an_rng_lognormal(an_rng *r, double mu, double sigma)
{
	return exp(mu + sigma * an_rng_normal(r));
}

/* inversion: floor(ln U / ln(1 - p)) */
uint32_t
an_rng_geometric(an_rng *r, double p)
{
	double		k;

	if (p >= 1.0)
		return 0;
	k = floor(log(an_rng_uniform_pos(r)) / log1p(-p));
	if (k > 4294967295.0)
		return UINT32_MAX;
	return (uint32_t) k;
}

/* binary search for the first cum[i] > u * total */
int
an_rng_pick(an_rng *r, const double *cum, int n)
{
	double		x = an_rng_uniform(r) * cum[n - 1];
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

double
an_cumulate(const double *weights, double *cum, int n)
{
	double		total = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		total += weights[i];
		cum[i] = total;
	}
	return total;
}
