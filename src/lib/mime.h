/*
 * mime.h
 *		RFC 5322 / MIME composition of the messages the transactional email
 *		feature sends.  Pure C; see mime.c.
 *
 * mime_compose turns a mime_message into the exact bytes handed to SMTP
 * DATA (before dot-stuffing, which the quoted-printable bodies make
 * unnecessary): CRLF line endings, headers in the order Date, From, To,
 * Subject, Message-ID, MIME-Version, the extra headers as given, then
 * Content-Type (and Content-Transfer-Encoding for a single part).
 *
 *	- Unstructured values (Subject, extra headers) that are printable ASCII
 *	  (TAB allowed) and contain no "=?" are written as they are, folded at
 *	  whitespace so that lines stay within 78 characters where a fold point
 *	  exists.  Any other value, and one that would need a line over 998
 *	  characters, becomes RFC 2047 encoded-words =?UTF-8?B?...?=, each at
 *	  most 75 characters, never splitting a UTF-8 character, separated by
 *	  CRLF SP, every line of them at most 76 characters.
 *	- From and To: "addr-spec" or "Display Name <addr-spec>"; the display
 *	  name may be a quoted-string ("Doe, John" <j@example.com>).  A
 *	  printable-ASCII name is written as atoms when it only has atext and
 *	  spaces, otherwise as a quoted-string; a non-ASCII name (or one with
 *	  "=?") as encoded-words.
 *	- Bodies are quoted-printable (see mime_qp_encode).  Text only: one
 *	  text/plain part.  Text and HTML: multipart/alternative without a
 *	  preamble, text/plain first, text/html second.  The boundary is
 *	  MIME_BOUNDARY_PREFIX followed by the 16 lowercase hex digits of the
 *	  64-bit FNV-1a hash of boundary_seed (message_id when NULL).
 *
 * Every string is NUL-terminated UTF-8.  Messages name the field ("from
 * address", "subject", "header \"X-Tag\"", "body_text") and give 0-based
 * byte offsets.
 */
#ifndef ANALYTICS_MIME_H
#define ANALYTICS_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

/* largest output of mime_compose, mime_qp_encode, mime_encode_header */
#define MIME_MAX_MESSAGE		(64 * 1024 * 1024)
/* longest extra header name ("Name:" alone fits a 78-character line) */
#define MIME_MAX_HEADER_NAME	77
/* longest message_id (without the angle brackets) */
#define MIME_MAX_MESSAGE_ID		250
/* buffer sizes, NUL included */
#define MIME_DATE_LEN			32
#define MIME_BOUNDARY_LEN		29
#define MIME_MESSAGE_ID_LEN		(MIME_MAX_MESSAGE_ID + 1)
#define MIME_DOMAIN_LEN			256
#define MIME_BOUNDARY_PREFIX	"=_analytics_"
/* dates mime_format_date accepts: 1900-01-01 00:00:00 .. 9999-12-31 23:59:59 UTC */
#define MIME_DATE_MIN			INT64_C(-2208988800)
#define MIME_DATE_MAX			INT64_C(253402300799)

typedef struct mime_header
{
	const char *name;
	const char *value;
} mime_header;

typedef struct mime_message
{
	const char *from;			/* "Name <addr@host>" or "addr@host" */
	const char *to;				/* one recipient, same forms */
	const char *subject;		/* UTF-8, required (may be empty) */
	const char *body_text;		/* UTF-8, required */
	const char *body_html;		/* UTF-8 or NULL (no HTML part) */
	const char *message_id;		/* without angle brackets: "42.a1b2@example.com" */
	int64_t		date_unix;		/* seconds since the epoch, written in UTC */
	const mime_header *headers; /* extra headers, in order */
	int			nheaders;
	const char *boundary_seed;	/* boundary material; NULL: message_id */
} mime_message;

/*
 * A header value (what names it in the message): AN_EINVAL when it contains
 * CR or LF ("... contains a line break at byte N"), another C0 control
 * except TAB or DEL, or invalid UTF-8.
 */
extern int	mime_check_header_value(const char *what, const char *value,
									char *err, size_t errlen);

/*
 * An extra header name: non-empty, at most MIME_MAX_HEADER_NAME bytes of
 * RFC 5322 ftext (printable ASCII 33..126 except ':'), and none of the
 * names the composer writes itself: From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Type, Content-Transfer-Encoding (any case).
 */
extern int	mime_check_header_name(const char *name, char *err, size_t errlen);

