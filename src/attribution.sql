-- attribution.sql: rule-based attribution (src/attribution.c): the
-- touch_credit aggregate over one conversion's touches, and
-- heuristic_attribution over paths.
--
-- touch_credit keeps an internal state and has no combine function on
-- purpose: ties between touches at the same time keep their input order,
-- which partial aggregation in parallel workers cannot preserve.  It is
-- grouped by conversion, so each group is small; the scan below it can still
-- run in parallel.  heuristic_attribution's state is a path_summary (see
-- paths.sql): parallel and distributable.

CREATE TYPE analytics.channel_credit AS (channel text, credit float8);

COMMENT ON TYPE analytics.channel_credit IS
'Credit of a channel (or of one touch) in one conversion; the credits of a conversion sum to 1.';

CREATE TYPE analytics.channel_value AS (channel text, conversions float8, value float8);

COMMENT ON TYPE analytics.channel_value IS
'Conversions and conversion value attributed to a channel.';

CREATE FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'touch_credit_accum' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'touch_credit_accum' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz, jsonb, text)
RETURNS internal AS 'MODULE_PATHNAME', 'touch_credit_accum' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION analytics.touch_credit_final(internal)
RETURNS analytics.channel_credit[] AS 'MODULE_PATHNAME', 'touch_credit_final' LANGUAGE C PARALLEL SAFE;

COMMENT ON FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz) IS
'Transition function of touch_credit.';
COMMENT ON FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz, jsonb) IS
'Transition function of touch_credit with options.';
COMMENT ON FUNCTION analytics.touch_credit_accum(internal, text, text, timestamptz, timestamptz, jsonb, text) IS
'Transition function of touch_credit with options and milestones.';
COMMENT ON FUNCTION analytics.touch_credit_final(internal) IS
'Final function of touch_credit.';

CREATE AGGREGATE analytics.touch_credit(model text, channel text, touched_at timestamptz,
                                        converted_at timestamptz) (
    SFUNC = analytics.touch_credit_accum, STYPE = internal,
    FINALFUNC = analytics.touch_credit_final, PARALLEL = SAFE
);
CREATE AGGREGATE analytics.touch_credit(model text, channel text, touched_at timestamptz,
                                        converted_at timestamptz, options jsonb) (
    SFUNC = analytics.touch_credit_accum, STYPE = internal,
    FINALFUNC = analytics.touch_credit_final, PARALLEL = SAFE
);
CREATE AGGREGATE analytics.touch_credit(model text, channel text, touched_at timestamptz,
                                        converted_at timestamptz, options jsonb, milestone text) (
    SFUNC = analytics.touch_credit_accum, STYPE = internal,
    FINALFUNC = analytics.touch_credit_final, PARALLEL = SAFE
);

COMMENT ON AGGREGATE analytics.touch_credit(text, text, timestamptz, timestamptz) IS
'Credit of each channel in one conversion (group by the conversion): models first_touch, last_touch, last_non_direct, linear, time_decay, position_based, custom. Touches after converted_at are ignored; ties in time keep input order. Returns NULL when no touch precedes the conversion.';
COMMENT ON AGGREGATE analytics.touch_credit(text, text, timestamptz, timestamptz, jsonb) IS
'touch_credit with options: half_life (days or interval, time_decay), weights (position_based [first, middle, last]; custom [w1, w2, ...]), direct (last_non_direct), anchor (custom: first or last), per_touch (one element per touch).';
COMMENT ON AGGREGATE analytics.touch_credit(text, text, timestamptz, timestamptz, jsonb, text) IS
'touch_credit with a milestone per touch (lead, opportunity or NULL) for the w_shaped model; weights [first, lead, opportunity, rest].';

CREATE FUNCTION analytics.heuristic_accum(analytics.path_summary, text[], float8, float8, text)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'heuristic_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.heuristic_accum(analytics.path_summary, text[], float8, float8, text, jsonb)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'heuristic_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.heuristic_final(analytics.path_summary)
RETURNS analytics.channel_value[] AS 'MODULE_PATHNAME', 'heuristic_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.heuristic_accum(analytics.path_summary, text[], float8, float8, text) IS
'Transition function of heuristic_attribution.';
COMMENT ON FUNCTION analytics.heuristic_accum(analytics.path_summary, text[], float8, float8, text, jsonb) IS
'Transition function of heuristic_attribution with options.';
COMMENT ON FUNCTION analytics.heuristic_final(analytics.path_summary) IS
'Final function of heuristic_attribution.';

CREATE AGGREGATE analytics.heuristic_attribution(path text[], conversions float8, value float8, model text) (
    SFUNC = analytics.heuristic_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.heuristic_final, COMBINEFUNC = analytics.path_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE analytics.heuristic_attribution(path text[], conversions float8, value float8, model text,
                                                 options jsonb) (
    SFUNC = analytics.heuristic_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.heuristic_final, COMBINEFUNC = analytics.path_summary_combine,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE analytics.heuristic_attribution(text[], float8, float8, text) IS
'Rule-based attribution over path summaries (ChannelAttribution''s input shape): first_touch, last_touch, last_non_direct, linear, position_based, w_shaped, custom; returns analytics.channel_value[] sorted by channel.';
COMMENT ON AGGREGATE analytics.heuristic_attribution(text[], float8, float8, text, jsonb) IS
'heuristic_attribution with options: weights, direct, anchor, lead_position and opportunity_position (w_shaped, 1-based).';

CREATE FUNCTION analytics.heuristic_attribution(summary analytics.path_summary, model text,
                                                options jsonb DEFAULT NULL)
RETURNS analytics.channel_value[]
AS 'MODULE_PATHNAME', 'heuristic_attribution_summary'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.heuristic_attribution(analytics.path_summary, text, jsonb) IS
'Rule-based attribution of a stored path summary.';
