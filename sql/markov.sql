-- Exact Markov attribution: removal effects, value, order k, options,
-- transition matrix, order selection, the report.  Every expected number is
-- derived by hand in the comment above its query.
SET timezone = 'UTC';
\set SHOW_CONTEXT never

CREATE FUNCTION pg_temp.credits(c analytics.markov_credit[]) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s | %s | %s | %s | %s', (x).channel, round((x).conversions::numeric, 6),
                round((x).value::numeric, 6), round((x).removal_effect::numeric, 6),
                round((x).value_removal_effect::numeric, 6))
  FROM unnest(c) x
$$;

-- [A,B] 1 conversion (value 10), [A] 1 null, [B] 1 conversion (value 30).
-- start->A 2/3, start->B 1/3, A->B 1/2, A->null 1/2, B->conversion 1.
-- x(B) = 1, x(A) = 1/2, P = 2/3 * 1/2 + 1/3 = 2/3.
-- Without A: P = 1/3, RE_A = 1/2.  Without B: P = 0, RE_B = 1.
-- Conversions 2: A 2 * (1/2) / (3/2) = 2/3, B 4/3.
-- Value: converting from B is worth (10 + 30) / 2 = 20, V = 2/3 * 20 = 40/3;
-- without A 20/3 (VRE 1/2), without B 0 (VRE 1); value 40: A 40/3, B 80/3.
CREATE TEMP TABLE ex1 (path text[], conversions float8, nulls float8, value float8);
INSERT INTO ex1 VALUES ('{A,B}', 1, 0, 10), ('{A}', 0, 1, 0), ('{B}', 1, 0, 30);
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, value)) AS "channel | conversions | value | RE | value RE"
FROM ex1;
-- The same path split over several rows adds up.
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, value)) AS split_rows
FROM (SELECT path, conversions / 2 AS conversions, nulls / 2 AS nulls, value / 2 AS value
      FROM ex1, generate_series(1, 2)) s;
SELECT format('%s -> %s | %s | %s', (t).from_state, (t).to_state, round((t).probability::numeric, 6), (t).weight)
       AS transitions
FROM unnest((SELECT analytics.markov_transition_matrix(path, conversions, nulls) FROM ex1)) t;

-- Order 2 on [A,B,C] 1 conversion, [B,C] 1 null, [A,C] 1 conversion.
-- States (A), (B), (A,B), (A,C), (B,C): start->(A) 2/3, start->(B) 1/3,
-- (A)->(A,B) 1/2, (A)->(A,C) 1/2, (A,B)->(B,C) 1, (B)->(B,C) 1,
-- (B,C)->conversion 1/2, (B,C)->null 1/2, (A,C)->conversion 1.
-- x(B,C) = 1/2, x(A,B) = 1/2, x(A,C) = 1, x(A) = 3/4, x(B) = 1/2, P = 2/3.
-- Without A ((A), (A,B), (A,C) fail): P = 1/3 * 1/2 = 1/6, RE_A = 3/4.
-- Without B: x(A) = 1/2, P = 1/3, RE_B = 1/2.  Without C: P = 0, RE_C = 1.
-- Sum 9/4, 2 conversions: A 2/3, B 4/9, C 8/9.
-- Order 1 on the same paths: x = 2/3 everywhere, RE_A = RE_B = 2/3,
-- RE_C = 1, sum 7/3: A 4/7, B 4/7, C 6/7.
CREATE TEMP TABLE ex2 (path text[], conversions float8, nulls float8);
INSERT INTO ex2 VALUES ('{A,B,C}', 1, 0), ('{B,C}', 0, 1), ('{A,C}', 1, 0);
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, 0, 2)) AS order_2 FROM ex2;
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, 0, 1)) AS order_1 FROM ex2;
SELECT format('%s -> %s | %s', (t).from_state, (t).to_state, round((t).probability::numeric, 6)) AS order_2_transitions
FROM unnest((SELECT analytics.markov_transition_matrix(path, conversions, nulls, 2) FROM ex2)) t;

