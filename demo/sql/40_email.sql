-- Transactional email: a templated weekly report queued in the outbox and
-- delivered by the background worker to the local SMTP server (smtp-sink).
\echo '==> email: queue a templated report and wait for the worker to deliver it'
SET client_min_messages = warning;
INSERT INTO analytics.email_templates (name, subject, body_text, body_html)
VALUES ('weekly_report', 'Weekly report: {{signups}} signups',
        E'Hello {{name}},\n\nIn the demo data set: {{signups}} signups, {{purchases}} purchases, revenue {{revenue}}.\n',
        '<h1>Weekly report</h1><p>Hello {{name}}, in the demo data set: <b>{{signups}}</b> signups, '
        '<b>{{purchases}}</b> purchases, revenue {{revenue}}.</p>')
ON CONFLICT (name) DO UPDATE SET subject = excluded.subject, body_text = excluded.body_text,
                                 body_html = excluded.body_html;
SELECT analytics.send_template('weekly_report', 'Growth team <growth@demo.example>',
       jsonb_build_object('name', 'Growth team',
                          'signups', (SELECT count(*) FROM analytics_demo.events WHERE event_type = 'signup'),
                          'purchases', (SELECT count(*) FROM analytics_demo.events WHERE event_type = 'purchase'),
                          'revenue', (SELECT sum(revenue) FROM analytics_demo.events)))
       AS message_id \gset
-- wait (at most 20 s) until the worker has delivered it
DO $$
BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN (SELECT status FROM analytics.email_outbox ORDER BY id DESC LIMIT 1)
              IN ('sent', 'bounced', 'failed');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT id, recipient, subject, status, attempts, smtp_code FROM analytics.email_outbox WHERE id = :message_id;
SELECT attempt, status, smtp_code, detail FROM analytics.email_events WHERE message = :message_id ORDER BY id;
SELECT database, state, sent, in_flight FROM analytics.worker_status() WHERE database = current_database();
