-- Transactional email: what send_email and send_template queue.  No worker
-- serves this database (test/regress.conf), so every message stays as it
-- was queued; test/t/ covers delivery.
SET client_min_messages = warning;

-- Without a From address nothing can be queued.
SELECT analytics.send_email('ada@example.com', 'Hi', 'Hello');

-- email_from is checked when it is set.
SET analytics.email_from = 'Shop <noreply@bad..domain>';
SET analytics.email_from = 'Shop <noreply@shop.example>';

-- A text + HTML message with a UTF-8 subject, one extra header.
SELECT analytics.send_email('Ada Lovelace <ada@example.com>', 'Grüße aus Köln',
       E'Hello Ada,\n.a line that starts with a dot\nBye', '<p>Hello <b>Ada</b></p>',
       NULL, '{"Reply-To": "support@shop.example"}') AS first_id \gset
SELECT id = :first_id AS same_id, status, attempts, sender, envelope_from, recipient,
       rcpt_address, subject, template, idempotency_key, finished_at IS NULL AS open
FROM analytics.email_outbox;

-- The stored message (Date, the Message-ID hash and the boundary masked:
-- they depend on the time and on the cluster's system identifier): RFC 5322
-- headers, the subject as an encoded word (base64 of the UTF-8 bytes of
-- "Grüße aus Köln" is R3LDvMOfZSBhdXMgS8O2bG4=), multipart/alternative
-- with quoted-printable parts; the dot line is =2E so SMTP never stuffs it.
SELECT regexp_replace(regexp_replace(regexp_replace(replace(message, E'\r\n', E'\n'),
         '^Date: [^\n]*', 'Date: (masked)', 'n'),
         '<[0-9]+\.[0-9a-f]{16}@', '<ID.HASH@', 'g'),
         '=_analytics_[0-9a-f]{16}', '=_analytics_BOUNDARY', 'g') AS message
FROM analytics.email_outbox WHERE id = :first_id;
SELECT message_id ~ ('^' || id || '\.[0-9a-f]{16}@shop\.example$') AS message_id_from_id,
       position('Message-ID: <' || message_id || E'>\r\n' IN message) > 0 AS header_matches,
       position(E'\n' IN replace(message, E'\r\n', '')) = 0 AS crlf_only,
       substring(message FROM '^Date: ([^\r]*)')::timestamptz
         BETWEEN created_at - interval '1 second' AND created_at + interval '1 second' AS date_is_now
FROM analytics.email_outbox WHERE id = :first_id;

-- Two messages get different Message-IDs.
SELECT analytics.send_email('bob@example.com', 'Second', 'x') AS second_id \gset
SELECT count(DISTINCT message_id) AS distinct_ids FROM analytics.email_outbox;

-- Every queued message has its 'queued' event.
SELECT message = :first_id AS first, attempt, status, smtp_code, detail
FROM analytics.email_events ORDER BY id;

-- Idempotency: the same key returns the same id and queues nothing more.
SELECT analytics.send_email('carol@example.com', 'Receipt 1001', 'Thanks',
       idempotency_key => 'order-1001') AS key_id \gset
SELECT analytics.send_email('carol@example.com', 'Receipt 1001 (again)', 'Thanks',
       idempotency_key => 'order-1001') = :key_id AS same_id;
SELECT count(*) AS with_key, min(subject) AS subject
FROM analytics.email_outbox WHERE idempotency_key = 'order-1001';

-- A rolled-back enqueue leaves nothing.
BEGIN;
SELECT analytics.send_email('dave@example.com', 'Never', 'x') > 0 AS queued;
ROLLBACK;
SELECT count(*) AS dave FROM analytics.email_outbox WHERE rcpt_address = 'dave@example.com';

-- Header injection and bad input are rejected at enqueue.
SELECT analytics.send_email(E'eve@example.com\r\nBcc: all@example.com', 'Hi', 'x');
SELECT analytics.send_email('eve@example.com', E'Hi\nBcc: all@example.com', 'x');
SELECT analytics.send_email('eve@example.com', 'Hi', 'x', NULL, NULL,
       jsonb_build_object('X-Tag', E'a\r\nBcc: all@example.com'));
SELECT analytics.send_email('eve@example.com', 'Hi', 'x', NULL, NULL, '{"Subject": "other"}');
SELECT analytics.send_email('eve@example.com', 'Hi', 'x', NULL, NULL, '{"X-Count": 3}');
SELECT analytics.send_email('eve@example.com', 'Hi', 'x', NULL, NULL, '["X-Tag"]');
SELECT analytics.send_email('not an address', 'Hi', 'x');
SELECT analytics.send_email(NULL, 'Hi', 'x');
SELECT analytics.send_email('eve@example.com', NULL, 'x');
SELECT analytics.send_email('eve@example.com', 'Hi', 'x', idempotency_key => '');
SELECT count(*) AS eve FROM analytics.email_outbox WHERE rcpt_address LIKE 'eve%';

-- A suppressed address (any case) is never sent to.
INSERT INTO analytics.email_suppressions (address) VALUES ('blocked@example.com');
SELECT analytics.send_email('Blocked@Example.COM', 'Hi', 'x') AS blocked_id \gset
SELECT status, finished_at IS NOT NULL AS finished, last_error
FROM analytics.email_outbox WHERE id = :blocked_id;
SELECT attempt, status, detail FROM analytics.email_events WHERE message = :blocked_id;
\set VERBOSITY terse
INSERT INTO analytics.email_suppressions (address) VALUES ('Mixed@Example.com');
\set VERBOSITY default

-- Templates: values raw in the subject and text body, HTML-escaped in the
-- HTML body; dotted names walk nested objects; numbers and booleans as JSON
-- writes them.
INSERT INTO analytics.email_templates (name, subject, body_text, body_html) VALUES
  ('receipt', 'Receipt for {{name}}',
   E'Hi {{ name }},\ntotal {{order.total}} (paid: {{order.paid}})',
   '<p>Hi {{name}}, total {{order.total}}</p>');
SELECT analytics.send_template('receipt', 'ada@example.com',
       '{"name": "Ada & <Bob>", "order": {"total": 12.50, "paid": true}}') AS tpl_id \gset
SELECT template, subject FROM analytics.email_outbox WHERE id = :tpl_id;
SELECT position(E'Hi Ada & <Bob>,\r\ntotal 12.50 (paid: true)' IN message) > 0 AS text_raw,
       position('<p>Hi Ada &amp; &lt;Bob&gt;, total 12.50</p>' IN message) > 0 AS html_escaped
FROM analytics.email_outbox WHERE id = :tpl_id;
-- with an idempotency key
SELECT analytics.send_template('receipt', 'ada@example.com',
       '{"name": "Ada", "order": {"total": 1, "paid": false}}', 'receipt-7') =
       analytics.send_template('receipt', 'ada@example.com',
       '{"name": "Ada", "order": {"total": 1, "paid": false}}', 'receipt-7') AS same_id;
-- errors
SELECT analytics.send_template('receipt', 'ada@example.com', '{"name": "Ada"}');
SELECT analytics.send_template('receipt', 'ada@example.com', '{"name": "Ada", "order": 5}');
SELECT analytics.send_template('nope', 'ada@example.com', '{}');
SELECT analytics.send_template('receipt', 'ada@example.com', '[1]');
INSERT INTO analytics.email_templates (name, subject, body_text) VALUES ('broken', 'Hi {{name', 'x');
SELECT analytics.send_template('broken', 'ada@example.com', '{"name": "Ada"}');

-- email_stats: everything above was queued now; one is suppressed (final,
-- not sent), so the delivery rate is 0.
SELECT messages, queued, sending, deferred, sent, bounced, suppressed, failed,
       attempts, temporary_failures, delivery_rate
FROM analytics.email_stats();
SELECT messages FROM analytics.email_stats(now() - interval '2 days', now() - interval '1 day');

-- The password setting is for superusers only.
CREATE ROLE email_reader;
SET ROLE email_reader;
SHOW analytics.smtp_password;
SELECT count(*) AS visible FROM pg_settings WHERE name = 'analytics.smtp_password';
RESET ROLE;
DROP ROLE email_reader;

-- The worker and email settings: defaults, units, when they can change
-- (the password is not listed even for a superuser).
SELECT name, setting, unit, context FROM pg_settings
WHERE name ~ '^analytics\.(smtp|email|job|worker)' ORDER BY name;

-- worker_status(): the launcher runs; no worker serves this database.
SELECT database, state, pid IS NOT NULL AS has_pid FROM analytics.worker_status() ORDER BY database NULLS FIRST;

-- SMTP settings are checked: credentials do not go in the url, only smtp and
-- smtps schemes, a known STARTTLS policy; they change only with a reload.
ALTER SYSTEM SET analytics.smtp_url = 'smtp://mailer:secret@mail.example.com';
ALTER SYSTEM SET analytics.smtp_url = 'http://mail.example.com';
ALTER SYSTEM SET analytics.smtp_starttls = 'maybe';
SET analytics.smtp_url = 'smtp://mail.example.com';
ALTER SYSTEM SET analytics.worker_databases = 'a,,b';
