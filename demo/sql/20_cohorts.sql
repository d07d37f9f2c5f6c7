-- Cohorts and behaviour on the demo data: retention triangle, funnel,
-- lifecycle, stickiness and the engagement heatmap.
\pset footer off
SET timezone = 'UTC';

\echo '=== Weekly retention: members by signup week, % active N weeks later ========='
\echo '(ISO weeks; the data end on Monday 2026-08-31, so the last column of each row is one day)'
SELECT to_char(cohort_start, 'YYYY-MM-DD') AS signup_week, max(cohort_size) AS members,
       string_agg(lpad(round(100 * rate)::text, 3), ' ' ORDER BY period_offset) AS "week 0   1   2   3   4   5   6   7   8   9  10  11"
FROM unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'week', 12, NULL,
                                            event_type = 'signup', true)
             FROM analytics_demo.events)) c
GROUP BY cohort_start ORDER BY cohort_start;

\echo 'Revenue per member by signup month (cumulative, months 0..5)'
SELECT to_char(cohort_start, 'YYYY-MM') AS signup_month, max(cohort_size) AS members,
       string_agg(lpad(to_char(sum_value / cohort_size, 'FM990.00'), 7), ' ' ORDER BY period_offset) AS "month 0       1       2       3       4       5"
FROM (SELECT c.*, sum(value) OVER (PARTITION BY cohort_start ORDER BY period_offset) AS sum_value
      FROM unnest((SELECT analytics.cohort_matrix(user_id, occurred_at, 'month', 6, NULL,
                                                  event_type = 'signup', event_type = 'purchase',
                                                  revenue::float8)
                   FROM analytics_demo.events)) c) m
GROUP BY cohort_start ORDER BY cohort_start;

\echo '=== Funnel: view -> add to cart -> checkout -> purchase within 7 days ========='
SELECT f.step, s.name, f.actors AS users,
       to_char(100 * f.conversion, 'FM990.0') || '%' AS from_previous,
       to_char(100 * f.conversion_from_first, 'FM990.0') || '%' AS from_first,
       make_interval(secs => f.median_seconds_from_previous) AS median_time_from_previous
FROM unnest((SELECT analytics.funnel_report(user_id, occurred_at, '7 days',
               event_type = 'view', event_type = 'add_to_cart',
               event_type = 'begin_checkout', event_type = 'purchase')
             FROM analytics_demo.events)) f
JOIN (VALUES (1, 'view'), (2, 'add_to_cart'), (3, 'begin_checkout'), (4, 'purchase')) s(step, name)
  USING (step)
ORDER BY f.step;

\echo 'The same users by the furthest step they reached (window_funnel per user, steps at strictly increasing times)'
SELECT level AS furthest_step, count(*) AS users
FROM (SELECT user_id, analytics.window_funnel('7 days', 'strict_increase', occurred_at,
             event_type = 'view', event_type = 'add_to_cart',
             event_type = 'begin_checkout', event_type = 'purchase') AS level
      FROM analytics_demo.events GROUP BY user_id) u
GROUP BY level ORDER BY level;

\echo '=== Lifecycle by week (PostHog statuses; dormant = active the week before, not this week) ==='
SELECT to_char(period_start, 'YYYY-MM-DD') AS week, new_actors AS new, returning_actors AS returning,
       resurrecting_actors AS resurrecting, dormant_actors AS dormant
FROM unnest((SELECT analytics.lifecycle(user_id, occurred_at, 'week') FROM analytics_demo.events)) l
ORDER BY period_start;

\echo 'Stickiness: on how many days of a week a member is active (member-weeks)'
SELECT active_periods AS days_active, actors AS member_weeks,
       to_char(100.0 * actors / sum(actors) OVER (), 'FM990.0') || '%' AS share
FROM unnest((SELECT analytics.stickiness(e.user_id, e.occurred_at, 'day', 'week')
             FROM analytics_demo.events e JOIN analytics_demo.users u USING (user_id)
             WHERE u.signup_at IS NOT NULL)) s
ORDER BY active_periods;

\echo '=== Engagement heatmap: events by weekday and hour (UTC), darker = busier ========='
WITH cells AS (
  SELECT h.* FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(occurred_at, 'UTC')
                                           FROM analytics_demo.events)) h),
m AS (SELECT max(events) AS top FROM cells)
SELECT (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[iso_dow] AS day,
       string_agg(substr(' .:-=+*#%@', 1 + (9 * events / top)::int, 1), '' ORDER BY hour)
         AS "0     6     12    18   23",
       sum(events) AS events
FROM cells, m GROUP BY iso_dow ORDER BY iso_dow;
