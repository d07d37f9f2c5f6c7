=pod

=head1 NAME

SmtpSink - run Postfix's smtp-sink(1) as a real SMTP server in TAP tests

=head1 SYNOPSIS

  use SmtpSink;

  my $sink = SmtpSink->new(flags => [ '-r', 'RCPT' ]);   # soft-rejects RCPT
  ... point the extension at $sink->url ...
  $sink->restart(flags => []);                           # same port, healthy
  is($sink->wait_for_messages(1, 10), 1, 'one message delivered');
  my ($m) = $sink->messages;
  is($m->{mail_from}, 'noreply@x.test');
  is_deeply($m->{rcpt}, [ 'user@y.test' ]);
  is($m->{headers}{subject}[0], 'Hello');

=head1 DESCRIPTION

Starts C</usr/sbin/smtp-sink -d DIR/%M. -h sink.test FLAGS 127.0.0.1:PORT 64>
in the background, so that every mail transaction is dumped to its own file
F<DIR/MM.xxxxxxxx> (MM = minute of the MAIL command, xxxxxxxx = the
pseudo-random id that also appears in the dump's Received: header).
smtp-sink's stdout and stderr are appended to
F<tmp_check/log/smtp_sink_PORT.log>, which test/run prints when a TAP script
fails.

When the process runs as root, smtp-sink insists on dropping privileges, so
C<-u nobody> is added and the dump directory is chowned to nobody (the path
to it must then be searchable by nobody).  Tests normally run as postgres,
where neither is needed.  On Linux the sink gets PR_SET_PDEATHSIG=SIGTERM so
it does not outlive a test script that is killed (not with C<-u>, which
resets it).

=head1 METHODS

=over

=item SmtpSink->new(%opts)

C<flags> (arrayref of extra smtp-sink arguments, e.g. C<['-q', '.']>),
C<port> (default: PostgreSQL::Test::Cluster::get_free_port()), C<dir>
(default: a fresh PostgreSQL::Test::Utils::tempdir), C<log> (default
F<$PostgreSQL::Test::Utils::log_path/smtp_sink_PORT.log>), C<timeout>
(seconds to wait for the port, default 10).  Dies with the sink's log when
it exits or the port does not accept connections in time.  Ready means:
the socket listening on the port is the sink's own (checked in /proc, so a
stranger already on the port is not mistaken for it) and a TCP connection
succeeds.  That probe connection is closed at once; smtp-sink counts it as
a session (matters only for C<-n>/C<-c>).

=item port, url ("smtp://127.0.0.1:PORT"), dir, pid, logfile, flags

=item stop

Freezes the sink (SIGSTOP), remembers which dump files it still has open
(they stay on disk half-written: smtp-sink has no TERM handler), sends
SIGTERM, reaps it (SIGKILL after 10 s).  Idempotent; also called by DESTROY
and at END.

=item restart(flags => [...])

stop, then start again on the same port and directory (dumps already there
are kept).  Without a C<flags> key the previous flags are kept; pass
C<< flags => [] >> for a plain sink.

=item messages

Complete dumps, oldest first (file mtime with sub-second resolution, then
name), each a hashref:

  file        absolute path of the dump
  id          the 8 hex digits of the file name / Received id
  client_addr X-Client-Addr
  helo        X-Helo-Args (undef when the client sent no HELO/EHLO)
  mail_args   X-Mail-Args as sent, e.g. "<a@x.test> BODY=8BITMIME"
  mail_from   the address inside <...> of X-Mail-Args ('' for <>)
  rcpt_args   [ X-Rcpt-Args ... ] in RCPT order
  rcpt        [ the addresses inside <...> ]
  raw         the message as received (see DUMP FORMAT), LF line ends
  raw_crlf    raw with every LF turned into CRLF
  headers     { lower-case name => [ unfolded values in order ] }
  body        raw after the first empty line

=item partial_files

Dump files that are not complete: held open by the running sink (a
transaction in progress), left behind by stop while in progress, or
structurally unfinished.  messages() skips exactly these.

=item wait_for_messages($n, $timeout_s = 10)

Polls every 0.1 s until at least $n complete dumps exist or the timeout
passes; returns the number of complete dumps.

=back

=head1 DUMP FORMAT (smtp-sink of Postfix 3.7, checked by experiment)

A dump is: [the -S string] "X-Client-Addr: ADDR\n" "X-Client-Proto:
SMTP|ESMTP|LMTP\n" ["X-Helo-Args: ARGS\n"] "X-Mail-Args: ARGS\n" one
"X-Rcpt-Args: ARGS\n" per accepted RCPT, then the three-line
"Received: from HELO ([ADDR])\n\tby HOST (smtp-sink) with PROTO id ID;\n\tDATE\n",
then the DATA stream transformed byte by byte:

