/*
 * kmeans.c
 *		SQL glue of the k-means family: the kmeans, kmeans_auto and
 *		silhouette aggregates (which keep the points), the kmeans_refine and
 *		silhouette_simplified aggregates (which keep O(k * d) numbers), and
 *		kmeans_assign / kmeans_distance.  The numeric work is in
 *		src/lib/kmeans.c.
 *
 * Point store.  kmeans, kmeans_auto and silhouette keep their points as
 * doubles (n * d * 8 bytes, plus 8 more per point while sampling or once
 * sorted), capped by analytics.max_aggregate_memory.  With a sample size
 * (sample_size for kmeans, max_points for silhouette) they keep the points
 * with the lowest km_point_hash instead: a uniform sample that does not
 * depend on the row order or on how parallel workers split the rows, and
 * that merges exactly.
 * Before fitting, the points are put in canonical order (km_sort_canonical),
 * so a model depends on the multiset of points and the seed only.
 *
 * Model.  analytics.kmeans_model holds the centroids in the units of the
 * input; with standardize it also holds the mean and scale of each feature,
 * and distances (assignment, inertia) are measured between standardized
 * points and standardized centroids.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/float.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "analytics.h"
#include "lib/kmeans.h"
#include "util.h"

/* ---------- features ---------- */

/*
 * Read a float8[] feature vector into buf (at most max values).  Returns the
 * number of values, or -1 when the array is NULL or has a NULL element (the
 * row is skipped).  Errors on a multi-dimensional or empty array and on NaN
 * or infinite values.
 */
static int
read_features(FunctionCallInfo fcinfo, int argno, double *buf, int max, const char *what)
{
	ArrayType  *arr;
	int			n,
				i;
	const double *v;

	if (PG_ARGISNULL(argno))
		return -1;

	/*
	 * Fast path for the common case, a short (1-byte header) one-dimensional
	 * float8 array without a NULL bitmap as stored in a table: read it in
	 * place instead of detoasting it into a palloc'd copy.  Its bytes after
	 * the header are those of the 4-byte-header form (heap_fill_tuple copies
	 * them verbatim), so the data start ARR_OVERHEAD_NONULLS(1) - VARHDRSZ
	 * bytes after VARDATA_SHORT; they may be unaligned, hence memcpy.
	 */
	{
		struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);

		if (VARATT_IS_SHORT(raw))
		{
			const char *p = VARDATA_SHORT(raw);
			int32		hdr[4];		/* ndim, dataoffset, elemtype, dims[0] */

			if (VARSIZE_SHORT(raw) - VARHDRSZ_SHORT >= (Size) ARR_OVERHEAD_NONULLS(1) - VARHDRSZ)
			{
				memcpy(hdr, p, sizeof(hdr));
				n = hdr[3];
				if (hdr[0] == 1 && hdr[1] == 0 && (Oid) hdr[2] == FLOAT8OID && n >= 0 && n <= max &&
					VARSIZE_SHORT(raw) - VARHDRSZ_SHORT ==
					(Size) ARR_OVERHEAD_NONULLS(1) - VARHDRSZ + (Size) n * sizeof(double))
				{
					memcpy(buf, p + ARR_OVERHEAD_NONULLS(1) - VARHDRSZ, sizeof(double) * n);
					for (i = 0; i < n; i++)
						if (unlikely(isnan(buf[i]) || isinf(buf[i])))
							break;
					if (n > 0 && i == n)
						return n;
				}
			}
		}
	}
	/* everything else, and the error cases, the ordinary way */
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		elog(ERROR, "%s: features must be float8[]", what);
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s: features must be a one-dimensional array with at least one element", what),
				 errdetail("The array has %d dimensions.", ARR_NDIM(arr))));
	if (ARR_HASNULL(arr))
	{
		bits8	   *bitmap = ARR_NULLBITMAP(arr);

		n = ARR_DIMS(arr)[0];
		for (i = 0; i < n; i++)
			if (!(bitmap[i / 8] & (1 << (i % 8))))
				return -1;
	}
	n = ARR_DIMS(arr)[0];
	if (n > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: features have %d dimensions, more than the limit of %d", what, n, max)));
	v = (const double *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
	{
		if (isnan(v[i]) || isinf(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: features must be finite numbers", what),
					 errdetail("Element %d is %s.", i + 1, isnan(v[i]) ? "NaN" : v[i] > 0 ? "Infinity" : "-Infinity"),
					 errhint("Filter such rows out or replace the values, for example with coalesce or a cap.")));
		buf[i] = v[i];
	}
	return n;
}

static void
dims_mismatch(const char *what, int got, int expected, const char *against)
{
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("%s: features have %d dimensions, %s %d", what, got, against, expected),
			 errhint("Every feature vector must have the same length.")));
}

/* ---------- the point store ---------- */

typedef enum KmFn
{
	KF_KMEANS,
	KF_AUTO,
	KF_SILHOUETTE,
	KF_NFNS
} KmFn;

static const char *const km_fn_names[KF_NFNS] = {"kmeans", "kmeans_auto", "silhouette"};

#define KM_STATE_VERSION 2
#define DEFAULT_MAX_POINTS 10000

typedef struct KmState
{
	/* serialized as a block: everything up to cxt */
	int32		version;
	int32		fn;				/* KmFn */
	int32		d;				/* stored dimensions (features, + 1 for the label) */
	int32		k;				/* kmeans: k; auto: k_min */
	int32		k_max;			/* auto */
	int32		n_init;
	int32		max_iter;
	int32		algorithm;
	double		tol;
	int64		seed;
	bool		standardize;
	bool		params_const;
	bool		sorted;			/* x (and hash) in canonical order */
	int64		limit;			/* sample size, 0 = keep every point */
	int64		max_points;		/* silhouette cap (auto, silhouette) */
	int64		rows;			/* rows with features */
	int64		skipped;		/* rows skipped for NULL features */
	int64		n;				/* points held */
	/* not serialized */
	MemoryContext cxt;
	Jsonb	   *options_arg;
	int64		cap;			/* points allocated */
	double	   *x;				/* n * d */
	uint64	   *hash;			/* sampling: max-heap of the held points' hashes;
								 * else NULL, or the hashes of a sorted run */
	double	   *row;			/* scratch for one row */
} KmState;

#define KM_SER_FIXED offsetof(KmState, cxt)
/* serialized: VARHDRSZ, padding, the fixed part, then the points 8-aligned */
#define KM_SER_HEAD (MAXALIGN(VARHDRSZ + KM_SER_FIXED) - VARHDRSZ)

/* error out when the state has outgrown analytics.max_aggregate_memory */
static void
km_check_memory(KmState *st, Size more)
{
	Size		used = MemoryContextMemAllocated(st->cxt, true) + more;

	if (used / 1024 > (Size) analytics_max_aggregate_memory)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs more memory than analytics.max_aggregate_memory allows (%d kB)",
						km_fn_names[st->fn], analytics_max_aggregate_memory),
				 errdetail("It holds " INT64_FORMAT " points of %d dimensions (%zu kB).",
						   st->n, st->d, used / 1024),
				 errhint("Set option \"sample_size\" (kmeans, kmeans_auto) or \"max_points\" (silhouette) to fit on a uniform sample, or raise analytics.max_aggregate_memory.")));
}

