-- cohort.sql: cohort_matrix, lifecycle, stickiness (src/cohort.c,
-- src/activity.c, src/lib/cohort.c).
--
-- State choice (DESIGN.md): these global aggregates hash every actor in one
-- pass, so the state is internal with serialize/deserialize and a combine
-- function: PARALLEL SAFE, partial aggregation in parallel workers.  Under
-- Citus the rows of an actor live on one shard when the table is
-- distributed by actor; Citus then pulls the partial aggregation to the
-- coordinator (an internal state cannot be shipped), which remains correct.

CREATE TYPE analytics.cohort_cell AS (
    cohort_start timestamptz, period_offset int, actors bigint, cohort_size bigint,
    rate float8, value float8);
COMMENT ON TYPE analytics.cohort_cell IS
'One cell of a retention matrix: of the cohort_size actors whose cohort period starts at cohort_start, actors returned period_offset periods later (rate = actors / cohort_size); value sums the value column of the cohort in that period.';

CREATE TYPE analytics.lifecycle_period AS (
    period_start timestamptz, new_actors bigint, returning_actors bigint,
    resurrecting_actors bigint, dormant_actors bigint);
COMMENT ON TYPE analytics.lifecycle_period IS
'Actors per period by lifecycle status: new_actors (first active period), returning_actors (active in the previous period too), resurrecting_actors (inactive in the previous period, active before), dormant_actors (active in the previous period, not in this one; a positive count, where PostHog plots it negative).';

CREATE TYPE analytics.stickiness_count AS (active_periods int, actors bigint);
COMMENT ON TYPE analytics.stickiness_count IS
'Number of (actor, window) pairs in which the actor was active in exactly active_periods periods.';

CREATE FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_matrix_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_matrix_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb, bool, bool)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_matrix_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb, bool, bool, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_matrix_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.lifecycle_accum(internal, anyelement, timestamptz, text)
RETURNS internal AS 'MODULE_PATHNAME', 'lifecycle_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.lifecycle_accum(internal, anyelement, timestamptz, text, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'lifecycle_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.stickiness_accum(internal, anyelement, timestamptz, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'stickiness_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.stickiness_accum(internal, anyelement, timestamptz, text, text, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'stickiness_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_combine' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'cohort_serialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'cohort_deserialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.cohort_matrix_final(internal)
RETURNS analytics.cohort_cell[] AS 'MODULE_PATHNAME', 'cohort_matrix_final' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.lifecycle_final(internal)
RETURNS analytics.lifecycle_period[] AS 'MODULE_PATHNAME', 'lifecycle_final' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.stickiness_final(internal)
RETURNS analytics.stickiness_count[] AS 'MODULE_PATHNAME', 'stickiness_final' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int) IS 'Transition function of cohort_matrix.';
COMMENT ON FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb) IS 'Transition function of cohort_matrix with options.';
COMMENT ON FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb, bool, bool) IS 'Transition function of cohort_matrix with start and return conditions.';
COMMENT ON FUNCTION analytics.cohort_matrix_accum(internal, anyelement, timestamptz, text, int, jsonb, bool, bool, float8) IS 'Transition function of cohort_matrix with conditions and a value.';
COMMENT ON FUNCTION analytics.lifecycle_accum(internal, anyelement, timestamptz, text) IS 'Transition function of lifecycle.';
COMMENT ON FUNCTION analytics.lifecycle_accum(internal, anyelement, timestamptz, text, jsonb) IS 'Transition function of lifecycle with options.';
COMMENT ON FUNCTION analytics.stickiness_accum(internal, anyelement, timestamptz, text, text) IS 'Transition function of stickiness.';
COMMENT ON FUNCTION analytics.stickiness_accum(internal, anyelement, timestamptz, text, text, jsonb) IS 'Transition function of stickiness with options.';
COMMENT ON FUNCTION analytics.cohort_combine(internal, internal) IS 'Combine function of cohort_matrix, lifecycle and stickiness.';
COMMENT ON FUNCTION analytics.cohort_serialize(internal) IS 'Serialization function of cohort_matrix, lifecycle and stickiness.';
COMMENT ON FUNCTION analytics.cohort_deserialize(bytea, internal) IS 'Deserialization function of cohort_matrix, lifecycle and stickiness.';
COMMENT ON FUNCTION analytics.cohort_matrix_final(internal) IS 'Final function of cohort_matrix.';
COMMENT ON FUNCTION analytics.lifecycle_final(internal) IS 'Final function of lifecycle.';
COMMENT ON FUNCTION analytics.stickiness_final(internal) IS 'Final function of stickiness.';

