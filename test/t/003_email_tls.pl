# The worker's SMTP over TLS and with AUTH, against aiosmtpd servers
# (python3-aiosmtpd, test/servers/smtp_flaky.py) on 127.0.0.1 with
# certificates made here by openssl: STARTTLS required and offered, the
# certificate checked against analytics.smtp_ca_file (a wrong authority and
# a wrong host name are refused), AUTH with the right and a wrong password,
# STARTTLS required of a server that does not offer it (nothing sent in
# clear) and then allowed, smtps:// (TLS from the first byte).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(usleep);
use JSON::PP ();

my $PYTHON = '/usr/bin/python3';
my $SERVER = "$ENV{TESTDIR}/servers/smtp_flaky.py";

if (system("$PYTHON -c 'import aiosmtpd' >/dev/null 2>&1") != 0)
{
	plan skip_all => 'python3-aiosmtpd not installed';
}
if (system('openssl version >/dev/null 2>&1') != 0)
{
	plan skip_all => 'openssl not installed';
}

# ---- certificates: a test authority, a server certificate for 127.0.0.1,
# one for another name, and an authority that signed neither -----------------
my $pki = PostgreSQL::Test::Utils::tempdir('pki');

sub openssl
{
	my @cmd = ('openssl', @_);
	my ($out, $err);
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err)
	  or BAIL_OUT("openssl @_ failed: $err");
}

sub make_ca
{
	my ($name) = @_;
	openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
		'-nodes', '-keyout', "$pki/$name.key", '-out', "$pki/$name.pem", '-days', '2',
		'-subj', "/CN=analytics test $name");
}

sub make_cert
{
	my ($name, $ca, $san) = @_;
	openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
		'-keyout', "$pki/$name.key", '-out', "$pki/$name.csr", '-subj', "/CN=$name");
	open my $f, '>', "$pki/$name.ext" or die $!;
	print $f "subjectAltName=$san\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
	close $f;
	openssl('x509', '-req', '-in', "$pki/$name.csr", '-CA', "$pki/$ca.pem",
		'-CAkey', "$pki/$ca.key", '-CAcreateserial', '-out', "$pki/$name.pem",
		'-days', '2', '-extfile', "$pki/$name.ext");
}

make_ca('ca');
make_ca('other-ca');
make_cert('server', 'ca', 'IP:127.0.0.1');
make_cert('wrong-name', 'ca', 'DNS:mail.example.test');

# ---- servers ---------------------------------------------------------------
my @servers;

# start an aiosmtpd server; returns {port, log, stats, h}
sub start_server
{
	my (%o) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $dir = PostgreSQL::Test::Utils::tempdir("smtp_$port");
	my %s = (port => $port, log => "$dir/accepted.jsonl", stats => "$dir/stats.json");
	my @cmd = ($PYTHON, $SERVER, '--port', $port, '--tempfail-percent', '0',
		'--log', $s{log}, '--stats', $s{stats});
	push @cmd, '--tls-cert', "$pki/$o{cert}.pem", '--tls-key', "$pki/$o{cert}.key" if $o{cert};
	push @cmd, '--implicit-tls' if $o{implicit};
	push @cmd, '--auth', $o{auth} if $o{auth};
	my $out = '';
	$s{h} = IPC::Run::start(\@cmd, '<', '/dev/null', '>', \$out, '2>&1');
	for (1 .. 100)
	{
		$s{h}->pump_nb;
		last if $out =~ /listening on/;
		usleep(100_000);
	}
	like($out, qr/listening on 127\.0\.0\.1:$port/, "server $o{name} listens") or diag $out;
	$s{out} = \$out;
	push @servers, \%s;
	return \%s;
}

# the messages a server accepted: [{message_id, tls, auth, rcpt}]
sub accepted
{
	my ($s) = @_;
	open my $f, '<', $s->{log} or return [];
	return [ map { JSON::PP::decode_json($_) } <$f> ];
}

# a counter of the server's stats file (written every second): its value
# once it is positive, or 0 after 10 s
sub server_counts
{
	my ($s, $key) = @_;
	for (1 .. 100)
	{
		my $v = eval { JSON::PP::decode_json(slurp_file($s->{stats}))->{$key} } // 0;
		return $v if $v > 0;
		usleep(100_000);
	}
	return 0;
}

END
{
	for my $s (@servers)
	{
		eval { $s->{h}->signal('TERM'); $s->{h}->finish; };
	}
}

my $starttls = start_server(name => 'STARTTLS + AUTH', cert => 'server', auth => 'bob:T1s-pw-42');
my $plain = start_server(name => 'plain (no STARTTLS)');
my $smtps = start_server(name => 'smtps + AUTH', cert => 'server', implicit => 1, auth => 'bob:T1s-pw-42');
my $wrong_name = start_server(name => 'smtps, certificate for another name', cert => 'wrong-name', implicit => 1);

# ---- the server under test ---------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('tls');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'analytics'
analytics.smtp_url = 'smtp://127.0.0.1:$starttls->{port}'
analytics.smtp_starttls = required
analytics.smtp_ca_file = '$pki/ca.pem'
analytics.smtp_user = 'bob'
analytics.smtp_password = 'T1s-pw-42'
analytics.email_from = 'Shop <noreply\@shop.test>'
analytics.job_retry_base = '200ms'
analytics.job_retry_max = '1s'
analytics.worker_poll_interval = '500ms'
analytics.smtp_timeout = '10s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION analytics');

sub q1 { $node->safe_psql('postgres', $_[0]) }

