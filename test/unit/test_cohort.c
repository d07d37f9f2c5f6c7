/*
 * test_cohort.c
 *		Unit tests of src/lib/cohort.c.  Calendar arithmetic is checked
 *		against libc (timegm/gmtime_r); the accumulators against brute-force
 *		computations from raw random events written here from the
 *		definitions in cohort.h.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cohort.h"
#include "rng.h"
#include "unit.h"

#define D INT64_C(86400000000)

static void
test_calendar(void)
{
	int64_t		days,
				y;
	int			m,
				d,
				bad = 0;

	CHECK(co_days_from_civil(1970, 1, 1) == 0 && co_days_from_civil(2026, 1, 1) == 20454 &&
		  co_days_from_civil(2000, 3, 1) == 11017 && co_days_from_civil(1969, 12, 31) == -1,
		  "days_from_civil at known dates");
	/* against libc over 1900 .. 2100 */
	for (days = -25567; days <= 47482; days += 1)
	{
		time_t		t = (time_t) days * 86400;
		struct tm	tm;

		gmtime_r(&t, &tm);
		co_civil_from_days(days, &y, &m, &d);
		if (y != tm.tm_year + 1900 || m != tm.tm_mon + 1 || d != tm.tm_mday ||
			co_days_from_civil(y, m, d) != days)
			bad++;
	}
	CHECK(bad == 0, "civil dates agree with gmtime over 1900..2100 (%d differ)", bad);

	/* weeks start on Monday: 2026-01-05 is a Monday, 2026-01-04 a Sunday */
	CHECK(co_bucket(CO_WEEK, co_days_from_civil(2026, 1, 5) * 86400) ==
		  co_bucket(CO_WEEK, co_days_from_civil(2026, 1, 11) * 86400 + 86399) &&
		  co_bucket(CO_WEEK, co_days_from_civil(2026, 1, 4) * 86400) + 1 ==
		  co_bucket(CO_WEEK, co_days_from_civil(2026, 1, 5) * 86400),
		  "a week runs Monday 00:00 to Sunday 23:59:59");
	CHECK(co_bucket_start(CO_WEEK, co_bucket(CO_WEEK, co_days_from_civil(2026, 1, 8) * 86400 + 5000)) ==
		  co_days_from_civil(2026, 1, 5) * 86400, "week start is the Monday");
	/* before 1970: floor, not truncation */
	CHECK(co_bucket(CO_DAY, -1) == -1 && co_bucket(CO_HOUR, -1) == -1 &&
		  co_bucket(CO_WEEK, co_days_from_civil(1969, 12, 29) * 86400) == 0 &&
		  co_bucket(CO_WEEK, co_days_from_civil(1969, 12, 28) * 86400) == -1,
		  "buckets floor negative times (1969-12-29 is the Monday of week 0)");
	CHECK(co_bucket(CO_MONTH, co_days_from_civil(2026, 2, 28) * 86400 + 86399) == 2026 * 12 + 1 &&
		  co_bucket_start(CO_MONTH, 2026 * 12 + 1) == co_days_from_civil(2026, 2, 1) * 86400 &&
		  co_bucket_start(CO_MONTH, 1969 * 12 + 11) == co_days_from_civil(1969, 12, 1) * 86400,
		  "months");
	/* every bucket start is in its bucket and one second earlier is not */
	bad = 0;
	for (days = -800; days < 800; days += 3)
	{
		int			p;

		for (p = 0; p < CO_NPERIODS; p++)
		{
			int64_t		b = co_bucket((co_period) p, days * 86400 + 12345);
			int64_t		s = co_bucket_start((co_period) p, b);

			if (co_bucket((co_period) p, s) != b || co_bucket((co_period) p, s - 1) != b - 1)
				bad++;
		}
	}
	CHECK(bad == 0, "bucket starts are exact (%d wrong)", bad);
}

/* raw event of one actor for the brute force */
typedef struct ev
{
	int64_t		t;				/* microseconds */
	int32_t		bucket;
	int			start;
	int			ret;
	double		value;
} ev;

#define NA 60
#define NE 12

