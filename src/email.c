/*
 * email.c
 *		Transactional email: send_email / send_template queue messages in
 *		analytics.email_outbox, and the worker's email queue sends them over
 *		SMTP (src/lib/smtp.c) with the job engine's retries (jobs.c).
 *
 * A message is composed when it is queued (src/lib/mime.c): the outbox
 * holds the exact bytes every attempt sends, with a Message-ID derived
 * from the outbox id, a per-database salt (system identifier and database
 * OID) and the sender's domain, so a retried or duplicated delivery carries
 * the same Message-ID.  Header injection (a line break in the recipient,
 * subject or a header) is an error at enqueue.
 *
 * Delivery policy: 250 -> sent; a 4xx reply or a transport error ->
 * deferred and retried with backoff; a 5xx refusal of the recipient or the
 * message -> bounced, and the address goes to analytics.email_suppressions;
 * a suppressed recipient -> suppressed without contacting the server; older
 * than analytics.email_max_age and still failing -> failed.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "tcop/tcopprot.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "analytics.h"
#include "email.h"
#include "jobs.h"
#include "lib/mime.h"
#include "lib/smtp.h"
#include "lib/template.h"
#include "util.h"
#include "worker.h"

#define ERR_LEN 512

char	   *analytics_email_from = NULL;
char	   *analytics_smtp_url = NULL;
int			analytics_smtp_starttls = SMTP_TLS_TRY;
char	   *analytics_smtp_ca_file = NULL;
char	   *analytics_smtp_user = NULL;
char	   *analytics_smtp_password = NULL;
int			analytics_smtp_timeout = 30000;
int			analytics_email_max_connections = 4;
int			analytics_email_batch_size = 100;
double		analytics_email_rate_limit = 0;
int			analytics_email_max_age = 5 * 86400;

static emit_log_hook_type prev_emit_log_hook = NULL;

/* does s contain needle, ignoring ASCII case? */
static bool
contains_ci(const char *s, const char *needle)
{
	size_t		n = strlen(needle);

	if (s == NULL)
		return false;
	for (; *s; s++)
		if (pg_strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

/* s with every occurrence of secret replaced (a new string) */
static char *
mask_secret(const char *s, const char *secret)
{
	StringInfoData b;
	size_t		n = strlen(secret);
	const char *p;

	initStringInfo(&b);
	while ((p = strstr(s, secret)) != NULL)
	{
		appendBinaryStringInfo(&b, s, (int) (p - s));
		appendStringInfoString(&b, "********");
		s = p + n;
	}
	appendStringInfoString(&b, s);
	return b.data;
}

/*
 * Keep the SMTP password out of the server log.  PostgreSQL itself logs
 * "parameter ... changed to <value>" when a reload changes a setting, and
 * with log_statement the ALTER SYSTEM that sets it: such messages lose the
 * value, statements that name the setting are hidden, and any message
 * that contains the current password gets it masked.
 */
static void
redact_password(ErrorData *edata)
{
	const char *pw = analytics_smtp_password;
	bool		has_pw = pw != NULL && pw[0] != '\0';

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
	if (!edata->output_to_server)
		return;
	if (edata->message && contains_ci(edata->message, "smtp_password"))
	{
		if (strncmp(edata->message, "parameter ", 10) == 0)
			edata->message = pstrdup("parameter \"analytics.smtp_password\" changed (value not logged)");
		else if (strncmp(edata->message, "statement: ", 11) == 0 ||
				 strncmp(edata->message, "execute ", 8) == 0 ||
				 strncmp(edata->message, "duration: ", 10) == 0)
			edata->message = pstrdup("statement: (not logged: it mentions analytics.smtp_password)");
	}
	if (has_pw)
	{
		if (edata->message && strstr(edata->message, pw))
			edata->message = mask_secret(edata->message, pw);
		if (edata->detail && strstr(edata->detail, pw))
			edata->detail = mask_secret(edata->detail, pw);
		if (edata->detail_log && strstr(edata->detail_log, pw))
			edata->detail_log = mask_secret(edata->detail_log, pw);
		if (edata->context && strstr(edata->context, pw))
			edata->context = mask_secret(edata->context, pw);
		if (edata->internalquery && strstr(edata->internalquery, pw))
			edata->internalquery = mask_secret(edata->internalquery, pw);
	}
	if (debug_query_string &&
		(contains_ci(debug_query_string, "smtp_password") ||
		 (has_pw && strstr(debug_query_string, pw))))
		edata->hide_stmt = true;
}

static const struct config_enum_entry starttls_options[] = {
	{"none", SMTP_TLS_NONE, false},
	{"try", SMTP_TLS_TRY, false},
	{"required", SMTP_TLS_REQUIRED, false},
	{NULL, 0, false}
};

static bool
check_smtp_url(char **newval, void **extra, GucSource source)
{
	char		err[ERR_LEN];

	(void) extra;
	(void) source;
	if (smtp_check_url(*newval, err, sizeof(err)) != AN_OK)
	{
		GUC_check_errdetail("%s.", err);
		if (strstr(err, "user information"))
			GUC_check_errhint("Put the user name and password in analytics.smtp_user and analytics.smtp_password.");
		return false;
	}
	return true;
}

static bool
check_email_from(char **newval, void **extra, GucSource source)
{
	char		err[ERR_LEN];

	(void) extra;
	(void) source;
	if ((*newval)[0] != '\0' && mime_check_address("from", *newval, err, sizeof(err)) != AN_OK)
	{
		GUC_check_errdetail("%s.", err);
		return false;
	}
	return true;
}

void
email_init_guc(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_password;

	DefineCustomStringVariable("analytics.email_from",
							   "From address of the messages send_email and send_template queue.",
							   "\"addr@host\" or \"Display Name <addr@host>\"; its address is also "
							   "the envelope sender and its domain ends every Message-ID.",
							   &analytics_email_from, "",
							   PGC_SUSET, 0, check_email_from, NULL, NULL);
	DefineCustomStringVariable("analytics.smtp_url",
							   "SMTP server the analytics worker sends email through.",
							   "smtp://host[:port][/ehlo-domain] or smtps://host[:port] (TLS from "
							   "the start); credentials go in analytics.smtp_user and "
							   "analytics.smtp_password.",
							   &analytics_smtp_url, "smtp://localhost:25",
							   PGC_SIGHUP, 0, check_smtp_url, NULL, NULL);
	DefineCustomEnumVariable("analytics.smtp_starttls",
							 "STARTTLS policy for smtp:// servers.",
							 "none never upgrades, try upgrades when the server offers it, "
							 "required fails (and retries later) unless it can.",
							 &analytics_smtp_starttls, SMTP_TLS_TRY, starttls_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("analytics.smtp_ca_file",
							   "PEM file of the certificate authorities trusted for the SMTP server's certificate.",
							   "Empty: the system's bundle.  A relative path is relative to the data "
							   "directory.  The certificate and the host name are always verified.",
							   &analytics_smtp_ca_file, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("analytics.smtp_user",
							   "User name for SMTP authentication (empty: no AUTH).",
							   NULL,
							   &analytics_smtp_user, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("analytics.smtp_password",
							   "Password for SMTP authentication.",
							   "Only superusers can read it; it never appears in the "
							   "extension's messages.",
							   &analytics_smtp_password, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.smtp_timeout",
							"Longest time one SMTP delivery may take (connecting included).",
							NULL,
							&analytics_smtp_timeout, 30000, 1000, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.email_max_connections",
							"SMTP deliveries the worker keeps in flight at once.",
							"Each is one connection to the server, reused for later messages.",
							&analytics_email_max_connections, 4, 1, SMTP_MAX_CONNECTIONS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.email_batch_size",
							"Messages the worker claims from the outbox at a time.",
							"A crash can send the messages of the batch in flight twice.",
							&analytics_email_batch_size, 100, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("analytics.email_rate_limit",
							 "Most messages the worker starts sending per second (0: no limit).",
							 NULL,
							 &analytics_email_rate_limit, 0, 0, 1e6,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.email_max_age",
							"Age after which a message that still fails temporarily is given up (failed).",
							NULL,
							&analytics_email_max_age, 5 * 86400, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* ----------------------------------------------------------------
 * Enqueue
 * ---------------------------------------------------------------- */

/* the existing message with this idempotency key, or 0 */
static int64
find_by_key(const char *key)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	int			rc;

	args[0] = CStringGetTextDatum(key);
	rc = SPI_execute_with_args("SELECT id FROM analytics.email_outbox WHERE idempotency_key = $1",
							   1, types, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "idempotency lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* unix seconds of a timestamptz */
static int64
unix_seconds(TimestampTz t)
{
	return t / USECS_PER_SEC + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * Queue one message (arguments already checked for NULL); returns its id.
 * Runs inside the caller's SPI connection.
 */
static int64
enqueue(const char *recipient, const char *subject, const char *body_text,
		const char *body_html, const char *key, const mime_header *headers,
		int nheaders, const char *template_name)
{
	char		err[ERR_LEN];
	const char *from = analytics_email_from;
	const char *name;
	const char *spec;
	size_t		namelen,
				speclen;
	char	   *rcpt;
	char	   *envelope_from;
	char		domain[MIME_DOMAIN_LEN];
	char		msgid[MIME_MESSAGE_ID_LEN];
	char		salt[64];
	mime_message m;
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	char	   *message;
	size_t		msglen;
	int64		id;
	bool		isnull;
	int			rc;
	Oid			types[11] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[11];
	char		nulls[11];

	if (from == NULL || from[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("analytics.email_from is not set"),
				 errhint("Set it in postgresql.conf or with ALTER DATABASE ... SET analytics.email_from = 'Name <noreply@example.com>'.")));

	if (key)
	{
		if (key[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("idempotency_key must not be empty"),
					 errhint("Pass NULL for no key.")));
		id = find_by_key(key);
		if (id != 0)
			return id;
	}

	rc = mime_split_address("recipient", recipient, &name, &namelen, &spec, &speclen,
							err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, "A recipient is \"addr@host\" or \"Display Name <addr@host>\".");
	rcpt = pnstrdup(spec, speclen);
	rc = mime_split_address("from", from, &name, &namelen, &spec, &speclen, err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, "Fix analytics.email_from.");
	envelope_from = pnstrdup(spec, speclen);
	rc = mime_address_domain(from, domain, sizeof(domain), err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);

	rc = SPI_execute("SELECT nextval('analytics.email_outbox_id_seq')", false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "nextval failed: %s", SPI_result_code_string(rc));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	snprintf(salt, sizeof(salt), UINT64_FORMAT ".%u", GetSystemIdentifier(), MyDatabaseId);
	rc = mime_message_id(id, salt, domain, msgid, sizeof(msgid), err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);

	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = recipient;
	m.subject = subject;
	m.body_text = body_text;
	m.body_html = body_html;
	m.message_id = msgid;
	m.date_unix = unix_seconds(GetCurrentTimestamp());
	m.headers = headers;
	m.nheaders = nheaders;
	rc = mime_compose(&m, &message, &msglen, &a, err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);

	memset(nulls, ' ', sizeof(nulls));
	args[0] = Int64GetDatum(id);
	args[1] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[1] = key ? ' ' : 'n';
	args[2] = CStringGetTextDatum(from);
	args[3] = CStringGetTextDatum(envelope_from);
	args[4] = CStringGetTextDatum(recipient);
	args[5] = CStringGetTextDatum(rcpt);
	args[6] = CStringGetTextDatum(subject);
	args[7] = template_name ? CStringGetTextDatum(template_name) : (Datum) 0;
	nulls[7] = template_name ? ' ' : 'n';
	args[8] = CStringGetTextDatum(msgid);
	args[9] = an_text_datum(message, (int) msglen);
	args[10] = (Datum) 0;
	nulls[10] = 'n';
	rc = SPI_execute_with_args(
							   "WITH s AS (SELECT EXISTS (SELECT 1 FROM analytics.email_suppressions "
							   "  WHERE address = lower($6)) AS suppressed), "
							   "i AS (INSERT INTO analytics.email_outbox (id, idempotency_key, sender, envelope_from, "
							   "  recipient, rcpt_address, subject, template, message_id, message, status, finished_at, last_error) "
							   "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
							   "  CASE WHEN s.suppressed THEN 'suppressed' ELSE 'queued' END, "
							   "  CASE WHEN s.suppressed THEN now() END, "
							   "  CASE WHEN s.suppressed THEN 'the recipient is in analytics.email_suppressions' END "
							   "FROM s ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, status) "
							   "INSERT INTO analytics.email_events (message, attempt, status, detail) "
							   "SELECT id, 0, status, CASE WHEN status = 'suppressed' "
							   "  THEN 'the recipient is in analytics.email_suppressions' END FROM i "
							   "RETURNING message",
							   11, types, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "queueing the message failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		/* a concurrent transaction used the key first and committed */
		id = find_by_key(key);
		if (id == 0)
			elog(ERROR, "idempotency key conflict without a message");
		return id;
	}
	worker_wake_on_commit();
	return id;
}

/* extra headers from a jsonb object of strings */
static mime_header *
headers_from_jsonb(Jsonb *j, int *n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	mime_header *h;
	int			count = 0;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("headers must be a jsonb object of header names and string values"),
				 errhint("For example '{\"Reply-To\": \"support@example.com\"}'.")));
	h = palloc(sizeof(mime_header) * Max(JB_ROOT_COUNT(j), 1));
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char		err[ERR_LEN];

		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			int			rc;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("header \"%s\" must have a string value", key)));
			rc = mime_check_header_name(key, err, sizeof(err));
			if (rc != AN_OK)
				an_report_core_error(rc, err, "From, To, Subject, Date, Message-ID and the MIME headers are written by send_email itself.");
			h[count].name = key;
			h[count].value = pnstrdup(v.val.string.val, v.val.string.len);
			count++;
		}
	}
	*n = count;
	return h;
}

static char *
arg_text(FunctionCallInfo fcinfo, int i, const char *what, bool required)
{
	if (PG_ARGISNULL(i))
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", what)));
		return NULL;
	}
	return text_to_cstring(PG_GETARG_TEXT_PP(i));
}

PG_FUNCTION_INFO_V1(analytics_send_email);

Datum
analytics_send_email(PG_FUNCTION_ARGS)
{
	char	   *recipient = arg_text(fcinfo, 0, "recipient", true);
	char	   *subject = arg_text(fcinfo, 1, "subject", true);
	char	   *body_text = arg_text(fcinfo, 2, "body_text", true);
	char	   *body_html = arg_text(fcinfo, 3, "body_html", false);
	char	   *key = arg_text(fcinfo, 4, "idempotency_key", false);
	mime_header *headers = NULL;
	int			nheaders = 0;
	int64		id;

	worker_require_preload("analytics.send_email");
	if (!PG_ARGISNULL(5))
		headers = headers_from_jsonb(PG_GETARG_JSONB_P(5), &nheaders);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	id = enqueue(recipient, subject, body_text, body_html, key, headers, nheaders, NULL);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* template variable lookup in a jsonb object ("a.b" walks nested objects) */
typedef struct LookupCtx
{
	Jsonb	   *data;
} LookupCtx;

static int
jsonb_lookup(void *ctx, const char *name, size_t namelen, const char **value, size_t *len)
{
	LookupCtx  *lc = ctx;
	JsonbContainer *c = &lc->data->root;
	JsonbValue	v;
	size_t		start = 0;

	for (;;)
	{
		size_t		end = start;

		while (end < namelen && name[end] != '.')
			end++;
		if (!JsonContainerIsObject(c) ||
			getKeyJsonValueFromContainer(c, name + start, (int) (end - start), &v) == NULL)
			return TPL_MISSING;
		if (end == namelen)
			break;
		if (v.type != jbvBinary)
			return TPL_MISSING;
		c = v.val.binary.data;
		start = end + 1;
	}
	switch (v.type)
	{
		case jbvString:
			*value = v.val.string.val;
			*len = v.val.string.len;
			break;
		case jbvNumeric:
			*value = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
			*len = strlen(*value);
			break;
		case jbvBool:
			*value = v.val.boolean ? "true" : "false";
			*len = strlen(*value);
			break;
		case jbvNull:
			*value = "";
			*len = 0;
			break;
		default:
			*value = JsonbToCString(NULL, v.val.binary.data, v.val.binary.len);
			*len = strlen(*value);
			break;
	}
	return AN_OK;
}

static char *
render(const char *tmpl, tpl_escape esc, LookupCtx *lc, const char *template_name,
	   const char *part)
{
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	char		err[ERR_LEN];
	char	   *out;
	size_t		outlen;
	int			rc;

	rc = tpl_render(tmpl, strlen(tmpl), esc, jsonb_lookup, lc, &out, &outlen, &a,
					err, sizeof(err));
	if (rc != AN_OK)
		ereport(ERROR,
				(errcode(rc == AN_ELIMIT ? ERRCODE_PROGRAM_LIMIT_EXCEEDED
						 : rc == AN_ENOMEM ? ERRCODE_OUT_OF_MEMORY
						 : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err),
				 errdetail("In the %s of email template \"%s\".", part, template_name),
				 strstr(err, "is missing") ? errhint("Give every {{variable}} of the template a value in data.") : 0));
	return out;
}

PG_FUNCTION_INFO_V1(analytics_send_template);

Datum
analytics_send_template(PG_FUNCTION_ARGS)
{
	char	   *template_name = arg_text(fcinfo, 0, "template", true);
	char	   *recipient = arg_text(fcinfo, 1, "recipient", true);
	char	   *key = arg_text(fcinfo, 3, "idempotency_key", false);
	LookupCtx	lc;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			rc;
	char	   *subject,
			   *body_text,
			   *body_html;
	int64		id;

	worker_require_preload("analytics.send_template");
	lc.data = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	if (lc.data == NULL)
		lc.data = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	if (!JB_ROOT_IS_OBJECT(lc.data) || JB_ROOT_IS_SCALAR(lc.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("data must be a jsonb object"),
				 errhint("For example '{\"name\": \"Ada\", \"order\": {\"total\": \"12.50\"}}'.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(template_name);
	rc = SPI_execute_with_args("SELECT subject, body_text, body_html FROM analytics.email_templates WHERE name = $1",
							   1, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "template lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("email template \"%s\" does not exist", template_name),
				 errhint("Templates are rows of analytics.email_templates.")));
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *s = SPI_getvalue(t, d, 1);
		char	   *bt = SPI_getvalue(t, d, 2);
		char	   *bh = SPI_getvalue(t, d, 3);

		subject = render(s, TPL_RAW, &lc, template_name, "subject");
		body_text = render(bt, TPL_RAW, &lc, template_name, "text body");
		body_html = bh ? render(bh, TPL_HTML, &lc, template_name, "HTML body") : NULL;
	}
	id = enqueue(recipient, subject, body_text, body_html, key, NULL, 0, template_name);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/* ----------------------------------------------------------------
 * The worker's email queue
 * ---------------------------------------------------------------- */

static smtp_client *client = NULL;
static bool curl_ready = false;

static int
email_batch_size(void)
{
	return analytics_email_batch_size;
}

static int
email_max_age(void)
{
	return analytics_email_max_age;
}

static void
email_stop(void)
{
	smtp_client_destroy(client);
	client = NULL;
}

static void
email_config_changed(void)
{
	/* the next batch connects with the new settings */
	email_stop();
}

/* the client for the current settings; NULL with err set on a bad setting */
static smtp_client *
get_client(char *err, size_t errlen)
{
	smtp_config cfg;

	if (client)
		return client;
	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		{
			snprintf(err, errlen, "libcurl could not be initialised");
			return NULL;
		}
		curl_ready = true;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = analytics_smtp_url;
	cfg.starttls = (smtp_tls) analytics_smtp_starttls;
	cfg.ca_file = analytics_smtp_ca_file;
	cfg.username = analytics_smtp_user;
	cfg.password = analytics_smtp_password;
	cfg.connect_timeout_ms = Min(analytics_smtp_timeout, 30000);
	cfg.timeout_ms = analytics_smtp_timeout;
	cfg.max_connections = analytics_email_max_connections;
	cfg.rate_limit = analytics_email_rate_limit;
	if (smtp_client_create(&cfg, &an_std_allocator, &client, err, errlen) != AN_OK)
		client = NULL;
	return client;
}

/* claim columns after id, attempts */
#define COL_FROM 3
#define COL_RCPT 4
#define COL_MESSAGE 5
#define COL_SUPPRESSED 6

static void
email_run(const JobBatch *batch, JobResult *results)
{
	smtp_message *msgs = palloc0(sizeof(smtp_message) * batch->n);
	smtp_result *sres = palloc0(sizeof(smtp_result) * batch->n);
	int		   *map = palloc(sizeof(int) * batch->n);
	int			nsend = 0;
	int			i;
	char		err[ERR_LEN];
	smtp_client *c;

	for (i = 0; i < batch->n; i++)
	{
		HeapTuple	t = batch->rows[i];
		bool		isnull;
		bool		suppressed;

		results[i].id = DatumGetInt64(heap_getattr(t, 1, batch->desc, &isnull));
		suppressed = DatumGetBool(heap_getattr(t, COL_SUPPRESSED, batch->desc, &isnull));
		if (suppressed)
		{
			results[i].outcome = JOB_DONE;
			results[i].status = "suppressed";
			strlcpy(results[i].detail, "the recipient is in analytics.email_suppressions",
					JOB_DETAIL_LEN);
			continue;
		}
		{
			text	   *msg = DatumGetTextPP(heap_getattr(t, COL_MESSAGE, batch->desc, &isnull));

			msgs[nsend].id = results[i].id;
			msgs[nsend].from = TextDatumGetCString(heap_getattr(t, COL_FROM, batch->desc, &isnull));
			msgs[nsend].rcpt = TextDatumGetCString(heap_getattr(t, COL_RCPT, batch->desc, &isnull));
			msgs[nsend].data = VARDATA_ANY(msg);
			msgs[nsend].len = VARSIZE_ANY_EXHDR(msg);
		}
		map[nsend++] = i;
	}
	if (nsend == 0)
		return;

	c = get_client(err, sizeof(err));
	if (c == NULL || smtp_send_batch(c, msgs, nsend, sres, jobs_interrupted, NULL,
									 err, sizeof(err)) != AN_OK)
	{
		/* the configuration or the batch machinery failed: retry them all */
		worker_report_error(err);
		for (i = 0; i < nsend; i++)
		{
			JobResult  *r = &results[map[i]];

			r->outcome = JOB_RETRY;
			r->code = 0;
			strlcpy(r->detail, err, JOB_DETAIL_LEN);
		}
		return;
	}
	for (i = 0; i < nsend; i++)
	{
		JobResult  *r = &results[map[i]];

		r->code = sres[i].code;
		switch (sres[i].outcome)
		{
			case SMTP_SENT:
				r->outcome = JOB_DONE;
				r->status = "sent";
				break;
			case SMTP_BOUNCE:
				r->outcome = JOB_FAIL;
				r->status = "bounced";
				strlcpy(r->detail, sres[i].detail, JOB_DETAIL_LEN);
				break;
			default:
				r->outcome = JOB_RETRY;
				strlcpy(r->detail, sres[i].detail, JOB_DETAIL_LEN);
				worker_report_error(sres[i].detail);
				break;
		}
	}
}

/* bounced recipients join the suppression list */
static void
email_after_record(const JobResult *results, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(n, 1));
	int			nb = 0;
	int			i;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];
	int			rc;

	for (i = 0; i < n; i++)
		if (results[i].outcome == JOB_FAIL)
			ids[nb++] = Int64GetDatum(results[i].id);
	if (nb == 0)
		return;
	args[0] = PointerGetDatum(construct_array(ids, nb, INT8OID, 8, true, TYPALIGN_DOUBLE));
	rc = SPI_execute_with_args("INSERT INTO analytics.email_suppressions (address, reason, smtp_code, detail, message) "
							   "SELECT DISTINCT ON (lower(rcpt_address)) lower(rcpt_address), 'bounce', smtp_code, last_error, id "
							   "FROM analytics.email_outbox WHERE id = ANY ($1) AND status = 'bounced' "
							   "ORDER BY lower(rcpt_address), id "
							   "ON CONFLICT (address) DO NOTHING",
							   1, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "recording suppressions failed: %s", SPI_result_code_string(rc));
}

const JobQueue email_queue = {
	.name = "email",
	.table = "analytics.email_outbox",
	.events_table = "analytics.email_events",
	.events_job_column = "message",
	.code_column = "smtp_code",
	.payload = "o.envelope_from, o.rcpt_address, o.message, "
	"EXISTS (SELECT 1 FROM analytics.email_suppressions s WHERE s.address = lower(o.rcpt_address))",
	.batch_size = email_batch_size,
	.max_age = email_max_age,
	.run = email_run,
	.after_record = email_after_record,
	.config_changed = email_config_changed,
	.stop = email_stop,
};