=over

=item * every CR byte is dropped, so CRLF becomes LF, a bare LF stays LF and
a bare CR disappears ("a\rb" is dumped as "ab").  CRLF and LF line ends
cannot be told apart; raw therefore has LF line ends.

=item * the first "." of every line that follows CRLF (and of the first line)
is dropped: this undoes the client's dot-stuffing ("..x" -> ".x", ".." ->
"."), and a client that forgot to dot-stuff ".x" shows up as "x".

=item * the terminating "CRLF.CRLF" leaves its last LF, which is the "empty
line" the man page says ends every dump.  So a complete dump always ends in
"\n\n" (an empty message dumps as the Received header plus "\n"), and raw
is everything after the Received header minus that last "\n".  A client
that ends its data without CRLF gets one added by the client library (curl
does), so raw normally ends in "\n".

=back

Lines of any length are dumped as is (no 998/2048 limit in DATA).  The file
is created at MAIL (the X- headers), Received is written at DATA and data
reaches the disk in buffer-sized blocks (8192 bytes of a 10000-byte DATA,
16384 of 20000 were seen), so a transaction in progress is a visible,
growing file that may end anywhere, even in "\n\n".  RSET, a new HELO/EHLO or a lost connection before the final "."
deletes it.  A SIGTERM to the sink leaves it half-written.  The dump is
finished the moment "CRLF.CRLF" has been read, before "." is handled as a
command: with C<-q .> (disconnect without reply), C<-Q .> (421) or C<-r .>
/ C<-f .> (450/500) the client sees a failure but a complete, ordinary dump
remains, indistinguishable from a delivered message (so a retrying client
produces duplicates).  Rejections before the end of DATA (C<-r RCPT>, C<-q
DATA>, ...) leave no file once the client has disconnected.

=cut

package SmtpSink;

use strict;
use warnings;

use Carp;
use Config;
use Cwd ();
use File::Spec;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken);
use Time::HiRes ();

use PostgreSQL::Test::Utils ();
use PostgreSQL::Test::Cluster ();

our $SMTP_SINK = '/usr/sbin/smtp-sink';

my %live;    # "$obj" => weak ref, for END

sub new
{
	my ($class, %opts) = @_;
	my $self = bless {
		flags => [ @{ $opts{flags} || [] } ],
		port => $opts{port} // PostgreSQL::Test::Cluster::get_free_port(),
		timeout => $opts{timeout} // 10,
		owner => $$,
		partial => {},
	}, $class;

	my $dir = $opts{dir} // PostgreSQL::Test::Utils::tempdir('smtp_sink');
	-d $dir or mkdir $dir or croak "SmtpSink: mkdir $dir: $!";
	$self->{dir} = Cwd::abs_path($dir);
	$self->{log} = $opts{log}
	  // File::Spec->rel2abs(
		($PostgreSQL::Test::Utils::log_path // $self->{dir} . '/..')
		  . "/smtp_sink_$self->{port}.log");
	if ($> == 0)
	{
		my (undef, undef, $uid, $gid) = getpwnam('nobody')
		  or croak 'SmtpSink: running as root needs the account nobody';
		chown $uid, $gid, $self->{dir}
		  or croak "SmtpSink: chown nobody $self->{dir}: $!";
	}

	$self->_start;
	$live{"$self"} = $self;
	weaken($live{"$self"});
	return $self;
}

sub port  { $_[0]{port} }
sub url   { "smtp://127.0.0.1:$_[0]{port}" }
sub dir   { $_[0]{dir} }
sub pid   { $_[0]{pid} }
sub logfile { $_[0]{log} }
sub flags { @{ $_[0]{flags} } }

sub _slurp_log
{
	my ($self) = @_;
	open my $fh, '<', $self->{log} or return '';
	local $/;
	my $text = <$fh>;
	return $text // '';
}

