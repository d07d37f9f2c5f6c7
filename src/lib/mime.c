/*
 * mime.c
 *		RFC 5322 / MIME message composition (see mime.h).
 *
 * Output goes to a growable buffer whose errors are sticky: the first
 * failure (AN_ENOMEM, AN_ELIMIT) is recorded with its message and every
 * later append does nothing, so composition code only checks at the end.
 * Everything the composer writes is checked first (mime_compose validates
 * the whole message before the first byte), so the writers below may
 * assume valid input.
 *
 * The multipart boundary starts with "=_".  Quoted-printable output only
 * ever has '=' as the first byte of an escape "=XX" with two uppercase hex
 * digits, or of a soft line break "=" CRLF (every literal '=' is written
 * =3D), so "=_" never occurs in an encoded part and no line of a part can
 * be mistaken for a boundary delimiter line: no scan of the parts is
 * needed.  The part headers are fixed text without "=_".
 */
#include "mime.h"

#include "buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

/* line lengths: folded text, lines with encoded-words, quoted-printable, hard */
#define FOLD_LINE	78
#define EW_LINE		76
#define QP_LINE		76
#define HARD_LINE	998

#define EW_PREFIX	"=?UTF-8?B?"
#define EW_SUFFIX	"?="
#define EW_OVERHEAD 12			/* strlen(EW_PREFIX) + strlen(EW_SUFFIX) */

/* interrupts are checked once per this many input bytes of a body */
#define QP_TICK		65536

typedef an_buf mime_buf;

static const char hexdig[] = "0123456789ABCDEF";
static const char b64dig[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---------------------------------------------------------------------
 * small helpers
 * ---------------------------------------------------------------------
 */

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), or 0 when
 * the bytes there are not one: overlong forms, surrogates and code points
 * above U+10FFFF are invalid.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] > 0x9F)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* true when s[0..n) is valid UTF-8; else *bad gets the offending offset */
static bool
utf8_valid(const char *s, size_t n, size_t *bad)
{
	size_t		i = 0;

	while (i < n)
	{
		size_t		l;

		if ((unsigned char) s[i] < 0x80)
		{
			i++;
			continue;
		}
		l = utf8_seq((const unsigned char *) s + i, n - i);
		if (l == 0)
		{
			*bad = i;
			return false;
		}
		i += l;
	}
	return true;
}

/* 64-bit FNV-1a of n bytes, continuing from h */
static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		h ^= (unsigned char) s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* SP or TAB */
static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII case-insensitive equality of two NUL-terminated strings */
static bool
ascii_ieq(const char *x, const char *y)
{
	for (;; x++, y++)
	{
		unsigned char cx = (unsigned char) *x;
		unsigned char cy = (unsigned char) *y;

		if (cx >= 'A' && cx <= 'Z')
			cx += 'a' - 'A';
		if (cy >= 'A' && cy <= 'Z')
			cy += 'a' - 'A';
		if (cx != cy)
			return false;
		if (cx == 0)
			return true;
	}
}

/* ---------------------------------------------------------------------
 * output buffer
 * ---------------------------------------------------------------------
 */

/* append a NUL-terminated string */
static void
buf_puts(mime_buf *b, const char *s)
{
	an_buf_put(b, s, strlen(s));
}

