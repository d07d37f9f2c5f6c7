-- report.sql: attribution straight from tables (src/report.c).  Both read
-- the tables through SPI (privileges and row-level security apply); they are
-- VOLATILE because they read tables, and PARALLEL RESTRICTED because they
-- run queries of their own.

CREATE FUNCTION analytics.attribution_report(
    model text, touchpoints regclass, conversions regclass,
    lookback interval DEFAULT '30 days', options jsonb DEFAULT NULL)
RETURNS TABLE (channel text, conversions float8, revenue float8, share float8)
AS 'MODULE_PATHNAME', 'attribution_report'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION analytics.attribution_report(text, regclass, regclass, interval, jsonb) IS
'Conversions and revenue per channel under a model (rule models, markov, shapley), from a touchpoints table (user_id, channel, occurred_at) and a conversions table (conversion_id, user_id, occurred_at, revenue); column names can be mapped in options.touchpoint_columns / options.conversion_columns. Touches after a conversion or outside its lookback (NULL: unlimited) are ignored; conversions without touches count under (none).';

CREATE FUNCTION analytics.attribution_by_conversion(
    model text, touchpoints regclass, conversions regclass,
    lookback interval DEFAULT '30 days', options jsonb DEFAULT NULL)
RETURNS TABLE (conversion_id text, converted_at timestamptz, revenue float8, channel text,
               touches int, credit float8, revenue_credit float8)
AS 'MODULE_PATHNAME', 'attribution_by_conversion'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION analytics.attribution_by_conversion(text, regclass, regclass, interval, jsonb) IS
'The split of every conversion: one row per conversion and channel with the channel''s touches in the window, its credit (a conversion''s credits sum to 1) and its share of the revenue. Same arguments as attribution_report.';
