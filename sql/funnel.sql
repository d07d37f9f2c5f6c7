-- retention, window_funnel, sequence_match, sequence_count and
-- funnel_report.  Expected values come from ClickHouse's own test suite
-- (tests/queries/0_stateless/00632_aggregation_window_funnel and
-- 00632_aggregation_sequence_match, their .reference results) where
-- ClickHouse has the function, by hand elsewhere, and from plain SQL on the
-- demo data.
SET TimeZone = 'UTC';
-- own schema: tests share a database
CREATE SCHEMA t_funnel;
SET search_path = t_funnel;
SET extra_float_digits = 0;

-- ---------- retention ----------
-- ClickHouse's documented example: users 0..4 active on Jan 1, 0..9 on
-- Jan 2, 0..14 on Jan 3.  Users 0..4 -> {t,t,t}; 5..14 never did
-- condition 1 -> all false; every element is any(cond1) AND any(cond_i).
CREATE TABLE ret (d date, uid int);
INSERT INTO ret SELECT '2020-01-01', g FROM generate_series(0, 4) g;
INSERT INTO ret SELECT '2020-01-02', g FROM generate_series(0, 9) g;
INSERT INTO ret SELECT '2020-01-03', g FROM generate_series(0, 14) g;
SELECT r, count(*) AS users, min(uid), max(uid) FROM (
  SELECT uid, analytics.retention(d = '2020-01-01', d = '2020-01-02', d = '2020-01-03') AS r
  FROM ret GROUP BY uid) s
GROUP BY r ORDER BY min(uid);
-- Condition 1 but not 3, and NULL conditions (false).
SELECT analytics.retention(x = 1, x = 2, x = 3, NULL)
FROM (VALUES (1), (2), (NULL)) v(x);
SELECT analytics.retention(x = 1) FROM (VALUES (1)) v(x);
SELECT analytics.retention(x = 1) FROM (VALUES (1)) v(x) WHERE false;
-- 64 conditions; a plain bool[] through VARIADIC.
SELECT array_length(analytics.retention(VARIADIC array_fill(true, ARRAY[64])), 1) AS n64,
       analytics.retention(VARIADIC ARRAY[true, false, true]) AS arr;

-- ---------- window_funnel: ClickHouse's cases ----------
CREATE TABLE ft (t bigint, event int);
INSERT INTO ft VALUES (0,1000),(1,1001),(2,1002),(3,1003),(4,1004),(5,1005),(6,1006),(7,1007),(8,1008);
-- ClickHouse: 1, 2, 3, 4; window 1 s -> 1; 2 s -> 3; 3 s -> 4; 4 s -> 5
-- (the window end is inclusive: 1003 at 3 s reaches 1005 at 5 s with a 2 s window).
SELECT analytics.window_funnel('10000 s', to_timestamp(t), event = 1000) AS a,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1000, event = 1001) AS b,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1000, event = 1001, event = 1002) AS c,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1000, event = 1001, event = 1002, event = 1008) AS d,
       analytics.window_funnel('1 s', to_timestamp(t), event = 1000) AS e,
       analytics.window_funnel('2 s', to_timestamp(t), event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) AS f,
       analytics.window_funnel('3 s', to_timestamp(t), event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) AS g,
       analytics.window_funnel('4 s', to_timestamp(t), event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) AS h
FROM ft;
-- ClickHouse: 2 (1001 then 1008), 1 (1008 is last), 4 (overlapping conditions).
SELECT analytics.window_funnel('10000 s', to_timestamp(t), event = 1001, event = 1008) AS a,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1008, event = 1001) AS b,
       analytics.window_funnel('4 s', to_timestamp(t), event <= 1007, event >= 1002, event <= 1006, event >= 1004) AS c