sub _start
{
	my ($self) = @_;
	croak 'SmtpSink: already running' if $self->{pid};

	my @cmd = (
		$SMTP_SINK, '-d', "$self->{dir}/%M.", '-h', 'sink.test',
		($> == 0 ? ('-u', 'nobody') : ()),
		@{ $self->{flags} },
		"127.0.0.1:$self->{port}", '64');

	open my $log, '>>', $self->{log}
	  or croak "SmtpSink: open $self->{log}: $!";
	my $logpos = -s $self->{log} // 0;
	printf $log "# %s starting: %s\n", scalar(localtime), join(' ', @cmd);
	close $log;

	my $parent = $$;
	my $pid = fork;
	croak "SmtpSink: fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# child: die with the test script (Linux prctl PR_SET_PDEATHSIG)
		my $nr =
		    $Config{archname} =~ /^x86_64-linux/  ? 157
		  : $Config{archname} =~ /^aarch64-linux/ ? 167
		  :                                         undef;
		syscall($nr, 1, 15) if defined $nr;
		POSIX::_exit(0) if getppid() != $parent;
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $self->{log};
		open STDERR, '>&', \*STDOUT;
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		print STDERR "SmtpSink: exec $cmd[0]: $!\n";
		POSIX::_exit(127);
	}
	$self->{pid} = $pid;

	my $deadline = Time::HiRes::time() + $self->{timeout};
	while (1)
	{
		if (waitpid($pid, WNOHANG) == $pid)
		{
			my $status = $?;
			delete $self->{pid};
			croak sprintf(
				"SmtpSink: smtp-sink exited (wait status %d) before listening on 127.0.0.1:%d; log %s:\n%s",
				$status, $self->{port}, $self->{log},
				substr($self->_slurp_log, $logpos));
		}
		# ready when the listening socket on the port is the sink's (so a
		# stranger on the port does not pass) and it accepts a connection
		if ($self->_owns_listener($pid))
		{
			my $sock = IO::Socket::INET->new(
				PeerAddr => '127.0.0.1',
				PeerPort => $self->{port},
				Proto => 'tcp',
				Timeout => 1);
			if ($sock)
			{
				close $sock;
				last;
			}
		}
		if (Time::HiRes::time() > $deadline)
		{
			$self->stop;
			croak sprintf(
				"SmtpSink: smtp-sink (pid %d) did not accept connections on 127.0.0.1:%d within %d s; log %s:\n%s",
				$pid, $self->{port}, $self->{timeout}, $self->{log},
				substr($self->_slurp_log, $logpos));
		}
		Time::HiRes::sleep(0.05);
	}
	return $self;
}

# Does $pid hold the socket listening on our port?  True when /proc cannot
# tell (not Linux, or the sink's fds are unreadable).
sub _owns_listener
{
	my ($self, $pid) = @_;
	my %inodes;
	for my $table ('/proc/net/tcp', '/proc/net/tcp6')
	{
		open my $fh, '<', $table or next;
		while (<$fh>)
		{
			my @f = split ' ';
			next unless @f > 9 && $f[1] =~ /:([0-9A-F]{4})$/;
			$inodes{ $f[9] } = 1 if hex($1) == $self->{port} && $f[3] eq '0A';
		}
	}
	opendir(my $dh, "/proc/$pid/fd") or return 1;
	my $found = 0;
	for my $fd (readdir $dh)
	{
		my $target = readlink("/proc/$pid/fd/$fd") // next;
		$found = 1 if $target =~ /^socket:\[(\d+)\]$/ && $inodes{$1};
	}
	closedir $dh;
	return $found;
}

# Dump files (base names) that process $pid has open.
sub _open_dump_files
{
	my ($self, $pid) = @_;
	my @open;
	opendir(my $dh, "/proc/$pid/fd") or return;
	for my $fd (readdir $dh)
	{
		next unless $fd =~ /^\d+$/;
		my $target = readlink("/proc/$pid/fd/$fd") // next;
		push @open, $1 if $target =~ m{^\Q$self->{dir}\E/([^/]+)$};
	}
	closedir $dh;
	return @open;
}

sub stop
{
	my ($self) = @_;
	my $pid = $self->{pid} or return 0;
	local ($?, $!, $@);

	# Freeze it so the set of open dump files cannot change, note them, then
	# terminate.  TERM stays pending until CONT.
	kill 'STOP', $pid;
	$self->{partial}{$_} = 1 for $self->_open_dump_files($pid);
	kill 'TERM', $pid;
	kill 'CONT', $pid;
	my $deadline = Time::HiRes::time() + 10;
	my $reaped = 0;
	while (Time::HiRes::time() < $deadline)
	{
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid || $r == -1) { $reaped = 1; last; }
		Time::HiRes::sleep(0.02);
	}
	unless ($reaped)
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	delete $self->{pid};
	return 1;
}

sub restart
{
	my ($self, %opts) = @_;
	$self->stop;
	$self->{flags} = [ @{ $opts{flags} } ] if exists $opts{flags};
	$self->_start;
	return $self;
}

# ---------------------------------------------------------------- dumps

sub _dump_names
{
	my ($self) = @_;
	opendir(my $dh, $self->{dir})
	  or croak "SmtpSink: opendir $self->{dir}: $!";
	my @names = grep { /^\d\d\.[0-9a-f]{8}$/ } readdir $dh;
	closedir $dh;
	return @names;
}

