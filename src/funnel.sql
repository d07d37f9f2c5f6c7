-- funnel.sql: retention, window_funnel, sequence_match, sequence_count,
-- funnel_report (src/funnel.c, src/lib/funnel.c).
--
-- retention keeps a bigint[2] state updated in place (concrete type: no
-- serialization, distributable by Citus).  window_funnel and the sequence
-- aggregates keep one actor's events (internal, serialized for parallel
-- query); they run under GROUP BY actor, which Citus pushes down when the
-- table is distributed by actor.  funnel_report hashes every actor
-- (internal, serialized).  All have combine functions and are PARALLEL SAFE.

CREATE FUNCTION analytics.retention_accum(bigint[], VARIADIC bool[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'retention_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.retention_combine(bigint[], bigint[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'retention_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.retention_final(bigint[])
RETURNS bool[] AS 'MODULE_PATHNAME', 'retention_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION analytics.retention_accum(bigint[], bool[]) IS 'Transition function of retention.';
COMMENT ON FUNCTION analytics.retention_combine(bigint[], bigint[]) IS 'Combine function of retention.';
COMMENT ON FUNCTION analytics.retention_final(bigint[]) IS 'Final function of retention.';

CREATE AGGREGATE analytics.retention(VARIADIC conds bool[]) (
    SFUNC = analytics.retention_accum, STYPE = bigint[], FINALFUNC = analytics.retention_final,
    COMBINEFUNC = analytics.retention_combine, SSPACE = 48, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.retention(bool[]) IS
'ClickHouse retention: element 1 is any(cond1), element i is any(cond1) AND any(cond_i); 1 to 64 conditions. Use under GROUP BY actor.';

CREATE FUNCTION analytics.window_funnel_accum(internal, interval, timestamptz, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'window_funnel_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.window_funnel_accum(internal, interval, text, timestamptz, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'window_funnel_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.window_funnel_final(internal)
RETURNS int AS 'MODULE_PATHNAME', 'window_funnel_final' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.sequence_match_accum(internal, text, timestamptz, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'sequence_match_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.sequence_match_final(internal)
RETURNS bool AS 'MODULE_PATHNAME', 'sequence_match_final' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.sequence_count_accum(internal, text, timestamptz, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'sequence_count_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.sequence_count_final(internal)
RETURNS bigint AS 'MODULE_PATHNAME', 'sequence_count_final' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.seq_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'seq_combine' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.seq_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'seq_serialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.seq_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'seq_deserialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION analytics.window_funnel_accum(internal, interval, timestamptz, bool[]) IS 'Transition function of window_funnel.';
COMMENT ON FUNCTION analytics.window_funnel_accum(internal, interval, text, timestamptz, bool[]) IS 'Transition function of window_funnel with modes.';
COMMENT ON FUNCTION analytics.window_funnel_final(internal) IS 'Final function of window_funnel.';
COMMENT ON FUNCTION analytics.sequence_match_accum(internal, text, timestamptz, bool[]) IS 'Transition function of sequence_match.';
COMMENT ON FUNCTION analytics.sequence_match_final(internal) IS 'Final function of sequence_match.';
COMMENT ON FUNCTION analytics.sequence_count_accum(internal, text, timestamptz, bool[]) IS 'Transition function of sequence_count.';
COMMENT ON FUNCTION analytics.sequence_count_final(internal) IS 'Final function of sequence_count.';
COMMENT ON FUNCTION analytics.seq_combine(internal, internal) IS 'Combine function of window_funnel, sequence_match and sequence_count.';
COMMENT ON FUNCTION analytics.seq_serialize(internal) IS 'Serialization function of window_funnel, sequence_match and sequence_count.';
COMMENT ON FUNCTION analytics.seq_deserialize(bytea, internal) IS 'Deserialization function of window_funnel, sequence_match and sequence_count.';

CREATE AGGREGATE analytics.window_funnel("window" interval, ts timestamptz, VARIADIC steps bool[]) (
    SFUNC = analytics.window_funnel_accum, STYPE = internal, FINALFUNC = analytics.window_funnel_final,
    COMBINEFUNC = analytics.seq_combine, SERIALFUNC = analytics.seq_serialize,
    DESERIALFUNC = analytics.seq_deserialize, SSPACE = 256, PARALLEL = SAFE);
CREATE AGGREGATE analytics.window_funnel("window" interval, mode text, ts timestamptz, VARIADIC steps bool[]) (
    SFUNC = analytics.window_funnel_accum, STYPE = internal, FINALFUNC = analytics.window_funnel_final,
    COMBINEFUNC = analytics.seq_combine, SERIALFUNC = analytics.seq_serialize,
    DESERIALFUNC = analytics.seq_deserialize, SSPACE = 256, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.window_funnel(interval, timestamptz, bool[]) IS
'ClickHouse windowFunnel: the longest prefix of the steps reached inside one window starting at a step-1 event (window end inclusive, ties ordered by time then step). Use under GROUP BY actor.';
COMMENT ON AGGREGATE analytics.window_funnel(interval, text, timestamptz, bool[]) IS
'window_funnel with modes, comma-separated: strict_deduplication, strict_order, strict_increase, strict_once.';

CREATE AGGREGATE analytics.sequence_match(pattern text, ts timestamptz, VARIADIC conds bool[]) (
    SFUNC = analytics.sequence_match_accum, STYPE = internal, FINALFUNC = analytics.sequence_match_final,
    COMBINEFUNC = analytics.seq_combine, SERIALFUNC = analytics.seq_serialize,
    DESERIALFUNC = analytics.seq_deserialize, SSPACE = 256, PARALLEL = SAFE);
CREATE AGGREGATE analytics.sequence_count(pattern text, ts timestamptz, VARIADIC conds bool[]) (
    SFUNC = analytics.sequence_count_accum, STYPE = internal, FINALFUNC = analytics.sequence_count_final,
    COMBINEFUNC = analytics.seq_combine, SERIALFUNC = analytics.seq_serialize,
    DESERIALFUNC = analytics.seq_deserialize, SSPACE = 256, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.sequence_match(text, timestamptz, bool[]) IS
'ClickHouse sequenceMatch: does the pattern ((?N), ., .*, (?t<=N) ...) match the events in time order? Bounded by analytics.sequence_max_steps.';
COMMENT ON AGGREGATE analytics.sequence_count(text, timestamptz, bool[]) IS
'ClickHouse sequenceCount: the number of non-overlapping matches of the pattern.';

CREATE TYPE analytics.funnel_step AS (
    step int, actors bigint, conversion float8, conversion_from_first float8,
    median_seconds_from_previous float8, median_seconds_from_first float8);
COMMENT ON TYPE analytics.funnel_step IS
'One step of a funnel report: actors who reached it, conversion from the previous and from the first step, and median seconds from the previous and from the first step.';

CREATE FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'funnel_report_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, jsonb, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'funnel_report_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, text, VARIADIC bool[])
RETURNS internal AS 'MODULE_PATHNAME', 'funnel_report_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'funnel_report_combine' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'funnel_report_serialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'funnel_report_deserialize' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.funnel_report_final(internal)
RETURNS analytics.funnel_step[] AS 'MODULE_PATHNAME', 'funnel_report_final' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, bool[]) IS 'Transition function of funnel_report.';
COMMENT ON FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, jsonb, bool[]) IS 'Transition function of funnel_report with options.';
COMMENT ON FUNCTION analytics.funnel_report_accum(internal, anyelement, timestamptz, interval, text, bool[]) IS 'Transition function of funnel_report with options given as an untyped literal.';
COMMENT ON FUNCTION analytics.funnel_report_combine(internal, internal) IS 'Combine function of funnel_report.';
COMMENT ON FUNCTION analytics.funnel_report_serialize(internal) IS 'Serialization function of funnel_report.';
COMMENT ON FUNCTION analytics.funnel_report_deserialize(bytea, internal) IS 'Deserialization function of funnel_report.';
COMMENT ON FUNCTION analytics.funnel_report_final(internal) IS 'Final function of funnel_report.';

CREATE AGGREGATE analytics.funnel_report(actor anyelement, ts timestamptz, "window" interval,
                                         VARIADIC steps bool[]) (
    SFUNC = analytics.funnel_report_accum, STYPE = internal, FINALFUNC = analytics.funnel_report_final,
    COMBINEFUNC = analytics.funnel_report_combine, SERIALFUNC = analytics.funnel_report_serialize,
    DESERIALFUNC = analytics.funnel_report_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE analytics.funnel_report(actor anyelement, ts timestamptz, "window" interval,
                                         options jsonb, VARIADIC conds bool[]) (
    SFUNC = analytics.funnel_report_accum, STYPE = internal, FINALFUNC = analytics.funnel_report_final,
    COMBINEFUNC = analytics.funnel_report_combine, SERIALFUNC = analytics.funnel_report_serialize,
    DESERIALFUNC = analytics.funnel_report_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.funnel_report(anyelement, timestamptz, interval, bool[]) IS
'A funnel over all actors in one pass (no GROUP BY): per step, actors reached, conversion and median time to convert, each actor''s steps found as by window_funnel. Returns analytics.funnel_step[].';
COMMENT ON AGGREGATE analytics.funnel_report(anyelement, timestamptz, interval, jsonb, bool[]) IS
'funnel_report with options: mode (as window_funnel), exclusions [condition, from_step, to_step, ...]: an actor with that condition between those steps of its funnel is left out; exclusion conditions are not steps.';
-- The same with options as text: an untyped literal such as '{"mode": "strict_order"}'
-- in the options position could be a jsonb or the first bool step, and
-- PostgreSQL resolves unknown literals toward the string category, so this
-- overload makes funnel_report(actor, ts, '7 days', '{...}', step, ...)
-- work without a cast.  The text must be a JSON object.
CREATE AGGREGATE analytics.funnel_report(actor anyelement, ts timestamptz, "window" interval,
                                         options text, VARIADIC conds bool[]) (
    SFUNC = analytics.funnel_report_accum, STYPE = internal, FINALFUNC = analytics.funnel_report_final,
    COMBINEFUNC = analytics.funnel_report_combine, SERIALFUNC = analytics.funnel_report_serialize,
    DESERIALFUNC = analytics.funnel_report_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.funnel_report(anyelement, timestamptz, interval, text, bool[]) IS
'funnel_report with options written as an untyped JSON literal (same options as the jsonb form).';
