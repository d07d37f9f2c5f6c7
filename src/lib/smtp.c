/*
 * smtp.c
 *		SMTP sending over libcurl's multi interface (see smtp.h).
 *
 * Each easy handle of the pool ("slot") carries one message at a time.
 * Its debug callback (CURLOPT_VERBOSE with CURLOPT_DEBUGFUNCTION, so
 * nothing reaches stderr) watches the conversation: the verb of every
 * command sent (CURLINFO_HEADER_OUT; only its first bytes are looked at
 * and nothing of it is kept, as AUTH lines carry credentials) and every
 * reply line received (CURLINFO_HEADER_IN), so that a failure can be
 * pinned on the command whose reply ended the transaction: the end of
 * data ends libcurl 7.88's transfer with CURLE_WEIRD_SERVER_REPLY and no
 * message at all, and CURLE_SEND_ERROR means "MAIL/RCPT/DATA failed" as
 * well as a socket write error.  CURLINFO_RESPONSE_CODE gives the deciding
 * code (libcurl does not update it for the reply to QUIT).
 *
 * The debug callback ignores everything after QUIT: libcurl closes a
 * connection whose transaction failed before the transfer is reported
 * done, sending QUIT and reading "221" on the way, and that reply must
 * not replace the one that failed the message.
 *
 * A transfer in flight is never removed from the multi before its sockets
 * are shut down (smtp.h, "Interrupts"): removal would send the end of
 * data.  Removing a transfer libcurl reported done is safe.
 */
#include "smtp.h"

#include <curl/curl.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* longest wait in curl_multi_poll, and between calls of interrupted */
#define POLL_MS			100
/* least time between calls of interrupted from the progress callback */
#define PROGRESS_POLL_S 0.02
/* how long an interrupted batch waits for its transfers to fail */
#define STOP_GRACE_S	1.5

/* the command a reply answers */
typedef enum smtp_cmd
{
	CMD_CONNECT,				/* the greeting */
	CMD_HELO,					/* EHLO or HELO */
	CMD_STARTTLS,
	CMD_AUTH,					/* AUTH and its continuation lines */
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,					/* the DATA command (354 expected) */
	CMD_EOD,					/* the end of data, after 354 */
	CMD_OTHER
} smtp_cmd;

typedef struct smtp_slot
{
	smtp_client *client;
	CURL	   *easy;
	struct curl_slist *rcpt;	/* this transfer's recipient list */
	bool		busy;
	bool		retried;		/* restarted after a stale connection */
	size_t		index;			/* message in the batch */

	/* what the read callback streams */
	const char *data;
	size_t		len;
	size_t		pos;

	/* the conversation so far (debug callback) */
	smtp_cmd	cmd;			/* last command sent before any QUIT */
	bool		quit_sent;		/* libcurl is closing the connection */
	bool		reply_open;		/* inside a multi-line reply */
	int			last_code;		/* code of the last complete reply, 0 */
	smtp_cmd	reply_cmd;		/* the command it answered */
	char		reply[SMTP_DETAIL_LEN]; /* its lines, sanitized */
	size_t		replylen;

	char		errbuf[CURL_ERROR_SIZE];
} smtp_slot;

struct smtp_client
{
	const an_allocator *a;
	char	   *url;
	char	   *ca_file;		/* NULL: libcurl's default */
	char	   *username;		/* NULL: no AUTH */
	char	   *password;
	smtp_tls	starttls;
	long		connect_timeout_ms;
	long		timeout_ms;
	double		interval;		/* seconds between starts, 0: unlimited */
	bool		paced;			/* next_start is meaningful */
	double		next_start;		/* monotonic seconds */

	CURLM	   *multi;
	smtp_slot  *slots;
	int			nslots;

	/* the sockets libcurl has open for this client (socket callbacks) */
	curl_socket_t *socks;
	int			nsocks;
	int			maxsocks;

	/* during a batch */
	bool		in_batch;
	bool		(*interrupted) (void *ctx);
	void	   *ictx;
	bool		stop;			/* interrupted returned true */
	double		last_poll;		/* when interrupted was last called */
};

/* ---------------------------------------------------------------------
 * small helpers
 * ---------------------------------------------------------------------
 */

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *
dup_string(const an_allocator *a, const char *s)
{
	size_t		len = strlen(s);
	char	   *d = an_alloc(a, len + 1);

	if (d)
		memcpy(d, s, len + 1);
	return d;
}

/*
 * Append n bytes of s to dst (holding *len bytes, room for
 * SMTP_DETAIL_LEN), as printable ASCII: other bytes become '?'.  Always
 * NUL-terminates.
 */
static void
detail_append(char *dst, size_t *len, const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n && *len < SMTP_DETAIL_LEN - 1; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		dst[(*len)++] = (ch >= 0x20 && ch < 0x7f) ? (char) ch : '?';
	}
	dst[*len] = '\0';
}

/* replace every occurrence of the password in detail by "***" */
static void
detail_scrub(char *detail, const char *password)
{
	size_t		plen;
	char	   *from = detail;
	char	   *p;

	if (password == NULL || *password == '\0')
		return;
	plen = strlen(password);
	while ((p = strstr(from, password)) != NULL)
	{
		if (plen >= 3)
		{
			memcpy(p, "***", 3);
			memmove(p + 3, p + plen, strlen(p + plen) + 1);
			from = p + 3;
		}
		else
		{
			/* shorter than "***": mask it in place */
			memset(p, '*', plen);
			from = p + plen;
		}
	}
}

