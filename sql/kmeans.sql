-- kmeans, kmeans_assign, kmeans_distance, kmeans_refine, silhouette,
-- silhouette_simplified, kmeans_auto: hand-derived fixtures, scikit-learn
-- reference values on the iris data, determinism, parallel plans, errors.
CREATE SCHEMA t_kmeans;
SET search_path = t_kmeans;
SET extra_float_digits = 0;

-- ---------------------------------------------------------------------------
-- Hand-derived: the points 0, 1, 10, 11 in one dimension.  Two clusters:
-- {0, 1} with mean 0.5 and {10, 11} with mean 10.5; inertia = 4 * 0.5^2 = 1.
CREATE TABLE line (id int, f float8[]);
INSERT INTO line VALUES (1, '{0}'), (2, '{1}'), (3, '{10}'), (4, '{11}');
SELECT m.k, m.dims, m.inertia, m.converged, m.n, m.rows, m.scaling, m.n_init, m.seed,
       (SELECT array_agg(c ORDER BY c) FROM unnest(m.centroids) c) AS centroids,
       (SELECT array_agg(s ORDER BY s) FROM unnest(m.cluster_sizes) s) AS sizes
FROM (SELECT (analytics.kmeans(f, 2)).* FROM line) m;

-- k = 1: the centroid is the mean 5.5 and the inertia the sum of squared
-- deviations 5.5^2 + 4.5^2 + 4.5^2 + 5.5^2 = 101.
SELECT (m).centroids, (m).inertia FROM (SELECT analytics.kmeans(f, 1) AS m FROM line) s;
-- k = n: every point is its own centroid, inertia 0.
SELECT (SELECT array_agg(c ORDER BY c) FROM unnest((m).centroids) c), (m).inertia
FROM (SELECT analytics.kmeans(f, 4) AS m FROM line) s;

-- Two dimensions: pairs (0,0),(0,2) and (10,0),(10,2) and a far point
-- (5,20).  k = 3: centroids (0,1), (10,1), (5,20); inertia 1+1+1+1+0 = 4.
CREATE TABLE plane (f float8[]);
INSERT INTO plane VALUES ('{0,0}'), ('{0,2}'), ('{10,0}'), ('{10,2}'), ('{5,20}');
SELECT (m).inertia, (m).converged,
       (SELECT array_agg(format('(%s,%s)', (m).centroids[i][1], (m).centroids[i][2])
                         ORDER BY (m).centroids[i][1], (m).centroids[i][2])
        FROM generate_subscripts((m).centroids, 1) i) AS centroids
FROM (SELECT analytics.kmeans(f, 3) AS m FROM plane) s;

-- Assignment and distances against that model: each point goes to its own
-- pair; (5,20) is 0 from its centroid, (0,0) is 1 from (0,1), and the
-- point (5,1) is 5 from both (0,1) and (10,1): the tie goes to the lower
-- cluster number.  kmeans_distance(.., cluster) measures to a given centroid.
CREATE TABLE plane_model AS SELECT analytics.kmeans(f, 3) AS m FROM plane;
SELECT p.f, analytics.kmeans_distance(m, p.f) AS dist,
       ARRAY[(m).centroids[c + 1][1], (m).centroids[c + 1][2]] AS centroid
FROM plane p, plane_model, LATERAL analytics.kmeans_assign(m, p.f) c ORDER BY p.f;
SELECT analytics.kmeans_distance(m, '{5,1}') AS tie_distance,
       analytics.kmeans_assign(m, '{5,1}') = least(analytics.kmeans_assign(m, '{0,0}'),
                                                   analytics.kmeans_assign(m, '{10,0}')) AS lower_cluster_wins,
       analytics.kmeans_distance(m, '{5,20}', analytics.kmeans_assign(m, '{0,0}')) AS to_pair_0_1,
       analytics.kmeans_assign(m, NULL) IS NULL AS null_features
FROM plane_model;
-- the cluster sizes agree with the assignments
SELECT (SELECT array_agg(s ORDER BY s) FROM unnest((m).cluster_sizes) s) AS sizes,
       (SELECT array_agg(c ORDER BY c) FROM (SELECT count(*) c FROM plane
         GROUP BY analytics.kmeans_assign(m, f)) g) AS assigned