static void
km_grow(KmState *st, int64 want)
{
	int64		cap;

	if (want <= st->cap)
		return;
	cap = Max(st->cap * 2, 1024);
	while (cap < want)
		cap *= 2;
	if (st->limit > 0)
		cap = Min(cap, st->limit);
	km_check_memory(st, (Size) (cap - st->cap) * (st->d * sizeof(double) +
												   (st->limit > 0 ? sizeof(uint64) : 0)));
	if (st->x == NULL)
		st->x = MemoryContextAllocHuge(st->cxt, (Size) cap * st->d * sizeof(double));
	else
		st->x = repalloc_huge(st->x, (Size) cap * st->d * sizeof(double));
	/* hashes while sampling; keeping every point, they are taken when sorting */
	if (st->limit > 0)
		st->hash = st->hash == NULL
			? MemoryContextAllocHuge(st->cxt, (Size) cap * sizeof(uint64))
			: repalloc_huge(st->hash, (Size) cap * sizeof(uint64));
	st->cap = cap;
}

/* swap held points i and j with their hashes */
static inline void
swap_points(KmState *st, int64 i, int64 j)
{
	uint64		th = st->hash[i];
	double	   *a = st->x + i * st->d,
			   *b = st->x + j * st->d;
	int			f;

	st->hash[i] = st->hash[j];
	st->hash[j] = th;
	for (f = 0; f < st->d; f++)
	{
		double		t = a[f];

		a[f] = b[f];
		b[f] = t;
	}
}

/* restore the max-heap property below slot i */
static void
heap_sift_down(KmState *st, int64 i)
{
	for (;;)
	{
		int64		l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < st->n && st->hash[l] > st->hash[m])
			m = l;
		if (r < st->n && st->hash[r] > st->hash[m])
			m = r;
		if (m == i)
			return;
		swap_points(st, i, m);
		i = m;
	}
}

static void
heap_sift_up(KmState *st, int64 i)
{
	while (i > 0)
	{
		int64		p = (i - 1) / 2;

		if (st->hash[p] >= st->hash[i])
			return;
		swap_points(st, i, p);
		i = p;
	}
}

/* add one point (d values) to the store */
static void
km_add(KmState *st, const double *p)
{
	uint64		h;

	if (st->limit == 0)
	{
		/* unsorted from here: no run hashes to keep */
		if (unlikely(st->sorted) && st->hash)
		{
			pfree(st->hash);
			st->hash = NULL;
		}
		st->sorted = false;
		if (st->n == st->cap)
			km_grow(st, st->n + 1);
		memcpy(st->x + st->n * st->d, p, st->d * sizeof(double));
		st->n++;
		return;
	}
	st->sorted = false;
	h = km_point_hash(p, st->d, (uint64) st->seed);
	if (st->n < st->limit)
	{
		if (st->n == st->cap)
			km_grow(st, st->n + 1);
		st->hash[st->n] = h;
		memcpy(st->x + st->n * st->d, p, st->d * sizeof(double));
		st->n++;
		heap_sift_up(st, st->n - 1);
	}
	else if (h < st->hash[0])
	{
		st->hash[0] = h;
		memcpy(st->x, p, st->d * sizeof(double));
		heap_sift_down(st, 0);
	}
}

/* parse the options of fn into st */
static void
km_options(KmState *st, Jsonb *options)
{
	an_option	spec[] = {
		AN_OPTION("n_init", AN_OPT_INTEGER, 0x3),
		AN_OPTION("max_iter", AN_OPT_INTEGER, 0x3),
		AN_OPTION("tol", AN_OPT_NUMBER, 0x3),
		AN_OPTION("seed", AN_OPT_INTEGER, 0x7),
		AN_OPTION("standardize", AN_OPT_BOOL, 0x3),
		AN_OPTION("sample_size", AN_OPT_INTEGER, 0x3),
		AN_OPTION("algorithm", AN_OPT_STRING, 0x3),
		AN_OPTION("max_points", AN_OPT_INTEGER, 0x6),
	};

	st->n_init = 10;
	st->max_iter = 300;
	st->tol = 1e-4;
	st->seed = 0;
	st->algorithm = KM_HAMERLY;
	st->max_points = DEFAULT_MAX_POINTS;
	an_parse_options(options, spec, lengthof(spec), UINT32_C(1) << st->fn,
					 km_fn_names[st->fn], km_fn_names, KF_NFNS, "function");
	if (spec[0].present)
	{
		if (spec[0].number < 1 || spec[0].number > 1000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"n_init\" must be between 1 and 1000")));
		st->n_init = (int32) spec[0].number;
	}
	if (spec[1].present)
	{
		if (spec[1].number < 1 || spec[1].number > 100000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_iter\" must be between 1 and 100000")));
		st->max_iter = (int32) spec[1].number;
	}
	if (spec[2].present)
	{
		if (!(spec[2].number >= 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"tol\" must be a number >= 0")));
		st->tol = spec[2].number;
	}
	if (spec[3].present)
		st->seed = (int64) spec[3].number;
	if (spec[4].present)
		st->standardize = spec[4].boolean;
	if (spec[5].present)
	{
		if (spec[5].number < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"sample_size\" must be >= 0 (0 keeps every point)")));
		st->limit = (int64) spec[5].number;
	}
	if (spec[6].present)
	{
		if (strcmp(spec[6].string, "hamerly") == 0)
			st->algorithm = KM_HAMERLY;
		else if (strcmp(spec[6].string, "lloyd") == 0)
			st->algorithm = KM_LLOYD;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"algorithm\" must be \"hamerly\" or \"lloyd\", not \"%s\"",
							spec[6].string)));
	}
	if (spec[7].present)
	{
		if (spec[7].number < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_points\" must be at least 2")));
		st->max_points = (int64) spec[7].number;
	}
	if (st->fn == KF_SILHOUETTE)
		st->limit = st->max_points;
}

static void
params_changed(KmFn fn)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the k and options arguments of %s must be the same in every row", km_fn_names[fn]),
			 errhint("Pass constants for them.")));
}

/*
 * The state of argument 0, created on the first row from the parameter
 * arguments first_param .. (k, k_max, options) and checked against them on
 * later rows.  options_arg < 0: none.
 */
