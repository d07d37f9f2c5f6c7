/*
 * worker.c
 *		The background worker: launcher, per-database workers, shared status.
 *
 * With shared_preload_libraries = 'analytics' the postmaster registers one
 * launcher.  The launcher connects to no database (it reads the shared
 * catalog pg_database) and keeps one worker running per database that
 * allows connections and is not a template, or per database named in
 * analytics.worker_databases.  A worker whose database lacks the extension
 * says so in its slot and exits; the launcher tries that database again
 * after a minute, or at once when a backend there queues work.
 *
 * Shared memory holds one slot per database: the worker's pid and latch,
 * when it started and last woke, its queue depth, jobs in flight, outcome
 * counters and last error, which analytics.worker_status() shows.
 *
 * A worker runs the job queues (jobs.c; today the email outbox) in a loop:
 * claim a batch in one transaction, do the network work with no
 * transaction open, record the outcomes in another.  It sleeps on its latch
 * until the next retry is due (at most analytics.worker_poll_interval); a
 * transaction that queues work sets that latch when it commits (a statement
 * trigger on the queue table, or the enqueue function, asks for it), so a
 * rolled-back enqueue neither sends nor wakes anything.
 *
 * Crashes: the launcher is a static worker with bgw_restart_time, so the
 * postmaster restarts it after it dies and after a crash restart of the
 * whole server; it then starts the database workers again.  Those are
 * dynamic workers that are never restarted by the postmaster (the launcher
 * does it, after a delay that grows while they keep failing).
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE need the database free of sessions: a utility hook
 * pauses that database's slot (the launcher will not start a worker) and
 * asks the worker to exit, before PostgreSQL checks for other sessions.
 * DROP EXTENSION needs nothing: the worker holds no lock between its short
 * transactions and exits when it finds the extension gone.
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "analytics.h"
#include "jobs.h"
#include "worker.h"

#define WORKER_SLOTS			64
#define ERROR_LEN				256
#define NO_EXTENSION_RETRY_MS	60000	/* look again for the extension */
#define PAUSE_MS				60000	/* longest pause for a database command */
#define RESTART_DELAY_MIN_MS	1000
#define RESTART_DELAY_MAX_MS	60000
#define LAUNCHER_RESCAN_MS		10000

char	   *analytics_worker_databases = NULL;
int			analytics_worker_poll_interval = 10000;
int			analytics_job_visibility_timeout = 300;
int			analytics_job_retry_base = 60000;
int			analytics_job_retry_max = 3600;

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_STARTING,				/* registered by the launcher, not running yet */
	SLOT_RUNNING,
	SLOT_STOPPED,				/* exited; may be started again at retry_at */
	SLOT_NO_EXTENSION			/* exited: the database lacks the extension */
} SlotState;

typedef struct WorkerSlot
{
	Oid			dboid;
	SlotState	state;
	pid_t		pid;
	Latch	   *latch;
	TimestampTz started_at;
	TimestampTz last_wake;
	TimestampTz retry_at;		/* launcher: not before (0 = at once) */
	TimestampTz paused_until;	/* a database command needs it stopped */
	int			failures;		/* consecutive failed exits */
	int			in_flight;
	int64		queued;
	int64		sent;
	int64		deferred;
	int64		bounced;
	int64		failed;
	TimestampTz last_error_at;
	char		last_error[ERROR_LEN];
} WorkerSlot;

typedef struct WorkerShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	TimestampTz launcher_started_at;
	TimestampTz launcher_last_wake;
	WorkerSlot	slots[WORKER_SLOTS];
} WorkerShared;

static WorkerShared *shared = NULL;
static WorkerSlot *my_slot = NULL;	/* in a database worker */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

static bool wake_at_commit = false;

/* SIGTERM: stop at the next safe point; inside database work, at once */
static volatile sig_atomic_t got_sigterm = false;
static volatile sig_atomic_t in_db_work = false;

static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	if (in_db_work)
		die(postgres_signal_arg);
	SetLatch(MyLatch);
	errno = save_errno;
}

