# Attribution (issue 3).  Sourced by test/bench/run.
#
# 1. attribution_report for linear and time_decay against the hand-written
#    window-function SQL (join + count/sum OVER (PARTITION BY conversion)),
#    on the bench data set (scale 10: ~2.1M touchpoints, ~186k conversions);
#    the two must agree on every channel's conversions.
# 2. markov_attribution order 1 over 1M path rows with 12 channels, and over
#    200k paths with 500 channels, against count(*) over the same rows and
#    the plain-SQL first step of a Markov model (counting transitions with
#    unnest + lead + GROUP BY), which does none of the solving.

bench_sql() { cluster_psql -d "$DB" -Atc "$1"; }

lin_sql="SELECT channel, sum(1.0 / n) AS conversions, sum(revenue / n) AS revenue
FROM (SELECT c.conversion_id, c.revenue::float8 AS revenue, t.channel,
             count(*) OVER (PARTITION BY c.conversion_id) AS n
      FROM bench.conversions c
      JOIN bench.touchpoints t ON t.user_id = c.user_id AND t.occurred_at <= c.occurred_at
       AND t.occurred_at > c.occurred_at - interval '30 days') j
GROUP BY channel"
td_sql="SELECT channel, sum(w / total) AS conversions, sum(revenue * w / total) AS revenue
FROM (SELECT channel, revenue, w, sum(w) OVER (PARTITION BY conversion_id) AS total
      FROM (SELECT c.conversion_id, c.revenue::float8 AS revenue, t.channel,
                   power(2.0, -(date_part('epoch', c.occurred_at) - date_part('epoch', t.occurred_at))
                              / (7 * 86400)) AS w
            FROM bench.conversions c
            JOIN bench.touchpoints t ON t.user_id = c.user_id AND t.occurred_at <= c.occurred_at
             AND t.occurred_at > c.occurred_at - interval '30 days') x) j
GROUP BY channel"

for model in linear time_decay; do
	if [ "$model" = linear ]; then base=$lin_sql; else base=$td_sql; fi
	agree=$(bench_sql "SELECT bool_and(abs(r.conversions - b.conversions) < 1e-6 * greatest(1, b.conversions))
		AND count(*) = (SELECT count(*) FROM ($base) q)
		FROM analytics.attribution_report('$model', 'bench.touchpoints', 'bench.conversions') r
		JOIN ($base) b USING (channel)")
	ours=$(bench_ms "SELECT * FROM analytics.attribution_report('$model', 'bench.touchpoints', 'bench.conversions')")
	theirs=$(bench_ms "$base")
	bench_row "attribution_report $model (agree: $agree)" "$ours" "window-function SQL" "$theirs"
done

# path tables, made once per data set
bench_sql "SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench.paths_12 AS
SELECT ARRAY(SELECT 'ch' || (abs(hashint8(g * 16 + i)) % 12)
             FROM generate_series(1, 1 + abs(hashint8(g)) % 6) i) AS path,
       (abs(hashint8(-g)) % 10 < 3)::int::float8 AS conversions,
       (abs(hashint8(-g)) % 10 >= 3)::int::float8 AS nulls,
       (abs(hashint8(g * 7)) % 200)::float8 AS value
FROM generate_series(1, 1000000) g;
CREATE TABLE IF NOT EXISTS bench.paths_500 AS
SELECT ARRAY(SELECT 'ch' || floor(500 * power((abs(hashint8(g * 16 + i)) % 1000003) / 1000003.0, 2))::int
             FROM generate_series(1, 1 + abs(hashint8(g)) % 8) i) AS path,
       (abs(hashint8(-g)) % 4)::float8 AS conversions,
       (abs(hashint8(g * 3)) % 6)::float8 AS nulls,
       (abs(hashint8(g * 7)) % 500)::float8 AS value
FROM generate_series(1, 200000) g;
ANALYZE bench.paths_12; ANALYZE bench.paths_500;" >/dev/null

transitions_sql() {
	echo "SELECT s, t, sum(w) FROM (
	  SELECT x.s, lead(x.s, 1, '(end)') OVER (PARTITION BY p.id ORDER BY x.i) AS t, p.w
	  FROM (SELECT row_number() OVER () AS id, path, conversions + nulls AS w FROM $1) p,
	       unnest(p.path) WITH ORDINALITY AS x(s, i)) q GROUP BY s, t"
}
for table in paths_12 paths_500; do
	info=$(bench_sql "SELECT count(*) || ' rows, ' || (SELECT count(DISTINCT c) FROM bench.$table, unnest(path) c) || ' channels'
		FROM bench.$table")
	ours=$(bench_ms "SELECT analytics.markov_attribution(path, conversions, nulls, value) FROM bench.$table")
	floor=$(bench_ms "SELECT count(*) FROM bench.$table")
	counting=$(bench_ms "$(transitions_sql "bench.$table")")
	bench_row "markov order 1: $info" "$ours" "count(*) over the rows" "$floor"
	bench_row "  (same)" "$ours" "SQL transition counts only" "$counting"
done
