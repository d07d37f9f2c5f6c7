/*
 * test_mime.c
 *		Unit tests of the message composer (src/lib/mime.c).
 *
 * Expected messages, header fields and quoted-printable are written out by
 * hand from the rules in mime.h (line lengths counted in the comments);
 * dates were checked with `date -u -d @N` and base64 texts with Python's
 * base64 module.  Encoded-words and quoted-printable are also decoded by
 * the small decoders below (written from RFC 2045 / 2047, not from
 * mime.c) and compared with random inputs.  The boundary and the
 * Message-ID hash are FNV-1a-64, recomputed here and pinned to the
 * published FNV test vectors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "unit.h"

#define BIG 8192

/* ---------------------------------------------------------------------
 * independent helpers
 * ---------------------------------------------------------------------
 */

/* FNV-1a 64 of a NUL-terminated string */
static uint64_t
t_fnv(const char *s)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* value of a base64 digit, -1 if none */
static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* decode n base64 characters (a multiple of 4, '=' padding); -1 if malformed */
static int
b64_decode(const char *s, size_t n, unsigned char *out)
{
	size_t		i;
	int			len = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4)
	{
		int			a = b64val(s[i]);
		int			b = b64val(s[i + 1]);
		int			c = s[i + 2] == '=' ? 0 : b64val(s[i + 2]);
		int			d = s[i + 3] == '=' ? 0 : b64val(s[i + 3]);

		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		if ((s[i + 2] == '=' || s[i + 3] == '=') && i + 4 != n)
			return -1;
		out[len++] = (unsigned char) (a << 2 | b >> 4);
		if (s[i + 2] != '=')
			out[len++] = (unsigned char) ((b & 15) << 4 | c >> 2);
		if (s[i + 3] != '=')
			out[len++] = (unsigned char) ((c & 3) << 6 | d);
	}
	return len;
}

/* strict UTF-8 check (no overlongs, surrogates, > U+10FFFF) by code point */
static bool
t_utf8(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		uint32_t	cp;
		int			k;
		int			j;

		if (s[i] < 0x80)
		{
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0)
		{
			k = 1;
			cp = s[i] & 0x1F;
		}
		else if ((s[i] & 0xF0) == 0xE0)
		{
			k = 2;
			cp = s[i] & 0x0F;
		}
		else if ((s[i] & 0xF8) == 0xF0)
		{
			k = 3;
			cp = s[i] & 0x07;
		}
		else
			return false;
		if (i + k >= n)
			return false;
		for (j = 1; j <= k; j++)
		{
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
			(k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

/*
 * Decode a header field made of encoded-words only: "Name:" then tokens
 * separated by SP or CRLF SP, each =?UTF-8?B?...?=.  Concatenates the
 * decoded words into out; reports the longest word and line and whether
 * every word decodes to valid UTF-8 on its own.  false if malformed.
 */
static bool
decode_ew_field(const char *f, size_t n, const char *name, char *out,
				size_t *outn, size_t *maxword, size_t *maxline, bool *whole)
{
	size_t		i = strlen(name) + 1;
	size_t		linestart = 0;
	size_t		len = 0;

	*maxword = *maxline = 0;
	*whole = true;
	if (n < i || memcmp(f, name, i - 1) != 0 || f[i - 1] != ':')
		return false;
	for (;;)
	{
		size_t		ws;
		size_t		end;
		int			dl;
		unsigned char dec[128];

		if (i + 2 <= n && f[i] == '\r' && f[i + 1] == '\n')
		{
			if (i - linestart > *maxline)
				*maxline = i - linestart;
			i += 2;
			linestart = i;
			if (i == n)
				break;
		}
		if (i >= n || f[i] != ' ')
			return false;
		i++;
		ws = i;
		if (n - i < 12 || memcmp(f + i, "=?UTF-8?B?", 10) != 0)
			return false;
		end = i + 10;
		while (end < n && f[end] != '?')
			end++;
		if (end + 1 >= n || f[end + 1] != '=')
			return false;
		dl = b64_decode(f + i + 10, end - i - 10, dec);
		if (dl < 0)
			return false;
		if (!t_utf8(dec, (size_t) dl))
			*whole = false;
		memcpy(out + len, dec, (size_t) dl);
		len += (size_t) dl;
		i = end + 2;
		if (i - ws > *maxword)
			*maxword = i - ws;
	}
	*outn = len;
	return true;
}

/*
 * Decode quoted-printable: "=" CRLF is removed, =XX (uppercase hex)
 * becomes the byte, CRLF and other bytes stay.  false if malformed.
 */
static bool
qp_decode(const char *s, size_t n, unsigned char *out, size_t *outn)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t		i = 0;
	size_t		len = 0;

	while (i < n)
	{
		if (s[i] == '=')
		{
			const char *h1;
			const char *h2;

			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
			{
				i += 3;
				continue;
			}
			if (i + 2 >= n || s[i + 1] == '\0' || s[i + 2] == '\0')
				return false;
			h1 = strchr(hx, s[i + 1]);
			h2 = strchr(hx, s[i + 2]);
			if (h1 == NULL || h2 == NULL)
				return false;
			out[len++] = (unsigned char) ((h1 - hx) << 4 | (h2 - hx));
			i += 3;
		}
		else
			out[len++] = (unsigned char) s[i++];
	}
	*outn = len;
	return true;
}

/*
 * Shape of quoted-printable output: lines (CRLF separated) within 76
 * characters, no SP/TAB before a line end, no '.' starting a line, only
 * printable ASCII, SP and TAB.  Returns a description of the first
 * problem, or NULL.
 */
static const char *
qp_shape(const char *s, size_t n)
{
	size_t		i;
	size_t		col = 0;

	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\r')
		{
			if (i + 1 >= n || s[i + 1] != '\n')
				return "bare CR";
			if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				return "whitespace before a line end";
			i++;
			col = 0;
			continue;
		}
		if (c == '\n')
			return "bare LF";
		if ((c < 32 && c != '\t') || c > 126)
			return "unencoded byte";
		if (col == 0 && c == '.')
			return "line starts with '.'";
		if (++col > 76)
			return "line longer than 76";
	}
	if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		return "whitespace at the end";
	return NULL;
}

/* the input with every LF not preceded by CR turned into CRLF */
static size_t
crlf_normalize(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t		i;
	size_t		len = 0;

	for (i = 0; i < n; i++)
	{
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[len++] = '\r';
		out[len++] = in[i];
	}
	return len;
}

/* 64-bit LCG (Knuth's MMIX constants); the high bits are used */
static uint32_t
lcg(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t) (*s >> 33);
}