/* append one byte */
static void
buf_putc(mime_buf *b, char c)
{
	if (!an_buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

/* hand the contents over (NUL-terminated), or free them on error */
static int
buf_finish(mime_buf *b, char **out, size_t *outlen)
{
	an_buf_reserve(b, 0);
	if (b->rc != AN_OK)
	{
		an_free(b->a, b->data);
		b->data = NULL;
		return b->rc;
	}
	b->data[b->len] = '\0';
	*out = b->data;
	*outlen = b->len;
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * checks
 * ---------------------------------------------------------------------
 */

/*
 * Header text s[0..n) named what: no CR, LF, other C0 control except TAB,
 * no DEL, valid UTF-8.
 */
static int
check_text(const char *what, const char *s, size_t n, char *err, size_t errlen)
{
	size_t		i;
	size_t		bad;

	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\r' || c == '\n')
			return an_set_error(err, errlen, AN_EINVAL,
								"%s contains a line break at byte %zu", what, i);
		if ((c < 32 && c != '\t') || c == 127)
			return an_set_error(err, errlen, AN_EINVAL,
								"%s contains a control character at byte %zu",
								what, i);
	}
	if (!utf8_valid(s, n, &bad))
		return an_set_error(err, errlen, AN_EINVAL,
							"%s is not valid UTF-8 at byte %zu", what, bad);
	return AN_OK;
}

/* a header value: see mime.h */
int
mime_check_header_value(const char *what, const char *value,
						char *err, size_t errlen)
{
	if (value == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "%s is missing", what);
	return check_text(what, value, strlen(value), err, errlen);
}

/* header name syntax: 1 .. MIME_MAX_HEADER_NAME bytes of ftext */
static int
check_name_syntax(const char *name, char *err, size_t errlen)
{
	size_t		i;
	size_t		n;

	if (name == NULL || name[0] == '\0')
		return an_set_error(err, errlen, AN_EINVAL, "header name is empty");
	n = strlen(name);
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (c == '\r' || c == '\n')
			return an_set_error(err, errlen, AN_EINVAL,
								"header name contains a line break at byte %zu", i);
		if (c < 33 || c > 126 || c == ':')
			return an_set_error(err, errlen, AN_EINVAL,
								"header name contains an invalid character at byte %zu",
								i);
	}
	if (n > MIME_MAX_HEADER_NAME)
		return an_set_error(err, errlen, AN_EINVAL,
							"header name is longer than %d characters",
							MIME_MAX_HEADER_NAME);
	return AN_OK;
}

/* an extra header name: syntax, then the names the composer owns */
int
mime_check_header_name(const char *name, char *err, size_t errlen)
{
	static const char *const owned[] = {
		"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding"
	};
	size_t		i;
	int			rc;

	rc = check_name_syntax(name, err, errlen);
	if (rc != AN_OK)
		return rc;
	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (ascii_ieq(name, owned[i]))
			return an_set_error(err, errlen, AN_EINVAL,
								"header \"%s\" is written by the composer and cannot be set",
								owned[i]);
	return AN_OK;
}

/*
 * A domain s[0..n) (off: its offset in the address, for messages):
 * letter/digit/hyphen labels of 1 .. 63 bytes separated by single dots,
 * or a [literal] of printable ASCII other than [ ] and backslash.
 */
static int
check_domain(const char *what, const char *s, size_t n, size_t off,
			 char *err, size_t errlen)
{
	size_t		i;
	size_t		label = 0;

	if (n == 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has an empty domain", what);
	if (n > 255)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has a domain longer than 255 characters",
							what);
	if (s[0] == '[')
	{
		if (n < 3 || s[n - 1] != ']')
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has an unterminated domain literal",
								what);
		for (i = 1; i < n - 1; i++)
		{
			unsigned char c = (unsigned char) s[i];

			if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\')
				return an_set_error(err, errlen, AN_EINVAL,
									"%s contains an invalid character at byte %zu",
									what, off + i);
		}
		return AN_OK;
	}
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '.')
		{
			if (label == 0)
				return an_set_error(err, errlen, AN_EINVAL,
									"%s has an empty domain label at byte %zu",
									what, off + i);
			label = 0;
			continue;
		}
		if (c == '@')
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has more than one '@'", what);
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-'))
			return an_set_error(err, errlen, AN_EINVAL,
								"%s contains an invalid character at byte %zu",
								what, off + i);
		if (++label > 63)
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has a domain label longer than 63 characters",
								what);
	}
	if (label == 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has an empty domain label at byte %zu",
							what, off + n);
	return AN_OK;
}

/*
 * An addr-spec s[0..n) starting at offset off of the address: a dot-atom
 * or quoted-string local part of 1 .. 64 bytes, '@', a domain.
 */