static KmState *
km_state(FunctionCallInfo fcinfo, KmFn fn, int k_arg, int kmax_arg, int options_arg)
{
	MemoryContext aggcxt,
				cxt,
				old;
	KmState    *st;
	Jsonb	   *options;
	int			last_param = options_arg >= 0 ? options_arg : kmax_arg >= 0 ? kmax_arg : k_arg;
	int			first_param = k_arg >= 0 ? k_arg : options_arg;

	if (!PG_ARGISNULL(0) && ((KmState *) PG_GETARG_POINTER(0))->params_const)
		return (KmState *) PG_GETARG_POINTER(0);
	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s transition function called outside an aggregate", km_fn_names[fn])));
	if ((k_arg >= 0 && PG_ARGISNULL(k_arg)) || (kmax_arg >= 0 && PG_ARGISNULL(kmax_arg)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the k arguments of %s must not be null", km_fn_names[fn])));
	options = (options_arg >= 0 && options_arg < PG_NARGS() && !PG_ARGISNULL(options_arg))
		? PG_GETARG_JSONB_P(options_arg) : NULL;
	if (!PG_ARGISNULL(0))
	{
		st = (KmState *) PG_GETARG_POINTER(0);
		if ((k_arg >= 0 && PG_GETARG_INT32(k_arg) != st->k) ||
			(kmax_arg >= 0 && PG_GETARG_INT32(kmax_arg) != st->k_max) ||
			!an_same_jsonb(options, st->options_arg))
			params_changed(fn);
		return st;
	}

	cxt = AllocSetContextCreate(aggcxt, "analytics kmeans points", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(KmState));
	st->version = KM_STATE_VERSION;
	st->sorted = true;			/* no points yet */
	st->fn = fn;
	st->cxt = cxt;
	st->params_const = last_param < 1 || an_agg_args_const(fcinfo, first_param, last_param);
	if (k_arg >= 0)
	{
		st->k = PG_GETARG_INT32(k_arg);
		if (st->k < (fn == KF_AUTO ? 2 : 1) || st->k > KM_MAX_K)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be between %d and %d, not %d",
							fn == KF_AUTO ? "k_min" : "k", fn == KF_AUTO ? 2 : 1, KM_MAX_K, st->k),
					 fn == KF_AUTO ? errhint("The silhouette needs at least two clusters.") : 0));
	}
	if (kmax_arg >= 0)
	{
		st->k_max = PG_GETARG_INT32(kmax_arg);
		if (st->k_max < st->k || st->k_max > KM_MAX_K)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k_max must be between k_min (%d) and %d, not %d", st->k, KM_MAX_K, st->k_max)));
	}
	st->options_arg = options ? (Jsonb *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(options_arg)) : NULL;
	km_options(st, options);
	if (fn == KF_KMEANS && st->limit > 0 && st->limit < st->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"sample_size\" (" INT64_FORMAT ") must be at least k (%d)", st->limit, st->k)));
	if (fn == KF_AUTO && st->limit > 0 && st->limit <= st->k_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"sample_size\" (" INT64_FORMAT ") must be greater than k_max (%d)", st->limit, st->k_max)));
	st->row = palloc(sizeof(double) * (KM_MAX_DIMS + 1));
	MemoryContextSwitchTo(old);
	return st;
}

/* add the features of argument feat_arg (and the label of label_arg) */
static void
km_row(KmState *st, FunctionCallInfo fcinfo, int feat_arg, int label_arg)
{
	int			n = read_features(fcinfo, feat_arg, st->row, KM_MAX_DIMS, km_fn_names[st->fn]);
	int			d;

	if (n < 0 || (label_arg >= 0 && PG_ARGISNULL(label_arg)))
	{
		st->skipped++;
		return;
	}
	d = n + (label_arg >= 0 ? 1 : 0);
	if (st->d == 0)
		st->d = d;
	else if (st->d != d)
		dims_mismatch(km_fn_names[st->fn], n, st->d - (label_arg >= 0 ? 1 : 0), "earlier rows have");
	if (label_arg >= 0)
		st->row[n] = (double) PG_GETARG_INT32(label_arg);
	st->rows++;
	km_add(st, st->row);
	if ((st->rows & 0xFFFF) == 0)
		km_check_memory(st, 0);
}

PG_FUNCTION_INFO_V1(kmeans_accum);
Datum
kmeans_accum(PG_FUNCTION_ARGS)
{
	KmState    *st = km_state(fcinfo, KF_KMEANS, 2, -1, PG_NARGS() > 3 ? 3 : -1);

	km_row(st, fcinfo, 1, -1);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(kmeans_auto_accum);
Datum
kmeans_auto_accum(PG_FUNCTION_ARGS)
{
	KmState    *st = km_state(fcinfo, KF_AUTO, 2, 3, PG_NARGS() > 4 ? 4 : -1);

	km_row(st, fcinfo, 1, -1);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(silhouette_accum);
Datum
silhouette_accum(PG_FUNCTION_ARGS)
{
	KmState    *st = km_state(fcinfo, KF_SILHOUETTE, -1, -1, PG_NARGS() > 3 ? 3 : -1);

	km_row(st, fcinfo, 1, 2);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(kmeans_combine);
Datum
kmeans_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	KmState    *a,
			   *b;
	int64		i;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "kmeans_combine called outside an aggregate");
	a = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	b = PG_ARGISNULL(1) ? NULL : (KmState *) PG_GETARG_POINTER(1);
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		/* adopt b: move its context under the aggregate context */
		MemoryContextSetParent(b->cxt, aggcxt);
		PG_RETURN_POINTER(b);
	}
	if (a->fn != b->fn || a->k != b->k || a->k_max != b->k_max || a->limit != b->limit ||
		a->seed != b->seed)
		elog(ERROR, "%s: combining states with different parameters", km_fn_names[a->fn]);
	if (a->d == 0)
		a->d = b->d;
	else if (b->d != 0 && a->d != b->d)
		dims_mismatch(km_fn_names[a->fn], b->d - (a->fn == KF_SILHOUETTE ? 1 : 0),
					  a->d - (a->fn == KF_SILHOUETTE ? 1 : 0), "other rows have");
	a->rows += b->rows;
	a->skipped += b->skipped;
	if (a->limit == 0 && a->sorted && b->sorted && a->n > 0 && b->n > 0)
	{
		/*
		 * Two runs in canonical order (from parallel workers): grow a to
		 * exactly the union (a large block is realloc'ed, so its pages stay
		 * where they are) and merge b into it from the back.
		 */
		int64		n = a->n + b->n;

		if (n > a->cap)
		{
			km_check_memory(a, (Size) (n - a->cap) * (a->d * sizeof(double) + sizeof(uint64)));
			a->x = repalloc_huge(a->x, (Size) n * a->d * sizeof(double));
			a->hash = repalloc_huge(a->hash, (Size) n * sizeof(uint64));
			a->cap = n;
		}
		km_merge_canonical(a->x, a->hash, a->n, b->x, b->hash, b->n, a->d);
		a->n = n;
		MemoryContextDelete(b->cxt);
		PG_RETURN_POINTER(a);
	}
	if (a->limit == 0)
	{
		if (b->n == 0)
			PG_RETURN_POINTER(a);
		if (a->n == 0)
		{
			/* take b's points (and, sorted, its hashes) with its context */
			if (a->x)
				pfree(a->x);
			if (a->hash)
				pfree(a->hash);
			a->x = b->x;
			a->hash = b->hash;
			a->cap = b->cap;
			a->n = b->n;
			a->sorted = b->sorted;
			MemoryContextSetParent(b->cxt, a->cxt);
			PG_RETURN_POINTER(a);
		}
		/* append b's points in one copy: unsorted, so no hashes */
		if (a->hash)
			pfree(a->hash);
		a->hash = NULL;
		a->sorted = false;
		km_grow(a, a->n + b->n);
		memcpy(a->x + a->n * a->d, b->x, sizeof(double) * b->n * b->d);
		a->n += b->n;
		MemoryContextDelete(b->cxt);
		PG_RETURN_POINTER(a);
	}
	for (i = 0; i < b->n; i++)
	{
		km_add(a, b->x + i * b->d);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(kmeans_serialize);
/*
 * A parallel worker puts its points in canonical order here, while the
 * others still scan, so that the leader only merges the runs.
 */
Datum
kmeans_serialize(PG_FUNCTION_ARGS)
{
	KmState    *st = (KmState *) PG_GETARG_POINTER(0);
	Size		xbytes = (Size) st->n * st->d * sizeof(double);
	Size		hbytes = (Size) st->n * sizeof(uint64);
	Size		len = VARHDRSZ + KM_SER_HEAD + xbytes + hbytes;
	KmState		head = *st;
	bytea	   *out;
	char	   *p;

	if (len > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: a parallel worker holds too many points to pass on (%zu MB)",
						km_fn_names[st->fn], len >> 20),
				 errhint("Set option \"sample_size\", or run it without parallel workers (SET max_parallel_workers_per_gather = 0).")));
	out = palloc(len);
	SET_VARSIZE(out, len);
	p = VARDATA(out);
	memset(p + KM_SER_FIXED, 0, KM_SER_HEAD - KM_SER_FIXED);
	if (st->limit == 0 && !st->sorted && st->n > 0)
	{
		char		err[256];
		an_allocator a = an_pg_allocator(CurrentMemoryContext);
		int			rc = km_sort_canonical_hashed(st->x, NULL, (uint64) st->seed, st->n, st->d,
												  (double *) (p + KM_SER_HEAD),
												  (uint64 *) (p + KM_SER_HEAD + xbytes),
												  1, &a, err, sizeof(err));

		if (rc != AN_OK)
			an_report_core_error(rc, err, NULL);
		head.sorted = true;
	}
	else
	{
		if (xbytes)
			memcpy(p + KM_SER_HEAD, st->x, xbytes);
		if (hbytes)
			memcpy(p + KM_SER_HEAD + xbytes, st->hash, hbytes);
	}
	memcpy(p, &head, KM_SER_FIXED);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(kmeans_deserialize);
Datum
kmeans_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_P(0);
	Size		len = VARSIZE(b) - VARHDRSZ;
	const char *p = VARDATA(b);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "analytics kmeans points",
											  ALLOCSET_DEFAULT_SIZES);
	KmState    *st = MemoryContextAllocZero(cxt, sizeof(KmState));
	Size		xbytes,
				hbytes;

	if (len < KM_SER_HEAD)
		elog(ERROR, "truncated kmeans state");
	memcpy(st, p, KM_SER_FIXED);
	p += KM_SER_HEAD;
	if (st->version != KM_STATE_VERSION || st->d < 0 || st->d > KM_MAX_DIMS + 1 ||
		st->n < 0 || st->fn < 0 || st->fn >= KF_NFNS)
		elog(ERROR, "invalid kmeans state");
	xbytes = (Size) st->n * st->d * sizeof(double);
	hbytes = (Size) st->n * sizeof(uint64);
	if (len != KM_SER_HEAD + xbytes + hbytes)
		elog(ERROR, "kmeans state has the wrong length");
	st->cxt = cxt;
	st->options_arg = NULL;
	st->params_const = true;	/* only combined from here on */
	st->cap = Max(st->n, 1);
	st->x = MemoryContextAllocHuge(cxt, st->cap * Max(st->d, 1) * sizeof(double));
	if (xbytes)
		memcpy(st->x, p, xbytes);
	p += xbytes;
	st->hash = MemoryContextAllocHuge(cxt, st->cap * sizeof(uint64));
	if (hbytes)
		memcpy(st->hash, p, hbytes);
	st->row = MemoryContextAlloc(cxt, sizeof(double) * (KM_MAX_DIMS + 1));
	PG_RETURN_POINTER(st);
}

