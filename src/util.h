/*
 * util.h
 *		Helpers shared by the SQL-facing modules: the palloc allocator for the
 *		pure-C cores, jsonb option parsing, result arrays of composite types.
 */
#ifndef ANALYTICS_UTIL_H
#define ANALYTICS_UTIL_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "lib/alloc.h"

/*
 * An allocator that pallocs (huge allocations allowed) in cxt and checks for
 * interrupts; the core's memory goes away with cxt, also on error.
 */
extern an_allocator an_pg_allocator(MemoryContext cxt);

/*
 * Raise the error a core reported: AN_ENOMEM as out of memory, AN_ELIMIT as
 * program_limit_exceeded, AN_EINVAL as invalid_parameter_value, each with
 * the core's message and the given hint (may be NULL).
 */
extern void an_report_core_error(int code, const char *message, const char *hint);

/* Kinds of option values. */
typedef enum an_opt_kind
{
	AN_OPT_NUMBER,				/* JSON number */
	AN_OPT_STRING,				/* JSON string */
	AN_OPT_BOOL,				/* JSON boolean */
	AN_OPT_INTEGER,				/* JSON number with an integral value */
	AN_OPT_DURATION,			/* number of days, or a string interval like '36 hours' */
	AN_OPT_NUMBERS,				/* array of numbers */
	AN_OPT_WEIGHTS,				/* array of numbers, or object of named numbers */
	AN_OPT_OBJECT				/* object of string values (column maps) */
} an_opt_kind;

/*
 * One accepted option.  `applies` is a bit mask of the models (or other
 * variants) it applies to; parsing rejects an option that does not apply to
 * the chosen variant, naming the variants it does apply to.
 */
/* initializer for an option spec entry */
#define AN_OPTION(n, k, a) {.name = (n), .kind = (k), .applies = (a)}

typedef struct an_option
{
	const char *name;
	an_opt_kind kind;
	uint32		applies;
	/* filled by an_parse_options */
	bool		present;
	double		number;			/* NUMBER, INTEGER, DURATION (seconds) */
	bool		boolean;
	char	   *string;			/* STRING */
	double	   *numbers;		/* NUMBERS, WEIGHTS given as an array */
	int			n_numbers;
	char	  **keys;			/* WEIGHTS given as an object, OBJECT */
	char	  **strings;		/* OBJECT values */
	int			n_keys;
} an_option;

/*
 * Parse `options` (may be NULL) against `spec`.  variant is the bit of the
 * chosen model, variant_name its name for messages, variant_names[i] the
 * name of bit i for the "applies to" hint.  Unknown keys are an error whose
 * hint lists the options valid for the variant.
 */
extern void an_parse_options(Jsonb *options, an_option *spec, int nspec,
							 uint32 variant, const char *variant_name,
							 const char *const *variant_names, int n_variants,
							 const char *what);

/* the option called name in spec (must exist) */
extern an_option *an_option_get(an_option *spec, int nspec, const char *name);

/*
 * The value of a WEIGHTS option given as an object: the entry for each of
 * names (missing entries get defaults[i]); unknown keys are an error.
 */
extern void an_weights_from_object(const an_option *o, const char *const *names,
								   int n, const double *defaults, double *out);

/* "a, b, c" */
extern char *an_join_names(const char *const *names, int n);

/* the OID of a type analytics.<name>, looked up once per call site */
extern Oid	an_type_oid(const char *name);

/*
 * Build an array of composite analytics.<type_name> values from rows of
 * datums: values[r * natts + a], nulls likewise (nulls may be NULL).
 */
extern ArrayType *an_composite_array(const char *type_name, int nrows, int natts,
									 Datum *values, bool *nulls);

/* are two (possibly NULL) jsonb values byte for byte the same? */
extern bool an_same_jsonb(Jsonb *a, Jsonb *b);

/* text datum from a C string of known length */
extern Datum an_text_datum(const char *s, int len);

/*
 * In an aggregate's transition function: are transition arguments
 * first .. last (1-based, as PG_GETARG numbers them; argument 0 is the
 * state) all constants in the query?  Then they cannot change from row to
 * row and need no per-row check.  False when it cannot tell.
 */
extern bool an_agg_args_const(FunctionCallInfo fcinfo, int first, int last);

#endif							/* ANALYTICS_UTIL_H */
