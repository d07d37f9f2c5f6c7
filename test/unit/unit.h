/*
 * unit.h
 *		A minimal TAP-producing harness for the C unit tests of src/lib.
 *
 * CHECK(cond, fmt, ...) prints "ok N - description" or "not ok N - ..."
 * with the failing expression and location; unit_done() prints the plan and
 * returns the exit status.  test/run counts the ok / not ok lines.
 */
#ifndef ANALYTICS_UNIT_H
#define ANALYTICS_UNIT_H

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

/*
 * A counting allocator for the cores' an_allocator hooks: fails once
 * `allow` allocations have been made (-1: never), counts live blocks and
 * check_interrupts calls.  Wire it up as
 *	an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
 */
typedef struct unit_ctx
{
	int			allow;			/* allocations left before failing (-1: unlimited) */
	int			live;			/* allocations not yet released */
	long		interrupts;		/* check_interrupts calls */
} unit_ctx;

static inline void *
unit_alloc(void *ctx, size_t size)
{
	unit_ctx   *c = ctx;
	void	   *p;

	if (c->allow == 0)
		return NULL;
	if (c->allow > 0)
		c->allow--;
	p = malloc(size);
	if (p)
		c->live++;
	return p;
}

static inline void
unit_release(void *ctx, void *ptr)
{
	unit_ctx   *c = ctx;

	c->live--;
	free(ptr);
}

static inline void
unit_interrupts(void *ctx)
{
	unit_ctx   *c = ctx;

	c->interrupts++;
}

static int	unit_checks = 0;
static int	unit_failures = 0;

#define CHECK(cond, ...) \
	do { \
		int			unit_ok_ = (cond) ? 1 : 0; \
		unit_checks++; \
		printf("%sok %d - ", unit_ok_ ? "" : "not ", unit_checks); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!unit_ok_) \
		{ \
			unit_failures++; \
			printf("#   failed: %s\n#   at %s:%d\n", #cond, __FILE__, __LINE__); \
		} \
		fflush(stdout); \
	} while (0)

/* note a value that helps read a failure */
#define NOTE(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

#ifdef ANALYTICS_ALLOC_H

/*
 * For cores that build one output buffer: every allocation of fn fails in
 * turn (allow = 0, 1, ...); each failure must be AN_ENOMEM with no output
 * and nothing left allocated, until enough allocations succeed and the
 * output equals an unconstrained run's.  At least min_fails failing points
 * are expected.  Returns the unit_ctx's interrupt count.  (Include the
 * core's header, which includes alloc.h, before unit.h.)
 */
typedef int (*unit_build_fn) (const an_allocator *a, char **out, size_t *n,
							  char *err, size_t errlen);

static inline long
unit_alloc_sweep(const char *what, unit_build_fn fn, int min_fails)
{
	unit_ctx	ctx = {-1, 0, 0};
	an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
	char		err[256];
	char	   *ref = NULL;
	size_t		refn = 0;
	int			allow;
	int			fails = 0;
	int			bad = 0;
	int			done = 0;

	if (fn(&a, &ref, &refn, err, sizeof(err)) != AN_OK)
	{
		CHECK(0, "%s: reference run failed (%s)", what, err);
		return 0;
	}
	for (allow = 0; allow < 1000 && !done; allow++)
	{
		char	   *out = (char *) 1;
		size_t		n;
		int			rc;

		ctx.allow = allow;
		ctx.live = 0;
		rc = fn(&a, &out, &n, err, sizeof(err));
		if (rc == AN_OK)
		{
			done = 1;
			if (n != refn || memcmp(out, ref, n) != 0)
				bad++;
			a.release(a.ctx, out);
			if (ctx.live != 0)
				bad++;
		}
		else
		{
			fails++;
			if (rc != AN_ENOMEM || ctx.live != 0 || out != NULL)
				bad++;
		}
	}
	a.release(a.ctx, ref);
	CHECK(done && bad == 0 && fails >= min_fails,
		  "%s: %d failing allocation points give AN_ENOMEM without leaks", what, fails);
	return ctx.interrupts;
}
#endif

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_checks);
	return unit_failures ? 1 : 0;
}

#endif							/* ANALYTICS_UNIT_H */