static int
check_spec(const char *what, const char *s, size_t n, size_t off,
		   char *err, size_t errlen)
{
	size_t		i = 0;

	if (n == 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has no addr-spec", what);
	if (n > 254)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s is longer than 254 characters", what);
	if (s[0] == '"')
	{
		for (i = 1;; i++)
		{
			unsigned char c;

			if (i >= n)
				return an_set_error(err, errlen, AN_EINVAL,
									"%s has an unterminated quoted local part",
									what);
			c = (unsigned char) s[i];
			if (c < 32 || c > 126)
				return an_set_error(err, errlen, AN_EINVAL,
									"%s contains an invalid character at byte %zu",
									what, off + i);
			if (c == '\\')
			{
				i++;
				if (i >= n || (unsigned char) s[i] < 32 || (unsigned char) s[i] > 126)
					return an_set_error(err, errlen, AN_EINVAL,
										"%s has an invalid quoted pair at byte %zu",
										what, off + i - 1);
			}
			else if (c == '"')
			{
				i++;
				break;
			}
		}
		if (i >= n || s[i] != '@')
			return an_set_error(err, errlen, AN_EINVAL,
								"%s must be local-part@domain", what);
	}
	else
	{
		while (i < n && s[i] != '@')
		{
			if (!is_atext((unsigned char) s[i]) && s[i] != '.')
				return an_set_error(err, errlen, AN_EINVAL,
									"%s contains an invalid character at byte %zu",
									what, off + i);
			i++;
		}
		if (i >= n)
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has no '@'", what);
		if (i == 0)
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has an empty local part", what);
	}
	if (i > 64)
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has a local part longer than 64 characters",
							what);
	return check_domain(what, s + i + 1, n - i - 1, off + i + 1, err, errlen);
}

/*
 * A display name that starts with '"' must be one quoted-string: its
 * closing quote is its last byte, and a backslash quotes the next byte.
 */
static int
check_quoted_name(const char *what, const char *s, size_t n, size_t off,
				  char *err, size_t errlen)
{
	size_t		i;

	for (i = 1; i < n; i++)
	{
		if (s[i] == '\\')
		{
			i++;
			continue;
		}
		if (s[i] == '"')
		{
			if (i == n - 1)
				return AN_OK;
			return an_set_error(err, errlen, AN_EINVAL,
								"%s has text after the quoted display name at byte %zu",
								what, off + i + 1);
		}
	}
	return an_set_error(err, errlen, AN_EINVAL,
						"%s has an unterminated quoted display name",
						what);
}

/* split and check an address (see mime.h) */
int
mime_split_address(const char *what, const char *addr,
				   const char **name, size_t *namelen,
				   const char **spec, size_t *speclen,
				   char *err, size_t errlen)
{
	char		w[64];
	size_t		n;
	size_t		b;
	size_t		e;
	size_t		i;
	size_t		lt = 0;
	bool		found = false;
	bool		inq = false;
	int			rc;

	*name = *spec = addr;
	*namelen = *speclen = 0;
	if (addr == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "%s address is missing", what);
	n = strlen(addr);
	snprintf(w, sizeof(w), "%s address", what);
	rc = check_text(w, addr, n, err, errlen);
	if (rc != AN_OK)
		return rc;
	b = 0;
	e = n;
	while (b < e && is_wsp(addr[b]))
		b++;
	while (e > b && is_wsp(addr[e - 1]))
		e--;
	if (b == e)
		return an_set_error(err, errlen, AN_EINVAL, "%s is empty", w);

	/* the first '<' outside a quoted-string starts an angle-addr */
	for (i = b; i < e; i++)
	{
		if (inq)
		{
			if (addr[i] == '\\')
				i++;
			else if (addr[i] == '"')
				inq = false;
		}
		else if (addr[i] == '"')
			inq = true;
		else if (addr[i] == '<')
		{
			lt = i;
			found = true;
			break;
		}
	}
	if (!found)
	{
		*spec = addr + b;
		*speclen = e - b;
		return check_spec(w, addr + b, e - b, b, err, errlen);
	}
	if (addr[e - 1] != '>')
		return an_set_error(err, errlen, AN_EINVAL,
							"%s has '<' at byte %zu without a closing '>' at its end",
							w, lt);
	rc = check_spec(w, addr + lt + 1, e - 1 - (lt + 1), lt + 1, err, errlen);
	if (rc != AN_OK)
		return rc;
	*spec = addr + lt + 1;
	*speclen = e - 1 - (lt + 1);
	e = lt;
	while (e > b && is_wsp(addr[e - 1]))
		e--;
	if (e > b && addr[b] == '"')
	{
		rc = check_quoted_name(w, addr + b, e - b, b, err, errlen);
		if (rc != AN_OK)
			return rc;
	}
	*name = addr + b;
	*namelen = e - b;
	return AN_OK;
}

