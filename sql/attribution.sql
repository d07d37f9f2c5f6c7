-- Rule-based attribution: touch_credit, attribution_report,
-- attribution_by_conversion, heuristic_attribution, path_transform.
-- Every figure was computed independently by
-- test/reference/attribution_reference.py (the touch_credit and heuristic
-- cases by hand, in the comments).
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never

CREATE TABLE tp (user_id int, channel text, occurred_at timestamptz, stage text);
INSERT INTO tp VALUES
  (1, 'search',   '2026-01-01 10:00', NULL),
  (1, 'referral', '2026-01-03 10:00', NULL),
  (1, 'email',    '2026-01-05 10:00', 'lead'),
  (1, 'direct',   '2026-01-09 10:00', 'opportunity'),
  (1, 'video',    '2026-02-15 10:00', NULL),
  (2, 'social',   '2026-01-01 10:00', NULL),
  (2, 'display',  '2026-01-20 10:00', NULL),
  (2, 'email',    '2026-01-26 10:00', NULL),   -- after c2: not on its path
  (4, 'direct',   '2026-01-02 10:00', NULL),
  (4, 'direct',   '2026-01-03 10:00', NULL),
  (5, 'search',   '2026-01-02 10:00', NULL);   -- never converts
CREATE TABLE cv (conversion_id text, user_id int, occurred_at timestamptz, revenue numeric);
INSERT INTO cv VALUES
  ('c1', 1, '2026-01-10 10:00', 100),
  ('c2', 2, '2026-01-25 10:00', 50),
  ('c3', 3, '2026-01-05 10:00', 30),         -- no touches: (none)
  ('c4', 4, '2026-01-04 10:00', 20),
  ('c5', 1, '2026-02-20 10:00', 40);

-- One line per channel: channel | conversions | revenue | share.
CREATE FUNCTION pg_temp.report(model text, lookback interval DEFAULT '30 days', options jsonb DEFAULT NULL)
RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%-9s | %s | %s | %s', channel, round(conversions::numeric, 6),
                round(revenue::numeric, 6), round(share::numeric, 6))
  FROM analytics.attribution_report(model, 'tp', 'cv', lookback, options)
$$;

-- Path of c1 (30-day lookback): search, referral, email (lead), direct (opportunity).
SELECT pg_temp.report('first_touch') AS first_touch;
SELECT pg_temp.report('last_touch') AS last_touch;
SELECT pg_temp.report('last_non_direct') AS last_non_direct;
SELECT pg_temp.report('linear') AS linear;
SELECT pg_temp.report('time_decay') AS time_decay;
SELECT pg_temp.report('time_decay', options => '{"half_life": 1}') AS time_decay_1d;
SELECT pg_temp.report('time_decay', options => '{"half_life": "24 hours"}') AS time_decay_24h;
SELECT pg_temp.report('position_based') AS position_based;
SELECT pg_temp.report('position_based', options => '{"weights": {"first": 0.3, "middle": 0.6, "last": 0.1}}')
  AS position_based_30_60_10;
SELECT pg_temp.report('w_shaped', options => '{"touchpoint_columns": {"milestone": "stage"}}') AS w_shaped;
SELECT pg_temp.report('custom', options => '{"weights": [0.5, 0.3, 0.2]}') AS custom;
-- The lookback decides which touches belong to a conversion.
SELECT pg_temp.report('linear', '10 days') AS linear_10_days;
SELECT pg_temp.report('linear', NULL) AS linear_unlimited;

-- Per conversion: the credits of each conversion sum to 1, revenue splits
-- sum to its revenue.
SELECT format('%s | %-9s | %s | %s | %s', conversion_id, channel, touches,
              round(credit::numeric, 6), round(revenue_credit::numeric, 6)) AS by_conversion
FROM analytics.attribution_by_conversion('time_decay', 'tp', 'cv')
ORDER BY conversion_id, channel;
SELECT conversion_id, round(sum(credit)::numeric, 12) AS credit,
       round(sum(revenue_credit)::numeric, 9) = round(min(revenue)::numeric, 9) AS revenue_adds_up
FROM analytics.attribution_by_conversion('position_based', 'tp', 'cv')
GROUP BY 1 ORDER BY 1;

-- The same splits from touch_credit, grouped by conversion.  c1 by
-- time_decay, per touch: ages 9, 7, 5 and 1 days, weights 2^(-age/7)
-- relative to the newest touch.
SELECT c.conversion_id,
       (SELECT string_agg(format('%s %s', (x).channel, round((x).credit::numeric, 6)), ', ')
        FROM unnest(analytics.touch_credit('time_decay', t.channel, t.occurred_at, c.occurred_at,
                                           '{"per_touch": true}')) AS x) AS per_touch
