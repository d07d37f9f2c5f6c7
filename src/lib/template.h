/*
 * template.h
 *		{{variable}} substitution for the transactional email feature's
 *		subjects and bodies.  Pure C; see template.c.
 *
 * Syntax (byte offsets in messages are 0-based):
 *	{{ name }}	the value of name; blanks (SP, TAB) inside the braces are
 *				optional.  A name is one or more segments [A-Za-z_][A-Za-z0-9_]*
 *				joined by single dots ("order.total"); the lookup resolves
 *				the dots.  At most TPL_MAX_NAME bytes.
 *	\{{			a literal "{{" (the backslash is dropped).  This is the only
 *				escape: every other backslash, '{' and "}}" is plain text, so
 *				a backslash right before a variable cannot be written (put
 *				it in a value instead).
 * Errors (AN_EINVAL): "{{{" (ambiguous, unsupported), a "{{" without a
 * later "}}", an empty or invalid name or anything but blanks between the
 * name and "}}", a template that is not valid UTF-8.  All syntax errors
 * are found before any lookup, so a template either renders or fails the
 * same way whatever the values are.
 *
 * Substitution: TPL_RAW copies values unchanged; TPL_HTML writes & < > " '
 * in values as &amp; &lt; &gt; &quot; &#39;.  The template's own text is
 * never escaped.  Values must be valid UTF-8; the output may not exceed
 * TPL_MAX_OUTPUT bytes (AN_ELIMIT).
 */
#ifndef ANALYTICS_TEMPLATE_H
#define ANALYTICS_TEMPLATE_H

#include <stddef.h>

#include "alloc.h"

#define TPL_MAX_OUTPUT	(16 * 1024 * 1024)
#define TPL_MAX_NAME	255

/*
 * What a lookup returns when the variable does not exist.  Not 1, which
 * is AN_ENOMEM: a lookup may also return AN_ENOMEM, AN_EINVAL or
 * AN_ELIMIT, which tpl_render passes on.
 */
#define TPL_MISSING		(-1)

typedef enum tpl_escape
{
	TPL_RAW,					/* values unchanged */
	TPL_HTML					/* values HTML-escaped */
} tpl_escape;

/*
 * Find variable name[0..namelen) (not NUL-terminated; it points into the
 * template): AN_OK with *value / *len set (UTF-8, not NUL-terminated; may
 * be NULL when *len is 0), or TPL_MISSING.
 */
typedef int (*tpl_lookup) (void *ctx, const char *name, size_t namelen,
						   const char **value, size_t *len);

/* a variable name inside the template: tmpl[offset .. offset + len) */
typedef struct tpl_var
{
	size_t		offset;
	size_t		len;
} tpl_var;

/*
 * Render tmpl[0..tlen).  *out (NUL-terminated, *outlen bytes) is allocated
 * with a; the caller frees it.  Errors: AN_EINVAL (syntax, invalid UTF-8,
 * "template variable \"x\" is missing" for the first missing variable in
 * template order), AN_ELIMIT, AN_ENOMEM, or a lookup's own code; then
 * *out is NULL and nothing stays allocated.
 */
extern int	tpl_render(const char *tmpl, size_t tlen, tpl_escape esc,
					   tpl_lookup lookup, void *ctx, char **out, size_t *outlen,
					   const an_allocator *a, char *err, size_t errlen);

/*
 * The distinct variable names of tmpl, in order of first use (checked
 * like tpl_render, without lookups): *vars gets an array of *nvars
 * entries allocated with a (NULL when there are none), which the caller
 * frees.
 */
extern int	tpl_variables(const char *tmpl, size_t tlen, tpl_var **vars,
						  size_t *nvars, const an_allocator *a,
						  char *err, size_t errlen);

#endif							/* ANALYTICS_TEMPLATE_H */