/* check an address without returning its parts */
int
mime_check_address(const char *what, const char *addr, char *err, size_t errlen)
{
	const char *name;
	const char *spec;
	size_t		namelen;
	size_t		speclen;

	return mime_split_address(what, addr, &name, &namelen, &spec, &speclen,
							  err, errlen);
}

/* the domain after the addr-spec's last '@' */
int
mime_address_domain(const char *addr, char *buf, size_t buflen,
					char *err, size_t errlen)
{
	const char *name;
	const char *spec;
	size_t		namelen;
	size_t		speclen;
	size_t		at;
	int			rc;

	rc = mime_split_address("the", addr, &name, &namelen, &spec, &speclen,
							err, errlen);
	if (rc != AN_OK)
		return rc;
	/* a domain has no '@'; a quoted local part may */
	at = speclen;
	while (spec[at - 1] != '@')
		at--;
	if (speclen - at + 1 > buflen)
		return an_set_error(err, errlen, AN_EINVAL, "domain buffer is too small");
	memcpy(buf, spec + at, speclen - at);
	buf[speclen - at] = '\0';
	return AN_OK;
}

/*
 * A message_id: 1 .. MIME_MAX_MESSAGE_ID bytes of atext and '.', with
 * exactly one '@' that is neither first nor last.
 */
static int
check_message_id(const char *id, char *err, size_t errlen)
{
	size_t		n;
	size_t		i;
	int			ats = 0;
	int			rc;

	if (id == NULL || id[0] == '\0')
		return an_set_error(err, errlen, AN_EINVAL, "message_id is missing");
	n = strlen(id);
	rc = check_text("message_id", id, n, err, errlen);
	if (rc != AN_OK)
		return rc;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) id[i];

		if (c == '@')
			ats++;
		else if (!is_atext(c) && c != '.')
			return an_set_error(err, errlen, AN_EINVAL,
								"message_id contains an invalid character at byte %zu",
								i);
	}
	if (ats != 1 || id[0] == '@' || id[n - 1] == '@')
		return an_set_error(err, errlen, AN_EINVAL,
							"message_id must be left@right with exactly one '@'");
	if (n > MIME_MAX_MESSAGE_ID)
		return an_set_error(err, errlen, AN_EINVAL,
							"message_id is longer than %d characters",
							MIME_MAX_MESSAGE_ID);
	return AN_OK;
}

/* a deterministic Message-ID: "<id>.<fnv1a hex>@<domain>" */
int
mime_message_id(int64_t id, const char *salt, const char *domain, char *buf,
				size_t buflen, char *err, size_t errlen)
{
	char		key[32];
	uint64_t	h;
	int			n;
	int			rc;

	if (domain == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "message_id domain is missing");
	rc = check_domain("message_id domain", domain, strlen(domain), 0, err, errlen);
	if (rc != AN_OK)
		return rc;
	n = snprintf(key, sizeof(key), "%lld", (long long) id);
	h = fnv1a(FNV_OFFSET, key, (size_t) n);
	if (salt != NULL && salt[0] != '\0')
	{
		h = fnv1a(h, ".", 1);
		h = fnv1a(h, salt, strlen(salt));
	}
	h = fnv1a(fnv1a(h, "@", 1), domain, strlen(domain));
	n = snprintf(buf, buflen, "%lld.%016llx@%s", (long long) id,
				 (unsigned long long) h, domain);
	if (n < 0 || (size_t) n >= buflen)
		return an_set_error(err, errlen, AN_EINVAL, "message_id buffer is too small");
	return check_message_id(buf, err, errlen);
}

/* the multipart boundary for seed (see mime.h) */
void
mime_boundary(const char *seed, char *buf)
{
	uint64_t	h = fnv1a(FNV_OFFSET, seed ? seed : "", seed ? strlen(seed) : 0);

	snprintf(buf, MIME_BOUNDARY_LEN, "%s%016llx", MIME_BOUNDARY_PREFIX,
			 (unsigned long long) h);
}

/*
 * Civil date of a day count since 1970-01-01 (Howard Hinnant's
 * civil_from_days, proleptic Gregorian, any sign).
 */
