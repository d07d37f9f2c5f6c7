# Transactional email (issue 6).  Sourced by test/bench/run.
#
# A cluster of its own under test/bench/out-email with PostgreSQL's default
# durability (fsync and synchronous_commit on: the outbox promise depends on
# them), the worker running, and real SMTP servers on 127.0.0.1:
#
# 1. Throughput and memory: 50,000 messages (EMAIL_BENCH_MESSAGES) queued in
#    two transactions of 25,000, delivered to Postfix's smtp-sink.  Rate =
#    messages / the time from each half's first claim to its last
#    finished_at, beside Postfix's own load generator
#    smtp-source sending the same number of messages of the same size over
#    the same number of connections to the same sink, and beside the hosted
#    API's limit (10/s).  The worker's resident memory (RssAnon: its private
#    heap; RssShmem: shared buffers it touched) at the start, after a
#    warm-up of 1,000 messages, then after 25,000 and 50,000 more.
# 2. 10% injected temporary failures: 5,000 messages to an aiosmtpd server
#    (test/servers/smtp_flaky.py) that answers 451 to the first attempt of
#    10% of the Message-IDs; every message must end sent, each Message-ID
#    accepted once (the server counts duplicates).

EMAIL_BENCH_MESSAGES=${EMAIL_BENCH_MESSAGES:-50000}
EMAIL_FLAKY_MESSAGES=${EMAIL_FLAKY_MESSAGES:-5000}

