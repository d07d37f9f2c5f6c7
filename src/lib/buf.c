/*
 * buf.c
 *		The growable byte buffer of buf.h.
 */
#include "buf.h"

#include <string.h>

/* an empty buffer (see buf.h) */
void
an_buf_init(an_buf *b, size_t limit, const char *what,
			const an_allocator *a, char *err, size_t errlen)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
	b->rc = AN_OK;
	b->what = what;
	b->a = a;
	b->err = err;
	b->errlen = errlen;
}

/* room for extra more bytes plus a NUL, doubling (see buf.h) */
bool
an_buf_reserve(an_buf *b, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (b->rc != AN_OK)
		return false;
	if (extra > b->limit - b->len)
	{
		b->rc = an_set_error(b->err, b->errlen, AN_ELIMIT,
							 "%s exceeds %zu bytes", b->what, b->limit);
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->limit + 1)
		cap = b->limit + 1;
	p = an_alloc(b->a, cap);
	if (p == NULL)
	{
		b->rc = an_set_error(b->err, b->errlen, AN_ENOMEM,
							 "out of memory for a %s of %zu bytes", b->what, need);
		return false;
	}
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	an_free(b->a, b->data);
	b->data = p;
	b->cap = cap;
	return true;
}

/* append n bytes (see buf.h) */
void
an_buf_put(an_buf *b, const char *s, size_t n)
{
	if (n == 0 || !an_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}
