-- quantile_score, rfm_segment, rfm_scores, behavioral_segments,
-- behavioral_segment_profiles: hand-derived fixtures, a cross-check against
-- plain SQL on the demo data, errors.
CREATE SCHEMA t_rfm;
SET search_path = t_rfm;

-- ---------------------------------------------------------------------------
-- quantile_score: 10 values, 5 buckets: score = 1 + floor(5 * below / 10).
-- below: 1:0 2:1 2:1 3:3 4:4 5:5 6:6 7:7 8:8 9:9
--   -> 1 1 1 2 3 3 4 4 5 5
-- reverse counts the values above: 1:9 2:7 2:7 3:6 4:5 5:4 6:3 7:2 8:1 9:0
--   -> 5 4 4 4 3 3 2 2 1 1
-- NULL scores NULL and is not counted.
CREATE TABLE vals (g int, v float8);
INSERT INTO vals VALUES (1, 1), (1, 2), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8),
                        (1, 9), (1, NULL), (2, 42), (2, 42), (2, 7);
SELECT g, v, analytics.quantile_score(v) OVER w AS score,
       analytics.quantile_score(v, 5, true) OVER w AS reverse_score,
       analytics.quantile_score(v, 2) OVER w AS halves
FROM vals WINDOW w AS (PARTITION BY g ORDER BY v) ORDER BY g, v;

-- ---------------------------------------------------------------------------
-- rfm_segment: every one of the 125 score combinations has exactly one of
-- the 11 segments, and every segment occurs.
SELECT count(*) AS combinations, count(DISTINCT analytics.rfm_segment(r, f, m)) AS segments,
       count(analytics.rfm_segment(r, f, m)) AS named
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
SELECT analytics.rfm_segment(r, f, m) AS segment, count(*) AS combinations
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m
GROUP BY 1 ORDER BY 1;
-- the corners and the documented table: FM = floor((F + M + 1) / 2)
SELECT r, f, m, analytics.rfm_segment(r, f, m)
FROM (VALUES (5, 5, 5), (1, 1, 1), (5, 1, 1), (4, 1, 1), (1, 5, 5), (2, 5, 4), (3, 3, 3),
             (3, 1, 2), (2, 3, 3), (2, 1, 1), (3, 5, 4), (5, 3, 2), (4, 4, 3)) v(r, f, m)
ORDER BY r DESC, f DESC, m DESC;

-- ---------------------------------------------------------------------------
-- rfm_scores on a hand-made orders table.  F's only row has no amount, so
-- F is not a customer.  as_of = the latest order, 2026-03-21 (D).
--   customer  last order  recency  frequency  monetary
--   A         03-20        1       3           60
--   B         03-15        6       1          100
--   C         02-02       47       2           10
--   D         03-21        0       1            1
--   E         01-04       76       4          200
-- 5 customers, score = 1 + (values below), reverse for recency:
--   R: D 5, A 4, B 3, C 2, E 1
--   F: B and D 1 (none below), C 3, A 4, E 5
--   M: D 1, C 2, A 3, B 4, E 5
-- FM = floor((F + M + 1) / 2): A 4, B 3, C 3, D 1, E 5 ->
--   A (4, 4) Champions, B (3, 3) Need Attention, C (2, 3) At Risk,
--   D (5, 1) New Customers, E (1, 5) Can't Lose Them.
CREATE TABLE orders (customer text, at timestamptz, amount numeric);
INSERT INTO orders VALUES
    ('A', '2026-03-01 00:00+00', 10), ('A', '2026-03-10 00:00+00', 20), ('A', '2026-03-20 00:00+00', 30),
    ('B', '2026-03-15 00:00+00', 100),
    ('C', '2026-02-01 00:00+00', 5), ('C', '2026-02-02 00:00+00', 5),
    ('D', '2026-03-21 00:00+00', 1),
    ('E', '2026-01-01 00:00+00', 50), ('E', '2026-01-02 00:00+00', 50),
    ('E', '2026-01-03 00:00+00', 50), ('E', '2026-01-04 00:00+00', 50),
    ('F', '2026-03-25 00:00+00', NULL);
SELECT * FROM analytics.rfm_scores('orders',
    '{"actor_column": "customer", "time_column": "at", "value_column": "amount"}')
ORDER BY actor;
-- a later as_of adds 11 days to every recency and changes no score
SELECT actor, recency_days, rfm FROM analytics.rfm_scores('orders',
    '{"actor_column": "customer", "time_column": "at", "value_column": "amount", "as_of": "2026-04-01 00:00+00"}')
ORDER BY actor;

-- ---------------------------------------------------------------------------
-- On the demo data: every purchaser once, frequency and monetary as plain
-- SQL computes them, and the scores spread over 1..5.
SELECT count(*) AS tables FROM analytics.generate_demo_data(0.02, 11, 'rfm_demo');
CREATE TABLE demo_rfm AS SELECT * FROM analytics.rfm_scores('rfm_demo.events');
SELECT count(*) AS customers, count(DISTINCT actor) AS distinct_customers,
       (SELECT count(DISTINCT user_id) FROM rfm_demo.events WHERE revenue IS NOT NULL) AS purchasers
