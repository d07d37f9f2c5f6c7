-- markov.sql: exact Markov-chain attribution (src/markov.c, src/lib/markov.c).
-- The aggregates keep a path_summary state (see paths.sql for the Citus and
-- parallel choice) and pass order and options to the final function inside
-- it; each also exists as a function of a stored summary.

CREATE TYPE analytics.markov_credit AS (
    channel text, conversions float8, value float8, removal_effect float8,
    value_removal_effect float8);

COMMENT ON TYPE analytics.markov_credit IS
'Markov attribution of a channel: attributed conversions and value, and the removal effects (share of conversion probability, and of expected value, lost without the channel).';

CREATE TYPE analytics.markov_transition AS (
    from_state text, to_state text, probability float8, weight float8);

COMMENT ON TYPE analytics.markov_transition IS
'One transition of the Markov chain: states are (start), (conversion), (null) or channel windows such as ''search > email''.';

CREATE TYPE analytics.markov_order_score AS (
    "order" int, states int, auc float8, log_loss float8, selected bool);

COMMENT ON TYPE analytics.markov_order_score IS
'Held-out predictive quality of a Markov order: AUC and log loss of predicting conversion from the last state, over paths unseen in training.';

-- transition functions, one per aggregate arity
CREATE FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8, int)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8, int, jsonb)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_final(analytics.path_summary)
RETURNS analytics.markov_credit[] AS 'MODULE_PATHNAME', 'markov_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8) IS 'Transition function of markov_attribution.';
COMMENT ON FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8, int) IS 'Transition function of markov_attribution with an order.';
COMMENT ON FUNCTION analytics.markov_accum(analytics.path_summary, text[], float8, float8, float8, int, jsonb) IS 'Transition function of markov_attribution with an order and options.';
COMMENT ON FUNCTION analytics.markov_final(analytics.path_summary) IS 'Final function of markov_attribution.';

CREATE AGGREGATE analytics.markov_attribution(path text[], conversions float8, nulls float8, value float8) (
    SFUNC = analytics.markov_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.markov_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_attribution(path text[], conversions float8, nulls float8, value float8,
                                              "order" int) (
    SFUNC = analytics.markov_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.markov_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_attribution(path text[], conversions float8, nulls float8, value float8,
                                              "order" int, options jsonb) (
    SFUNC = analytics.markov_accum, STYPE = analytics.path_summary, FINALFUNC = analytics.markov_final,
    COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);

COMMENT ON AGGREGATE analytics.markov_attribution(text[], float8, float8, float8) IS
'Removal-effect attribution on the absorbing Markov chain of the paths, solved exactly (order 1). Rows with the same path add up. Returns analytics.markov_credit[] sorted by channel.';
COMMENT ON AGGREGATE analytics.markov_attribution(text[], float8, float8, float8, int) IS
'markov_attribution of order k: states are windows of the last k channels.';
COMMENT ON AGGREGATE analytics.markov_attribution(text[], float8, float8, float8, int, jsonb) IS
'markov_attribution with options: use_nulls (default true: weight transitions by conversions + nulls; false: converting paths only), collapse (default true: merge consecutive repeats of a channel), max_states.';

CREATE FUNCTION analytics.markov_attribution(summary analytics.path_summary, model_order int DEFAULT 1,
                                             options jsonb DEFAULT NULL)
RETURNS analytics.markov_credit[] AS 'MODULE_PATHNAME', 'markov_attribution_summary'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_attribution(analytics.path_summary, int, jsonb) IS
'Markov attribution of a stored path summary.';

CREATE FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_matrix_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8, int)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_matrix_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8, int, jsonb)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_matrix_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_matrix_final(analytics.path_summary)
RETURNS analytics.markov_transition[] AS 'MODULE_PATHNAME', 'markov_matrix_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8) IS 'Transition function of markov_transition_matrix.';
COMMENT ON FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8, int) IS 'Transition function of markov_transition_matrix with an order.';
COMMENT ON FUNCTION analytics.markov_matrix_accum(analytics.path_summary, text[], float8, float8, int, jsonb) IS 'Transition function of markov_transition_matrix with an order and options.';
COMMENT ON FUNCTION analytics.markov_matrix_final(analytics.path_summary) IS 'Final function of markov_transition_matrix.';

