# The background worker delivering the email outbox to a real SMTP server
# (Postfix's smtp-sink on 127.0.0.1, started and stopped here): exact bytes,
# temporary and permanent failures, a dropped connection after the data,
# idempotency, rolled-back enqueues, SIGHUP, a killed worker, a killed
# postmaster with a batch in flight, DROP EXTENSION and DROP DATABASE while
# the worker runs, and the password kept out of the logs.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64 qw(decode_base64);
use Time::HiRes qw(usleep);

use SmtpSink;

if (!-x $SmtpSink::SMTP_SINK)
{
	plan skip_all => "$SmtpSink::SMTP_SINK not installed (package postfix)";
}

my $sink = SmtpSink->new;

my $node = PostgreSQL::Test::Cluster->new('email');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'analytics'
restart_after_crash = on
analytics.smtp_url = '@{[ $sink->url ]}'
analytics.email_from = 'Shop <noreply\@shop.test>'
analytics.job_retry_base = '200ms'
analytics.job_retry_max = '1s'
analytics.worker_poll_interval = '500ms'
analytics.smtp_timeout = '10s'
log_min_messages = info
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION analytics');

sub q1 { $node->safe_psql('postgres', $_[0]) }

# complete messages a sink holds, optionally only those with this subject
sub count_msgs
{
	my ($s, $subject) = @_;
	my @m = $s->messages;
	@m = grep { ($_->{headers}{subject}[0] // '') eq $subject } @m if defined $subject;
	return scalar @m;
}

sub wait_status
{
	my ($id, $status, $what) = @_;
	ok( $node->poll_query_until(
			'postgres',
			"SELECT status FROM analytics.email_outbox WHERE id = $id",
			$status),
		$what);
}

# The worker for this database comes up (the launcher started it when the
# extension was created, or at its next look).
ok( $node->poll_query_until(
		'postgres',
		"SELECT state FROM analytics.worker_status() WHERE database = 'postgres'",
		'running'),
	'a worker runs for the database with the extension');

# ---- happy path: the exact bytes arrive --------------------------------
my $id = q1(
	q{SELECT analytics.send_email('Ada <ada@example.test>', 'Grüße', E'Hello\n.dot line\n', '<p>Hi &amp; bye</p>', NULL, '{"X-Campaign": "welcome"}')}
);
wait_status($id, 'sent', 'a queued message is sent');
is($sink->wait_for_messages(1), 1, 'the server received one message');
my ($m) = $sink->messages;
# the stored bytes, exactly (base64 through psql)
my $stored = decode_base64(
	q1("SELECT encode(convert_to(message, 'UTF8'), 'base64') FROM analytics.email_outbox WHERE id = $id"));
# the sink's dump drops every CR (raw has LF ends, see SmtpSink.pm), so
# compare with the CRs of the stored CRLF message removed
(my $stored_lf = $stored) =~ s/\r//g;
is($m->{raw}, $stored_lf, 'the server received exactly the stored bytes');
is(scalar(() = $stored =~ /\r\n/g), scalar(() = $stored =~ /\n/g),
	'the stored message has CRLF line ends only');
is($m->{mail_from}, 'noreply@shop.test', 'envelope sender is analytics.email_from');
is_deeply($m->{rcpt}, ['ada@example.test'], 'envelope recipient is the address');
is( $m->{headers}{'message-id'}[0],
	'<' . q1("SELECT message_id FROM analytics.email_outbox WHERE id = $id") . '>',
	'Message-ID as stored');
is($m->{headers}{'x-campaign'}[0], 'welcome', 'extra header delivered');
like($m->{headers}{'content-type'}[0], qr{^multipart/alternative; boundary=},
	'text + HTML as multipart/alternative');
like($m->{body}, qr/^=2Edot line$/m, 'a line starting with a dot survives SMTP');
is( q1("SELECT string_agg(status || ':' || coalesce(smtp_code::text, ''), ',' ORDER BY id) FROM analytics.email_events WHERE message = $id"),
	'queued:,sent:250',
	'events: queued, then sent with 250');

# ---- a template --------------------------------------------------------
q1(q{INSERT INTO analytics.email_templates VALUES ('report', 'Weekly report for {{team}}', E'Hi {{name}}, {{count}} signups', '<p>Hi {{name}}</p>')});
$id = q1(q{SELECT analytics.send_template('report', 'lead@example.test', '{"team": "Growth", "name": "<Lea>", "count": 42}')});
wait_status($id, 'sent', 'a templated message is sent');
$sink->wait_for_messages(2);
($m) = grep { ($_->{headers}{subject}[0] // '') eq 'Weekly report for Growth' } $sink->messages;
ok($m, 'the templated message arrived with its rendered subject');
like($m->{body}, qr/Hi <Lea>, 42 signups/, 'text part raw');
like($m->{body}, qr/<p>Hi &lt;Lea&gt;<\/p>/, 'HTML part escaped');

# ---- 4xx, then success ---------------------------------------------------
$sink->restart(flags => [ '-r', 'RCPT' ]);
my $before = count_msgs($sink);
$id = q1(q{SELECT analytics.send_email('temp@example.test', 'Try again', 'x')});
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) >= 2 FROM analytics.email_events WHERE message = $id AND status = 'deferred'"),
	'a 4xx reply defers the message, and it is retried');
like(q1("SELECT smtp_code || ' ' || detail FROM analytics.email_events WHERE message = $id AND status = 'deferred' LIMIT 1"),
	qr/^4\d\d .*4\d\d/, 'the deferral records the 4xx code and the reply');
$sink->restart(flags => []);
wait_status($id, 'sent', 'after the server recovers the message is sent');
ok(q1("SELECT attempts >= 3 FROM analytics.email_outbox WHERE id = $id") eq 't',
	'it took several attempts');
is(count_msgs($sink), $before + 1, 'exactly one copy was delivered');

# ---- 5xx: bounced and suppressed ---------------------------------------
$sink->restart(flags => [ '-f', 'RCPT' ]);
$before = count_msgs($sink);
$id = q1(q{SELECT analytics.send_email('Gone <Gone@Example.test>', 'Hello?', 'x')});
wait_status($id, 'bounced', 'a 5xx reply to RCPT bounces the message');
is(q1("SELECT attempts FROM analytics.email_outbox WHERE id = $id"), '1', 'no retry after a bounce');
like(q1("SELECT reason || ' ' || smtp_code || ' ' || message FROM analytics.email_suppressions WHERE address = 'gone\@example.test'"),
	qr/^bounce 5\d\d $id$/, 'the address joined the suppression list (lower case)');
$sink->restart(flags => []);
my $again = q1(q{SELECT analytics.send_email('gone@example.test', 'Hello again', 'x')});
is(q1("SELECT status FROM analytics.email_outbox WHERE id = $again"), 'suppressed',
	'a message to a suppressed address is suppressed at once');
my $probe = q1(q{SELECT analytics.send_email('probe@example.test', 'Probe', 'x')});
wait_status($probe, 'sent', 'a later message is sent');
is(count_msgs($sink), $before + 1, 'the suppressed one never reached the server');

# ---- the connection drops after the data: retried --------------------------
$sink->restart(flags => [ '-q', '.' ]);
$before = count_msgs($sink);
$id = q1(q{SELECT analytics.send_email('drop@example.test', 'Dropped', 'x')});
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) >= 1 FROM analytics.email_events WHERE message = $id AND status = 'deferred'"),
	'a disconnect after the data defers the message');
