/*
 * buf.h
 *		A growable byte buffer for the pure-C cores that build text (MIME
 *		messages, rendered templates), allocating through an an_allocator.
 *
 * Errors are sticky: the first failure (AN_ENOMEM, or AN_ELIMIT when the
 * content would exceed the buffer's limit) is kept in rc with its message
 * in err, and every later append does nothing, so a builder can append
 * freely and check rc once.  data is NUL-terminated whenever it is not
 * NULL; the caller owns it (an_free) whatever rc says.
 */
#ifndef ANALYTICS_BUF_H
#define ANALYTICS_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

typedef struct an_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;			/* most bytes it may hold */
	int			rc;				/* first error (sticky) */
	const char *what;			/* names the content in messages */
	const an_allocator *a;
	char	   *err;
	size_t		errlen;
} an_buf;

/* an empty buffer of at most limit bytes, named what ("message") in errors */
extern void an_buf_init(an_buf *b, size_t limit, const char *what,
						const an_allocator *a, char *err, size_t errlen);

/* room for extra more bytes plus a NUL; false (and b->rc set) on failure */
extern bool an_buf_reserve(an_buf *b, size_t extra);

/* append n bytes of s */
extern void an_buf_put(an_buf *b, const char *s, size_t n);

#endif							/* ANALYTICS_BUF_H */