/* where the conversation of s was, for a transport error; NULL: nowhere */
static const char *
slot_phase(const smtp_slot *s)
{
	switch (s->cmd)
	{
		case CMD_HELO:
			return "after EHLO";
		case CMD_STARTTLS:
			return "after STARTTLS";
		case CMD_AUTH:
			return "during AUTH";
		case CMD_MAIL:
			return "after MAIL FROM";
		case CMD_RCPT:
			return "after RCPT TO";
		case CMD_DATA:
			return "after DATA";
		case CMD_EOD:
			return s->pos < s->len ? "while sending the message data" :
				"waiting for the reply to the end of data";
		case CMD_CONNECT:
		case CMD_OTHER:
			break;
	}
	return NULL;
}

/*
 * libcurl's error text for res into detail (lower case first letter unless
 * it starts an acronym, no trailing period), followed by where the
 * conversation was.
 */
static void
detail_curl_error(smtp_result *r, const smtp_slot *s, CURLcode res)
{
	const char *msg = s->errbuf[0] ? s->errbuf : curl_easy_strerror(res);
	const char *phase = slot_phase(s);
	size_t		len = 0;
	size_t		mlen = strlen(msg);

	while (mlen > 0 && (msg[mlen - 1] == '.' || msg[mlen - 1] == '\n' ||
						msg[mlen - 1] == ' '))
		mlen--;
	detail_append(r->detail, &len, msg, mlen);
	if (len >= 2 && isupper((unsigned char) r->detail[0]) &&
		islower((unsigned char) r->detail[1]))
		r->detail[0] = (char) tolower((unsigned char) r->detail[0]);
	if (phase)
	{
		detail_append(r->detail, &len, " (", 2);
		detail_append(r->detail, &len, phase, strlen(phase));
		detail_append(r->detail, &len, ")", 1);
	}
}