/* quoted-printable of a string through mime_qp_encode; NULL on error */
static char *
qp(const char *in, size_t n, size_t *outn)
{
	char	   *out = NULL;
	char		err[256];

	if (mime_qp_encode(in, n, &out, outn, &an_std_allocator, err,
					   sizeof(err)) != AN_OK)
	{
		NOTE("mime_qp_encode: %s", err);
		return NULL;
	}
	return out;
}

/* does mime_qp_encode(in) give exactly expect? */
static bool
qp_is(const char *in, const char *expect)
{
	size_t		n;
	char	   *out = qp(in, strlen(in), &n);
	bool		ok;

	if (out == NULL)
		return false;
	ok = n == strlen(expect) && memcmp(out, expect, n) == 0;
	if (!ok)
		NOTE("got \"%s\"", out);
	free(out);
	return ok;
}

/* does mime_encode_header(name, value) give exactly expect? */
static bool
header_is(const char *name, const char *value, const char *expect)
{
	char	   *out = NULL;
	size_t		n;
	char		err[256];
	bool		ok;

	if (mime_encode_header(name, value, &out, &n, &an_std_allocator, err,
						   sizeof(err)) != AN_OK)
	{
		NOTE("mime_encode_header: %s", err);
		return false;
	}
	ok = n == strlen(expect) && memcmp(out, expect, n) == 0;
	if (!ok)
		NOTE("got \"%s\"", out);
	free(out);
	return ok;
}

/* compose with the malloc allocator; NULL on error (err filled) */
static char *
compose(const mime_message *m, size_t *n, char *err, size_t errlen)
{
	char	   *out = NULL;

	if (mime_compose(m, &out, n, &an_std_allocator, err, errlen) != AN_OK)
		return NULL;
	return out;
}

/* a minimal valid message */
static mime_message
base_message(void)
{
	mime_message m;

	memset(&m, 0, sizeof(m));
	m.from = "Acme Support <support@acme.example>";
	m.to = "jane@example.org";
	m.subject = "Your receipt";
	m.body_text = "Hello Jane,\nThanks for your order.\n";
	m.message_id = "42.0123456789abcdef@acme.example";
	m.date_unix = 1795687200;
	return m;
}

/* compose m and compare the whole message with expect */
static bool
message_is(const mime_message *m, const char *expect)
{
	char		err[256];
	size_t		n;
	char	   *out = compose(m, &n, err, sizeof(err));
	bool		ok;

	if (out == NULL)
	{
		NOTE("mime_compose: %s", err);
		return false;
	}
	ok = n == strlen(expect) && memcmp(out, expect, n) == 0;
	if (!ok)
		NOTE("got:\n%s", out);
	free(out);
	return ok;
}

/* the From field (up to and including its CRLF) of a message from addr */
static bool
from_field_is(const char *from, const char *expect)
{
	mime_message m = base_message();
	char		err[256];
	size_t		n;
	char	   *out;
	char	   *start;
	char	   *end;
	bool		ok;

	m.from = from;
	out = compose(&m, &n, err, sizeof(err));
	if (out == NULL)
	{
		NOTE("mime_compose: %s", err);
		return false;
	}
	start = strstr(out, "\r\nFrom:") + 2;
	end = strstr(start, "\r\nTo:") + 2;
	ok = (size_t) (end - start) == strlen(expect) &&
		memcmp(start, expect, end - start) == 0;
	if (!ok)
		NOTE("got \"%.*s\"", (int) (end - start), start);
	free(out);
	return ok;
}

/* does compose fail with AN_EINVAL and a message containing word? */
static bool
compose_fails(const mime_message *m, const char *word)
{
	char		err[256] = "";
	char	   *out = (char *) 1;
	size_t		n;
	int			rc;
	bool		ok;

	rc = mime_compose(m, &out, &n, &an_std_allocator, err, sizeof(err));
	if (rc == AN_OK)
		free(out);
	ok = rc == AN_EINVAL && out == NULL && strstr(err, word) != NULL;
	if (!ok)
		NOTE("rc %d: %s", rc, err);
	return ok;
}

/* ---------------------------------------------------------------------
 * tests
 * ---------------------------------------------------------------------
 */

/* the test's FNV-1a against the published vectors */
static void
test_fnv(void)
{
	/* the published FNV-1a 64 test vectors */
	CHECK(t_fnv("") == UINT64_C(0xcbf29ce484222325), "fnv1a64 of \"\"");
	CHECK(t_fnv("a") == UINT64_C(0xaf63dc4c8601ec8c), "fnv1a64 of \"a\"");
	CHECK(t_fnv("foobar") == UINT64_C(0x85944171f73967e8), "fnv1a64 of \"foobar\"");
}