/* ---------- fitting ---------- */

typedef struct KmModel
{
	int			k;
	int			d;
	double	   *centroids;		/* k * d, input units */
	double	   *fitted;			/* k * d, in the fitted (standardized) space */
	double		inertia;
	int			iterations;
	bool		converged;
	int64		n;
	int64		rows;
	int64	   *sizes;			/* k */
	bool		standardized;
	double	   *mean;			/* d, when standardized */
	double	   *scale;			/* d, when standardized */
	int			n_init;
	int64		seed;
} KmModel;

/*
 * Put the points of st in canonical order (by their hashes: taken as they
 * arrived while sampling, else computed here by the threads; the sorted
 * copy replaces the points, so for a moment both exist).
 */
static void
km_sort_points(KmState *st)
{
	char		err[256];
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	double	   *sorted;
	int			rc;

	if (st->sorted)
	{
		/* merged from sorted runs, or fewer than two points */
		if (st->hash)
			pfree(st->hash);
		st->hash = NULL;
		return;
	}
	sorted = MemoryContextAllocHuge(st->cxt, (Size) Max(st->n, 1) * st->d * sizeof(double));
	rc = km_sort_canonical_hashed(st->x, st->hash, (uint64) st->seed, st->n, st->d, sorted, NULL,
								  an_threads(), &a, err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);
	pfree(st->x);
	st->x = sorted;
	st->cap = Max(st->n, 1);
	if (st->hash)
		pfree(st->hash);
	st->hash = NULL;
}

/* the points of st in canonical order, and standardized in place when asked */
static void
km_prepare(KmState *st, int d, double *mean, double *scale)
{
	int64		i;
	int			j;

	km_sort_points(st);
	if (!st->standardize)
		return;
	/* population mean and standard deviation per feature (two passes) */
	for (j = 0; j < d; j++)
		mean[j] = scale[j] = 0;
	for (i = 0; i < st->n; i++)
		for (j = 0; j < d; j++)
			mean[j] += st->x[i * st->d + j];
	for (j = 0; j < d; j++)
		mean[j] /= st->n;
	for (i = 0; i < st->n; i++)
		for (j = 0; j < d; j++)
		{
			double		t = st->x[i * st->d + j] - mean[j];

			scale[j] += t * t;
		}
	for (j = 0; j < d; j++)
	{
		scale[j] = sqrt(scale[j] / st->n);
		if (!(scale[j] > 0))
			scale[j] = 1.0;		/* a constant feature: as scikit-learn's StandardScaler */
	}
	for (i = 0; i < st->n; i++)
		for (j = 0; j < d; j++)
			st->x[i * st->d + j] = (st->x[i * st->d + j] - mean[j]) / scale[j];
}

