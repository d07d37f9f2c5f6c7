-- demo.sql: the deterministic demo dataset (src/demo.c, src/lib/demogen.c).
--
-- One set-returning function per table, all taking (scale, seed); they agree
-- on ids because they simulate the same people in the same order.  They are
-- CALLED ON NULL INPUT so that a NULL argument raises an error instead of
-- returning nothing.  analytics.generate_demo_data() materializes them all
-- into a schema.  docs/dataset.md describes the model and every column.

CREATE FUNCTION analytics.demo_workspaces(scale float8, seed bigint)
RETURNS TABLE (workspace_id int, name text, plan text, created_at timestamptz)
AS 'MODULE_PATHNAME', 'demo_workspaces'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 12;

COMMENT ON FUNCTION analytics.demo_workspaces(float8, bigint) IS
'Demo dataset: the workspaces (tenants) for a scale and seed; round(12 * sqrt(scale)) of them, at least 2.';

CREATE FUNCTION analytics.demo_campaigns()
RETURNS TABLE (campaign_id int, channel text, name text, starts_on date,
               ends_on date, daily_budget numeric(12,2))
AS 'MODULE_PATHNAME', 'demo_campaigns'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 20;

COMMENT ON FUNCTION analytics.demo_campaigns() IS
'Demo dataset: the fixed calendar of 20 marketing campaigns over 7 paid and organic channels (direct has none).';

CREATE FUNCTION analytics.demo_users(scale float8, seed bigint)
RETURNS TABLE (user_id bigint, workspace_id int, first_seen_at timestamptz,
               signup_at timestamptz, country text, timezone text,
               device text, acquisition_channel text)
AS 'MODULE_PATHNAME', 'demo_users'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 42000;

COMMENT ON FUNCTION analytics.demo_users(float8, bigint) IS
'Demo dataset: one row per person (42000 per unit of scale), visitors included; signup_at is null for people who never signed up.';

CREATE FUNCTION analytics.demo_sessions(scale float8, seed bigint)
RETURNS TABLE (session_id bigint, user_id bigint, workspace_id int,
               started_at timestamptz, ended_at timestamptz, channel text,
               campaign_id int, device text, event_count int)
AS 'MODULE_PATHNAME', 'demo_sessions'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 170000;

COMMENT ON FUNCTION analytics.demo_sessions(float8, bigint) IS
'Demo dataset: sessions with the channel and campaign that started them (about 170000 per unit of scale).';

CREATE FUNCTION analytics.demo_events(scale float8, seed bigint)
RETURNS TABLE (event_id bigint, user_id bigint, workspace_id int,
               session_id bigint, event_type text, occurred_at timestamptz,
               revenue numeric(12,2))
AS 'MODULE_PATHNAME', 'demo_events'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 1000000;

COMMENT ON FUNCTION analytics.demo_events(float8, bigint) IS
'Demo dataset: product events signup, view, search, add_to_cart, begin_checkout and purchase (about 1 million per unit of scale); revenue is set on purchases only.';

CREATE FUNCTION analytics.demo_touchpoints(scale float8, seed bigint)
RETURNS TABLE (touchpoint_id bigint, user_id bigint, workspace_id int,
               session_id bigint, channel text, campaign_id int,
               interaction text, occurred_at timestamptz)
AS 'MODULE_PATHNAME', 'demo_touchpoints'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 210000;

COMMENT ON FUNCTION analytics.demo_touchpoints(float8, bigint) IS
'Demo dataset: marketing touchpoints over 8 channels (about 210000 per unit of scale): impressions, clicks and direct visits; session_id is null for impressions.';

CREATE FUNCTION analytics.demo_conversions(scale float8, seed bigint)
RETURNS TABLE (conversion_id bigint, user_id bigint, workspace_id int,
               session_id bigint, event_id bigint, occurred_at timestamptz,
               revenue numeric(12,2))
AS 'MODULE_PATHNAME', 'demo_conversions'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 19000;

COMMENT ON FUNCTION analytics.demo_conversions(float8, bigint) IS
'Demo dataset: conversions (purchases) with revenue, linked to their purchase event and session (about 19000 per unit of scale).';

CREATE FUNCTION analytics.generate_demo_data(
    scale float8 DEFAULT 1,
    seed bigint DEFAULT 42,
    target_schema name DEFAULT 'analytics_demo',
    replace boolean DEFAULT false)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tables constant text[] := ARRAY['dataset', 'workspaces', 'campaigns',
        'users', 'sessions', 'events', 'touchpoints', 'conversions'];
    t text;
    n bigint;