/* Date header values of known timestamps (checked with date -u) */
static void
test_dates(void)
{
	static const struct
	{
		int64_t		t;
		const char *s;
	}			cases[] = {
		/* all checked with date -u -d @N */
		{0, "Thu, 01 Jan 1970 00:00:00 +0000"},
		{951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},
		{1795651200, "Thu, 26 Nov 2026 00:00:00 +0000"},
		{1795687200, "Thu, 26 Nov 2026 10:00:00 +0000"},
		{1709164800, "Thu, 29 Feb 2024 00:00:00 +0000"},
		{1735689599, "Tue, 31 Dec 2024 23:59:59 +0000"},
		{-1, "Wed, 31 Dec 1969 23:59:59 +0000"},
		{INT64_C(-2203891201), "Wed, 28 Feb 1900 23:59:59 +0000"},
		{INT64_C(-2203891200), "Thu, 01 Mar 1900 00:00:00 +0000"},
		{INT64_C(4107542399), "Sun, 28 Feb 2100 23:59:59 +0000"},
		{INT64_C(4107542400), "Mon, 01 Mar 2100 00:00:00 +0000"},
		{MIME_DATE_MIN, "Mon, 01 Jan 1900 00:00:00 +0000"},
		{MIME_DATE_MAX, "Fri, 31 Dec 9999 23:59:59 +0000"},
	};
	char		buf[MIME_DATE_LEN];
	char		err[256];
	size_t		i;
	int			rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		rc = mime_format_date(cases[i].t, buf, sizeof(buf), err, sizeof(err));
		CHECK(rc == AN_OK && strcmp(buf, cases[i].s) == 0,
			  "date %lld is %s", (long long) cases[i].t, cases[i].s);
	}
	CHECK(mime_format_date(MIME_DATE_MIN - 1, buf, sizeof(buf), err, sizeof(err)) == AN_EINVAL,
		  "date before 1900 rejected (%s)", err);
	CHECK(mime_format_date(MIME_DATE_MAX + 1, buf, sizeof(buf), err, sizeof(err)) == AN_EINVAL,
		  "date after 9999 rejected");
	CHECK(mime_format_date(0, buf, 10, err, sizeof(err)) == AN_EINVAL,
		  "small date buffer rejected");
}

/* single-part messages, byte for byte */
static void
test_text_message(void)
{
	mime_message m = base_message();
	mime_header h[2] = {{"X-Campaign", "welcome"}, {"List-Unsubscribe", "<mailto:u@acme.example>"}};

	m.headers = h;
	m.nheaders = 2;
	CHECK(message_is(&m,
					 "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
					 "From: Acme Support <support@acme.example>\r\n"
					 "To: jane@example.org\r\n"
					 "Subject: Your receipt\r\n"
					 "Message-ID: <42.0123456789abcdef@acme.example>\r\n"
					 "MIME-Version: 1.0\r\n"
					 "X-Campaign: welcome\r\n"
					 "List-Unsubscribe: <mailto:u@acme.example>\r\n"
					 "Content-Type: text/plain; charset=UTF-8\r\n"
					 "Content-Transfer-Encoding: quoted-printable\r\n"
					 "\r\n"
					 "Hello Jane,\r\n"
					 "Thanks for your order.\r\n"),
		  "text-only ASCII message, byte for byte");

	/* no final newline: one CRLF is added; an empty body ends at the blank line */
	m.headers = NULL;
	m.nheaders = 0;
	m.body_text = "Hi";
	m.subject = "";
	CHECK(message_is(&m,
					 "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
					 "From: Acme Support <support@acme.example>\r\n"
					 "To: jane@example.org\r\n"
					 "Subject:\r\n"
					 "Message-ID: <42.0123456789abcdef@acme.example>\r\n"
					 "MIME-Version: 1.0\r\n"
					 "Content-Type: text/plain; charset=UTF-8\r\n"
					 "Content-Transfer-Encoding: quoted-printable\r\n"
					 "\r\n"
					 "Hi\r\n"),
		  "body without a final newline gets one CRLF; empty subject");
	m.body_text = "";
	CHECK(message_is(&m,
					 "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
					 "From: Acme Support <support@acme.example>\r\n"
					 "To: jane@example.org\r\n"
					 "Subject:\r\n"
					 "Message-ID: <42.0123456789abcdef@acme.example>\r\n"
					 "MIME-Version: 1.0\r\n"
					 "Content-Type: text/plain; charset=UTF-8\r\n"
					 "Content-Transfer-Encoding: quoted-printable\r\n"
					 "\r\n"),
		  "empty body");
}

/* a text + HTML message, byte for byte, and its boundary */
static void
test_multipart_message(void)
{
	mime_message m = base_message();
	char		b[64];
	char		expect[BIG];

	m.from = "\"Acme, Inc.\" <billing@acme.example>";
	m.to = "Jane Doe <jane@example.org>";
	m.subject = "Invoice #7";
	m.message_id = "7.00000000000000ff@acme.example";
	m.body_text = "Total: 10 = 10\n";
	m.body_html = "<p style=\"color:red\">Hi</p>";
	m.boundary_seed = "7";
	snprintf(b, sizeof(b), "=_analytics_%016llx", (unsigned long long) t_fnv("7"));
	snprintf(expect, sizeof(expect),
			 "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
			 "From: \"Acme, Inc.\" <billing@acme.example>\r\n"
			 "To: Jane Doe <jane@example.org>\r\n"
			 "Subject: Invoice #7\r\n"
			 "Message-ID: <7.00000000000000ff@acme.example>\r\n"
			 "MIME-Version: 1.0\r\n"
			 "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
			 "\r\n"
			 "--%s\r\n"
			 "Content-Type: text/plain; charset=UTF-8\r\n"
			 "Content-Transfer-Encoding: quoted-printable\r\n"
			 "\r\n"
			 "Total: 10 =3D 10\r\n"
			 "\r\n"
			 "--%s\r\n"
			 "Content-Type: text/html; charset=UTF-8\r\n"
			 "Content-Transfer-Encoding: quoted-printable\r\n"
			 "\r\n"
			 "<p style=3D\"color:red\">Hi</p>\r\n"
			 "--%s--\r\n", b, b, b, b);
	CHECK(message_is(&m, expect), "text + HTML message, byte for byte");

	{
		char		mb[MIME_BOUNDARY_LEN];

		mime_boundary("7", mb);
		CHECK(strcmp(mb, b) == 0 && strlen(mb) == 28, "boundary is =_analytics_ + fnv1a64 hex: %s", mb);
		mime_boundary(NULL, mb);
		CHECK(strcmp(mb, "=_analytics_cbf29ce484222325") == 0, "boundary of no seed");
	}

	/* without a seed the message_id seeds the boundary */
	m.boundary_seed = NULL;
	{
		char		err[256];
		size_t		n;
		char	   *out = compose(&m, &n, err, sizeof(err));

		snprintf(b, sizeof(b), "boundary=\"=_analytics_%016llx\"",
				 (unsigned long long) t_fnv("7.00000000000000ff@acme.example"));
		CHECK(out != NULL && strstr(out, b) != NULL, "boundary seeded by the message_id");
		free(out);
	}
}