FROM ft;
-- Timestamps far from the epoch (ClickHouse's UInt64 case, here year 2200).
SELECT analytics.window_funnel('4 s', to_timestamp(7258118400 + t), event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) AS far
FROM ft;
-- strict_deduplication: the repeated 1005 at 51 s stops the chain at 6.
CREATE TABLE fstrict (t bigint, event int);
INSERT INTO fstrict VALUES (0,1000),(10,1001),(20,1002),(30,1003),(40,1004),(50,1005),(51,1005),(60,1006),(70,1007),(80,1008);
SELECT analytics.window_funnel('10000 s', 'strict_deduplication', to_timestamp(t), event = 1000, event = 1001, event = 1002, event = 1003, event = 1004, event = 1005, event = 1006) AS dedup,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1000, event = 1001, event = 1002, event = 1003, event = 1004, event = 1005, event = 1006) AS plain
FROM fstrict;
-- strict_order by user.  ClickHouse: default 3 3 3 3 3 1; strict_order
-- 3 1 3 3 2 1; strict_deduplication + strict_order 3 1 2 2 2 1; user 7
-- (a c b, 10 s) strict_order 1.
CREATE TABLE fso (t bigint, uid int, event text);
INSERT INTO fso VALUES (1,1,'a'),(2,1,'b'),(3,1,'c'),
  (1,2,'a'),(2,2,'d'),(3,2,'b'),(4,2,'c'),
  (1,3,'a'),(2,3,'a'),(3,3,'b'),(4,3,'b'),(5,3,'c'),(6,3,'c'),
  (1,4,'a'),(2,4,'a'),(3,4,'a'),(4,4,'a'),(5,4,'b'),(6,4,'b'),(7,4,'c'),(8,4,'c'),
  (1,5,'a'),(2,5,'a'),(3,5,'b'),(4,5,'b'),(5,5,'d'),(6,5,'c'),(7,5,'c'),
  (1,6,'c'),(2,6,'c'),(3,6,'b'),(4,6,'b'),(5,6,'a'),(6,6,'a'),
  (1,7,'a'),(2,7,'c'),(3,7,'b');
SELECT uid,
       analytics.window_funnel('1 day', to_timestamp(t), event = 'a', event = 'b', event = 'c') AS plain,
       analytics.window_funnel('1 day', 'strict_order', to_timestamp(t), event = 'a', event = 'b', event = 'c') AS strict_order,
       analytics.window_funnel('1 day', 'strict_deduplication, strict_order', to_timestamp(t), event = 'a', event = 'b', event = 'c') AS both,
       analytics.window_funnel('10 s', 'strict_order', to_timestamp(t), event = 'a', event = 'b', event = 'c') AS order_10s
FROM fso GROUP BY uid ORDER BY uid;
-- ClickHouse issue 27469: a b c b d with strict_deduplication -> 3.
SELECT analytics.window_funnel('1 day', 'strict_deduplication', to_timestamp(t), e = 'a', e = 'b', e = 'c', e = 'd') AS dedup
FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'b'), (5, 'd')) v(t, e);
-- NULL conditions are false (ClickHouse's non-null test spelled its
-- conditions with COALESCE; the results are the same): 2 2 0 0 / 2 1 0 0 /
-- 0 0 1 0 / 0 0 1 2 / strict_order 0 0 1 1.
CREATE TABLE fnn (t bigint, u int, a text, b text);
INSERT INTO fnn VALUES (1,1,'a1','b1'),(2,1,'a2','b2'),(1,2,'a1',NULL),(2,2,'a2',NULL),
  (1,3,NULL,NULL),(1,4,NULL,'b1'),(2,4,'a2',NULL),(3,4,NULL,'b3');
SELECT u,
       analytics.window_funnel('1 day', to_timestamp(t), a = 'a1', a = 'a2') AS s1,
       analytics.window_funnel('1 day', to_timestamp(t), a = 'a1', b = 'b2') AS s2,
       analytics.window_funnel('1 day', to_timestamp(t), a IS NULL AND b IS NULL) AS s3,
       analytics.window_funnel('1 day', to_timestamp(t), a IS NULL, b = 'b3') AS s4,
       analytics.window_funnel('1 day', 'strict_order', to_timestamp(t), a IS NULL, b = 'b3') AS s5
