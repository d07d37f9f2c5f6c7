-- heatmap.sql: engagement_heatmap (src/heatmap.c).  State: bigint[168]
-- updated in place (concrete type, combine by element-wise sum): parallel
-- and distributable by Citus.

CREATE FUNCTION analytics.heatmap_accum(bigint[], timestamptz)
RETURNS bigint[] AS 'MODULE_PATHNAME', 'heatmap_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.heatmap_accum(bigint[], timestamptz, text)
RETURNS bigint[] AS 'MODULE_PATHNAME', 'heatmap_accum' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION analytics.heatmap_combine(bigint[], bigint[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'heatmap_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION analytics.heatmap_final(bigint[])
RETURNS bigint[] AS 'MODULE_PATHNAME', 'heatmap_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION analytics.heatmap_accum(bigint[], timestamptz) IS 'Transition function of engagement_heatmap.';
COMMENT ON FUNCTION analytics.heatmap_accum(bigint[], timestamptz, text) IS 'Transition function of engagement_heatmap with a time zone.';
COMMENT ON FUNCTION analytics.heatmap_combine(bigint[], bigint[]) IS 'Combine function of engagement_heatmap.';
COMMENT ON FUNCTION analytics.heatmap_final(bigint[]) IS 'Final function of engagement_heatmap.';

CREATE AGGREGATE analytics.engagement_heatmap(ts timestamptz) (
    SFUNC = analytics.heatmap_accum, STYPE = bigint[], FINALFUNC = analytics.heatmap_final,
    COMBINEFUNC = analytics.heatmap_combine, PARALLEL = SAFE);
CREATE AGGREGATE analytics.engagement_heatmap(ts timestamptz, tz text) (
    SFUNC = analytics.heatmap_accum, STYPE = bigint[], FINALFUNC = analytics.heatmap_final,
    COMBINEFUNC = analytics.heatmap_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE analytics.engagement_heatmap(timestamptz) IS
'Events by ISO day of week (rows 1 = Monday .. 7 = Sunday) and hour of day (columns 0 .. 23) in the session time zone, as bigint[7][24]. NULL timestamps are skipped.';
COMMENT ON AGGREGATE analytics.engagement_heatmap(timestamptz, text) IS
'engagement_heatmap in the given time zone.';

CREATE FUNCTION analytics.heatmap_cells(heatmap bigint[])
RETURNS TABLE (iso_dow int, hour int, events bigint)
AS 'MODULE_PATHNAME', 'heatmap_cells' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION analytics.heatmap_cells(bigint[]) IS
'The long form of an engagement_heatmap: one row per ISO day of week (1 = Monday) and hour.';