bool
worker_stop_requested(void)
{
	return got_sigterm || ProcDiePending;
}

/*
 * Apply a SIGHUP's settings now.  Called at the top of the loop and again
 * between claiming a batch and running it: a job committed after the
 * reload was signalled is claimed after the signal arrived, so it never
 * runs with the old settings (a changed smtp_url, say).
 */
void
worker_reload_if_pending(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		jobs_config_changed();
	}
}

void
worker_set_db_work(bool on)
{
	in_db_work = on;
	/* a SIGTERM that came between two transactions ends the next one */
	if (on && got_sigterm)
		die(SIGTERM);
}

/* ----------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------- */

static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
	RequestNamedLWLockTranche("analytics", 1);
}

static void
worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("analytics worker", sizeof(WorkerShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(WorkerShared));
		shared->lock = &(GetNamedLWLockTranche("analytics"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
worker_require_preload(const char *what)
{
	if (!analytics_preloaded || shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s needs the analytics background worker, which is not running", what),
				 errdetail("The analytics library was not loaded through shared_preload_libraries."),
				 errhint("Add analytics to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* the slot of database dboid, or NULL (caller holds the lock) */
static WorkerSlot *
slot_find(Oid dboid)
{
	int			i;

	for (i = 0; i < WORKER_SLOTS; i++)
		if (shared->slots[i].state != SLOT_FREE && shared->slots[i].dboid == dboid)
			return &shared->slots[i];
	return NULL;
}

/* the slot of dboid, taking a free one if needed; NULL when full (exclusive lock) */
static WorkerSlot *
slot_get(Oid dboid)
{
	WorkerSlot *s = slot_find(dboid);
	int			i;

	if (s)
		return s;
	for (i = 0; i < WORKER_SLOTS; i++)
		if (shared->slots[i].state == SLOT_FREE)
		{
			s = &shared->slots[i];
			memset(s, 0, sizeof(WorkerSlot));
			s->dboid = dboid;
			s->state = SLOT_STOPPED;
			return s;
		}
	return NULL;
}

/* ----------------------------------------------------------------
 * Waking a worker when queued work commits
 * ---------------------------------------------------------------- */

static void
wake_database_worker(Oid dboid)
{
	WorkerSlot *s;
	Latch	   *latch = NULL;
	Latch	   *launcher = NULL;

	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = slot_get(dboid);
	if (s && s->state == SLOT_RUNNING && s->latch)
		latch = s->latch;
	else
	{
		/* no worker yet (new extension, or it stopped): ask the launcher */
		if (s && s->state != SLOT_STARTING)
		{
			if (s->state == SLOT_NO_EXTENSION)
				s->state = SLOT_STOPPED;
			s->retry_at = 0;
			s->failures = 0;
		}
		launcher = shared->launcher_latch;
	}
	LWLockRelease(shared->lock);
	if (latch)
		SetLatch(latch);
	if (launcher)
		SetLatch(launcher);
}

static void
worker_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_at_commit)
			{
				wake_at_commit = false;
				wake_database_worker(MyDatabaseId);
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction commits elsewhere: the poll finds it */
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

void
worker_wake_on_commit(void)
{
	/* the worker's own updates of its queue need not wake it */
	if (my_slot == NULL)
		wake_at_commit = true;
}

PG_FUNCTION_INFO_V1(analytics_wake_worker);

/* statement trigger on a queue table */
Datum
analytics_wake_worker(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("analytics._wake_worker() must be called as a trigger")));
	worker_wake_on_commit();
	return PointerGetDatum(NULL);
}

/* ----------------------------------------------------------------
 * Database commands that need the database free of sessions
 * ---------------------------------------------------------------- */

/* pause dboid's worker and ask it to exit; true if there was a slot */
static bool
pause_database(Oid dboid)
{
	WorkerSlot *s;
	pid_t		pid = 0;

	if (shared == NULL || !OidIsValid(dboid))
		return false;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = slot_find(dboid);
	if (s)
	{
		s->paused_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), PAUSE_MS);
		if (s->state == SLOT_RUNNING || s->state == SLOT_STARTING)
			pid = s->pid;
	}
	LWLockRelease(shared->lock);
	if (pid != 0)
		kill(pid, SIGTERM);
	return s != NULL;
}

static void
unpause_database(Oid dboid)
{
	WorkerSlot *s;
	Latch	   *launcher = NULL;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = slot_find(dboid);
	if (s)
	{
		s->paused_until = 0;
		launcher = shared->launcher_latch;
	}
	LWLockRelease(shared->lock);
	if (launcher)
		SetLatch(launcher);
}

/*
 * Wait (up to about 5 s, like PostgreSQL's own wait for other sessions)
 * until dboid's worker has exited.
 */
static void
wait_database_worker_exit(Oid dboid)
{
	int			i;

	for (i = 0; i < 50; i++)
	{
		WorkerSlot *s;
		bool		gone;

		LWLockAcquire(shared->lock, LW_SHARED);
		s = slot_find(dboid);
		gone = s == NULL || (s->state != SLOT_RUNNING && s->state != SLOT_STARTING);
		LWLockRelease(shared->lock);
		if (gone)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(100000L);
	}
}

/* the database a utility statement needs free of sessions, or InvalidOid */
static Oid
database_needing_exclusive_access(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return get_database_oid(((DropdbStmt *) parsetree)->dbname, true);
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				return get_database_oid(((RenameStmt *) parsetree)->subname, true);
			return InvalidOid;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) parsetree)->options)
			{
				DefElem    *d = lfirst(lc);

				if (strcmp(d->defname, "template") == 0 && d->arg)
					return get_database_oid(defGetString(d), true);
			}
			return InvalidOid;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
			{
				DefElem    *d = lfirst(lc);

				if (strcmp(d->defname, "tablespace") == 0)
					return get_database_oid(((AlterDatabaseStmt *) parsetree)->dbname, true);
			}
			return InvalidOid;
		default:
			return InvalidOid;
	}
}