FROM fnn GROUP BY u ORDER BY u;
-- strict_increase and strict_once (ClickHouse: 5, 2, 3, 1, 1).
CREATE TABLE fsi (t bigint, event int);
INSERT INTO fsi VALUES (0,1000),(1,1001),(1,1002),(1,1003),(2,1004);
SELECT analytics.window_funnel('10000 s', to_timestamp(t), event = 1000, event = 1001, event = 1002, event = 1003, event = 1004) AS a,
       analytics.window_funnel('10000 s', 'strict_increase', to_timestamp(t), event = 1000, event = 1001, event = 1002, event = 1003, event = 1004) AS b,
       analytics.window_funnel('10000 s', to_timestamp(t), event = 1004, event = 1004, event = 1004) AS c,
       analytics.window_funnel('10000 s', 'strict_once', to_timestamp(t), event = 1004, event = 1004, event = 1004) AS d,
       analytics.window_funnel('10000 s', 'strict_increase', to_timestamp(t), event = 1004, event = 1004, event = 1004) AS e
FROM fsi;
-- strict_once by user (ClickHouse: 3, 2, 1 in all three mode sets).
CREATE TABLE fonce (t bigint, result text, uid int);
INSERT INTO fonce VALUES (100,'failure',234),(200,'success',345),(210,'failure',345),(230,'success',345),
  (250,'failure',234),(180,'failure',123),(220,'failure',123),(250,'success',123);
SELECT uid,
       analytics.window_funnel('200 s', 'strict_once,strict_increase', to_timestamp(t), result = 'failure', result = 'failure', result = 'success') AS a,
       analytics.window_funnel('200 s', 'strict_once', to_timestamp(t), result = 'failure', result = 'failure', result = 'success') AS b,
       analytics.window_funnel('200 s', 'strict_once,strict_deduplication', to_timestamp(t), result = 'failure', result = 'failure', result = 'success') AS c
FROM fonce GROUP BY uid ORDER BY uid;
-- Rows matching no step give 0; no rows give NULL.
SELECT analytics.window_funnel('1 day', to_timestamp(t), event = 1) FROM ft;
SELECT analytics.window_funnel('1 day', to_timestamp(t), event = 1) FROM ft WHERE false;
-- NULL timestamps are skipped.
SELECT analytics.window_funnel('1 day', ts, e = 'a', e = 'b')
FROM (VALUES (now(), 'a'), (NULL, 'b')) v(ts, e);
-- Windows are exact intervals; a month counts as 30 days.
SELECT analytics.window_funnel('1 mon', ts, e = 'a', e = 'b') AS within_30_days,
       analytics.window_funnel('29 days 23:59:59', ts, e = 'a', e = 'b') AS not_within
FROM (VALUES ('2026-02-01 00:00+00'::timestamptz, 'a'), ('2026-03-03 00:00+00', 'b')) v(ts, e);

-- Against plain SQL on the demo data: for every user, the longest prefix of
-- view -> add_to_cart -> purchase reached within 3 days of a view, found by
-- taking from each view the earliest next step after the previous one.
SELECT count(*) AS tables FROM analytics.generate_demo_data(0.03, 11, 'funnel_demo');
CREATE TEMP TABLE sql_levels AS
WITH starts AS (SELECT user_id, occurred_at AS t1 FROM funnel_demo.events WHERE event_type = 'view'),
lv AS (
  SELECT s.user_id, s.t1, c.t2, (
    SELECT min(e.occurred_at) FROM funnel_demo.events e
    WHERE e.user_id = s.user_id AND e.event_type = 'purchase'
      AND e.occurred_at >= c.t2 AND e.occurred_at <= s.t1 + interval '3 days') AS t3
  FROM starts s
  CROSS JOIN LATERAL (
    SELECT min(e.occurred_at) AS t2 FROM funnel_demo.events e
    WHERE e.user_id = s.user_id AND e.event_type = 'add_to_cart'
      AND e.occurred_at >= s.t1 AND e.occurred_at <= s.t1 + interval '3 days') c)
SELECT u.user_id, coalesce(max(CASE WHEN t3 IS NOT NULL THEN 3 WHEN t2 IS NOT NULL THEN 2 ELSE 1 END), 0) AS level
FROM (SELECT DISTINCT user_id FROM funnel_demo.events) u LEFT JOIN lv USING (user_id)
GROUP BY u.user_id;
CREATE TEMP TABLE c_levels AS
SELECT user_id, analytics.window_funnel('3 days', occurred_at, event_type = 'view',
                                       event_type = 'add_to_cart', event_type = 'purchase') AS level