BEGIN
    IF target_schema IS NULL OR replace IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'target_schema and replace must not be null',
            HINT = 'Omit them to use the defaults: analytics_demo and false.';
    END IF;

    -- Validates scale and seed before anything is created.
    PERFORM count(*) FROM analytics.demo_workspaces(scale, seed);

    IF to_regnamespace(quote_ident(target_schema)) IS NULL THEN
        EXECUTE format('CREATE SCHEMA %I', target_schema);
    END IF;
    FOREACH t IN ARRAY tables LOOP
        IF to_regclass(format('%I.%I', target_schema, t)) IS NOT NULL THEN
            IF NOT replace THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'duplicate_table',
                    MESSAGE = format('relation %I.%I already exists', target_schema, t),
                    HINT = 'Pass replace => true to drop and regenerate the demo tables, or choose another target_schema.';
            END IF;
            EXECUTE format('DROP TABLE %I.%I', target_schema, t);
        END IF;
    END LOOP;

    EXECUTE format($ddl$
        CREATE TABLE %1$I.dataset (
            scale float8 NOT NULL, seed bigint NOT NULL,
            generator_version text NOT NULL,
            period_start timestamptz NOT NULL, period_end timestamptz NOT NULL,
            generated_at timestamptz NOT NULL);
        CREATE TABLE %1$I.workspaces (
            workspace_id int NOT NULL, name text NOT NULL, plan text NOT NULL,
            created_at timestamptz NOT NULL);
        CREATE TABLE %1$I.campaigns (
            campaign_id int NOT NULL, channel text NOT NULL, name text NOT NULL,
            starts_on date NOT NULL, ends_on date NOT NULL,
            daily_budget numeric(12,2) NOT NULL);
        CREATE TABLE %1$I.users (
            user_id bigint NOT NULL, workspace_id int NOT NULL,
            first_seen_at timestamptz NOT NULL, signup_at timestamptz,
            country text NOT NULL, timezone text NOT NULL, device text NOT NULL,
            acquisition_channel text NOT NULL);
        CREATE TABLE %1$I.sessions (
            session_id bigint NOT NULL, user_id bigint NOT NULL,
            workspace_id int NOT NULL, started_at timestamptz NOT NULL,
            ended_at timestamptz NOT NULL, channel text NOT NULL,
            campaign_id int, device text NOT NULL, event_count int NOT NULL);
        CREATE TABLE %1$I.events (
            event_id bigint NOT NULL, user_id bigint NOT NULL,
            workspace_id int NOT NULL, session_id bigint NOT NULL,
            event_type text NOT NULL, occurred_at timestamptz NOT NULL,
            revenue numeric(12,2));
        CREATE TABLE %1$I.touchpoints (
            touchpoint_id bigint NOT NULL, user_id bigint NOT NULL,
            workspace_id int NOT NULL, session_id bigint, channel text NOT NULL,
            campaign_id int, interaction text NOT NULL,
            occurred_at timestamptz NOT NULL);
        CREATE TABLE %1$I.conversions (
            conversion_id bigint NOT NULL, user_id bigint NOT NULL,
            workspace_id int NOT NULL, session_id bigint NOT NULL,
            event_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
            revenue numeric(12,2) NOT NULL)
        $ddl$, target_schema);

    EXECUTE format('INSERT INTO %I.dataset VALUES ($1, $2, analytics.version(),
                    %L, %L, now())', target_schema,
                   '2026-01-01 00:00:00+00', '2026-09-01 00:00:00+00')
        USING scale, seed;
    EXECUTE format('INSERT INTO %I.campaigns SELECT * FROM analytics.demo_campaigns()',
                   target_schema);
    FOREACH t IN ARRAY tables[2:] LOOP
        IF t <> 'campaigns' THEN
            EXECUTE format('INSERT INTO %I.%I SELECT * FROM analytics.%I($1, $2)',
                           target_schema, t, 'demo_' || t)
                USING scale, seed;
        END IF;
    END LOOP;

    EXECUTE format($ddl$
        ALTER TABLE %1$I.workspaces ADD PRIMARY KEY (workspace_id);
        ALTER TABLE %1$I.campaigns ADD PRIMARY KEY (campaign_id);
        ALTER TABLE %1$I.users ADD PRIMARY KEY (user_id);
        ALTER TABLE %1$I.sessions ADD PRIMARY KEY (session_id);
        ALTER TABLE %1$I.events ADD PRIMARY KEY (event_id);
        ALTER TABLE %1$I.touchpoints ADD PRIMARY KEY (touchpoint_id);
        ALTER TABLE %1$I.conversions ADD PRIMARY KEY (conversion_id);
        CREATE INDEX ON %1$I.sessions (user_id, started_at);
        CREATE INDEX ON %1$I.events (user_id, occurred_at);
        CREATE INDEX ON %1$I.touchpoints (user_id, occurred_at);
        CREATE INDEX ON %1$I.conversions (user_id, occurred_at)
        $ddl$, target_schema);

    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ANALYZE %I.%I', target_schema, t);
        EXECUTE format('SELECT count(*) FROM %I.%I', target_schema, t) INTO n;
        table_name := t;
        row_count := n;
        RETURN NEXT;
    END LOOP;
END
$fn$;

COMMENT ON FUNCTION analytics.generate_demo_data(float8, bigint, name, boolean) IS
'Creates the demo dataset tables (dataset, workspaces, campaigns, users, sessions, events, touchpoints, conversions) in target_schema and returns their row counts. Deterministic for a (scale, seed); scale 1 is about 1 million events. Existing tables are an error unless replace is true.';
