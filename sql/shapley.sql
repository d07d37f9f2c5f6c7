-- Shapley attribution: simplified, ordered and standard; every expected
-- value is derived by hand in the comment above its query.
\set SHOW_CONTEXT never

-- Summaries: [A,B,A] 2 conversions (value 100), [B] 1 (30), [C,A] 0 with 5
-- non-converting journeys.
CREATE TEMP TABLE s1 (path text[], conversions float8, nulls float8, value float8);
INSERT INTO s1 VALUES ('{A,B,A}', 2, 0, 100), ('{B}', 1, 0, 30), ('{C,A}', 0, 5, 0);
-- simplified: each converting path split over its distinct channels:
-- A = 2/2 = 1 (value 50), B = 2/2 + 1 = 2 (50 + 30 = 80), C = 0.
SELECT (x).* FROM (SELECT unnest(analytics.shapley_attribution(path, conversions, nulls, value, 'simplified')) x FROM s1) s;
-- ordered: positions are the order of first touch: [A,B,A] gives A
-- position 1 and B position 2 one conversion each, [B] gives B position 1.
SELECT (x).* FROM (SELECT unnest(analytics.shapley_attribution(path, conversions, nulls, value, 'ordered')) x FROM s1) s;

-- standard, two channels.  Journeys {A}: 1 conversion 1 null (value 10);
-- {B}: 1 and 3 (20); {A,B}: 2 and 0 (60).
-- v(A) = 1/2, v(B) = 1/4, v(AB) = 4/8 = 1/2.
-- phi_A = 1/2 (1/2 - 0) + 1/2 (1/2 - 1/4) = 3/8; phi_B = 1/2 (1/4) + 0 = 1/8;
-- scaled to the 4 conversions (x 8): A 3, B 1.
-- Value game: v(A) = 10/2 = 5, v(B) = 20/4 = 5, v(AB) = 90/8 = 11.25:
-- phi_A = phi_B = 1/2 (5) + 1/2 (11.25 - 5) = 5.625; scaled to 90: 45 each.
SELECT (x).channel, round((x).conversions::numeric, 9) AS conversions, round((x).value::numeric, 9) AS value
FROM (SELECT unnest(analytics.shapley_attribution(path, conversions, nulls, value, 'standard')) x
      FROM (VALUES ('{A}'::text[], 1, 1, 10), ('{B}', 1, 3, 20), ('{B,A}', 2, 0, 60)) v(path, conversions, nulls, value)) s;

-- standard, three channels, one with negative credit.  Journeys (4 each):
-- {A} 3 conversions, {B} 1, {C} 0, {A,C} 1.  v(S) = conversions / journeys
-- of the journeys inside S: v(A) = 3/4, v(B) = 1/4, v(C) = 0, v(AB) = 1/2,
-- v(AC) = 4/12 = 1/3, v(BC) = 1/8, v(ABC) = 5/16.  With weights 1/3, 1/6, 1/3:
-- phi_A = 1/4 + 1/24 + 1/18 + 1/16 = 59/144
-- phi_B = 1/12 - 1/24 + 1/48 - 1/144 = 8/144
-- phi_C = -5/72 - 1/48 - 1/16 = -22/144       (sum 45/144 = 5/16 = v(ABC))
-- Scaled to the 5 conversions (x 16): A 59/9, B 8/9, C -22/9.
SELECT (x).channel, round((x).conversions::numeric, 9) AS conversions,
       round(59 / 9.0, 9) AS a, round(8 / 9.0, 9) AS b, round(-22 / 9.0, 9) AS c
FROM (SELECT unnest(analytics.shapley_attribution(path, conversions, nulls, 0, 'standard')) x
      FROM (VALUES ('{A}'::text[], 3, 1), ('{B}', 1, 3), ('{C}', 0, 4), ('{A,C}', 1, 3)) v(path, conversions, nulls)) s;

