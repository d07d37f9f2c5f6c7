# scripts/cluster.sh: a throwaway PostgreSQL 15 cluster for the demo and the
# benchmarks.  Source it, then call cluster_setup DIR; it defines:
#
#   cluster_running / cluster_start / cluster_stop
#   cluster_psql ARGS...     psql as the superuser over the Unix socket
#   as_user CMD...           run CMD as the server account
#
# The cluster listens only on a Unix socket.  As root the server runs as an
# unprivileged account (CLUSTER_USER, default postgres) because PostgreSQL
# refuses to run as root.  The data directory is DIR/data unless that account
# cannot reach DIR (a checkout under /root, say) or the socket path would be
# too long; then a directory under /tmp named after DIR is used and recorded
# in DIR/location, so every later call finds the same cluster.

CLUSTER_PG_CONFIG=${PG_CONFIG:-$(ls /usr/lib/postgresql/15/bin/pg_config 2>/dev/null || echo pg_config)}
CLUSTER_BINDIR=$("$CLUSTER_PG_CONFIG" --bindir)
CLUSTER_PORT=5432

if [ "$(id -u)" -eq 0 ]; then
	CLUSTER_USER=${CLUSTER_USER:-postgres}
	# from /, which the account can always enter (the checkout may be private)
	as_user() { (cd / && runuser -u "$CLUSTER_USER" -- "$@"); }
else
	CLUSTER_USER=$(id -un)
	as_user() { "$@"; }
fi

cluster_setup() {
	local dir=$1 base
	mkdir -p "$dir"
	if [ -f "$dir/location" ]; then
		base=$(cat "$dir/location")
	else
		[ "$(id -u)" -eq 0 ] && chown "$CLUSTER_USER" "$dir"
		if as_user test -w "$dir" && [ ${#dir} -lt 80 ]; then
			base=$dir
		else
			base=/tmp/analytics-$(basename "$dir" | tr -cd 'a-z')-$(printf '%s' "$dir" | md5sum | cut -c1-12)
		fi
		echo "$base" >"$dir/location"
	fi
	mkdir -p "$base"
	[ "$(id -u)" -eq 0 ] && chown "$CLUSTER_USER" "$base"
	CLUSTER_DATA=$base/data
	CLUSTER_SOCK=$base
	CLUSTER_LOG=$base/server.log
}

cluster_running() {
	[ -f "$CLUSTER_DATA/postmaster.pid" ] &&
		as_user "$CLUSTER_BINDIR/pg_ctl" -D "$CLUSTER_DATA" status >/dev/null 2>&1
}

# cluster_start [extra postgresql.conf lines]: create the cluster if needed
# (or if a previous attempt left it half made), then start it.
cluster_start() {
	if [ ! -f "$CLUSTER_DATA/PG_VERSION" ] || [ "$(cat "$CLUSTER_DATA/PG_VERSION")" != "15" ]; then
		echo "==> creating a cluster in $CLUSTER_DATA"
		rm -rf "$CLUSTER_DATA"
		as_user "$CLUSTER_BINDIR/initdb" -D "$CLUSTER_DATA" -U postgres --auth=trust \
			-E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$CLUSTER_DATA/postgresql.conf" <<-EOF

		# throwaway cluster (scripts/cluster.sh): Unix socket only
		listen_addresses = ''
		unix_socket_directories = '$CLUSTER_SOCK'
		port = $CLUSTER_PORT
		shared_preload_libraries = 'analytics'
		${1:-}
		EOF
	fi
	echo "==> starting the server (log: $CLUSTER_LOG)"
	as_user "$CLUSTER_BINDIR/pg_ctl" -D "$CLUSTER_DATA" -l "$CLUSTER_LOG" -w -t 60 start >/dev/null
}

cluster_stop() {
	if cluster_running; then
		as_user "$CLUSTER_BINDIR/pg_ctl" -D "$CLUSTER_DATA" -m fast -w stop >/dev/null
		echo "==> server stopped"
	fi
}

cluster_psql() {
	"$CLUSTER_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_SOCK" -p "$CLUSTER_PORT" \
		-U postgres "$@"
}

# cluster_createdb NAME: create the database if it does not exist
cluster_createdb() {
	if [ "$(cluster_psql -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 0 ]; then
		cluster_psql -d postgres -c "CREATE DATABASE \"$1\""
	fi
}

# cluster_load_dataset DB SCALE SEED SCHEMA: (re)create the extension so it is
# the freshly installed build, then generate the data set unless SCHEMA
# already holds the same scale, seed and generator version.
cluster_load_dataset() {
	local db=$1 scale=$2 seed=$3 schema=$4 loaded wanted ms start
	cluster_psql -d "$db" -c "SET client_min_messages = warning;
		DROP EXTENSION IF EXISTS analytics CASCADE; CREATE EXTENSION analytics;"
	loaded=$(cluster_psql -d "$db" -Atc "
		SELECT format('%s/%s/%s', scale, seed, generator_version) FROM \"$schema\".dataset" \
		2>/dev/null || true)
	wanted=$(cluster_psql -d "$db" -Atc "
		SELECT format('%s/%s/%s', $scale::float8, $seed::bigint, analytics.version())")
	if [ "$loaded" = "$wanted" ]; then
		echo "==> reusing the data set in schema $schema (scale $scale, seed $seed)"
	else
		echo "==> generating the data set in schema $schema (scale $scale, seed $seed)"
		start=$(date +%s%N)
		cluster_psql -d "$db" -c "SELECT table_name, row_count
			FROM analytics.generate_demo_data($scale, $seed, '$schema', replace => true)"
		ms=$((($(date +%s%N) - start) / 1000000))
		printf '    generated in %d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100))
	fi
}