-- use_nulls: [A] 1 conversion 9 nulls, [B] 1 and 1, [A,B] 1 and 0.
-- With nulls: start->A 11/13, start->B 2/13, A->conversion 1/11,
-- A->null 9/11, A->B 1/11, B->conversion 2/3, B->null 1/3.
-- x(B) = 2/3, x(A) = 5/33, P = 3/13; RE_A = 5/9, RE_B = 2/3;
-- 3 conversions: A 15/11, B 18/11.
-- Converting paths only: start->A 2/3, start->B 1/3, A->conversion 1/2,
-- A->B 1/2, B->conversion 1: P = 1, RE_A = RE_B = 2/3: 1.5 each.
CREATE TEMP TABLE ex3 (path text[], conversions float8, nulls float8);
INSERT INTO ex3 VALUES ('{A}', 1, 9), ('{B}', 1, 1), ('{A,B}', 1, 0);
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, 0, 1)) AS with_nulls FROM ex3;
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, 0, 1, '{"use_nulls": false}')) AS without_nulls
FROM ex3;

-- collapse: [A,A,B] is A > B when collapsed, and has a self-loop A -> A when not.
SELECT format('%s -> %s | %s', (t).from_state, (t).to_state, (t).probability) AS collapsed
FROM unnest((SELECT analytics.markov_transition_matrix('{A,A,B}', 1, 0))) t;
SELECT format('%s -> %s | %s', (t).from_state, (t).to_state, (t).probability) AS not_collapsed
FROM unnest((SELECT analytics.markov_transition_matrix('{A,A,B}', 1, 0, 1, '{"collapse": false}'))) t;

-- Degenerate chains give zeros, never NaN or negative credit.
-- No conversions at all:
SELECT pg_temp.credits(analytics.markov_attribution('{A,B}', 0, 5, 0)) AS no_conversions;
-- One channel gets everything:
SELECT pg_temp.credits(analytics.markov_attribution('{A}', 3, 2, 60)) AS one_channel;
-- A channel only on non-converting paths gets 0:
SELECT pg_temp.credits(analytics.markov_attribution(path, conversions, nulls, 0))
       AS never_converts
FROM (VALUES ('{A}'::text[], 1, 0), ('{B}', 0, 3)) v(path, conversions, nulls);
-- Stored summaries and the function form.
SELECT pg_temp.credits(analytics.markov_attribution(
         (SELECT analytics.path_summary(path, conversions, nulls, 0) FROM ex2), 2)) AS from_summary;

-- Order selection on the demo data: one score per order, one selected (the
-- lowest held-out log loss), and the held-out AUC of every order beats chance.
CREATE TEMP TABLE demo_paths AS
WITH t AS (SELECT user_id, array_agg(channel ORDER BY occurred_at, touchpoint_id) AS path
           FROM analytics.demo_touchpoints(0.2, 5) GROUP BY user_id),
     c AS (SELECT user_id, count(*) AS n FROM analytics.demo_conversions(0.2, 5) GROUP BY user_id)
SELECT t.path, coalesce(c.n, 0)::float8 AS conversions, (c.n IS NULL)::int::float8 AS nulls
FROM t LEFT JOIN c USING (user_id);
SELECT (s)."order", (s).auc > 0.5 AS better_than_chance, (s).log_loss > 0 AS has_log_loss
FROM unnest((SELECT analytics.markov_order_selection(path, conversions, nulls, 3) FROM demo_paths)) s;
SELECT count(*) FILTER (WHERE (s).selected) AS selected
FROM unnest((SELECT analytics.markov_order_selection(path, conversions, nulls, 3) FROM demo_paths)) s;
-- On the demo data the credits add up to the conversions.
SELECT abs(sum((x).conversions) - (SELECT sum(conversions) FROM demo_paths)) < 1e-6 AS adds_up,
       bool_and((x).conversions >= 0 AND (x).removal_effect BETWEEN 0 AND 1) AS in_range
FROM unnest((SELECT analytics.markov_attribution(path, conversions, nulls, 0, 3) FROM demo_paths)) x;

-- attribution_report with markov on the tables of the attribution test:
-- converting paths (30 days) [search,referral,email,direct] (100),
-- [social,display] (50), [direct] (20, collapsed), [video] (40); c3 has no
-- touch; non-converting: user 2's [email] after c2, user 5's [search].
-- start: search 2/6, social, direct, video, email 1/6 each;
-- x(direct) = x(display) = x(social) = x(video) = 1, x(email) = x(referral) = 1/2,
-- x(search) = 1/4: P = (1/2 + 1 + 1 + 1 + 1/2) / 6 = 2/3.
-- RE: search 1/8, referral 1/8, email 1/4, direct 1/2, social, display and
-- video 1/4 each; sum 7/4, 4 conversions: search and referral 2/7, email,
-- social, display, video 4/7, direct 8/7.
-- Value: converting from direct is worth 60, display 50, video 40; V = 35;
-- VRE search and referral 1/7, email 2/7, direct 4/7, social and display
-- 5/21, video 4/21; sum 38/21; 210 of value: search and referral 210*3/38,
-- email 210*6/38, direct 210*12/38, social and display 210*5/38, video 210*4/38.
CREATE TABLE mtp (user_id int, channel text, occurred_at timestamptz);
INSERT INTO mtp VALUES
  (1, 'search', '2026-01-01 10:00'), (1, 'referral', '2026-01-03 10:00'),
  (1, 'email', '2026-01-05 10:00'), (1, 'direct', '2026-01-09 10:00'),
  (1, 'video', '2026-02-15 10:00'), (2, 'social', '2026-01-01 10:00'),
  (2, 'display', '2026-01-20 10:00'), (2, 'email', '2026-01-26 10:00'),
  (4, 'direct', '2026-01-02 10:00'), (4, 'direct', '2026-01-03 10:00'),
  (5, 'search', '2026-01-02 10:00');
