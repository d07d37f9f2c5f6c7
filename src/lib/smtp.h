/*
 * smtp.h
 *		An SMTP sender over libcurl's multi interface, for the background
 *		worker that delivers the transactional email.  Plain C and libcurl;
 *		see smtp.c.
 *
 * An smtp_client holds the configuration, one CURLM and a pool of
 * max_connections easy handles.  smtp_send_batch runs up to
 * max_connections transfers at once (one message, one envelope sender,
 * one recipient each), paced by rate_limit, and reports one smtp_result
 * per message.  Connections stay in the multi's connection cache between
 * messages and batches.  libcurl 7.88 sends the next MAIL FROM on a
 * connection whose last transaction ended with the reply to the end of
 * data, whatever that reply was (no RSET); it closes, after QUIT, a
 * connection on which MAIL FROM, RCPT TO or DATA was refused or that
 * failed otherwise.  It finds a cached connection the server has closed
 * since (an idle timeout) dead and opens a new one; when the server closes
 * it at the very moment it is taken (a 421 after the end of data), the
 * message fails before any reply and is started once more on a new
 * connection.  libcurl also keeps a connection on which the reply to the
 * end of data never came (a timeout), which would put every later reply
 * on it out of step; the module shuts such a connection down.
 *
 * Outcomes (code is the SMTP reply code that decided, 0 when no reply did):
 *	- SMTP_SENT: the reply to the end of data was 250 (libcurl accepts no
 *	  other); code 250, detail the reply ("250 2.0.0 Ok: queued as ...").
 *	- SMTP_BOUNCE: a 5xx reply to RCPT TO or to the end of data (libcurl
 *	  7.88: CURLE_SEND_ERROR "RCPT failed: 550", CURLE_WEIRD_SERVER_REPLY
 *	  with no message), or 552 to MAIL FROM (RFC 1870: the message exceeds
 *	  the server's SIZE limit); detail the server's reply.  Also a message
 *	  the module refuses to send, code 0: an address that is empty (the
 *	  recipient), or contains a control character, a non-ASCII byte, '<'
 *	  or '>' (it would not survive, or would inject, an SMTP command); data
 *	  with a CR or LF outside a CRLF pair (libcurl dot-stuffs only after
 *	  CRLF: a bare "LF . LF" could end the data early at a lenient server).
 *	- SMTP_TEMPFAIL, retry later: any 4xx reply (421 included); a 5xx
 *	  reply to the greeting, EHLO/HELO, STARTTLS, AUTH, MAIL FROM or DATA
 *	  (a server or configuration problem, not this message's: "MAIL
 *	  failed: 530" when authentication is required); detail the server's
 *	  reply.  An authentication failure without a 4xx/5xx reply
 *	  (CURLE_LOGIN_DENIED), TLS required but not offered
 *	  (CURLE_USE_SSL_FAILED) and every transport error (connection refused
 *	  or dropped, a reply never coming, a timeout): code 0, detail
 *	  libcurl's message and where the conversation was ("response reading
 *	  failed (errno: 115) (waiting for the reply to the end of data)",
 *	  "failed to connect to ... Couldn't connect to server").  The
 *	  transfers an interrupt aborted: code 0, "interrupted", or, aborted
 *	  while waiting for the reply to the end of data, a text saying the
 *	  message may have been delivered; the messages not started then:
 *	  "interrupted before sending".
 * detail is at most SMTP_DETAIL_LEN - 1 bytes of printable ASCII (other
 * bytes become '?'), never contains the password (it is only ever built
 * from replies and libcurl's error text, and every occurrence is masked
 * anyway), and holds the lines of a multi-line reply joined by spaces.
 *
 * Duplicates: a TEMPFAIL after the end of data was sent (the connection
 * dropped, the reply timed out, an interrupt) may be a delivered message;
 * retrying sends it again, as with every SMTP client (RFC 1047).
 *
 * Blocking: the batch loop waits at most 100 ms in curl_multi_poll and
 * calls interrupted between waits.  But libcurl 7.88 waits blocking (the
 * whole multi stands still) for the reply to the end of data, and for the
 * reply to the QUIT it sends before closing a connection: a server slow
 * to accept messages (a before-queue content filter) serializes the
 * transfers, whatever max_connections says.  During those waits libcurl
 * calls the progress callback about once a second, and at once when a
 * signal interrupts its poll (as PostgreSQL's signals do), and that calls
 * interrupted.  Each wait is bounded by timeout_ms rounded up to seconds
 * (CURLOPT_SERVER_RESPONSE_TIMEOUT; libcurl's default of 120 s when
 * timeout_ms is 0).
 *
 * Interrupts: libcurl 7.88 ends an SMTP upload removed from the multi
 * while in flight as if it were complete (it sends the end of data, so
 * the server delivers a truncated or empty message), so the module never
 * does that.  It shuts down (shutdown(2)) every socket of the client
 * instead, sockets it tracks through CURLOPT_OPENSOCKETFUNCTION and
 * CURLOPT_CLOSESOCKETFUNCTION: the transfers in flight then fail with no
 * end of data, in one pass of curl_multi_perform.
 *
 * Process and thread rules: the caller calls curl_global_init once per
 * process before the first smtp_client_create (libcurl's global state is
 * not thread-safe to set up) and curl_global_cleanup, if at all, after
 * the last smtp_client_destroy.  One client is used by one thread at a
 * time (Debian's libcurl resolves host names in a helper thread of its
 * own, which runs no code of ours).  Every transfer sets CURLOPT_NOSIGNAL:
 * libcurl installs no signal handler and raises no SIGALRM; it writes to
 * sockets with MSG_NOSIGNAL, but the process should ignore SIGPIPE anyway
 * (PostgreSQL's processes do).
 *
 * Memory: the client and its copies of the configuration strings come
 * from the an_allocator given to smtp_client_create, which must outlive
 * the client (inside PostgreSQL: a memory context that lives as long as
 * the worker), as do the envelope strings built per message; libcurl
 * allocates its own state with malloc.  The module never calls the
 * allocator's check_interrupts (it may not return, which would leave
 * libcurl state behind); interrupted is the way to stop a batch.
 */
