/*
 * alloc.h
 *		Memory and interrupt hooks for the pure-C cores.
 *
 * The cores never call malloc directly: they allocate through an
 * an_allocator, so that inside PostgreSQL every allocation lands in a memory
 * context (freed on error) and long loops can honour statement_timeout and
 * cancel requests through check_interrupts, which may not return (it
 * ereports).  Unit tests use an_std_allocator (malloc/free, no interrupts).
 *
 * alloc returns NULL only when out of memory (the PostgreSQL hooks never
 * do; they raise an error instead).  Cores report NULL as AN_ENOMEM.
 */
#ifndef ANALYTICS_ALLOC_H
#define ANALYTICS_ALLOC_H

#include <stddef.h>

typedef struct an_allocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*release) (void *ctx, void *ptr);
	void		(*check_interrupts) (void *ctx);
	void	   *ctx;
} an_allocator;

/* status codes returned by the cores; messages go to a caller buffer */
#define AN_OK		0
#define AN_ENOMEM	1			/* allocation failed */
#define AN_EINVAL	2			/* invalid input (message says which) */
#define AN_ELIMIT	3			/* input exceeds a documented limit */

extern const an_allocator an_std_allocator;

/*
 * Format a message into err (when err is not NULL and errlen > 0; lower
 * case, no trailing period) and return code: the cores' way to fail.
 */
extern int	an_set_error(char *err, size_t errlen, int code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static inline void *
an_alloc(const an_allocator *a, size_t size)
{
	return a->alloc(a->ctx, size ? size : 1);
}

static inline void
an_free(const an_allocator *a, void *ptr)
{
	if (ptr)
		a->release(a->ctx, ptr);
}

static inline void
an_check_interrupts(const an_allocator *a)
{
	if (a->check_interrupts)
		a->check_interrupts(a->ctx);
}

#endif							/* ANALYTICS_ALLOC_H */
