/*
 * test_template.c
 *		Unit tests of {{variable}} rendering (src/lib/template.c).
 *
 * Every expected output and error message is written out by hand from the
 * rules in template.h; byte offsets are counted in the comments.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "unit.h"

/* a fixed table of variables for the lookup */
typedef struct vars
{
	const char *const *names;
	const char *const *values;
	const size_t *lens;			/* NULL: values are NUL-terminated */
	int			n;
	int			calls;
} vars;

static const char *const names1[] = {
	"name", "a", "b", "order.total", "html", "amp", "lt", "gt", "quot",
	"apos", "empty", "bad", "utf", "nul", "oom"
};
static const char *const values1[] = {
	"Jane", "1", "2", "10.00", "<a href=\"x\">Tom & 'Jerry'</a>", "&", "<",
	">", "\"", "'", "", "a\xff", "Grüße ✓", "x\0y", NULL
};
static const size_t lens1[] = {4, 1, 1, 5, 29, 1, 1, 1, 1, 1, 0, 2, 11, 3, 0};

/* lookup over a vars table; "oom" answers AN_ENOMEM */
static int
lookup(void *ctx, const char *name, size_t namelen, const char **value,
	   size_t *len)
{
	vars	   *v = ctx;
	int			i;

	v->calls++;
	for (i = 0; i < v->n; i++)
		if (strlen(v->names[i]) == namelen &&
			memcmp(v->names[i], name, namelen) == 0)
		{
			if (strcmp(v->names[i], "oom") == 0)
				return AN_ENOMEM;
			*value = v->values[i];
			*len = v->lens ? v->lens[i] : strlen(v->values[i]);
			return AN_OK;
		}
	return TPL_MISSING;
}

/* the standard table */
static vars
table1(void)
{
	vars		v;

	v.names = names1;
	v.values = values1;
	v.lens = lens1;
	v.n = (int) (sizeof(names1) / sizeof(names1[0]));
	v.calls = 0;
	return v;
}

/* does tmpl render to expect (expect_len bytes) in mode esc? */
static bool
renders_n(const char *tmpl, tpl_escape esc, const char *expect, size_t expect_len)
{
	vars		v = table1();
	char	   *out = NULL;
	size_t		n = 0;
	char		err[256];
	int			rc;
	bool		ok;

	rc = tpl_render(tmpl, strlen(tmpl), esc, lookup, &v, &out, &n,
					&an_std_allocator, err, sizeof(err));
	if (rc != AN_OK)
	{
		NOTE("tpl_render: %s", err);
		return false;
	}
	ok = n == expect_len && memcmp(out, expect, n) == 0 && out[n] == '\0';
	if (!ok)
		NOTE("got \"%s\"", out);
	free(out);
	return ok;
}

/* renders_n of a NUL-terminated expectation */
static bool
renders(const char *tmpl, tpl_escape esc, const char *expect)
{
	return renders_n(tmpl, esc, expect, strlen(expect));
}

/* does tmpl fail with code rc and exactly message msg? */
static bool
fails(const char *tmpl, int rc_expect, const char *msg)
{
	vars		v = table1();
	char	   *out = (char *) 1;
	size_t		n = 0;
	char		err[256] = "";
	int			rc;
	bool		ok;

	rc = tpl_render(tmpl, strlen(tmpl), TPL_HTML, lookup, &v, &out, &n,
					&an_std_allocator, err, sizeof(err));
	if (rc == AN_OK)
		free(out);
	ok = rc == rc_expect && out == NULL && strcmp(err, msg) == 0;
	if (!ok)
		NOTE("rc %d: %s", rc, err);
	return ok;
}

/* do tmpl's variables list exactly the names in expect (space separated)? */
static bool
lists(const char *tmpl, const char *expect)
{
	tpl_var    *vs = NULL;
	size_t		nv = 0;
	char		got[1024] = "";
	char		err[256];
	size_t		i;
	bool		ok;

	if (tpl_variables(tmpl, strlen(tmpl), &vs, &nv, &an_std_allocator,
					  err, sizeof(err)) != AN_OK)
	{
		NOTE("tpl_variables: %s", err);
		return false;
	}
	for (i = 0; i < nv; i++)
	{
		if (i > 0)
			strcat(got, " ");
		strncat(got, tmpl + vs[i].offset, vs[i].len);
	}
	ok = strcmp(got, expect) == 0 && (nv > 0 || vs == NULL);
	if (!ok)
		NOTE("got \"%s\"", got);
	free(vs);
	return ok;
}

