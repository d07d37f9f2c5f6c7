/*
 * jobs.h
 *		The background worker's job engine: queues kept in tables, claimed
 *		with FOR UPDATE SKIP LOCKED and a visibility timeout, run with no
 *		transaction open, outcomes recorded with retries, exponential backoff
 *		with jitter, and a maximum age.  See jobs.c.
 *
 * A queue table has the job columns
 *		id bigint, status text, attempts integer, created_at timestamptz,
 *		next_attempt_at timestamptz, last_attempt_at timestamptz,
 *		finished_at timestamptz, last_error text, and a reply-code column,
 * with status 'queued', 'sending' (claimed until next_attempt_at),
 * 'deferred' (retry at next_attempt_at), 'failed' (too old to retry) and
 * the queue's own final statuses; and an events table with columns
 *		<job column> bigint, attempt integer, status text, <code column>
 *		integer, detail text
 * that gets one row per recorded outcome.
 */
#ifndef ANALYTICS_JOBS_H
#define ANALYTICS_JOBS_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#define JOB_DETAIL_LEN 256

typedef enum JobOutcome
{
	JOB_DONE,					/* finished: status says how (e.g. sent) */
	JOB_RETRY,					/* temporary failure: deferred, or failed when too old */
	JOB_FAIL					/* permanent failure: status says how (e.g. bounced) */
} JobOutcome;

typedef struct JobResult
{
	int64		id;
	JobOutcome	outcome;
	const char *status;			/* final status for JOB_DONE / JOB_FAIL */
	int			code;			/* reply code, 0: none */
	char		detail[JOB_DETAIL_LEN]; /* "" when nothing to say */
} JobResult;

/* a batch of claimed jobs: flattened rows (id first, attempts second) */
typedef struct JobBatch
{
	HeapTuple  *rows;
	TupleDesc	desc;
	int			n;
} JobBatch;

typedef struct JobQueue
{
	const char *name;			/* "email", in messages */
	const char *table;			/* "analytics.email_outbox" */
	const char *events_table;	/* "analytics.email_events" */
	const char *events_job_column;	/* "message" */
	const char *code_column;	/* "smtp_code" (in both tables) */
	const char *payload;		/* claim's output columns after id, attempts (alias o) */
	int			(*batch_size) (void);
	int			(*max_age) (void);	/* seconds */
	/* run the batch with no transaction open; fill results[i] for row i */
	void		(*run) (const JobBatch *batch, JobResult *results);
	/* in the recording transaction, after the outcomes are stored (may be NULL) */
	void		(*after_record) (const JobResult *results, int n);
	void		(*config_changed) (void);	/* may be NULL */
	void		(*stop) (void);	/* may be NULL */
} JobQueue;

/* the queues the worker runs */
extern const JobQueue email_queue;

/*
 * In the worker (no transaction open): requeue the jobs a previous worker
 * of this database had claimed (with an event saying they may have run).
 */
extern void jobs_worker_start(void);

/* one round over every queue; true when a queue had a full batch (more) */
extern bool jobs_run_once(long *sleep_ms);

extern void jobs_config_changed(void);
extern void jobs_worker_stop(void);

/* true when the worker should abort network work (SIGTERM, postmaster gone) */
extern bool jobs_interrupted(void *ctx);

#endif							/* ANALYTICS_JOBS_H */
