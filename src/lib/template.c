/*
 * template.c
 *		{{variable}} rendering (see template.h).
 *
 * One tokenizer serves both entry points: it splits the template into
 * literal text and variable references.  tpl_render runs it twice, once to
 * find syntax errors before any lookup and once to write the output;
 * tpl_variables runs it to count references and again to collect the
 * distinct names through an open-addressing hash table (so many distinct
 * names stay linear).  Output goes to a growable buffer whose first error
 * is sticky, like mime.c's.
 */
#include "template.h"

#include "buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef enum tpl_kind
{
	TOK_END,
	TOK_TEXT,					/* literal text */
	TOK_VAR						/* a variable's name */
} tpl_kind;

typedef struct tpl_token
{
	tpl_kind	kind;
	size_t		offset;			/* of the text or the name */
	size_t		len;
} tpl_token;

typedef an_buf tpl_buf;

/* ---------------------------------------------------------------------
 * helpers
 * ---------------------------------------------------------------------
 */

/*
 * Offset of the first invalid UTF-8 sequence in s[0..n), or n when valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid).
 */
static size_t
utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = s[i];
		size_t		l;
		size_t		k;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			l = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			l = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			l = 4;
		else
			return i;
		if (n - i < l)
			return i;
		for (k = 1; k < l; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		if ((c == 0xE0 && s[i + 1] < 0xA0) ||	/* overlong */
			(c == 0xED && s[i + 1] > 0x9F) ||	/* surrogate */
			(c == 0xF0 && s[i + 1] < 0x90) ||	/* overlong */
			(c == 0xF4 && s[i + 1] > 0x8F))		/* above U+10FFFF */
			return i;
		i += l;
	}
	return n;
}

/* SP or TAB */
static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* [A-Za-z_] */
static bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* [A-Za-z0-9_] */
static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* does "}}" occur in t[from..n)? */
static bool
has_close(const char *t, size_t n, size_t from)
{
	size_t		i;

	for (i = from; i + 1 < n; i++)
		if (t[i] == '}' && t[i + 1] == '}')
			return true;
	return false;
}

/* 64-bit FNV-1a of n bytes */
static uint64_t
name_hash(const char *s, size_t n)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		h ^= (unsigned char) s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* ---------------------------------------------------------------------
 * tokenizer
 * ---------------------------------------------------------------------
 */

/*
 * The tag error at offset at for the "{{" at open: "unterminated" when no
 * "}}" follows the "{{" at all, else what.
 */
static int
tag_error(const char *t, size_t n, size_t open, size_t at, const char *what,
		  char *err, size_t errlen)
{
	if (!has_close(t, n, open + 2))
		return an_set_error(err, errlen, AN_EINVAL,
							"unterminated \"{{\" at byte %zu", open);
	return an_set_error(err, errlen, AN_EINVAL, "%s at byte %zu", what, at);
}

/*
 * The token at *pos of t[0..n): text up to the next "{{" or "\{{", the
 * literal "{{" of an escape, or a variable; advances *pos.
 */