CREATE AGGREGATE analytics.cohort_matrix(actor anyelement, ts timestamptz, period text, periods int) (
    SFUNC = analytics.cohort_matrix_accum, STYPE = internal, FINALFUNC = analytics.cohort_matrix_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.cohort_matrix(actor anyelement, ts timestamptz, period text, periods int,
                                         options jsonb) (
    SFUNC = analytics.cohort_matrix_accum, STYPE = internal, FINALFUNC = analytics.cohort_matrix_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.cohort_matrix(actor anyelement, ts timestamptz, period text, periods int,
                                         options jsonb, is_start bool, is_return bool) (
    SFUNC = analytics.cohort_matrix_accum, STYPE = internal, FINALFUNC = analytics.cohort_matrix_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.cohort_matrix(actor anyelement, ts timestamptz, period text, periods int,
                                         options jsonb, is_start bool, is_return bool, value float8) (
    SFUNC = analytics.cohort_matrix_accum, STYPE = internal, FINALFUNC = analytics.cohort_matrix_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);

COMMENT ON AGGREGATE analytics.cohort_matrix(anyelement, timestamptz, text, int) IS
'Retention triangle in one pass: actors by cohort (period of their first activity) and period offset 0 .. periods - 1, periods hour, day, week (ISO, Monday), month or rolling_24h, in the session time zone. Returns analytics.cohort_cell[].';
COMMENT ON AGGREGATE analytics.cohort_matrix(anyelement, timestamptz, text, int, jsonb) IS
'cohort_matrix with options: retention first_time (default) or recurring, returns on (default) or on_or_after, timezone, max_cells (default 100000).';
COMMENT ON AGGREGATE analytics.cohort_matrix(anyelement, timestamptz, text, int, jsonb, bool, bool) IS
'cohort_matrix where is_start marks the rows that place an actor in a cohort and is_return the rows that count as a return.';
COMMENT ON AGGREGATE analytics.cohort_matrix(anyelement, timestamptz, text, int, jsonb, bool, bool, float8) IS
'cohort_matrix with a value column summed per cohort and period offset (revenue, LTV cohorts).';

CREATE AGGREGATE analytics.lifecycle(actor anyelement, ts timestamptz, period text) (
    SFUNC = analytics.lifecycle_accum, STYPE = internal, FINALFUNC = analytics.lifecycle_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.lifecycle(actor anyelement, ts timestamptz, period text, options jsonb) (
    SFUNC = analytics.lifecycle_accum, STYPE = internal, FINALFUNC = analytics.lifecycle_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.lifecycle(anyelement, timestamptz, text) IS
'Per period (hour, day, week, month) the new, returning, resurrecting and dormant actors (PostHog''s definitions), as analytics.lifecycle_period[].';
COMMENT ON AGGREGATE analytics.lifecycle(anyelement, timestamptz, text, jsonb) IS
'lifecycle with options: timezone.';

CREATE AGGREGATE analytics.stickiness(actor anyelement, ts timestamptz, period text, within text) (
    SFUNC = analytics.stickiness_accum, STYPE = internal, FINALFUNC = analytics.stickiness_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.stickiness(actor anyelement, ts timestamptz, period text, within text,
                                      options jsonb) (
    SFUNC = analytics.stickiness_accum, STYPE = internal, FINALFUNC = analytics.stickiness_final,
    COMBINEFUNC = analytics.cohort_combine, SERIALFUNC = analytics.cohort_serialize,
    DESERIALFUNC = analytics.cohort_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.stickiness(anyelement, timestamptz, text, text) IS
'Distribution of active periods per window, e.g. stickiness(user, ts, ''day'', ''week''): how many (user, week) pairs had 1, 2, ... 7 active days.';
COMMENT ON AGGREGATE analytics.stickiness(anyelement, timestamptz, text, text, jsonb) IS
'stickiness with options: timezone.';
