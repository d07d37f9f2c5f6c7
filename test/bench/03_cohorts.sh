# Cohorts and funnels (issue 4).  Sourced by test/bench/run.
#
# 1. cohort_matrix weekly, 26 periods, over bench.events (~10M rows, 420k
#    users at scale 10) against the plain-SQL query an analyst writes (join
#    every event to its user's first-seen week, count distinct users per
#    cohort and offset), against a tuned SQL variant that first reduces the
#    events to distinct (user, week) pairs, and against count(*) over the
#    same rows.  The SQL answer must agree cell by cell first.
# 2. funnel_report view -> add_to_cart -> purchase within 7 days against the
#    LATERAL-join funnel (for every view, the first cart after it inside the
#    window, then the first purchase after that; the best view per user),
#    which uses the (user_id, occurred_at) index.  They must agree on every
#    step.  The SQL runs once (it takes tens of seconds).
# 3. retention and window_funnel per user (GROUP BY user_id) against
#    count(*) GROUP BY user_id over the same rows.
# 4. Memory: the smallest analytics.max_aggregate_memory (a power of two in
#    MB) with which cohort_matrix and funnel_report finish on 1M actors; the
#    next smaller budget must fail with the clear error.

bench_sql() { cluster_psql -d "$DB" -Atc "$1"; }

typical_cohort_sql="WITH first_seen AS (
  SELECT user_id, date_trunc('week', min(occurred_at)) AS cohort FROM bench.events GROUP BY user_id)
SELECT f.cohort AS cohort_start,
       (extract(epoch FROM date_trunc('week', e.occurred_at) - f.cohort) / 604800)::int AS period_offset,
       count(DISTINCT e.user_id) AS actors
FROM bench.events e JOIN first_seen f USING (user_id)
WHERE e.occurred_at < f.cohort + interval '26 weeks'
GROUP BY 1, 2"
tuned_cohort_sql="WITH act AS (SELECT DISTINCT user_id, date_trunc('week', occurred_at) AS p FROM bench.events),
firsts AS (SELECT user_id, min(p) AS c FROM act GROUP BY user_id)
SELECT f.c AS cohort_start, (extract(epoch FROM a.p - f.c) / 604800)::int AS period_offset, count(*) AS actors
FROM firsts f JOIN act a USING (user_id)
WHERE a.p < f.c + interval '26 weeks'
GROUP BY 1, 2"
cohort_call="SELECT analytics.cohort_matrix(user_id, occurred_at, 'week', 26) FROM bench.events"

# the SQL leaves out cells where nobody returned; the matrix has them as 0
agree=$(bench_sql "SET TimeZone = 'UTC';
SELECT count(*) FILTER (WHERE coalesce(s.actors, 0) <> c.actors) = 0 AND count(s.actors) = count(*) FILTER (WHERE c.actors > 0)
FROM unnest(($cohort_call)) c LEFT JOIN ($typical_cohort_sql) s USING (cohort_start, period_offset)")
ours=$(bench_ms "SET TimeZone = 'UTC'; $cohort_call")
typical=$(bench_ms "SET TimeZone = 'UTC'; $typical_cohort_sql")
tuned=$(bench_ms "SET TimeZone = 'UTC'; $tuned_cohort_sql")
floor=$(bench_ms "SELECT count(*) FROM bench.events")
bench_row "cohort_matrix week x 26 (agree: $agree)" "$ours" "SQL: join to first seen + count(DISTINCT)" "$typical"
bench_row "  (same)" "$ours" "SQL: distinct (user, week) first, then join" "$tuned"
bench_row "  (same)" "$ours" "count(*) over the rows" "$floor"

funnel_call="SELECT analytics.funnel_report(user_id, occurred_at, '7 days',
  event_type = 'view', event_type = 'add_to_cart', event_type = 'purchase') FROM bench.events"