/* fit k clusters on the prepared points of st (d == st->d) */
static void
km_fit_model(KmState *st, int k, KmModel *m, const double *mean, const double *scale, int32 *labels)
{
	km_params	p;
	km_result	r;
	char		err[256];
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	int			rc;
	int			d = st->d,
				i,
				j;

	if (st->n < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: k (%d) is greater than the number of points (" INT64_FORMAT ")",
						km_fn_names[st->fn], k, st->n),
				 st->skipped ? errdetail(INT64_FORMAT " rows were skipped for NULL features.", st->skipped) : 0));
	memset(&p, 0, sizeof(p));
	p.k = k;
	p.n_init = st->n_init;
	p.max_iter = st->max_iter;
	p.tol = st->tol;
	p.seed = (uint64) st->seed;
	p.algorithm = (km_algorithm) st->algorithm;
	p.threads = an_threads();
	memset(&r, 0, sizeof(r));
	m->fitted = r.centroids = palloc(sizeof(double) * k * d);
	m->sizes = r.sizes = palloc(sizeof(int64) * k);
	rc = km_fit(st->x, st->n, d, &p, labels, &r, &a, err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);
	m->k = k;
	m->d = d;
	m->inertia = r.inertia;
	m->iterations = r.iterations;
	m->converged = r.converged;
	m->n = st->n;
	m->rows = st->rows;
	m->standardized = st->standardize;
	m->n_init = st->n_init;
	m->seed = st->seed;
	m->centroids = palloc(sizeof(double) * k * d);
	m->mean = st->standardize ? (double *) mean : NULL;
	m->scale = st->standardize ? (double *) scale : NULL;
	for (i = 0; i < k; i++)
		for (j = 0; j < d; j++)
			m->centroids[i * d + j] = st->standardize
				? m->fitted[i * d + j] * scale[j] + mean[j]
				: m->fitted[i * d + j];
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *e = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		e[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(e, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

#define MODEL_NATTS 14

/* the analytics.kmeans_model composite of m */
static Datum
model_datum(const KmModel *m)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc_copy(an_type_oid("kmeans_model"), -1);
	Datum		values[MODEL_NATTS];
	bool		nulls[MODEL_NATTS];
	Datum	   *e = palloc(sizeof(Datum) * m->k * m->d);
	Datum	   *sz = palloc(sizeof(Datum) * m->k);
	int			dims[2] = {m->k, m->d};
	int			lbs[2] = {1, 1};
	int			i;

	if (tupdesc->natts != MODEL_NATTS)
		elog(ERROR, "type analytics.kmeans_model has %d attributes, expected %d",
			 tupdesc->natts, MODEL_NATTS);
	BlessTupleDesc(tupdesc);
	for (i = 0; i < m->k * m->d; i++)
		e[i] = Float8GetDatum(m->centroids[i]);
	for (i = 0; i < m->k; i++)
		sz[i] = Int64GetDatum(m->sizes[i]);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum(m->k);
	values[1] = Int32GetDatum(m->d);
	values[2] = PointerGetDatum(construct_md_array(e, NULL, 2, dims, lbs, FLOAT8OID, 8,
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = Float8GetDatum(m->inertia);
	values[4] = Int32GetDatum(m->iterations);
	values[5] = BoolGetDatum(m->converged);
	values[6] = Int64GetDatum(m->n);
	values[7] = Int64GetDatum(m->rows);
	values[8] = PointerGetDatum(construct_array(sz, m->k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[9] = CStringGetTextDatum(m->standardized ? "zscore" : "none");
	if (m->standardized)
	{
		values[10] = float8_array(m->mean, m->d);
		values[11] = float8_array(m->scale, m->d);
	}
	else
		nulls[10] = nulls[11] = true;
	values[12] = Int32GetDatum(m->n_init);
	values[13] = Int64GetDatum(m->seed);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

static void
no_points(KmState *st, const char *fn)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s needs at least one row with features", fn),
			 (st && st->skipped)
			 ? errdetail("All " INT64_FORMAT " rows had NULL features.", st->skipped)
			 : errdetail("The input was empty.")));
}

PG_FUNCTION_INFO_V1(kmeans_final);
Datum
kmeans_final(PG_FUNCTION_ARGS)
{
	KmState    *st = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	KmModel		m;
	double	   *mean,
			   *scale;

	if (st == NULL || st->n == 0)
		no_points(st, "kmeans");
	mean = palloc(sizeof(double) * st->d);
	scale = palloc(sizeof(double) * st->d);
	km_prepare(st, st->d, mean, scale);
	km_fit_model(st, st->k, &m, mean, scale, NULL);
	PG_RETURN_DATUM(model_datum(&m));
}

/*
 * Mean silhouette of the first m points of x (d dimensions; canonical order
 * makes them a uniform sample) under labels; NaN when fewer than two
 * clusters are non-empty.
 */
static double
sample_silhouette(const double *x, int64 m, int d, const int32 *labels, int k)
{
	char		err[256];
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	double		s;
	int			rc = km_silhouette(x, m, d, labels, k, &s, &a, err, sizeof(err));

	if (rc == AN_EINVAL)
		return get_float8_nan();
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);
	return s;
}

PG_FUNCTION_INFO_V1(kmeans_auto_final);
Datum
kmeans_auto_final(PG_FUNCTION_ARGS)
{
	KmState    *st = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	double	   *mean,
			   *scale;
	int			nk,
				i,
				best = -1;
	int64		m;
	int32	   *labels;
	KmModel    *models;
	Datum	   *score_rows;
	double		best_s = 0;
	TupleDesc	result_desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (st == NULL || st->n == 0)
		no_points(st, "kmeans_auto");
	if (st->n <= st->k_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_auto: k_max (%d) must be less than the number of points (" INT64_FORMAT ")",
						st->k_max, st->n),
				 errhint("The silhouette is defined for 2 to n - 1 clusters.")));
	mean = palloc(sizeof(double) * st->d);
	scale = palloc(sizeof(double) * st->d);
	km_prepare(st, st->d, mean, scale);
	nk = st->k_max - st->k + 1;
	models = palloc0(sizeof(KmModel) * nk);
	score_rows = palloc(sizeof(Datum) * nk * 4);
	m = Min(st->n, st->max_points);
	labels = palloc(sizeof(int32) * st->n);
	for (i = 0; i < nk; i++)
	{
		int			k = st->k + i;
		double		s;

		km_fit_model(st, k, &models[i], mean, scale, labels);
		s = sample_silhouette(st->x, m, st->d, labels, k);
		score_rows[i * 4 + 0] = Int32GetDatum(k);
		score_rows[i * 4 + 1] = Float8GetDatum(models[i].inertia);
		score_rows[i * 4 + 2] = Float8GetDatum(s);
		score_rows[i * 4 + 3] = Int32GetDatum(models[i].iterations);
		if (!isnan(s) && (best < 0 || s > best_s))
		{
			best = i;
			best_s = s;
		}
	}
	if (best < 0)
		best = 0;
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "kmeans_auto must return a composite type");
	BlessTupleDesc(result_desc);
	values[0] = Int32GetDatum(models[best].k);
	values[1] = model_datum(&models[best]);
	values[2] = PointerGetDatum(an_composite_array("kmeans_score", nk, 4, score_rows, NULL));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(silhouette_final);
Datum
silhouette_final(PG_FUNCTION_ARGS)
{
	KmState    *st = PG_ARGISNULL(0) ? NULL : (KmState *) PG_GETARG_POINTER(0);
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	char		err[256];
	double	   *x,
				s;
	int32	   *labels;
	int			d,
				rc,
				k = 0;
	int64		i;
	double	   *ids;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	km_sort_points(st);
	/* split the label column off and renumber the labels 0 .. k - 1 */
	d = st->d - 1;
	x = palloc(sizeof(double) * st->n * d);
	labels = palloc(sizeof(int32) * st->n);
	ids = palloc(sizeof(double) * st->n);
	for (i = 0; i < st->n; i++)
	{
		double		id = st->x[i * st->d + d];
		int			c;

		memcpy(x + i * d, st->x + i * st->d, sizeof(double) * d);
		for (c = 0; c < k; c++)
			if (ids[c] == id)
				break;
		if (c == k)
		{
			if (k == KM_MAX_K)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("silhouette: more than %d distinct clusters", KM_MAX_K)));
			ids[k++] = id;
		}
		labels[i] = c;
	}
	if (k < 2 || k > st->n - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("silhouette needs between 2 and n - 1 distinct clusters, got %d for " INT64_FORMAT " points",
						k, st->n),
				 st->rows > st->n ? errdetail("It looked at a sample of " INT64_FORMAT " of the " INT64_FORMAT " rows (option \"max_points\").", st->n, st->rows) : 0));
	rc = km_silhouette(x, st->n, d, labels, k, &s, &a, err, sizeof(err));
	if (rc != AN_OK)
		an_report_core_error(rc, err, NULL);
	PG_RETURN_FLOAT8(s);
}

