-- Segmentation on the demo data: RFM segments of the buyers, behavioural
-- segments of everyone (k-means on per-user features, named from the
-- centroids), and k chosen by silhouette.
\pset footer off
SET timezone = 'UTC';

\echo '=== RFM: buyers by segment (quintile scores; see docs/segmentation.md) ========='
SELECT segment, count(*) AS customers,
       to_char(100.0 * count(*) / sum(count(*)) OVER (), 'FM990.0') || '%' AS share,
       round(avg(recency_days)::numeric, 1) AS avg_recency_days,
       round(avg(frequency), 2) AS avg_orders, round(avg(monetary)::numeric, 2) AS avg_revenue
FROM analytics.rfm_scores('analytics_demo.events')
GROUP BY segment ORDER BY avg(monetary) DESC;

\echo '=== Behavioural segments: k-means (k = 6) on recency, tenure, events, active days, orders, revenue ==='
SELECT segment, actors AS users, to_char(100 * share, 'FM990.0') || '%' AS share,
       round(avg_recency_days::numeric, 1) AS recency_d, round(avg_tenure_days::numeric, 1) AS tenure_d,
       round(avg_events::numeric, 1) AS events, round(avg_active_days::numeric, 1) AS active_days,
       round(avg_orders::numeric, 2) AS orders, round(avg_monetary::numeric, 2) AS revenue,
       to_char(100 * buyers_share, 'FM990.0') || '%' AS buyers
FROM analytics.behavioral_segment_profiles('analytics_demo.events')
ORDER BY avg_monetary DESC, avg_events DESC;

\echo 'Choosing k by silhouette (buyers: ln(1 + orders), ln(1 + revenue), ln(1 + recency), standardized)'
SELECT s.k, round(s.inertia::numeric, 1) AS inertia, round(s.silhouette::numeric, 4) AS silhouette,
       CASE WHEN s.k = (a).k THEN '<- chosen' ELSE '' END AS choice
FROM (SELECT analytics.kmeans_auto(ARRAY[ln(1 + frequency), ln(1 + monetary), ln(1 + recency_days)],
                                   2, 8, '{"standardize": true, "n_init": 4}') AS a
      FROM analytics.rfm_scores('analytics_demo.events')) x,
     unnest((a).scores) s
ORDER BY s.k;