/* plain substitution, spaces, repeats, start and end */
static void
test_substitution(void)
{
	CHECK(renders("Hello {{name}}!", TPL_RAW, "Hello Jane!"), "plain substitution");
	CHECK(renders("Hello {{ name }}!", TPL_RAW, "Hello Jane!"), "spaces inside the braces");
	CHECK(renders("{{name }}|{{  name}}|{{\tname\t}}", TPL_RAW, "Jane|Jane|Jane"),
		  "uneven spaces and TABs inside the braces");
	CHECK(renders("{{a}}-{{a}}-{{b}}-{{ a }}", TPL_RAW, "1-1-2-1"), "repeated variables");
	CHECK(renders("{{a}}", TPL_RAW, "1"), "variable alone");
	CHECK(renders("{{a}} and {{b}}", TPL_RAW, "1 and 2"), "variable at the very start");
	CHECK(renders("x{{b}}", TPL_RAW, "x2"), "variable at the very end");
	CHECK(renders("{{a}}{{b}}", TPL_RAW, "12"), "adjacent variables");
	CHECK(renders("Total: {{order.total}}", TPL_RAW, "Total: 10.00"), "dotted name passed to the lookup");
	CHECK(renders("[{{empty}}]", TPL_RAW, "[]"), "empty value");
	CHECK(renders("", TPL_RAW, ""), "empty template");
	CHECK(renders("no variables at all", TPL_HTML, "no variables at all"), "template without variables");
	CHECK(renders("Grüße, {{name}} ✓", TPL_RAW, "Grüße, Jane ✓"), "UTF-8 template text");
	CHECK(renders("{{utf}}", TPL_HTML, "Grüße ✓"), "UTF-8 value");
	CHECK(renders_n("<{{nul}}>", TPL_RAW, "<x\0y>", 5), "value with a NUL byte copied by length");
	CHECK(renders("{ a } }} {x}", TPL_RAW, "{ a } }} {x}"), "single braces and }} are text");
	{
		vars		v = table1();
		char	   *out = NULL;
		size_t		n = 99;
		char		err[256];

		CHECK(tpl_render(NULL, 0, TPL_RAW, lookup, &v, &out, &n, &an_std_allocator,
						 err, sizeof(err)) == AN_OK && out != NULL && n == 0 && out[0] == '\0',
			  "NULL template of length 0 renders empty");
		free(out);
		out = NULL;
		CHECK(tpl_render("{{a}}{{b}}xx", 5, TPL_RAW, lookup, &v, &out, &n, &an_std_allocator,
						 err, sizeof(err)) == AN_OK && n == 1 && strcmp(out, "1") == 0,
			  "template length respected");
		free(out);
	}
}

/* HTML escaping of values only */
static void
test_escaping(void)
{
	CHECK(renders("{{amp}}", TPL_HTML, "&amp;"), "& escaped");
	CHECK(renders("{{lt}}", TPL_HTML, "&lt;"), "< escaped");
	CHECK(renders("{{gt}}", TPL_HTML, "&gt;"), "> escaped");
	CHECK(renders("{{quot}}", TPL_HTML, "&quot;"), "\" escaped");
	CHECK(renders("{{apos}}", TPL_HTML, "&#39;"), "' escaped");
	CHECK(renders("<p>{{html}}</p>", TPL_HTML,
				  "<p>&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;</p>"),
		  "mixed value escaped, template markup kept");
	CHECK(renders("<p>{{html}}</p>", TPL_RAW, "<p><a href=\"x\">Tom & 'Jerry'</a></p>"),
		  "raw mode leaves values unchanged");
	CHECK(renders("<a title=\"x & 'y'\">{{name}} &amp; co</a>", TPL_HTML,
				  "<a title=\"x & 'y'\">Jane &amp; co</a>"),
		  "template's own & < > \" ' never escaped");
	CHECK(renders("{{amp}}{{lt}}{{gt}}{{quot}}{{apos}}", TPL_RAW, "&<>\"'"),
		  "no escaping of any special in raw mode");
}