static void
result_set(smtp_result *r, smtp_outcome outcome, int code, const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

static void
result_set(smtp_result *r, smtp_outcome outcome, int code, const char *fmt,...)
{
	va_list		ap;

	r->outcome = outcome;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* AN_ENOMEM for CURLE_OUT_OF_MEMORY, otherwise AN_EINVAL, with a message */
static int
setopt_error(CURLcode res, const char *what, char *err, size_t errlen)
{
	if (res == CURLE_OUT_OF_MEMORY)
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory in libcurl setting %s", what);
	return an_set_error(err, errlen, AN_EINVAL,
						"libcurl refused %s: %s", what,
						curl_easy_strerror(res));
}

static int
multi_error(CURLMcode mc, const char *what, char *err, size_t errlen)
{
	return an_set_error(err, errlen,
						mc == CURLM_OUT_OF_MEMORY ? AN_ENOMEM : AN_EINVAL,
						"libcurl %s failed: %s", what, curl_multi_strerror(mc));
}

/* ---------------------------------------------------------------------
 * url check
 * ---------------------------------------------------------------------
 */

static bool
host_char(char ch)
{
	return isalnum((unsigned char) ch) || ch == '-' || ch == '.' || ch == '_';
}

int
smtp_check_url(const char *url, char *err, size_t errlen)
{
	const char *p;
	const char *end;			/* end of the authority */
	const char *q;
	size_t		len;
	size_t		i;

	if (url == NULL || *url == '\0')
		return an_set_error(err, errlen, AN_EINVAL, "smtp url is empty");
	len = strlen(url);
	if (len > SMTP_MAX_URL)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp url is longer than %d bytes", SMTP_MAX_URL);
	for (i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) url[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return an_set_error(err, errlen, AN_EINVAL,
								"smtp url contains a space, control or non-ASCII character at byte %zu",
								i);
	}
	if (strncasecmp(url, "smtp://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "smtps://", 8) == 0)
		p = url + 8;
	else
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp url must start with smtp:// or smtps://");
	if (strpbrk(url, "?#"))
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp url must not contain a query or fragment");
	end = p + strcspn(p, "/");
	if (memchr(p, '@', end - p))
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp url must not contain user information (set the user name and password separately)");

	/* host */
	if (*p == '[')
	{
		const char *close = memchr(p, ']', end - p);

		if (close == NULL)
			return an_set_error(err, errlen, AN_EINVAL,
								"smtp url has an unterminated [IPv6 address]");
		if (close == p + 1)
			return an_set_error(err, errlen, AN_EINVAL, "smtp url has no host");
		for (q = p + 1; q < close; q++)
			if (!isxdigit((unsigned char) *q) && *q != ':' && *q != '.')
				return an_set_error(err, errlen, AN_EINVAL,
									"smtp url host contains an invalid character at byte %zu",
									(size_t) (q - url));
		q = close + 1;
	}
	else
	{
		for (q = p; q < end && *q != ':'; q++)
			if (!host_char(*q))
				return an_set_error(err, errlen, AN_EINVAL,
									"smtp url host contains an invalid character at byte %zu",
									(size_t) (q - url));
		if (q == p)
			return an_set_error(err, errlen, AN_EINVAL, "smtp url has no host");
	}

	/* port */
	if (q < end)
	{
		long		port = 0;
		const char *d;

		if (*q != ':')
			return an_set_error(err, errlen, AN_EINVAL,
								"smtp url has an invalid character after the host at byte %zu",
								(size_t) (q - url));
		for (d = q + 1; d < end; d++)
		{
			if (!isdigit((unsigned char) *d) || d - q > 5)
				break;
			port = port * 10 + (*d - '0');
		}
		if (d != end || d == q + 1 || port < 1 || port > 65535)
			return an_set_error(err, errlen, AN_EINVAL,
								"smtp url port must be a number from 1 to 65535");
	}

	/* path: the EHLO domain */
	if (*end == '/')
	{
		for (q = end + 1; *q; q++)
			if (!host_char(*q) && *q != '[' && *q != ']' && *q != ':')
				return an_set_error(err, errlen, AN_EINVAL,
									"smtp url path (the EHLO domain) contains an invalid character at byte %zu",
									(size_t) (q - url));
	}
	return AN_OK;
}

/* ---------------------------------------------------------------------
 * libcurl callbacks
 * ---------------------------------------------------------------------
 */

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	smtp_slot  *s = userp;
	size_t		want = size * nitems;
	size_t		left = s->len - s->pos;

	if (want > left)
		want = left;
	if (want > 0)
	{
		memcpy(buf, s->data + s->pos, want);
		s->pos += want;
	}
	return want;
}

/* reply lines also go to the header callback: swallow them (and any body) */
static size_t
sink_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	(void) buf;
	(void) userp;
	return size * nitems;
}

/*
 * Sockets.  libcurl opens and closes every socket of the client through
 * these callbacks, so that an interrupt can shut them all down (see
 * shutdown_sockets).  No libcurl function is called from them.
 */
static curl_socket_t
opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	smtp_client *c = clientp;
	curl_socket_t fd;

	(void) purpose;
	if (c->stop || c->nsocks >= c->maxsocks)
		return CURL_SOCKET_BAD;	/* no new connection after an interrupt */
	fd = socket(addr->family, addr->socktype, addr->protocol);
	if (fd != CURL_SOCKET_BAD)
		c->socks[c->nsocks++] = fd;
	return fd;
}

static int
closesocket_cb(void *clientp, curl_socket_t fd)
{
	smtp_client *c = clientp;
	int			i;

	for (i = 0; i < c->nsocks; i++)
		if (c->socks[i] == fd)
		{
			c->socks[i] = c->socks[--c->nsocks];
			break;
		}
	return close(fd);
}

/*
 * Abort every conversation of the client at the socket level.  Removing
 * an SMTP transfer in flight from the multi (curl_multi_remove_handle)
 * makes libcurl 7.88 end it as if the upload were complete: smtp_done
 * ignores "premature" and sends CRLF "." CRLF, so the server delivers a
 * truncated (or, while waiting for the 354, empty) message.  After
 * shutdown(SHUT_RDWR) every read sees end of file and every write fails:
 * the transfers fail (with no end of data), the QUIT libcurl sends before
 * closing fails at once instead of waiting for a reply, and an
 * end-of-data marker written by a later removal goes nowhere.  Idle
 * cached connections are shut down as well; libcurl finds them dead and
 * drops them when it next looks for a connection.
 */
static void
shutdown_sockets(smtp_client *c)
{
	int			i;

	for (i = 0; i < c->nsocks; i++)
		shutdown(c->socks[i], SHUT_RDWR);
}

/*
 * true once interrupted has returned true in this batch; calls it when
 * force or when PROGRESS_POLL_S passed since the last call.  The first
 * true shuts the sockets down.
 */
static bool
poll_interrupt(smtp_client *c, bool force)
{
	double		now;

	if (c->stop)
		return true;
	if (c->interrupted == NULL)
		return false;
	now = now_seconds();
	if (!force && now - c->last_poll < PROGRESS_POLL_S)
		return false;
	c->last_poll = now;
	if (c->interrupted(c->ictx))
	{
		c->stop = true;
		shutdown_sockets(c);
	}
	return c->stop;
}

static int
progress_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	smtp_slot  *s = userp;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	(void) ulnow;
	return poll_interrupt(s->client, false) ? 1 : 0;
}

static bool
verb_is(const char *data, size_t size, const char *verb)
{
	size_t		n = strlen(verb);

	if (size < n || strncasecmp(data, verb, n) != 0)
		return false;
	return size == n || data[n] == ' ' || data[n] == ':' ||
		data[n] == '\r' || data[n] == '\n';
}