static void
test_matrix_brute(void)
{
	an_rng		r;
	int			seed,
				bad = 0,
				checked = 0;

	for (seed = 1; seed <= 40; seed++)
	{
		ev			e[NA][NE];
		int			ne[NA];
		int			periods = 1 + seed % 6;
		bool		recurring = seed % 2;
		bool		on_or_after = (seed / 2) % 2;
		int32_t		first = 100,
					last = 100 + seed % 9;
		co_matrix	m;
		int			a,
					i,
					c,
					k;

		an_rng_seed(&r, seed);
		co_matrix_init(&m, first, last, periods, &an_std_allocator);
		for (a = 0; a < NA; a++)
		{
			co_activity	b[NE];
			int			nb = 0;

			ne[a] = (int) an_rng_below(&r, NE);
			for (i = 0; i < ne[a]; i++)
			{
				e[a][i].bucket = 98 + (int32_t) an_rng_below(&r, 14);
				e[a][i].start = an_rng_uniform(&r) < 0.5;
				e[a][i].ret = an_rng_uniform(&r) < 0.6;
				e[a][i].value = (double) an_rng_below(&r, 10);
			}
			/* the accumulator wants sorted unique buckets with ORed flags, summed values */
			for (c = 90; c < 120; c++)
			{
				co_activity	x = {c, 0, 0.0};
				bool		any = false;

				for (i = 0; i < ne[a]; i++)
					if (e[a][i].bucket == c)
					{
						any = true;
						x.flags |= (e[a][i].start ? CO_START : 0) | (e[a][i].ret ? CO_RETURN : 0);
						x.value += e[a][i].value;
					}
				if (any)
					b[nb++] = x;
			}
			co_matrix_add(&m, b, nb, recurring, on_or_after);
		}
		/* brute force, straight from the definition over raw events */
		for (c = first; c <= last; c++)
		{
			int64_t		size = 0;

			for (a = 0; a < NA; a++)
			{
				int			fs = 1 << 30;

				for (i = 0; i < ne[a]; i++)
					if (e[a][i].start && e[a][i].bucket < fs)
						fs = e[a][i].bucket;
				for (i = 0; i < ne[a]; i++)
					if (e[a][i].start && e[a][i].bucket == c && (recurring || c == fs))
					{
						size++;
						break;
					}
			}
			checked++;
			if (size != m.cohort_size[c - first])
				bad++;
			for (k = 0; k < periods && c + k <= last; k++)
			{
				int64_t		actors = 0;
				double		value = 0;

				for (a = 0; a < NA; a++)
				{
					int			fs = 1 << 30,
								in = 0,
								hit = 0;

					for (i = 0; i < ne[a]; i++)
						if (e[a][i].start && e[a][i].bucket < fs)
							fs = e[a][i].bucket;
					for (i = 0; i < ne[a]; i++)
						if (e[a][i].start && e[a][i].bucket == c && (recurring || c == fs))
							in = 1;
					if (!in)
						continue;
					for (i = 0; i < ne[a]; i++)
					{
						if (e[a][i].ret && (on_or_after ? e[a][i].bucket >= c + k : e[a][i].bucket == c + k))
							hit = 1;
						if (e[a][i].bucket == c + k)
							value += e[a][i].value;
					}
					actors += hit;
				}
				checked++;
				if (actors != m.actors[(c - first) * periods + k] ||
					value != m.value[(c - first) * periods + k])
					bad++;
			}
		}
		co_matrix_free(&m, &an_std_allocator);
	}
	CHECK(bad == 0, "cohort matrix equals the brute force on 40 random cases (%d of %d cells differ)",
		  bad, checked);
}

static void
test_matrix_hand(void)
{
	co_matrix	m;
	/* cohort week 10: active 10 (start), 11, 13; another actor starts in 11 */
	co_activity	a1[] = {{10, CO_START | CO_RETURN, 5}, {11, CO_RETURN, 7}, {13, CO_RETURN, 1}};
	co_activity	a2[] = {{11, CO_START | CO_RETURN, 2}, {12, CO_START | CO_RETURN, 3}};

	co_matrix_init(&m, 10, 13, 3, &an_std_allocator);
	co_matrix_add(&m, a1, 3, false, false);
	co_matrix_add(&m, a2, 2, false, false);
	/* first_time, on: cohort 10 = {a1}: offsets 0 1 2 -> 1 1 0; cohort 11 = {a2}: 1 1 0 */
	CHECK(m.cohort_size[0] == 1 && m.cohort_size[1] == 1 && m.cohort_size[2] == 0 &&
		  m.actors[0] == 1 && m.actors[1] == 1 && m.actors[2] == 0 &&
		  m.actors[3] == 1 && m.actors[4] == 1 && m.actors[5] == 0 &&
		  m.value[0] == 5 && m.value[1] == 7 && m.value[2] == 0 && m.value[4] == 3,
		  "first_time, returns on: hand example");
	/* the triangle: cohort 13 offset 1 would be bucket 14 > last: never counted */
	co_matrix_free(&m, &an_std_allocator);

	co_matrix_init(&m, 10, 13, 3, &an_std_allocator);
	co_matrix_add(&m, a1, 3, false, true);
	/* on_or_after: a1 returns up to 13, so offsets 0 1 2 of cohort 10 all count */
	CHECK(m.actors[0] == 1 && m.actors[1] == 1 && m.actors[2] == 1, "returns on_or_after: hand example");
	co_matrix_add(&m, a2, 2, true, false);
	/* recurring: a2 is in cohorts 11 and 12 */
	CHECK(m.cohort_size[1] == 1 && m.cohort_size[2] == 1 && m.actors[2 * 3 + 0] == 1 &&
		  m.actors[2 * 3 + 1] == 0, "recurring cohorts: hand example");
	co_matrix_free(&m, &an_std_allocator);
}