FROM plane_model;

-- Standardization: features (x, 1000 x) standardized are identical
-- columns, so with k = 2 on x in {0, 1, 10, 11} the clusters are as above;
-- the centroids come back in input units and the model keeps the scaling.
SELECT (m).scaling, (m).feature_mean, round((m).feature_scale[1]::numeric, 6) AS scale1,
       round((m).feature_scale[2]::numeric, 3) AS scale2,
       (SELECT array_agg(round(c::numeric, 9) ORDER BY c) FROM unnest((m).centroids) c) AS centroids,
       -- the inertia is measured in z units: 4 points * 2 features * (0.5 / 5.024938)^2
       round((m).inertia::numeric, 6) AS inertia_z
FROM (SELECT analytics.kmeans(ARRAY[f[1], 1000 * f[1]], 2, '{"standardize": true}') AS m FROM line) s;
-- 4 * 2 * (0.5 / sqrt(25.25))^2 = 8 * 0.25 / 25.25
SELECT round(8 * 0.25 / 25.25, 6) AS expected_inertia_z;

-- ---------------------------------------------------------------------------
-- Iris (Fisher 1936; the copy shipped with scikit-learn).  Reference values
-- from scikit-learn 1.2.1 KMeans(n_init=10), best of 5 seeds:
-- k=2 152.347951760358, k=3 78.851441426146, k=4 57.2284732142857,
-- k=5 46.4461820512821; standardized k=3 139.820496359750.
-- silhouette_score(X, species) = 0.503477440693296.
CREATE TABLE iris (sepal_length float8, sepal_width float8, petal_length float8,
                   petal_width float8, species int);