FROM demo_rfm;
SELECT count(*) AS mismatches
FROM demo_rfm d FULL JOIN (SELECT user_id::text AS actor, count(*) AS frequency, sum(revenue)::float8 AS monetary
                           FROM rfm_demo.events WHERE revenue IS NOT NULL GROUP BY user_id) p USING (actor)
WHERE d.frequency IS DISTINCT FROM p.frequency OR abs(d.monetary - p.monetary) > 1e-6
   OR d.monetary IS NULL OR p.monetary IS NULL;
SELECT min(r) AS min_r, max(r) AS max_r, max(f) AS max_f, min(m) AS min_m, max(m) AS max_m,
       count(*) FILTER (WHERE segment <> analytics.rfm_segment(r, f, m)) AS wrong_segments
FROM demo_rfm;
-- the recency score orders customers: a higher r never has a longer recency
SELECT count(*) AS inversions
FROM (SELECT r, min(recency_days) AS lo, max(recency_days) AS hi FROM demo_rfm GROUP BY r) a
JOIN (SELECT r, min(recency_days) AS lo, max(recency_days) AS hi FROM demo_rfm GROUP BY r) b
  ON a.r > b.r AND a.hi > b.lo;

-- ---------------------------------------------------------------------------
-- behavioral_segments: one row per actor, features as plain SQL computes
-- them, clusters as kmeans_assign of the model, distinct named segments.
CREATE TABLE segs AS
SELECT * FROM analytics.behavioral_segments('rfm_demo.events');
SELECT count(*) AS actors, count(DISTINCT actor) AS distinct_actors,
       (SELECT count(DISTINCT user_id) FROM rfm_demo.events) AS expected,
       count(DISTINCT segment) AS segments, count(DISTINCT cluster) AS clusters,
       count(DISTINCT (segment, cluster)) AS pairs
FROM segs;
SELECT count(*) AS feature_mismatches
FROM segs s JOIN (SELECT user_id::text AS actor, count(*) AS events, count(revenue) AS orders,
                         coalesce(sum(revenue), 0)::float8 AS monetary,
                         count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date) AS active_days,
                         extract(epoch FROM max(occurred_at) - min(occurred_at)) / 86400 AS tenure_days
                  FROM rfm_demo.events GROUP BY user_id) p USING (actor)
WHERE s.event_count <> p.events OR s.orders <> p.orders OR abs(s.monetary - p.monetary) > 1e-6
   OR s.active_days <> p.active_days OR abs(s.tenure_days - p.tenure_days) > 1e-9;
-- names follow the profiles: the segment with the highest mean spend is
-- named for buyers, and visitor segments hold no buyers
SELECT (SELECT segment FROM analytics.behavioral_segment_profiles('rfm_demo.events')
        ORDER BY avg_monetary DESC LIMIT 1) IN ('Champions', 'Loyal Customers', 'Occasional Buyers', 'At Risk', 'New Customers')
       AS top_spenders_named_as_buyers,
       (SELECT coalesce(max(buyers_share), 0) FROM analytics.behavioral_segment_profiles('rfm_demo.events')
        WHERE segment IN ('New Visitors', 'Lost Visitors', 'Engaged Browsers')) < 0.5 AS visitors_mostly_not_buyers;
SELECT sum(actors) = (SELECT count(*) FROM segs) AS sizes_add_up, round(sum(share)::numeric, 9) AS shares
FROM analytics.behavioral_segment_profiles('rfm_demo.events');
-- deterministic, with a channel column (sessions have one) and another k
SELECT count(*) = 0 AS same_again
FROM (TABLE segs EXCEPT SELECT * FROM analytics.behavioral_segments('rfm_demo.events')) d;
SELECT count(DISTINCT segment) AS segments, count(DISTINCT top_channel) > 1 AS channels_seen,
       bool_and(channels >= 1) AS channel_counts
FROM analytics.behavioral_segments('rfm_demo.sessions',
    '{"time_column": "started_at", "value_column": "event_count", "channel_column": "channel", "k": 5}');

-- ---------------------------------------------------------------------------
-- Errors.
SELECT analytics.rfm_segment(0, 1, 1);
SELECT analytics.rfm_segment(1, 6, 1);
SELECT analytics.quantile_score(v, 0) OVER () FROM vals;
SELECT analytics.quantile_score(v, NULL) OVER () FROM vals;
SELECT analytics.quantile_score('NaN'::float8) OVER ();
SELECT * FROM analytics.rfm_scores('orders');
SELECT * FROM analytics.rfm_scores('orders', '{"actor_column": "customer", "time_column": "at", "value_column": "amount", "window": 3}');
SELECT * FROM analytics.rfm_scores('orders', '[1]');
SELECT * FROM analytics.rfm_scores('no_such_table');
SELECT * FROM analytics.behavioral_segments('rfm_demo.events', '{"k": 1}');
SELECT * FROM analytics.behavioral_segments('rfm_demo.events', '{"channel_column": "channel"}');