static void
worker_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			dboid = shared ? database_needing_exclusive_access(parsetree) : InvalidOid;
	bool		paused = false;

	/* CREATE EXTENSION analytics: start this database's worker on commit */
	if (shared && IsA(parsetree, CreateExtensionStmt) &&
		strcmp(((CreateExtensionStmt *) parsetree)->extname, "analytics") == 0)
		worker_wake_on_commit();

	if (OidIsValid(dboid) && dboid != MyDatabaseId)
	{
		paused = pause_database(dboid);
		if (paused)
			wait_database_worker_exit(dboid);
	}
	PG_TRY();
	{
		if (prev_process_utility_hook)
			prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
									  params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		/* dropped: the launcher forgets the slot; otherwise resume */
		if (paused)
			unpause_database(dboid);
	}
	PG_END_TRY();
}

/* ----------------------------------------------------------------
 * Settings and registration
 * ---------------------------------------------------------------- */

static bool
check_worker_databases(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names = NIL;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	(void) extra;
	(void) source;
	list_free(names);
	pfree(copy);
	if (!ok)
	{
		GUC_check_errdetail("List syntax is invalid: expected database names separated by commas.");
		return false;
	}
	return true;
}

void
worker_init(void)
{
	BackgroundWorker bgw;

	DefineCustomStringVariable("analytics.worker_databases",
							   "Databases the analytics background worker serves.",
							   "A comma-separated list of database names; empty means every "
							   "database that has the extension.",
							   &analytics_worker_databases,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_worker_databases, NULL, NULL);
	DefineCustomIntVariable("analytics.worker_poll_interval",
							"Longest sleep of the analytics worker between looks at its queues.",
							"Committed work wakes the worker at once; this bounds the delay "
							"for work it was not told about (e.g. from a prepared transaction).",
							&analytics_worker_poll_interval,
							10000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.job_visibility_timeout",
							"How long a claimed job stays invisible to other claims.",
							"A job whose worker died while running it becomes due again after "
							"this (a restarted worker requeues its database's claimed jobs at once).",
							&analytics_job_visibility_timeout,
							300, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.job_retry_base",
							"First delay before a failed job is retried.",
							"The n-th retry waits base * 2^(n-1), at most analytics.job_retry_max, "
							"times a random factor between 0.5 and 1 (jitter).",
							&analytics_job_retry_base,
							60000, 10, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.job_retry_max",
							"Longest delay between two attempts of a failed job.",
							NULL,
							&analytics_job_retry_max,
							3600, 1, 7 * 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = worker_process_utility;
	RegisterXactCallback(worker_xact_callback, NULL);

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "analytics");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "analytics_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "analytics launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "analytics launcher");
	RegisterBackgroundWorker(&bgw);
}

