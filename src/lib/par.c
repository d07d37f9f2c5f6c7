/*
 * par.c
 *		Data-parallel loops on POSIX threads (see par.h).
 *
 * Tasks are claimed from an atomic counter: a thread first checks the stop
 * flag, then claims the next index and runs it if it is in range, so after
 * the join every index below the counter (and below ntasks) has run, and
 * none above.  A stopped round therefore resumes exactly where it left off.
 */
#include "par.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

int			(*an_par_interrupt_pending) (void) = NULL;

typedef struct par_round
{
	an_par_fn	fn;
	void	   *ctx;
	size_t		ntasks;
	atomic_size_t next;			/* the next task to claim */
	atomic_int	stop;			/* no more claims */
} par_round;

typedef struct par_helper
{
	par_round  *round;
	int			worker;
} par_helper;

/* Claim and run tasks until none is left or the round is stopped. */
static void
run_tasks(par_round *r, int worker, bool poll)
{
	for (;;)
	{
		size_t		t;

		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			break;
		t = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
		if (t >= r->ntasks)
			break;
		r->fn(r->ctx, t, worker);
		if (poll && an_par_interrupt_pending())
			atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
	}
}

/* Body of a helper thread. */
static void *
helper_main(void *arg)
{
	par_helper *h = arg;

	run_tasks(h->round, h->worker, false);
	return NULL;
}

/* Run every task (see par.h). */
void
an_par_for(int nthreads, size_t ntasks, an_par_fn fn, void *ctx,
		   const an_allocator *a)
{
	bool		poll = a != NULL && a->check_interrupts != NULL &&
		an_par_interrupt_pending != NULL;
	size_t		from = 0;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > AN_PAR_MAX_THREADS)
		nthreads = AN_PAR_MAX_THREADS;
	while (from < ntasks)
	{
		par_round	r;
		par_helper	helpers[AN_PAR_MAX_THREADS];
		pthread_t	tids[AN_PAR_MAX_THREADS];
		int			want = nthreads - 1;
		int			started = 0;
		int			i;
		size_t		done;

		if ((size_t) want > ntasks - from - 1)
			want = (int) (ntasks - from - 1);
		r.fn = fn;
		r.ctx = ctx;
		r.ntasks = ntasks;
		atomic_init(&r.next, from);
		atomic_init(&r.stop, 0);
		if (want > 0)
		{
			sigset_t	all;
			sigset_t	old;

			/* the helpers inherit a mask that blocks every signal */
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			for (i = 0; i < want; i++)
			{
				helpers[started].round = &r;
				helpers[started].worker = started + 1;
				if (pthread_create(&tids[started], NULL, helper_main, &helpers[started]) != 0)
					break;
				started++;
			}
			pthread_sigmask(SIG_SETMASK, &old, NULL);
		}
		run_tasks(&r, 0, poll);
		for (i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		done = atomic_load(&r.next);
		from = done < ntasks ? done : ntasks;
		if (from < ntasks)
		{
			an_check_interrupts(a);
			/* still pending (interrupts held off): stop polling */
			if (poll && an_par_interrupt_pending())
				poll = NULL;
		}
	}
}