FROM funnel_demo.events GROUP BY user_id;
SELECT count(*) AS users, count(*) FILTER (WHERE s.level IS DISTINCT FROM c.level) AS mismatched,
       count(*) FILTER (WHERE c.level = 3) AS purchased
FROM sql_levels s FULL JOIN c_levels c USING (user_id);
-- funnel_report counts the same users per step in one pass.
SELECT f.step, f.actors,
       f.actors = (SELECT count(*) FROM c_levels WHERE level >= f.step) AS same_as_window_funnel
FROM unnest((SELECT analytics.funnel_report(user_id, occurred_at, '3 days', event_type = 'view',
                                            event_type = 'add_to_cart', event_type = 'purchase')
             FROM funnel_demo.events)) f ORDER BY f.step;
-- text and uuid actors give the same report.
SELECT (SELECT analytics.funnel_report(user_id::text, occurred_at, '3 days', event_type = 'view', event_type = 'purchase') FROM funnel_demo.events)::text
     = (SELECT analytics.funnel_report(user_id, occurred_at, '3 days', event_type = 'view', event_type = 'purchase') FROM funnel_demo.events)::text AS text_same,
       (SELECT analytics.funnel_report(md5(user_id::text)::uuid, occurred_at, '3 days', event_type = 'view', event_type = 'purchase') FROM funnel_demo.events)::text
     = (SELECT analytics.funnel_report(user_id, occurred_at, '3 days', event_type = 'view', event_type = 'purchase') FROM funnel_demo.events)::text AS uuid_same;

-- ---------- funnel_report by hand ----------
-- Steps view -> cart -> buy within 7 days.
--   u1: view Jan 1 10:00, cart Jan 2 10:00, buy Jan 3 10:00 -> 3 (1 d, 1 d)
--   u2: view Jan 1, cart Jan 20 -> 1
--   u3: view Jan 5, cart Jan 6 (1 d), buy Jan 15 (outside) -> 2
--   u4: view Jan 10 12:00, view Jan 11 12:00, cart Jan 11 18:00 (6 h after
--       the later view), refund Jan 12, buy Jan 12 12:00 (18 h) -> 3
--   u5: cart only -> 0
-- Step 1: 4 actors; step 2: u1, u3, u4 = 3 (0.75), median from previous of
-- {86400, 86400, 21600} = 86400; step 3: u1, u4 = 2 (2/3), from previous
-- {86400, 64800} -> 75600, from first {172800, 86400} -> 129600.
CREATE TABLE fr (uid int, ts timestamptz, ev text);
INSERT INTO fr VALUES
  (1, '2026-01-01 10:00', 'view'), (1, '2026-01-02 10:00', 'cart'), (1, '2026-01-03 10:00', 'buy'),
  (2, '2026-01-01 10:00', 'view'), (2, '2026-01-20 10:00', 'cart'),
  (3, '2026-01-05 10:00', 'view'), (3, '2026-01-06 10:00', 'cart'), (3, '2026-01-15 10:00', 'buy'),
  (4, '2026-01-10 12:00', 'view'), (4, '2026-01-11 12:00', 'view'), (4, '2026-01-11 18:00', 'cart'),
  (4, '2026-01-12 06:00', 'refund'), (4, '2026-01-12 12:00', 'buy'),
  (5, '2026-01-02 10:00', 'cart'),
  (NULL, '2026-01-02 10:00', 'view'), (6, NULL, 'view');
SELECT f.* FROM unnest((SELECT analytics.funnel_report(uid, ts, '7 days', ev = 'view', ev = 'cart', ev = 'buy') FROM fr)) f;
-- Exclusion: a refund between steps 2 and 3 leaves u4 out of every step
-- (condition 4 is the exclusion, so the steps are conditions 1..3).
SELECT f.step, f.actors, f.conversion, f.median_seconds_from_previous
FROM unnest((SELECT analytics.funnel_report(uid, ts, '7 days', '{"exclusions": [4, 2, 3]}',
                                            ev = 'view', ev = 'cart', ev = 'buy', ev = 'refund') FROM fr)) f;