static int
next_token(const char *t, size_t n, size_t *pos, tpl_token *tok,
		   char *err, size_t errlen)
{
	size_t		i = *pos;
	size_t		open;
	size_t		name;

	if (i >= n)
	{
		tok->kind = TOK_END;
		return AN_OK;
	}
	if (t[i] == '\\' && n - i >= 3 && t[i + 1] == '{' && t[i + 2] == '{')
	{
		tok->kind = TOK_TEXT;
		tok->offset = i + 1;
		tok->len = 2;
		*pos = i + 3;
		return AN_OK;
	}
	if (t[i] != '{' || n - i < 2 || t[i + 1] != '{')
	{
		/* text up to the next "{{" or "\{{" */
		size_t		j = i + 1;

		while (j < n && !(t[j] == '{' && j + 1 < n && t[j + 1] == '{'))
			j++;
		if (j < n && j > i && t[j - 1] == '\\')
			j--;
		tok->kind = TOK_TEXT;
		tok->offset = i;
		tok->len = j - i;
		*pos = j;
		return AN_OK;
	}

	/* a tag */
	open = i;
	if (n - i >= 3 && t[i + 2] == '{')
		return an_set_error(err, errlen, AN_EINVAL,
							"unexpected \"{{{\" at byte %zu (write \\{{ for a literal \"{{\")",
							open);
	i += 2;
	while (i < n && is_blank(t[i]))
		i++;
	if (i >= n)
		return an_set_error(err, errlen, AN_EINVAL,
							"unterminated \"{{\" at byte %zu", open);
	if (t[i] == '}' && i + 1 < n && t[i + 1] == '}')
		return an_set_error(err, errlen, AN_EINVAL,
							"empty template variable name at byte %zu", i);
	name = i;
	for (;;)
	{
		if (i >= n || !is_name_start(t[i]))
			return tag_error(t, n, open, i,
							 "invalid template variable name", err, errlen);
		while (i < n && is_name_char(t[i]))
			i++;
		if (i < n && t[i] == '.')
		{
			i++;
			continue;
		}
		break;
	}
	if (i - name > TPL_MAX_NAME)
		return an_set_error(err, errlen, AN_EINVAL,
							"template variable name at byte %zu is longer than %d characters",
							name, TPL_MAX_NAME);
	tok->kind = TOK_VAR;
	tok->offset = name;
	tok->len = i - name;
	while (i < n && is_blank(t[i]))
		i++;
	if (i + 1 >= n || t[i] != '}' || t[i + 1] != '}')
		return tag_error(t, n, open, i,
						 "invalid character in template variable", err, errlen);
	*pos = i + 2;
	return AN_OK;
}

/*
 * Check the whole template (UTF-8, then syntax); *nvars (when not NULL)
 * gets the number of variable references.
 */
