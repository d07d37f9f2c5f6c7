-- Parallel aggregation of the cohort, funnel, sequence and heatmap
-- aggregates: with a parallel plan forced each runs as Partial Aggregate in
-- the workers and a combine in the leader, the workers really run (so the
-- partial states cross process boundaries serialized), and the answer is
-- the serial one.
SET TimeZone = 'UTC';
-- own schema: tests share a database
CREATE SCHEMA t_parallel;
SET search_path = t_parallel;
CREATE TABLE big AS
SELECT (g * 7919) % 5000 AS actor,
       timestamptz '2026-01-01' + ((g * 104729) % (120 * 86400)) * interval '1 second' AS ts,
       (ARRAY['view', 'view', 'view', 'cart', 'buy', 'search'])[1 + (g * 31) % 6] AS ev,
       CASE WHEN (g * 31) % 6 = 4 THEN (g % 97) + 0.5 END AS amount
FROM generate_series(1::bigint, 200000) g;
ANALYZE big;
CREATE FUNCTION pg_temp.plan_has(query text, node text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line LIKE '%' || node || '%' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    IF line ~ 'Workers Launched: [1-9]' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
CREATE TABLE queries (name text, q text);
INSERT INTO queries VALUES
  ('cohort_matrix', 'SELECT analytics.cohort_matrix(actor, ts, ''week'', 12)::text FROM big'),
  ('cohort_matrix text actor', 'SELECT analytics.cohort_matrix(actor::text, ts, ''day'', 30, ''{"retention": "recurring", "timezone": "Asia/Tokyo"}'')::text FROM big'),
  ('cohort_matrix value', 'SELECT analytics.cohort_matrix(actor, ts, ''week'', 8, ''{"returns": "on_or_after"}'', ev = ''view'', ev = ''buy'', amount)::text FROM big'),
  ('cohort_matrix rolling', 'SELECT analytics.cohort_matrix(actor, ts, ''rolling_24h'', 14)::text FROM big'),
  ('lifecycle', 'SELECT analytics.lifecycle(actor, ts, ''week'')::text FROM big'),
  ('stickiness', 'SELECT analytics.stickiness(actor::numeric, ts, ''day'', ''week'')::text FROM big'),
  ('retention', 'SELECT analytics.retention(ev = ''view'', ev = ''cart'', ev = ''buy'')::text FROM big'),
  ('window_funnel', 'SELECT analytics.window_funnel(''3 days'', ts, ev = ''view'', ev = ''cart'', ev = ''buy'')::text FROM big'),
  ('sequence_match', 'SELECT analytics.sequence_match(''(?1)(?t<=3600)(?2)'', ts, ev = ''cart'', ev = ''buy'')::text FROM big'),
  ('sequence_count', 'SELECT analytics.sequence_count(''(?1).(?2)'', ts, ev = ''view'', ev = ''cart'')::text FROM big'),
  ('funnel_report', 'SELECT analytics.funnel_report(actor, ts, ''2 days'', ev = ''view'', ev = ''cart'', ev = ''buy'')::text FROM big'),
  ('funnel_report options', 'SELECT analytics.funnel_report(actor::text, ts, ''2 days'', ''{"exclusions": [4, 1, 2]}'', ev = ''view'', ev = ''cart'', ev = ''buy'', ev = ''search'')::text FROM big'),
  ('engagement_heatmap', 'SELECT analytics.engagement_heatmap(ts, ''Europe/Berlin'')::text FROM big');
-- Grouped by actor the per-actor aggregates run partially too.
INSERT INTO queries VALUES
  ('retention by actor', 'SELECT string_agg(r::text, '','' ORDER BY actor) FROM (SELECT actor, analytics.retention(ev = ''view'', ev = ''buy'') r FROM big GROUP BY actor) s'),
  ('window_funnel by actor', 'SELECT string_agg(f::text, '','' ORDER BY actor) FROM (SELECT actor, analytics.window_funnel(''1 day'', ''strict_increase'', ts, ev = ''view'', ev = ''cart'', ev = ''buy'') f FROM big GROUP BY actor) s'),
  ('sequence_count by actor', 'SELECT string_agg(c::text, '','' ORDER BY actor) FROM (SELECT actor, analytics.sequence_count(''(?1).*(?2)'', ts, ev = ''cart'', ev = ''buy'') c FROM big GROUP BY actor) s');

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_partitionwise_aggregate = on;
-- Global aggregates: Partial Aggregate.  Grouped: a partial HashAggregate or
-- GroupAggregate below the Gather.
SELECT name, pg_temp.plan_has(q, CASE WHEN name LIKE '% by actor' THEN 'Partial' ELSE 'Partial Aggregate' END) AS partial,
       pg_temp.workers_launched(q) AS workers_ran
FROM queries ORDER BY name;
CREATE TABLE parallel_results AS SELECT name, NULL::text AS result FROM queries;
DO $$
DECLARE r record; v text;
BEGIN
  FOR r IN SELECT name, q FROM queries LOOP
    EXECUTE r.q INTO v;
    UPDATE parallel_results SET result = v WHERE name = r.name;
  END LOOP;
END $$;
SET max_parallel_workers_per_gather = 0;
SELECT pg_temp.plan_has('SELECT analytics.cohort_matrix(actor, ts, ''week'', 12) FROM big', 'Partial') AS serial_is_partial;
CREATE FUNCTION pg_temp.run(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text; BEGIN EXECUTE q INTO v; RETURN v; END $$;
SELECT q.name, p.result IS NOT NULL AS has_result, p.result = pg_temp.run(q.q) AS same_as_serial
FROM queries q JOIN parallel_results p USING (name) ORDER BY q.name;

-- Partitionwise partial aggregation (no workers needed): one partial state
-- per partition, 20 of them, more than the 16 a combined state keeps before
-- merging them into one; every actor's rows spread over many partitions, so
-- the merge meets the same actor in several states.  Same answers as
-- without partitionwise aggregation.
CREATE TABLE parts (actor bigint, ts timestamptz, ev text, amount numeric) PARTITION BY RANGE (ts);
SELECT format('CREATE TABLE parts_%s PARTITION OF parts FOR VALUES FROM (%L) TO (%L)', i,
              timestamptz '2026-01-01' + i * interval '6 days', timestamptz '2026-01-01' + (i + 1) * interval '6 days')
FROM generate_series(0, 19) i \gexec
INSERT INTO parts SELECT actor, ts, ev, amount FROM big;
ANALYZE parts;
CREATE TABLE part_queries (name text, q text);
INSERT INTO part_queries VALUES
  ('cohort_matrix', 'SELECT analytics.cohort_matrix(actor, ts, ''week'', 12)::text FROM parts'),
  ('cohort_matrix text actor', 'SELECT analytics.cohort_matrix(actor::text, ts, ''day'', 30, ''{"retention": "recurring", "timezone": "Asia/Tokyo"}'')::text FROM parts'),
  ('cohort_matrix value', 'SELECT analytics.cohort_matrix(actor, ts, ''week'', 8, ''{"returns": "on_or_after"}'', ev = ''view'', ev = ''buy'', amount)::text FROM parts'),
  ('cohort_matrix rolling', 'SELECT analytics.cohort_matrix(actor, ts, ''rolling_24h'', 14)::text FROM parts'),
  ('lifecycle', 'SELECT analytics.lifecycle(actor, ts, ''week'')::text FROM parts'),
  ('stickiness numeric actor', 'SELECT analytics.stickiness(actor::numeric, ts, ''day'', ''week'')::text FROM parts');
SET enable_partitionwise_aggregate = on;
SELECT name, pg_temp.plan_has(q, 'Partial Aggregate') AS partial FROM part_queries ORDER BY name;
CREATE TABLE part_results AS SELECT name, pg_temp.run(q) AS result FROM part_queries;
SET enable_partitionwise_aggregate = off;
SELECT name, pg_temp.plan_has(q, 'Partial Aggregate') AS partial FROM part_queries ORDER BY name;
SELECT q.name, p.result IS NOT NULL AS has_result, p.result = pg_temp.run(q.q) AS same_as_unpartitioned,
       p.result = pg_temp.run(replace(q.q, 'FROM parts', 'FROM big')) AS same_as_big
FROM part_queries q JOIN part_results p USING (name) ORDER BY q.name;
