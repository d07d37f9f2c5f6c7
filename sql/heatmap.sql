-- engagement_heatmap and heatmap_cells.
SET TimeZone = 'UTC';
-- own schema: tests share a database
CREATE SCHEMA t_heatmap;
SET search_path = t_heatmap;

-- 2026-01-05 is a Monday.  In UTC: Mon 09h x2, Mon 23h, Tue 00h, Sun 12h.
CREATE TABLE hv (ts timestamptz);
INSERT INTO hv VALUES ('2026-01-05 09:00'), ('2026-01-05 09:59:59'), ('2026-01-05 23:30'),
  ('2026-01-06 00:00'), ('2026-01-11 12:00'), (NULL);
SELECT h.* FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(ts) FROM hv)) h
WHERE events > 0 ORDER BY iso_dow, hour;
-- The array form: 7 rows (Monday first) by 24 hours, hours indexed from 0.
SELECT array_dims(m), m[1][9] AS mon_09, m[1][23] AS mon_23, m[2][0] AS tue_00, m[7][12] AS sun_12,
       (SELECT sum(x) FROM unnest(m) x) AS total
FROM (SELECT analytics.engagement_heatmap(ts) AS m FROM hv) s;
-- In Asia/Tokyo (UTC+9) every event moves 9 hours later: Mon 18h x2,
-- Tue 08h, Tue 09h, Sun 21h.
SELECT h.* FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(ts, 'Asia/Tokyo') FROM hv)) h
WHERE events > 0 ORDER BY iso_dow, hour;
-- Daylight saving: in Europe/Berlin 2026-03-29 01:30 UTC is 03:30 CEST
-- (02:00-03:00 does not exist), 00:30 UTC is 01:30 CET; both Sunday.
SELECT h.* FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(ts, 'Europe/Berlin')
  FROM (VALUES ('2026-03-29 00:30+00'::timestamptz), ('2026-03-29 01:30+00')) v(ts))) h
WHERE events > 0 ORDER BY iso_dow, hour;
-- The session time zone applies without the argument.
SET TimeZone = 'America/Sao_Paulo';
SELECT (SELECT analytics.engagement_heatmap(ts) FROM hv) = (SELECT analytics.engagement_heatmap(ts, 'America/Sao_Paulo') FROM hv) AS session_zone;
SET TimeZone = 'UTC';
-- No rows, or only NULL timestamps: NULL.
SELECT analytics.engagement_heatmap(ts) FROM hv WHERE false;
SELECT analytics.engagement_heatmap(ts) FROM hv WHERE ts IS NULL;

-- Against plain SQL on the demo data, in two zones.
SELECT count(*) AS tables FROM analytics.generate_demo_data(0.02, 5, 'heatmap_demo');
SELECT count(*) AS cells,
       count(*) FILTER (WHERE coalesce(s.n, 0) <> h.events) AS mismatched,
       sum(h.events) = (SELECT count(*) FROM heatmap_demo.events) AS all_counted
FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(occurred_at, 'America/New_York') FROM heatmap_demo.events)) h
LEFT JOIN (SELECT extract(isodow FROM occurred_at AT TIME ZONE 'America/New_York')::int AS iso_dow,
                  extract(hour FROM occurred_at AT TIME ZONE 'America/New_York')::int AS hour, count(*) AS n
           FROM heatmap_demo.events GROUP BY 1, 2) s USING (iso_dow, hour);
SELECT count(*) AS cells, count(*) FILTER (WHERE coalesce(s.n, 0) <> h.events) AS mismatched
FROM analytics.heatmap_cells((SELECT analytics.engagement_heatmap(occurred_at, 'Asia/Kathmandu') FROM heatmap_demo.events)) h
LEFT JOIN (SELECT extract(isodow FROM occurred_at AT TIME ZONE 'Asia/Kathmandu')::int AS iso_dow,
                  extract(hour FROM occurred_at AT TIME ZONE 'Asia/Kathmandu')::int AS hour, count(*) AS n
           FROM heatmap_demo.events GROUP BY 1, 2) s USING (iso_dow, hour);

-- Errors.
SELECT analytics.engagement_heatmap(ts, NULL) FROM hv;
SELECT analytics.engagement_heatmap(ts, 'Nowhere/Atlantis') FROM hv;
SELECT analytics.engagement_heatmap(ts, CASE WHEN ts < '2026-01-06' THEN 'UTC' ELSE 'Asia/Tokyo' END) FROM hv;
SELECT analytics.engagement_heatmap(ts) FROM (VALUES ('2026-01-01'::timestamptz), ('-infinity')) v(ts);
SELECT * FROM analytics.heatmap_cells('{1,2,3}'::bigint[]);
SELECT * FROM analytics.heatmap_cells(array_fill(0::bigint, ARRAY[24, 7]));