sub _read_file
{
	my ($path) = @_;
	open my $fh, '<:raw', $path or return;
	local $/;
	my $data = <$fh>;
	return $data // '';
}

# Parse one dump; undef when it is not a complete dump.
sub _parse_dump
{
	my ($self, $name) = @_;
	my $path = "$self->{dir}/$name";
	my ($id) = $name =~ /\.([0-9a-f]{8})$/;
	my $data = _read_file($path);
	return undef unless defined $data && $data =~ /\n\n\z/;
	return undef
	  unless $data =~
	  /^Received: from [^\n]*\n\tby [^\n]* \(smtp-sink\) with [A-Z]+ id \Q$id\E;\n\t[^\n]*\n/m;
	my ($hdr_start, $content_start) = ($-[0], $+[0]);

	my %m = (file => $path, id => $id, rcpt_args => [], rcpt => []);
	for my $line (split /\n/, substr($data, 0, $hdr_start))
	{
		if    ($line =~ /^X-Client-Addr: (.*)$/) { $m{client_addr} = $1 }
		elsif ($line =~ /^X-Helo-Args: (.*)$/)   { $m{helo} = $1 }
		elsif ($line =~ /^X-Mail-Args: (.*)$/)   { $m{mail_args} = $1 }
		elsif ($line =~ /^X-Rcpt-Args: (.*)$/)
		{
			push @{ $m{rcpt_args} }, $1;
			push @{ $m{rcpt} }, _address($1);
		}
	}
	return undef unless defined $m{mail_args};
	$m{mail_from} = _address($m{mail_args});

	# drop the LF that is left of the terminating CRLF.CRLF
	my $raw = substr($data, $content_start, -1);
	$m{raw} = $raw;
	($m{raw_crlf} = $raw) =~ s/\n/\r\n/g;

	my ($head, $body);
	if ($raw =~ /\A\n/) { ($head, $body) = ('', substr($raw, 1)) }
	elsif ($raw =~ /\A(.*?\n)\n(.*)\z/s) { ($head, $body) = ($1, $2) }
	else { ($head, $body) = ($raw, '') }
	$m{body} = $body;
	my %headers;
	my $cur;
	for my $line (split /\n/, $head)
	{
		if ($line =~ /^[ \t]/ && defined $cur)
		{
			$$cur .= $line;    # unfold: drop the line break, keep the WSP
		}
		elsif ($line =~ /^([^\s:]+):(.*)$/)
		{
			push @{ $headers{ lc $1 } }, $2;
			$cur = \$headers{ lc $1 }[-1];
		}
		else { $cur = undef }
	}
	for my $values (values %headers)
	{
		s/^[ \t]+|[ \t]+$//g for @$values;
	}
	$m{headers} = \%headers;
	$m{mtime} = (Time::HiRes::stat($path))[9];
	return \%m;
}

# "<a@b> PARAM=x" -> "a@b"; "<>" -> ""; "a@b" -> "a@b"
sub _address
{
	my ($args) = @_;
	return $1 if $args =~ /^\s*<([^>]*)>/;
	return $1 if $args =~ /^\s*(\S+)/;
	return '';
}

sub _incomplete_set
{
	my ($self) = @_;
	my %skip = %{ $self->{partial} };
	$skip{$_} = 1 for ($self->{pid} ? $self->_open_dump_files($self->{pid}) : ());
	return \%skip;
}

sub messages
{
	my ($self) = @_;
	my $skip = $self->_incomplete_set;
	my @msgs =
	  grep { defined }
	  map { $self->_parse_dump($_) }
	  grep { !$skip->{$_} } $self->_dump_names;
	return
	  sort { $a->{mtime} <=> $b->{mtime} or $a->{file} cmp $b->{file} } @msgs;
}

sub partial_files
{
	my ($self) = @_;
	my $skip = $self->_incomplete_set;
	return map { "$self->{dir}/$_" }
	  sort grep { $skip->{$_} || !defined $self->_parse_dump($_) }
	  $self->_dump_names;
}

sub wait_for_messages
{
	my ($self, $n, $timeout) = @_;
	$timeout //= 10;
	my $deadline = Time::HiRes::time() + $timeout;
	my $count;
	while (1)
	{
		$count = scalar(my @m = $self->messages);
		last if $count >= $n || Time::HiRes::time() >= $deadline;
		Time::HiRes::sleep(0.1);
	}
	return $count;
}

sub DESTROY
{
	my ($self) = @_;
	local ($?, $!, $@);
	delete $live{"$self"};
	$self->stop if $self->{pid} && $$ == $self->{owner};
	return;
}

END
{
	local $?;
	for my $sink (grep { defined } values %live)
	{
		$sink->stop if $sink->{pid} && $$ == $sink->{owner};
	}
}

1;