#ifndef ANALYTICS_SMTP_H
#define ANALYTICS_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define SMTP_DETAIL_LEN			256
/* most transfers in flight per client */
#define SMTP_MAX_CONNECTIONS	64
/* the longest url accepted */
#define SMTP_MAX_URL			2048

/* STARTTLS policy (CURLOPT_USE_SSL); an smtps:// url is TLS from the start */
typedef enum smtp_tls
{
	SMTP_TLS_NONE,				/* never STARTTLS (CURLUSESSL_NONE) */
	SMTP_TLS_TRY,				/* STARTTLS when offered (CURLUSESSL_TRY) */
	SMTP_TLS_REQUIRED			/* STARTTLS or fail (CURLUSESSL_ALL) */
} smtp_tls;

typedef struct smtp_config
{
	/*
	 * smtp://host[:port][/ehlo-domain] or smtps://...; no user:password@
	 * (see smtp_check_url).  Without an ehlo-domain libcurl says EHLO with
	 * the local host name.
	 */
	const char *url;
	smtp_tls	starttls;
	/*
	 * PEM file of the certificate authorities that may sign the server's
	 * certificate (CURLOPT_CAINFO); NULL or "": libcurl's default bundle.
	 * The certificate and the host name are always verified.
	 */
	const char *ca_file;
	const char *username;		/* NULL or "": no AUTH */
	const char *password;		/* NULL: "" */
	long		connect_timeout_ms; /* >= 0, 0: libcurl's default (300 s) */
	long		timeout_ms;		/* whole transfer, >= 0, 0: no limit */
	int			max_connections;	/* transfers at once, 1 ..
									 * SMTP_MAX_CONNECTIONS */

	/*
	 * Messages started per second, 0: unlimited.  The n-th start (from 0)
	 * is not before t0 + n / rate_limit, t0 being the first start of the
	 * client's lifetime, or of the batch when the client was idle longer
	 * than one interval (no burst after a pause).
	 */
	double		rate_limit;
} smtp_config;

