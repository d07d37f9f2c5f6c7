-- The demo data set: what was generated and the structure the analyses find.
\pset footer off
SET timezone = 'UTC';

\echo '=== Demo data set ==================================================='
SELECT scale, seed, period_start::date AS period_start,
       (period_end - interval '1 day')::date AS period_end
FROM analytics_demo.dataset;

SELECT t AS "table", n AS rows
FROM (VALUES (1, 'workspaces', (SELECT count(*) FROM analytics_demo.workspaces)),
             (2, 'campaigns', (SELECT count(*) FROM analytics_demo.campaigns)),
             (3, 'users', (SELECT count(*) FROM analytics_demo.users)),
             (4, 'sessions', (SELECT count(*) FROM analytics_demo.sessions)),
             (5, 'events', (SELECT count(*) FROM analytics_demo.events)),
             (6, 'touchpoints', (SELECT count(*) FROM analytics_demo.touchpoints)),
             (7, 'conversions', (SELECT count(*) FROM analytics_demo.conversions))) v(i, t, n)
ORDER BY i;

\echo 'Users by plan of their workspace; members are people who signed up'
SELECT w.plan, count(DISTINCT w.workspace_id) AS workspaces, count(*) AS users,
       count(u.signup_at) AS members,
       round(100.0 * count(u.signup_at) / count(*), 1) AS member_pct
FROM analytics_demo.users u JOIN analytics_demo.workspaces w USING (workspace_id)
GROUP BY w.plan ORDER BY users DESC;

\echo 'Product events'
SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users
FROM analytics_demo.events GROUP BY 1 ORDER BY 2 DESC;

\echo 'Month by month: growth, activity and revenue'
WITH m AS (SELECT generate_series('2026-01-01'::timestamptz, '2026-08-01', '1 month') AS month)
SELECT to_char(m.month, 'YYYY-MM') AS month,
       (SELECT count(*) FROM analytics_demo.users u
        WHERE u.first_seen_at >= m.month AND u.first_seen_at < m.month + interval '1 month') AS new_users,
       (SELECT count(DISTINCT s.user_id) FROM analytics_demo.sessions s
        WHERE s.started_at >= m.month AND s.started_at < m.month + interval '1 month') AS active_users,
       (SELECT count(*) FROM analytics_demo.sessions s
        WHERE s.started_at >= m.month AND s.started_at < m.month + interval '1 month') AS sessions,
       (SELECT count(*) FROM analytics_demo.conversions c
        WHERE c.occurred_at >= m.month AND c.occurred_at < m.month + interval '1 month') AS conversions,
       (SELECT sum(revenue) FROM analytics_demo.conversions c
        WHERE c.occurred_at >= m.month AND c.occurred_at < m.month + interval '1 month') AS revenue
FROM m ORDER BY m.month;

\echo 'Weekly seasonality: sessions per day of week (UTC)'
SELECT to_char(started_at, 'ID Dy') AS weekday, count(*) AS sessions,
       round(count(*) * 7.0 / sum(count(*)) OVER (), 2) AS index
FROM analytics_demo.sessions GROUP BY 1 ORDER BY 1;

\echo 'Marketing touchpoints by channel, and how sessions from each channel convert'
SELECT t.channel,
       count(*) FILTER (WHERE t.interaction = 'impression') AS impressions,
       count(*) FILTER (WHERE t.interaction IN ('click', 'visit')) AS sessions,
       round(100.0 * count(c.conversion_id) / nullif(count(*) FILTER (WHERE t.interaction <> 'impression'), 0), 2)
         AS session_conversion_pct,
       coalesce(sum(c.revenue), 0) AS session_revenue
FROM analytics_demo.touchpoints t
LEFT JOIN analytics_demo.conversions c ON c.session_id = t.session_id
GROUP BY t.channel ORDER BY sessions DESC;

\echo 'Heavy tail: share of sessions by activity decile of members'
SELECT decile, count(*) AS members, sum(n) AS sessions,
       round(100.0 * sum(n) / sum(sum(n)) OVER (), 1) AS pct_of_sessions
FROM (SELECT s.user_id, count(*) AS n, ntile(10) OVER (ORDER BY count(*) DESC) AS decile
      FROM analytics_demo.sessions s JOIN analytics_demo.users u USING (user_id)
      WHERE u.signup_at IS NOT NULL GROUP BY s.user_id) d
GROUP BY decile ORDER BY decile;