/* missing variables and syntax errors with their offsets */
static void
test_errors(void)
{
	CHECK(fails("Hi {{name}}, {{missing1}} {{missing2}}", AN_EINVAL,
				"template variable \"missing1\" is missing"),
		  "first missing variable named");
	CHECK(fails("{{ x.y_z }}", AN_EINVAL, "template variable \"x.y_z\" is missing"),
		  "missing dotted variable named");
	/* syntax errors come first, whatever the lookups would say */
	CHECK(fails("{{missing1}} {{", AN_EINVAL, "unterminated \"{{\" at byte 13"),
		  "syntax error reported before a missing variable");
	/* offsets: 0-based bytes */
	CHECK(fails("ab{{{x}}}", AN_EINVAL,
				"unexpected \"{{{\" at byte 2 (write \\{{ for a literal \"{{\")"),
		  "{{{ rejected at its offset");
	CHECK(fails("ab {{ name", AN_EINVAL, "unterminated \"{{\" at byte 3"), "unterminated tag");
	CHECK(fails("x{{", AN_EINVAL, "unterminated \"{{\" at byte 1"), "{{ at the very end");
	CHECK(fails("{{a}", AN_EINVAL, "unterminated \"{{\" at byte 0"), "single closing brace");
	CHECK(fails("{{ a }} {{ b", AN_EINVAL, "unterminated \"{{\" at byte 8"), "second tag unterminated");
	CHECK(fails("{{}}", AN_EINVAL, "empty template variable name at byte 2"), "empty name");
	CHECK(fails("12{{  }}", AN_EINVAL, "empty template variable name at byte 6"), "blank name");
	CHECK(fails("{{1abc}}", AN_EINVAL, "invalid template variable name at byte 2"), "name starting with a digit");
	CHECK(fails("{{.a}}", AN_EINVAL, "invalid template variable name at byte 2"), "name starting with a dot");
	CHECK(fails("{{a..b}}", AN_EINVAL, "invalid template variable name at byte 4"), "empty segment");
	CHECK(fails("{{a.}}", AN_EINVAL, "invalid template variable name at byte 4"), "trailing dot");
	CHECK(fails("{{ä}}", AN_EINVAL, "invalid template variable name at byte 2"), "non-ASCII name");
	CHECK(fails("{{a-b}}", AN_EINVAL, "invalid character in template variable at byte 3"), "hyphen in a name");
	CHECK(fails("{{ a b }}", AN_EINVAL, "invalid character in template variable at byte 5"), "two names");
	CHECK(fails("ok\xff", AN_EINVAL, "template is not valid UTF-8 at byte 2"), "invalid UTF-8 template");
	CHECK(fails("\xe0\x80\x80", AN_EINVAL, "template is not valid UTF-8 at byte 0"), "overlong in the template");
	CHECK(fails("{{bad}}", AN_EINVAL,
				"value of template variable \"bad\" is not valid UTF-8 at byte 1"),
		  "invalid UTF-8 value");
	CHECK(fails("{{oom}}", AN_ENOMEM, "lookup of template variable \"oom\" failed"),
		  "lookup error passed on");
	{
		char		t[300];
		char		msg[128];

		memset(t, 'n', sizeof(t));
		memcpy(t, "{{", 2);
		memcpy(t + 2 + TPL_MAX_NAME + 1, "}}", 3);
		snprintf(msg, sizeof(msg),
				 "template variable name at byte 2 is longer than %d characters", TPL_MAX_NAME);
		CHECK(fails(t, AN_EINVAL, msg), "name longer than TPL_MAX_NAME");
		/* 255 bytes of name at 2 .. 256, "}}" at 257 */
		memcpy(t + 2 + TPL_MAX_NAME, "}}", 3);
		{
			tpl_var    *vs = NULL;
			size_t		nv = 0;
			char		err[256];

			CHECK(tpl_variables(t, strlen(t), &vs, &nv, &an_std_allocator, err, sizeof(err)) == AN_OK &&
				  nv == 1 && vs[0].offset == 2 && vs[0].len == TPL_MAX_NAME,
				  "name of exactly TPL_MAX_NAME accepted");
			free(vs);
		}
	}
}

/* the \{{ escape */
static void
test_literal_braces(void)
{
	CHECK(renders("\\{{name}}", TPL_RAW, "{{name}}"), "\\{{ gives a literal {{");
	CHECK(renders("a\\{{b", TPL_HTML, "a{{b"), "escape inside text, not HTML-escaped");
	CHECK(renders("\\{{ {{name}}", TPL_RAW, "{{ Jane"), "escape then a variable");
	CHECK(renders("\\{{{name}}", TPL_RAW, "{{{name}}"), "\\{{{ is a literal {{ then text");
	CHECK(renders("\\\\{{x}}", TPL_RAW, "\\{{x}}"), "a backslash before the escape stays");
	CHECK(renders("a\\b \\{x \\", TPL_RAW, "a\\b \\{x \\"), "other backslashes are text");
	CHECK(renders("{{name}}\\{{", TPL_RAW, "Jane{{"), "escape at the very end");
}