typedef struct smtp_message
{
	int64_t		id;				/* caller's id, copied to the result */
	const char *from;			/* bare envelope sender "a@b.example"; NULL
								 * or "": the null sender <> */
	const char *rcpt;			/* bare envelope recipient */

	/*
	 * The whole RFC 5322 message, CRLF line ends, not dot-stuffed (libcurl
	 * stuffs and adds the final CRLF "." CRLF, and a CRLF first when data
	 * does not end with one).  Streamed from here, not copied: it must stay
	 * valid during smtp_send_batch.  May be NULL when len is 0.
	 */
	const char *data;
	size_t		len;
} smtp_message;

typedef enum smtp_outcome
{
	SMTP_SENT,					/* 250 after the data */
	SMTP_TEMPFAIL,				/* retry later (see the top of this file) */
	SMTP_BOUNCE					/* refused permanently */
} smtp_outcome;

typedef struct smtp_result
{
	int64_t		id;
	smtp_outcome outcome;
	int			code;			/* deciding SMTP reply code, 0: none */
	char		detail[SMTP_DETAIL_LEN];	/* reply or libcurl's error */
} smtp_result;

typedef struct smtp_client smtp_client;

/*
 * Check a server url: scheme smtp or smtps (any case), a host name, IPv4
 * address or [IPv6 address], an optional port 1..65535, an optional path
 * (the EHLO domain); no user information (user:password@: the credentials
 * are set separately), query or fragment; printable ASCII without spaces,
 * at most SMTP_MAX_URL bytes.  AN_EINVAL with a message otherwise.
 * Touches no libcurl state (usable before curl_global_init).
 */
extern int	smtp_check_url(const char *url, char *err, size_t errlen);

/*
 * A client for cfg (strings copied), allocating with a.  AN_EINVAL for an
 * invalid configuration (message says which field), AN_ENOMEM (also when
 * libcurl cannot create its handles).  No connection is made yet.
 */
extern int	smtp_client_create(const smtp_config *cfg, const an_allocator *a,
							   smtp_client **out, char *err, size_t errlen);

/*
 * Send msgs[0..n-1], filling results[i] for msgs[i] (any order of
 * completion).  interrupted (may be NULL) is called from the batch loop at
 * least every 100 ms and from libcurl's progress callback (see "Blocking"
 * above); once it returns true the sockets are shut down (see
 * "Interrupts"), the transfers in flight fail within a pass or two of
 * the loop (at most 1.5 s later they are removed all the same), and they
 * and the messages not yet started are reported SMTP_TEMPFAIL.  It must
 * only test a flag: no longjmp, no ereport, no calls into the client.
 *
 * Returns AN_OK with every result filled, or before sending anything
 * AN_EINVAL for invalid arguments (msgs or results NULL when n > 0, a NULL
 * rcpt, NULL data with len > 0, the client already inside a batch).  A
 * libcurl failure of the batch machinery itself (out of memory in
 * libcurl: AN_ENOMEM, another CURLM error: AN_EINVAL) aborts the
 * transfers in flight and still fills every result (SMTP_TEMPFAIL with
 * the error for the ones not finished); the client stays usable.
 */
extern int	smtp_send_batch(smtp_client *c, const smtp_message *msgs, size_t n,
							smtp_result *results,
							bool (*interrupted) (void *ctx), void *ctx,
							char *err, size_t errlen);

/*
 * Close the cached connections (QUIT to each, see "Blocking" above) and
 * free everything.  NULL is allowed.
 */
extern void smtp_client_destroy(smtp_client *c);

#endif							/* ANALYTICS_SMTP_H */
