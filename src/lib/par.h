/*
 * par.h
 *		Data-parallel loops for the pure-C cores: a loop's iterations are cut
 *		into tasks that run on a few threads of the calling process.
 *
 * Determinism is the caller's part: the cut into tasks must depend on the
 * data only (never on the number of threads), each task writes only its
 * own results, and the caller combines them in task order.  Then the
 * result is bitwise the same for any number of threads, 1 included.
 *
 * Inside PostgreSQL the helper threads run nothing but the task function
 * on memory the caller prepared: no palloc, no ereport, no interrupts, and
 * every signal blocked (signals go to the backend's own thread).  They are
 * started and joined within one an_par_for call, so no thread outlives it
 * and an error raised between calls (by check_interrupts) leaves none
 * behind.
 */
#ifndef ANALYTICS_PAR_H
#define ANALYTICS_PAR_H

#include <stddef.h>

#include "alloc.h"

#define AN_PAR_MAX_THREADS 64

/*
 * Whether a->check_interrupts has something to do (NULL: never asked).  It
 * must return and read nothing but a flag: it is polled while helper
 * threads run, when check_interrupts itself may not be called (it could
 * leave them running on freed memory).  The PostgreSQL glue sets it once.
 */
extern int	(*an_par_interrupt_pending) (void);

/* one task: worker is 0 .. nthreads - 1 (0: the calling thread) */
typedef void (*an_par_fn) (void *ctx, size_t task, int worker);

/*
 * Run fn(ctx, t, worker) once for every t in [0, ntasks), on up to
 * nthreads threads (the caller's included; clipped to
 * [1, AN_PAR_MAX_THREADS] and to ntasks).  Tasks are handed out in order
 * as threads become free; two tasks run at once only on different
 * workers, so per-worker scratch indexed by worker is safe.  When a thread
 * cannot be started the others do its share.
 *
 * Interrupts: while tasks run, the calling thread polls
 * an_par_interrupt_pending (when set) after each of its tasks; on a yes no
 * further task starts, the running ones finish and the helpers are
 * joined, then a->check_interrupts is called (it may not return), and if
 * it returns the remaining tasks run.  a may be NULL (no interrupts).
 */
extern void an_par_for(int nthreads, size_t ntasks, an_par_fn fn, void *ctx,
					   const an_allocator *a);

#endif							/* ANALYTICS_PAR_H */