/* non-ASCII subjects as encoded-words, decoded back */
static void
test_subject_utf8(void)
{
	const char *subj = "Grüße — your receipt ✓";
	const char *longsubj =
		"Ihre Bestellbestätigung für März — Grüße aus Köln ✓ Überweisung "
		"erhalten, Rückfragen? Ελληνικά και 日本語のテキスト 🎉🎉🎉 ende";
	char	   *out = NULL;
	char		err[256];
	char		dec[1024];
	size_t		n;
	size_t		dn;
	size_t		maxword;
	size_t		maxline;
	bool		whole;

	/* 28 bytes; base64 from Python; "Subject: " + 12 + 40 = 61 columns */
	CHECK(header_is("Subject", subj,
					"Subject: =?UTF-8?B?R3LDvMOfZSDigJQgeW91ciByZWNlaXB0IOKckw==?=\r\n"),
		  "UTF-8 subject as one encoded-word");
	mime_encode_header("Subject", subj, &out, &n, &an_std_allocator, err, sizeof(err));
	CHECK(decode_ew_field(out, n, "Subject", dec, &dn, &maxword, &maxline, &whole) &&
		  dn == strlen(subj) && memcmp(dec, subj, dn) == 0,
		  "UTF-8 subject decodes back");
	free(out);

	mime_encode_header("Subject", longsubj, &out, &n, &an_std_allocator, err, sizeof(err));
	CHECK(decode_ew_field(out, n, "Subject", dec, &dn, &maxword, &maxline, &whole),
		  "long UTF-8 subject is only encoded-words");
	CHECK(dn == strlen(longsubj) && memcmp(dec, longsubj, dn) == 0,
		  "long UTF-8 subject decodes back");
	CHECK(maxword <= 75, "each encoded-word <= 75 characters (%zu)", maxword);
	CHECK(maxline <= 76, "each line <= 76 characters (%zu)", maxline);
	CHECK(whole, "no UTF-8 character split across encoded-words");
	CHECK(strstr(out, "?=\r\n =?UTF-8?B?") != NULL, "encoded-words separated by CRLF SP");
	free(out);

	/*
	 * "X-" + 74 "x" (76) + ":" = 77 columns: not even one character fits
	 * after it, so the first word goes to the next line.
	 */
	{
		char		name[80];
		char		expect[256];

		memset(name, 'x', sizeof(name));
		memcpy(name, "X-", 2);
		name[76] = '\0';
		snprintf(expect, sizeof(expect), "%s:\r\n =?UTF-8?B?w7w=?=\r\n", name);
		CHECK(header_is(name, "ü", expect), "long header name: encoded-word on the next line");
	}

	/* random UTF-8 values round-trip through encoded-words */
	{
		uint64_t	s = 12345;
		int			bad = 0;
		int			iter;
		static const char *const pieces[] = {
			"a", " ", "ü", "ß", "—", "✓", "日", "🎉", "Z", "=?", "\t"
		};

		for (iter = 0; iter < 300; iter++)
		{
			char		v[600];
			size_t		vn = 0;
			int			k = (int) (lcg(&s) % 60);
			int			j;

			for (j = 0; j < k; j++)
			{
				const char *p = pieces[lcg(&s) % 11];

				memcpy(v + vn, p, strlen(p));
				vn += strlen(p);
			}
			/* ensure non-ASCII so the value is encoded */
			memcpy(v + vn, "é", 2);
			vn += 2;
			v[vn] = '\0';
			if (mime_encode_header("Subject", v, &out, &n, &an_std_allocator,
								   err, sizeof(err)) != AN_OK ||
				!decode_ew_field(out, n, "Subject", dec, &dn, &maxword, &maxline, &whole) ||
				dn != vn || memcmp(dec, v, vn) != 0 || maxword > 75 ||
				maxline > 76 || !whole)
			{
				if (bad++ == 0)
					NOTE("value \"%s\" gave \"%s\"", v, out ? out : "(null)");
			}
			free(out);
			out = NULL;
		}
		CHECK(bad == 0, "300 random UTF-8 subjects round-trip within the limits (%d bad)", bad);
	}
}

