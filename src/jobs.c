/*
 * jobs.c
 *		The worker's job engine (see jobs.h).
 *
 * One round over a queue:
 *	1. claim (one transaction, committed before any network I/O): the due
 *	   jobs, oldest due first, FOR UPDATE SKIP LOCKED, become 'sending'
 *	   with next_attempt_at = now() + analytics.job_visibility_timeout and
 *	   one more attempt;
 *	2. run them with no transaction open (the queue's run callback);
 *	3. record (a new transaction): every outcome in one statement, which
 *	   also writes one event per job.  A temporary failure becomes
 *	   'deferred' until now() + min(base * 2^(attempts-1), max) * U(0.5, 1)
 *	   (analytics.job_retry_base, analytics.job_retry_max; the random
 *	   factor spreads retries that failed together), or 'failed' once the
 *	   job is older than the queue's maximum age.
 * A worker that dies between 1 and 3 leaves its jobs 'sending'; they are
 * due again when the visibility timeout passes, and a new worker of the
 * database requeues them at once when it starts (one worker per database,
 * so every claimed job there is an orphan then).  Jobs therefore run at
 * least once; those of the batch in flight at a crash may run twice.
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "jobs.h"
#include "worker.h"

static const JobQueue *const queues[] = {&email_queue};

#define N_QUEUES ((int) lengthof(queues))

bool
jobs_interrupted(void *ctx)
{
	(void) ctx;
	return worker_stop_requested() || !PostmasterIsAlive();
}

/*
 * The caller's memory context across begin_spi .. end_spi: committing a
 * transaction leaves CurrentMemoryContext at TopMemoryContext, where the
 * worker's per-round allocations would pile up for good.
 */
static MemoryContext spi_caller_cxt = NULL;

/* start a transaction with a snapshot and SPI, showing what in pg_stat_activity */
static void
begin_spi(const char *what)
{
	spi_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	worker_set_db_work(true);
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);

	/*
	 * Every statement of the engine reaches its rows through an index (the
	 * queue's partial index of unfinished jobs, or the primary key).  A
	 * sequential scan would read every finished job the table keeps, and a
	 * bitmap scan visits the heap for every index entry, dead ones included,
	 * with a bitmap as large as work_mem: right after a burst (before
	 * autovacuum, or before the planner has statistics) the planner picks
	 * them, and each idle poll then cost tens of milliseconds and left the
	 * worker's heap megabytes larger.  Index scans also mark the dead
	 * entries they pass, so the next scan skips them.  Transaction-local.
	 */
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

static void
end_spi(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(spi_caller_cxt);
	worker_set_db_work(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
jobs_worker_start(void)
{
	int			q;

	for (q = 0; q < N_QUEUES; q++)
	{
		const JobQueue *jq = queues[q];
		char	   *sql;
		int			rc;

		sql = psprintf("WITH u AS (UPDATE %s SET next_attempt_at = now() "
					   "WHERE status = 'sending' RETURNING id, attempts) "
					   "INSERT INTO %s (%s, attempt, status, detail) "
					   "SELECT id, attempts, 'requeued', "
					   "'the worker stopped while this job was in flight; it may have run' FROM u",
					   jq->table, jq->events_table, jq->events_job_column);
		begin_spi("analytics worker: requeue claimed jobs");
		rc = SPI_execute(sql, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "requeueing %s jobs failed: %s", jq->name, SPI_result_code_string(rc));
		if (SPI_processed > 0)
			ereport(LOG,
					(errmsg("analytics worker: requeued " UINT64_FORMAT " %s jobs claimed before the worker restarted",
							SPI_processed, jq->name),
					 errdetail("They may have run already; they run again (at-least-once delivery).")));
		end_spi();
	}
}

/* claim up to limit due jobs of jq into batch (rows copied to the caller's context) */
static void
claim(const JobQueue *jq, int limit, JobBatch *batch)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *sql;
	Datum		args[2];
	Oid			types[2] = {INT4OID, INT4OID};
	int			rc;
	uint64		i;

	sql = psprintf("WITH c AS (SELECT id FROM %s "
				   "WHERE status IN ('queued', 'sending', 'deferred') AND next_attempt_at <= now() "
				   "ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) "
				   "UPDATE %s o SET status = 'sending', attempts = o.attempts + 1, "
				   "last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => $2) "
				   "FROM c WHERE o.id = c.id "
				   "RETURNING o.id, o.attempts, %s",
				   jq->table, jq->table, jq->payload);
	args[0] = Int32GetDatum(limit);
	args[1] = Int32GetDatum(analytics_job_visibility_timeout);
	begin_spi("analytics worker: claim jobs");
	rc = SPI_execute_with_args(sql, 2, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "claiming %s jobs failed: %s", jq->name, SPI_result_code_string(rc));
	batch->n = (int) SPI_processed;
	batch->rows = MemoryContextAlloc(caller, sizeof(HeapTuple) * Max(batch->n, 1));
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		batch->desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
		/* flatten: toasted values must be read before the transaction ends */
		for (i = 0; i < SPI_processed; i++)
			batch->rows[i] = toast_flatten_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		MemoryContextSwitchTo(old);
	}
	end_spi();
}