/* ---------- models as arguments ---------- */

static void
bad_model(const char *fmt, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid kmeans_model: %s", fmt),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Use a model returned by analytics.kmeans, analytics.kmeans_auto or analytics.kmeans_refine.")));
}

/* a float8[] attribute with exactly n non-NULL elements, or NULL when isnull */
static double *
model_array(Datum d, bool isnull, int n, int ndim_expected, const char *name)
{
	ArrayType  *arr;
	double	   *out;

	if (isnull)
		return NULL;
	arr = DatumGetArrayTypeP(d);
	if (ARR_ELEMTYPE(arr) != FLOAT8OID || ARR_HASNULL(arr) ||
		ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) != n ||
		(ndim_expected > 0 && ARR_NDIM(arr) != ndim_expected))
		bad_model(name, "It does not have the dimensions k and dims describe, or it has NULLs.");
	out = palloc(sizeof(double) * Max(n, 1));
	memcpy(out, ARR_DATA_PTR(arr), sizeof(double) * n);
	return out;
}

/* parse and validate a kmeans_model datum into m (allocated in the current context) */
static void
model_parse(HeapTupleHeader th, KmModel *m)
{
	HeapTupleData tuple;
	TupleDesc	tupdesc;
	Datum		values[MODEL_NATTS];
	bool		nulls[MODEL_NATTS];
	int			i,
				j;

	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th), HeapTupleHeaderGetTypMod(th));
	if (tupdesc->natts != MODEL_NATTS)
		elog(ERROR, "type analytics.kmeans_model has %d attributes, expected %d",
			 tupdesc->natts, MODEL_NATTS);
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	heap_deform_tuple(&tuple, tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);
	memset(m, 0, sizeof(*m));
	if (nulls[0] || nulls[1] || nulls[2])
		bad_model("k, dims and centroids must not be null", NULL);
	m->k = DatumGetInt32(values[0]);
	m->d = DatumGetInt32(values[1]);
	if (m->k < 1 || m->k > KM_MAX_K || m->d < 1 || m->d > KM_MAX_DIMS)
		bad_model("k or dims out of range", NULL);
	m->centroids = model_array(values[2], false, m->k * m->d, 2, "centroids");
	m->inertia = nulls[3] ? 0 : DatumGetFloat8(values[3]);
	m->iterations = nulls[4] ? 0 : DatumGetInt32(values[4]);
	m->converged = nulls[5] ? false : DatumGetBool(values[5]);
	m->n = nulls[6] ? 0 : DatumGetInt64(values[6]);
	m->rows = nulls[7] ? 0 : DatumGetInt64(values[7]);
	m->standardized = !nulls[9] && strcmp(TextDatumGetCString(values[9]), "zscore") == 0;
	if (!nulls[9] && !m->standardized && strcmp(TextDatumGetCString(values[9]), "none") != 0)
		bad_model("scaling must be 'none' or 'zscore'", NULL);
	m->n_init = nulls[12] ? 0 : DatumGetInt32(values[12]);
	m->seed = nulls[13] ? 0 : DatumGetInt64(values[13]);
	m->fitted = palloc(sizeof(double) * m->k * m->d);
	if (m->standardized)
	{
		if (nulls[10] || nulls[11])
			bad_model("a zscore model needs feature_mean and feature_scale", NULL);
		m->mean = model_array(values[10], false, m->d, 1, "feature_mean");
		m->scale = model_array(values[11], false, m->d, 1, "feature_scale");
		for (j = 0; j < m->d; j++)
			if (!(m->scale[j] > 0) || isinf(m->scale[j]) || isnan(m->mean[j]) || isinf(m->mean[j]))
				bad_model("feature_scale must be positive and finite, feature_mean finite", NULL);
	}
	for (i = 0; i < m->k; i++)
		for (j = 0; j < m->d; j++)
		{
			double		c = m->centroids[i * m->d + j];

			if (isnan(c) || isinf(c))
				bad_model("centroids must be finite", NULL);
			m->fitted[i * m->d + j] = m->standardized ? (c - m->mean[j]) / m->scale[j] : c;
		}
	m->sizes = palloc0(sizeof(int64) * m->k);
}

/* a parsed model cached in fn_extra, keyed by the bytes of the model datum */
typedef struct ModelCache
{
	Size		len;
	char	   *bytes;
	KmModel		m;
	double	   *row;			/* scratch: the features, standardized */
	double	   *raw;			/* scratch: the features as given */
} ModelCache;

static ModelCache *
model_cached(FunctionCallInfo fcinfo, int argno)
{
	HeapTupleHeader th;
	ModelCache *c = (ModelCache *) fcinfo->flinfo->fn_extra;
	Size		len;
	MemoryContext old;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the kmeans model must not be null")));
	th = PG_GETARG_HEAPTUPLEHEADER(argno);
	len = HeapTupleHeaderGetDatumLength(th);
	if (c != NULL && c->len == len && memcmp(c->bytes, th, len) == 0)
		return c;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (c == NULL)
		c = palloc0(sizeof(ModelCache));
	else
		pfree(c->bytes);		/* the old model's arrays are left to the context */
	c->len = len;
	c->bytes = palloc(len);
	memcpy(c->bytes, th, len);
	c->row = palloc(sizeof(double) * (KM_MAX_DIMS + 1));
	c->raw = palloc(sizeof(double) * (KM_MAX_DIMS + 1));
	model_parse(th, &c->m);
	fcinfo->flinfo->fn_extra = c;
	MemoryContextSwitchTo(old);
	return c;
}

/*
 * The features of argument argno as given in c->raw and standardized like
 * the model's fit in c->row; false when they are NULL.
 */
static bool
model_features(FunctionCallInfo fcinfo, ModelCache *c, int argno, const char *what)
{
	int			n = read_features(fcinfo, argno, c->raw, KM_MAX_DIMS, what);
	int			j;

	if (n < 0)
		return false;
	if (n != c->m.d)
		dims_mismatch(what, n, c->m.d, "the model has");
	for (j = 0; j < n; j++)
		c->row[j] = c->m.standardized ? (c->raw[j] - c->m.mean[j]) / c->m.scale[j] : c->raw[j];
	return true;
}

PG_FUNCTION_INFO_V1(kmeans_assign);
Datum
kmeans_assign(PG_FUNCTION_ARGS)
{
	ModelCache *c = model_cached(fcinfo, 0);
	double		d2;

	if (!model_features(fcinfo, c, 1, "kmeans_assign"))
		PG_RETURN_NULL();
	PG_RETURN_INT32(km_nearest(c->m.fitted, c->m.k, c->m.d, c->row, &d2));
}

