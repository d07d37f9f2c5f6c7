-- The demo dataset generator: bad input, sizes, the campaign calendar,
-- determinism, the tables generate_demo_data() builds, and their integrity.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- Bad input is an error with a hint, never a crash or an empty result.
SELECT count(*) FROM analytics.demo_events(-1, 42);
SELECT count(*) FROM analytics.demo_events(0, 42);
SELECT count(*) FROM analytics.demo_users('NaN', 42);
SELECT count(*) FROM analytics.demo_users('-Infinity', 42);
SELECT count(*) FROM analytics.demo_sessions(1000.5, 42);
SELECT count(*) FROM analytics.demo_touchpoints(NULL, 42);
SELECT count(*) FROM analytics.demo_conversions(1, NULL);
SELECT count(*) FROM analytics.demo_workspaces(1, NULL);
SELECT * FROM analytics.generate_demo_data(-0.5);
SELECT * FROM analytics.generate_demo_data(0.01, NULL);
SELECT * FROM analytics.generate_demo_data(0.01, 1, NULL);
SELECT * FROM analytics.generate_demo_data(0.01, 1, 'analytics_demo', NULL);
-- The failed calls left nothing behind.
SELECT to_regnamespace('analytics_demo') IS NULL AS nothing_created;

-- Sizes: round(42000 * scale) people and round(12 * sqrt(scale)) workspaces,
-- at least 2.
SELECT count(*) AS people FROM analytics.demo_users(0.01, 1);
SELECT s AS scale, (SELECT count(*) FROM analytics.demo_workspaces(s, 1)) AS workspaces
FROM unnest(ARRAY[0.01, 0.25, 1, 10]::float8[]) AS s ORDER BY s;

-- The campaign calendar (docs/dataset.md).
SELECT * FROM analytics.demo_campaigns() ORDER BY campaign_id;

-- The same (scale, seed) gives the same rows; another seed other rows.
SELECT (SELECT md5(string_agg(e::text, ',' ORDER BY event_id)) FROM analytics.demo_events(0.01, 7) e)
     = (SELECT md5(string_agg(e::text, ',' ORDER BY event_id)) FROM analytics.demo_events(0.01, 7) e)
       AS same_seed_same_rows,
       (SELECT md5(string_agg(e::text, ',' ORDER BY event_id)) FROM analytics.demo_events(0.01, 7) e)
     <> (SELECT md5(string_agg(e::text, ',' ORDER BY event_id)) FROM analytics.demo_events(0.01, 8) e)
       AS other_seed_other_rows;

-- Materialize a small data set into a schema whose name needs quoting.
CREATE TEMP TABLE generated AS
SELECT * FROM analytics.generate_demo_data(0.02, 7, 'demo "t"; x');

SELECT table_name, row_count FROM generated
WHERE table_name IN ('dataset', 'workspaces', 'campaigns', 'users')
ORDER BY table_name;

-- The tables hold exactly the generator functions' rows.
SELECT (SELECT row_count FROM generated WHERE table_name = 'events')
         = (SELECT count(*) FROM analytics.demo_events(0.02, 7)) AS events_complete,
       NOT EXISTS (SELECT * FROM "demo ""t""; x".events
                   EXCEPT ALL SELECT * FROM analytics.demo_events(0.02, 7)) AS events_equal,
       NOT EXISTS (SELECT * FROM "demo ""t""; x".touchpoints
                   EXCEPT ALL SELECT * FROM analytics.demo_touchpoints(0.02, 7)) AS touchpoints_equal,
       (SELECT row_count FROM generated WHERE table_name = 'touchpoints')
         = (SELECT count(*) FROM analytics.demo_touchpoints(0.02, 7)) AS touchpoints_complete,
       (SELECT row_count FROM generated WHERE table_name = 'sessions')
         = (SELECT count(*) FROM analytics.demo_sessions(0.02, 7)) AS sessions_complete,
       (SELECT row_count FROM generated WHERE table_name = 'conversions')
         = (SELECT count(*) FROM analytics.demo_conversions(0.02, 7)) AS conversions_complete;

SELECT scale, seed, generator_version = analytics.version() AS current_generator,
       period_start, period_end
FROM "demo ""t""; x".dataset;

SET search_path = "demo ""t""; x", public;

-- Vocabulary.
SELECT event_type, count(*) > 0 AS present FROM events GROUP BY 1 ORDER BY 1;
SELECT channel, count(*) > 0 AS present FROM touchpoints GROUP BY 1 ORDER BY 1;
SELECT interaction, count(*) > 0 AS present FROM touchpoints GROUP BY 1 ORDER BY 1;

