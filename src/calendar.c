/*
 * calendar.c
 *		Time zones for the period functions (see calendar.h).
 *
 * The offset of a zone changes only at its transitions, so the cache keeps,
 * per UTC day, the offset at the start of the day and the first transition
 * inside the day (pg_next_dst_boundary).  A day with two transitions (none
 * exists in the tz database, but the code does not rely on it) falls back
 * to asking the zone for every timestamp.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "calendar.h"

#define UNIX_EPOCH_SECS ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

void
tzcache_init(TzCache *c, const char *tzname)
{
	int			i;

	if (tzname == NULL)
		c->tz = session_timezone;
	else
	{
		c->tz = pg_tzset(tzname);
		if (c->tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", tzname),
					 errhint("Use a name from pg_timezone_names, such as 'Europe/Berlin' or 'UTC'.")));
	}
	for (i = 0; i < TZ_CACHE_SLOTS; i++)
		c->e[i].day = PG_INT64_MIN;
}

/* the zone's offset at Unix second s, asking the zone directly */
static int32
zone_offset(const pg_tz *tz, pg_time_t s)
{
	struct pg_tm *tm = pg_localtime(&s, tz);

	if (tm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for the time zone")));
	return (int32) tm->tm_gmtoff;
}

/* fill the cache entry of UTC day `day` */
static void
fill(TzCache *c, TzCacheEntry *e, int64 day)
{
	pg_time_t	start = (pg_time_t) day * SECS_PER_DAY;
	pg_time_t	boundary;
	long int	before,
				after;
	int			before_dst,
				after_dst,
				found;

	e->day = day;
	e->exact = true;
	found = pg_next_dst_boundary(&start, &before, &before_dst, &boundary,
								 &after, &after_dst, c->tz);
	if (found < 0)
	{
		e->exact = false;
		return;
	}
	e->before = (int32) before;
	if (found == 0 || boundary >= start + SECS_PER_DAY)
	{
		e->boundary = PG_INT64_MAX;
		e->after = (int32) before;
		return;
	}
	e->boundary = boundary;
	e->after = (int32) after;
	/* a second transition the same day: ask the zone each time */
	{
		pg_time_t	b2;
		long int	x,
					y;
		int			xd,
					yd;

		if (pg_next_dst_boundary(&boundary, &x, &xd, &b2, &y, &yd, c->tz) != 0 &&
			b2 < start + SECS_PER_DAY)
			e->exact = false;
	}
}

/* the cache entry of UTC day `day`, filled on first use */
static inline TzCacheEntry *
day_entry(TzCache *c, int64 day)
{
	TzCacheEntry *e = &c->e[day & (TZ_CACHE_SLOTS - 1)];

	if (e->day != day)
		fill(c, e, day);
	return e;
}

int64
tzcache_local(TzCache *c, TimestampTz t)
{
	int64		s = co_floor_div(t, USECS_PER_SEC) + UNIX_EPOCH_SECS;
	TzCacheEntry *e = day_entry(c, co_floor_div(s, SECS_PER_DAY));

	if (!e->exact)
		return s + zone_offset(c->tz, (pg_time_t) s);
	return s + (s < e->boundary ? e->before : e->after);
}

void
calendar_check_finite(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("an infinite timestamp has no period"),
				 errhint("Leave rows with infinite timestamps out, for example WHERE ts <> 'infinity'.")));
}

int32
calendar_bucket_fill(TzCache *c, BucketCache *bc, co_period p, TimestampTz t)
{
	int64		local,
				b,
				off,
				lo,
				hi,
				d;
	BucketRange *r = calendar_bucket_slot(bc, p, t);

	calendar_check_finite(t);
	local = tzcache_local(c, t);
	b = co_bucket(p, local);
	if (b < PG_INT32_MIN || b >= PG_INT32_MAX)	/* hours near the ends of time */
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for periods of this length")));
	off = local - (co_floor_div(t, USECS_PER_SEC) + UNIX_EPOCH_SECS);
	lo = co_bucket_start(p, b) - off;	/* the bucket in Unix seconds, */
	hi = co_bucket_start(p, b + 1) - off;	/* were the offset constant */
	bc->bucket = (int32) b;
	bc->lo = bc->hi = 0;		/* empty until proven safe */
	/* keep the range only if well inside the timestamp range ... */
	if (lo - UNIX_EPOCH_SECS < -(PG_INT64_MAX / USECS_PER_SEC) + SECS_PER_DAY ||
		hi - UNIX_EPOCH_SECS > PG_INT64_MAX / USECS_PER_SEC - SECS_PER_DAY)
		return bc->bucket;
	/* ... and if every UTC day it touches has that offset throughout */
	for (d = co_floor_div(lo, SECS_PER_DAY); d <= co_floor_div(hi - 1, SECS_PER_DAY); d++)
	{
		TzCacheEntry *e = day_entry(c, d);

		if (!e->exact || e->boundary != PG_INT64_MAX || e->before != off)
			return bc->bucket;
	}
	bc->lo = r->lo = (lo - UNIX_EPOCH_SECS) * USECS_PER_SEC;
	bc->hi = r->hi = (hi - UNIX_EPOCH_SECS) * USECS_PER_SEC;
	r->bucket = bc->bucket;
	return bc->bucket;
}

TimestampTz
tzcache_to_utc(TzCache *c, int64 local_seconds)
{
	Timestamp	local = (local_seconds - UNIX_EPOCH_SECS) * USECS_PER_SEC;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	tzoff = DetermineTimeZoneOffset(&tm, c->tz);
	return local + (int64) tzoff * USECS_PER_SEC;
}

int
calendar_period(text *name, bool allow_rolling, const char *what)
{
	char	   *s = text_to_cstring(name);

	if (strcmp(s, "hour") == 0)
		return CO_HOUR;
	if (strcmp(s, "day") == 0)
		return CO_DAY;
	if (strcmp(s, "week") == 0)
		return CO_WEEK;
	if (strcmp(s, "month") == 0)
		return CO_MONTH;
	if (allow_rolling && strcmp(s, "rolling_24h") == 0)
		return CAL_ROLLING_24H;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown %s \"%s\"", what, s),
			 allow_rolling
			 ? errhint("Valid periods are hour, day, week (ISO, starting Monday), month and rolling_24h.")
			 : errhint("Valid periods are hour, day, week (ISO, starting Monday) and month.")));
	return -1;					/* keep compiler quiet */
}