COPY iris FROM stdin WITH (FORMAT csv);
5.1,3.5,1.4,0.2,0
4.9,3.0,1.4,0.2,0
4.7,3.2,1.3,0.2,0
4.6,3.1,1.5,0.2,0
5.0,3.6,1.4,0.2,0
5.4,3.9,1.7,0.4,0
4.6,3.4,1.4,0.3,0
5.0,3.4,1.5,0.2,0
4.4,2.9,1.4,0.2,0
4.9,3.1,1.5,0.1,0
5.4,3.7,1.5,0.2,0
4.8,3.4,1.6,0.2,0
4.8,3.0,1.4,0.1,0
4.3,3.0,1.1,0.1,0
5.8,4.0,1.2,0.2,0
5.7,4.4,1.5,0.4,0
5.4,3.9,1.3,0.4,0
5.1,3.5,1.4,0.3,0
5.7,3.8,1.7,0.3,0
5.1,3.8,1.5,0.3,0
5.4,3.4,1.7,0.2,0
5.1,3.7,1.5,0.4,0
4.6,3.6,1.0,0.2,0
5.1,3.3,1.7,0.5,0
4.8,3.4,1.9,0.2,0
5.0,3.0,1.6,0.2,0
5.0,3.4,1.6,0.4,0
5.2,3.5,1.5,0.2,0
5.2,3.4,1.4,0.2,0
4.7,3.2,1.6,0.2,0
4.8,3.1,1.6,0.2,0
5.4,3.4,1.5,0.4,0
5.2,4.1,1.5,0.1,0
5.5,4.2,1.4,0.2,0
4.9,3.1,1.5,0.2,0
5.0,3.2,1.2,0.2,0
5.5,3.5,1.3,0.2,0
4.9,3.6,1.4,0.1,0
4.4,3.0,1.3,0.2,0
5.1,3.4,1.5,0.2,0
5.0,3.5,1.3,0.3,0
4.5,2.3,1.3,0.3,0
4.4,3.2,1.3,0.2,0
5.0,3.5,1.6,0.6,0
5.1,3.8,1.9,0.4,0
4.8,3.0,1.4,0.3,0
5.1,3.8,1.6,0.2,0
4.6,3.2,1.4,0.2,0
5.3,3.7,1.5,0.2,0
5.0,3.3,1.4,0.2,0
7.0,3.2,4.7,1.4,1
6.4,3.2,4.5,1.5,1
6.9,3.1,4.9,1.5,1
5.5,2.3,4.0,1.3,1
6.5,2.8,4.6,1.5,1
5.7,2.8,4.5,1.3,1
6.3,3.3,4.7,1.6,1
4.9,2.4,3.3,1.0,1
6.6,2.9,4.6,1.3,1
5.2,2.7,3.9,1.4,1
5.0,2.0,3.5,1.0,1
5.9,3.0,4.2,1.5,1
6.0,2.2,4.0,1.0,1
6.1,2.9,4.7,1.4,1
5.6,2.9,3.6,1.3,1
6.7,3.1,4.4,1.4,1
5.6,3.0,4.5,1.5,1
5.8,2.7,4.1,1.0,1
6.2,2.2,4.5,1.5,1
5.6,2.5,3.9,1.1,1
5.9,3.2,4.8,1.8,1
6.1,2.8,4.0,1.3,1
6.3,2.5,4.9,1.5,1
6.1,2.8,4.7,1.2,1
6.4,2.9,4.3,1.3,1
6.6,3.0,4.4,1.4,1
6.8,2.8,4.8,1.4,1
6.7,3.0,5.0,1.7,1
6.0,2.9,4.5,1.5,1
5.7,2.6,3.5,1.0,1
5.5,2.4,3.8,1.1,1
5.5,2.4,3.7,1.0,1
5.8,2.7,3.9,1.2,1
6.0,2.7,5.1,1.6,1
5.4,3.0,4.5,1.5,1
6.0,3.4,4.5,1.6,1
6.7,3.1,4.7,1.5,1
6.3,2.3,4.4,1.3,1
5.6,3.0,4.1,1.3,1
5.5,2.5,4.0,1.3,1
5.5,2.6,4.4,1.2,1
6.1,3.0,4.6,1.4,1
5.8,2.6,4.0,1.2,1
5.0,2.3,3.3,1.0,1
5.6,2.7,4.2,1.3,1
5.7,3.0,4.2,1.2,1
5.7,2.9,4.2,1.3,1
6.2,2.9,4.3,1.3,1
5.1,2.5,3.0,1.1,1
5.7,2.8,4.1,1.3,1
6.3,3.3,6.0,2.5,2
5.8,2.7,5.1,1.9,2
7.1,3.0,5.9,2.1,2
6.3,2.9,5.6,1.8,2
6.5,3.0,5.8,2.2,2
7.6,3.0,6.6,2.1,2
4.9,2.5,4.5,1.7,2
7.3,2.9,6.3,1.8,2
6.7,2.5,5.8,1.8,2
7.2,3.6,6.1,2.5,2
6.5,3.2,5.1,2.0,2
6.4,2.7,5.3,1.9,2
6.8,3.0,5.5,2.1,2
5.7,2.5,5.0,2.0,2
5.8,2.8,5.1,2.4,2
6.4,3.2,5.3,2.3,2
6.5,3.0,5.5,1.8,2
7.7,3.8,6.7,2.2,2
7.7,2.6,6.9,2.3,2
6.0,2.2,5.0,1.5,2
6.9,3.2,5.7,2.3,2
5.6,2.8,4.9,2.0,2
7.7,2.8,6.7,2.0,2
6.3,2.7,4.9,1.8,2
6.7,3.3,5.7,2.1,2
7.2,3.2,6.0,1.8,2
6.2,2.8,4.8,1.8,2
6.1,3.0,4.9,1.8,2
6.4,2.8,5.6,2.1,2
7.2,3.0,5.8,1.6,2
7.4,2.8,6.1,1.9,2
7.9,3.8,6.4,2.0,2
6.4,2.8,5.6,2.2,2
6.3,2.8,5.1,1.5,2
6.1,2.6,5.6,1.4,2
7.7,3.0,6.1,2.3,2
6.3,3.4,5.6,2.4,2
6.4,3.1,5.5,1.8,2
6.0,3.0,4.8,1.8,2
6.9,3.1,5.4,2.1,2
6.7,3.1,5.6,2.4,2
6.9,3.1,5.1,2.3,2
5.8,2.7,5.1,1.9,2
6.8,3.2,5.9,2.3,2
6.7,3.3,5.7,2.5,2
6.7,3.0,5.2,2.3,2
6.3,2.5,5.0,1.9,2
6.5,3.0,5.2,2.0,2
6.2,3.4,5.4,2.3,2
5.9,3.0,5.1,1.8,2
\.
CREATE VIEW iris_f AS
SELECT ARRAY[sepal_length, sepal_width, petal_length, petal_width] AS f, species FROM iris;

