# Demo data set generator (issue 2).  Sourced by test/bench/run.
#
# 1. Producing the events rows: analytics.demo_events() against reading the
#    same number of rows back from the table it filled.
# 2. The whole data set with keys and indexes: generate_demo_data() against
#    the plain-SQL floor of writing the same rows, i.e. copying the loaded
#    tables with CREATE TABLE AS and building the same keys and indexes.

gen_ms=$(bench_ms "SELECT count(*) FROM analytics.demo_events($BENCH_SCALE, $BENCH_SEED)")
scan_ms=$(bench_ms "SELECT count(*) FROM bench.events")
bench_row "demo_events($BENCH_SCALE) rows produced" "$gen_ms" "count(*) over bench.events" "$scan_ms"

full_ms=$(bench_ms "SET client_min_messages = warning;
	SELECT * FROM analytics.generate_demo_data($BENCH_SCALE, $BENCH_SEED, 'bench_gen', replace => true)")
copy_ms=$(bench_ms "SET client_min_messages = warning;
	DROP SCHEMA IF EXISTS bench_copy CASCADE; CREATE SCHEMA bench_copy;
	CREATE TABLE bench_copy.dataset AS SELECT * FROM bench.dataset;
	CREATE TABLE bench_copy.workspaces AS SELECT * FROM bench.workspaces;
	CREATE TABLE bench_copy.campaigns AS SELECT * FROM bench.campaigns;
	CREATE TABLE bench_copy.users AS SELECT * FROM bench.users;
	CREATE TABLE bench_copy.sessions AS SELECT * FROM bench.sessions;
	CREATE TABLE bench_copy.events AS SELECT * FROM bench.events;
	CREATE TABLE bench_copy.touchpoints AS SELECT * FROM bench.touchpoints;
	CREATE TABLE bench_copy.conversions AS SELECT * FROM bench.conversions;
	ALTER TABLE bench_copy.workspaces ADD PRIMARY KEY (workspace_id);
	ALTER TABLE bench_copy.campaigns ADD PRIMARY KEY (campaign_id);
	ALTER TABLE bench_copy.users ADD PRIMARY KEY (user_id);
	ALTER TABLE bench_copy.sessions ADD PRIMARY KEY (session_id);
	ALTER TABLE bench_copy.events ADD PRIMARY KEY (event_id);
	ALTER TABLE bench_copy.touchpoints ADD PRIMARY KEY (touchpoint_id);
	ALTER TABLE bench_copy.conversions ADD PRIMARY KEY (conversion_id);
	CREATE INDEX ON bench_copy.sessions (user_id, started_at);
	CREATE INDEX ON bench_copy.events (user_id, occurred_at);
	CREATE INDEX ON bench_copy.touchpoints (user_id, occurred_at);
	CREATE INDEX ON bench_copy.conversions (user_id, occurred_at);
	ANALYZE bench_copy.dataset, bench_copy.workspaces, bench_copy.campaigns, bench_copy.users,
		bench_copy.sessions, bench_copy.events, bench_copy.touchpoints, bench_copy.conversions")
bench_row "generate_demo_data($BENCH_SCALE): all tables+indexes" "$full_ms" "CREATE TABLE AS copy + same indexes" "$copy_ms"
cluster_psql -d "$DB" -c "SET client_min_messages = warning;
	DROP SCHEMA IF EXISTS bench_gen CASCADE; DROP SCHEMA IF EXISTS bench_copy CASCADE"
