# The library loads through shared_preload_libraries, which the background
# worker will need: the postmaster reserves the analytics. prefix before any
# database has the extension, and the library reports it was preloaded.  A
# second node without preloading is the control.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'analytics'");
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'analytics', 'node runs with shared_preload_libraries = analytics');

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', "SET analytics.no_such_setting = 'x'");
isnt($ret, 0, 'an unknown analytics.* setting is rejected before CREATE EXTENSION');
like(
	$stderr,
	qr/invalid configuration parameter name "analytics\.no_such_setting"/,
	'... because the preloaded library reserved the prefix');

$node->safe_psql('postgres', 'CREATE EXTENSION analytics');
is( $node->safe_psql(
		'postgres', "SELECT (analytics.build_info()->>'preloaded')::boolean"),
	't',
	'build_info reports the library was preloaded');
is( $node->safe_psql(
		'postgres',
		"SELECT analytics.version() = extversion FROM pg_extension WHERE extname = 'analytics'"),
	't',
	'the preloaded library matches the installed script version');

# A new database sees the same preloaded library.
$node->safe_psql('postgres', 'CREATE DATABASE other');
($ret, $stdout, $stderr) =
  $node->psql('other', "SET analytics.no_such_setting = 'x'");
isnt($ret, 0, 'the prefix is reserved in every database');

$node->stop;
# (a client session still closing when the fast shutdown comes is
# terminated with a FATAL of its own; that one is not ours)
ok( !grep(/FATAL|PANIC/ && !/terminating connection due to administrator command/,
		split /\n/, slurp_file($node->logfile)),
	'no FATAL or PANIC in the server log (the launcher exits cleanly)');

# Control: without preloading, a fresh session accepts a placeholder, and the
# library loaded on demand says it was not preloaded.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
($ret, $stdout, $stderr) =
  $plain->psql('postgres', "SET analytics.no_such_setting = 'x'");
is($ret, 0, 'without preloading a fresh session accepts the placeholder');
$plain->safe_psql('postgres', 'CREATE EXTENSION analytics');
is( $plain->safe_psql(
		'postgres', "SELECT (analytics.build_info()->>'preloaded')::boolean"),
	'f',
	'build_info reports the library was loaded on demand');
($ret, $stdout, $stderr) = $plain->psql('postgres',
	"SET analytics.email_from = 'a\@b.test'; SELECT analytics.send_email('c\@d.test', 'Hi', 'x')");
isnt($ret, 0, 'send_email without preloading fails');
like($stderr, qr/needs the analytics background worker.*HINT:  Add analytics to shared_preload_libraries/s,
	'... with an error that says why and a hint');
($ret, $stdout, $stderr) = $plain->psql('postgres', "SELECT * FROM analytics.worker_status()");
like($stderr, qr/shared_preload_libraries/, 'worker_status without preloading says so too');
$plain->stop;

done_testing();
