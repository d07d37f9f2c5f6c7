-- segments.sql: behavioural segments (per-actor features from an events
-- table, clustered with analytics.kmeans and named from the centroids with
-- analytics.kmeans_label_clusters in src/kmeans.c).

CREATE FUNCTION analytics.kmeans_label_clusters(model analytics.kmeans_model, names text[], prototypes float8[])
RETURNS text[] AS 'MODULE_PATHNAME', 'kmeans_label_clusters' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.kmeans_label_clusters(analytics.kmeans_model, text[], float8[]) IS
'A distinct name for each cluster of the model: prototypes[i][1..p] is the profile of names[i] over the first p features in the fitted space (z-scores for a standardized model); the closest (cluster, name) pair is named first, then the closest remaining pair, and so on. Clusters left over are called Cluster <i>.';

CREATE FUNCTION analytics.behavioral_segments(events regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (actor text, segment text, cluster int, recency_days float8, tenure_days float8,
               event_count bigint, active_days bigint, orders bigint, monetary float8,
               channels bigint, top_channel text)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    o_actor text := coalesce(options->>'actor_column', 'user_id');
    o_time text := coalesce(options->>'time_column', 'occurred_at');
    o_value text := coalesce(options->>'value_column', 'revenue');
    o_channel text := options->>'channel_column';
    o_k int := coalesce((options->>'k')::int, 6);
    o_seed bigint := coalesce((options->>'seed')::bigint, 0);
    o_n_init int := coalesce((options->>'n_init')::int, 10);
    o_as_of timestamptz := (options->>'as_of')::timestamptz;
    channel_cols text := 'NULL::bigint AS channels, NULL::text AS top_channel';
    channel_feature text := '';
    -- profiles in z-scores of ln(1 + x) of: recency, tenure, events, active days, orders, monetary
    names text[] := ARRAY['Champions', 'Loyal Customers', 'Occasional Buyers', 'New Customers', 'At Risk',
                          'Engaged Browsers', 'Lapsed Users', 'New Visitors', 'Lost Visitors'];
    prototypes float8[] := ARRAY[
        [-1.0,  1.0,  1.5,  1.5,  2.0,  2.0],
        [-0.5,  1.0,  1.0,  1.0,  1.0,  1.0],
        [ 0.0,  0.5,  0.5,  0.5,  1.2,  1.5],
        [-1.0, -1.0,  0.0, -0.5,  1.0,  1.0],
        [ 1.0,  1.0,  0.5,  0.5,  1.0,  1.0],
        [-0.5,  0.5,  1.0,  1.0, -0.5, -0.5],
        [ 1.0,  0.5,  0.5,  0.5, -0.5, -0.5],
        [-1.0, -1.0, -0.5, -0.5, -0.5, -0.5],
        [ 1.0, -0.5, -0.5, -0.5, -0.5, -0.5]];
BEGIN
    PERFORM analytics._check_options(options, 'behavioral_segments',
        ARRAY['actor_column', 'time_column', 'value_column', 'channel_column', 'k', 'seed',
              'n_init', 'as_of']);
    PERFORM analytics._check_columns(events, 'behavioral_segments',
                                     ARRAY[o_actor, o_time, o_value, o_channel]);
    IF o_k < 2 OR o_k > 20 THEN
        RAISE EXCEPTION 'behavioral_segments: option "k" must be between 2 and 20, not %', o_k
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF o_channel IS NOT NULL THEN
        channel_cols := format('count(DISTINCT %1$I) AS channels, mode() WITHIN GROUP (ORDER BY %1$I)::text AS top_channel',
                               o_channel);
        channel_feature := ', ln(1 + f.channels)';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH f AS MATERIALIZED (
            SELECT %1$I::text AS actor, min(%2$I)::timestamptz AS first_ts, max(%2$I)::timestamptz AS last_ts,
                   count(*) AS events,
                   count(DISTINCT (%2$I::timestamptz AT TIME ZONE 'UTC')::date) AS active_days,
                   count(%3$I) AS orders, coalesce(sum(%3$I), 0)::float8 AS monetary,
                   %4$s
            FROM %5$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL
            GROUP BY %1$I),
        a AS (SELECT coalesce($1, max(last_ts)) AS as_of FROM f),
        v AS MATERIALIZED (
            SELECT f.*, extract(epoch FROM a.as_of - f.last_ts)::float8 / 86400 AS recency_days,
                   extract(epoch FROM f.last_ts - f.first_ts)::float8 / 86400 AS tenure_days,
                   ARRAY[ln(1 + greatest(extract(epoch FROM a.as_of - f.last_ts)::float8 / 86400, 0)),
                         ln(1 + extract(epoch FROM f.last_ts - f.first_ts)::float8 / 86400),
                         ln(1 + f.events), ln(1 + f.active_days), ln(1 + f.orders),
                         ln(1 + greatest(f.monetary, 0)) %6$s]::float8[] AS vec
            FROM f, a),
        m AS (SELECT analytics.kmeans(v.vec, $2,
                         jsonb_build_object('standardize', true, 'seed', $3, 'n_init', $4)) AS model
              FROM v),
        n AS (SELECT m.model, analytics.kmeans_label_clusters(m.model, $5, $6) AS names FROM m)
        SELECT v.actor, n.names[c.cluster + 1], c.cluster, v.recency_days, v.tenure_days,
               v.events, v.active_days, v.orders, v.monetary, v.channels, v.top_channel
        FROM v, n, LATERAL (SELECT analytics.kmeans_assign(n.model, v.vec) AS cluster) c$q$,
        o_actor, o_time, o_value, channel_cols, events, channel_feature)
    USING o_as_of, o_k, o_seed, o_n_init, names, prototypes;
END $$;
COMMENT ON FUNCTION analytics.behavioral_segments(regclass, jsonb) IS
'Per actor of an events table: features (recency_days to as_of, tenure_days first to last event, event_count, active_days (UTC dates), orders = rows with a non-NULL value, monetary = their sum, and with channel_column the distinct channels and the most frequent one), k-means on the standardized ln(1 + feature) vectors, and a name for each cluster from its centroid profile. Options: actor_column (user_id), time_column (occurred_at), value_column (revenue), channel_column (none), k (6), seed (0), n_init (10), as_of (latest event).';

CREATE FUNCTION analytics.behavioral_segment_profiles(events regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (segment text, cluster int, actors bigint, share float8, avg_recency_days float8,
               avg_tenure_days float8, avg_events float8, avg_active_days float8,
               avg_orders float8, avg_monetary float8, buyers_share float8, top_channel text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.segment, s.cluster, count(*), count(*)::float8 / sum(count(*)) OVER (),
           avg(s.recency_days), avg(s.tenure_days), avg(s.event_count), avg(s.active_days),
           avg(s.orders), avg(s.monetary), avg((s.orders > 0)::int),
           mode() WITHIN GROUP (ORDER BY s.top_channel)
    FROM analytics.behavioral_segments(events, options) s
    GROUP BY s.segment, s.cluster
    ORDER BY s.cluster
$$;
COMMENT ON FUNCTION analytics.behavioral_segment_profiles(regclass, jsonb) IS
'One row per behavioural segment: its size and share of actors and the mean of each feature (buyers_share: share with at least one order); the same options as behavioral_segments.';