/* text[] of n C strings */
static Datum
text_array(const char *const *strs, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* record the outcomes of a batch in one transaction */
static void
record(const JobQueue *jq, const JobResult *results, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *codes = palloc(sizeof(Datum) * Max(n, 1));
	const char **outcomes = palloc(sizeof(char *) * Max(n, 1));
	const char **statuses = palloc(sizeof(char *) * Max(n, 1));
	const char **details = palloc(sizeof(char *) * Max(n, 1));
	Datum		args[8];
	Oid			types[8] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
	TEXTARRAYOID, INT4OID, FLOAT8OID, FLOAT8OID};
	char	   *sql;
	int			rc;
	int			i;
	bool		held = false;
	int64		sent = 0,
				deferred = 0,
				bounced = 0,
				failed = 0;

	for (i = 0; i < n; i++)
	{
		ids[i] = Int64GetDatum(results[i].id);
		codes[i] = Int32GetDatum(results[i].code);
		outcomes[i] = results[i].outcome == JOB_RETRY ? "retry"
			: results[i].outcome == JOB_FAIL ? "fail" : "done";
		statuses[i] = results[i].status ? results[i].status : "";
		details[i] = results[i].detail;
	}
	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	args[1] = text_array(outcomes, n);
	args[2] = text_array(statuses, n);
	args[3] = PointerGetDatum(construct_array(codes, n, INT4OID, 4, true, TYPALIGN_INT));
	args[4] = text_array(details, n);
	args[5] = Int32GetDatum(jq->max_age());
	args[6] = Float8GetDatum(analytics_job_retry_base / 1000.0);
	args[7] = Float8GetDatum((double) analytics_job_retry_max);

	sql = psprintf("WITH r AS (SELECT * FROM unnest($1, $2, $3, $4, $5) AS r(id, outcome, status, code, detail)), "
				   "u AS (UPDATE %s o SET "
				   "status = CASE WHEN r.outcome <> 'retry' THEN r.status "
				   "  WHEN o.created_at + make_interval(secs => $6) > now() THEN 'deferred' ELSE 'failed' END, "
				   "next_attempt_at = CASE WHEN r.outcome = 'retry' THEN now() + make_interval(secs => "
				   "  least($7 * power(2, least(greatest(o.attempts - 1, 0), 40)), $8) * (0.5 + random() * 0.5)) "
				   "  ELSE o.next_attempt_at END, "
				   "finished_at = CASE WHEN r.outcome <> 'retry' OR o.created_at + make_interval(secs => $6) <= now() "
				   "  THEN now() END, "
				   "%s = nullif(r.code, 0), last_error = nullif(r.detail, '') "
				   "FROM r WHERE o.id = r.id AND o.status = 'sending' "
				   "RETURNING o.id, o.attempts, o.status, r.code, r.detail) "
				   "INSERT INTO %s (%s, attempt, status, %s, detail) "
				   "SELECT id, attempts, status, nullif(code, 0), nullif(detail, '') FROM u "
				   "RETURNING status",
				   jq->table, jq->code_column, jq->events_table, jq->events_job_column,
				   jq->code_column);

	/* a worker told to stop still records what it did (briefly, no waits expected) */
	if (worker_stop_requested())
	{
		HOLD_INTERRUPTS();
		held = true;
	}
	begin_spi("analytics worker: record outcomes");
	rc = SPI_execute_with_args(sql, 8, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "recording %s outcomes failed: %s", jq->name, SPI_result_code_string(rc));
	for (i = 0; i < (int) SPI_processed; i++)
	{
		char	   *st = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (strcmp(st, "sent") == 0)
			sent++;
		else if (strcmp(st, "deferred") == 0)
			deferred++;
		else if (strcmp(st, "failed") == 0)
			failed++;
		else if (strcmp(st, "bounced") == 0)
			bounced++;
	}
	if (jq->after_record)
		jq->after_record(results, n);
	end_spi();
	if (held)
		RESUME_INTERRUPTS();
	worker_report_outcomes(sent, deferred, bounced, failed);
}

/* how many jobs wait and when the next is due (ms from now, capped) */
static void
look_ahead(const JobQueue *jq, long *sleep_ms)
{
	char	   *sql;
	int			rc;
	bool		isnull;
	int64		queued;
	Datum		d;

	sql = psprintf("SELECT count(*), ceil(extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000)::float8 "
				   "FROM %s WHERE status IN ('queued', 'sending', 'deferred')",
				   jq->table);
	begin_spi("analytics worker: look at the queue");
	rc = SPI_execute(sql, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the %s queue failed: %s", jq->name, SPI_result_code_string(rc));
	queued = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		double		ms = DatumGetFloat8(d);

		if (ms < (double) *sleep_ms)
			*sleep_ms = ms < 1 ? 1 : (long) ms;
	}
	end_spi();
	worker_report_queue(queued, 0);
}

bool
jobs_run_once(long *sleep_ms)
{
	bool		more = false;
	int			q;

	for (q = 0; q < N_QUEUES; q++)
	{
		const JobQueue *jq = queues[q];
		int			limit = jq->batch_size();
		JobBatch	batch;
		JobResult  *results;

		claim(jq, limit, &batch);
		if (batch.n == 0)
		{
			look_ahead(jq, sleep_ms);
			continue;
		}
		worker_reload_if_pending();
		worker_report_queue(-1, batch.n);
		results = palloc0(sizeof(JobResult) * batch.n);
		jq->run(&batch, results);
		worker_report_queue(-1, 0);
		record(jq, results, batch.n);
		if (batch.n == limit)
			more = true;
		else
			look_ahead(jq, sleep_ms);
		if (!PostmasterIsAlive())
			proc_exit(1);
	}
	return more;
}

void
jobs_config_changed(void)
{
	int			q;

	for (q = 0; q < N_QUEUES; q++)
		if (queues[q]->config_changed)
			queues[q]->config_changed();
}

void
jobs_worker_stop(void)
{
	int			q;

	for (q = 0; q < N_QUEUES; q++)
		if (queues[q]->stop)
			queues[q]->stop();
}