SELECT k, round((analytics.kmeans(f, k)).inertia::numeric, 6) AS inertia
FROM iris_f, generate_series(2, 5) k GROUP BY k ORDER BY k;
SELECT round((analytics.kmeans(f, 3, '{"standardize": true}')).inertia::numeric, 6) AS standardized_inertia
FROM iris_f;
-- the k = 3 centroids, each coordinate sorted (scikit-learn: 5.006 5.901613
-- 6.85 | 2.748387 3.073684 3.428 | 1.462 4.393548 5.742105 | 0.246 1.433871
-- 2.071053)
SELECT j, array_agg(round(c::numeric, 6) ORDER BY c) AS centroids
FROM (SELECT analytics.kmeans(f, 3) AS m FROM iris_f) s,
     LATERAL (SELECT j, (s.m).centroids[i][j] AS c
              FROM generate_subscripts((s.m).centroids, 1) i, generate_subscripts((s.m).centroids, 2) j) x
GROUP BY j ORDER BY j;
-- plain Lloyd gives the same model as Hamerly's bounds
SELECT (SELECT analytics.kmeans(f, 3, '{"algorithm": "lloyd"}') FROM iris_f)
     = (SELECT analytics.kmeans(f, 3) FROM iris_f) AS lloyd_equals_hamerly;
-- silhouette with the species as clusters, and with the k = 3 clusters
-- (scikit-learn: 0.552819012356409)
SELECT round(analytics.silhouette(f, species)::numeric, 9) AS species_silhouette FROM iris_f;
SELECT round(analytics.silhouette(f, analytics.kmeans_assign(m, f))::numeric, 9) AS k3_silhouette
FROM iris_f, (SELECT analytics.kmeans(f, 3) AS m FROM iris_f) s;

-- ---------------------------------------------------------------------------
-- Determinism: the model depends on the points and the seed, not the row
-- order; another seed may find another local optimum but is repeatable.
SELECT (SELECT analytics.kmeans(f, 4) FROM (SELECT f FROM iris_f ORDER BY f) o)
     = (SELECT analytics.kmeans(f, 4) FROM (SELECT f FROM iris_f ORDER BY f DESC) o) AS order_independent,
       (SELECT analytics.kmeans(f, 4, '{"seed": 7, "n_init": 1}') FROM iris_f)
     = (SELECT analytics.kmeans(f, 4, '{"seed": 7, "n_init": 1}') FROM iris_f) AS repeatable;
-- n_init: the best of 10 runs is at least as good as the first run alone
SELECT (SELECT (analytics.kmeans(f, 5, '{"n_init": 10}')).inertia FROM iris_f)
    <= (SELECT (analytics.kmeans(f, 5, '{"n_init": 1}')).inertia FROM iris_f) AS best_of_runs;
-- max_iter bounds the iterations and reports no convergence
SELECT (m).iterations, (m).converged
FROM (SELECT analytics.kmeans(f, 3, '{"max_iter": 1, "n_init": 1}') AS m FROM iris_f) s;

-- ---------------------------------------------------------------------------
-- Silhouette by hand on 0, 1, 10, 11 with clusters {0,1}, {10,11}:
-- s(0) = (10.5 - 1) / 10.5, s(1) = (9.5 - 1) / 9.5, s(10) = s(1), s(11) = s(0),
-- mean = (9.5 / 10.5 + 8.5 / 9.5) / 2 = 0.899749373...
SELECT round(analytics.silhouette(f, (id > 2)::int)::numeric, 9) AS silhouette,
       round(((9.5 / 10.5 + 8.5 / 9.5) / 2)::numeric, 9) AS by_hand
