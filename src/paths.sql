-- paths.sql: the path_summary type and its aggregates, path_transform()
-- (src/paths.c).
--
-- State type choice (DESIGN.md, "Aggregates and scale"): every path-based
-- attribution aggregate (path_summary, markov_*, shapley_attribution,
-- heuristic_attribution) keeps its state in the concrete varlena type
-- analytics.path_summary, not internal.  In memory the state is an expanded
-- object updated in place, so a transition costs a hash lookup, not a copy;
-- between parallel workers it travels flat, and Citus ships it through the
-- type's text I/O and merges partial states with the combine function.  So
-- these aggregates are PARALLEL SAFE with COMBINEFUNC and distributable by
-- Citus without a separate two-phase API.  A summary can also be stored
-- and fed later to the function forms (markov_attribution(summary, ...)).

CREATE TYPE analytics.path_summary;

CREATE FUNCTION analytics.path_summary_in(cstring)
RETURNS analytics.path_summary
AS 'MODULE_PATHNAME', 'path_summary_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION analytics.path_summary_out(analytics.path_summary)
RETURNS cstring
AS 'MODULE_PATHNAME', 'path_summary_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION analytics.path_summary_recv(internal)
RETURNS analytics.path_summary
AS 'MODULE_PATHNAME', 'path_summary_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION analytics.path_summary_send(analytics.path_summary)
RETURNS bytea
AS 'MODULE_PATHNAME', 'path_summary_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE analytics.path_summary (
    INPUT = analytics.path_summary_in,
    OUTPUT = analytics.path_summary_out,
    RECEIVE = analytics.path_summary_recv,
    SEND = analytics.path_summary_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);

COMMENT ON TYPE analytics.path_summary IS
'Distinct marketing paths (channel sequences) with their conversions, non-converting journeys (nulls) and conversion value; the state of the path-based attribution aggregates. Text form is JSON.';

COMMENT ON FUNCTION analytics.path_summary_in(cstring) IS 'Input function of analytics.path_summary (JSON).';
COMMENT ON FUNCTION analytics.path_summary_out(analytics.path_summary) IS 'Output function of analytics.path_summary (JSON).';
COMMENT ON FUNCTION analytics.path_summary_recv(internal) IS 'Binary input function of analytics.path_summary.';
COMMENT ON FUNCTION analytics.path_summary_send(analytics.path_summary) IS 'Binary output function of analytics.path_summary.';

CREATE FUNCTION analytics.path_summary_accum(analytics.path_summary, text[], float8, float8, float8)
RETURNS analytics.path_summary
AS 'MODULE_PATHNAME', 'path_summary_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.path_summary_accum(analytics.path_summary, text[], float8, float8, float8) IS
'Transition function of the path_summary aggregate.';

CREATE FUNCTION analytics.path_summary_combine(analytics.path_summary, analytics.path_summary)
RETURNS analytics.path_summary
AS 'MODULE_PATHNAME', 'path_summary_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.path_summary_combine(analytics.path_summary, analytics.path_summary) IS
'Combine function of every aggregate whose state is a path_summary: merges two partial states.';

CREATE AGGREGATE analytics.path_summary(path text[], conversions float8, nulls float8, value float8) (
    SFUNC = analytics.path_summary_accum,
    STYPE = analytics.path_summary,
    COMBINEFUNC = analytics.path_summary_combine,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE analytics.path_summary(text[], float8, float8, float8) IS
'Summarizes paths: rows with the same channel sequence add up their conversions, nulls (journeys without conversion) and value. Feed the result to markov_attribution, shapley_attribution or heuristic_attribution, or store it.';

CREATE FUNCTION analytics.path_summary_merge_accum(analytics.path_summary, analytics.path_summary)
RETURNS analytics.path_summary
AS 'MODULE_PATHNAME', 'path_summary_merge_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.path_summary_merge_accum(analytics.path_summary, analytics.path_summary) IS
'Transition function of the path_summary(path_summary) merge aggregate.';

CREATE AGGREGATE analytics.path_summary(analytics.path_summary) (
    SFUNC = analytics.path_summary_merge_accum,
    STYPE = analytics.path_summary,
    COMBINEFUNC = analytics.path_summary_combine,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE analytics.path_summary(analytics.path_summary) IS
'Merges stored path summaries (for example one per day or per shard) into one.';

CREATE FUNCTION analytics.path_summary_paths(summary analytics.path_summary)
RETURNS TABLE (path text[], conversions float8, nulls float8, value float8)
AS 'MODULE_PATHNAME', 'path_summary_paths'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION analytics.path_summary_paths(analytics.path_summary) IS
'The distinct paths of a summary with their conversions, nulls and value.';

CREATE FUNCTION analytics.path_transform(path text[], transform text,
                                         channel text DEFAULT NULL, n int DEFAULT NULL)
RETURNS text[]
AS 'MODULE_PATHNAME', 'path_transform'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.path_transform(text[], text, text, int) IS
'Path transforms: unique (as is), exposure (collapse consecutive repeats), first (first occurrence of each channel), frequency (first occurrences tagged with counts, e.g. search(2)), remove_if_not_all (drop channel unless the path is only that channel), remove_if_last_and_not_all (drop trailing copies of channel unless the path is only that channel), trim_long (keep the last n touches).';