PG_FUNCTION_INFO_V1(kmeans_distance);
Datum
kmeans_distance(PG_FUNCTION_ARGS)
{
	ModelCache *c = model_cached(fcinfo, 0);
	double		d2 = 0;

	if (!model_features(fcinfo, c, 1, "kmeans_distance"))
		PG_RETURN_NULL();
	if (PG_NARGS() > 2)
	{
		int			cl;
		int			j;

		if (PG_ARGISNULL(2))
			PG_RETURN_NULL();
		cl = PG_GETARG_INT32(2);
		if (cl < 0 || cl >= c->m.k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cluster %d does not exist: the model's clusters are 0 .. %d", cl, c->m.k - 1)));
		for (j = 0; j < c->m.d; j++)
		{
			double		t = c->row[j] - c->m.fitted[cl * c->m.d + j];

			d2 += t * t;
		}
	}
	else
		(void) km_nearest(c->m.fitted, c->m.k, c->m.d, c->row, &d2);
	PG_RETURN_FLOAT8(sqrt(d2));
}

/* ---------- kmeans_refine: one Lloyd step over a table, in parallel ---------- */

/*
 * State: a float8[] (so that it can be shipped as text between Citus
 * nodes), laid out as
 *	[0] magic  [1] k  [2] d  [3] standardized  [4] rows  [5] inertia
 *	[6] iterations of the incoming model  [7] n_init  [8] seed
 *	then mean[d], scale[d], fitted centroids[k * d], sums[k * d] (input
 *	units), counts[k], feature sums[d] and sums of squares[d] (fitted space)
 */
#define RF_MAGIC (4.0e6 + 1)
#define RF_HDR 9

static int
rf_len(int k, int d)
{
	return RF_HDR + 2 * d + 2 * k * d + k + 2 * d;
}

#define RF_MEAN(s, k, d) ((s) + RF_HDR)
#define RF_SCALE(s, k, d) ((s) + RF_HDR + (d))
#define RF_FITTED(s, k, d) ((s) + RF_HDR + 2 * (d))
#define RF_SUMS(s, k, d) ((s) + RF_HDR + 2 * (d) + (k) * (d))
#define RF_COUNTS(s, k, d) ((s) + RF_HDR + 2 * (d) + 2 * (k) * (d))
#define RF_FSUM(s, k, d) ((s) + RF_HDR + 2 * (d) + 2 * (k) * (d) + (k))
#define RF_FSQ(s, k, d) ((s) + RF_HDR + 3 * (d) + 2 * (k) * (d) + (k))

/* the doubles of a refine state, validated */
static double *
rf_state(ArrayType *arr, int *k, int *d)
{
	double	   *s;
	int			n;

	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_ELEMTYPE(arr) != FLOAT8OID || ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || n < RF_HDR)
		elog(ERROR, "invalid kmeans_refine state");
	s = (double *) ARR_DATA_PTR(arr);
	*k = (int) s[1];
	*d = (int) s[2];
	if (s[0] != RF_MAGIC || *k < 1 || *k > KM_MAX_K || *d < 1 || *d > KM_MAX_DIMS ||
		n != rf_len(*k, *d))
		elog(ERROR, "invalid kmeans_refine state");
	return s;
}

PG_FUNCTION_INFO_V1(kmeans_refine_accum);
Datum
kmeans_refine_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *arr;
	double	   *s,
			   *sums,
			   *fsum,
			   *fsq;
	ModelCache *c;
	int			k,
				d,
				j,
				cl;
	double		d2;
	const double *raw;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("kmeans_refine transition function called outside an aggregate")));
	c = model_cached(fcinfo, 1);
	k = c->m.k;
	d = c->m.d;
	if (PG_ARGISNULL(0))
	{
		int			len = rf_len(k, d);
		MemoryContext old = MemoryContextSwitchTo(aggcxt);
		Datum	   *e = palloc(sizeof(Datum) * len);

		for (j = 0; j < len; j++)
			e[j] = Float8GetDatum(0);
		arr = construct_array(e, len, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		MemoryContextSwitchTo(old);
		s = (double *) ARR_DATA_PTR(arr);
		s[0] = RF_MAGIC;
		s[1] = k;
		s[2] = d;
		s[3] = c->m.standardized ? 1 : 0;
		s[6] = c->m.iterations;
		s[7] = c->m.n_init;
		s[8] = (double) c->m.seed;
		if (c->m.standardized)
		{
			memcpy(RF_MEAN(s, k, d), c->m.mean, sizeof(double) * d);
			memcpy(RF_SCALE(s, k, d), c->m.scale, sizeof(double) * d);
		}
		memcpy(RF_FITTED(s, k, d), c->m.fitted, sizeof(double) * k * d);
	}
	else
	{
		int			sk,
					sd;

		arr = PG_GETARG_ARRAYTYPE_P(0);
		s = rf_state(arr, &sk, &sd);
		if (sk != k || sd != d ||
			memcmp(RF_FITTED(s, k, d), c->m.fitted, sizeof(double) * k * d) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the model argument of kmeans_refine must be the same in every row")));
	}
	if (!model_features(fcinfo, c, 2, "kmeans_refine"))
		PG_RETURN_ARRAYTYPE_P(arr);
	cl = km_nearest(c->m.fitted, k, d, c->row, &d2);
	raw = c->raw;				/* the input-unit features, for the sums */
	sums = RF_SUMS(s, k, d) + cl * d;
	fsum = RF_FSUM(s, k, d);
	fsq = RF_FSQ(s, k, d);
	for (j = 0; j < d; j++)
	{
		sums[j] += raw[j];
		fsum[j] += c->row[j];
		fsq[j] += c->row[j] * c->row[j];
	}
	RF_COUNTS(s, k, d)[cl] += 1;
	s[4] += 1;
	s[5] += d2;
	PG_RETURN_ARRAYTYPE_P(arr);
}

PG_FUNCTION_INFO_V1(kmeans_refine_combine);
Datum
kmeans_refine_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *a,
			   *b;
	double	   *sa,
			   *sb;
	int			ka,
				da,
				kb,
				db,
				j,
				from;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "kmeans_refine_combine called outside an aggregate");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		b = PG_GETARG_ARRAYTYPE_P_COPY(1);
		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(b);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	b = PG_GETARG_ARRAYTYPE_P(1);
	sa = rf_state(a, &ka, &da);
	sb = rf_state(b, &kb, &db);
	if (ka != kb || da != db ||
		memcmp(RF_FITTED(sa, ka, da), RF_FITTED(sb, kb, db), sizeof(double) * ka * da) != 0)
		elog(ERROR, "kmeans_refine: combining states of different models");
	sa[4] += sb[4];
	sa[5] += sb[5];
	from = RF_HDR + 2 * da + ka * da;	/* sums onwards */
	for (j = from; j < rf_len(ka, da); j++)
		sa[j] += sb[j];
	PG_RETURN_ARRAYTYPE_P(a);
}