sub set_conf
{
	my (%kv) = @_;
	q1("ALTER SYSTEM SET analytics.$_ = '$kv{$_}'") for sort keys %kv;
	q1('SELECT pg_reload_conf()');
}

sub send_one
{
	my ($subject) = @_;
	return q1("SELECT analytics.send_email('ada\@example.test', '$subject', 'x')");
}

sub wait_status
{
	my ($id, $status, $what) = @_;
	ok( $node->poll_query_until(
			'postgres', "SELECT status FROM analytics.email_outbox WHERE id = $id", $status),
		$what)
	  or diag q1("SELECT string_agg(status || ' ' || coalesce(detail, ''), E'\\n' ORDER BY id) "
		  . "FROM analytics.email_events WHERE message = $id");
}

# deferred at least once, with the last error matching $re
sub wait_deferred
{
	my ($id, $re, $what) = @_;
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) > 0 FROM analytics.email_events WHERE message = $id AND status = 'deferred'"),
		"$what: deferred");
	my $err = q1("SELECT last_error FROM analytics.email_outbox WHERE id = $id");
	note "$what: $err";
	like($err, $re, "$what: the error says why");
}

sub message_id
{
	my ($id) = @_;
	return '<' . q1("SELECT message_id FROM analytics.email_outbox WHERE id = $id") . '>';
}

# the accepted copies of message $id at server $s
sub copies
{
	my ($s, $id) = @_;
	my $mid = message_id($id);
	return grep { ($_->{message_id} // '') eq $mid } @{ accepted($s) };
}

ok( $node->poll_query_until(
		'postgres', "SELECT state FROM analytics.worker_status() WHERE database = 'postgres'", 'running'),
	'the worker runs');

# ---- STARTTLS required, the right authority, AUTH ------------------------------
my $id = send_one('over STARTTLS');
wait_status($id, 'sent', 'STARTTLS required: sent');
my @c = copies($starttls, $id);
is(scalar @c, 1, 'the STARTTLS server accepted it once');
like($c[0]{tls} // '', qr/^TLSv1\.[23]$/, 'over TLS 1.2 or later');
is($c[0]{auth}, 'bob', 'after AUTH as bob');

# ---- a certificate from an authority not trusted -----------------------------
set_conf(smtp_ca_file => "$pki/other-ca.pem");
$id = send_one('untrusted certificate');
wait_deferred($id, qr/certificate problem|issuer|verify/i, 'a certificate the authority did not sign');
is(scalar(copies($starttls, $id)), 0, 'nothing was sent to the untrusted server');
set_conf(smtp_ca_file => "$pki/ca.pem");
wait_status($id, 'sent', 'trusted again: the deferred message is sent');
is(scalar(copies($starttls, $id)), 1, 'once');

# a CA file that does not exist
set_conf(smtp_ca_file => "$pki/missing.pem");
$id = send_one('missing CA file');
wait_deferred($id, qr/missing\.pem/, 'a CA file that does not exist');
set_conf(smtp_ca_file => "$pki/ca.pem");
wait_status($id, 'sent', 'with the file back: sent');

# ---- a wrong password ----------------------------------------------------------
set_conf(smtp_password => 'Wr0ng-pw-77');
$id = send_one('wrong password');
wait_deferred($id, qr/login|auth|535/i, 'a wrong password');
my $details = q1("SELECT string_agg(coalesce(detail, ''), ' ') FROM analytics.email_events WHERE message = $id");
unlike($details, qr/Wr0ng-pw-77|T1s-pw-42/, 'no password in the recorded errors');
ok(server_counts($starttls, 'auth_failed') >= 1, 'the server refused the credentials');
set_conf(smtp_password => 'T1s-pw-42');
wait_status($id, 'sent', 'the right password again: sent');

# ---- STARTTLS required, the server does not offer it ---------------------------
set_conf(smtp_url => "smtp://127.0.0.1:$plain->{port}", smtp_user => '');
$id = send_one('required but not offered');
wait_deferred($id, qr/TLS|SSL/i, 'STARTTLS required of a server without it');
is(scalar(copies($plain, $id)), 0, 'nothing was sent in clear');
set_conf(smtp_starttls => 'try');
wait_status($id, 'sent', "smtp_starttls = try: sent");
@c = copies($plain, $id);
is(scalar @c, 1, 'the plain server accepted it once');
is($c[0]{tls}, undef, 'in clear, as allowed');

# ---- smtps:// -----------------------------------------------------------------
set_conf(smtp_url => "smtps://127.0.0.1:$smtps->{port}", smtp_user => 'bob', smtp_starttls => 'none');
$id = send_one('over smtps');
wait_status($id, 'sent', 'smtps://: sent');
@c = copies($smtps, $id);
is(scalar @c, 1, 'the smtps server accepted it once');
like($c[0]{tls} // '', qr/^TLSv1\.[23]$/, 'over TLS from the start');
is($c[0]{auth}, 'bob', 'after AUTH as bob');

# ---- a certificate for another host name ----------------------------------------
set_conf(smtp_url => "smtps://127.0.0.1:$wrong_name->{port}", smtp_user => '');
$id = send_one('wrong host name');
wait_deferred($id, qr/subject name|host ?name/i, 'a certificate for another host name');
is(scalar(copies($wrong_name, $id)), 0, 'nothing was sent to it');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/Wr0ng-pw-77|T1s-pw-42/, 'no password in the server log');
unlike($log, qr/PANIC|terminated by signal/i, 'no crash in the log');
done_testing();