/*
 * Split and check an address ("what address ..." in messages): either an
 * addr-spec or "Display Name <addr-spec>", surrounding blanks ignored.
 * *name / *namelen receive the display name as written (trimmed; a
 * quoted-string keeps its quotes; length 0 when absent) and *spec /
 * *speclen the addr-spec, both pointing into addr.  The addr-spec is
 * ASCII: a dot-atom local part (atext and '.') or a quoted-string one, one
 * '@', and a domain of letter/digit/hyphen labels separated by dots or a
 * [literal]; at most 64 + 1 + 255 and 254 bytes in all.  The whole
 * address must pass mime_check_header_value; a display name starting with
 * '"' must be exactly one quoted-string.
 */
extern int	mime_split_address(const char *what, const char *addr,
							   const char **name, size_t *namelen,
							   const char **spec, size_t *speclen,
							   char *err, size_t errlen);

/* mime_split_address without the parts */
extern int	mime_check_address(const char *what, const char *addr,
							   char *err, size_t errlen);

/*
 * The domain of an address (its addr-spec after the '@'), NUL-terminated
 * into buf (MIME_DOMAIN_LEN is always enough).
 */
extern int	mime_address_domain(const char *addr, char *buf, size_t buflen,
								char *err, size_t errlen);

/*
 * A Message-ID (without angle brackets) for message id, a salt that tells
 * apart the senders sharing a domain (NULL or "" for none) and the
 * sender's domain: "<id>.<h>@<domain>", id in decimal, h the 16 lowercase
 * hex digits of the 64-bit FNV-1a hash of the string "<id>.<salt>@<domain>"
 * ("<id>@<domain>" without a salt).  The same id, salt and domain always
 * give the same Message-ID, so a retried send keeps it.  buf needs
 * MIME_MESSAGE_ID_LEN bytes at most.
 */
extern int	mime_message_id(int64_t id, const char *salt, const char *domain,
							char *buf, size_t buflen, char *err, size_t errlen);

/*
 * The boundary for seed, NUL-terminated into buf (MIME_BOUNDARY_LEN
 * bytes): MIME_BOUNDARY_PREFIX + 16 lowercase hex digits of FNV-1a-64.
 */
extern void mime_boundary(const char *seed, char *buf);

/*
 * RFC 5322 date-time of t in UTC, e.g. "Thu, 01 Jan 1970 00:00:00 +0000",
 * into buf (MIME_DATE_LEN bytes).  AN_EINVAL outside MIME_DATE_MIN ..
 * MIME_DATE_MAX (four-digit years from 1900).
 */
extern int	mime_format_date(int64_t t, char *buf, size_t buflen,
							 char *err, size_t errlen);

/*
 * Quoted-printable (RFC 2045 section 6.7) of len bytes (any bytes):
 *	- LF and CRLF are hard line breaks, written CRLF; a lone CR is =0D;
 *	- '=', bytes below 33 other than SP and TAB, and bytes above 126 are
 *	  =XX (uppercase hex); SP and TAB before a line break or at the end of
 *	  the input are =20 / =09;
 *	- a '.' starting an output line is =2E (SMTP dot-stuffing never
 *	  applies) and the 'F' of "From " starting an output line is =46
 *	  (mbox);
 *	- soft line breaks "=" CRLF keep every output line within 76
 *	  characters; the escapes of one UTF-8 character (of a valid sequence)
 *	  stay on one line, so an escape is never split either.
 * The output ends with CRLF exactly when the input ends with a line
 * break.  *out (NUL-terminated, *outlen bytes) is allocated with a; the
 * caller frees it.
 */
extern int	mime_qp_encode(const char *in, size_t len, char **out,
						   size_t *outlen, const an_allocator *a,
						   char *err, size_t errlen);

/*
 * One header field "Name: value" CRLF with value encoded and folded as
 * unstructured text (see the top of this file).  The name is checked as
 * in mime_check_header_name except that owned names are allowed.
 */
extern int	mime_encode_header(const char *name, const char *value,
							   char **out, size_t *outlen,
							   const an_allocator *a, char *err, size_t errlen);

/*
 * Check m and compose the message.  *out (NUL-terminated, *outlen bytes,
 * ending with CRLF) is allocated with a; the caller frees it.  AN_EINVAL
 * for an invalid field (message names it), AN_ENOMEM, AN_ELIMIT past
 * MIME_MAX_MESSAGE; on error *out is NULL and nothing stays allocated.
 */
extern int	mime_compose(const mime_message *m, char **out, size_t *outlen,
						 const an_allocator *a, char *err, size_t errlen);

#endif							/* ANALYTICS_MIME_H */