PG_FUNCTION_INFO_V1(kmeans_refine_final);
Datum
kmeans_refine_final(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	double	   *s,
			   *fsum,
			   *fsq,
				shift = 0,
				var = 0;
	int			k,
				d,
				i,
				j;
	KmModel		m;
	double		tol = 1e-4;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	arr = PG_GETARG_ARRAYTYPE_P(0);
	s = rf_state(arr, &k, &d);
	if (s[4] == 0)
		PG_RETURN_NULL();
	memset(&m, 0, sizeof(m));
	m.k = k;
	m.d = d;
	m.standardized = s[3] != 0;
	m.mean = RF_MEAN(s, k, d);
	m.scale = RF_SCALE(s, k, d);
	m.n = m.rows = (int64) s[4];
	m.inertia = s[5];
	m.iterations = (int) s[6] + 1;
	m.n_init = (int) s[7];
	m.seed = (int64) s[8];
	m.centroids = palloc(sizeof(double) * k * d);
	m.sizes = palloc(sizeof(int64) * k);
	for (i = 0; i < k; i++)
	{
		double		cnt = RF_COUNTS(s, k, d)[i];

		m.sizes[i] = (int64) cnt;
		for (j = 0; j < d; j++)
		{
			const double *old = RF_FITTED(s, k, d) + i * d;
			double		oldc = m.standardized ? old[j] * m.scale[j] + m.mean[j] : old[j];
			double		c = cnt > 0 ? RF_SUMS(s, k, d)[i * d + j] / cnt : oldc;
			double		t = m.standardized ? (c - oldc) / m.scale[j] : c - oldc;

			m.centroids[i * d + j] = c;
			shift += t * t;
		}
	}
	/* converged as kmeans measures it: shift <= tol * mean feature variance */
	fsum = RF_FSUM(s, k, d);
	fsq = RF_FSQ(s, k, d);
	for (j = 0; j < d; j++)
	{
		double		mu = fsum[j] / s[4];

		var += Max(fsq[j] / s[4] - mu * mu, 0.0);
	}
	m.converged = shift <= tol * var / d;
	PG_RETURN_DATUM(model_datum(&m));
}

/* ---------- simplified silhouette ---------- */

PG_FUNCTION_INFO_V1(silhouette_simplified_accum);
Datum
silhouette_simplified_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ModelCache *c;
	double		a = 0,
				b = INFINITY;
	int			i,
				j,
				own;
	double		best;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("silhouette_simplified transition function called outside an aggregate")));
	c = model_cached(fcinfo, 1);
	if (c->m.k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("silhouette_simplified needs a model with at least 2 clusters")));
	if (!model_features(fcinfo, c, 2, "silhouette_simplified"))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	own = km_nearest(c->m.fitted, c->m.k, c->m.d, c->row, &best);
	a = sqrt(best);
	for (i = 0; i < c->m.k; i++)
	{
		double		d2 = 0;

		if (i == own)
			continue;
		for (j = 0; j < c->m.d; j++)
		{
			double		t = c->row[j] - c->m.fitted[i * c->m.d + j];

			d2 += t * t;
		}
		b = Min(b, d2);
	}
	b = sqrt(b);
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
		double	   *v = (double *) ARR_DATA_PTR(arr);

		if (ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) != 2 || ARR_HASNULL(arr))
			elog(ERROR, "invalid silhouette_simplified state");
		v[0] += (Max(a, b) > 0) ? (b - a) / Max(a, b) : 0;
		v[1] += 1;
		PG_RETURN_ARRAYTYPE_P(arr);
	}
}

PG_FUNCTION_INFO_V1(silhouette_simplified_final);
Datum
silhouette_simplified_final(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	double	   *v = (double *) ARR_DATA_PTR(arr);

	if (ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) != 2 || ARR_HASNULL(arr))
		elog(ERROR, "invalid silhouette_simplified state");
	if (v[1] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v[0] / v[1]);
}

PG_FUNCTION_INFO_V1(silhouette_simplified_combine);
Datum
silhouette_simplified_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *a,
			   *b;
	double	   *va,
			   *vb;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "silhouette_simplified_combine called outside an aggregate");
	a = PG_GETARG_ARRAYTYPE_P(0);
	b = PG_GETARG_ARRAYTYPE_P(1);
	if (ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != 2 || ARR_HASNULL(a) ||
		ArrayGetNItems(ARR_NDIM(b), ARR_DIMS(b)) != 2 || ARR_HASNULL(b))
		elog(ERROR, "invalid silhouette_simplified state");
	va = (double *) ARR_DATA_PTR(a);
	vb = (double *) ARR_DATA_PTR(b);
	va[0] += vb[0];
	va[1] += vb[1];
	PG_RETURN_ARRAYTYPE_P(a);
}

/* ---------- naming clusters ---------- */

/*
 * kmeans_label_clusters(model, names, prototypes): a distinct name for each
 * cluster.  prototypes[i] is the profile of names[i] in the fitted space
 * (z-scores for a standardized model) over the first p features.  The
 * closest (cluster, name) pair is named first, then the closest of the
 * remaining ones, and so on (ties: lower cluster, then earlier name);
 * clusters left over when the names run out are called "Cluster <i>".
 */
PG_FUNCTION_INFO_V1(kmeans_label_clusters);
Datum
kmeans_label_clusters(PG_FUNCTION_ARGS)
{
	ModelCache *c = model_cached(fcinfo, 0);
	ArrayType  *names_arr = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *proto_arr = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *names;
	bool	   *name_nulls;
	int			nn,
				p,
				k = c->m.k,
				d = c->m.d,
				i,
				j,
				left;
	const double *proto;
	double	   *dist;
	int		   *chosen;
	bool	   *used;
	Datum	   *out;

	deconstruct_array(names_arr, TEXTOID, -1, false, TYPALIGN_INT, &names, &name_nulls, &nn);
	if (ARR_ELEMTYPE(proto_arr) != FLOAT8OID || ARR_HASNULL(proto_arr) || ARR_NDIM(proto_arr) != 2 ||
		ARR_DIMS(proto_arr)[0] != nn || ARR_DIMS(proto_arr)[1] < 1 || ARR_DIMS(proto_arr)[1] > d)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prototypes must be a float8[][] with one row per name and 1 to %d columns, without NULLs", d)));
	for (i = 0; i < nn; i++)
		if (name_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("cluster names must not be null")));
	p = ARR_DIMS(proto_arr)[1];
	proto = (const double *) ARR_DATA_PTR(proto_arr);
	dist = palloc(sizeof(double) * k * Max(nn, 1));
	for (i = 0; i < k; i++)
		for (j = 0; j < nn; j++)
		{
			double		s = 0;
			int			f;

			for (f = 0; f < p; f++)
			{
				double		t = c->m.fitted[i * d + f] - proto[j * p + f];

				s += t * t;
			}
			dist[i * nn + j] = s;
		}
	chosen = palloc(sizeof(int) * k);
	used = palloc0(sizeof(bool) * Max(nn, 1));
	for (i = 0; i < k; i++)
		chosen[i] = -1;
	for (left = Min(k, nn); left > 0; left--)
	{
		int			bi = -1,
					bj = -1;

		for (i = 0; i < k; i++)
			if (chosen[i] < 0)
				for (j = 0; j < nn; j++)
					if (!used[j] && (bi < 0 || dist[i * nn + j] < dist[bi * nn + bj]))
					{
						bi = i;
						bj = j;
					}
		chosen[bi] = bj;
		used[bj] = true;
	}
	out = palloc(sizeof(Datum) * k);
	for (i = 0; i < k; i++)
		out[i] = chosen[i] >= 0 ? names[chosen[i]]
			: CStringGetTextDatum(psprintf("Cluster %d", i));
	PG_RETURN_ARRAYTYPE_P(construct_array(out, k, TEXTOID, -1, false, TYPALIGN_INT));
}