/* a command libcurl sent: remember its verb, nothing else */
static void
note_command(smtp_slot *s, const char *data, size_t size)
{
	if (size == 0 || s->quit_sent)
		return;
	if (s->cmd == CMD_AUTH && s->last_code == 334 && !s->reply_open)
		return;					/* an AUTH continuation (credentials) */
	if (verb_is(data, size, "MAIL"))
		s->cmd = CMD_MAIL;
	else if (verb_is(data, size, "RCPT"))
		s->cmd = CMD_RCPT;
	else if (verb_is(data, size, "DATA"))
		s->cmd = CMD_DATA;
	else if (verb_is(data, size, "EHLO") || verb_is(data, size, "HELO"))
		s->cmd = CMD_HELO;
	else if (verb_is(data, size, "STARTTLS"))
		s->cmd = CMD_STARTTLS;
	else if (verb_is(data, size, "AUTH"))
		s->cmd = CMD_AUTH;
	else if (verb_is(data, size, "QUIT"))
		s->quit_sent = true;	/* keeps cmd: where the transfer ended */
	else
		s->cmd = CMD_OTHER;
}

/* a reply line (with its CRLF) */
static void
note_reply(smtp_slot *s, const char *data, size_t size)
{
	size_t		n = size;

	if (s->quit_sent)
		return;					/* after the outcome (see the top) */
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (!s->reply_open)
	{
		s->replylen = 0;
		s->reply[0] = '\0';
		s->reply_open = true;
	}
	else
		detail_append(s->reply, &s->replylen, " ", 1);
	detail_append(s->reply, &s->replylen, data, n);

	/* "ddd" or "ddd text" ends a reply, "ddd-text" continues it */
	if (n >= 3 && isdigit((unsigned char) data[0]) &&
		isdigit((unsigned char) data[1]) &&
		isdigit((unsigned char) data[2]) && (n == 3 || data[3] != '-'))
	{
		s->reply_open = false;
		s->last_code = (data[0] - '0') * 100 + (data[1] - '0') * 10 +
			(data[2] - '0');
		s->reply_cmd = s->cmd;
		if (s->cmd == CMD_DATA && s->last_code == 354)
			s->cmd = CMD_EOD;
	}
}

static int
debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
	smtp_slot  *s = userp;

	(void) easy;
	if (type == CURLINFO_HEADER_OUT)
		note_command(s, data, size);
	else if (type == CURLINFO_HEADER_IN)
		note_reply(s, data, size);
	return 0;
}

/* ---------------------------------------------------------------------
 * client
 * ---------------------------------------------------------------------
 */

