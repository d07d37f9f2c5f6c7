-- The extension installs into the fixed schema analytics, reports its
-- version, and documents every function it creates.

SELECT analytics.version();

SELECT e.extversion, n.nspname AS schema, e.extrelocatable,
       e.extversion = analytics.version() AS library_matches_script
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'analytics';

-- The check below is not vacuous: the schema holds functions.
SELECT count(*) > 5 AS has_functions
FROM pg_proc WHERE pronamespace = 'analytics'::regnamespace;

-- Every function (plain, aggregate, procedure) in the schema has a COMMENT.
-- Expected: no rows.
SELECT p.oid::regprocedure AS undocumented
FROM pg_proc p
WHERE p.pronamespace = 'analytics'::regnamespace
  AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''
ORDER BY 1;

-- Every function in the schema belongs to the extension.  Expected: no rows.
SELECT p.oid::regprocedure AS not_in_extension
FROM pg_proc p
WHERE p.pronamespace = 'analytics'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                    AND d.refclassid = 'pg_extension'::regclass
                    AND d.deptype = 'e')
ORDER BY 1;

-- The comment check catches an undocumented function.
BEGIN;
CREATE FUNCTION analytics.undocumented_probe() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT p.oid::regprocedure AS undocumented
FROM pg_proc p
WHERE p.pronamespace = 'analytics'::regnamespace
  AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''
ORDER BY 1;
ROLLBACK;

-- build_info() reports the library, the server it was built for, the
-- libcurl and json-c libraries in use, and how it was loaded.
SELECT jsonb_object_keys(analytics.build_info()) AS key ORDER BY 1;

SELECT b->>'version' = analytics.version() AS version_matches,
       b->>'postgres_built_with' LIKE '15.%' AS built_for_pg15,
       b->>'libcurl' ~ '^\d+\.\d+\.\d+' AS libcurl_version,
       b->>'json_c' ~ '^\d+\.\d+' AS json_c_version,
       (b->>'preloaded')::boolean AS preloaded
FROM analytics.build_info() AS b;

-- Once the library is loaded the analytics. prefix is reserved: a misspelt
-- setting is an error, not a silent placeholder.
SET analytics.no_such_setting = 'on';
