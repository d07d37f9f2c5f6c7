-- cohort_matrix, lifecycle and stickiness on a fixture small enough to
-- derive every cell by hand (the derivations are in the comments), then
-- against plain SQL on the demo data, then the error paths.
SET TimeZone = 'UTC';
-- own schema: tests share a database
CREATE SCHEMA t_cohort;
SET search_path = t_cohort;
SET extra_float_digits = 0;

-- ISO weeks W0 = 2026-01-05 (Monday) .. W4 = 2026-02-02.
--   u1: W0 (Jan 5 signup, Jan 7), W1 (Jan 13), W2 (Jan 20 purchase 10), W4 (Feb 3 purchase 5)
--   u2: W0 (Jan 6 signup), W2 (Jan 21)
--   u3: W1 (Jan 12 signup, Jan 13 purchase 7), W3 (Jan 27)
--   u4: W2 (Jan 19 signup)
--   u5: W0 (Jan 5, no signup), W3 (Jan 26)
-- Rows with a NULL actor or timestamp are skipped.
CREATE TABLE ev (uid bigint, ts timestamptz, kind text, amount float8);
INSERT INTO ev VALUES
  (1, '2026-01-05 09:00', 'signup', NULL), (1, '2026-01-07 12:00', 'view', NULL),
  (1, '2026-01-13 08:00', 'view', NULL), (1, '2026-01-20 18:00', 'purchase', 10),
  (1, '2026-02-03 10:00', 'purchase', 5),
  (2, '2026-01-06 10:00', 'signup', NULL), (2, '2026-01-21 10:00', 'view', NULL),
  (3, '2026-01-12 07:00', 'signup', NULL), (3, '2026-01-13 07:00', 'purchase', 7),
  (3, '2026-01-27 07:00', 'view', NULL),
  (4, '2026-01-19 23:59:59', 'signup', NULL),
  (5, '2026-01-05 00:00', 'view', NULL), (5, '2026-01-26 13:00', 'view', NULL),
  (NULL, '2026-01-05 10:00', 'view', NULL), (6, NULL, 'view', NULL);

-- First-time cohorts, returns "on" the period: cohort W0 = {u1, u2, u5}
-- active at offsets u1 {0,1,2,4}, u2 {0,2}, u5 {0,3} -> 3, 1, 2, 1 (offset 4
-- is past periods = 4).  W1 = {u3} at {0,2}; W2 = {u4} at {0}.  The matrix
-- is a triangle: cohort W1 stops at offset 3 (W4, the last week with data),
-- W2 at offset 2.  Weeks without a new actor (W3, W4) have no rows.
SELECT c.* FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev)) c
ORDER BY cohort_start, period_offset;

-- Returns "on or after" (unbounded): an actor counts at offset k when it is
-- active at k or later.  W0: u1 (latest W4), u2 (W2), u5 (W3) -> 3, 3, 3, 2;
-- W1: u3 (latest W3) -> 1, 1, 1, 0; W2: u4 -> 1, 0, 0.
SELECT c.cohort_start, c.period_offset, c.actors
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"returns": "on_or_after"}') FROM ev)) c
ORDER BY cohort_start, period_offset;

-- Recurring: every week an actor is active starts a cohort of it.
-- W0 {u1,u2,u5}: 3, 1, 2, 1.  W1 {u1,u3}: u1 at {0,1,3}, u3 at {0,2} -> 2, 1, 1, 1.
-- W2 {u1,u2,u4}: u1 at {0,2} -> 3, 0, 1.  W3 {u3,u5} -> 2, 0.  W4 {u1} -> 1.
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"retention": "recurring"}') FROM ev)) c
ORDER BY cohort_start, period_offset;

-- Start and return events and a value column (revenue cohorts): the cohort
-- is the week of signup (u5 never signs up), a return is a purchase, and the
-- value sums the amounts of the cohort's actors in the offset's week.
-- W0 {u1,u2}: purchases of u1 at offsets 2 (10) and 4 (past periods) ->
-- actors 0, 0, 1, 0, value 0, 0, 10, 0.  W1 {u3}: purchase at offset 0
-- (7) -> 1, 0, 0, 0.  W2 {u4}: 0, 0, 0.
SELECT c.* FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'week', 4, NULL,
                                 kind = 'signup', kind = 'purchase', amount) FROM ev)) c
ORDER BY cohort_start, period_offset;
-- The same without the value column; NULL conditions count as false.
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size, c.value
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'week', 2, '{}',
                                 CASE WHEN kind = 'signup' THEN true END,
                                 CASE WHEN kind = 'purchase' THEN true END) FROM ev)) c