FROM line;
-- a singleton cluster contributes 0: clusters {0,1,10} and {11}:
-- s(0): a = (1 + 10) / 2 = 5.5, b = 11, s = 5.5 / 11 = 0.5
-- s(1): a = (1 + 9) / 2 = 5, b = 10, s = 0.5
-- s(10): a = (10 + 9) / 2 = 9.5, b = 1, s = (1 - 9.5) / 9.5
-- s(11) = 0; mean = (0.5 + 0.5 - 8.5 / 9.5 + 0) / 4
SELECT round(analytics.silhouette(f, (id = 4)::int)::numeric, 9) AS silhouette,
       round(((1 - 8.5 / 9.5) / 4)::numeric, 9) AS by_hand
FROM line;
-- cluster labels can be any integers; NULL labels and features are skipped
SELECT round(analytics.silhouette(f, CASE WHEN id > 2 THEN -7 ELSE 1000 END)::numeric, 9)
FROM (SELECT * FROM line UNION ALL SELECT 5, NULL UNION ALL SELECT 6, '{3}') x
WHERE id <> 6 OR f IS NULL;
-- simplified silhouette against the model {0.5}, {10.5}:
-- (10 / 10.5 + 9 / 9.5 + 9 / 9.5 + 10 / 10.5) / 4 = 0.949874687...
SELECT round(analytics.silhouette_simplified(m, f)::numeric, 9) AS simplified,
       round(((10 / 10.5 + 9 / 9.5) / 2)::numeric, 9) AS by_hand
FROM line, (SELECT analytics.kmeans(f, 2) AS m FROM line) s;

-- ---------------------------------------------------------------------------
-- kmeans_refine: one Lloyd step from a hand-made model with centroids 0
-- and 5.  0 and 1 go to 0, 10 and 11 to 5; new centroids 0.5 and 10.5;
-- inertia against the old centroids 0 + 1 + 25 + 36 = 62; a second step is
-- a fixed point with inertia 1 and converged.
CREATE TABLE bad_model AS
SELECT ROW(2, 1, '{{0},{5}}'::float8[], NULL, 0, false, 0, 0, NULL, 'none', NULL, NULL, 1, 0)::analytics.kmeans_model AS m;
SELECT (r).centroids, (r).inertia, (r).cluster_sizes, (r).n, (r).iterations, (r).converged
FROM (SELECT analytics.kmeans_refine(m, f) AS r FROM line, bad_model) s;
SELECT (r2).centroids, (r2).inertia, (r2).converged
FROM (SELECT analytics.kmeans_refine(r, f) AS r2
      FROM line, (SELECT analytics.kmeans_refine(m, f) AS r FROM line, bad_model) s) s2;
-- an empty cluster keeps its centroid: centroids 0, 5 and 100
SELECT (analytics.kmeans_refine(ROW(3, 1, '{{0},{5},{100}}'::float8[], NULL, 0, false, 0, 0,
                                    NULL, 'none', NULL, NULL, 1, 0)::analytics.kmeans_model, f)).centroids
FROM line;

-- sample_size: fit on a uniform sample of 60 iris rows, then one full pass
SELECT (m).n AS fitted_on, (m).rows, (r).n AS refined_on,
       (SELECT sum(s) FROM unnest((r).cluster_sizes) s) AS assigned,
       (r).inertia BETWEEN 78.85 AND 100 AS near_optimum
FROM (SELECT analytics.kmeans(f, 3, '{"sample_size": 60}') AS m FROM iris_f) s,
     LATERAL (SELECT analytics.kmeans_refine(s.m, f) AS r FROM iris_f) r;
-- the sample does not depend on the row order either
SELECT (SELECT analytics.kmeans(f, 3, '{"sample_size": 60}') FROM (SELECT f FROM iris_f ORDER BY f) o)
     = (SELECT analytics.kmeans(f, 3, '{"sample_size": 60}') FROM (SELECT f FROM iris_f ORDER BY f DESC) o)
       AS sample_order_independent;