email_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# email_wait_final: poll until every message is in a final state
email_wait_final() {
	local left i
	for ((i = 0; i < 3600; i++)); do
		left=$(cluster_psql -d email_bench -Atc "SELECT count(*) FROM analytics.email_outbox
			WHERE status IN ('queued', 'sending', 'deferred')")
		[ "$left" = 0 ] && return 0
		sleep 0.5
	done
	echo "    email: messages still pending after 30 minutes" >&2
	return 1
}

email_worker_mem() {
	local pid
	pid=$(cluster_psql -d email_bench -Atc "SELECT pid FROM analytics.worker_status() WHERE database = 'email_bench'")
	# RssAnon is the worker's own heap; RssShmem the shared buffers it touched
	awk '/^VmRSS|^RssAnon|^RssShmem/ {printf "%s %s kB  ", $1, $2}' "/proc/$pid/status"
	echo "(pid $pid)"
}

email_bench() {
	local sink_port flaky_port sink_pid flaky_pid stats start ms rate src_ms src_rate size i half n
	local main_dir=$ROOT/test/bench/out

	cluster_setup "$ROOT/test/bench/out-email"
	cluster_running && cluster_stop
	cluster_start "analytics.email_from = 'Bench <bench@shop.test>'
analytics.job_retry_base = '100ms'
analytics.job_retry_max = '2s'
analytics.worker_poll_interval = '200ms'"
	cluster_createdb email_bench
	cluster_psql -d email_bench -c "SET client_min_messages = warning;
		DROP EXTENSION IF EXISTS analytics CASCADE; CREATE EXTENSION analytics;"

	# --- 1. smtp-sink: throughput and memory ---------------------------------
	sink_port=$(email_free_port)
	# as_user runs in a subshell: the server writes its own pid (exec keeps it)
	as_user sh -c 'echo $$ > "$1"; exec /usr/sbin/smtp-sink -h sink.test "127.0.0.1:$2" 256' \
		sink "$CLUSTER_SOCK/sink.pid" "$sink_port" >/dev/null 2>&1 &
	sink_pid=$!
	cluster_psql -d email_bench -c "ALTER SYSTEM SET analytics.smtp_url = 'smtp://127.0.0.1:$sink_port'" \
		-c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	for ((i = 0; i < 50; i++)); do
		[ "$(cluster_psql -d email_bench -Atc "SELECT count(*) FROM analytics.worker_status() WHERE database = 'email_bench' AND state = 'running'")" = 1 ] && break
		sleep 0.2
	done
	echo "    email: worker memory at start:             $(email_worker_mem)"
	# a warm-up of 1,000 (catalog caches, cached plans, SMTP connections),
	# then two halves, memory read after each: the halves must not grow it
	for half in 0 1 2; do
		n=$((half == 0 ? 1000 : EMAIL_BENCH_MESSAGES / 2))
		start=$(date +%s%N)
		cluster_psql -d email_bench -c "SELECT count(analytics.send_email('user' || g || '@example.test',
			'Your receipt #' || g, 'Thank you for your order ' || g || E'.\nTotal: 12.50 EUR\n' || repeat('Line of text. ', 30),
			'<p>Thank you for your order <b>' || g || '</b></p>'))
			FROM generate_series(1, $n) g" >/dev/null
		ms=$((($(date +%s%N) - start) / 1000000))
		email_wait_final
		if [ "$half" = 0 ]; then
			echo "    email: worker memory after 1000 (warm-up):  $(email_worker_mem)"
		else
			echo "    email: worker memory after $((half * EMAIL_BENCH_MESSAGES / 2)) more: $(email_worker_mem) (queued in $((ms / 1000)).$((ms % 1000 / 100)) s)"
		fi
	done
	# each half's messages share one created_at (one enqueue transaction):
	# its span runs from its first claim to its last delivery; the warm-up
	# (the earliest created_at) is left out
	rate=$(cluster_psql -d email_bench -Atc "SELECT round(sum(n) / sum(secs)) FROM (
		SELECT count(*) AS n, extract(epoch FROM max(finished_at) - min(last_attempt_at)) AS secs
		FROM analytics.email_outbox WHERE status = 'sent'
		AND created_at > (SELECT min(created_at) FROM analytics.email_outbox) GROUP BY created_at) h")
	size=$(cluster_psql -d email_bench -Atc "SELECT round(avg(octet_length(message))) FROM analytics.email_outbox")
	echo "    email: $(cluster_psql -d email_bench -Atc "SELECT format('%s sent, %s failed/bounced, delivery rate %s', sent, failed + bounced, delivery_rate) FROM analytics.email_stats()")"
	# the reference client: Postfix's smtp-source, same count, size, connections
	start=$(date +%s%N)
	/usr/sbin/smtp-source -d -s 4 -m "$EMAIL_BENCH_MESSAGES" -l "$size" -f bench@shop.test -t user@example.test \
		"127.0.0.1:$sink_port" >/dev/null 2>&1
	src_ms=$((($(date +%s%N) - start) / 1000000))
	src_rate=$((EMAIL_BENCH_MESSAGES * 1000 / (src_ms > 0 ? src_ms : 1)))
	printf '| %-46s | %8s/s | %-40s | %8s/s | %6.2f |\n' "email to smtp-sink, $EMAIL_BENCH_MESSAGES msgs, 4 conns" "$rate" \
		"Postfix smtp-source, same msgs and size" "$src_rate" "$(awk -v a="$rate" -v b="$src_rate" 'BEGIN {print a / b}')"
	printf '| %-46s | %8s/s | %-40s | %8s/s | %6.2f |\n' "  (same)" "$rate" "the hosted API's limit" 10 \
		"$(awk -v a="$rate" 'BEGIN {print a / 10}')"
	kill "$(cat "$CLUSTER_SOCK/sink.pid")" 2>/dev/null
	wait "$sink_pid" 2>/dev/null || true

	# --- 2. 10% temporary failures -----------------------------------------
	flaky_port=$(email_free_port)
	stats=$CLUSTER_SOCK/flaky-stats.json
	as_user sh -c 'echo $$ > "$1"; shift; exec /usr/bin/python3 "$@"' flaky "$CLUSTER_SOCK/flaky.pid" \
		"$ROOT/test/servers/smtp_flaky.py" --port "$flaky_port" --tempfail-percent 10 --seed 7 \
		--stats "$stats" >/dev/null 2>&1 &
	flaky_pid=$!
	sleep 1
	cluster_psql -d email_bench -c "SET client_min_messages = warning" -c "TRUNCATE analytics.email_outbox CASCADE" \
		-c "ALTER SYSTEM SET analytics.smtp_url = 'smtp://127.0.0.1:$flaky_port'" \
		-c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	cluster_psql -d email_bench -c "SELECT count(analytics.send_email('flaky' || g || '@example.test',
		'Alert ' || g, 'Something happened: ' || g))
		FROM generate_series(1, $EMAIL_FLAKY_MESSAGES) g" >/dev/null
	email_wait_final
	rate=$(cluster_psql -d email_bench -Atc "SELECT round(count(*) / extract(epoch FROM max(finished_at) - min(last_attempt_at)))
		FROM analytics.email_outbox WHERE status = 'sent'")
	echo "    email, 10% temporary failures: $(cluster_psql -d email_bench -Atc "SELECT format('%s messages: %s sent, %s failed, %s bounced, %s temporary failures retried, delivery rate %s', messages, sent, failed, bounced, temporary_failures, delivery_rate) FROM analytics.email_stats()")"
	# signal the server itself; it writes its final counts on SIGTERM
	kill -TERM "$(cat "$CLUSTER_SOCK/flaky.pid")" 2>/dev/null
	wait "$flaky_pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		grep -q '"final": true' "$stats" 2>/dev/null && break
		sleep 0.1
	done
	echo "    email, server's count: $(python3 -c "import json; s = json.load(open('$stats')); print('%d distinct Message-IDs accepted, %d duplicates, %d 451s injected' % (s['accepted_distinct'], s['duplicates'], s['tempfails_injected']))")"
	printf '| %-46s | %8s/s | %-40s | %8s/s | %6.2f |\n' "email, 10% temporary failures, $EMAIL_FLAKY_MESSAGES msgs" "$rate" \
		"the hosted API's limit" 10 "$(awk -v a="$rate" 'BEGIN {print a / 10}')"

	cluster_stop
	cluster_setup "$main_dir"
}

email_bench