/* ASCII subjects folded at whitespace */
static void
test_subject_ascii(void)
{
	/*
	 * "Subject:" is 8 columns; tokens " Your"(5) -> 13, " weekly"(7) -> 20,
	 * " analytics"(10) -> 30, " report"(7) -> 37, " for" -> 41, " the" ->
	 * 45, " workspace"(10) -> 55, " Acme" -> 60, " Corporation"(12) -> 72,
	 * " is" -> 75, " ready"(6) would make 81 > 78: fold before it.
	 */
	CHECK(header_is("Subject",
					"Your weekly analytics report for the workspace Acme Corporation is ready to view now",
					"Subject: Your weekly analytics report for the workspace Acme Corporation is\r\n"
					" ready to view now\r\n"),
		  "long ASCII subject folded at whitespace");
	{
		char		xs[128];
		char		v[256];
		char		e[256];

		memset(xs, 'x', sizeof(xs));
		/* "Subject:" + " " + 69 x = 78; " y" would make 80: folded */
		snprintf(v, sizeof(v), "%.*s y", 69, xs);
		snprintf(e, sizeof(e), "Subject: %.*s\r\n y\r\n", 69, xs);
		CHECK(header_is("Subject", v, e), "fold when the next word passes 78");
		/* 8 + 1 + 67 = 76, " y" ends at exactly 78: kept */
		snprintf(v, sizeof(v), "%.*s y", 67, xs);
		snprintf(e, sizeof(e), "Subject: %.*s y\r\n", 67, xs);
		CHECK(header_is("Subject", v, e), "no fold at exactly 78");
		/* 8 + 1 + 68 = 77, "  \tbb" (5) would make 82: the run moves with bb */
		snprintf(v, sizeof(v), "%.*s  \tbb  ", 68, xs);
		snprintf(e, sizeof(e), "Subject: %.*s\r\n  \tbb  \r\n", 68, xs);
		CHECK(header_is("Subject", v, e),
			  "whitespace run folded with its word, trailing blanks kept");
	}
	CHECK(header_is("X-Tag", "a\tb", "X-Tag: a\tb\r\n"), "TAB kept as is");
	/* "=?" would read as an encoded-word: encoded; base64 from Python */
	CHECK(header_is("Subject", "=?x?=", "Subject: =?UTF-8?B?PT94Pz0=?=\r\n"),
		  "ASCII with \"=?\" is encoded");

	/* an unbreakable word longer than 998 columns is encoded instead */
	{
		char		v[1200];
		char	   *out = NULL;
		char		dec[1200];
		char		err[256];
		size_t		n;
		size_t		dn;
		size_t		maxword;
		size_t		maxline;
		bool		whole;

		memset(v, 'k', 1100);
		v[1100] = '\0';
		mime_encode_header("Subject", v, &out, &n, &an_std_allocator, err, sizeof(err));
		CHECK(out != NULL && decode_ew_field(out, n, "Subject", dec, &dn, &maxword, &maxline, &whole) &&
			  dn == 1100 && memcmp(dec, v, dn) == 0 && maxline <= 76,
			  "1100-character word encoded, lines <= 76");
		free(out);
		/* 989 + 9 = 998 fits */
		v[989] = '\0';
		mime_encode_header("Subject", v, &out, &n, &an_std_allocator, err, sizeof(err));
		CHECK(out != NULL && n == 998 + 2 && memcmp(out, "Subject: kkk", 12) == 0,
			  "a 998-column line is kept as is");
		free(out);
	}
}

/* address checks, splitting and display-name rendering */
static void
test_addresses(void)
{
	static const char *const good[] = {
		"a@b.c",
		"Name <a@b.c>",
		"  Name   <a@b.c>  ",
		"<a@b.c>",
		"\"Doe, John\" <j.doe+tag@example.com>",
		"\"quoted local\"@example.com",
		"user@[192.0.2.1]",
		"Jürgen Müller <j@example.de>",
		"o'hara!#$%&'*+-/=?^_`{|}~@x-y.example",
	};
	static const char *const bad[] = {
		"",
		"   ",
		"noat",
		"a@",
		"@b.c",
		"a@@b.c",
		"a b@c.d",
		"a@b..c",
		"a@.b",
		"a@b.",
		"Name <a@b.c",
		"Name a@b.c>",
		"a@b.c, c@d.e",
		"Name <a@b.c>, c@d.e",
		"jürgen@example.de",
		"\"unterminated <a@b.c>",
		"\"Doe\" John <a@b.c>",
		"Name <>",
		"a@b_c.d",
	};
	const char *name;
	const char *spec;
	size_t		nl;
	size_t		sl;
	char		err[256];
	char		dom[MIME_DOMAIN_LEN];
	size_t		i;
	int			ok = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		int			rc = mime_check_address("to", good[i], err, sizeof(err));

		if (rc == AN_OK)
			ok++;
		else
			NOTE("%s: %s", good[i], err);
	}
	CHECK(ok == (int) (sizeof(good) / sizeof(good[0])), "valid addresses accepted");
	ok = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		int			rc = mime_check_address("to", bad[i], err, sizeof(err));

		if (rc == AN_EINVAL && strncmp(err, "to address", 10) == 0)
			ok++;
		else
			NOTE("accepted or odd message: \"%s\" (%s)", bad[i], err);
	}
	CHECK(ok == (int) (sizeof(bad) / sizeof(bad[0])), "invalid addresses rejected naming the field");

	CHECK(mime_split_address("from", "  \"Doe, John\" <j@x.example> ", &name, &nl, &spec, &sl,
							 err, sizeof(err)) == AN_OK &&
		  nl == 11 && memcmp(name, "\"Doe, John\"", 11) == 0 &&
		  sl == 11 && memcmp(spec, "j@x.example", 11) == 0,
		  "split: quoted name and addr-spec");
	CHECK(mime_split_address("from", "j@x.example", &name, &nl, &spec, &sl,
							 err, sizeof(err)) == AN_OK &&
		  nl == 0 && sl == 11 && memcmp(spec, "j@x.example", 11) == 0,
		  "split: bare addr-spec has no name");
	CHECK(mime_address_domain("Acme <support@Acme.Example>", dom, sizeof(dom), err, sizeof(err)) == AN_OK &&
		  strcmp(dom, "Acme.Example") == 0, "domain of an address");
	CHECK(mime_address_domain("\"a@b\"@c.d", dom, sizeof(dom), err, sizeof(err)) == AN_OK &&
		  strcmp(dom, "c.d") == 0, "domain after a quoted local part with '@'");
	CHECK(mime_address_domain("a@example.com", dom, 5, err, sizeof(err)) == AN_EINVAL,
		  "domain buffer too small");

	/* display-name rendering in From */
	CHECK(from_field_is("Acme Inc. <a@b.example>", "From: \"Acme Inc.\" <a@b.example>\r\n"),
		  "name with '.' is quoted");
	CHECK(from_field_is("Say \"hi\" \\o/ <a@b.example>",
						"From: \"Say \\\"hi\\\" \\\\o/\" <a@b.example>\r\n"),
		  "quotes and backslashes escaped in a quoted name");
	CHECK(from_field_is("\"Plain Name\" <a@b.example>", "From: Plain Name <a@b.example>\r\n"),
		  "quoted name of atoms written as atoms");
	CHECK(from_field_is("<a@b.example>", "From: a@b.example\r\n"), "angle-addr without name");
	CHECK(from_field_is("\"\" <a@b.example>", "From: <a@b.example>\r\n"), "empty quoted name");
	/* 5 + 1 + 32 = 38 columns, then " <j@example.de>" */
	CHECK(from_field_is("Jürgen Müller <j@example.de>",
						"From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <j@example.de>\r\n"),
		  "non-ASCII name as an encoded-word");
	/*
	 * "To:"-style fold: 40 x (the phrase) pushes the address: "From:" +
	 * " " + 40 = 46, " <" + 40 + "@b.example>" = 53 more > 78: folded.
	 */
	CHECK(from_field_is("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx <yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy@b.example>",
						"From: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
						" <yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy@b.example>\r\n"),
		  "long From folded before the angle-addr");
}