-- ---------------------------------------------------------------------------
-- kmeans_auto: three tight groups of 9 points around (0,0), (10,0), (0,10);
-- the silhouette picks k = 3, and the scores cover k = 2 .. 5.
CREATE TABLE blobs AS
SELECT ARRAY[cx + dx * 0.3, cy + dy * 0.3] AS f
FROM (VALUES (0, 0), (10, 0), (0, 10)) c(cx, cy), generate_series(-1, 1) dx, generate_series(-1, 1) dy;
SELECT (a).k, (a).model.k AS model_k, round((a).model.inertia::numeric, 6) AS inertia,
       array_agg(s.k ORDER BY s.k) AS ks,
       -- the chosen k has the highest silhouette of the scores (the smallest k on ties)
       (a).k = (array_agg(s.k ORDER BY s.silhouette DESC, s.k))[1] AS chosen_is_best
FROM (SELECT analytics.kmeans_auto(f, 2, 5) AS a FROM blobs) x, unnest((a).scores) s
GROUP BY 1, 2, 3;
-- inertia at k = 3: each group has 9 points at offsets 0.3 * (-1..1)^2:
-- per group 2 * 3 * (0.09 + 0 + 0.09) = 1.08, so 3.24 in all

-- ---------------------------------------------------------------------------
-- Parallel: partial aggregation in workers, same results as serial.
CREATE TABLE many AS
SELECT ARRAY[(i % 7) + (i % 13) * 0.01, (i % 11) * 1.5, sin(i)]::float8[] AS f, i % 5 AS c
FROM generate_series(1, 60000) i;
ANALYZE many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE FUNCTION plan_has_partial(q text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE line text; found bool := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF line LIKE '%Partial Aggregate%' THEN found := true; END IF;
    END LOOP;
    RETURN found;
END $$;
SELECT plan_has_partial('SELECT analytics.kmeans(f, 4) FROM many') AS kmeans,
       plan_has_partial('SELECT analytics.kmeans_auto(f, 2, 3) FROM many') AS kmeans_auto,
       plan_has_partial('SELECT analytics.silhouette(f, c) FROM many') AS silhouette,
       plan_has_partial('SELECT analytics.kmeans_refine((SELECT m FROM plane_model), f[1:2]) FROM many') AS refine,
       plan_has_partial('SELECT analytics.silhouette_simplified((SELECT m FROM plane_model), f[1:2]) FROM many') AS simplified;
CREATE TABLE par AS
SELECT (SELECT analytics.kmeans(f, 4, '{"n_init": 2}') FROM many) AS km,
       (SELECT analytics.kmeans_refine((SELECT m FROM plane_model), f[1:2]) FROM many) AS refined,
       (SELECT analytics.silhouette_simplified((SELECT m FROM plane_model), f[1:2]) FROM many) AS simplified,
       (SELECT analytics.kmeans(f, 4, '{"n_init": 2, "sample_size": 5000}') FROM many) AS km_sample,
       (SELECT analytics.silhouette(f, c, '{"max_points": 3000}') FROM many) AS sil,
       (SELECT analytics.kmeans_auto(f, 2, 3, '{"max_points": 2000}') FROM many) AS auto;
SET max_parallel_workers_per_gather = 0;
SELECT km = (SELECT analytics.kmeans(f, 4, '{"n_init": 2}') FROM many) AS kmeans_same,
       km_sample = (SELECT analytics.kmeans(f, 4, '{"n_init": 2, "sample_size": 5000}') FROM many) AS sample_same,
       sil = (SELECT analytics.silhouette(f, c, '{"max_points": 3000}') FROM many) AS silhouette_same,
       auto = (SELECT analytics.kmeans_auto(f, 2, 3, '{"max_points": 2000}') FROM many) AS auto_same,
       -- sums of the same numbers in another order: equal to 12 digits
       (SELECT (r).cluster_sizes = (refined).cluster_sizes
               AND abs((r).inertia - (refined).inertia) < 1e-12 * (r).inertia
               AND (SELECT bool_and(abs(a - b) < 1e-12 * greatest(abs(a), 1))
                    FROM unnest((r).centroids, (refined).centroids) u(a, b))
        FROM (SELECT analytics.kmeans_refine((SELECT m FROM plane_model), f[1:2]) AS r FROM many) x) AS refine_same,
       (SELECT abs(analytics.silhouette_simplified((SELECT m FROM plane_model), f[1:2]) - simplified) < 1e-12
        FROM many) AS simplified_same,
       (km).rows AS rows
FROM par;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- Threads in the fit (60,000 points: above the 32,768 from which threads are used):
-- the model is the same for 1, 2 and 5 threads, serial plan.
SET max_parallel_workers_per_gather = 0;
SET analytics.max_threads = 1;
CREATE TABLE one_thread AS SELECT analytics.kmeans(f, 5, '{"n_init": 2, "seed": 3}') AS km FROM many;
SET analytics.max_threads = 2;
SELECT km = (SELECT analytics.kmeans(f, 5, '{"n_init": 2, "seed": 3}') FROM many) AS two_threads_same FROM one_thread;
SET analytics.max_threads = 5;
SELECT km = (SELECT analytics.kmeans(f, 5, '{"n_init": 2, "seed": 3}') FROM many) AS five_threads_same,
       (SELECT (a).model = km FROM (SELECT analytics.kmeans_auto(f, 5, 5, '{"n_init": 2, "seed": 3}') AS a FROM many) x)
           AS auto_same
FROM one_thread;
RESET analytics.max_threads;
RESET max_parallel_workers_per_gather;
SET analytics.max_threads = 65;
SET analytics.max_threads = -2;

-- ---------------------------------------------------------------------------
-- kmeans_label_clusters: each cluster gets the name of the nearest free
-- prototype.  Centroids (0,1), (10,1), (5,20); prototypes (1,0) left,
-- (9,0) right, (5,25) top, (100,100) far: the pairs by distance are
-- left (0,1)-(1,0) sqrt 2, right sqrt 2, top 5, so far is not used.  With
-- two names only, (5,20) (named last) becomes "Cluster <its number>".
SELECT (m).centroids[i][1] AS x, (m).centroids[i][2] AS y,
       (analytics.kmeans_label_clusters(m, '{left,right,top,far}',
                                        '{{1,0},{9,0},{5,25},{100,100}}'))[i] AS four_names,
       (analytics.kmeans_label_clusters(m, '{left,right}', '{{1,0},{9,0}}'))[i]
         = CASE WHEN (m).centroids[i][2] = 20 THEN 'Cluster ' || (i - 1) ELSE
           (analytics.kmeans_label_clusters(m, '{left,right,top,far}', '{{1,0},{9,0},{5,25},{100,100}}'))[i] END
         AS two_names_ok,
       -- one name, prototype over the first feature only: x = 0 gets it
       (analytics.kmeans_label_clusters(m, '{a}', '{{0}}'))[i]
         = CASE WHEN (m).centroids[i][1] = 0 THEN 'a' ELSE 'Cluster ' || (i - 1) END AS one_feature_ok
FROM plane_model, generate_series(1, 3) i ORDER BY x;
SELECT analytics.kmeans_label_clusters(m, '{a,b}', '{{1,2,3},{4,5,6}}') FROM plane_model;
SELECT analytics.kmeans_label_clusters(m, '{a,b}', '{{1,2}}') FROM plane_model;

-- ---------------------------------------------------------------------------
-- Errors.
SELECT analytics.kmeans(f, 0) FROM line;
SELECT analytics.kmeans(f, 5) FROM line;
SELECT analytics.kmeans(f, 2) FROM line WHERE false;
SELECT analytics.kmeans(NULL::float8[], 2) FROM line;
SELECT analytics.kmeans(f, 2) FROM (VALUES ('{1,2}'::float8[]), ('{1,2,3}')) v(f);
SELECT analytics.kmeans(f, 2) FROM (VALUES ('{1,2}'::float8[]), ('{1,NaN}')) v(f);
SELECT analytics.kmeans(f, 2) FROM (VALUES ('{1,2}'::float8[]), ('{1,-Infinity}')) v(f);
SELECT analytics.kmeans(f, 2) FROM (VALUES ('{{1,2},{3,4}}'::float8[])) v(f);
SELECT analytics.kmeans(f, 2) FROM (VALUES ('{}'::float8[])) v(f);
SELECT analytics.kmeans(f, id) FROM line;
SELECT analytics.kmeans(f, 2, '{"n_init": 0}') FROM line;
SELECT analytics.kmeans(f, 2, '{"clusters": 3}') FROM line;
SELECT analytics.kmeans(f, 2, '{"algorithm": "elkan"}') FROM line;
SELECT analytics.kmeans(f, 2, '{"sample_size": 1}') FROM line;
SELECT analytics.kmeans(f, 2, '{"max_points": 10}') FROM line;
SELECT analytics.kmeans(f, 2, '{"tol": -1}') FROM line;
SELECT analytics.kmeans_assign(m, '{1,2,3}') FROM plane_model;
SELECT analytics.kmeans_assign(m, '{1,NaN}') FROM plane_model;
SELECT analytics.kmeans_distance(m, '{1,2}', 3) FROM plane_model;
SELECT analytics.kmeans_assign(ROW(2, 2, '{1,2,3,4}'::float8[], NULL, 0, false, 0, 0, NULL, 'none',
                                   NULL, NULL, 1, 0)::analytics.kmeans_model, '{1,2}');
SELECT analytics.kmeans_assign(ROW(1, 1, '{{1}}'::float8[], NULL, 0, false, 0, 0, NULL, 'zscore',
                                   '{0}', '{0}', 1, 0)::analytics.kmeans_model, '{1}');
SELECT analytics.kmeans_assign(ROW(1, 1, NULL, NULL, 0, false, 0, 0, NULL, 'none',
                                   NULL, NULL, 1, 0)::analytics.kmeans_model, '{1}');
SELECT analytics.kmeans_assign(ROW(1, 1, '{{1}}'::float8[], NULL, 0, false, 0, 0, NULL, 'minmax',
                                   NULL, NULL, 1, 0)::analytics.kmeans_model, '{1}');
SELECT analytics.kmeans_assign(ROW(1, 1, '{{Infinity}}'::float8[], NULL, 0, false, 0, 0, NULL, 'none',
                                   NULL, NULL, 1, 0)::analytics.kmeans_model, '{1}');
SELECT analytics.kmeans_assign(ROW(1, 1, '{{1}}'::float8[], NULL, 0, false, 0, 0, NULL, 'zscore',
                                   NULL, NULL, 1, 0)::analytics.kmeans_model, '{1}');
SELECT analytics.kmeans_label_clusters(m, ARRAY['a', NULL], '{{1,2},{3,4}}') FROM plane_model;
SELECT analytics.kmeans_refine(NULL, f) FROM line;
SELECT analytics.kmeans_refine(m, f) FROM plane, (VALUES (1), (2)) v(i),
       LATERAL (SELECT analytics.kmeans(f, i) AS m FROM line) s;
SELECT analytics.silhouette(f, 1) FROM line;
SELECT analytics.silhouette(f, id) FROM line;
SELECT analytics.silhouette(f, id % 2, '{"max_points": 1}') FROM line;
SELECT analytics.silhouette_simplified(m, f) FROM line, (SELECT analytics.kmeans(f, 1) AS m FROM line) s;
SELECT analytics.kmeans_auto(f, 1, 3) FROM iris_f;
SELECT analytics.kmeans_auto(f, 3, 2) FROM iris_f;
SELECT analytics.kmeans_auto(f, 2, 4) FROM line;
SELECT analytics.kmeans_auto(f, 2, 3, '{"sample_size": 3}') FROM iris_f;
-- (serial, so that the detail does not depend on which worker stops first)
SET max_parallel_workers_per_gather = 0;
SET analytics.max_aggregate_memory = 1024;
SELECT analytics.kmeans(f, 2) FROM many;
RESET analytics.max_aggregate_memory;
RESET max_parallel_workers_per_gather;
-- with a sample the same memory is enough
SET analytics.max_aggregate_memory = 1024;
SELECT (analytics.kmeans(f, 2, '{"sample_size": 1000}')).n FROM many;
RESET analytics.max_aggregate_memory;
