/*
 * alloc.c
 *		The malloc-based allocator used by unit tests and tools.
 */
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void *
std_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
std_release(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const an_allocator an_std_allocator = {std_alloc, std_release, NULL, NULL};

int
an_set_error(char *err, size_t errlen, int code, const char *fmt,...)
{
	va_list		ap;

	if (err && errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