/* ----------------------------------------------------------------
 * Launcher
 * ---------------------------------------------------------------- */

typedef struct DbEntry
{
	Oid			oid;
	char		name[NAMEDATALEN];
} DbEntry;

/* databases to serve, from the shared catalog (no database connection) */
static List *
databases_to_serve(void)
{
	List	   *wanted = NIL;
	List	   *result = NIL;
	char	   *copy = NULL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;

	if (analytics_worker_databases && analytics_worker_databases[0])
	{
		copy = pstrdup(analytics_worker_databases);
		if (!SplitIdentifierString(copy, ',', &wanted))
			wanted = NIL;
	}
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		bool		serve;

		if (wanted != NIL)
		{
			ListCell   *lc;

			serve = false;
			foreach(lc, wanted)
				if (strcmp(lfirst(lc), NameStr(db->datname)) == 0)
					serve = true;
		}
		else
			serve = db->datallowconn && !db->datistemplate;
		/* a database a failed DROP DATABASE left behind cannot be connected to */
		if (serve && db->datconnlimit != DATCONNLIMIT_INVALID_DB)
		{
			MemoryContext old = MemoryContextSwitchTo(caller);
			DbEntry    *e = palloc(sizeof(DbEntry));

			e->oid = db->oid;
			strlcpy(e->name, NameStr(db->datname), NAMEDATALEN);
			result = lappend(result, e);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	/* commit leaves TopMemoryContext current */
	MemoryContextSwitchTo(caller);
	return result;
}

static bool
start_database_worker(const DbEntry *db, BackgroundWorkerHandle **handle)
{
	BackgroundWorker bgw;
	MemoryContext old;
	bool		ok;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "analytics");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "analytics_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "analytics worker for database %s", db->name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "analytics worker");
	bgw.bgw_main_arg = ObjectIdGetDatum(db->oid);
	bgw.bgw_notify_pid = MyProcPid;
	/* the handle outlives the pass (whose memory is reset) */
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&bgw, handle);
	MemoryContextSwitchTo(old);
	return ok;
}

/* launcher-local: the handles of the workers it started */
typedef struct Started
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} Started;

static Started started[WORKER_SLOTS];

static void
launcher_detach(int code, Datum arg)
{
	(void) code;
	(void) arg;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (shared->launcher_pid == MyProcPid)
	{
		shared->launcher_pid = 0;
		shared->launcher_latch = NULL;
	}
	LWLockRelease(shared->lock);
}

/*
 * One pass: reap workers that stopped, start the ones that are due, forget
 * databases that are gone.  Returns how long to sleep (ms).
 */
