-- kmeans.sql: k-means clustering, assignment and silhouette scores
-- (src/kmeans.c, src/lib/kmeans.c).
--
-- State choice (DESIGN.md):
--   kmeans, kmeans_auto and silhouette need the points themselves (k-means
--   iterates over them), so their state is internal with serialize,
--   deserialize and combine functions: PARALLEL SAFE, the parallel workers
--   collect the points and the leader fits.  Under Citus an internal state
--   cannot be shipped, so Citus pulls the rows to the coordinator; use
--   option sample_size to bound what travels.
--   kmeans_refine and silhouette_simplified keep O(k * d) numbers in a
--   float8[] state with a combine function: they distribute (Citus ships
--   the state as text) and are the way to refine or score a model over a
--   big or distributed table.

CREATE TYPE analytics.kmeans_model AS (
    k int,
    dims int,
    centroids float8[],
    inertia float8,
    iterations int,
    converged bool,
    n bigint,
    rows bigint,
    cluster_sizes bigint[],
    scaling text,
    feature_mean float8[],
    feature_scale float8[],
    n_init int,
    seed bigint);
COMMENT ON TYPE analytics.kmeans_model IS
'A k-means model: centroids is a k x dims float8[][] in the units of the input features (row i + 1 is cluster i); inertia is the sum of squared distances of the n fitted points to their centroid, measured in the fitted space (standardized when scaling = ''zscore'', where feature_mean and feature_scale hold the standardization); iterations and converged describe the Lloyd iterations of the best of n_init runs; rows counts the rows with features (n is smaller when the model was fitted on a sample); cluster_sizes the points per cluster.';

CREATE TYPE analytics.kmeans_score AS (k int, inertia float8, silhouette float8, iterations int);
COMMENT ON TYPE analytics.kmeans_score IS
'The fit of one k in kmeans_auto: inertia (for an elbow plot), the exact mean silhouette on up to max_points points (NULL-like NaN when undefined), Lloyd iterations.';

CREATE TYPE analytics.kmeans_auto_result AS (
    k int, model analytics.kmeans_model, scores analytics.kmeans_score[]);
COMMENT ON TYPE analytics.kmeans_auto_result IS
'The result of kmeans_auto: the chosen k (highest silhouette; the smallest k on ties), its model, and the scores of every k tried.';