/* deterministic Message-IDs */
static void
test_message_id(void)
{
	char		buf[MIME_MESSAGE_ID_LEN];
	char		expect[MIME_MESSAGE_ID_LEN];
	char		err[256];

	snprintf(expect, sizeof(expect), "42.%016llx@acme.example",
			 (unsigned long long) t_fnv("42@acme.example"));
	CHECK(mime_message_id(42, NULL, "acme.example", buf, sizeof(buf), err, sizeof(err)) == AN_OK &&
		  strcmp(buf, expect) == 0, "message id 42: %s", buf);
	snprintf(expect, sizeof(expect), "-5.%016llx@x.example",
			 (unsigned long long) t_fnv("-5@x.example"));
	CHECK(mime_message_id(-5, "", "x.example", buf, sizeof(buf), err, sizeof(err)) == AN_OK &&
		  strcmp(buf, expect) == 0, "negative message id");
	/* a salt separates two senders that share a domain and an id */
	snprintf(expect, sizeof(expect), "42.%016llx@acme.example",
			 (unsigned long long) t_fnv("42.7301.16384@acme.example"));
	CHECK(mime_message_id(42, "7301.16384", "acme.example", buf, sizeof(buf), err, sizeof(err)) == AN_OK &&
		  strcmp(buf, expect) == 0, "salted message id 42: %s", buf);
	CHECK(strcmp(buf, "42.e17c399c636bdd16@acme.example") == 0,
		  "salted message id matches FNV-1a-64 computed in Python (%s)", buf);
	CHECK(mime_message_id(42, "s", "bad..domain", buf, sizeof(buf), err, sizeof(err)) == AN_EINVAL,
		  "bad domain rejected (%s)", err);
	CHECK(mime_message_id(42, NULL, "acme.example", buf, 10, err, sizeof(err)) == AN_EINVAL,
		  "small message id buffer rejected");
}

/* quoted-printable, hand cases */
static void
test_qp(void)
{
	char		in[512];
	char		expect[1024];

	CHECK(qp_is("a=b", "a=3Db"), "'=' is =3D");
	CHECK(qp_is("trailing  \nx", "trailing =20\r\nx"), "trailing space before LF is =20");
	CHECK(qp_is("tab\t\r\n", "tab=09\r\n"), "trailing TAB before CRLF is =09");
	CHECK(qp_is("end ", "end=20"), "trailing space at the end of input");
	CHECK(qp_is("a b\tc", "a b\tc"), "inner SP and TAB literal");
	CHECK(qp_is("", ""), "empty input");
	CHECK(qp_is("a\r\nb\r\n", "a\r\nb\r\n") && qp_is("a\nb\n", "a\r\nb\r\n"),
		  "CRLF and LF input give the same output");
	CHECK(qp_is("a\rb\r", "a=0Db=0D"), "lone CR is =0D");
	CHECK(qp_is("\n\n", "\r\n\r\n"), "empty lines");
	CHECK(qp_is("x\x01\x7f\xff~!", "x=01=7F=FF~!"), "controls, DEL and invalid bytes escaped");
	CHECK(qp_is("é", "=C3=A9"), "UTF-8 character escaped bytewise");
	CHECK(qp_is(".\n..x\n. ", "=2E\r\n=2E.x\r\n=2E=20"), "'.' at line start is =2E");
	CHECK(qp_is("From me\nFrom\nA From x", "=46rom me\r\nFrom\r\nA From x"),
		  "\"From \" at line start escaped");

	/* 200 'a': 75 + '=' per soft line (76), then the last 50 */
	memset(in, 'a', 200);
	in[200] = '\0';
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 75);
	strcat(expect, "=\r\n");
	memset(expect + strlen(expect), 'a', 75);
	strcat(expect, "=\r\n");
	memset(expect + strlen(expect), 'a', 50);
	CHECK(qp_is(in, expect), "200 characters soft-broken into 76-column lines");
	{
		size_t		n;
		char	   *out = qp(in, 200, &n);

		CHECK(out != NULL && qp_shape(out, n) == NULL, "every encoded line <= 76");
		free(out);
	}
	/* 76 fit on the last line; 77 do not */
	in[76] = '\0';
	CHECK(qp_is(in, in), "76 characters on one line");
	in[76] = 'a';
	in[77] = '\0';
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 75);
	strcat(expect, "=\r\naa");
	CHECK(qp_is(in, expect), "77 characters: 75 + '=' then 2");

	/* "a" x 73 + "é" + "b": =C3=A9 would end at 79 + '=': moves whole */
	memset(in, 'a', 73);
	strcpy(in + 73, "éb");
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 73);
	strcat(expect, "=\r\n=C3=A9b");
	CHECK(qp_is(in, expect), "multibyte character near 76 not split");
	/* "a" x 69 + "é" + "b": 69 + 6 = 75, 'b' last at 76: one line */
	memset(in, 'a', 69);
	strcpy(in + 69, "éb");
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 69);
	strcat(expect, "=C3=A9b");
	CHECK(qp_is(in, expect), "multibyte character ending at 75 stays");
	/* "a" x 74 + "=b": =3D would need 77 + '=' */
	memset(in, 'a', 74);
	strcpy(in + 74, "=b");
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 74);
	strcat(expect, "=\r\n=3Db");
	CHECK(qp_is(in, expect), "escape never split");
	/* a '.' that lands at the start of a soft line */
	memset(in, 'a', 75);
	strcpy(in + 75, ".b");
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 75);
	strcat(expect, "=\r\n=2Eb");
	CHECK(qp_is(in, expect), "'.' after a soft break is =2E");
	/* space at 75 with more after: soft break after it is fine */
	memset(in, 'a', 74);
	strcpy(in + 74, " bc");
	memset(expect, 0, sizeof(expect));
	memset(expect, 'a', 74);
	strcat(expect, " =\r\nbc");
	CHECK(qp_is(in, expect), "space before a soft break stays literal");
}