static long
launcher_pass(List *dbs, bool *warned_full)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = LAUNCHER_RESCAN_MS;
	ListCell   *lc;
	int			i;

	/* reap: a registered worker that never ran or has exited */
	for (i = 0; i < WORKER_SLOTS; i++)
	{
		pid_t		pid;
		BgwHandleStatus st;

		if (started[i].handle == NULL)
			continue;
		st = GetBackgroundWorkerPid(started[i].handle, &pid);
		if (st != BGWH_STOPPED && st != BGWH_POSTMASTER_DIED)
			continue;
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		{
			WorkerSlot *s = slot_find(started[i].dboid);

			if (s && (s->state == SLOT_STARTING || s->state == SLOT_RUNNING))
			{
				/* it died without saying why (FATAL, crash, start failure) */
				long		delay = RESTART_DELAY_MIN_MS << Min(s->failures, 6);

				s->state = SLOT_STOPPED;
				s->pid = 0;
				s->latch = NULL;
				s->failures++;
				s->retry_at = TimestampTzPlusMilliseconds(now, Min(delay, RESTART_DELAY_MAX_MS));
			}
		}
		LWLockRelease(shared->lock);
		pfree(started[i].handle);
		started[i].handle = NULL;
	}

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	/* forget databases that are gone or no longer served */
	for (i = 0; i < WORKER_SLOTS; i++)
	{
		WorkerSlot *s = &shared->slots[i];
		bool		listed = false;

		if (s->state == SLOT_FREE || s->state == SLOT_RUNNING || s->state == SLOT_STARTING)
			continue;
		foreach(lc, dbs)
			if (((DbEntry *) lfirst(lc))->oid == s->dboid)
				listed = true;
		if (!listed)
			s->state = SLOT_FREE;
	}
	foreach(lc, dbs)
	{
		DbEntry    *db = lfirst(lc);
		WorkerSlot *s = slot_get(db->oid);
		TimestampTz due;
		BackgroundWorkerHandle *handle;

		if (s == NULL)
		{
			if (!*warned_full)
				ereport(WARNING,
						(errmsg("analytics launcher: more than %d databases to serve; database \"%s\" gets no worker",
								WORKER_SLOTS, db->name),
						 errhint("List the databases that need the worker in analytics.worker_databases.")));
			*warned_full = true;
			continue;
		}
		if (s->state == SLOT_RUNNING || s->state == SLOT_STARTING)
			continue;
		due = Max(s->retry_at, s->paused_until);
		if (due > now)
		{
			long		ms = (long) ((due - now) / 1000) + 1;

			sleep_ms = Min(sleep_ms, ms);
			continue;
		}
		if (!start_database_worker(db, &handle))
		{
			/* no free background worker slot: try again later */
			s->retry_at = TimestampTzPlusMilliseconds(now, RESTART_DELAY_MAX_MS / 6);
			snprintf(s->last_error, ERROR_LEN,
					 "could not start a background worker (max_worker_processes is %d)",
					 max_worker_processes);
			s->last_error_at = now;
			continue;
		}
		s->state = SLOT_STARTING;
		s->pid = 0;
		for (i = 0; i < WORKER_SLOTS; i++)
			if (started[i].handle == NULL)
			{
				started[i].dboid = db->oid;
				started[i].handle = handle;
				break;
			}
	}
	LWLockRelease(shared->lock);
	return sleep_ms;
}

void
analytics_launcher_main(Datum arg)
{
	bool		warned_full = false;
	MemoryContext pass_cxt;

	(void) arg;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, handle_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->launcher_pid = MyProcPid;
	shared->launcher_latch = MyLatch;
	shared->launcher_started_at = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
	before_shmem_exit(launcher_detach, 0);
	memset(started, 0, sizeof(started));
	ereport(LOG, (errmsg("analytics launcher started")));

	pass_cxt = AllocSetContextCreate(TopMemoryContext, "analytics launcher",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		List	   *dbs;
		long		sleep_ms;
		MemoryContext old;

		if (got_sigterm)
			break;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(pass_cxt);
		old = MemoryContextSwitchTo(pass_cxt);
		dbs = databases_to_serve();
		sleep_ms = launcher_pass(dbs, &warned_full);
		MemoryContextSwitchTo(old);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		shared->launcher_last_wake = GetCurrentTimestamp();
		LWLockRelease(shared->lock);
	}
	ereport(LOG, (errmsg("analytics launcher shutting down")));
	proc_exit(0);
}

/* ----------------------------------------------------------------
 * Database worker
 * ---------------------------------------------------------------- */

/* how the worker leaves its slot when it exits */
static SlotState exit_state = SLOT_STOPPED;