static bool
curl_has_protocol(const char *name)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *const *p;

	if (v == NULL || v->protocols == NULL)
		return false;
	for (p = v->protocols; *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

#define SETOPT(easy, opt, val) \
	do { \
		CURLcode	res_ = curl_easy_setopt((easy), (opt), (val)); \
		if (res_ != CURLE_OK) \
			return setopt_error(res_, #opt, err, errlen); \
	} while (0)

/* the options of slot s that never change */
static int
slot_setup(smtp_client *c, smtp_slot *s, char *err, size_t errlen)
{
	CURL	   *e = s->easy;

	SETOPT(e, CURLOPT_PRIVATE, (void *) s);
	SETOPT(e, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_UPLOAD, 1L);
	SETOPT(e, CURLOPT_READFUNCTION, read_cb);
	SETOPT(e, CURLOPT_READDATA, (void *) s);
	SETOPT(e, CURLOPT_HEADERFUNCTION, sink_cb);
	SETOPT(e, CURLOPT_WRITEFUNCTION, sink_cb);
	SETOPT(e, CURLOPT_ERRORBUFFER, s->errbuf);
	SETOPT(e, CURLOPT_DEBUGFUNCTION, debug_cb);
	SETOPT(e, CURLOPT_DEBUGDATA, (void *) s);
	SETOPT(e, CURLOPT_VERBOSE, 1L);
	SETOPT(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
	SETOPT(e, CURLOPT_XFERINFODATA, (void *) s);
	SETOPT(e, CURLOPT_NOPROGRESS, 0L);
	SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	SETOPT(e, CURLOPT_OPENSOCKETDATA, (void *) c);
	SETOPT(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
	SETOPT(e, CURLOPT_CLOSESOCKETDATA, (void *) c);
	switch (c->starttls)
	{
		case SMTP_TLS_NONE:
			SETOPT(e, CURLOPT_USE_SSL, (long) CURLUSESSL_NONE);
			break;
		case SMTP_TLS_TRY:
			SETOPT(e, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
			break;
		case SMTP_TLS_REQUIRED:
			SETOPT(e, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
			break;
	}
	/* libcurl verifies by default; say so, whatever its build defaults */
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		SETOPT(e, CURLOPT_CAINFO, c->ca_file);
	if (c->username)
	{
		SETOPT(e, CURLOPT_USERNAME, c->username);
		SETOPT(e, CURLOPT_PASSWORD, c->password);
	}
	if (c->connect_timeout_ms > 0)
		SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (c->timeout_ms > 0)
	{
		SETOPT(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
		/* bounds the blocking waits for the end of data and QUIT replies */
#if LIBCURL_VERSION_NUM >= 0x080600
		SETOPT(e, CURLOPT_SERVER_RESPONSE_TIMEOUT_MS, c->timeout_ms);
#else
		SETOPT(e, CURLOPT_SERVER_RESPONSE_TIMEOUT,
			   (c->timeout_ms + 999) / 1000);
#endif
	}
	return AN_OK;
}

int
smtp_client_create(const smtp_config *cfg, const an_allocator *a,
				   smtp_client **out, char *err, size_t errlen)
{
	smtp_client *c;
	int			rc;
	int			i;

	if (out)
		*out = NULL;
	if (cfg == NULL || a == NULL || out == NULL)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp client needs a configuration, an allocator and an output");
	if ((rc = smtp_check_url(cfg->url, err, errlen)) != AN_OK)
		return rc;
	if (cfg->starttls != SMTP_TLS_NONE && cfg->starttls != SMTP_TLS_TRY &&
		cfg->starttls != SMTP_TLS_REQUIRED)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp starttls policy %d is invalid", (int) cfg->starttls);
	if (cfg->connect_timeout_ms < 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp connect timeout must not be negative");
	if (cfg->timeout_ms < 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp timeout must not be negative");
	if (cfg->max_connections < 1 || cfg->max_connections > SMTP_MAX_CONNECTIONS)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp max connections must be from 1 to %d",
							SMTP_MAX_CONNECTIONS);
	if (!isfinite(cfg->rate_limit) || cfg->rate_limit < 0)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp rate limit must be a finite number >= 0");
	if (!curl_has_protocol(strncasecmp(cfg->url, "smtps:", 6) == 0 ?
						   "smtps" : "smtp"))
		return an_set_error(err, errlen, AN_EINVAL,
							"libcurl was built without support for %s",
							strncasecmp(cfg->url, "smtps:", 6) == 0 ?
							"smtps" : "smtp");
	if (cfg->starttls != SMTP_TLS_NONE &&
		!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL))
		return an_set_error(err, errlen, AN_EINVAL,
							"libcurl was built without TLS support (needed for STARTTLS)");

	c = an_alloc(a, sizeof(smtp_client));
	if (c == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	memset(c, 0, sizeof(smtp_client));
	c->a = a;
	c->starttls = cfg->starttls;
	c->connect_timeout_ms = cfg->connect_timeout_ms;
	c->timeout_ms = cfg->timeout_ms;
	c->interval = cfg->rate_limit > 0 ? 1.0 / cfg->rate_limit : 0;

	rc = AN_ENOMEM;
	c->url = dup_string(a, cfg->url);
	if (c->url == NULL)
		goto fail_nomem;
	if (cfg->ca_file && cfg->ca_file[0])
	{
		c->ca_file = dup_string(a, cfg->ca_file);
		if (c->ca_file == NULL)
			goto fail_nomem;
	}
	if (cfg->username && cfg->username[0])
	{
		c->username = dup_string(a, cfg->username);
		c->password = dup_string(a, cfg->password ? cfg->password : "");
		if (c->username == NULL || c->password == NULL)
			goto fail_nomem;
	}
	c->slots = an_alloc(a, sizeof(smtp_slot) * (size_t) cfg->max_connections);
	if (c->slots == NULL)
		goto fail_nomem;
	memset(c->slots, 0, sizeof(smtp_slot) * (size_t) cfg->max_connections);
	c->nslots = cfg->max_connections;
	/* a connection per slot, two sockets each while happy eyeballs race */
	c->maxsocks = 4 * c->nslots + 8;
	c->socks = an_alloc(a, sizeof(curl_socket_t) * (size_t) c->maxsocks);
	if (c->socks == NULL)
		goto fail_nomem;

	c->multi = curl_multi_init();
	if (c->multi == NULL)
	{
		an_set_error(err, errlen, AN_ENOMEM,
					 "cannot create the libcurl multi handle");
		goto fail;
	}
	if (curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
						  (long) c->nslots) != CURLM_OK ||
		curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
						  (long) c->nslots) != CURLM_OK ||
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
						  (long) c->nslots) != CURLM_OK)
	{
		rc = an_set_error(err, errlen, AN_EINVAL,
						  "libcurl refused the connection limits");
		goto fail;
	}
	for (i = 0; i < c->nslots; i++)
	{
		smtp_slot  *s = &c->slots[i];

		s->client = c;
		s->easy = curl_easy_init();
		if (s->easy == NULL)
		{
			an_set_error(err, errlen, AN_ENOMEM,
						 "cannot create a libcurl easy handle");
			goto fail;
		}
		if ((rc = slot_setup(c, s, err, errlen)) != AN_OK)
			goto fail;
	}
	*out = c;
	return AN_OK;

fail_nomem:
	an_set_error(err, errlen, AN_ENOMEM, "out of memory");
fail:
	smtp_client_destroy(c);
	return rc;
}

void
smtp_client_destroy(smtp_client *c)
{
	int			i;

	if (c == NULL)
		return;
	/* the handles were removed from the multi when their transfer ended */
	if (c->slots)
	{
		for (i = 0; i < c->nslots; i++)
		{
			if (c->slots[i].easy)
				curl_easy_cleanup(c->slots[i].easy);
			curl_slist_free_all(c->slots[i].rcpt);
		}
	}
	/* closes the cached connections, QUIT first (closesocket_cb needs c) */
	if (c->multi)
		curl_multi_cleanup(c->multi);
	an_free(c->a, c->socks);
	an_free(c->a, c->slots);
	if (c->password)
	{
		/* don't leave the password in freed memory */
		volatile char *p = c->password;

		while (*p)
			*p++ = '\0';
	}
	an_free(c->a, c->password);
	an_free(c->a, c->ca_file);
	an_free(c->a, c->username);
	an_free(c->a, c->url);
	an_free(c->a, c);
}

/* ---------------------------------------------------------------------
 * batch
 * ---------------------------------------------------------------------
 */

/* NULL when addr may go into MAIL FROM / RCPT TO, otherwise why not */
static const char *
address_problem(const char *addr)
{
	const unsigned char *p;

	for (p = (const unsigned char *) addr; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			return "contains a control character";
		if (*p >= 0x80)
			return "contains a non-ASCII byte";
		if (*p == '<' || *p == '>')
			return "contains an angle bracket";
	}
	return NULL;
}

/*
 * false, with the offset into *at, when data has a CR or LF that is not
 * part of a CRLF: libcurl dot-stuffs only after CRLF, and servers that
 * take a bare LF for a line end would read "LF . LF" as the end of data
 * (SMTP smuggling).
 */
static bool
data_lines_ok(const char *data, size_t len, size_t *at)
{
	const char *p = data;
	const char *end = data + len;

	while (p < end)
	{
		const char *cr = memchr(p, '\r', end - p);
		const char *lf = memchr(p, '\n', cr ? cr - p : end - p);

		if (lf)
		{
			*at = lf - data;
			return false;		/* LF before the next CR */
		}
		if (cr == NULL)
			break;
		if (cr + 1 >= end || cr[1] != '\n')
		{
			*at = cr - data;
			return false;
		}
		p = cr + 2;
	}
	return true;
}

/* seconds until the next start is allowed (<= 0: now) */
static double
pace_wait(const smtp_client *c, double now)
{
	if (c->interval <= 0 || !c->paced || now - c->next_start > c->interval)
		return 0;
	return c->next_start - now;
}

static void
pace_consume(smtp_client *c, double now)
{
	if (c->interval <= 0)
		return;
	if (!c->paced || now - c->next_start > c->interval)
	{
		/* first start, or after a pause: a new schedule from now */
		c->next_start = now;
		c->paced = true;
	}
	c->next_start += c->interval;
}

/* "<addr>" in a buffer from the allocator */
static char *
bracketed(const an_allocator *a, const char *addr)
{
	size_t		len = addr ? strlen(addr) : 0;
	char	   *b = an_alloc(a, len + 3);

	if (b)
	{
		b[0] = '<';
		if (len)
			memcpy(b + 1, addr, len);
		b[len + 1] = '>';
		b[len + 2] = '\0';
	}
	return b;
}

/* forget the conversation of the previous transfer */
static void
slot_reset(smtp_slot *s)
{
	s->pos = 0;
	s->cmd = CMD_CONNECT;
	s->quit_sent = false;
	s->reply_open = false;
	s->last_code = 0;
	s->reply_cmd = CMD_CONNECT;
	s->reply[0] = '\0';
	s->replylen = 0;
	s->errbuf[0] = '\0';
}

/* hand message index i to the free slot s and add it to the multi */
static int
slot_start(smtp_client *c, smtp_slot *s, size_t i, const smtp_message *m,
		   char *err, size_t errlen)
{
	char	   *from;
	char	   *rcpt;
	CURLcode	res;
	CURLMcode	mc;

	from = bracketed(c->a, m->from);
	if (from == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	res = curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM, from);	/* copied */
	an_free(c->a, from);
	if (res != CURLE_OK)
		return setopt_error(res, "CURLOPT_MAIL_FROM", err, errlen);

	rcpt = bracketed(c->a, m->rcpt);
	if (rcpt == NULL)
		return an_set_error(err, errlen, AN_ENOMEM, "out of memory");
	s->rcpt = curl_slist_append(NULL, rcpt);	/* copied */
	an_free(c->a, rcpt);
	if (s->rcpt == NULL)
		return an_set_error(err, errlen, AN_ENOMEM,
							"out of memory in libcurl");
	res = curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, s->rcpt);
	if (res == CURLE_OK)
		res = curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE,
							   (curl_off_t) m->len);
	if (res == CURLE_OK)
		res = curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 0L);
	if (res != CURLE_OK)
	{
		curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, (struct curl_slist *) NULL);
		curl_slist_free_all(s->rcpt);
		s->rcpt = NULL;
		return setopt_error(res, "the recipient", err, errlen);
	}

	s->index = i;
	s->data = m->data;
	s->len = m->len;
	s->retried = false;
	slot_reset(s);

	mc = curl_multi_add_handle(c->multi, s->easy);
	if (mc != CURLM_OK)
	{
		curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, (struct curl_slist *) NULL);
		curl_slist_free_all(s->rcpt);
		s->rcpt = NULL;
		return multi_error(mc, "adding a transfer", err, errlen);
	}
	s->busy = true;
	return AN_OK;
}