FROM cv c JOIN tp t ON t.user_id = c.user_id
WHERE c.conversion_id IN ('c1', 'c4')
GROUP BY c.conversion_id ORDER BY 1;
-- Per channel (default): c4's two direct touches add up to one channel.
SELECT c.conversion_id, analytics.touch_credit('linear', t.channel, t.occurred_at, c.occurred_at) AS credit
FROM cv c JOIN tp t ON t.user_id = c.user_id
WHERE c.conversion_id IN ('c2', 'c4')
GROUP BY c.conversion_id ORDER BY 1;
-- w_shaped with per-touch milestones: first 0.3, lead 0.3, opportunity 0.3,
-- the 0.1 rest on the one other touch (referral).
SELECT analytics.touch_credit('w_shaped', channel, occurred_at, '2026-01-10 10:00', NULL, stage)
FROM tp WHERE user_id = 1 AND occurred_at < '2026-01-10';
-- last_non_direct with another direct channel name.
SELECT analytics.touch_credit('last_non_direct', channel, occurred_at, '2026-01-10 10:00',
                              '{"direct": "email"}')
FROM tp WHERE user_id = 1 AND occurred_at < '2026-01-10';
-- Ties keep input order: the last of two simultaneous touches is the one
-- that came last.
SELECT analytics.touch_credit('last_touch', ch, '2026-01-01', '2026-01-02' ORDER BY n) AS a_then_b,
       analytics.touch_credit('last_touch', ch, '2026-01-01', '2026-01-02' ORDER BY n DESC) AS b_then_a
FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, ch);
-- A conversion whose touches all come after it has nothing to credit.
SELECT analytics.touch_credit('linear', 'search', '2026-01-02', '2026-01-01') IS NULL AS nothing;

-- On the demo data, every conversion's credits sum to 1 within 1e-9 under
-- every rule model.
CREATE TEMP TABLE demo_paths AS
SELECT c.conversion_id, c.occurred_at AS converted_at, t.channel, t.occurred_at AS touched_at,
       CASE WHEN t.interaction = 'click' AND t.channel = 'email' THEN 'lead' END AS stage
FROM analytics.demo_conversions(0.05, 11) c
JOIN analytics.demo_touchpoints(0.05, 11) t
  ON t.user_id = c.user_id AND t.occurred_at <= c.occurred_at
 AND t.occurred_at > c.occurred_at - interval '30 days';
SELECT m AS model, count(*) > 500 AS conversions,
       max(abs(s - 1)) < 1e-9 AS credits_sum_to_one
FROM (SELECT m, conversion_id,
             (SELECT sum((x).credit) FROM unnest(
                analytics.touch_credit(m, channel, touched_at, converted_at,
                                       CASE m WHEN 'custom' THEN '{"weights": [3, 1, 2]}'::jsonb END,
                                       CASE m WHEN 'w_shaped' THEN stage END)) x) AS s
      FROM demo_paths,
           unnest(ARRAY['first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay',
                        'position_based', 'w_shaped', 'custom']) AS m
      GROUP BY m, conversion_id) q
GROUP BY m ORDER BY m;

-- Column names and relations are quoted identifiers; any column can be mapped.
CREATE TABLE "Touch Points" ("Who" bigint, "Source" varchar, "When" timestamp);
INSERT INTO "Touch Points" SELECT user_id, channel, occurred_at FROM tp;
CREATE TABLE "Sales" ("Order" int, "Who" bigint, "At" date, "Amount" float8);
INSERT INTO "Sales" VALUES (1, 1, '2026-01-10', 10), (2, 2, '2026-01-25', NULL);
SELECT channel, conversions, revenue, share
FROM analytics.attribution_report('last_touch', '"Touch Points"', '"Sales"', '30 days',
  '{"touchpoint_columns": {"user_id": "Who", "channel": "Source", "occurred_at": "When"},
    "conversion_columns": {"conversion_id": "Order", "user_id": "Who", "occurred_at": "At",
                           "revenue": "Amount"}}')
ORDER BY channel;
-- A conversions table without revenue: map revenue to null.
SELECT channel, conversions, revenue
FROM analytics.attribution_report('first_touch', '"Touch Points"', '"Sales"', '30 days',
  '{"touchpoint_columns": {"user_id": "Who", "channel": "Source", "occurred_at": "When"},
    "conversion_columns": {"conversion_id": "Order", "user_id": "Who", "occurred_at": "At",
                           "revenue": null}}')
