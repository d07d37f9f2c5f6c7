-- analytics.sql: version and build information (src/analytics.c).

CREATE FUNCTION analytics.version()
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION analytics.version() IS
'Version of the loaded analytics library, e.g. 0.1.0.';

CREATE FUNCTION analytics.build_info()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_build_info'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION analytics.build_info() IS
'Build and load information as jsonb: library version, PostgreSQL version it was built with, libcurl and json-c versions in use, and whether it was loaded through shared_preload_libraries.';