/*
 * Take s out of the multi and make it free again.  Only for a finished
 * transfer, or after shutdown_sockets (see there).
 */
static void
slot_release(smtp_client *c, smtp_slot *s)
{
	curl_multi_remove_handle(c->multi, s->easy);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, (struct curl_slist *) NULL);
	curl_slist_free_all(s->rcpt);
	s->rcpt = NULL;
	s->data = NULL;
	s->busy = false;
}

/*
 * The finished transfer of s failed on a connection taken from the cache
 * before the server said anything: the server had closed it (an idle
 * timeout, a 421 at the end of the previous transaction) just before
 * libcurl looked.  Nothing of this message reached a transaction, so it
 * is started once more on a new connection.  true when restarted.
 */
static bool
slot_retry(smtp_client *c, smtp_slot *s, CURLcode res)
{
	long		nconnects = -1;

	if (s->retried || c->stop || s->replylen > 0 || s->last_code != 0 ||
		res == CURLE_OK || res == CURLE_OPERATION_TIMEDOUT ||
		res == CURLE_ABORTED_BY_CALLBACK)
		return false;
	if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nconnects) !=
		CURLE_OK || nconnects != 0)
		return false;			/* it made its own connection */
	curl_multi_remove_handle(c->multi, s->easy);
	if (curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK)
		return false;
	s->retried = true;
	slot_reset(s);
	if (curl_multi_add_handle(c->multi, s->easy) != CURLM_OK)
		return false;
	return true;
}