static void
test_rolling(void)
{
	an_rng		r;
	int			seed,
				bad = 0,
				checked = 0;

	/* hand: first start at day 0 18:00; returns day 1 12:00 (offset 0: < day 1 18:00) and day 1 19:00 (offset 1) */
	{
		co_matrix	m;
		int64_t		f = 18 * INT64_C(3600000000);
		co_day		days[] = {{1, D + 12 * INT64_C(3600000000), D + 19 * INT64_C(3600000000)}};

		co_matrix_init(&m, 0, 5, 4, &an_std_allocator);
		co_matrix_add_rolling(&m, 0, f, days, 1, days[0].max_ret, false);
		CHECK(m.actors[0] == 1 && m.actors[1] == 1 && m.actors[2] == 0 && m.actors[3] == 0,
			  "rolling 24h windows are measured from the first event, not the calendar day");
		co_matrix_free(&m, &an_std_allocator);
	}
	for (seed = 1; seed <= 30; seed++)
	{
		co_matrix	m;
		int			periods = 1 + seed % 5,
					a,
					i,
					k;
		bool		on_or_after = seed % 2;

		an_rng_seed(&r, 1000 + seed);
		co_matrix_init(&m, 0, 9, periods, &an_std_allocator);
		for (a = 0; a < 40; a++)
		{
			int64_t		t[NE],
						f,
						max_ret = INT64_MIN;
			int			ret[NE],
						n = 1 + (int) an_rng_below(&r, NE - 1),
						nd = 0;
			co_day		days[NE];
			int32_t		cohort;

			/* first event is the start; times within 6 days, at any microsecond */
			f = (int64_t) an_rng_below(&r, 3 * (uint64_t) D);
			for (i = 0; i < n; i++)
			{
				t[i] = f + (i == 0 ? 0 : (int64_t) an_rng_below(&r, 6 * (uint64_t) D));
				ret[i] = i == 0 || an_rng_uniform(&r) < 0.7;
			}
			/* days: min/max return per UTC day, sorted */
			for (k = 0; k < 12; k++)
			{
				co_day		x = {k, INT64_MAX, INT64_MIN};

				for (i = 0; i < n; i++)
					if (ret[i] && co_floor_div(t[i], D) == k)
					{
						if (t[i] < x.min_ret)
							x.min_ret = t[i];
						if (t[i] > x.max_ret)
							x.max_ret = t[i];
					}
				if (x.max_ret != INT64_MIN)
				{
					days[nd++] = x;
					if (x.max_ret > max_ret)
						max_ret = x.max_ret;
				}
			}
			cohort = (int32_t) co_floor_div(f, D);
			co_matrix_add_rolling(&m, cohort, f, days, nd, max_ret, on_or_after);
		}
		/* recompute the whole matrix by brute force with the same stream */
		{
			int64_t		want[10 * 6];
			int64_t		size[10];

			memset(want, 0, sizeof(want));
			memset(size, 0, sizeof(size));
			an_rng_seed(&r, 1000 + seed);
			for (a = 0; a < 40; a++)
			{
				int64_t		t[NE],
							f;
				int			ret[NE],
							n = 1 + (int) an_rng_below(&r, NE - 1);
				int32_t		cohort;

				f = (int64_t) an_rng_below(&r, 3 * (uint64_t) D);
				for (i = 0; i < n; i++)
				{
					t[i] = f + (i == 0 ? 0 : (int64_t) an_rng_below(&r, 6 * (uint64_t) D));
					ret[i] = i == 0 || an_rng_uniform(&r) < 0.7;
				}
				cohort = (int32_t) co_floor_div(f, D);
				size[cohort]++;
				for (k = 0; k < periods && cohort + k <= 9; k++)
				{
					int			hit = 0;

					for (i = 0; i < n; i++)
						if (ret[i] && (on_or_after ? t[i] >= f + k * D
									   : (t[i] >= f + k * D && t[i] < f + (k + 1) * D)))
							hit = 1;
					want[cohort * periods + k] += hit;
				}
			}
			for (k = 0; k < 10; k++)
			{
				checked++;
				bad += size[k] != m.cohort_size[k];
			}
			for (k = 0; k < 10 * periods; k++)
			{
				checked++;
				bad += want[k] != m.actors[k];
			}
		}
		co_matrix_free(&m, &an_std_allocator);
	}
	CHECK(bad == 0, "rolling 24h matrix equals the brute force on 30 random cases (%d of %d differ)",
		  bad, checked);
}

