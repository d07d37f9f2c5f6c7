/*
 * cohort.c
 *		Calendar buckets, cohort matrices, lifecycle and stickiness (see
 *		cohort.h).
 */
#include "cohort.h"

#include <string.h>

#define US_PER_DAY INT64_C(86400000000)


/* Howard Hinnant's days_from_civil */
int64_t
co_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = co_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Howard Hinnant's civil_from_days */
void
co_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t		z = days + 719468;
	int64_t		era = co_floor_div(z, 146097);
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int64_t
co_bucket(co_period p, int64_t s)
{
	int64_t		days = co_floor_div(s, 86400);
	int64_t		y;
	int			m,
				d;

	switch (p)
	{
		case CO_HOUR:
			return co_floor_div(s, 3600);
		case CO_DAY:
			return days;
		case CO_WEEK:
			return co_floor_div(days + 3, 7);
		case CO_MONTH:
			co_civil_from_days(days, &y, &m, &d);
			return y * 12 + (m - 1);
		case CO_NPERIODS:
			break;
	}
	return 0;
}

int64_t
co_bucket_start(co_period p, int64_t b)
{
	switch (p)
	{
		case CO_HOUR:
			return b * 3600;
		case CO_DAY:
			return b * 86400;
		case CO_WEEK:
			return (b * 7 - 3) * 86400;
		case CO_MONTH:
			return co_days_from_civil(co_floor_div(b, 12), (int) (b - co_floor_div(b, 12) * 12) + 1, 1) * 86400;
		case CO_NPERIODS:
			break;
	}
	return 0;
}

int
co_matrix_init(co_matrix *m, int32_t first, int32_t last, int periods, const an_allocator *a)
{
	size_t		cells;

	memset(m, 0, sizeof(*m));
	if (last < first || periods < 1)
		return AN_EINVAL;
	m->first = first;
	m->last = last;
	m->n_cohorts = last - first + 1;
	m->periods = periods;
	cells = (size_t) m->n_cohorts * periods;
	m->cohort_size = an_alloc(a, sizeof(int64_t) * m->n_cohorts);
	m->actors = an_alloc(a, sizeof(int64_t) * cells);
	m->value = an_alloc(a, sizeof(double) * cells);
	if (!m->cohort_size || !m->actors || !m->value)
	{
		co_matrix_free(m, a);
		return AN_ENOMEM;
	}
	memset(m->cohort_size, 0, sizeof(int64_t) * m->n_cohorts);
	memset(m->actors, 0, sizeof(int64_t) * cells);
	memset(m->value, 0, sizeof(double) * cells);
	return AN_OK;
}

void
co_matrix_free(co_matrix *m, const an_allocator *a)
{
	an_free(a, m->cohort_size);
	an_free(a, m->actors);
	an_free(a, m->value);
	memset(m, 0, sizeof(*m));
}

/* cells of the cohort starting at index i of b (a bucket with CO_START) */
static void
add_cohort(co_matrix *m, const co_activity *b, int n, int i, bool on_or_after)
{
	int32_t		c = b[i].bucket;
	int64_t		row = (int64_t) (c - m->first) * m->periods;
	int			j;

	m->cohort_size[c - m->first]++;
	if (on_or_after)
	{
		/* every offset up to the last return */
		int64_t		k;

		for (j = n - 1; j >= 0; j--)
			if (b[j].flags & CO_RETURN)
			{
				for (k = 0; k < m->periods && c + k <= m->last && c + k <= b[j].bucket; k++)
					m->actors[row + k]++;
				break;
			}
	}
	/* the actor's buckets from the cohort on (sorted, unique) */
	for (j = i; j < n; j++)
	{
		int64_t		off = (int64_t) b[j].bucket - c;

		if (off >= m->periods || b[j].bucket > m->last)
			break;
		if (!on_or_after && (b[j].flags & CO_RETURN))
			m->actors[row + off]++;
		m->value[row + off] += b[j].value;
	}
}

void
co_matrix_add(co_matrix *m, const co_activity *b, int n, bool recurring, bool on_or_after)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!(b[i].flags & CO_START))
			continue;
		if (b[i].bucket >= m->first && b[i].bucket <= m->last)
			add_cohort(m, b, n, i, on_or_after);
		if (!recurring)
			break;
	}
}

void
co_matrix_add_rolling(co_matrix *m, int32_t cohort, int64_t f, const co_day *days, int n,
					  int64_t max_ret, bool on_or_after)
{
	int64_t		row;
	int			j = 0,
				k;

	if (cohort < m->first || cohort > m->last)
		return;
	row = (int64_t) (cohort - m->first) * m->periods;
	m->cohort_size[cohort - m->first]++;
	for (k = 0; k < m->periods && (int64_t) cohort + k <= m->last; k++)
	{
		int64_t		start = f + k * US_PER_DAY;
		int64_t		end = start + US_PER_DAY;	/* exclusive */
		int64_t		d = co_floor_div(start, US_PER_DAY);
		bool		hit = false;

		if (on_or_after)
		{
			if (max_ret >= start)
				m->actors[row + k]++;
			continue;
		}
		while (j < n && days[j].day < d)
			j++;
		/* the end of day d from start, then the start of day d + 1 up to end */
		if (j < n && days[j].day == d && days[j].max_ret >= start)
			hit = true;
		else
		{
			int			jj = j;

			while (jj < n && days[jj].day < d + 1)
				jj++;
			if (jj < n && days[jj].day == d + 1 && days[jj].min_ret < end)
				hit = true;
		}
		if (hit)
			m->actors[row + k]++;
	}
}

int
co_lifecycle_init(co_lifecycle *l, int32_t first, int32_t last, const an_allocator *a)
{
	memset(l, 0, sizeof(*l));
	if (last < first)
		return AN_EINVAL;
	l->first = first;
	l->n = last - first + 1;
	l->counts = an_alloc(a, sizeof(int64_t) * 4 * (size_t) l->n);
	if (!l->counts)
		return AN_ENOMEM;
	memset(l->counts, 0, sizeof(int64_t) * 4 * (size_t) l->n);
	return AN_OK;
}

void
co_lifecycle_free(co_lifecycle *l, const an_allocator *a)
{
	an_free(a, l->counts);
	memset(l, 0, sizeof(*l));
}

/* count status s (0 new, 1 returning, 2 resurrecting, 3 dormant) in bucket b */
static void
lc_count(co_lifecycle *l, int32_t b, int s)
{
	if (b >= l->first && b < l->first + l->n)
		l->counts[(size_t) (b - l->first) * 4 + s]++;
}

void
co_lifecycle_add(co_lifecycle *l, const int32_t *active, int n)
{
	int			i;

	if (n == 0)
		return;
	lc_count(l, active[0], 0);
	for (i = 1; i < n; i++)
	{
		if (active[i] == active[i - 1] + 1)
			lc_count(l, active[i], 1);
		else
		{
			lc_count(l, active[i - 1] + 1, 3);
			lc_count(l, active[i], 2);
		}
	}
	lc_count(l, active[n - 1] + 1, 3);
}

void
co_stickiness_add(int64_t *hist, int max_k, const int64_t *windows, int n)
{
	int			i = 0;

	while (i < n)
	{
		int			j = i;

		while (j < n && windows[j] == windows[i])
			j++;
		hist[j - i < max_k ? j - i : max_k]++;
		i = j;
	}
}