/*
 * The finished transfer of s failed while libcurl waited for the reply to
 * the end of data (a timeout): libcurl 7.88 entered that wait with a good
 * status, so it kept the connection, which now goes back to the cache
 * with the reply still to come.  The next MAIL FROM on it would read that
 * reply as its own, and every later reply would be off by one ("DATA
 * failed: 250").  Shut its socket down so that libcurl finds it dead.
 * CURLINFO_ACTIVESOCKET names the connection a finished transfer left in
 * the cache (CURL_SOCKET_BAD when libcurl closed it).
 */
static void
slot_drop_connection(smtp_client *c, smtp_slot *s)
{
	curl_socket_t fd = CURL_SOCKET_BAD;
	int			i;

	if (curl_easy_getinfo(s->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
		fd == CURL_SOCKET_BAD)
		return;
	for (i = 0; i < c->nsocks; i++)
		if (c->socks[i] == fd)
		{
			shutdown(fd, SHUT_RDWR);
			break;
		}
}

/* the transfer of s ended with res: its outcome into r */
static void
classify(smtp_client *c, smtp_slot *s, CURLcode res, smtp_result *r)
{
	long		rcode = 0;
	size_t		len = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &rcode);
	r->detail[0] = '\0';
	if (res == CURLE_OK)
	{
		r->outcome = SMTP_SENT;
		r->code = (int) rcode;
		detail_append(r->detail, &len, s->reply, s->replylen);
	}
	else if (rcode >= 400 && rcode <= 599)
	{
		/* the server refused; which command decides how */
		smtp_cmd	cmd = s->last_code == rcode ? s->reply_cmd : CMD_OTHER;

		r->code = (int) rcode;
		if (rcode >= 500 &&
			(cmd == CMD_RCPT || cmd == CMD_EOD ||
			 (cmd == CMD_MAIL && rcode == 552)))
			r->outcome = SMTP_BOUNCE;
		else
			r->outcome = SMTP_TEMPFAIL;
		if (s->last_code == rcode)
			detail_append(r->detail, &len, s->reply, s->replylen);
		else
			detail_curl_error(r, s, res);
	}
	else if (c->stop)
	{
		/* failed by the socket shutdown or the progress callback */
		r->outcome = SMTP_TEMPFAIL;
		r->code = 0;
		if (s->cmd == CMD_EOD && s->pos == s->len)
			snprintf(r->detail, sizeof(r->detail),
					 "interrupted while waiting for the reply to the end of data (the message may have been delivered)");
		else
			snprintf(r->detail, sizeof(r->detail), "interrupted");
	}
	else
	{
		/* transport: nothing the server said decided */
		r->outcome = SMTP_TEMPFAIL;
		r->code = 0;
		detail_curl_error(r, s, res);
	}
	detail_scrub(r->detail, c->password);
}

/* read the finished transfers; returns how many slots became free */
static int
drain(smtp_client *c, smtp_result *results, int *active)
{
	CURLMsg    *msg;
	int			left;
	int			done = 0;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
	{
		smtp_slot  *s = NULL;
		CURLcode	res;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with the removal of its handle: copy what is needed */
		res = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
		if (s == NULL || !s->busy)
			continue;
		if (slot_retry(c, s, res))
			continue;
		if (res != CURLE_OK && s->cmd == CMD_EOD && s->reply_cmd != CMD_EOD)
			slot_drop_connection(c, s);
		classify(c, s, res, &results[s->index]);
		slot_release(c, s);
		(*active)--;
		done++;
	}
	return done;
}

