/*
 * analytics.c
 *		Module entry point: _PG_init, configuration, version information.
 *
 * Every setting of the extension lives under the reserved `analytics.`
 * prefix, so a misspelt `analytics.something` in postgresql.conf or a SET is
 * reported instead of silently creating a placeholder.  Modules that need
 * settings add them in their own *_init_guc() function called from here.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include <curl/curl.h>
#include <json-c/json_c_version.h>

#include "analytics.h"
#include "email.h"
#include "lib/par.h"
#include "worker.h"

PG_MODULE_MAGIC;

bool		analytics_preloaded = false;
int			analytics_max_threads = -1;

void		_PG_init(void);

/*
 * For an_par_for: whether CHECK_FOR_INTERRUPTS has work (it only reads the
 * flag, so it is safe while helper threads run).
 */
static int
interrupt_pending(void)
{
	return InterruptPending ? 1 : 0;
}

/*
 * Called once per process that loads the library: the postmaster when the
 * library is in shared_preload_libraries (and its children inherit the
 * state), otherwise each backend on first use.
 */
void
_PG_init(void)
{
	analytics_preloaded = process_shared_preload_libraries_in_progress;

	DefineCustomIntVariable("analytics.max_aggregate_memory",
							"Memory an analytics aggregate that keeps per-actor state may use.",
							"cohort_matrix, lifecycle, stickiness and funnel_report hash every actor; "
							"above this they stop with an error instead of exhausting memory.",
							&analytics_max_aggregate_memory,
							1048576, 1024, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.sequence_max_steps",
							"Steps sequence_match and sequence_count may take per actor.",
							"Matching takes about (events of the actor) x (event atoms of the "
							"pattern) steps, counting about five times that; an actor that needs "
							"more stops with an error instead of running on.",
							&analytics_sequence_max_steps,
							100000000, 1000, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("analytics.max_threads",
							"Threads one computation of the extension may use inside a backend.",
							"The k-means fits of kmeans and kmeans_auto spread their passes over "
							"the points across this many threads of the backend (the results do "
							"not depend on it).  -1 follows max_parallel_workers_per_gather + 1, "
							"the processes a parallel query may use, at most the number of CPUs; "
							"1 keeps the work in the backend's own thread.",
							&analytics_max_threads,
							-1, -1, AN_PAR_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	email_init_guc();
	worker_init();
	MarkGUCPrefixReserved("analytics");
	an_par_interrupt_pending = interrupt_pending;
}

PG_FUNCTION_INFO_V1(analytics_version);

/* analytics.version(): the version of the loaded library */
Datum
analytics_version(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_TEXT_P(cstring_to_text(ANALYTICS_VERSION));
}

/* append "key": "value" (JSON-escaped) to buf, with a leading comma if needed */
static void
append_json_string(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

PG_FUNCTION_INFO_V1(analytics_build_info);

/*
 * analytics.build_info(): what this library was built against and how it
 * was loaded, as jsonb.  The libcurl and json-c versions are read from the
 * libraries at run time, so a DBA can see which shared objects were
 * resolved.
 */
Datum
analytics_build_info(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	(void) fcinfo;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_json_string(&buf, "version", ANALYTICS_VERSION);
	append_json_string(&buf, "postgres_built_with", PG_VERSION);
	append_json_string(&buf, "libcurl", curl ? curl->version : NULL);
	append_json_string(&buf, "libcurl_ssl", curl ? curl->ssl_version : NULL);
	append_json_string(&buf, "json_c", json_c_version());
	appendStringInfo(&buf, ", \"preloaded\": %s",
					 analytics_preloaded ? "true" : "false");
	appendStringInfoChar(&buf, '}');

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
