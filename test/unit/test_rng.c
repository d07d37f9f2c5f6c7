/*
 * test_rng.c
 *		Unit tests of src/lib/rng.c.
 *
 * The reference vectors come from the authors' C reference code and were
 * re-derived with an independent Python implementation; the distribution
 * checks compare sample moments with their closed forms at 5 standard errors
 * (fixed seeds, so they are deterministic).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rng.h"
#include "unit.h"

#define N 1000000

static void
test_reference_vectors(void)
{
	static const uint64_t sm_expected[5] = {
		UINT64_C(6457827717110365317), UINT64_C(3203168211198807973),
		UINT64_C(9817491932198370423), UINT64_C(4593380528125082431),
		UINT64_C(16408922859458223821)
	};
	static const uint64_t xo_expected[6] = {
		UINT64_C(11520), UINT64_C(0), UINT64_C(1509978240),
		UINT64_C(1215971899390074240), UINT64_C(1216172134540287360),
		UINT64_C(607988272756665600)
	};
	static const uint64_t seeded_expected[3] = {
		UINT64_C(1546998764402558742), UINT64_C(6990951692964543102),
		UINT64_C(12544586762248559009)
	};
	uint64_t	state = 1234567;
	an_rng		r = {{1, 2, 3, 4}};
	int			i,
				same = 1;

	for (i = 0; i < 5; i++)
		same &= an_splitmix64(&state) == sm_expected[i];
	CHECK(same, "splitmix64 matches the reference vector for seed 1234567");

	same = 1;
	for (i = 0; i < 6; i++)
		same &= an_rng_next(&r) == xo_expected[i];
	CHECK(same, "xoshiro256** matches the reference vector for state {1,2,3,4}");

	an_rng_seed(&r, 42);
	CHECK(r.s[0] == UINT64_C(13679457532755275413) && r.s[3] == UINT64_C(6349198060258255764),
		  "an_rng_seed fills the state with splitmix64 outputs");
	same = 1;
	for (i = 0; i < 3; i++)
		same &= an_rng_next(&r) == seeded_expected[i];
	CHECK(same, "seed 42 stream matches the independent implementation");

	state = 99;
	CHECK(an_mix64(99) == an_splitmix64(&state), "an_mix64 is the first splitmix64 output");
}

static void
test_uniform(void)
{
	an_rng		r;
	double		sum = 0.0,
				min = 1.0,
				max = 0.0;
	int			i,
				pos_ok = 1;

	an_rng_seed(&r, 1);
	for (i = 0; i < N; i++)
	{
		double		u = an_rng_uniform(&r);
		double		v = an_rng_uniform_pos(&r);

		sum += u;
		if (u < min)
			min = u;
		if (u > max)
			max = u;
		if (!(v > 0.0 && v <= 1.0))
			pos_ok = 0;
	}
	CHECK(min >= 0.0 && max < 1.0, "uniform stays in [0, 1)");
	CHECK(pos_ok, "uniform_pos stays in (0, 1]");
	/* mean 1/2, standard error sqrt(1/12/N) */
	CHECK(fabs(sum / N - 0.5) < 5 * sqrt(1.0 / 12 / N), "uniform mean is 1/2 (got %.5f)", sum / N);
}

static void
test_below(void)
{
	an_rng		r;
	long		counts[10] = {0};
	double		chi2 = 0.0;
	int			i,
				in_range = 1,
				one = 1;

	an_rng_seed(&r, 2);
	for (i = 0; i < N; i++)
	{
		uint64_t	x = an_rng_below(&r, 10);

		if (x >= 10)
			in_range = 0;
		else
			counts[x]++;
		if (an_rng_below(&r, 1) != 0)
			one = 0;
	}
	for (i = 0; i < 10; i++)
		chi2 += pow(counts[i] - N / 10.0, 2) / (N / 10.0);
	CHECK(in_range, "below(10) < 10");
	CHECK(one, "below(1) is always 0");
	/* 9 degrees of freedom: P(chi2 > 27.88) = 0.001 */
	CHECK(chi2 < 27.88, "below(10) is uniform (chi2 = %.2f, 9 df)", chi2);
}