-- Integrity: each query counts violations, so every expected value is 0.
SELECT
  (SELECT count(*) FROM events e LEFT JOIN sessions s USING (session_id)
   WHERE s.user_id IS DISTINCT FROM e.user_id
      OR e.occurred_at NOT BETWEEN s.started_at AND s.ended_at) AS events_outside_their_session,
  (SELECT count(*) FROM sessions s
   LEFT JOIN (SELECT session_id, count(*) AS n FROM events GROUP BY 1) e USING (session_id)
   WHERE e.n IS DISTINCT FROM s.event_count) AS wrong_event_counts,
  (SELECT count(*) FROM events
   WHERE (event_type = 'purchase') <> (revenue IS NOT NULL)) AS misplaced_revenue,
  (SELECT count(*) FROM conversions c LEFT JOIN events e USING (event_id)
   WHERE e.event_type IS DISTINCT FROM 'purchase' OR e.user_id <> c.user_id
      OR e.occurred_at <> c.occurred_at OR e.revenue <> c.revenue
      OR e.session_id <> c.session_id) AS conversions_not_purchases,
  (SELECT count(*) FROM events WHERE event_type = 'purchase')
    - (SELECT count(*) FROM conversions) AS purchases_without_conversion;

SELECT
  (SELECT count(*) FROM users u
   FULL JOIN (SELECT user_id, occurred_at FROM events WHERE event_type = 'signup') s USING (user_id)
   WHERE u.signup_at IS DISTINCT FROM s.occurred_at) AS signup_mismatches,
  (SELECT count(*) FROM users u
   JOIN LATERAL (SELECT channel, started_at FROM sessions s
                 WHERE s.user_id = u.user_id ORDER BY started_at LIMIT 1) f ON true
   WHERE f.channel <> u.acquisition_channel
      OR f.started_at <> u.first_seen_at) AS wrong_first_sessions,
  (SELECT count(*) FROM sessions s
   WHERE (SELECT count(*) FROM touchpoints t WHERE t.session_id = s.session_id) <> 1)
    AS sessions_without_one_touch,
  (SELECT count(*) FROM touchpoints t JOIN sessions s USING (session_id)
   WHERE t.occurred_at <> s.started_at OR t.channel <> s.channel
      OR t.campaign_id IS DISTINCT FROM s.campaign_id) AS touches_unlike_their_session,
  (SELECT count(*) FROM touchpoints t LEFT JOIN campaigns c USING (campaign_id)
   WHERE (t.channel = 'direct') <> (t.campaign_id IS NULL)
      OR c.channel <> t.channel
      OR t.occurred_at::date NOT BETWEEN c.starts_on AND c.ends_on) AS touches_off_campaign,
  (SELECT count(*) FROM touchpoints
   WHERE (interaction = 'impression') <> (session_id IS NULL)
      OR (interaction = 'visit') <> (channel = 'direct' AND session_id IS NOT NULL))
    AS wrong_interactions,
  (SELECT count(*) FROM users u LEFT JOIN workspaces w USING (workspace_id)
   WHERE w.workspace_id IS NULL) AS users_without_workspace;

-- Everything happens inside the period, 2026-01-01 to 2026-08-31.
SELECT min(occurred_at) >= '2026-01-01' AND max(occurred_at) < '2026-09-01' AS events_in_period
FROM events;
SELECT min(occurred_at) >= '2026-01-01' AND max(occurred_at) < '2026-09-01' AS touches_in_period
FROM touchpoints;

-- Traffic grows: exp(ln 3 * day / 243) puts 2.6 times as many arrivals in
-- August as in January (docs/dataset.md); with 840 people the ratio's
-- standard error is about 0.4.
SELECT count(*) FILTER (WHERE first_seen_at >= '2026-08-01')
     > 1.5 * count(*) FILTER (WHERE first_seen_at < '2026-02-01') AS grows
FROM users;

RESET search_path;

-- Regenerating needs replace => true.
SELECT * FROM analytics.generate_demo_data(0.02, 7, 'demo "t"; x');
SELECT table_name, row_count
FROM analytics.generate_demo_data(0.01, 3, 'demo "t"; x', replace => true)
WHERE table_name IN ('dataset', 'users');
SELECT scale, seed FROM "demo ""t""; x".dataset;

SET client_min_messages = warning;
DROP SCHEMA "demo ""t""; x" CASCADE;