-- One row per journey: [A,B] converted (10), [A] did not, [B] converted (20).
-- simplified: A 1/2 (5), B 1/2 + 1 (5 + 20).
-- standard: v(A) = 0/1, v(B) = 1/1, v(AB) = 2/3; phi_A = 1/2 (2/3 - 1) = -1/6,
-- phi_B = 1/2 + 1/2 (2/3) = 5/6; x 3 for 2 conversions: A -0.5, B 2.5.
-- Value game: v(A) = 0, v(B) = 20, v(AB) = 10: phi_A = -5, phi_B = 15; x 3: -15, 45.
CREATE TEMP TABLE journeys (path text[], converted float8, revenue float8);
INSERT INTO journeys VALUES ('{A,B}', 1, 10), ('{A}', 0, NULL), ('{B}', 1, 20);
SELECT (x).* FROM (SELECT unnest(analytics.shapley_attribution(path, converted, revenue)) x FROM journeys) s;
SELECT (x).channel, round((x).conversions::numeric, 9) AS conversions, round((x).value::numeric, 9) AS value
FROM (SELECT unnest(analytics.shapley_attribution(path, converted, revenue, 'standard')) x FROM journeys) s;
-- The function form on a stored summary gives the same.
SELECT (x).channel, round((x).conversions::numeric, 9) AS conversions
FROM unnest(analytics.shapley_attribution(
       (SELECT analytics.path_summary(path, converted, 1 - converted, revenue) FROM journeys), 'standard')) x;

-- Efficiency on the demo data: standard and simplified both hand out
-- exactly the conversions and the value.
CREATE TEMP TABLE demo_journeys AS
SELECT t.user_id, array_agg(t.channel ORDER BY t.occurred_at, t.touchpoint_id) AS path,
       (SELECT count(*) FROM analytics.demo_conversions(0.05, 3) c WHERE c.user_id = t.user_id) AS conversions,
       (SELECT coalesce(sum(revenue), 0) FROM analytics.demo_conversions(0.05, 3) c WHERE c.user_id = t.user_id) AS revenue
FROM analytics.demo_touchpoints(0.05, 3) t GROUP BY t.user_id;
SELECT m AS method,
       abs(sum((x).conversions) - (SELECT sum(conversions) FROM demo_journeys)) < 1e-6 AS conversions_add_up,
       abs(sum((x).value) - (SELECT sum(revenue) FROM demo_journeys)) < 1e-6 AS value_adds_up,
       count(DISTINCT (x).channel) AS channels
FROM unnest(ARRAY['simplified', 'ordered', 'standard']) m,
     LATERAL unnest((SELECT analytics.shapley_attribution(path, conversions, 0, revenue::float8, m) FROM demo_journeys)) x
GROUP BY m ORDER BY m;

-- Bad input.
SELECT analytics.shapley_attribution(ARRAY['c' || g], 1, 1, 0, 'standard') FROM generate_series(1, 25) g;
SELECT count(*) FROM unnest((SELECT analytics.shapley_attribution(ARRAY['c' || g], 1, 1, 0, 'standard')
                             FROM generate_series(1, 24) g));
SELECT analytics.shapley_attribution('{a}', 1, 0, 'exact');
SELECT analytics.shapley_attribution('{a}', 1, 0, NULL);
SELECT analytics.shapley_attribution('{}', 1, 0);
SELECT analytics.shapley_attribution('{a,NULL}', 1, 0);
SELECT analytics.shapley_attribution('{a}', -2, 0);
SELECT analytics.shapley_attribution('{a}', 'Infinity', 0);
SELECT analytics.shapley_attribution('{a}', 1, 'NaN');
SELECT analytics.shapley_attribution('{a}', NULL, 0);
SELECT analytics.shapley_attribution('{a}', 1, NULL, 0, 'simplified');
SELECT analytics.shapley_attribution(m, 1, 0, 0, m[1]) FROM (VALUES ('{simplified}'::text[]), ('{ordered}')) v(m);
