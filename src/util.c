/*
 * util.c
 *		Helpers shared by the SQL-facing modules (see util.h).
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "optimizer/cost.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "analytics.h"
#include "util.h"

static void *
pg_core_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocHuge((MemoryContext) ctx, size);
}

static void
pg_core_release(void *ctx, void *ptr)
{
	(void) ctx;
	pfree(ptr);
}

static void
pg_core_interrupts(void *ctx)
{
	(void) ctx;
	CHECK_FOR_INTERRUPTS();
}

/*
 * Threads for one computation (analytics.max_threads; -1: the processes a
 * parallel query may use, max_parallel_workers_per_gather + 1, at most the
 * online CPUs).
 */
int
an_threads(void)
{
	int			t = analytics_max_threads;

	if (t < 0)
	{
		long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

		t = max_parallel_workers_per_gather + 1;
		if (cpus > 0 && t > cpus)
			t = (int) cpus;
	}
	return t < 1 ? 1 : t;
}

an_allocator
an_pg_allocator(MemoryContext cxt)
{
	an_allocator a;

	a.alloc = pg_core_alloc;
	a.release = pg_core_release;
	a.check_interrupts = pg_core_interrupts;
	a.ctx = cxt;
	return a;
}

void
an_report_core_error(int code, const char *message, const char *hint)
{
	switch (code)
	{
		case AN_OK:
			return;
		case AN_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("%s", message)));
			break;
		case AN_ELIMIT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s", message),
					 hint ? errhint("%s", hint) : 0));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", message),
					 hint ? errhint("%s", hint) : 0));
			break;
	}
}

/* comma-separated names of the variants in mask */
static char *
variant_list(uint32 mask, const char *const *names, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		if (mask & (UINT32_C(1) << i))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", names[i]);
	return buf.data;
}

/* comma-separated names of the options that apply to variant */
static char *
option_list(const an_option *spec, int nspec, uint32 variant)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < nspec; i++)
		if (spec[i].applies & variant)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", spec[i].name);
	return buf.data;
}

static double
jsonb_number(const JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static void
wrong_type(const an_option *o, const char *what, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s option \"%s\" must be %s", what, o->name, expected)));
}

/* seconds in a duration given as a number of days or an interval string */
static double
duration_seconds(const an_option *o, const JsonbValue *v, const char *what)
{
	double		secs;

	if (v->type == jbvNumeric)
		secs = jsonb_number(v) * SECS_PER_DAY;
	else if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
															   CStringGetDatum(s),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));

		secs = (double) iv->time / USECS_PER_SEC + (double) iv->day * SECS_PER_DAY +
			(double) (iv->month / MONTHS_PER_YEAR) * DAYS_PER_YEAR * SECS_PER_DAY +
			(double) (iv->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH * SECS_PER_DAY;
	}
	else
	{
		wrong_type(o, what, "a number of days or an interval such as '36 hours'");
		secs = 0;				/* keep compiler quiet */
	}
	if (!(secs > 0) || isinf(secs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s option \"%s\" must be a positive duration", what, o->name)));
	return secs;
}

/* read an array of numbers (the iterator is just past WJB_BEGIN_ARRAY) */
static void
read_numbers(an_option *o, JsonbIterator **it, const char *what)
{
	JsonbValue	v;
	JsonbIteratorToken r;
	int			cap = 8;

	o->numbers = palloc(sizeof(double) * cap);
	o->n_numbers = 0;
	while ((r = JsonbIteratorNext(it, &v, true)) != WJB_END_ARRAY)
	{
		if (r != WJB_ELEM || v.type != jbvNumeric)
			wrong_type(o, what, "an array of numbers");
		if (o->n_numbers == cap)
		{
			cap *= 2;
			o->numbers = repalloc(o->numbers, sizeof(double) * cap);
		}
		o->numbers[o->n_numbers++] = jsonb_number(&v);
	}
}