$sink->restart(flags => []);
wait_status($id, 'sent', 'and it is sent on a later attempt');
my @copies = grep { ($_->{headers}{subject}[0] // '') eq 'Dropped' } $sink->messages;
ok(@copies >= 2, 'the server got it more than once (at-least-once: the first copy had arrived)');
my %ids = map { $_->{headers}{'message-id'}[0] => 1 } @copies;
is(scalar keys %ids, 1, 'every copy carries the same Message-ID');

# ---- idempotency ------------------------------------------------------------
my $k1 = q1(q{SELECT analytics.send_email('idem@example.test', 'Once', 'x', idempotency_key => 'order-77')});
my $k2 = q1(q{SELECT analytics.send_email('idem@example.test', 'Once', 'x', idempotency_key => 'order-77')});
is($k2, $k1, 'the same idempotency key returns the same id');
wait_status($k1, 'sent', 'the keyed message is sent');
my $k3 = q1(q{SELECT analytics.send_email('idem@example.test', 'Once', 'x', idempotency_key => 'order-77')});
is($k3, $k1, '... also after it was sent');
usleep(1_000_000);
is(count_msgs($sink, 'Once'), 1,
	'one message delivered for the key');

# ---- a rolled-back enqueue sends nothing -------------------------------------
$node->safe_psql('postgres',
	q{BEGIN; SELECT analytics.send_email('rollback@example.test', 'Rolled back', 'x'); ROLLBACK;});
$probe = q1(q{SELECT analytics.send_email('probe@example.test', 'Probe 2', 'x')});
wait_status($probe, 'sent', 'a message queued after the rollback is sent');
is(count_msgs($sink, 'Rolled back'), 0,
	'the rolled-back message never reached the server');

# ---- SIGHUP picks up a new smtp_url --------------------------------------------
my $sink2 = SmtpSink->new;
$node->safe_psql('postgres', "ALTER SYSTEM SET analytics.smtp_url = '@{[ $sink2->url ]}'");
$node->reload;
usleep(500_000);
$id = q1(q{SELECT analytics.send_email('moved@example.test', 'To the new server', 'x')});
wait_status($id, 'sent', 'sent after the reload');
is($sink2->wait_for_messages(1), 1, 'the new server got it');
is(count_msgs($sink, 'To the new server'), 0,
	'the old server did not');

# ---- the password never reaches the log -------------------------------------
$node->safe_psql('postgres', "ALTER SYSTEM SET analytics.smtp_password = 'Sup3r-S3cret-pw'");
$node->reload;
usleep(500_000);
$id = q1(q{SELECT analytics.send_email('pw@example.test', 'With a password set', 'x')});
wait_status($id, 'sent', 'sending works with a password set (the sink offers no AUTH)');
$node->safe_psql('postgres', "ALTER SYSTEM RESET analytics.smtp_password");
$node->reload;

# ---- worker_status ------------------------------------------------------------
my $status = q1("SELECT pid > 0, state, sent > 0, in_flight FROM analytics.worker_status() WHERE database = 'postgres'");
is($status, 't|running|t|0', 'worker_status: running, has sent, nothing in flight');

# ---- the worker killed with SIGKILL: the server restarts it -------------------------
my $wpid = q1("SELECT pid FROM analytics.worker_status() WHERE database = 'postgres'");
$sink2->restart(flags => [ '-w', '2' ]);    # slow replies: a batch is in flight
q1(q{SELECT analytics.send_email('k' || g || '@example.test', 'Killed worker ' || g, 'x') FROM generate_series(1, 5) g});
ok( $node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM analytics.email_outbox WHERE status = 'sending'"),
	'a batch is in flight');
kill 'KILL', $wpid;
ok( $node->poll_query_until(
		'postgres',
		"SELECT pid IS NOT NULL AND pid <> $wpid AND state = 'running' FROM analytics.worker_status() WHERE database = 'postgres'"),
	'after SIGKILL of the worker, a new worker runs');
$sink2->restart(flags => []);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 5 FROM analytics.email_outbox WHERE subject LIKE 'Killed worker %' AND status = 'sent'"),
	'the messages in flight at the kill are all sent');
ok(q1("SELECT count(*) > 0 FROM analytics.email_events WHERE status = 'requeued'") eq 't',
	'the new worker requeued the claimed messages (and said so)');

# ---- the postmaster killed with SIGKILL while a batch is in flight ---------------
$node->safe_psql('postgres', "ALTER SYSTEM SET analytics.email_batch_size = 20");
$node->reload;
$sink2->restart(flags => [ '-w', '1' ]);
$before = count_msgs($sink2);
q1(q{SELECT analytics.send_email('crash' || g || '@example.test', 'Crash ' || g, 'x') FROM generate_series(1, 60) g});
ok( $node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM analytics.email_outbox WHERE status = 'sending' AND subject LIKE 'Crash %'"),
	'a batch of the 60 is in flight');
$node->kill9;
$sink2->restart(flags => []);
# the children notice the postmaster is gone and exit; until they all have,
# the old shared memory is in use and a new postmaster refuses to start
sub children_left
{
	my $n = 0;
	for my $d (glob '/proc/[0-9]*')
	{
		open(my $f, '<', "$d/cmdline") or next;
		my $c = <$f> // '';
		$n++ if $c =~ /^postgres: email: /;
	}
	return $n;
}
for (1 .. 300)
{
	last if children_left() == 0;
	usleep(100_000);
}
is(children_left(), 0, 'every process of the killed server has exited');
# the killed postmaster itself lingers until it is reaped (a zombie), and
# pg_ctl takes a live PID in postmaster.pid for a running server
my ($old_pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
for (1 .. 300)
{
	last unless kill(0, $old_pm);
	usleep(100_000);
}
ok(!kill(0, $old_pm), 'the killed postmaster is gone');
$node->start;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 60 FROM analytics.email_outbox WHERE subject LIKE 'Crash %' AND status = 'sent'"),
	'after the postmaster crash every queued message is sent');
my %seen;
$seen{ $_->{headers}{subject}[0] }++
  for grep { ($_->{headers}{subject}[0] // '') =~ /^Crash \d+$/ } $sink2->messages;
is(scalar(grep { !$seen{"Crash $_"} } 1 .. 60), 0, 'none of the 60 was lost');
my $dups = 0;
$dups += $_ - 1 for values %seen;
ok($dups <= 20, "duplicates ($dups) at most one batch (20)");

# ---- DROP DATABASE while its worker runs -------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE shopdb');
$node->safe_psql('shopdb', 'CREATE EXTENSION analytics');
$node->safe_psql('shopdb', q{SELECT analytics.send_email('x@example.test', 'From shopdb', 'x')});
ok( $node->poll_query_until(
		'postgres',
		"SELECT state FROM analytics.worker_status() WHERE database = 'shopdb'", 'running'),
	'a worker runs for the second database');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE shopdb');
is($ret, 0, 'DROP DATABASE succeeds while the worker runs') or diag $err;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM analytics.worker_status() WHERE database = 'shopdb'"),
	'and its worker is gone');

# ---- DROP EXTENSION while the worker runs --------------------------------------
($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION analytics');
is($ret, 0, 'DROP EXTENSION succeeds while the worker runs') or diag $err;
$node->safe_psql('postgres', 'CREATE EXTENSION analytics');
$id = q1(q{SELECT analytics.send_email('again@example.test', 'After re-create', 'x')});
wait_status($id, 'sent', 'after CREATE EXTENSION again the worker sends');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/Sup3r-S3cret-pw/, 'the password never appears in the server log');
unlike($log, qr/PANIC|segmentation fault|terminated by signal 11/i, 'no crash of our code in the log');
done_testing();