int
smtp_send_batch(smtp_client *c, const smtp_message *msgs, size_t n,
				smtp_result *results, bool (*interrupted) (void *ctx),
				void *ctx, char *err, size_t errlen)
{
	size_t		next = 0;
	size_t		i;
	int			active = 0;
	int			rc = AN_OK;
	double		stop_deadline = 0;
	char		failure[SMTP_DETAIL_LEN];
	int			k;

	if (c == NULL)
		return an_set_error(err, errlen, AN_EINVAL, "smtp client is NULL");
	if (n == 0)
		return AN_OK;
	if (msgs == NULL || results == NULL)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp batch needs messages and results");
	if (c->in_batch)
		return an_set_error(err, errlen, AN_EINVAL,
							"smtp client is already sending a batch");
	for (i = 0; i < n; i++)
	{
		if (msgs[i].rcpt == NULL)
			return an_set_error(err, errlen, AN_EINVAL,
								"message %zu has no recipient", i);
		if (msgs[i].data == NULL && msgs[i].len > 0)
			return an_set_error(err, errlen, AN_EINVAL,
								"message %zu has no data", i);
	}
	for (i = 0; i < n; i++)
	{
		results[i].id = msgs[i].id;
		result_set(&results[i], SMTP_TEMPFAIL, 0, "not attempted");
	}

	c->in_batch = true;
	c->interrupted = interrupted;
	c->ictx = ctx;
	c->stop = false;
	c->last_poll = 0;

	for (;;)
	{
		CURLMcode	mc;
		int			running;
		int			timeout = POLL_MS;
		double		now;

		/*
		 * After an interrupt (noticed here or in the progress callback, which
		 * shut the sockets down) start nothing more and let the transfers in
		 * flight fail, for at most STOP_GRACE_S.
		 */
		if (poll_interrupt(c, true) && stop_deadline == 0)
			stop_deadline = now_seconds() + STOP_GRACE_S;
		if (c->stop && (active == 0 || now_seconds() > stop_deadline))
			break;

		/* start what the free slots and the pace allow */
		now = now_seconds();
		while (!c->stop && next < n && active < c->nslots &&
			   pace_wait(c, now) <= 0)
		{
			const smtp_message *m = &msgs[next];
			const char *why;
			size_t		at;
			smtp_slot  *s = NULL;

			if (m->rcpt[0] == '\0')
			{
				result_set(&results[next++], SMTP_BOUNCE, 0,
						   "recipient address is empty");
				continue;
			}
			if ((why = address_problem(m->rcpt)) != NULL)
			{
				result_set(&results[next++], SMTP_BOUNCE, 0,
						   "recipient address %s", why);
				continue;
			}
			if (m->from && (why = address_problem(m->from)) != NULL)
			{
				result_set(&results[next++], SMTP_BOUNCE, 0,
						   "sender address %s", why);
				continue;
			}
			if (!data_lines_ok(m->data, m->len, &at))
			{
				result_set(&results[next++], SMTP_BOUNCE, 0,
						   "message data has a CR or LF outside CRLF at byte %zu",
						   at);
				continue;
			}
			for (k = 0; k < c->nslots; k++)
				if (!c->slots[k].busy)
				{
					s = &c->slots[k];
					break;
				}
			rc = slot_start(c, s, next, m, err, errlen);
			if (rc != AN_OK)
				break;
			pace_consume(c, now);
			active++;
			next++;
		}
		if (rc != AN_OK)
			break;
		if (active == 0 && next >= n)
			break;

		if (active > 0)
		{
			mc = curl_multi_perform(c->multi, &running);
			if (mc != CURLM_OK)
			{
				rc = multi_error(mc, "perform", err, errlen);
				break;
			}
			if (drain(c, results, &active) > 0 && !c->stop && next < n &&
				active < c->nslots)
				continue;		/* start the next ones at once */
			if (active == 0 && (next >= n || c->stop))
				break;
		}

		/* wait for traffic, curl's timers or the next paced start */
		if (c->stop)
			timeout = 10;
		else if (next < n && active < c->nslots)
		{
			double		w = pace_wait(c, now_seconds());

			if (w <= 0)
				timeout = 0;
			else if (w * 1000.0 < timeout)
				timeout = (int) (w * 1000.0) + 1;	/* rounded up */
		}
		mc = curl_multi_poll(c->multi, NULL, 0, timeout, NULL);
		if (mc != CURLM_OK)
		{
			rc = multi_error(mc, "poll", err, errlen);
			break;
		}
	}

	/*
	 * What is left: transfers that outlived the grace period of an
	 * interrupt, or everything after a libcurl failure.  Shut the sockets
	 * down before removing them (see shutdown_sockets).
	 */
	if (rc != AN_OK)
		snprintf(failure, sizeof(failure), "%s",
				 err && errlen ? err : "libcurl failure");
	if (active > 0)
		shutdown_sockets(c);
	for (k = 0; k < c->nslots; k++)
	{
		smtp_slot  *s = &c->slots[k];
		smtp_result *r;

		if (!s->busy)
			continue;
		r = &results[s->index];
		if (rc != AN_OK)
			result_set(r, SMTP_TEMPFAIL, 0, "%s", failure);
		else if (s->cmd == CMD_EOD && s->pos == s->len)
			result_set(r, SMTP_TEMPFAIL, 0,
					   "interrupted while waiting for the reply to the end of data (the message may have been delivered)");
		else
			result_set(r, SMTP_TEMPFAIL, 0, "interrupted");
		slot_release(c, s);
	}
	for (i = next; i < n; i++)
	{
		if (rc != AN_OK)
			result_set(&results[i], SMTP_TEMPFAIL, 0, "%s", failure);
		else
			result_set(&results[i], SMTP_TEMPFAIL, 0,
					   "interrupted before sending");
	}

	c->in_batch = false;
	c->interrupted = NULL;
	c->ictx = NULL;
	return rc;
}
