-- rfm.sql: RFM scoring (src/rfm.c): quantile_score, rfm_segment, rfm_scores.

CREATE FUNCTION analytics.quantile_score(value float8, buckets int DEFAULT 5, reverse bool DEFAULT false)
RETURNS int AS 'MODULE_PATHNAME', 'quantile_score' LANGUAGE C IMMUTABLE WINDOW PARALLEL SAFE;
COMMENT ON FUNCTION analytics.quantile_score(float8, int, bool) IS
'Window function: 1 + floor(buckets * (share of the partition''s non-NULL values below this one)), so ties share a score, the lowest value scores 1 and the score is 1 .. buckets; with reverse, lower values score higher. Reads the whole partition whatever the frame. NULL for NULL.';

CREATE FUNCTION analytics.rfm_segment(r int, f int, m int)
RETURNS text AS 'MODULE_PATHNAME', 'rfm_segment' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.rfm_segment(int, int, int) IS
'The named segment of RFM scores 1..5 (Champions, Loyal Customers, Potential Loyalist, New Customers, Promising, Need Attention, About To Sleep, At Risk, Can''t Lose Them, Hibernating, Lost), from a fixed table of R by FM = ceil((F + M) / 2); see docs/segmentation.md.';

-- The columns named in options must exist in rel: a clear error otherwise.
CREATE FUNCTION analytics._check_columns(rel regclass, fn text, cols text[])
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY cols LOOP
        IF c IS NULL THEN
            CONTINUE;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_attribute
                       WHERE attrelid = rel AND attname = c AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION '%: column "%" does not exist in %', fn, c, rel
                USING ERRCODE = 'undefined_column',
                      HINT = 'Name the columns with the options actor_column, time_column, value_column (and channel_column where it applies).';
        END IF;
    END LOOP;
END $$;

-- Unknown option keys are an error that lists the valid ones.
CREATE FUNCTION analytics._check_options(options jsonb, fn text, valid text[])
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text;
BEGIN
    IF options IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION '%: options must be a JSON object', fn USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR key IN SELECT jsonb_object_keys(options) LOOP
        IF NOT key = ANY (valid) THEN
            RAISE EXCEPTION '%: unknown option "%"', fn, key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid options: ' || array_to_string(valid, ', ') || '.';
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION analytics.rfm_scores(events regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (actor text, recency_days float8, frequency bigint, monetary float8,
               r int, f int, m int, rfm text, segment text)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    o_actor text := coalesce(options->>'actor_column', 'user_id');
    o_time text := coalesce(options->>'time_column', 'occurred_at');
    o_value text := coalesce(options->>'value_column', 'revenue');
    o_as_of timestamptz;
BEGIN
    PERFORM analytics._check_options(options, 'rfm_scores',
                                     ARRAY['actor_column', 'time_column', 'value_column', 'as_of']);
    PERFORM analytics._check_columns(events, 'rfm_scores', ARRAY[o_actor, o_time, o_value]);
    o_as_of := (options->>'as_of')::timestamptz;
    RETURN QUERY EXECUTE format($q$
        WITH c AS (
            SELECT %1$I::text AS actor, max(%2$I)::timestamptz AS last_ts,
                   count(*) AS frequency, sum(%3$I)::float8 AS monetary
            FROM %4$s WHERE %3$I IS NOT NULL AND %1$I IS NOT NULL AND %2$I IS NOT NULL
            GROUP BY %1$I),
        a AS (SELECT coalesce($1, max(last_ts)) AS as_of FROM c),
        s AS (SELECT c.actor, extract(epoch FROM a.as_of - c.last_ts)::float8 / 86400 AS recency_days,
                     c.frequency, c.monetary
              FROM c, a),
        q AS (SELECT s.*,
                     analytics.quantile_score(s.recency_days, 5, true) OVER () AS r,
                     analytics.quantile_score(s.frequency::float8, 5) OVER () AS f,
                     analytics.quantile_score(s.monetary, 5) OVER () AS m
              FROM s)
        SELECT q.actor, q.recency_days, q.frequency, q.monetary, q.r, q.f, q.m,
               q.r::text || q.f::text || q.m::text, analytics.rfm_segment(q.r, q.f, q.m)
        FROM q$q$, o_actor, o_time, o_value, events) USING o_as_of;
END $$;
COMMENT ON FUNCTION analytics.rfm_scores(regclass, jsonb) IS
'RFM per customer of an events or orders table: customers are the actors with at least one row with a non-NULL value; recency_days from their last such row to as_of (default: the latest such row), frequency = such rows, monetary = sum of the value; r, f, m are quintile scores (quantile_score; lower recency scores higher) and segment the rfm_segment. Options: actor_column (user_id), time_column (occurred_at), value_column (revenue), as_of.';
COMMENT ON FUNCTION analytics._check_columns(regclass, text, text[]) IS 'Internal: errors unless every named column exists in the relation.';
COMMENT ON FUNCTION analytics._check_options(jsonb, text, text[]) IS 'Internal: errors on an options key that is not in the valid list.';