ORDER BY cohort_start, period_offset;

-- Months: u1..u5 all start in January; u1 is active in February.
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size, c.rate
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'month', 3) FROM ev)) c
ORDER BY cohort_start, period_offset;

-- Actor types: text and uuid give the same matrix as bigint.
SELECT (SELECT analytics.cohort_matrix(uid::text, ts, 'week', 4) FROM ev)::text
     = (SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev)::text AS text_same,
       (SELECT analytics.cohort_matrix(md5(uid::text)::uuid, ts, 'week', 4) FROM ev)::text
     = (SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev)::text AS uuid_same,
       (SELECT analytics.cohort_matrix(uid::int, ts, 'week', 4) FROM ev)::text
     = (SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev)::text AS int_same;
-- No rows, or only skipped rows: NULL, as sum() over no rows.  Rows but no
-- start event: an empty matrix.
SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev WHERE false;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev WHERE uid IS NULL OR ts IS NULL;
SELECT analytics.lifecycle(uid, ts, 'week') IS NULL AS lifecycle_null,
       analytics.stickiness(uid, ts, 'day', 'week') IS NULL AS stickiness_null
FROM ev WHERE uid IS NULL OR ts IS NULL;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, NULL, false, true) FROM ev;
-- Any hashable actor type works (numeric here); others are refused.
SELECT (SELECT analytics.cohort_matrix(uid::numeric, ts, 'week', 4) FROM ev)::text
     = (SELECT analytics.cohort_matrix(uid, ts, 'week', 4) FROM ev)::text AS numeric_same;
-- Integer actors in the orders the actor hash has shortcuts for (first seen
-- in increasing order, or wrapping around once) and in others; every actor is
-- seen again later, and counted once: the cohort is count(DISTINCT).
CREATE TABLE key_orders (pattern text, a bigint, o float8);
INSERT INTO key_orders
SELECT 'increasing, then again', g, g FROM generate_series(1, 40000) g
UNION ALL SELECT 'increasing, then again', g, 40000 + g FROM generate_series(1, 40000) g
UNION ALL SELECT 'a few increasing, then again', g, g FROM generate_series(1, 500) g
UNION ALL SELECT 'a few increasing, then again', g, 500 + g FROM generate_series(1, 500) g
UNION ALL SELECT 'increasing, looked up, increasing again', g, g FROM generate_series(1, 20000) g
UNION ALL SELECT 'increasing, looked up, increasing again', g, 20000 + g FROM generate_series(1, 20000) g
UNION ALL SELECT 'increasing, looked up, increasing again', g, 20000 + g FROM generate_series(20001, 40000) g
UNION ALL SELECT 'increasing, looked up, increasing again', -g, 60000 + random() FROM generate_series(1, 30000) g
UNION ALL SELECT 'wrapping around, then shuffled', g, (g + 20000) % 40000 FROM generate_series(1, 40000) g
UNION ALL SELECT 'wrapping around, then shuffled', g, 40000 + random() FROM generate_series(1, 40000, 3) g
UNION ALL SELECT 'decreasing', -g, g FROM generate_series(1, 40000) g
UNION ALL SELECT 'decreasing', -g, 40000 + g FROM generate_series(1, 40000, 7) g
UNION ALL SELECT 'shuffled, sharing low bits', 16 * (g % 30000), random() FROM generate_series(1, 60000) g
UNION ALL SELECT 'extremes', v, o FROM unnest(ARRAY[9223372036854775807, -9223372036854775808, 0,
  9223372036854775806, -1, 9223372036854775807, 5, -9223372036854775808]) WITH ORDINALITY AS x(v, o);
SELECT pattern,
       (analytics.cohort_matrix(a, '2026-01-05'::timestamptz, 'week', 1 ORDER BY o))[1].cohort_size
       = count(DISTINCT a) AS counted_once
FROM key_orders GROUP BY pattern ORDER BY pattern;
SELECT pattern,
       (SELECT s.actors FROM unnest(analytics.funnel_report(a, '2026-01-05'::timestamptz, '1 day', true ORDER BY o)) s WHERE s.step = 1)
       = count(DISTINCT a) AS funnel_counted_once
FROM key_orders GROUP BY pattern ORDER BY pattern;