static int
check_template(const char *t, size_t n, size_t *nvars, char *err, size_t errlen)
{
	size_t		bad = utf8_invalid_at((const unsigned char *) t, n);
	size_t		pos = 0;
	size_t		count = 0;
	tpl_token	tok;
	int			rc;

	if (bad < n)
		return an_set_error(err, errlen, AN_EINVAL,
							"template is not valid UTF-8 at byte %zu", bad);
	for (;;)
	{
		rc = next_token(t, n, &pos, &tok, err, errlen);
		if (rc != AN_OK)
			return rc;
		if (tok.kind == TOK_END)
			break;
		if (tok.kind == TOK_VAR)
			count++;
	}
	if (nvars)
		*nvars = count;
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * output buffer
 * ---------------------------------------------------------------------
 */

/* append s[0..n) with & < > " ' as HTML entities */
static void
buf_put_html(tpl_buf *b, const char *s, size_t n)
{
	size_t		i;
	size_t		run = 0;

	for (i = 0; i < n; i++)
	{
		const char *ent;

		switch (s[i])
		{
			case '&':
				ent = "&amp;";
				break;
			case '<':
				ent = "&lt;";
				break;
			case '>':
				ent = "&gt;";
				break;
			case '"':
				ent = "&quot;";
				break;
			case '\'':
				ent = "&#39;";
				break;
			default:
				continue;
		}
		an_buf_put(b, s + run, i - run);
		an_buf_put(b, ent, strlen(ent));
		run = i + 1;
	}
	an_buf_put(b, s + run, n - run);
}

/* check the template, then substitute every variable (see template.h) */
int
tpl_render(const char *tmpl, size_t tlen, tpl_escape esc, tpl_lookup lookup,
		   void *ctx, char **out, size_t *outlen, const an_allocator *a,
		   char *err, size_t errlen)
{
	tpl_buf		b;
	tpl_token	tok;
	size_t		pos = 0;
	int			rc;

	*out = NULL;
	*outlen = 0;
	if (tmpl == NULL && tlen > 0)
		return an_set_error(err, errlen, AN_EINVAL, "template is missing");
	if (lookup == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "template lookup is missing");
	rc = check_template(tmpl, tlen, NULL, err, errlen);
	if (rc != AN_OK)
		return rc;

	an_buf_init(&b, TPL_MAX_OUTPUT, "rendered template", a, err, errlen);
	for (;;)
	{
		const char *value = NULL;
		size_t		vlen = 0;
		size_t		bad;

		an_check_interrupts(a);
		/* cannot fail: the template was checked */
		next_token(tmpl, tlen, &pos, &tok, NULL, 0);
		if (tok.kind == TOK_END || b.rc != AN_OK)
			break;
		if (tok.kind == TOK_TEXT)
		{
			an_buf_put(&b, tmpl + tok.offset, tok.len);
			continue;
		}
		rc = lookup(ctx, tmpl + tok.offset, tok.len, &value, &vlen);
		if (rc == TPL_MISSING)
			b.rc = an_set_error(err, errlen, AN_EINVAL,
								"template variable \"%.*s\" is missing",
								(int) tok.len, tmpl + tok.offset);
		else if (rc != AN_OK)
			b.rc = an_set_error(err, errlen,
								(rc == AN_ENOMEM || rc == AN_ELIMIT) ? rc : AN_EINVAL,
								"lookup of template variable \"%.*s\" failed",
								(int) tok.len, tmpl + tok.offset);
		else if (value == NULL && vlen > 0)
			b.rc = an_set_error(err, errlen, AN_EINVAL,
								"template variable \"%.*s\" has no value",
								(int) tok.len, tmpl + tok.offset);
		else if ((bad = utf8_invalid_at((const unsigned char *) value, vlen)) < vlen)
			b.rc = an_set_error(err, errlen, AN_EINVAL,
								"value of template variable \"%.*s\" is not valid UTF-8 at byte %zu",
								(int) tok.len, tmpl + tok.offset, bad);
		else if (esc == TPL_HTML)
			buf_put_html(&b, value, vlen);
		else
			an_buf_put(&b, value, vlen);
	}
	an_buf_reserve(&b, 0);
	if (b.rc != AN_OK)
	{
		an_free(a, b.data);
		return b.rc;
	}
	b.data[b.len] = '\0';
	*out = b.data;
	*outlen = b.len;
	return AN_OK;
}

/* the distinct variable names in first-use order (see template.h) */
int
tpl_variables(const char *tmpl, size_t tlen, tpl_var **vars, size_t *nvars,
			  const an_allocator *a, char *err, size_t errlen)
{
	tpl_var    *v;
	int64_t    *table;
	size_t		nrefs;
	size_t		size = 1;
	size_t		count = 0;
	size_t		pos = 0;
	size_t		i;
	tpl_token	tok;
	int			rc;

	*vars = NULL;
	*nvars = 0;
	if (tmpl == NULL && tlen > 0)
		return an_set_error(err, errlen, AN_EINVAL, "template is missing");
	rc = check_template(tmpl, tlen, &nrefs, err, errlen);
	if (rc != AN_OK || nrefs == 0)
		return rc;
	while (size < 2 * nrefs)
		size *= 2;
	v = an_alloc(a, nrefs * sizeof(tpl_var));
	if (v == NULL)
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory listing template variables");
	table = an_alloc(a, size * sizeof(int64_t));
	if (table == NULL)
	{
		an_free(a, v);
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory listing template variables");
	}
	for (i = 0; i < size; i++)
		table[i] = -1;
	for (;;)
	{
		size_t		h;

		next_token(tmpl, tlen, &pos, &tok, NULL, 0);
		if (tok.kind == TOK_END)
			break;
		if (tok.kind != TOK_VAR)
			continue;
		an_check_interrupts(a);
		h = (size_t) name_hash(tmpl + tok.offset, tok.len) & (size - 1);
		while (table[h] >= 0)
		{
			const tpl_var *x = &v[table[h]];

			if (x->len == tok.len &&
				memcmp(tmpl + x->offset, tmpl + tok.offset, tok.len) == 0)
				break;
			h = (h + 1) & (size - 1);
		}
		if (table[h] >= 0)
			continue;
		table[h] = (int64_t) count;
		v[count].offset = tok.offset;
		v[count].len = tok.len;
		count++;
	}
	an_free(a, table);
	*vars = v;
	*nvars = count;
	return AN_OK;
}
