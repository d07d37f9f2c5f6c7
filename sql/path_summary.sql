-- analytics.path_summary: the state of the path aggregates, its text and
-- binary forms, merging, and parallel aggregation.
\set SHOW_CONTEXT never

-- Rows with the same path add up; zero-weight rows are dropped; channels are
-- numbered in order of first appearance.
CREATE TEMP TABLE p (path text[], conversions float8, nulls float8, value float8);
INSERT INTO p VALUES ('{a,b}', 1, 2, 10), ('{a}', 0, 3, NULL), ('{a,b}', 2, 0, 5.5),
                     ('{c}', 0, 0, 0);
SELECT analytics.path_summary(path, conversions, nulls, value) FROM p;
SELECT s.* FROM analytics.path_summary_paths((SELECT analytics.path_summary(path, conversions, nulls, value) FROM p)) s
ORDER BY path;

-- Text round trip, and a summary stored in a table.
CREATE TEMP TABLE stored (id int, s analytics.path_summary);
INSERT INTO stored SELECT 1, analytics.path_summary(path, conversions, nulls, value) FROM p;
INSERT INTO stored SELECT 2, analytics.path_summary(ARRAY[c, 'x'], 1, 1, 1) FROM unnest('{a,y}'::text[]) c;
SELECT id, s::text::analytics.path_summary::text = s::text AS text_round_trip FROM stored ORDER BY id;
-- Merging stored summaries: {a,b} 3 2 15.5, {a} 0 3 0, {a,x} 1 1 1, {y,x} 1 1 1.
SELECT s.* FROM analytics.path_summary_paths((SELECT analytics.path_summary(s) FROM stored)) s ORDER BY path;

-- Binary round trip through COPY (the send and receive functions).
CREATE TEMP TABLE reloaded (LIKE stored);
DO $$
DECLARE f text := current_setting('data_directory') || '/analytics_path_summary.bin';
BEGIN
  EXECUTE format('COPY stored TO %L (FORMAT binary)', f);
  EXECUTE format('COPY reloaded FROM %L (FORMAT binary)', f);
END $$;
SELECT r.id, r.s::text = s.s::text AS binary_round_trip FROM reloaded r JOIN stored s USING (id) ORDER BY id;

-- Invalid text input is an error, never a crash.
SELECT 'not json'::analytics.path_summary;
SELECT '[1]'::analytics.path_summary;
SELECT '{"version": 2, "kind": "summary", "rows": 0, "channels": [], "paths": []}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "nope", "rows": 0, "channels": [], "paths": []}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": ["a", "a"], "paths": []}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": ["a"], "paths": [[[1], 1, 0, 0]]}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": ["a"], "paths": [[[], 1, 0, 0]]}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": ["a"], "paths": [[[0], -1, 0, 0]]}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": ["a"], "paths": [[[0], 1, 0]]}'::analytics.path_summary;
SELECT '{"version": 1, "kind": "summary", "rows": 0, "channels": [1], "paths": []}'::analytics.path_summary;
-- Calling a transition function outside an aggregate is an error.
SELECT analytics.path_summary_accum(NULL, '{a}', 1, 0, 0);
SELECT analytics.path_summary(NULL, 1, 0, 0);
SELECT analytics.path_summary('{a}', NULL, 0, 0);

-- Parallel aggregation: with a parallel plan forced, every path aggregate
-- runs as Partial Aggregate in the workers plus a combine in the leader,
-- and gives the same answer as a serial run.
CREATE TABLE big AS
SELECT ARRAY['c' || (g % 7), 'c' || (g % 5), 'c' || (g % 3)] AS path,
       (g % 4 = 0)::int::float8 AS conversions, (g % 4 <> 0)::int::float8 AS nulls,
       (g % 13)::float8 AS value
FROM generate_series(1, 60000) g;
ANALYZE big;
CREATE FUNCTION pg_temp.plan_has(query text, node text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line LIKE '%' || node || '%' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT q AS aggregate, pg_temp.plan_has('SELECT ' || q || ' FROM big', 'Partial Aggregate') AS partial
FROM unnest(ARRAY[
  'analytics.path_summary(path, conversions, nulls, value)',
  'analytics.markov_attribution(path, conversions, nulls, value, 2, ''{"collapse": false}'')',
  'analytics.markov_transition_matrix(path, conversions, nulls)',
  'analytics.markov_order_selection(path, conversions, nulls, 2)',
  'analytics.shapley_attribution(path, conversions, nulls, value, ''standard'')',
  'analytics.heuristic_attribution(path, conversions, value, ''linear'')'
]) q;
-- The workers really run (so partial states cross process boundaries flat).
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    IF line ~ 'Workers Launched: [1-9]' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
SELECT pg_temp.workers_launched('SELECT analytics.markov_attribution(path, conversions, nulls, value) FROM big') AS workers_ran;
CREATE TEMP TABLE parallel_results AS
SELECT (SELECT analytics.path_summary(path, conversions, nulls, value) FROM big)::text AS summary,
       (SELECT analytics.markov_attribution(path, conversions, nulls, value, 2, '{"collapse": false}') FROM big)::text AS markov,
       (SELECT analytics.shapley_attribution(path, conversions, nulls, value, 'standard') FROM big)::text AS shapley,
       (SELECT analytics.heuristic_attribution(path, conversions, value, 'linear') FROM big)::text AS heuristic;
SET max_parallel_workers_per_gather = 0;
SELECT pg_temp.plan_has('SELECT analytics.path_summary(path, conversions, nulls, value) FROM big', 'Partial Aggregate') AS serial_is_partial;
-- Compare contents (channel and path numbering depends on the merge order).
SELECT (SELECT array_agg(x ORDER BY x) FROM analytics.path_summary_paths(summary::analytics.path_summary) x)
     = (SELECT array_agg(x ORDER BY x) FROM analytics.path_summary_paths(
          (SELECT analytics.path_summary(path, conversions, nulls, value) FROM big)) x) AS same_summary,
       (SELECT array_agg(format('%s %s %s', (m).channel, round((m).conversions::numeric, 9), round((m).removal_effect::numeric, 9)))
        FROM unnest(markov::analytics.markov_credit[]) m)
     = (SELECT array_agg(format('%s %s %s', (m).channel, round((m).conversions::numeric, 9), round((m).removal_effect::numeric, 9)))
        FROM unnest((SELECT analytics.markov_attribution(path, conversions, nulls, value, 2, '{"collapse": false}') FROM big)) m) AS same_markov,
       (SELECT array_agg(format('%s %s', (m).channel, round((m).conversions::numeric, 9)))
        FROM unnest(shapley::analytics.shapley_credit[]) m)
     = (SELECT array_agg(format('%s %s', (m).channel, round((m).conversions::numeric, 9)))
        FROM unnest((SELECT analytics.shapley_attribution(path, conversions, nulls, value, 'standard') FROM big)) m) AS same_shapley,
       (SELECT array_agg(format('%s %s', (m).channel, round((m).conversions::numeric, 9)))
        FROM unnest(heuristic::analytics.channel_value[]) m)
     = (SELECT array_agg(format('%s %s', (m).channel, round((m).conversions::numeric, 9)))
        FROM unnest((SELECT analytics.heuristic_attribution(path, conversions, value, 'linear') FROM big)) m) AS same_heuristic
FROM parallel_results;
RESET ALL;
DROP TABLE big;