static void
worker_detach(int code, Datum arg)
{
	(void) arg;
	if (my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (my_slot->pid == MyProcPid)
	{
		my_slot->state = exit_state;
		my_slot->pid = 0;
		my_slot->latch = NULL;
		my_slot->in_flight = 0;
		if (exit_state == SLOT_NO_EXTENSION)
			my_slot->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															NO_EXTENSION_RETRY_MS);
		else if (code == 0)
		{
			/* a clean exit (SIGTERM): start again soon unless paused */
			my_slot->failures = 0;
			my_slot->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															RESTART_DELAY_MIN_MS);
		}
		else
		{
			long		delay = RESTART_DELAY_MIN_MS << Min(my_slot->failures, 6);

			my_slot->failures++;
			my_slot->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															Min(delay, RESTART_DELAY_MAX_MS));
		}
	}
	LWLockRelease(shared->lock);
	my_slot = NULL;
}

/* claim dboid's slot; false if another worker holds it */
static bool
worker_attach(Oid dboid)
{
	WorkerSlot *s;
	bool		ok = false;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s = slot_get(dboid);
	if (s && (s->pid == 0 || s->pid == MyProcPid))
	{
		s->state = SLOT_RUNNING;
		s->pid = MyProcPid;
		s->latch = MyLatch;
		s->started_at = GetCurrentTimestamp();
		s->last_wake = s->started_at;
		s->in_flight = 0;
		s->sent = s->deferred = s->bounced = s->failed = 0;
		my_slot = s;
		ok = true;
	}
	LWLockRelease(shared->lock);
	if (ok)
		before_shmem_exit(worker_detach, 0);
	return ok;
}

void
worker_report_wake(void)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot->last_wake = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
}

void
worker_report_queue(int64 queued, int in_flight)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (queued >= 0)
		my_slot->queued = queued;
	my_slot->in_flight = in_flight;
	LWLockRelease(shared->lock);
}

void
worker_report_outcomes(int64 sent, int64 deferred, int64 bounced, int64 failed)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot->sent += sent;
	my_slot->deferred += deferred;
	my_slot->bounced += bounced;
	my_slot->failed += failed;
	if (sent > 0)
		my_slot->failures = 0;
	LWLockRelease(shared->lock);
}

void
worker_report_error(const char *message)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->last_error, message ? message : "", ERROR_LEN);
	my_slot->last_error_at = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
}

/*
 * Does this database have the extension, with the worker's queue tables?
 * (In a transaction.)  An install from an older build of the same version
 * may lack them: the worker then waits as if the extension were absent.
 */
static bool
extension_present(void)
{
	Oid			nsp;

	if (!OidIsValid(get_extension_oid("analytics", true)))
		return false;
	nsp = get_namespace_oid("analytics", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("email_outbox", nsp)))
	{
		worker_report_error("the analytics extension in this database has no email_outbox table "
							"(installed by an older build): re-create it with DROP EXTENSION and CREATE EXTENSION");
		return false;
	}
	return true;
}