static void
test_distributions(void)
{
	an_rng		r;
	double		s1 = 0.0,
				s2 = 0.0,
				e = 0.0,
				g = 0.0;
	long		below_median = 0;
	int			i;

	an_rng_seed(&r, 3);
	for (i = 0; i < N; i++)
	{
		double		z = an_rng_normal(&r);

		s1 += z;
		s2 += z * z;
	}
	CHECK(fabs(s1 / N) < 5 / sqrt(N), "normal mean is 0 (got %.5f)", s1 / N);
	/* var of z^2 is 2, so the standard error of the second moment is sqrt(2/N) */
	CHECK(fabs(s2 / N - 1.0) < 5 * sqrt(2.0 / N), "normal variance is 1 (got %.5f)", s2 / N);

	for (i = 0; i < N; i++)
		e += an_rng_exponential(&r, 3.0);
	/* exponential(mean 3) has sd 3 */
	CHECK(fabs(e / N - 3.0) < 5 * 3.0 / sqrt(N), "exponential mean is 3 (got %.5f)", e / N);

	for (i = 0; i < N; i++)
		if (an_rng_lognormal(&r, log(50.0), 0.8) < 50.0)
			below_median++;
	/* median of a lognormal is exp(mu); the count is Binomial(N, 1/2) */
	CHECK(fabs(below_median - N / 2.0) < 5 * sqrt(N / 4.0),
		  "lognormal median is exp(mu) (%ld of %d below)", below_median, N);

	for (i = 0; i < N; i++)
		g += an_rng_geometric(&r, 0.2);
	/* failures before success: mean (1-p)/p = 4, variance (1-p)/p^2 = 20 */
	CHECK(fabs(g / N - 4.0) < 5 * sqrt(20.0 / N), "geometric(0.2) mean is 4 (got %.5f)", g / N);
	CHECK(an_rng_geometric(&r, 1.0) == 0, "geometric(1) is 0");
}

static void
test_pick(void)
{
	static const double weights[5] = {1.0, 0.0, 3.0, 0.0, 6.0};
	double		cum[5];
	long		counts[5] = {0};
	an_rng		r;
	int			i;
	double		total = an_cumulate(weights, cum, 5);

	CHECK(total == 10.0 && cum[0] == 1.0 && cum[2] == 4.0 && cum[4] == 10.0,
		  "cumulate builds running sums");
	an_rng_seed(&r, 4);
	for (i = 0; i < N; i++)
		counts[an_rng_pick(&r, cum, 5)]++;
	CHECK(counts[1] == 0 && counts[3] == 0, "zero-weight entries are never picked");
	/* each count is Binomial(N, w/10) */
	CHECK(fabs(counts[0] - 0.1 * N) < 5 * sqrt(N * 0.1 * 0.9) &&
		  fabs(counts[2] - 0.3 * N) < 5 * sqrt(N * 0.3 * 0.7) &&
		  fabs(counts[4] - 0.6 * N) < 5 * sqrt(N * 0.6 * 0.4),
		  "picks follow the weights (%ld %ld %ld)", counts[0], counts[2], counts[4]);
}

static void
test_determinism(void)
{
	an_rng		a,
				b,
				c;
	int			i,
				same = 1,
				differ = 0;

	an_rng_seed(&a, 7);
	an_rng_seed(&b, 7);
	an_rng_seed(&c, 8);
	for (i = 0; i < 1000; i++)
	{
		uint64_t	x = an_rng_next(&a);

		same &= x == an_rng_next(&b);
		differ += x != an_rng_next(&c);
	}
	CHECK(same, "same seed, same stream");
	CHECK(differ == 1000, "different seeds, different streams");
}

int
main(void)
{
	test_reference_vectors();
	test_uniform();
	test_below();
	test_distributions();
	test_pick();
	test_determinism();
	return unit_done();
}