/* quoted-printable round trip and shape on random bytes */
static void
test_qp_random(void)
{
	uint64_t	s = 42;
	int			iter;
	int			bad_rt = 0;
	int			bad_shape = 0;
	unsigned char in[400];
	unsigned char norm[800];
	unsigned char dec[1600];
	static const char special[] = "\n\r =.F\t";

	for (iter = 0; iter < 2000; iter++)
	{
		size_t		n = lcg(&s) % 400;
		size_t		i;
		size_t		on;
		size_t		dn;
		size_t		nn;
		char	   *out;
		const char *why;

		for (i = 0; i < n; i++)
		{
			uint32_t	r = lcg(&s);

			if (r % 4 == 0)
				in[i] = (unsigned char) special[(r >> 8) % 7];
			else if (r % 4 == 1)
				in[i] = (unsigned char) (r >> 8);
			else
				in[i] = (unsigned char) ('a' + (r >> 8) % 26);
		}
		out = qp((const char *) in, n, &on);
		if (out == NULL)
		{
			bad_rt++;
			continue;
		}
		why = qp_shape(out, on);
		if (why != NULL)
		{
			if (bad_shape++ == 0)
				NOTE("iteration %d: %s", iter, why);
		}
		nn = crlf_normalize(in, n, norm);
		if (!qp_decode(out, on, dec, &dn) || dn != nn || memcmp(dec, norm, nn) != 0)
		{
			if (bad_rt++ == 0)
				NOTE("iteration %d: round trip differs", iter);
		}
		free(out);
	}
	CHECK(bad_rt == 0, "2000 random byte strings round-trip through quoted-printable");
	CHECK(bad_shape == 0, "random outputs: lines <= 76, no trailing blanks, no leading '.'");
}