lateral_sql="WITH starts AS (SELECT user_id, occurred_at AS t1 FROM bench.events WHERE event_type = 'view'),
lv AS (
  SELECT s.user_id, c.t2, (
    SELECT min(e.occurred_at) FROM bench.events e
    WHERE e.user_id = s.user_id AND e.event_type = 'purchase'
      AND e.occurred_at >= c.t2 AND e.occurred_at <= s.t1 + interval '7 days') AS t3
  FROM starts s
  CROSS JOIN LATERAL (
    SELECT min(e.occurred_at) AS t2 FROM bench.events e
    WHERE e.user_id = s.user_id AND e.event_type = 'add_to_cart'
      AND e.occurred_at >= s.t1 AND e.occurred_at <= s.t1 + interval '7 days') c),
levels AS (
  SELECT user_id, max(CASE WHEN t3 IS NOT NULL THEN 3 WHEN t2 IS NOT NULL THEN 2 ELSE 1 END) AS level
  FROM lv GROUP BY user_id)
SELECT k AS step, count(*) FILTER (WHERE level >= k) AS actors FROM levels, generate_series(1, 3) k GROUP BY k"
ours=$(bench_ms "$funnel_call")
start=$(date +%s%N)
sql_steps=$(bench_sql "SELECT string_agg(actors::text, ',' ORDER BY step) FROM ($lateral_sql) q")
lateral=$((($(date +%s%N) - start) / 1000000))
our_steps=$(bench_sql "SELECT string_agg(f.actors::text, ',' ORDER BY f.step) FROM unnest(($funnel_call)) f")
bench_row "funnel_report 3 steps, 7 days ($our_steps)" "$ours" "LATERAL-join SQL, 1 run ($sql_steps)" "$lateral"

per_user_floor=$(bench_ms "SELECT count(*) FROM (SELECT user_id, count(*) FROM bench.events GROUP BY user_id) s")
ret=$(bench_ms "SELECT count(*) FROM (SELECT user_id, analytics.retention(event_type = 'view',
  event_type = 'add_to_cart', event_type = 'purchase') FROM bench.events GROUP BY user_id) s")
wf=$(bench_ms "SELECT count(*) FROM (SELECT user_id, analytics.window_funnel('7 days', occurred_at,
  event_type = 'view', event_type = 'add_to_cart', event_type = 'purchase') FROM bench.events GROUP BY user_id) s")
bench_row "retention 3 conditions GROUP BY user_id" "$ret" "count(*) GROUP BY user_id" "$per_user_floor"
bench_row "window_funnel 3 steps GROUP BY user_id" "$wf" "count(*) GROUP BY user_id" "$per_user_floor"

# 1M actors with 4 events each over 20 weeks, serial (the budget is per process)
bench_sql "SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench.actors_1m AS
SELECT g AS actor, timestamptz '2026-01-05' + ((abs(hashint8(g * 4 + i)) % (140 * 86400)) * interval '1 second') AS ts,
       (ARRAY['view', 'view', 'add_to_cart', 'purchase'])[1 + i] AS ev
FROM generate_series(1, 1000000) g, generate_series(0, 3) i;
ANALYZE bench.actors_1m;" >/dev/null
smallest_budget() {
	local mb err prev=""
	for mb in 16 32 64 128 256 512 1024; do
		if err=$(cluster_psql -d "$DB" -o /dev/null -c "SET max_parallel_workers_per_gather = 0;
			SET analytics.max_aggregate_memory = '${mb}MB'; $1" 2>&1); then
			echo "$mb MB (${prev:-no smaller budget tried})"
			return
		fi
		case $err in
		*"needs more memory than analytics.max_aggregate_memory"*) prev="$mb MB stopped with the memory error" ;;
		*) echo "an unexpected error at $mb MB: $err"; return ;;
		esac
	done
	echo "more than 1024 MB"
}
echo "memory, 1M actors x 4 events: cohort_matrix week x 20 fits in $(smallest_budget \
	"SELECT analytics.cohort_matrix(actor, ts, 'week', 20) FROM bench.actors_1m")"
echo "memory, 1M actors x 4 events: funnel_report 3 steps fits in $(smallest_budget \
	"SELECT analytics.funnel_report(actor, ts, '7 days', ev = 'view', ev = 'add_to_cart', ev = 'purchase') FROM bench.actors_1m")"
