-- Multi-touch attribution on the demo data: every model side by side.
\pset footer off
SET timezone = 'UTC';

-- W-shaped needs milestones: the touch that started the session in which
-- the user signed up creates the lead, the one that started a checkout
-- session the opportunity.
CREATE OR REPLACE VIEW analytics_demo.touchpoints_staged AS
SELECT t.*, CASE WHEN s.signup AND s.checkout THEN 'lead,opportunity'
                 WHEN s.signup THEN 'lead' WHEN s.checkout THEN 'opportunity' END AS stage
FROM analytics_demo.touchpoints t
LEFT JOIN (SELECT session_id, bool_or(event_type = 'signup') AS signup,
                  bool_or(event_type = 'begin_checkout') AS checkout
           FROM analytics_demo.events GROUP BY session_id) s USING (session_id);

\echo '=== Attribution: conversions credited to each channel (30-day lookback) ========='
WITH models(model, options) AS (VALUES
    ('first_touch', NULL::jsonb), ('last_touch', NULL), ('last_non_direct', NULL),
    ('linear', NULL), ('time_decay', '{"half_life": 7}'), ('position_based', NULL),
    ('w_shaped', '{"touchpoint_columns": {"milestone": "stage"}}'), ('markov', NULL),
    ('shapley', NULL)),
r AS (SELECT m.model, a.*
      FROM models m,
           LATERAL analytics.attribution_report(m.model, 'analytics_demo.touchpoints_staged',
                                                'analytics_demo.conversions', '30 days', m.options) a)
SELECT channel,
       round(sum(conversions) FILTER (WHERE model = 'first_touch')) AS first,
       round(sum(conversions) FILTER (WHERE model = 'last_touch')) AS last,
       round(sum(conversions) FILTER (WHERE model = 'last_non_direct')) AS last_non_direct,
       round(sum(conversions) FILTER (WHERE model = 'linear')) AS linear,
       round(sum(conversions) FILTER (WHERE model = 'time_decay')) AS time_decay,
       round(sum(conversions) FILTER (WHERE model = 'position_based')) AS u_shaped,
       round(sum(conversions) FILTER (WHERE model = 'w_shaped')) AS w_shaped,
       round(sum(conversions) FILTER (WHERE model = 'markov')) AS markov,
       round(sum(conversions) FILTER (WHERE model = 'shapley')) AS shapley,
       round(sum(revenue) FILTER (WHERE model = 'markov')) AS markov_revenue
FROM r GROUP BY channel
ORDER BY sum(conversions) FILTER (WHERE model = 'markov') DESC NULLS LAST, channel;

\echo 'Markov chain: removal effects of order 1 and 2, and order selection (held-out)'
CREATE TEMP TABLE journeys AS
WITH t AS (SELECT user_id, array_agg(channel ORDER BY occurred_at, touchpoint_id) AS path
           FROM analytics_demo.touchpoints GROUP BY user_id),
     c AS (SELECT user_id, count(*) AS n, sum(revenue) AS revenue
           FROM analytics_demo.conversions GROUP BY user_id)
SELECT analytics.path_transform(t.path, 'trim_long', NULL, 10) AS path,
       coalesce(c.n, 0)::float8 AS conversions, (c.n IS NULL)::int::float8 AS nulls,
       coalesce(c.revenue, 0)::float8 AS revenue
FROM t LEFT JOIN c USING (user_id);
SELECT o1.channel, round(o1.removal_effect::numeric, 3) AS removal_effect_order_1,
       round(o2.removal_effect::numeric, 3) AS removal_effect_order_2
FROM unnest((SELECT analytics.markov_attribution(path, conversions, nulls, revenue, 1) FROM journeys)) o1
JOIN unnest((SELECT analytics.markov_attribution(path, conversions, nulls, revenue, 2) FROM journeys)) o2
  USING (channel)
ORDER BY o1.removal_effect DESC;
SELECT "order", states, round(auc::numeric, 3) AS held_out_auc, round(log_loss::numeric, 3) AS held_out_log_loss,
       CASE WHEN selected THEN '<- selected' ELSE '' END AS choice
FROM unnest((SELECT analytics.markov_order_selection(path, conversions, nulls, 3) FROM journeys));

\echo 'One conversion audited: its touches and the split under time decay'
SELECT conversion_id, channel, touches, round(credit::numeric, 3) AS credit,
       round(revenue_credit::numeric, 2) AS revenue_credit
FROM analytics.attribution_by_conversion('time_decay', 'analytics_demo.touchpoints',
                                         'analytics_demo.conversions')
WHERE conversion_id = (SELECT min(conversion_id)::text FROM analytics_demo.conversions c
                       WHERE (SELECT count(DISTINCT channel) FROM analytics_demo.touchpoints t
                              WHERE t.user_id = c.user_id AND t.occurred_at <= c.occurred_at
                                AND t.occurred_at > c.occurred_at - interval '30 days') >= 3)
ORDER BY credit DESC;