ORDER BY channel;
-- Users of another type than the touchpoints' are cast to it.
CREATE TABLE cv_text AS SELECT conversion_id, user_id::text AS user_id, occurred_at, revenue FROM cv;
SELECT channel, conversions FROM analytics.attribution_report('last_touch', 'tp', 'cv_text')
ORDER BY channel;

-- heuristic_attribution over path summaries (ChannelAttribution's shape).
-- Paths: search>email 3 conversions (value 300), email 1 (50),
-- social>search>email 2 (100), display 0.
CREATE TEMP TABLE paths (path text[], conversions float8, value float8);
INSERT INTO paths VALUES ('{search,email}', 3, 300), ('{email}', 1, 50),
                         ('{social,search,email}', 2, 100), ('{display}', 0, 0);
-- first_touch: search 3 (300), email 1 (50), social 2 (100); display, on no
-- path with conversions, is not listed.
SELECT (x).channel, (x).conversions, (x).value
FROM (SELECT unnest(analytics.heuristic_attribution(path, conversions, value, 'first_touch')) x FROM paths) s;
-- linear: search 3/2 + 2/3, email 3/2 + 1 + 2/3, social 2/3;
-- value: search 150 + 100/3, email 150 + 50 + 100/3, social 100/3.
SELECT (x).channel, round((x).conversions::numeric, 6) AS conversions, round((x).value::numeric, 6) AS value
FROM (SELECT unnest(analytics.heuristic_attribution(path, conversions, value, 'linear')) x FROM paths) s;
-- position_based: 50/50 on two touches, 40/20/40 on three:
-- search 1.5 + 0.4, email 1.5 + 1 + 0.8, social 0.8.
SELECT (x).channel, round((x).conversions::numeric, 6) AS conversions, round((x).value::numeric, 6) AS value
FROM (SELECT unnest(analytics.heuristic_attribution(path, conversions, value, 'position_based')) x FROM paths) s;
-- w_shaped with the lead at position 2 (no opportunity):
--   {search,email}: search first 0.3, email lead 0.3; no other touch, so the
--     pool (0.1 rest + 0.3 missing opportunity) splits over both: 0.5 each;
--   {email}: no lead (position 2 > 1): everything to the only touch;
--   {social,search,email}: social 0.3, search 0.3, email the pool 0.4.
-- search 3*0.5 + 2*0.3 = 2.1, email 1.5 + 1 + 0.8 = 3.3, social 0.6.
SELECT (x).channel, round((x).conversions::numeric, 6) AS conversions
FROM (SELECT unnest(analytics.heuristic_attribution(path, conversions, value, 'w_shaped',
                                                    '{"lead_position": 2}')) x FROM paths) s;
-- The same through a stored summary.
SELECT (x).channel, round((x).conversions::numeric, 6) AS conversions
FROM unnest(analytics.heuristic_attribution(
       (SELECT analytics.path_summary(path, conversions, 0, value) FROM paths), 'linear')) x;

-- path_transform (Snowplow's examples).
SELECT t, analytics.path_transform('{D,A,B,B,C,D,C,C}', t) AS path
FROM unnest(ARRAY['unique', 'exposure', 'first', 'frequency']) t;
SELECT analytics.path_transform('{A,B,A,A}', 'remove_if_not_all', 'A') AS remove_if_not_all,
       analytics.path_transform('{A,A}', 'remove_if_not_all', 'A') AS all_a,
       analytics.path_transform('{A,B,A,A}', 'remove_if_last_and_not_all', 'A') AS remove_if_last,
       analytics.path_transform('{A,A,A}', 'remove_if_last_and_not_all', 'A') AS all_a_last,
       analytics.path_transform('{a,b,c,d,e}', 'trim_long', NULL, 3) AS trim_long,
       analytics.path_transform('{a,b}', 'trim_long', NULL, 3) AS short,
       analytics.path_transform('{}', 'exposure') AS empty,
       analytics.path_transform(NULL, 'exposure') AS null_path;

-- Bad input: clear errors.
SELECT * FROM analytics.attribution_report('linaer', 'tp', 'cv');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '{"half_life": 3}');
SELECT * FROM analytics.attribution_report('time_decay', 'tp', 'cv', '30 days', '{"halflife": 3}');
SELECT * FROM analytics.attribution_report('time_decay', 'tp', 'cv', '30 days', '{"half_life": -3}');
SELECT * FROM analytics.attribution_report('time_decay', 'tp', 'cv', '30 days', '{"half_life": "soon"}');
SELECT * FROM analytics.attribution_report('position_based', 'tp', 'cv', '30 days', '{"weights": [0.5, 0.5, 0.5]}');
SELECT * FROM analytics.attribution_report('position_based', 'tp', 'cv', '30 days', '{"weights": [0.5, 0.5]}');
SELECT * FROM analytics.attribution_report('position_based', 'tp', 'cv', '30 days', '{"weights": {"first": 0.5, "final": 0.5}}');
SELECT * FROM analytics.attribution_report('custom', 'tp', 'cv');
SELECT * FROM analytics.attribution_report('custom', 'tp', 'cv', '30 days', '{"weights": [0, 0]}');
SELECT * FROM analytics.attribution_report('custom', 'tp', 'cv', '30 days', '{"weights": [1], "anchor": "middle"}');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '[1, 2]');
SELECT * FROM analytics.attribution_report('w_shaped', 'tp', 'cv');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '{"touchpoint_columns": {"milestone": "stage"}}');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '0 days');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '-1 day');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '{"touchpoint_columns": {"channel": "medium"}}');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '{"touchpoint_columns": {"user": "x"}}');
SELECT * FROM analytics.attribution_report(NULL, 'tp', 'cv');
SELECT * FROM analytics.attribution_report('linear', 'no_such_table', 'cv');
INSERT INTO tp VALUES (1, NULL, '2026-01-08', NULL);
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv');
DELETE FROM tp WHERE channel IS NULL;
INSERT INTO tp VALUES (1, 'search', NULL, NULL);
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv');
DELETE FROM tp WHERE occurred_at IS NULL;
INSERT INTO cv VALUES ('c9', 1, NULL, 10);
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv');
UPDATE cv SET occurred_at = '2026-01-10', revenue = 'NaN' WHERE conversion_id = 'c9';
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv');
DELETE FROM cv WHERE conversion_id = 'c9';
-- Rows without a user cannot be matched and are left out (c8 is not counted).
INSERT INTO cv VALUES ('c8', NULL, '2026-01-10', 10);
INSERT INTO tp VALUES (NULL, 'search', '2026-01-09', NULL);
SELECT sum(conversions) AS conversions FROM analytics.attribution_report('linear', 'tp', 'cv');
DELETE FROM cv WHERE user_id IS NULL;
DELETE FROM tp WHERE user_id IS NULL;
SELECT * FROM analytics.attribution_report('linear', NULL, 'cv');
SELECT * FROM analytics.attribution_report('linear', 'tp', 'cv', '30 days', '{"conversion_columns": {"revenue": "amount"}}');
SELECT analytics.touch_credit('linear', NULL, '2026-01-01', '2026-01-02');
SELECT analytics.touch_credit('linear', 'a', NULL, '2026-01-02');
SELECT analytics.touch_credit('linear', 'a', '2026-01-01', NULL);
SELECT analytics.touch_credit('w_shaped', 'a', '2026-01-01', '2026-01-02');
SELECT analytics.touch_credit('linear', 'a', '2026-01-01', '2026-01-02', NULL, 'lead');
SELECT analytics.touch_credit('w_shaped', 'a', '2026-01-01', '2026-01-02', NULL, 'deal');
SELECT analytics.touch_credit('linear', ch, '2026-01-01', c)
FROM (VALUES ('a', '2026-01-02'::timestamptz), ('b', '2026-01-03')) v(ch, c);
SELECT analytics.touch_credit(m, 'a', '2026-01-01', '2026-01-02')
FROM (VALUES ('linear'), ('first_touch')) v(m);
SELECT analytics.touch_credit('linear', 'a', '2026-01-01', '2026-01-02', '{"per_touch": "yes"}');
SELECT analytics.touch_credit('markov', 'a', '2026-01-01', '2026-01-02');
SELECT analytics.heuristic_attribution(path, conversions, value, 'time_decay') FROM paths;
SELECT analytics.heuristic_attribution(path, conversions, value, 'linear', '{"per_touch": true}') FROM paths;
SELECT analytics.heuristic_attribution(ARRAY[]::text[], 1, 1, 'linear');
SELECT analytics.heuristic_attribution('{a,NULL}', 1, 1, 'linear');
SELECT analytics.heuristic_attribution('{a}', 'NaN', 1, 'linear');
SELECT analytics.heuristic_attribution('{a}', -1, 1, 'linear');
SELECT analytics.heuristic_attribution('{{a},{b}}', 1, 1, 'linear');
SELECT analytics.path_transform('{a}', 'reverse');
SELECT analytics.path_transform('{a}', 'remove_if_not_all');
SELECT analytics.path_transform('{a}', 'exposure', 'a');
SELECT analytics.path_transform('{a}', 'trim_long');
SELECT analytics.path_transform('{a}', 'trim_long', NULL, 0);
SELECT analytics.path_transform('{a,NULL}', 'first');