CREATE TABLE mcv (conversion_id text, user_id int, occurred_at timestamptz, revenue numeric);
INSERT INTO mcv VALUES ('c1', 1, '2026-01-10 10:00', 100), ('c2', 2, '2026-01-25 10:00', 50),
  ('c3', 3, '2026-01-05 10:00', 30), ('c4', 4, '2026-01-04 10:00', 20), ('c5', 1, '2026-02-20 10:00', 40);
SELECT channel, round(conversions::numeric, 6) AS conversions, round(revenue::numeric, 6) AS revenue,
       round(share::numeric, 6) AS share,
       round(CASE channel WHEN 'search' THEN 2/7.0 WHEN 'referral' THEN 2/7.0 WHEN 'direct' THEN 8/7.0
                          WHEN '(none)' THEN 1 ELSE 4/7.0 END, 6) AS by_hand,
       round(CASE channel WHEN 'search' THEN 630/38.0 WHEN 'referral' THEN 630/38.0
                          WHEN 'email' THEN 1260/38.0 WHEN 'direct' THEN 2520/38.0
                          WHEN 'video' THEN 840/38.0 WHEN '(none)' THEN 30 ELSE 1050/38.0 END, 6) AS revenue_by_hand
FROM analytics.attribution_report('markov', 'mtp', 'mcv')
ORDER BY channel;
-- Per conversion, each conversion splits over its path's channels in
-- proportion to their credit: c1 search 1/8, referral 1/8, email 1/4, direct 1/2.
SELECT conversion_id, channel, touches, round(credit::numeric, 6) AS credit, round(revenue_credit::numeric, 6) AS revenue
FROM analytics.attribution_by_conversion('markov', 'mtp', 'mcv')
ORDER BY conversion_id, channel;
-- shapley (simplified) in the report: each path split over its channels.
SELECT channel, round(conversions::numeric, 6) AS conversions, round(revenue::numeric, 6) AS revenue
FROM analytics.attribution_report('shapley', 'mtp', 'mcv')
ORDER BY channel;

-- Bad input.
SELECT analytics.markov_attribution('{a}', 1, 0, 0, 0);
SELECT analytics.markov_attribution('{a}', 1, 0, 0, 17);
SELECT analytics.markov_attribution('{a}', 1, 0, 0, NULL);
SELECT analytics.markov_attribution('{a}', 1, 0, 0, 1, '{"nulls": false}');
SELECT analytics.markov_attribution('{a}', 1, 0, 0, 1, '{"folds": 3}');
SELECT analytics.markov_attribution('{a}', 1, 0, 0, 1, '{"use_nulls": 1}');
SELECT analytics.markov_attribution(path, conversions, nulls, 0, 3, '{"max_states": 4}') FROM ex2;
SELECT analytics.markov_attribution('{}', 1, 0, 0);
SELECT analytics.markov_attribution('{a}', 1, -1, 0);
SELECT analytics.markov_attribution('{a}', 1, NULL, 0);
SELECT analytics.markov_attribution(ARRAY['a'], 1, 0, 0, o) FROM generate_series(1, 2) o;
SELECT analytics.markov_order_selection('{a}', 1, 0);
SELECT analytics.markov_order_selection(path, conversions, nulls, 3, '{"folds": 1}') FROM ex2;
SELECT * FROM analytics.attribution_report('markov', 'mtp', 'mcv', '30 days', '{"order": 0}');
SELECT * FROM analytics.attribution_report('shapley', 'mtp', 'mcv', '30 days', '{"method": "fair"}');
SELECT * FROM analytics.attribution_report('shapley', 'mtp', 'mcv', '30 days', '{"order": 2}');
