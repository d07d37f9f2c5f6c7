# Segmentation (issue 5).  Sourced by test/bench/run.
#
# Needs Debian's python3-sklearn for the reference side (benchmark only; the
# extension never uses Python).  When it is missing and we are root, it is
# installed; otherwise the scikit-learn rows are skipped with a note.
#
# 1. Quality: inertia of analytics.kmeans(f, k, '{"n_init": 10}') against
#    scikit-learn's KMeans(n_init=10) (best of seeds 0..4) on iris, wine,
#    breast_cancer, digits (scikit-learn's bundled copies) and 5000 blobs in
#    6 dimensions.  ratio = ours / scikit-learn; <= 1.005 is the target.
# 2. Speed: 1,000,000 points x 8 dimensions (make_blobs, 8 centres, std 2),
#    k = 8, n_init = 1: the aggregate over the table (scan + fit) against
#    scikit-learn's fit on the array already in memory (Lloyd and Elkan, 2
#    threads), and against count(*) over the same rows; rows for the
#    default (parallel) plan, a serial plan in one thread, and a serial plan
#    whose fit uses 2 threads (analytics.max_threads = 2: one process on 2
#    cores, like scikit-learn).  Each run is a new connection (psql start
#    and connection included); the scikit-learn times are the fit alone.
#    The same data: the table is loaded from the CSV that the Python side
#    wrote.
# 3. The sample path on the same table: fit on 100,000 sampled points, then
#    one kmeans_refine pass over all rows; and rfm_scores and
#    behavioral_segments on the bench events.

PY=/usr/bin/python3
KM_DIR="$ROOT/test/bench/out/kmeans"
if ! "$PY" -c 'import sklearn' 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "==> installing python3-sklearn for the reference side"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn >/dev/null
fi
if "$PY" -c 'import sklearn' 2>/dev/null; then
	mkdir -p "$KM_DIR"
	if [ ! -f "$KM_DIR/speed.csv" ]; then
		"$PY" "$ROOT/test/bench/kmeans_reference.py" data "$KM_DIR"
	fi
	load_points() { # name
		cluster_psql -d "$DB" -q -c "SET client_min_messages = warning;
			DROP TABLE IF EXISTS bench.km_$1;
			CREATE TABLE bench.km_$1 (f float8[]);"
		cluster_psql -d "$DB" -q -c "\\copy bench.km_$1 FROM '$KM_DIR/$1.csv' WITH (FORMAT csv)"
		cluster_psql -d "$DB" -q -c "VACUUM ANALYZE bench.km_$1"
	}
	while read -r name k ref; do
		load_points "$name"
		ours=$(cluster_psql -d "$DB" -Atc "SELECT (analytics.kmeans(f, $k, '{\"n_init\": 10}')).inertia FROM bench.km_$name")
		printf '| %-46s | %10.6g | %-40s | %10.6g | %6.4f |\n' "kmeans inertia: $name, k = $k" "$ours" \
			"scikit-learn KMeans(n_init=10)" "$ref" "$(awk -v a="$ours" -v b="$ref" 'BEGIN {print a / b}')"
	done < <("$PY" "$ROOT/test/bench/kmeans_reference.py" quality "$KM_DIR")

	load_points speed
	ours=$(bench_ms "SELECT analytics.kmeans(f, 8, '{\"n_init\": 1}') FROM bench.km_speed")
	serial=$(bench_ms "SET max_parallel_workers_per_gather = 0; SELECT analytics.kmeans(f, 8, '{\"n_init\": 1}') FROM bench.km_speed")
	threads=$(bench_ms "SET max_parallel_workers_per_gather = 0; SET analytics.max_threads = 2; SELECT analytics.kmeans(f, 8, '{\"n_init\": 1}') FROM bench.km_speed")
	floor=$(bench_ms "SELECT count(*) FROM bench.km_speed")
	ours_inertia=$(cluster_psql -d "$DB" -Atc "SELECT round((analytics.kmeans(f, 8, '{\"n_init\": 1}')).inertia) FROM bench.km_speed")
	while read -r algorithm seconds inertia; do
		ms=$(awk -v s="$seconds" 'BEGIN {printf "%d", s * 1000}')
		bench_row "kmeans 1M x 8, k 8, n_init 1 (inertia $ours_inertia)" "$ours" \
			"sklearn $algorithm fit, 2 threads ($(printf '%.0f' "$inertia"))" "$ms"
		bench_row "  (same, no parallel workers)" "$serial" "sklearn $algorithm fit" "$ms"
		bench_row "  (same, one process, 2 threads)" "$threads" "sklearn $algorithm fit" "$ms"
	done < <("$PY" "$ROOT/test/bench/kmeans_reference.py" speed "$KM_DIR" "$BENCH_RUNS")
	bench_row "  (same)" "$ours" "count(*) over the rows" "$floor"

	sample=$(bench_ms "SELECT analytics.kmeans_refine(
		(SELECT analytics.kmeans(f, 8, '{\"n_init\": 3, \"sample_size\": 100000}') FROM bench.km_speed), f)
		FROM bench.km_speed")
	full3=$(bench_ms "SELECT analytics.kmeans(f, 8, '{\"n_init\": 3}') FROM bench.km_speed")
	bench_row "kmeans sample 100k, n_init 3 + kmeans_refine" "$sample" "kmeans on all rows, n_init 3" "$full3"
else
	echo "(python3-sklearn not available: the scikit-learn comparisons are skipped)"
fi

rfm=$(bench_ms "SELECT count(*) FROM analytics.rfm_scores('bench.events')")
rfm_sql=$(bench_ms "SELECT count(*) FROM (SELECT user_id, max(occurred_at), count(*), sum(revenue)
	FROM bench.events WHERE revenue IS NOT NULL GROUP BY user_id) s")
bench_row "rfm_scores over bench.events" "$rfm" "its GROUP BY alone" "$rfm_sql"
seg=$(bench_ms "SELECT count(*) FROM analytics.behavioral_segments('bench.events')")
seg_sql=$(bench_ms "SELECT count(*) FROM (SELECT user_id, min(occurred_at), max(occurred_at), count(*),
	count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date), count(revenue), sum(revenue)
	FROM bench.events GROUP BY user_id) s")
bench_row "behavioral_segments over bench.events" "$seg" "its feature GROUP BY alone" "$seg_sql"