/* read an object of scalar values (the iterator is past WJB_BEGIN_OBJECT) */
static void
read_object(an_option *o, JsonbIterator **it, const char *what, bool numbers)
{
	JsonbValue	k,
				v;
	JsonbIteratorToken r;
	int			cap = 8;

	o->keys = palloc(sizeof(char *) * cap);
	o->strings = palloc(sizeof(char *) * cap);
	o->numbers = palloc(sizeof(double) * cap);
	o->n_keys = 0;
	while ((r = JsonbIteratorNext(it, &k, true)) != WJB_END_OBJECT)
	{
		Assert(r == WJB_KEY);
		r = JsonbIteratorNext(it, &v, true);
		if (r != WJB_VALUE || (numbers ? v.type != jbvNumeric
							   : (v.type != jbvString && v.type != jbvNull)))
			wrong_type(o, what, numbers ? "an object of numbers" : "an object of strings");
		if (o->n_keys == cap)
		{
			cap *= 2;
			o->keys = repalloc(o->keys, sizeof(char *) * cap);
			o->strings = repalloc(o->strings, sizeof(char *) * cap);
			o->numbers = repalloc(o->numbers, sizeof(double) * cap);
		}
		o->keys[o->n_keys] = pnstrdup(k.val.string.val, k.val.string.len);
		o->strings[o->n_keys] = (!numbers && v.type == jbvString)
			? pnstrdup(v.val.string.val, v.val.string.len) : NULL;
		o->numbers[o->n_keys] = numbers ? jsonb_number(&v) : 0.0;
		o->n_keys++;
	}
}

/* skip a container value we are rejecting (the iterator is past BEGIN) */
static void
reject_container(const an_option *o, const char *what, const char *expected)
{
	wrong_type(o, what, expected);
}

void
an_parse_options(Jsonb *options, an_option *spec, int nspec,
				 uint32 variant, const char *variant_name,
				 const char *const *variant_names, int n_variants,
				 const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			i;

	for (i = 0; i < nspec; i++)
		spec[i].present = false;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s options must be a JSON object", what),
				 errhint("For example '{\"%s\": ...}'.", nspec > 0 ? spec[0].name : "option")));

	it = JsonbIteratorInit(&options->root);
	r = JsonbIteratorNext(&it, &v, true);
	Assert(r == WJB_BEGIN_OBJECT);
	/* skipNested = false: nested arrays and objects arrive as BEGIN tokens */
	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_END_OBJECT && r != WJB_DONE)
	{
		char	   *key = pnstrdup(v.val.string.val, v.val.string.len);
		an_option  *o = NULL;

		Assert(r == WJB_KEY);
		for (i = 0; i < nspec; i++)
			if (strcmp(spec[i].name, key) == 0 && spec[i].applies != 0)
				o = &spec[i];
		if (o == NULL)
		{
			char	   *valid = option_list(spec, nspec, variant);

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for %s %s", key, what, variant_name),
					 valid[0] ? errhint("Valid options for %s are: %s.", variant_name, valid)
					 : errhint("%s takes no options.", variant_name)));
		}
		if (!(o->applies & variant))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" does not apply to %s %s", key, what, variant_name),
					 errhint("It applies to: %s.", variant_list(o->applies, variant_names, n_variants))));
		o->present = true;

		r = JsonbIteratorNext(&it, &v, false);
		if (r == WJB_BEGIN_ARRAY)
		{
			if (o->kind != AN_OPT_NUMBERS && o->kind != AN_OPT_WEIGHTS)
				reject_container(o, what, "a scalar");
			read_numbers(o, &it, what);
			continue;
		}
		if (r == WJB_BEGIN_OBJECT)
		{
			if (o->kind != AN_OPT_WEIGHTS && o->kind != AN_OPT_OBJECT)
				reject_container(o, what, "a scalar");
			read_object(o, &it, what, o->kind == AN_OPT_WEIGHTS);
			continue;
		}
		Assert(r == WJB_VALUE);
		switch (o->kind)
		{
			case AN_OPT_NUMBER:
			case AN_OPT_INTEGER:
				if (v.type != jbvNumeric)
					wrong_type(o, what, o->kind == AN_OPT_NUMBER ? "a number" : "an integer");
				o->number = jsonb_number(&v);
				if (o->kind == AN_OPT_INTEGER &&
					(o->number != floor(o->number) || fabs(o->number) > PG_INT32_MAX))
					wrong_type(o, what, "an integer");
				break;
			case AN_OPT_STRING:
				if (v.type != jbvString)
					wrong_type(o, what, "a string");
				o->string = pnstrdup(v.val.string.val, v.val.string.len);
				break;
			case AN_OPT_BOOL:
				if (v.type != jbvBool)
					wrong_type(o, what, "true or false");
				o->boolean = v.val.boolean;
				break;
			case AN_OPT_DURATION:
				o->number = duration_seconds(o, &v, what);
				break;
			case AN_OPT_NUMBERS:
				wrong_type(o, what, "an array of numbers");
				break;
			case AN_OPT_WEIGHTS:
				wrong_type(o, what, "an array or an object of numbers");
				break;
			case AN_OPT_OBJECT:
				wrong_type(o, what, "an object");
				break;
		}
	}
}

