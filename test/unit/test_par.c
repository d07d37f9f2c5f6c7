/*
 * test_par.c
 *		Unit tests of an_par_for (src/lib/par.c): every task runs exactly
 *		once for any number of threads, per-worker scratch is never shared,
 *		and a pending interrupt stops the round, calls check_interrupts with
 *		no helper running, then finishes the remaining tasks.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "par.h"
#include "unit.h"

#define NTASKS 1000

typedef struct count_ctx
{
	atomic_int	runs[NTASKS];	/* times each task ran */
	atomic_int	busy[AN_PAR_MAX_THREADS];	/* tasks running per worker */
	atomic_int	overlap;		/* a worker ran two tasks at once */
	atomic_int	bad_worker;		/* a worker index out of range */
	atomic_int	running;		/* tasks running now */
	int			nthreads;
	atomic_int	max_running;
	atomic_int	unblocked;		/* a helper ran with SIGINT or SIGTERM deliverable */
	atomic_int	helper_tasks;	/* tasks run by helpers */
} count_ctx;

/* a task: count it, check the worker's slot is free, spin a little */
static void
count_task(void *arg, size_t t, int worker)
{
	count_ctx  *c = arg;
	volatile double x = 0.0;
	int			now;
	int			i;

	if (worker < 0 || worker >= c->nthreads)
	{
		atomic_fetch_add(&c->bad_worker, 1);
		return;
	}
	if (atomic_fetch_add(&c->busy[worker], 1) != 0)
		atomic_fetch_add(&c->overlap, 1);
	now = atomic_fetch_add(&c->running, 1) + 1;
	if (now > atomic_load(&c->max_running))
		atomic_store(&c->max_running, now);
	if (worker > 0)
	{
		sigset_t	mask;

		pthread_sigmask(SIG_SETMASK, NULL, &mask);
		if (!sigismember(&mask, SIGINT) || !sigismember(&mask, SIGTERM))
			atomic_fetch_add(&c->unblocked, 1);
		atomic_fetch_add(&c->helper_tasks, 1);
	}
	for (i = 0; i < 2000; i++)
		x += i;
	atomic_fetch_add(&c->runs[t], 1);
	atomic_fetch_sub(&c->running, 1);
	atomic_fetch_sub(&c->busy[worker], 1);
}

static bool
all_once(count_ctx *c, size_t ntasks)
{
	size_t		t;

	for (t = 0; t < ntasks; t++)
		if (atomic_load(&c->runs[t]) != 1)
			return false;
	return true;
}

/* the interrupt hooks: pending on the polls listed, counting the checks */
static int	polls = 0;
static int	pending_at = -1;	/* poll that says yes (-1: never) */
static bool pending_forever = false;
static int	checks = 0;
static int	running_at_check = -1;
static count_ctx *current = NULL;

static int
pending(void)
{
	int			p = polls++;

	return pending_forever || p == pending_at;
}

static void
check(void *ctx)
{
	(void) ctx;
	checks++;
	running_at_check = atomic_load(&current->running);
}

int
main(void)
{
	int			threads[] = {1, 2, 3, 8, 200};
	size_t		sizes[] = {0, 1, 2, 7, NTASKS};
	an_allocator a = {unit_alloc, unit_release, check, NULL};
	size_t		s;
	int			t;

	for (t = 0; t < 5; t++)
		for (s = 0; s < 5; s++)
		{
			count_ctx  *c = calloc(1, sizeof(count_ctx));

			c->nthreads = threads[t] > AN_PAR_MAX_THREADS ? AN_PAR_MAX_THREADS : threads[t];
			an_par_for(threads[t], sizes[s], count_task, c, NULL);
			CHECK(all_once(c, sizes[s]) && c->overlap == 0 && c->bad_worker == 0,
				  "%d threads, %zu tasks: each task once, workers in range, none shared",
				  threads[t], sizes[s]);
			free(c);
		}

	/* a pending interrupt on the 5th poll: stop, check with nothing running, resume */
	{
		count_ctx  *c = calloc(1, sizeof(count_ctx));

		c->nthreads = 3;
		current = c;
		an_par_interrupt_pending = pending;
		polls = 0;
		pending_at = 4;
		checks = 0;
		an_par_for(3, NTASKS, count_task, c, &a);
		CHECK(checks == 1 && running_at_check == 0,
			  "pending interrupt: check_interrupts called once (%d), with no task running (%d)",
			  checks, running_at_check);
		CHECK(all_once(c, NTASKS) && c->overlap == 0, "pending interrupt: every task still runs once");
		free(c);
	}

	/* pending and never cleared (interrupts held off): one check, then no more polling */
	{
		count_ctx  *c = calloc(1, sizeof(count_ctx));

		c->nthreads = 2;
		current = c;
		polls = 0;
		pending_forever = true;
		checks = 0;
		an_par_for(2, NTASKS, count_task, c, &a);
		CHECK(checks == 1 && polls == 2 && all_once(c, NTASKS),
			  "interrupt pending for good: one check (%d), polling stops (%d polls), every task once",
			  checks, polls);
		pending_forever = false;
		free(c);
	}

	/* without check_interrupts the hook is not polled */
	{
		count_ctx  *c = calloc(1, sizeof(count_ctx));
		an_allocator quiet = {unit_alloc, unit_release, NULL, NULL};

		c->nthreads = 2;
		current = c;
		polls = 0;
		an_par_for(2, NTASKS, count_task, c, &quiet);
		CHECK(polls == 0 && all_once(c, NTASKS), "no check_interrupts: no polling (%d polls)", polls);
		free(c);
	}

	/* helpers never see a signal: SIGINT and SIGTERM blocked in them, this thread's mask restored */
	{
		sigset_t	before;
		sigset_t	after;
		count_ctx  *c = calloc(1, sizeof(count_ctx));

		an_par_interrupt_pending = NULL;
		c->nthreads = 4;
		pthread_sigmask(SIG_SETMASK, NULL, &before);
		an_par_for(4, NTASKS, count_task, c, NULL);
		pthread_sigmask(SIG_SETMASK, NULL, &after);
		CHECK(sigismember(&before, SIGUSR1) == sigismember(&after, SIGUSR1) &&
			  sigismember(&before, SIGINT) == sigismember(&after, SIGINT) &&
			  c->max_running >= 1, "the caller's signal mask is restored (at most %d tasks ran at once)",
			  (int) c->max_running);
		CHECK(c->unblocked == 0, "helpers run with every signal blocked (%d of their %d tasks saw one deliverable)",
			  (int) c->unblocked, (int) c->helper_tasks);
		free(c);
	}
	return unit_done();
}