-- Time zones.  In America/New_York x's events fall on Mar 7 and Mar 8 (local),
-- y's on Mar 8, z's on Mar 9; the daylight saving change on Mar 8 makes the
-- local midnights 05:00, 05:00 and 04:00 UTC.  In UTC the days are Mar 8 and
-- Mar 9 for x, Mar 8 for y and Mar 9 for z.
CREATE TABLE tzev (uid text, ts timestamptz);
INSERT INTO tzev VALUES ('x', '2026-03-08 03:30+00'), ('x', '2026-03-09 03:30+00'),
  ('y', '2026-03-08 12:00+00'), ('z', '2026-03-09 12:00+00');
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'day', 3, '{"timezone": "America/New_York"}') FROM tzev)) c
ORDER BY cohort_start, period_offset;
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'day', 3) FROM tzev)) c
ORDER BY cohort_start, period_offset;
-- Without the option the session time zone applies.
SET TimeZone = 'America/New_York';
SELECT (SELECT analytics.cohort_matrix(uid, ts, 'day', 3) FROM tzev)::text
     = (SELECT analytics.cohort_matrix(uid, ts, 'day', 3, '{"timezone": "America/New_York"}') FROM tzev)::text AS session_zone;
SET TimeZone = 'UTC';
-- A month in Asia/Tokyo (UTC+9): 2026-01-31 20:00 UTC is February 1 there.
SELECT c.cohort_start, c.period_offset, c.actors
FROM unnest((SELECT analytics.cohort_matrix(1, '2026-01-31 20:00+00'::timestamptz, 'month', 1, '{"timezone": "Asia/Tokyo"}'))) c;

-- Rolling 24-hour periods from each actor's first event; the cohort is the
-- day of that event.  r starts Jan 1 10:00: Jan 2 09:59:59 is offset 0,
-- Jan 2 10:00 offset 1, Jan 4 11:00 offset 3 -> 1, 1, 0, 1.  s starts
-- Jan 3 23:00 and returns Jan 4 22:59 (offset 0); its triangle ends on the
-- last day with data (Jan 4) -> 1, 0.
CREATE TABLE roll (uid int, ts timestamptz);
INSERT INTO roll VALUES (1, '2026-01-01 10:00'), (1, '2026-01-02 09:59:59'),
  (1, '2026-01-02 10:00'), (1, '2026-01-04 11:00'),
  (2, '2026-01-03 23:00'), (2, '2026-01-04 22:59');
SELECT c.cohort_start, c.period_offset, c.actors, c.cohort_size
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'rolling_24h', 4) FROM roll)) c
ORDER BY cohort_start, period_offset;
-- on_or_after: r's latest event (Jan 4 11:00) is after the start of every window.
SELECT c.cohort_start, c.period_offset, c.actors
FROM unnest((SELECT analytics.cohort_matrix(uid, ts, 'rolling_24h', 4, '{"returns": "on_or_after"}') FROM roll)) c
ORDER BY cohort_start, period_offset;

-- Lifecycle by week (PostHog's statuses):
--   W0: new u1 u2 u5
--   W1: new u3, returning u1, dormant u2 u5
--   W2: new u4, returning u1, resurrecting u2, dormant u3
--   W3: resurrecting u3 u5, dormant u1 u2 u4
--   W4: resurrecting u1, dormant u3 u5
SELECT l.* FROM unnest((SELECT analytics.lifecycle(uid, ts, 'week') FROM ev)) l ORDER BY period_start;
-- By month: everyone is new in January; in February u1 returns, u2..u5 are dormant.
SELECT l.* FROM unnest((SELECT analytics.lifecycle(uid, ts, 'month', '{"timezone": "UTC"}') FROM ev)) l ORDER BY period_start;

-- Stickiness: days active per (actor, week).  u1: W0 two days (Jan 5, 7),
-- W1, W2, W4 one each; u2: W0, W2 one; u3: W1 two (Jan 12, 13), W3 one;
-- u4: W2 one; u5: W0, W3 one -> 9 actor-weeks with 1 day, 2 with 2 days.
SELECT s.* FROM unnest((SELECT analytics.stickiness(uid, ts, 'day', 'week') FROM ev)) s ORDER BY active_periods;
-- Hours active per (actor, day): every actor-day of the fixture has one
-- active hour (u1 5 days, u2 2, u3 3, u4 1, u5 2 -> 13).
SELECT s.* FROM unnest((SELECT analytics.stickiness(uid, ts, 'hour', 'day') FROM ev)) s ORDER BY active_periods;

-- Against plain SQL on the demo data: weekly first-time cohorts, returns on
-- and on or after, recurring, a time zone; lifecycle; stickiness.
SELECT count(*) AS tables FROM analytics.generate_demo_data(0.03, 7, 'cohort_demo');
CREATE FUNCTION pg_temp.sql_cohorts(period text, zone text, periods int, on_or_after bool)
RETURNS TABLE (cohort_start timestamptz, period_offset int, actors bigint, cohort_size bigint)
LANGUAGE sql AS $$
  WITH act AS (
    SELECT DISTINCT user_id, date_trunc(period, occurred_at AT TIME ZONE zone) AS p FROM cohort_demo.events),
  firsts AS (SELECT user_id, min(p) AS c FROM act GROUP BY user_id),
  sizes AS (SELECT c, count(*) AS n FROM firsts GROUP BY c),
  last AS (SELECT max(p) AS l FROM act),
  offs AS (
    SELECT f.c, k, f.user_id FROM firsts f, last, generate_series(0, periods - 1) k
    WHERE f.c + k * ('1 ' || period)::interval <= last.l),
  hits AS (
    SELECT o.c, o.k, count(DISTINCT o.user_id) FILTER (WHERE EXISTS (
      SELECT 1 FROM act a WHERE a.user_id = o.user_id AND
        CASE WHEN on_or_after THEN a.p >= o.c + o.k * ('1 ' || period)::interval
             ELSE a.p = o.c + o.k * ('1 ' || period)::interval END)) AS actors
    FROM offs o GROUP BY o.c, o.k)
  SELECT h.c AT TIME ZONE zone, h.k, h.actors, s.n FROM hits h JOIN sizes s USING (c)
$$;
SELECT count(*) AS cells,
       count(*) FILTER (WHERE s.actors IS DISTINCT FROM c.actors OR s.cohort_size IS DISTINCT FROM c.cohort_size) AS mismatched
FROM pg_temp.sql_cohorts('week', 'UTC', 26, false) s
FULL JOIN unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'week', 26) FROM cohort_demo.events)) c
  USING (cohort_start, period_offset);