an_option *
an_option_get(an_option *spec, int nspec, const char *name)
{
	int			i;

	for (i = 0; i < nspec; i++)
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	elog(ERROR, "option %s not declared", name);
	return NULL;				/* keep compiler quiet */
}

void
an_weights_from_object(const an_option *o, const char *const *names, int n,
					   const double *defaults, double *out)
{
	int			i,
				k;

	for (i = 0; i < n; i++)
		out[i] = defaults[i];
	for (k = 0; k < o->n_keys; k++)
	{
		for (i = 0; i < n; i++)
			if (strcmp(o->keys[k], names[i]) == 0)
				break;
		if (i == n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in option \"%s\"", o->keys[k], o->name),
					 errhint("Valid keys are: %s.", an_join_names(names, n))));
		out[i] = o->numbers[k];
	}
}

char *
an_join_names(const char *const *names, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", names[i]);
	return buf.data;
}

Oid
an_type_oid(const char *name)
{
	Oid			nsp = get_namespace_oid("analytics", false);
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum(name), ObjectIdGetDatum(nsp));

	if (!OidIsValid(typid))
		elog(ERROR, "type analytics.%s does not exist", name);
	return typid;
}

ArrayType *
an_composite_array(const char *type_name, int nrows, int natts,
				   Datum *values, bool *nulls)
{
	Oid			typid = an_type_oid(type_name);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc_copy(typid, -1);
	Datum	   *rows = palloc(sizeof(Datum) * (nrows > 0 ? nrows : 1));
	bool	   *nonulls = palloc0(sizeof(bool) * natts);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			r;

	if (tupdesc->natts != natts)
		elog(ERROR, "type analytics.%s has %d attributes, expected %d",
			 type_name, tupdesc->natts, natts);
	BlessTupleDesc(tupdesc);
	for (r = 0; r < nrows; r++)
	{
		HeapTuple	tup = heap_form_tuple(tupdesc, values + (Size) r * natts,
										  nulls ? nulls + (Size) r * natts : nonulls);

		rows[r] = HeapTupleGetDatum(tup);
	}
	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return construct_array(rows, nrows, typid, typlen, typbyval, typalign);
}

Datum
an_text_datum(const char *s, int len)
{
	return PointerGetDatum(cstring_to_text_with_len(s, len));
}

bool
an_agg_args_const(FunctionCallInfo fcinfo, int first, int last)
{
	Aggref	   *ag = AggGetAggref(fcinfo);
	int			i;

	if (ag == NULL || last > list_length(ag->args))
		return false;
	for (i = first; i <= last; i++)
	{
		TargetEntry *te = list_nth_node(TargetEntry, ag->args, i - 1);

		if (!IsA(te->expr, Const))
			return false;
	}
	return true;
}

bool
an_same_jsonb(Jsonb *a, Jsonb *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a == b || (VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0);
}