/* header injection, owned names, invalid UTF-8 and other bad fields */
static void
test_injection(void)
{
	mime_message m;
	mime_header h[1];
	char		err[256];

	m = base_message();
	m.subject = "Hi\r\nBcc: victim@example.com";
	CHECK(compose_fails(&m, "subject contains a line break at byte 2"), "CRLF in subject");
	m = base_message();
	m.subject = "Hi\nthere";
	CHECK(compose_fails(&m, "subject"), "LF in subject");
	m = base_message();
	m.subject = "Hi\x07";
	CHECK(compose_fails(&m, "subject contains a control character"), "BEL in subject");
	m = base_message();
	m.to = "a@b.example\r\nBcc: c@d.example";
	CHECK(compose_fails(&m, "to address contains a line break"), "CRLF in to");
	m = base_message();
	m.from = "Evil\n <a@b.example>";
	CHECK(compose_fails(&m, "from address contains a line break"), "LF in from");
	m = base_message();
	m.to = "a@b.example, c@d.example";
	CHECK(compose_fails(&m, "to address"), "two recipients in to");
	m = base_message();
	h[0].name = "X-Tag";
	h[0].value = "a\r\nBcc: c@d.example";
	m.headers = h;
	m.nheaders = 1;
	CHECK(compose_fails(&m, "header \"X-Tag\" contains a line break"), "CRLF in an extra header value");
	h[0].name = "X-Tag\r\nBcc";
	h[0].value = "x";
	CHECK(compose_fails(&m, "header name contains a line break"), "CRLF in an extra header name");
	h[0].name = "X Tag";
	CHECK(compose_fails(&m, "header name contains an invalid character at byte 1"), "space in a header name");
	h[0].name = "X-Tag:";
	CHECK(compose_fails(&m, "header name"), "colon in a header name");
	h[0].name = "";
	CHECK(compose_fails(&m, "header name is empty"), "empty header name");
	h[0].name = "X-Tag";
	h[0].value = NULL;
	CHECK(compose_fails(&m, "header \"X-Tag\" is missing"), "missing header value");
	h[0].name = "content-type";
	h[0].value = "text/html";
	CHECK(compose_fails(&m, "Content-Type"), "owned header name rejected (any case)");

	CHECK(mime_check_header_name("FROM", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("to", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("Subject", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("date", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("Message-Id", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("mime-version", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("Content-Transfer-Encoding", err, sizeof(err)) == AN_EINVAL,
		  "every owned name rejected");
	CHECK(mime_check_header_name("Reply-To", err, sizeof(err)) == AN_OK &&
		  mime_check_header_name("X-From", err, sizeof(err)) == AN_OK &&
		  mime_check_header_name("List-Unsubscribe-Post", err, sizeof(err)) == AN_OK,
		  "other names accepted");
	CHECK(mime_check_header_name("X-\x80", err, sizeof(err)) == AN_EINVAL &&
		  mime_check_header_name("X-\x7f", err, sizeof(err)) == AN_EINVAL,
		  "non-ASCII and DEL in a name rejected");
	CHECK(mime_check_header_value("subject", "a\tb ü", err, sizeof(err)) == AN_OK,
		  "TAB and UTF-8 allowed in a value");

	/* invalid UTF-8 */
	m = base_message();
	m.subject = "Gr\xc3\x28";
	CHECK(compose_fails(&m, "subject is not valid UTF-8 at byte 2"), "invalid UTF-8 in subject");
	m = base_message();
	m.body_text = "ok\xff";
	CHECK(compose_fails(&m, "body_text is not valid UTF-8 at byte 2"), "invalid UTF-8 in body_text");
	m = base_message();
	m.body_html = "<p>\xed\xa0\x80</p>";
	CHECK(compose_fails(&m, "body_html is not valid UTF-8 at byte 3"), "surrogate in body_html");
	m = base_message();
	h[0].name = "X-Tag";
	h[0].value = "\xc0\xaf";
	m.headers = h;
	m.nheaders = 1;
	CHECK(compose_fails(&m, "header \"X-Tag\" is not valid UTF-8 at byte 0"), "overlong in a header value");
	m = base_message();
	m.from = "J\xfcrgen <j@example.de>";
	CHECK(compose_fails(&m, "from address is not valid UTF-8 at byte 1"), "Latin-1 display name");
	m = base_message();
	m.subject = "\xf4\x90\x80\x80";
	CHECK(compose_fails(&m, "subject is not valid UTF-8"), "code point above U+10FFFF");

	/* other checks */
	m = base_message();
	m.message_id = "<42@acme.example>";
	CHECK(compose_fails(&m, "message_id contains an invalid character at byte 0"), "message_id with brackets");
	m.message_id = "42 x@acme.example";
	CHECK(compose_fails(&m, "message_id"), "message_id with a space");
	m.message_id = "42.acme.example";
	CHECK(compose_fails(&m, "exactly one '@'"), "message_id without '@'");
	m.message_id = "4@2@acme.example";
	CHECK(compose_fails(&m, "exactly one '@'"), "message_id with two '@'");
	m.message_id = NULL;
	CHECK(compose_fails(&m, "message_id is missing"), "missing message_id");
	m = base_message();
	m.body_text = NULL;
	CHECK(compose_fails(&m, "body_text is missing"), "missing body_text");
	m = base_message();
	m.subject = NULL;
	CHECK(compose_fails(&m, "subject is missing"), "missing subject");
	m = base_message();
	m.to = NULL;
	CHECK(compose_fails(&m, "to address is missing"), "missing to");
	m = base_message();
	m.date_unix = MIME_DATE_MIN - 1;
	CHECK(compose_fails(&m, "date"), "date out of range");
	m = base_message();
	m.nheaders = -1;
	CHECK(compose_fails(&m, "header list"), "negative nheaders");
}


/* a multipart message with an encoded display name and long bodies */
static int
alloc_compose(const an_allocator *a, char **out, size_t *n, char *err, size_t errlen)
{
	static char text[6000];
	mime_message m = base_message();
	mime_header h[2] = {{"X-A", "Grüße"}, {"X-B", "plain value"}};

	if (text[0] == '\0')
	{
		int			i;

		for (i = 0; i < 5999; i++)
			text[i] = "abc =.\n\xc3\xa9"[i % 9];
		text[5999] = '\0';
		/* keep it valid UTF-8: the last char may be a lone 0xC3 */
		if ((unsigned char) text[5998] == 0xC3)
			text[5998] = 'x';
	}
	m.from = "Jürgen Müller <j@example.de>";
	m.to = "\"Doe, Jane\" <jane@example.org>";
	m.subject = "Grüße — your receipt ✓";
	m.body_text = text;
	m.body_html = text;
	m.headers = h;
	m.nheaders = 2;
	return mime_compose(&m, out, n, a, err, errlen);
}

/* quoted-printable of a long text (about 2 kB out) */
static int
alloc_qp(const an_allocator *a, char **out, size_t *n, char *err, size_t errlen)
{
	static const char line[] =
		"Dear customer, your order #1234 = 10.00 EUR.\n"
		"Thanks! Grüße aus Köln. ✓✓✓ .....................................................\n"
		"From here on, a long line: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
	char		text[sizeof(line) * 5];
	int			i;

	text[0] = '\0';
	for (i = 0; i < 5; i++)
		strcat(text, line);
	return mime_qp_encode(text, strlen(text), out, n, a, err, errlen);
}

/* one long encoded header (about 1 kB out) */
static int
alloc_header(const an_allocator *a, char **out, size_t *n, char *err, size_t errlen)
{
	return mime_encode_header("Subject",
							  "Ihre Bestellbestätigung für März — Grüße aus Köln ✓ Überweisung "
							  "erhalten, Rückfragen? Ελληνικά και 日本語のテキスト 🎉🎉🎉 ende "
							  "Ihre Bestellbestätigung für März — Grüße aus Köln ✓ Überweisung "
							  "erhalten, Rückfragen? Ελληνικά και 日本語のテキスト 🎉🎉🎉 ende "
							  "Ihre Bestellbestätigung für März — Grüße aus Köln ✓ Überweisung "
							  "erhalten, Rückfragen? Ελληνικά και 日本語のテキスト 🎉🎉🎉 ende",
							  out, n, a, err, errlen);
}

/* allocation failure at every point of each entry point */
static void
test_allocation(void)
{
	unit_alloc_sweep("mime_compose", alloc_compose, 3);
	unit_alloc_sweep("mime_qp_encode", alloc_qp, 3);
	unit_alloc_sweep("mime_encode_header", alloc_header, 3);
}

/* the output limit and interrupt checks */
static void
test_limits(void)
{
	unit_ctx	ctx = {-1, 0, 0};
	an_allocator a = {unit_alloc, unit_release, unit_interrupts, &ctx};
	size_t		n = (size_t) MIME_MAX_MESSAGE / 3 + 1;
	char	   *big = malloc(n + 1);
	char	   *out = (char *) 1;
	size_t		on;
	char		err[256] = "";
	int			rc;

	memset(big, '=', n);
	big[n] = '\0';
	rc = mime_qp_encode(big, n, &out, &on, &a, err, sizeof(err));
	CHECK(rc == AN_ELIMIT && out == NULL && ctx.live == 0,
		  "output past MIME_MAX_MESSAGE is AN_ELIMIT (%s)", err);
	CHECK(ctx.interrupts >= 100, "interrupts checked while encoding (%ld)", ctx.interrupts);
	free(big);
}

/* run every test; TAP on stdout */
int
main(void)
{
	test_fnv();
	test_dates();
	test_text_message();
	test_multipart_message();
	test_subject_utf8();
	test_subject_ascii();
	test_addresses();
	test_message_id();
	test_qp();
	test_qp_random();
	test_injection();
	test_allocation();
	test_limits();
	return unit_done();
}