CREATE AGGREGATE analytics.markov_transition_matrix(path text[], conversions float8, nulls float8) (
    SFUNC = analytics.markov_matrix_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_matrix_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_transition_matrix(path text[], conversions float8, nulls float8, "order" int) (
    SFUNC = analytics.markov_matrix_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_matrix_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_transition_matrix(path text[], conversions float8, nulls float8, "order" int,
                                                    options jsonb) (
    SFUNC = analytics.markov_matrix_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_matrix_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);

COMMENT ON AGGREGATE analytics.markov_transition_matrix(text[], float8, float8) IS
'The transition matrix of the Markov chain of the paths (order 1) with state names, as analytics.markov_transition[].';
COMMENT ON AGGREGATE analytics.markov_transition_matrix(text[], float8, float8, int) IS
'The transition matrix of the order-k Markov chain of the paths.';
COMMENT ON AGGREGATE analytics.markov_transition_matrix(text[], float8, float8, int, jsonb) IS
'The transition matrix of the order-k Markov chain, with options use_nulls, collapse, max_states.';

CREATE FUNCTION analytics.markov_transition_matrix(summary analytics.path_summary, model_order int DEFAULT 1,
                                                   options jsonb DEFAULT NULL)
RETURNS analytics.markov_transition[] AS 'MODULE_PATHNAME', 'markov_matrix_summary'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_transition_matrix(analytics.path_summary, int, jsonb) IS
'The Markov transition matrix of a stored path summary.';

CREATE FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_order_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8, int)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_order_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8, int, jsonb)
RETURNS analytics.path_summary AS 'MODULE_PATHNAME', 'markov_order_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.markov_order_final(analytics.path_summary)
RETURNS analytics.markov_order_score[] AS 'MODULE_PATHNAME', 'markov_order_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8) IS 'Transition function of markov_order_selection.';
COMMENT ON FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8, int) IS 'Transition function of markov_order_selection with a maximum order.';
COMMENT ON FUNCTION analytics.markov_order_accum(analytics.path_summary, text[], float8, float8, int, jsonb) IS 'Transition function of markov_order_selection with a maximum order and options.';
COMMENT ON FUNCTION analytics.markov_order_final(analytics.path_summary) IS 'Final function of markov_order_selection.';

CREATE AGGREGATE analytics.markov_order_selection(path text[], conversions float8, nulls float8) (
    SFUNC = analytics.markov_order_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_order_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_order_selection(path text[], conversions float8, nulls float8, max_order int) (
    SFUNC = analytics.markov_order_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_order_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.markov_order_selection(path text[], conversions float8, nulls float8, max_order int,
                                                  options jsonb) (
    SFUNC = analytics.markov_order_accum, STYPE = analytics.path_summary,
    FINALFUNC = analytics.markov_order_final, COMBINEFUNC = analytics.path_summary_combine, PARALLEL = SAFE);

COMMENT ON AGGREGATE analytics.markov_order_selection(text[], float8, float8) IS
'Scores Markov orders 1 to 4 by how well they predict conversion on held-out journeys (5 folds): AUC and log loss; selected marks the order with the lowest held-out log loss.';
COMMENT ON AGGREGATE analytics.markov_order_selection(text[], float8, float8, int) IS
'Scores Markov orders 1 to max_order on held-out paths.';
COMMENT ON AGGREGATE analytics.markov_order_selection(text[], float8, float8, int, jsonb) IS
'Scores Markov orders 1 to max_order on held-out paths, with options folds (2 to 20), collapse, use_nulls, max_states.';

CREATE FUNCTION analytics.markov_order_selection(summary analytics.path_summary, max_order int DEFAULT 4,
                                                 options jsonb DEFAULT NULL)
RETURNS analytics.markov_order_score[] AS 'MODULE_PATHNAME', 'markov_order_summary'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION analytics.markov_order_selection(analytics.path_summary, int, jsonb) IS
'Markov order selection on a stored path summary.';