static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t		z = days + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* RFC 5322 date-time in UTC (see mime.h) */
int
mime_format_date(int64_t t, char *buf, size_t buflen, char *err, size_t errlen)
{
	static const char *const wday[7] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const mon[12] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	int64_t		days;
	int64_t		secs;
	int64_t		y;
	int			m;
	int			d;

	if (t < MIME_DATE_MIN || t > MIME_DATE_MAX)
		return an_set_error(err, errlen, AN_EINVAL,
							"date %lld is outside the years 1900 to 9999",
							(long long) t);
	if (buflen < MIME_DATE_LEN)
		return an_set_error(err, errlen, AN_EINVAL, "date buffer is too small");
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0)
	{
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* 1970-01-01 was a Thursday (4 with Sunday = 0) */
	snprintf(buf, buflen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
			 wday[(days % 7 + 11) % 7], d, mon[m - 1], (int) y,
			 (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * header writers
 * ---------------------------------------------------------------------
 */

/* printable ASCII or TAB, and no "=?" (which would read as an encoded-word) */
static bool
plain_ascii(const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c < 32 && c != '\t') || c > 126)
			return false;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return false;
	}
	return true;
}

/*
 * Append " " + s[0..n) at column *col, folding (CRLF before a run of
 * whitespace) when a token would pass FOLD_LINE and the line already has
 * one of s's words; a token is a whitespace run and the word after it,
 * and trailing whitespace is never moved to a line of its own.  Returns
 * false when some line would exceed HARD_LINE (the caller then rewinds).
 */
static bool
put_folded(mime_buf *b, const char *s, size_t n, size_t *col)
{
	size_t		i = 0;
	bool		first = true;
	bool		word_on_line = false;

	while (i < n)
	{
		size_t		start = i;
		size_t		wsend;
		size_t		toklen;

		while (i < n && is_wsp(s[i]))
			i++;
		wsend = i;
		while (i < n && !is_wsp(s[i]))
			i++;
		toklen = i - start + (first ? 1 : 0);
		if (i > wsend && word_on_line && *col + toklen > FOLD_LINE)
		{
			an_buf_put(b, "\r\n", 2);
			*col = 0;
		}
		if (first)
			buf_putc(b, ' ');
		an_buf_put(b, s + start, i - start);
		*col += toklen;
		if (*col > HARD_LINE)
			return false;
		if (i > wsend)
			word_on_line = true;
		first = false;
	}
	return true;
}