static void
test_lifecycle(void)
{
	co_lifecycle l;
	int32_t		a1[] = {1, 2, 4},
				a2[] = {2, 3},
				a3[] = {5};
	an_rng		r;
	int			seed,
				bad = 0;

	co_lifecycle_init(&l, 1, 5, &an_std_allocator);
	co_lifecycle_add(&l, a1, 3);
	co_lifecycle_add(&l, a2, 2);
	co_lifecycle_add(&l, a3, 1);
	/*
	 * bucket 1: a1 new.  2: a1 returning, a2 new.  3: a1 dormant, a2
	 * returning.  4: a1 resurrecting, a2 dormant.  5: a1 dormant, a3 new.
	 */
#define LC(b, s) l.counts[((b) - 1) * 4 + (s)]
	CHECK(LC(1, 0) == 1 && LC(1, 1) == 0 && LC(2, 0) == 1 && LC(2, 1) == 1 &&
		  LC(3, 3) == 1 && LC(3, 1) == 1 && LC(4, 2) == 1 && LC(4, 3) == 1 &&
		  LC(5, 3) == 1 && LC(5, 0) == 1 && LC(5, 1) == 0 && LC(5, 2) == 0,
		  "lifecycle: hand example");
	co_lifecycle_free(&l, &an_std_allocator);

	for (seed = 1; seed <= 20; seed++)
	{
		int			act[50][20],
					a,
					b;

		an_rng_seed(&r, 500 + seed);
		co_lifecycle_init(&l, 0, 19, &an_std_allocator);
		for (a = 0; a < 50; a++)
		{
			int32_t		list[20];
			int			n = 0;

			for (b = 0; b < 20; b++)
			{
				act[a][b] = an_rng_uniform(&r) < 0.35;
				if (act[a][b])
					list[n++] = b;
			}
			co_lifecycle_add(&l, list, n);
		}
		for (b = 0; b < 20; b++)
		{
			int64_t		want[4] = {0, 0, 0, 0};

			for (a = 0; a < 50; a++)
			{
				int			before = 0,
							p;

				for (p = 0; p < b - 1; p++)
					before |= act[a][p];
				if (act[a][b])
				{
					if (!before && !(b > 0 && act[a][b - 1]))
						want[0]++;
					else if (b > 0 && act[a][b - 1])
						want[1]++;
					else
						want[2]++;
				}
				else if (b > 0 && act[a][b - 1])
					want[3]++;
			}
			for (a = 0; a < 4; a++)
				bad += want[a] != l.counts[b * 4 + a];
		}
		co_lifecycle_free(&l, &an_std_allocator);
	}
	CHECK(bad == 0, "lifecycle equals the brute force on 20 random cases (%d counts differ)", bad);
}

static void
test_stickiness(void)
{
	int64_t		hist[8];
	int64_t		w1[] = {0, 0, 0, 1, 3, 3};	/* 3 days in week 0, 1 in week 1, 2 in week 3 */

	memset(hist, 0, sizeof(hist));
	co_stickiness_add(hist, 7, w1, 6);
	CHECK(hist[1] == 1 && hist[2] == 1 && hist[3] == 1 && hist[0] == 0 && hist[4] == 0,
		  "stickiness: one (actor, week) with 1, 2 and 3 active days");
	memset(hist, 0, sizeof(hist));
	co_stickiness_add(hist, 2, w1, 6);
	CHECK(hist[1] == 1 && hist[2] == 2, "stickiness clamps at max_k");
}

int
main(void)
{
	test_calendar();
	test_matrix_hand();
	test_matrix_brute();
	test_rolling();
	test_lifecycle();
	test_stickiness();
	return unit_done();
}
