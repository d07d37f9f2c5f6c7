/*
 * worker.h
 *		The background worker: a launcher that starts one worker per database
 *		that has the extension, the workers' shared status, and the wake-up
 *		of a database's worker when queued work commits.  See worker.c.
 */
#ifndef ANALYTICS_WORKER_H
#define ANALYTICS_WORKER_H

#include "postgres.h"

#include "fmgr.h"

/* settings of the worker and its job engine (worker.c registers them) */
extern char *analytics_worker_databases;
extern int	analytics_worker_poll_interval; /* ms */
extern int	analytics_job_visibility_timeout;	/* s */
extern int	analytics_job_retry_base;	/* ms */
extern int	analytics_job_retry_max;	/* s */

/* _PG_init: settings, hooks, and (when preloaded) the launcher */
extern void worker_init(void);

/*
 * Raise a clear error unless the library was loaded through
 * shared_preload_libraries; what names the feature ("send_email").
 */
extern void worker_require_preload(const char *what);

/* wake this database's worker when the current transaction commits */
extern void worker_wake_on_commit(void);

/* in a database worker: record what happened, for worker_status() */
extern void worker_report_wake(void);
extern void worker_report_queue(int64 queued, int in_flight);
extern void worker_report_outcomes(int64 sent, int64 deferred, int64 bounced, int64 failed);
extern void worker_report_error(const char *message);

/* SIGTERM received (stop at the next safe point) */
extern bool worker_stop_requested(void);

/* around the worker's transactions: a SIGTERM then cancels them at once */
extern void worker_set_db_work(bool on);
extern void worker_reload_if_pending(void);

/* entry points named in BackgroundWorker.bgw_function_name */
extern PGDLLEXPORT void analytics_launcher_main(Datum arg);
extern PGDLLEXPORT void analytics_worker_main(Datum arg);

#endif							/* ANALYTICS_WORKER_H */