/* append the base64 of n bytes */
static void
put_base64(mime_buf *b, const unsigned char *s, size_t n)
{
	size_t		i;
	char		q[4];

	for (i = 0; i < n; i += 3)
	{
		uint32_t	v = (uint32_t) s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t) s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64dig[(v >> 18) & 63];
		q[1] = b64dig[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64dig[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64dig[v & 63] : '=';
		an_buf_put(b, q, 4);
	}
}

/*
 * Append s[0..n) as encoded-words at column *col: each " " + word, the
 * first on the current line when one whole character fits within
 * EW_LINE, every later one after CRLF; each takes as many whole UTF-8
 * characters as fit (a word of B bytes is EW_OVERHEAD + 4 * ceil(B / 3)
 * characters, at most 75).
 */
static void
put_encoded_words(mime_buf *b, const char *s, size_t n, size_t *col)
{
	size_t		pos = 0;
	bool		fold = false;

	while (pos < n)
	{
		size_t		room = fold ? EW_LINE - 1 : (*col + 1 < EW_LINE ? EW_LINE - 1 - *col : 0);
		size_t		maxbytes = room >= EW_OVERHEAD ? (room - EW_OVERHEAD) / 4 * 3 : 0;
		size_t		take = 0;

		while (pos + take < n)
		{
			size_t		l = utf8_seq((const unsigned char *) s + pos + take,
									 n - pos - take);

			if (l == 0)
				l = 1;
			if (take + l > maxbytes)
				break;
			take += l;
		}
		if (take == 0 && !fold)
		{
			fold = true;
			continue;
		}
		if (fold)
		{
			an_buf_put(b, "\r\n", 2);
			*col = 0;
		}
		buf_puts(b, " " EW_PREFIX);
		put_base64(b, (const unsigned char *) s + pos, take);
		buf_puts(b, EW_SUFFIX);
		*col += 1 + EW_OVERHEAD + (take + 2) / 3 * 4;
		pos += take;
		fold = true;
	}
}

/* append " " + value as unstructured text (folded ASCII or encoded-words) */
static void
put_unstructured(mime_buf *b, const char *s, size_t n, size_t *col)
{
	size_t		mark = b->len;
	size_t		col0 = *col;

	if (n == 0)
		return;
	if (plain_ascii(s, n) && put_folded(b, s, n, col))
		return;
	if (b->rc != AN_OK)
		return;
	b->len = mark;
	*col = col0;
	put_encoded_words(b, s, n, col);
}

/* append "Name:" + unstructured value + CRLF */
static void
put_header(mime_buf *b, const char *name, const char *value)
{
	size_t		col = strlen(name) + 1;

	buf_puts(b, name);
	buf_putc(b, ':');
	put_unstructured(b, value, strlen(value), &col);
	an_buf_put(b, "\r\n", 2);
}

/*
 * Append "Name:" + address + CRLF for a checked address: " addr-spec"
 * without a display name, else " phrase <addr-spec>" with the phrase as
 * atoms, a quoted-string or encoded-words (see mime.h).
 */
static void
put_address(mime_buf *b, const char *hname, const char *what, const char *addr)
{
	const char *name;
	const char *spec;
	size_t		namelen;
	size_t		speclen;
	size_t		col = strlen(hname) + 1;
	size_t		rawlen = 0;
	size_t		plen = 0;
	size_t		mark;
	size_t		i;
	char	   *tmp;
	char	   *raw;
	char	   *phrase;
	bool		atoms = true;

	buf_puts(b, hname);
	buf_putc(b, ':');
	if (b->rc != AN_OK ||
		mime_split_address(what, addr, &name, &namelen, &spec, &speclen,
						   NULL, 0) != AN_OK)
		return;
	if (namelen == 0)
	{
		buf_putc(b, ' ');
		an_buf_put(b, spec, speclen);
		an_buf_put(b, "\r\n", 2);
		return;
	}

	/* raw: the name unquoted; phrase: its rendering + " <spec>" */
	tmp = an_alloc(b->a, namelen + 2 * namelen + speclen + 8);
	if (tmp == NULL)
	{
		b->rc = an_set_error(b->err, b->errlen, AN_ENOMEM,
							 "out of memory composing a message");
		return;
	}
	raw = tmp;
	phrase = tmp + namelen;
	if (name[0] == '"')
	{
		for (i = 1; i < namelen - 1; i++)
		{
			if (name[i] == '\\')
				i++;
			raw[rawlen++] = name[i];
		}
	}
	else
	{
		memcpy(raw, name, namelen);
		rawlen = namelen;
	}
	for (i = 0; i < rawlen; i++)
		if (raw[i] != ' ' && !is_atext((unsigned char) raw[i]))
			atoms = false;
	if (rawlen > 0 && (raw[0] == ' ' || raw[rawlen - 1] == ' '))
		atoms = false;

	mark = b->len;
	if (rawlen > 0 && plain_ascii(raw, rawlen))
	{
		if (atoms)
		{
			memcpy(phrase, raw, rawlen);
			plen = rawlen;
		}
		else
		{
			phrase[plen++] = '"';
			for (i = 0; i < rawlen; i++)
			{
				if (raw[i] == '"' || raw[i] == '\\')
					phrase[plen++] = '\\';
				phrase[plen++] = raw[i];
			}
			phrase[plen++] = '"';
		}
		phrase[plen++] = ' ';
		phrase[plen++] = '<';
		memcpy(phrase + plen, spec, speclen);
		plen += speclen;
		phrase[plen++] = '>';
		if (put_folded(b, phrase, plen, &col))
		{
			an_free(b->a, tmp);
			an_buf_put(b, "\r\n", 2);
			return;
		}
		b->len = mark;
		col = strlen(hname) + 1;
	}
	if (rawlen == 0)
	{
		/* "" <spec>: nothing to show */
		buf_putc(b, ' ');
	}
	else
	{
		put_encoded_words(b, raw, rawlen, &col);
		if (col + 2 + speclen + 1 > EW_LINE)
			an_buf_put(b, "\r\n ", 3);
		else
			buf_putc(b, ' ');
	}
	buf_putc(b, '<');
	an_buf_put(b, spec, speclen);
	buf_puts(b, ">\r\n");
	an_free(b->a, tmp);
}

/* one encoded, folded header field (see mime.h) */
int
mime_encode_header(const char *name, const char *value, char **out,
				   size_t *outlen, const an_allocator *a, char *err,
				   size_t errlen)
{
	mime_buf	b;
	char		what[MIME_MAX_HEADER_NAME + 16];
	int			rc;

	*out = NULL;
	*outlen = 0;
	rc = check_name_syntax(name, err, errlen);
	if (rc != AN_OK)
		return rc;
	snprintf(what, sizeof(what), "header \"%s\"", name);
	rc = mime_check_header_value(what, value, err, errlen);
	if (rc != AN_OK)
		return rc;
	an_buf_init(&b, MIME_MAX_MESSAGE, "message", a, err, errlen);
	put_header(&b, name, value);
	return buf_finish(&b, out, outlen);
}

/* ---------------------------------------------------------------------
 * quoted-printable
 * ---------------------------------------------------------------------
 */

/* does in[i..n) start with a hard line break (LF or CRLF)? its length */
static size_t
line_break_at(const char *in, size_t n, size_t i)
{
	if (i >= n)
		return 0;
	if (in[i] == '\n')
		return 1;
	if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
		return 2;
	return 0;
}

/* append the quoted-printable of in[0..n) (see mime.h) */
static void
put_qp(mime_buf *b, const char *in, size_t n)
{
	size_t		i = 0;
	size_t		col = 0;
	size_t		tick = 0;

	while (i < n && b->rc == AN_OK)
	{
		unsigned char c = (unsigned char) in[i];
		size_t		brk = line_break_at(in, n, i);
		size_t		tl;
		size_t		w;
		size_t		k;
		bool		last;
		bool		esc;

		if (i >= tick)
		{
			an_check_interrupts(b->a);
			tick = i + QP_TICK;
		}
		if (brk > 0)
		{
			an_buf_put(b, "\r\n", 2);
			col = 0;
			i += brk;
			continue;
		}
		/* one token: a byte, or the bytes of one valid UTF-8 character */
		tl = c >= 0x80 ? utf8_seq((const unsigned char *) in + i, n - i) : 1;
		if (tl == 0)
			tl = 1;
		last = i + tl == n || line_break_at(in, n, i + tl) > 0;
		for (;;)
		{
			if (tl > 1 || c == '=' || c > 126 || (c < 33 && c != ' ' && c != '\t'))
				esc = true;
			else if (c == ' ' || c == '\t')
				esc = last;
			else if (col == 0 && c == '.')
				esc = true;
			else if (col == 0 && c == 'F' && n - i >= 5 &&
					 memcmp(in + i, "From ", 5) == 0)
				esc = true;
			else
				esc = false;
			w = esc ? 3 * tl : 1;
			/* a non-last token must leave room for a soft break's '=' */
			if (col + w + (last ? 0 : 1) <= QP_LINE)
				break;
			an_buf_put(b, "=\r\n", 3);
			col = 0;
		}
		if (esc)
		{
			for (k = 0; k < tl; k++)
			{
				unsigned char x = (unsigned char) in[i + k];
				char		e[3];

				e[0] = '=';
				e[1] = hexdig[x >> 4];
				e[2] = hexdig[x & 15];
				an_buf_put(b, e, 3);
			}
		}
		else
			buf_putc(b, (char) c);
		col += w;
		i += tl;
	}
}

/* quoted-printable of any bytes into a new buffer (see mime.h) */
int
mime_qp_encode(const char *in, size_t len, char **out, size_t *outlen,
			   const an_allocator *a, char *err, size_t errlen)
{
	mime_buf	b;

	*out = NULL;
	*outlen = 0;
	an_buf_init(&b, MIME_MAX_MESSAGE, "message", a, err, errlen);
	put_qp(&b, in, len);
	return buf_finish(&b, out, outlen);
}

/* ---------------------------------------------------------------------
 * composition
 * ---------------------------------------------------------------------
 */

/* check every field of m */
static int
check_message(const mime_message *m, char *err, size_t errlen)
{
	char		what[MIME_MAX_HEADER_NAME + 16];
	size_t		bad;
	int			rc;
	int			i;

	if (m == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "message is missing");
	if ((rc = mime_check_address("from", m->from, err, errlen)) != AN_OK ||
		(rc = mime_check_address("to", m->to, err, errlen)) != AN_OK ||
		(rc = mime_check_header_value("subject", m->subject, err, errlen)) != AN_OK ||
		(rc = check_message_id(m->message_id, err, errlen)) != AN_OK)
		return rc;
	if (m->body_text == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "body_text is missing");
	if (!utf8_valid(m->body_text, strlen(m->body_text), &bad))
		return an_set_error(err, errlen, AN_EINVAL,
							"body_text is not valid UTF-8 at byte %zu", bad);
	if (m->body_html != NULL &&
		!utf8_valid(m->body_html, strlen(m->body_html), &bad))
		return an_set_error(err, errlen, AN_EINVAL,
							"body_html is not valid UTF-8 at byte %zu", bad);
	if (m->nheaders < 0 || (m->nheaders > 0 && m->headers == NULL))
		return an_set_error(err, errlen, AN_EINVAL, "invalid extra header list");
	for (i = 0; i < m->nheaders; i++)
	{
		rc = mime_check_header_name(m->headers[i].name, err, errlen);
		if (rc != AN_OK)
			return rc;
		snprintf(what, sizeof(what), "header \"%s\"", m->headers[i].name);
		rc = mime_check_header_value(what, m->headers[i].value, err, errlen);
		if (rc != AN_OK)
			return rc;
	}
	return AN_OK;
}

/* append the headers and quoted-printable body of one text part */
static void
put_part(mime_buf *b, const char *subtype, const char *body)
{
	buf_puts(b, "Content-Type: text/");
	buf_puts(b, subtype);
	buf_puts(b, "; charset=UTF-8\r\n"
			 "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	put_qp(b, body, strlen(body));
}

/* check the whole message, then write it (see mime.h) */
int
mime_compose(const mime_message *m, char **out, size_t *outlen,
			 const an_allocator *a, char *err, size_t errlen)
{
	mime_buf	b;
	char		date[MIME_DATE_LEN];
	char		boundary[MIME_BOUNDARY_LEN];
	int			rc;
	int			i;

	*out = NULL;
	*outlen = 0;
	rc = check_message(m, err, errlen);
	if (rc != AN_OK)
		return rc;
	rc = mime_format_date(m->date_unix, date, sizeof(date), err, errlen);
	if (rc != AN_OK)
		return rc;
	mime_boundary(m->boundary_seed ? m->boundary_seed : m->message_id, boundary);

	an_buf_init(&b, MIME_MAX_MESSAGE, "message", a, err, errlen);
	buf_puts(&b, "Date: ");
	buf_puts(&b, date);
	an_buf_put(&b, "\r\n", 2);
	put_address(&b, "From", "from", m->from);
	put_address(&b, "To", "to", m->to);
	put_header(&b, "Subject", m->subject);
	buf_puts(&b, "Message-ID: <");
	buf_puts(&b, m->message_id);
	buf_puts(&b, ">\r\nMIME-Version: 1.0\r\n");
	for (i = 0; i < m->nheaders; i++)
		put_header(&b, m->headers[i].name, m->headers[i].value);
	if (m->body_html == NULL)
	{
		put_part(&b, "plain", m->body_text);
		if (b.rc == AN_OK && (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0))
			an_buf_put(&b, "\r\n", 2);
	}
	else
	{
		buf_puts(&b, "Content-Type: multipart/alternative; boundary=\"");
		buf_puts(&b, boundary);
		buf_puts(&b, "\"\r\n\r\n--");
		buf_puts(&b, boundary);
		an_buf_put(&b, "\r\n", 2);
		put_part(&b, "plain", m->body_text);
		buf_puts(&b, "\r\n--");
		buf_puts(&b, boundary);
		an_buf_put(&b, "\r\n", 2);
		put_part(&b, "html", m->body_html);
		buf_puts(&b, "\r\n--");
		buf_puts(&b, boundary);
		buf_puts(&b, "--\r\n");
	}
	return buf_finish(&b, out, outlen);
}