-- Between steps 1 and 2 it excludes nobody (u4's refund comes after its cart).
SELECT f.step, f.actors
FROM unnest((SELECT analytics.funnel_report(uid, ts, '7 days', '{"exclusions": [4, 1, 2]}',
                                            ev = 'view', ev = 'cart', ev = 'buy', ev = 'refund') FROM fr)) f;
-- strict_order: rows matching no step interrupt.  u4: the second view
-- restarts the chain, the cart follows, the refund ends it at 2.  u1 3,
-- u2 1 (its cart is too late), u3 2, u5 0 -> 4, 3, 1.
SELECT f.step, f.actors
FROM unnest((SELECT analytics.funnel_report(uid, ts, '7 days', '{"mode": "strict_order"}',
                                            ev = 'view', ev = 'cart', ev = 'buy') FROM fr)) f;
SELECT analytics.funnel_report(uid, ts, '7 days', ev = 'view') FROM fr WHERE false;

-- ---------- sequence_match / sequence_count: ClickHouse's cases ----------
-- conditions: data = 0 (1), 1 (2), 2 (3), 3 (4, never true).
CREATE TABLE sq (t bigint, data int);
INSERT INTO sq VALUES (0,0),(1,0),(2,0),(3,0),(4,1),(5,2),(6,0),(7,0),(8,0),(9,0),(10,1),(11,1);
SELECT p, analytics.sequence_match(p, to_timestamp(t), data = 0, data = 1, data = 2, data = 3) AS matched,
          analytics.sequence_count(p, to_timestamp(t), data = 0, data = 1, data = 2, data = 3) AS count
FROM sq, unnest(ARRAY['.', '(?1)', '(?2)', '(?3)', '(?4)', '(?1)(?1)', '(?1)(?1)(?1)',
                      '(?1)(?1)(?1)(?1)', '(?1)(?1)(?1)(?1)(?1)', '(?1)(?1)(?1)(?1)(?2)',
                      '(?1)(?t>10)(?2)', '(?1)(?t>11)(?2)', '(?1)(?t<11)(?2)', '(?1)(?t<3)(?3)',
                      '(?1)(?t<=2)(?3)', '(?1)(?t<2)(?3)', '(?2)(?t>=7)(?2)', '(?2)(?t>7)(?2)',
                      '(?2)(?3)(?1)']) WITH ORDINALITY AS pats(p, i)
GROUP BY p, i ORDER BY i;
-- ClickHouse expects, in that order: match 1 1 1 1 0 1 1 1 0 1 1 0 1 1 1 0 1 0 1,
-- count 12 8 3 1 0 4 2 2 0 2 1 0 2 1 1 0 1 0 1.
-- Our additions: .* between atoms, == and !=, several conditions on one gap.
SELECT analytics.sequence_match('(?1).*(?3)', to_timestamp(t), data = 0, data = 1, data = 2) AS a,
       analytics.sequence_match('(?3).*(?2)(?2)', to_timestamp(t), data = 0, data = 1, data = 2) AS b,
       analytics.sequence_match('(?3).*(?3)', to_timestamp(t), data = 0, data = 1, data = 2) AS c,
       analytics.sequence_count('(?1)(?t==4)(?2)', to_timestamp(t), data = 0, data = 1, data = 2) AS d,
       analytics.sequence_count('(?1)(?t>1)(?t<5)(?1)', to_timestamp(t), data = 0, data = 1, data = 2) AS e,
       analytics.sequence_match('(?2)(?t!=6)(?2)', to_timestamp(t), data = 0, data = 1, data = 2) AS f
FROM sq;
-- Rows at the same time are ordered by the lowest condition they satisfy
-- (then by their condition set), whatever order they arrive in: here b
-- arrives before a at the same instant and (?1)(?2) still matches.
SELECT analytics.sequence_match('(?1)(?2)', ts, e = 'a', e = 'b') AS tie_ab,
       analytics.sequence_match('(?2)(?1)', ts, e = 'a', e = 'b') AS tie_ba
FROM (VALUES ('2026-01-01 00:00+00'::timestamptz, 'b'), ('2026-01-01 00:00+00', 'a')) v(ts, e);
-- a: 0 then 5 -> t.  b: 2 at 5, then 1 at 10 and 11 adjacent -> t.  c: one 2 -> f.
-- d: cond1 at 0 -> cond2 at 4 (gap 4); then from 6: cond2 at 10 (gap 4) -> 2.
-- e: pairs of cond1 2..4 s apart, non-overlapping, earliest end first:
--    (0,2), (3,6), (7,9) -> 3.
-- f: cond2 pairs (4,10) gap 6 excluded, (4,11) gap 7 -> t.

-- ---------- errors ----------
SELECT analytics.retention(VARIADIC array_fill(true, ARRAY[65]));
SELECT analytics.retention(VARIADIC '{}'::bool[]);
SELECT analytics.retention(VARIADIC NULL::bool[]);
SELECT analytics.retention(VARIADIC '{{true},{false}}'::bool[]);
SELECT analytics.retention(VARIADIC CASE WHEN x = 1 THEN ARRAY[true] ELSE ARRAY[true, false] END)
FROM (VALUES (1), (2)) v(x);
SELECT analytics.window_funnel('0 s', to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.window_funnel('-1 day', to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.window_funnel('1 day', 'strict', to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.window_funnel(NULL, to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.window_funnel('1 day', NULL, to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.window_funnel('1 day', to_timestamp(t), VARIADIC array_fill(true, ARRAY[65])) FROM ft;
SELECT analytics.window_funnel(t * interval '1 s' + interval '1 s', to_timestamp(t), event = 1000) FROM ft;
SELECT analytics.sequence_match('(?1)(?2', now(), true, false);
SELECT analytics.sequence_match('(?3)', now(), true, false);
SELECT analytics.sequence_match('(?0)', now(), true, false);
SELECT analytics.sequence_match('(?1)(?t<=5)', now(), true, false);
SELECT analytics.sequence_match('(?t<=5)(?1)', now(), true, false);
SELECT analytics.sequence_match('(?1)(?t~5)(?2)', now(), true, false);
SELECT analytics.sequence_match('(?1) (?2)', now(), true, false);
SELECT analytics.sequence_match('', now(), true, false);
SELECT analytics.sequence_match(NULL, now(), true, false);
SELECT analytics.sequence_count(CASE WHEN t > 5 THEN '(?1)(?1)' ELSE '(?1)' END, to_timestamp(t), data = 0) FROM sq;
-- The step bound: a low limit stops matching with a clear error.
SET analytics.sequence_max_steps = 1000;
SELECT analytics.sequence_count('(?1).*(?1).*(?2)', to_timestamp(g), g % 3 = 0, g % 3 = 1)
FROM generate_series(1, 5000) g;
RESET analytics.sequence_max_steps;
SELECT analytics.sequence_count('(?1).*(?1).*(?2)', to_timestamp(g), g % 3 = 0, g % 3 = 1)
FROM generate_series(1, 5000) g;
-- strict_once keeps every chain of rows at one instant; a pathological
-- instant (200 rows each satisfying all three steps) stops with an error.
SELECT analytics.window_funnel('1 day', 'strict_once', '2026-01-01'::timestamptz, true, true, true)
FROM generate_series(1, 200);
SELECT analytics.window_funnel('1 day', 'strict_once', '2026-01-01'::timestamptz, true, true, true)
FROM generate_series(1, 20);
-- funnel_report holds every matching row; its memory is bounded too.
SET analytics.max_aggregate_memory = '1MB';
\set VERBOSITY terse
SELECT analytics.funnel_report(g % 50000, '2026-01-01'::timestamptz + g * interval '1 s', '1 day', true)
FROM generate_series(1, 100000) g;
\set VERBOSITY default
RESET analytics.max_aggregate_memory;
SELECT analytics.funnel_report(uid, ts, '0 s', ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, NULL, ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"exclusions": [2, 1]}', ev = 'view', ev = 'cart') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"exclusions": [3, 1, 2]}', ev = 'view', ev = 'cart') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"exclusions": [2, 1, 2]}', ev = 'view', ev = 'cart') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"exclusions": [1, 1, 2]}', ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"mode": "fast"}', ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', '{"window": 3}', ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, '1 day', 'not json', ev = 'view') FROM fr;
SELECT analytics.funnel_report(uid, ts, CASE WHEN uid = 3 THEN interval '2 days' ELSE interval '1 day' END, ev = 'view') FROM fr;
SELECT analytics.funnel_report(point(uid, 0), ts, '1 day', ev = 'view') FROM fr;