void
analytics_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext loop_cxt;
	bool		present;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, handle_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	if (!worker_attach(dboid))
		proc_exit(0);			/* another worker serves this database */

	StartTransactionCommand();
	present = extension_present();
	if (present)
		ereport(LOG, (errmsg("analytics worker started for database \"%s\"",
							 get_database_name(dboid))));
	CommitTransactionCommand();
	if (!present)
	{
		exit_state = SLOT_NO_EXTENSION;
		proc_exit(0);
	}

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "analytics worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	jobs_worker_start();

	for (;;)
	{
		long		sleep_ms = analytics_worker_poll_interval;
		bool		more = false;
		MemoryContext old;

		if (worker_stop_requested())
			break;
		worker_reload_if_pending();
		MemoryContextReset(loop_cxt);
		old = MemoryContextSwitchTo(loop_cxt);
		PG_TRY();
		{
			StartTransactionCommand();
			present = extension_present();
			CommitTransactionCommand();
			MemoryContextSwitchTo(loop_cxt);
			if (present)
				more = jobs_run_once(&sleep_ms);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/* report, roll back, go on after a pause (the job stays claimed) */
			MemoryContextSwitchTo(loop_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			if (edata->elevel >= FATAL || worker_stop_requested())
				ReThrowError(edata);
			ereport(LOG,
					(errmsg("analytics worker: %s", edata->message)));
			worker_report_error(edata->message);
			AbortCurrentTransaction();
			worker_set_db_work(false);
			present = true;
			sleep_ms = RESTART_DELAY_MIN_MS;
			more = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		pgstat_report_activity(STATE_IDLE, NULL);
		if (!present)
		{
			exit_state = SLOT_NO_EXTENSION;
			ereport(LOG, (errmsg("analytics worker: the extension was dropped from this database; exiting")));
			jobs_worker_stop();
			proc_exit(0);
		}
		if (worker_stop_requested())
			break;
		if (!more)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Max(sleep_ms, 1), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		worker_report_wake();
	}
	jobs_worker_stop();
	ereport(LOG, (errmsg("analytics worker for database with OID %u shutting down", dboid)));
	proc_exit(0);
}

/* ----------------------------------------------------------------
 * analytics.worker_status()
 * ---------------------------------------------------------------- */

static const char *
slot_state_name(SlotState st)
{
	switch (st)
	{
		case SLOT_STARTING:
			return "starting";
		case SLOT_RUNNING:
			return "running";
		case SLOT_NO_EXTENSION:
			return "no extension";
		case SLOT_STOPPED:
			return "stopped";
		default:
			return "free";
	}
}

PG_FUNCTION_INFO_V1(analytics_worker_status);

Datum
analytics_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WorkerShared copy;
	int			i;

	worker_require_preload("analytics.worker_status()");
	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(shared->lock, LW_SHARED);
	memcpy(&copy, shared, sizeof(WorkerShared));
	LWLockRelease(shared->lock);

	/* the launcher */
	{
		Datum		values[13];
		bool		nulls[13];

		memset(nulls, true, sizeof(nulls));
		if (copy.launcher_pid != 0)
		{
			values[1] = Int32GetDatum(copy.launcher_pid);
			nulls[1] = false;
			values[3] = TimestampTzGetDatum(copy.launcher_started_at);
			nulls[3] = false;
			if (copy.launcher_last_wake)
			{
				values[4] = TimestampTzGetDatum(copy.launcher_last_wake);
				nulls[4] = false;
			}
		}
		values[2] = CStringGetTextDatum(copy.launcher_pid != 0 ? "launcher" : "launcher stopped");
		nulls[2] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (i = 0; i < WORKER_SLOTS; i++)
	{
		WorkerSlot *s = &copy.slots[i];
		Datum		values[13];
		bool		nulls[13];
		char	   *dbname;

		if (s->state == SLOT_FREE)
			continue;
		dbname = get_database_name(s->dboid);
		if (dbname == NULL)
			continue;
		memset(nulls, false, sizeof(nulls));
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(dbname));
		values[1] = Int32GetDatum(s->pid);
		nulls[1] = s->pid == 0;
		values[2] = CStringGetTextDatum(slot_state_name(s->state));
		values[3] = TimestampTzGetDatum(s->started_at);
		nulls[3] = s->started_at == 0;
		values[4] = TimestampTzGetDatum(s->last_wake);
		nulls[4] = s->last_wake == 0;
		values[5] = Int64GetDatum(s->queued);
		values[6] = Int32GetDatum(s->in_flight);
		values[7] = Int64GetDatum(s->sent);
		values[8] = Int64GetDatum(s->deferred);
		values[9] = Int64GetDatum(s->bounced);
		values[10] = Int64GetDatum(s->failed);
		values[11] = CStringGetTextDatum(s->last_error);
		nulls[11] = s->last_error[0] == '\0';
		values[12] = TimestampTzGetDatum(s->last_error_at);
		nulls[12] = s->last_error_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
