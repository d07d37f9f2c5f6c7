-- shapley.sql: Shapley-value attribution (src/shapley.c, src/lib/shapley.c).
-- State: path_summary (see paths.sql): parallel and distributable.

CREATE TYPE analytics.shapley_credit AS (
    channel text, "position" int, conversions float8, value float8);

COMMENT ON TYPE analytics.shapley_credit IS
'Shapley credit of a channel; position (1-based order of first touch) is set by the ordered method only.';

CREATE FUNCTION analytics.shapley_accum(analytics.path_summary, text[], float8, float8)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'shapley_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.shapley_accum(analytics.path_summary, text[], float8, float8, text)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'shapley_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.shapley_summary_accum(analytics.path_summary, text[], float8, float8, float8, text)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'shapley_summary_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.shapley_final(analytics.path_summary)
RETURNS analytics.shapley_credit[] AS 'MODULE_PATHNAME', 'shapley_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.shapley_accum(analytics.path_summary, text[], float8, float8) IS 'Transition function of shapley_attribution over journeys.';
COMMENT ON FUNCTION analytics.shapley_accum(analytics.path_summary, text[], float8, float8, text) IS 'Transition function of shapley_attribution over journeys with a method.';
COMMENT ON FUNCTION analytics.shapley_summary_accum(analytics.path_summary, text[], float8, float8, float8, text) IS 'Transition function of shapley_attribution over path summaries.';
COMMENT ON FUNCTION analytics.shapley_final(analytics.path_summary) IS 'Final function of shapley_attribution.';

CREATE AGGREGATE analytics.shapley_attribution(path text[], conversions float8, value float8) (
    SFUNC = analytics.shapley_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.shapley_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.shapley_attribution(path text[], conversions float8, value float8, method text) (
    SFUNC = analytics.shapley_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.shapley_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.shapley_attribution(path text[], conversions float8, nulls float8, value float8,
                                               method text) (
    SFUNC = analytics.shapley_summary_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.shapley_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);

COMMENT ON AGGREGATE analytics.shapley_attribution(text[], float8, float8) IS
'Simplified Shapley attribution (Zhao et al. 2018) over journeys, one row each: every converting journey''s conversions and value are split equally over its distinct channels. No channel cap.';
COMMENT ON AGGREGATE analytics.shapley_attribution(text[], float8, float8, text) IS
'Shapley attribution over journeys (one row each; a row with conversions below 1 also counts the journeys that did not convert): methods simplified, ordered (credit per channel and first-touch position) and standard (exact Shapley value of the coalition conversion-rate game, up to 24 channels).';
COMMENT ON AGGREGATE analytics.shapley_attribution(text[], float8, float8, float8, text) IS
'Shapley attribution over path summaries with conversions and nulls (non-converting journeys) per path; methods simplified, ordered, standard.';

CREATE FUNCTION analytics.shapley_attribution(summary analytics.path_summary, method text DEFAULT 'simplified')
RETURNS analytics.shapley_credit[] AS 'MODULE_PATHNAME', 'shapley_attribution_summary'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.shapley_attribution(analytics.path_summary, text) IS
'Shapley attribution of a stored path summary.';