-- kmeans(features, k [, options])
CREATE FUNCTION analytics.kmeans_accum(internal, float8[], int)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_accum(internal, float8[], int, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'kmeans_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_final(internal)
RETURNS analytics.kmeans_model AS 'MODULE_PATHNAME', 'kmeans_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE analytics.kmeans(features float8[], k int) (
    SFUNC = analytics.kmeans_accum, STYPE = internal, FINALFUNC = analytics.kmeans_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE analytics.kmeans(features float8[], k int, options jsonb) (
    SFUNC = analytics.kmeans_accum, STYPE = internal, FINALFUNC = analytics.kmeans_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.kmeans(float8[], int) IS
'k-means clustering of the feature vectors into k clusters (k-means++ seeding, Hamerly-accelerated Lloyd iterations, best of 10 runs, seed 0). Rows with a NULL array or NULL element are skipped. Returns analytics.kmeans_model.';
COMMENT ON AGGREGATE analytics.kmeans(float8[], int, jsonb) IS
'kmeans with options: n_init (10), max_iter (300), tol (1e-4, relative to the mean feature variance), seed (0), standardize (false: z-score each feature first), sample_size (0: every point; else fit on a uniform sample of that many points), algorithm (hamerly or lloyd).';

-- kmeans_auto(features, k_min, k_max [, options])
CREATE FUNCTION analytics.kmeans_auto_accum(internal, float8[], int, int)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_auto_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_auto_accum(internal, float8[], int, int, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'kmeans_auto_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_auto_final(internal)
RETURNS analytics.kmeans_auto_result AS 'MODULE_PATHNAME', 'kmeans_auto_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE analytics.kmeans_auto(features float8[], k_min int, k_max int) (
    SFUNC = analytics.kmeans_auto_accum, STYPE = internal, FINALFUNC = analytics.kmeans_auto_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE analytics.kmeans_auto(features float8[], k_min int, k_max int, options jsonb) (
    SFUNC = analytics.kmeans_auto_accum, STYPE = internal, FINALFUNC = analytics.kmeans_auto_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.kmeans_auto(float8[], int, int) IS
'Fits kmeans for every k from k_min (>= 2) to k_max and picks the k with the highest mean silhouette (exact, on a uniform sample of up to 10000 points). Returns analytics.kmeans_auto_result: k, its model, and inertia and silhouette per k (elbow data).';
COMMENT ON AGGREGATE analytics.kmeans_auto(float8[], int, int, jsonb) IS
'kmeans_auto with the options of kmeans plus max_points (10000): the silhouette sample size.';

-- silhouette(features, cluster [, options])
CREATE FUNCTION analytics.silhouette_accum(internal, float8[], int)
RETURNS internal AS 'MODULE_PATHNAME', 'silhouette_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.silhouette_accum(internal, float8[], int, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'silhouette_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.silhouette_final(internal)
RETURNS float8 AS 'MODULE_PATHNAME', 'silhouette_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE analytics.silhouette(features float8[], cluster int) (
    SFUNC = analytics.silhouette_accum, STYPE = internal, FINALFUNC = analytics.silhouette_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE analytics.silhouette(features float8[], cluster int, options jsonb) (
    SFUNC = analytics.silhouette_accum, STYPE = internal, FINALFUNC = analytics.silhouette_final,
    FINALFUNC_MODIFY = READ_WRITE, COMBINEFUNC = analytics.kmeans_combine,
    SERIALFUNC = analytics.kmeans_serialize, DESERIALFUNC = analytics.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.silhouette(float8[], int) IS
'Exact mean silhouette coefficient (Euclidean) of labelled points, as scikit-learn''s silhouette_score; above 10000 points, exact on a uniform sample of 10000. Rows with NULL features or cluster are skipped; NULL for no rows.';
COMMENT ON AGGREGATE analytics.silhouette(float8[], int, jsonb) IS
'silhouette with options max_points (10000: the sample size; the cost is quadratic in it) and seed (0: which sample).';

-- kmeans_assign / kmeans_distance
CREATE FUNCTION analytics.kmeans_assign(model analytics.kmeans_model, features float8[])
RETURNS int AS 'MODULE_PATHNAME', 'kmeans_assign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.kmeans_assign(analytics.kmeans_model, float8[]) IS
'The 0-based cluster of the model nearest to the features (standardized as the model was fitted); the lowest cluster on ties. NULL for NULL features.';
CREATE FUNCTION analytics.kmeans_distance(model analytics.kmeans_model, features float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'kmeans_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.kmeans_distance(analytics.kmeans_model, float8[]) IS
'Euclidean distance from the features to the nearest centroid, in the fitted (standardized) space.';
CREATE FUNCTION analytics.kmeans_distance(model analytics.kmeans_model, features float8[], cluster int)
RETURNS float8 AS 'MODULE_PATHNAME', 'kmeans_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.kmeans_distance(analytics.kmeans_model, float8[], int) IS
'Euclidean distance from the features to the centroid of the given 0-based cluster, in the fitted space.';

-- kmeans_refine(model, features): one full-data Lloyd step, distributable
CREATE FUNCTION analytics.kmeans_refine_accum(float8[], analytics.kmeans_model, float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'kmeans_refine_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_refine_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'kmeans_refine_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.kmeans_refine_final(float8[])
RETURNS analytics.kmeans_model AS 'MODULE_PATHNAME', 'kmeans_refine_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE analytics.kmeans_refine(model analytics.kmeans_model, features float8[]) (
    SFUNC = analytics.kmeans_refine_accum, STYPE = float8[],
    FINALFUNC = analytics.kmeans_refine_final, COMBINEFUNC = analytics.kmeans_refine_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.kmeans_refine(analytics.kmeans_model, float8[]) IS
'One Lloyd step over all rows: assigns every row to the model''s nearest centroid and returns the model with each centroid moved to the mean of its rows (an empty cluster keeps its centroid), inertia and cluster_sizes of this assignment, n = rows, iterations + 1, and converged when the centroids moved less than 1e-4 of the mean feature variance. Run it after a kmeans fitted with sample_size for the full assignment pass, or repeatedly to refine; parallel and distributable.';

-- silhouette_simplified(model, features)
CREATE FUNCTION analytics.silhouette_simplified_accum(float8[], analytics.kmeans_model, float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'silhouette_simplified_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.silhouette_simplified_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'silhouette_simplified_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION analytics.silhouette_simplified_final(float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'silhouette_simplified_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE analytics.silhouette_simplified(model analytics.kmeans_model, features float8[]) (
    SFUNC = analytics.silhouette_simplified_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = analytics.silhouette_simplified_final,
    COMBINEFUNC = analytics.silhouette_simplified_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.silhouette_simplified(analytics.kmeans_model, float8[]) IS
'Simplified (centroid) silhouette of every row under the model: mean of (b - a) / max(a, b) with a the distance to the nearest centroid and b to the second nearest. Linear time, parallel and distributable.';

COMMENT ON FUNCTION analytics.kmeans_accum(internal, float8[], int) IS 'Transition function of kmeans.';
COMMENT ON FUNCTION analytics.kmeans_accum(internal, float8[], int, jsonb) IS 'Transition function of kmeans with options.';
COMMENT ON FUNCTION analytics.kmeans_combine(internal, internal) IS 'Combine function of kmeans, kmeans_auto and silhouette (merges the held points).';
COMMENT ON FUNCTION analytics.kmeans_serialize(internal) IS 'Serialize function of kmeans, kmeans_auto and silhouette.';
COMMENT ON FUNCTION analytics.kmeans_deserialize(bytea, internal) IS 'Deserialize function of kmeans, kmeans_auto and silhouette.';
COMMENT ON FUNCTION analytics.kmeans_final(internal) IS 'Final function of kmeans: fits the model.';
COMMENT ON FUNCTION analytics.kmeans_auto_accum(internal, float8[], int, int) IS 'Transition function of kmeans_auto.';
COMMENT ON FUNCTION analytics.kmeans_auto_accum(internal, float8[], int, int, jsonb) IS 'Transition function of kmeans_auto with options.';
COMMENT ON FUNCTION analytics.kmeans_auto_final(internal) IS 'Final function of kmeans_auto: fits every k and scores it.';
COMMENT ON FUNCTION analytics.silhouette_accum(internal, float8[], int) IS 'Transition function of silhouette.';
COMMENT ON FUNCTION analytics.silhouette_accum(internal, float8[], int, jsonb) IS 'Transition function of silhouette with options.';
COMMENT ON FUNCTION analytics.silhouette_final(internal) IS 'Final function of silhouette.';
COMMENT ON FUNCTION analytics.kmeans_refine_accum(float8[], analytics.kmeans_model, float8[]) IS 'Transition function of kmeans_refine (per-centroid sums and counts).';
COMMENT ON FUNCTION analytics.kmeans_refine_combine(float8[], float8[]) IS 'Combine function of kmeans_refine.';
COMMENT ON FUNCTION analytics.kmeans_refine_final(float8[]) IS 'Final function of kmeans_refine: the moved centroids as a model.';
COMMENT ON FUNCTION analytics.silhouette_simplified_accum(float8[], analytics.kmeans_model, float8[]) IS 'Transition function of silhouette_simplified.';
COMMENT ON FUNCTION analytics.silhouette_simplified_combine(float8[], float8[]) IS 'Combine function of silhouette_simplified.';
COMMENT ON FUNCTION analytics.silhouette_simplified_final(float8[]) IS 'Final function of silhouette_simplified.';