/* tpl_variables: order, dedup, errors, many names */
static void
test_variables(void)
{
	CHECK(lists("{{b}} {{a}} {{ b }} {{order.total}} \\{{e}} {{a}}", "b a order.total"),
		  "variables in first-use order, deduplicated, escapes skipped");
	CHECK(lists("", ""), "empty template has no variables");
	CHECK(lists("plain text", ""), "text has no variables");
	CHECK(lists("{{x}}", "x"), "one variable");
	{
		tpl_var    *vs = (tpl_var *) 1;
		size_t		nv = 9;
		char		err[256] = "";

		CHECK(tpl_variables("a {{ b", 6, &vs, &nv, &an_std_allocator, err, sizeof(err)) == AN_EINVAL &&
			  vs == NULL && nv == 0 && strcmp(err, "unterminated \"{{\" at byte 2") == 0,
			  "syntax error in tpl_variables");
	}
	/* many distinct names, each used three times: hash path */
	{
		size_t		cap = 3 * 5000 * 16;
		char	   *t = malloc(cap);
		size_t		len = 0;
		tpl_var    *vs = NULL;
		size_t		nv = 0;
		char		err[256];
		int			pass;
		int			i;
		int			bad = 0;

		for (pass = 0; pass < 3; pass++)
			for (i = 0; i < 5000; i++)
				len += (size_t) sprintf(t + len, "{{v%d}} ", pass == 1 ? 4999 - i : i);
		if (tpl_variables(t, len, &vs, &nv, &an_std_allocator, err, sizeof(err)) != AN_OK)
			bad++;
		for (i = 0; i < (int) nv && bad == 0; i++)
		{
			char		want[16];

			snprintf(want, sizeof(want), "v%d", i);
			if (vs[i].len != strlen(want) || memcmp(t + vs[i].offset, want, vs[i].len) != 0)
				bad++;
		}
		CHECK(bad == 0 && nv == 5000, "5000 distinct names, 15000 uses: first-use order");
		free(vs);
		free(t);
	}
}

/* render a long template with the given allocator */
static int
alloc_render(const an_allocator *a, char **out, size_t *n, char *err, size_t errlen)
{
	vars		v = table1();
	char		t[4096];
	int			i;

	t[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(t, "<li>{{ html }} and {{name}}</li>\n");
	return tpl_render(t, strlen(t), TPL_HTML, lookup, &v, out, n, a, err, errlen);
}

/* list the variables of a template with the given allocator */
static int
alloc_list(const an_allocator *a, char **out, size_t *n, char *err, size_t errlen)
{
	static const char t[] = "{{a}} {{b}} {{a}} {{c.d}}";
	tpl_var    *vs = NULL;
	size_t		nv = 0;
	int			rc;

	rc = tpl_variables(t, strlen(t), &vs, &nv, a, err, errlen);
	*out = (char *) vs;
	*n = nv * sizeof(tpl_var);
	return rc;
}


/* allocation failure at every point */
static void
test_allocation(void)
{
	{
		long		ir = unit_alloc_sweep("tpl_render", alloc_render, 4);
		long		iv = unit_alloc_sweep("tpl_variables", alloc_list, 2);

		CHECK(ir > 0 && iv > 0, "tpl_render and tpl_variables check interrupts (%ld, %ld)", ir, iv);
	}
}

/* a 1 MiB value for the limit test */
static char *big_value;

/* lookup answering big_value (1 MiB) for every name */
static int
lookup_big(void *ctx, const char *name, size_t namelen, const char **value,
		   size_t *len)
{
	(void) ctx;
	(void) name;
	(void) namelen;
	*value = big_value;
	*len = 1024 * 1024;
	return AN_OK;
}

/* TPL_MAX_OUTPUT: exactly at the limit and one byte past it */
static void
test_limit(void)
{
	unit_ctx	ctx = {-1, 0, 0};
	an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
	char		t[256] = "";
	char	   *out = (char *) 1;
	size_t		n = 0;
	char		err[256] = "";
	int			rc;
	int			i;

	big_value = malloc(1024 * 1024);
	memset(big_value, 'v', 1024 * 1024);
	/* 16 x 1 MiB = TPL_MAX_OUTPUT exactly: fits */
	for (i = 0; i < 16; i++)
		strcat(t, "{{v}}");
	rc = tpl_render(t, strlen(t), TPL_RAW, lookup_big, NULL, &out, &n, &a, err, sizeof(err));
	CHECK(rc == AN_OK && n == TPL_MAX_OUTPUT, "output of exactly TPL_MAX_OUTPUT bytes renders");
	if (rc == AN_OK)
		a.release(a.ctx, out);
	/* one byte more does not */
	strcat(t, "x");
	out = (char *) 1;
	rc = tpl_render(t, strlen(t), TPL_RAW, lookup_big, NULL, &out, &n, &a, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && out == NULL && ctx.live == 0 &&
		  strcmp(err, "rendered template exceeds 16777216 bytes") == 0,
		  "one byte past TPL_MAX_OUTPUT is AN_ELIMIT without leaks (%s)", err);
	free(big_value);
}

/* run every test; TAP on stdout */
int
main(void)
{
	test_substitution();
	test_escaping();
	test_errors();
	test_literal_braces();
	test_variables();
	test_allocation();
	test_limit();
	return unit_done();
}