SELECT count(*) AS cells,
       count(*) FILTER (WHERE s.actors IS DISTINCT FROM c.actors OR s.cohort_size IS DISTINCT FROM c.cohort_size) AS mismatched
FROM pg_temp.sql_cohorts('week', 'UTC', 26, true) s
FULL JOIN unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'week', 26, '{"returns": "on_or_after"}') FROM cohort_demo.events)) c
  USING (cohort_start, period_offset);
SELECT count(*) AS cells,
       count(*) FILTER (WHERE s.actors IS DISTINCT FROM c.actors OR s.cohort_size IS DISTINCT FROM c.cohort_size) AS mismatched
FROM pg_temp.sql_cohorts('day', 'Asia/Kolkata', 30, false) s
FULL JOIN unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'day', 30, '{"timezone": "Asia/Kolkata"}') FROM cohort_demo.events)) c
  USING (cohort_start, period_offset);
SELECT count(*) AS cells,
       count(*) FILTER (WHERE s.actors IS DISTINCT FROM c.actors OR s.cohort_size IS DISTINCT FROM c.cohort_size) AS mismatched
FROM pg_temp.sql_cohorts('month', 'America/Los_Angeles', 8, false) s
FULL JOIN unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'month', 8, '{"timezone": "America/Los_Angeles"}') FROM cohort_demo.events)) c
  USING (cohort_start, period_offset);
-- Recurring weekly retention with revenue: cohorts are (actor, week) pairs.
WITH act AS (
  SELECT user_id, date_trunc('week', occurred_at) AS p, sum(coalesce(revenue, 0))::float8 AS v
  FROM cohort_demo.events GROUP BY 1, 2),
last AS (SELECT max(p) AS l FROM act),
cells AS (
  SELECT a.p AS cohort_start, k AS period_offset, count(b.user_id) AS actors,
         coalesce(sum(b.v), 0) AS value
  FROM act a CROSS JOIN last CROSS JOIN generate_series(0, 9) k
  LEFT JOIN act b ON b.user_id = a.user_id AND b.p = a.p + k * interval '1 week'
  WHERE a.p + k * interval '1 week' <= last.l
  GROUP BY 1, 2)
SELECT count(*) AS cells,
       count(*) FILTER (WHERE s.actors IS DISTINCT FROM c.actors
                           OR abs(s.value - c.value) > 1e-6 * greatest(1, abs(s.value))) AS mismatched
FROM cells s
FULL JOIN unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'week', 10, '{"retention": "recurring"}',
                                                 true, true, revenue::float8) FROM cohort_demo.events)) c
  USING (cohort_start, period_offset);
