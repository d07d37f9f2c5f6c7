-- email.sql: transactional email queued in PostgreSQL and sent over SMTP by
-- the background worker (src/email.c, src/jobs.c, src/worker.c).

-- The outbox is an ordinary logged table: a message committed here survives
-- a crash of any process, and the worker delivers it at least once.  It is
-- also the job queue: status, attempts and next_attempt_at are the job
-- columns every queue of the worker has (src/jobs.c).
CREATE TABLE analytics.email_outbox (
    id              bigserial PRIMARY KEY,
    idempotency_key text UNIQUE,
    sender          text NOT NULL,
    envelope_from   text NOT NULL,
    recipient       text NOT NULL,
    rcpt_address    text NOT NULL,
    subject         text NOT NULL,
    template        text,
    message_id      text NOT NULL,
    message         text NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'deferred', 'sent', 'bounced', 'suppressed', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    finished_at     timestamptz,
    smtp_code       integer,
    last_error      text
);

COMMENT ON TABLE analytics.email_outbox IS
'Every message queued by send_email or send_template, as the exact RFC 5322 bytes the worker sends, with its delivery state: queued, sending (claimed by the worker until next_attempt_at), deferred (temporary failure, retried at next_attempt_at), sent, bounced, suppressed, failed (gave up after analytics.email_max_age).';

-- the worker's claim query walks this index
CREATE INDEX email_outbox_due ON analytics.email_outbox (next_attempt_at, id)
    WHERE status IN ('queued', 'sending', 'deferred');
CREATE INDEX email_outbox_created ON analytics.email_outbox (created_at);

CREATE TABLE analytics.email_events (
    id         bigserial PRIMARY KEY,
    message    bigint NOT NULL REFERENCES analytics.email_outbox (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempt    integer NOT NULL,
    status     text NOT NULL,
    smtp_code  integer,
    detail     text
);

COMMENT ON TABLE analytics.email_events IS
'One row per delivery attempt and per decision about a message: the status it led to (sent, deferred, bounced, failed, suppressed, requeued after a worker restart), the SMTP reply code and the server''s reply or the transport error.';

CREATE INDEX email_events_message ON analytics.email_events (message);
CREATE INDEX email_events_at ON analytics.email_events (at);

CREATE TABLE analytics.email_suppressions (
    address    text PRIMARY KEY,
    reason     text NOT NULL DEFAULT 'manual',
    smtp_code  integer,
    detail     text,
    message    bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (address = lower(address))
);

COMMENT ON TABLE analytics.email_suppressions IS
'Addresses (lower case) that are never sent to: added when the server refuses a recipient permanently (reason bounce) or by hand (reason manual).  A message to one of them ends as suppressed without contacting the server.';

CREATE TABLE analytics.email_templates (
    name       text PRIMARY KEY,
    subject    text NOT NULL,
    body_text  text NOT NULL,
    body_html  text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE analytics.email_templates IS
'Templates for send_template: subject, text body and optional HTML body with {{variable}} placeholders.  Values are HTML-escaped in the HTML body and written as they are in the subject and text body; \{{ writes a literal {{.';

-- Work committed to the outbox wakes the worker (on commit, not before).
CREATE TRIGGER email_outbox_wake AFTER INSERT OR UPDATE OF status, next_attempt_at
    ON analytics.email_outbox FOR EACH STATEMENT EXECUTE FUNCTION analytics._wake_worker();

CREATE FUNCTION analytics.send_email(
    recipient text,
    subject text,
    body_text text,
    body_html text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    headers jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'analytics_send_email'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION analytics.send_email(text, text, text, text, text, jsonb) IS
'Queue one message to recipient ("addr@host" or "Name <addr@host>") from analytics.email_from and return its id in analytics.email_outbox.  The worker sends it after the transaction commits.  With an idempotency_key already used, returns that message''s id and queues nothing.  headers: extra header fields as a jsonb object of strings.  Line breaks in recipient, subject or headers are rejected.';

CREATE FUNCTION analytics.send_template(
    template text,
    recipient text,
    data jsonb DEFAULT '{}',
    idempotency_key text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'analytics_send_template'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION analytics.send_template(text, text, jsonb, text) IS
'Render the named analytics.email_templates row with the values of data (a jsonb object; a placeholder without a value is an error) and queue it like send_email.  Values are HTML-escaped in the HTML body and written as they are in the subject and text body.';

CREATE FUNCTION analytics.email_stats(
    since timestamptz DEFAULT now() - interval '1 day',
    until timestamptz DEFAULT now(),
    OUT messages bigint,
    OUT queued bigint,
    OUT sending bigint,
    OUT deferred bigint,
    OUT sent bigint,
    OUT bounced bigint,
    OUT suppressed bigint,
    OUT failed bigint,
    OUT attempts bigint,
    OUT temporary_failures bigint,
    OUT delivery_rate numeric)
RETURNS record
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT count(*),
           count(*) FILTER (WHERE o.status = 'queued'),
           count(*) FILTER (WHERE o.status = 'sending'),
           count(*) FILTER (WHERE o.status = 'deferred'),
           count(*) FILTER (WHERE o.status = 'sent'),
           count(*) FILTER (WHERE o.status = 'bounced'),
           count(*) FILTER (WHERE o.status = 'suppressed'),
           count(*) FILTER (WHERE o.status = 'failed'),
           coalesce(sum(o.attempts), 0),
           (SELECT count(*) FROM analytics.email_events e
             WHERE e.status = 'deferred' AND e.at >= since AND e.at < until),
           round(count(*) FILTER (WHERE o.status = 'sent')::numeric
                 / nullif(count(*) FILTER (WHERE o.status IN ('sent', 'bounced', 'suppressed', 'failed')), 0), 4)
    FROM analytics.email_outbox o
    WHERE o.created_at >= since AND o.created_at < until
$$;

COMMENT ON FUNCTION analytics.email_stats(timestamptz, timestamptz) IS
'Messages queued in [since, until) by their current status, their delivery attempts, the temporary failures (deferrals) recorded in the period, and the delivery rate: sent / messages in a final state (sent, bounced, suppressed, failed); NULL while none is final.';
