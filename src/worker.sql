-- worker.sql: the background worker's status (src/worker.c).

CREATE FUNCTION analytics.worker_status(
    OUT database name,
    OUT pid integer,
    OUT state text,
    OUT started_at timestamptz,
    OUT last_wake timestamptz,
    OUT queued bigint,
    OUT in_flight integer,
    OUT sent bigint,
    OUT deferred bigint,
    OUT bounced bigint,
    OUT failed bigint,
    OUT last_error text,
    OUT last_error_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'analytics_worker_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION analytics.worker_status() IS
'One row per database the analytics background worker serves (the launcher first, database NULL): process id, state (running, starting, waiting, no extension, stopped), when it started and last woke, jobs waiting (as of its last look at the queue) and in flight, outcomes since it started, and the last error. Needs shared_preload_libraries = ''analytics''.';

CREATE FUNCTION analytics._wake_worker()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_wake_worker'
LANGUAGE C;

COMMENT ON FUNCTION analytics._wake_worker() IS
'Trigger function: wakes this database''s background worker when the transaction that queued work commits (nothing happens on rollback).';