-- Lifecycle by day.
WITH act AS (SELECT DISTINCT user_id, date_trunc('day', occurred_at) AS p FROM cohort_demo.events),
firsts AS (SELECT user_id, min(p) AS f FROM act GROUP BY 1),
days AS (SELECT generate_series(min(p), max(p), '1 day') AS p FROM act),
s AS (
  SELECT days.p AS period_start,
    (SELECT count(*) FROM firsts WHERE f = days.p) AS new_actors,
    (SELECT count(*) FROM act a WHERE a.p = days.p AND a.p > (SELECT f FROM firsts WHERE firsts.user_id = a.user_id)
       AND EXISTS (SELECT 1 FROM act b WHERE b.user_id = a.user_id AND b.p = days.p - interval '1 day')) AS returning_actors,
    (SELECT count(*) FROM act a WHERE a.p = days.p AND a.p > (SELECT f FROM firsts WHERE firsts.user_id = a.user_id)
       AND NOT EXISTS (SELECT 1 FROM act b WHERE b.user_id = a.user_id AND b.p = days.p - interval '1 day')) AS resurrecting_actors,
    (SELECT count(*) FROM act a WHERE a.p = days.p - interval '1 day'
       AND NOT EXISTS (SELECT 1 FROM act b WHERE b.user_id = a.user_id AND b.p = days.p)) AS dormant_actors
  FROM days)
SELECT count(*) AS periods, count(*) FILTER (WHERE row(s.*) IS DISTINCT FROM row(l.*)) AS mismatched
FROM s FULL JOIN unnest((SELECT analytics.lifecycle(user_id, occurred_at, 'day') FROM cohort_demo.events)) l
  USING (period_start);
-- Stickiness: days per ISO week.
WITH aw AS (
  SELECT user_id, date_trunc('week', occurred_at) AS w, count(DISTINCT date_trunc('day', occurred_at)) AS k
  FROM cohort_demo.events GROUP BY 1, 2)
SELECT array_agg(row(k, n)::text ORDER BY k) = (
         SELECT array_agg(s::text ORDER BY s.active_periods)
         FROM unnest((SELECT analytics.stickiness(user_id, occurred_at, 'day', 'week') FROM cohort_demo.events)) s) AS same_stickiness
FROM (SELECT k::int, count(*) AS n FROM aw GROUP BY k) h;

-- Errors.
SELECT analytics.cohort_matrix(uid, ts, 'fortnight', 4) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 0) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 10001) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, NULL, 4) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', NULL) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, CASE WHEN uid = 3 THEN 'day' ELSE 'week' END, 4) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"retention": "sometimes"}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"returns": "later"}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"retention": 1}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"bogus": 1}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"timezone": "Mars/Olympus"}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, '{"max_cells": 0}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'day', 30, '{"max_cells": 100}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'rolling_24h', 4, '{"retention": "recurring"}') FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'rolling_24h', 4, NULL, true, true, amount) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, NULL, true, true, 'NaN'::float8) FROM ev;
SELECT analytics.cohort_matrix(uid, ts, 'week', 4, NULL, true, true, 'infinity'::float8) FROM ev;
SELECT analytics.cohort_matrix(point(uid, 0), ts, 'week', 4) FROM ev;
SELECT analytics.lifecycle(uid, ts, 'rolling_24h') FROM ev;
SELECT analytics.lifecycle(uid, ts, 'week', '{"retention": "recurring"}') FROM ev;
SELECT analytics.stickiness(uid, ts, 'week', 'day') FROM ev;
SELECT analytics.stickiness(uid, ts, 'day', 'day') FROM ev;
SELECT analytics.stickiness(uid, ts, 'day', 'year') FROM ev;
SELECT analytics.stickiness(uid, ts, 'day', NULL) FROM ev;
SELECT analytics.lifecycle(1, '2026-01-01'::timestamptz + g * interval '1 hour', 'hour') FROM generate_series(0, 200000, 200000) g;
-- Infinite timestamps lie in no period; hours near the end of time do not fit.
SELECT analytics.cohort_matrix(uid, CASE WHEN uid = 2 THEN 'infinity' ELSE ts END, 'week', 4) FROM ev;
SELECT analytics.cohort_matrix(1, '-infinity'::timestamptz, 'rolling_24h', 3);
SELECT analytics.lifecycle(1, '294276-12-31 00:00+00'::timestamptz, 'hour');
SELECT c.cohort_start FROM unnest((SELECT analytics.cohort_matrix(1, '294276-12-31 00:00+00'::timestamptz, 'month', 3))) c;
-- The state is bounded by analytics.max_aggregate_memory (per process).
SET analytics.max_aggregate_memory = '1MB';
\set VERBOSITY terse
SELECT analytics.cohort_matrix(g, '2026-01-01'::timestamptz, 'day', 1) FROM generate_series(1, 100000) g;
\set VERBOSITY default
RESET analytics.max_aggregate_memory;
SELECT (analytics.cohort_matrix(g, '2026-01-01'::timestamptz, 'day', 1))[1].cohort_size FROM generate_series(1, 100000) g;
