/*
 * paths.c
 *		analytics.path_summary (see paths.h), its aggregates, and
 *		analytics.path_transform().
 *
 * Flat format, version 1 (native byte order, read with memcpy so that no
 * alignment is assumed):
 *		PathSummaryFlat header
 *		name bytes (name_len, absent when -1)
 *		options jsonb varlena (options_len bytes, absent when -1)
 *		n_channels x (int32 length, bytes)
 *		n_paths x (int32 length, int32 reserved, float8 conversions, nulls, value)
 *		n_ids x int32 channel ids, the paths' sequences back to back
 * Every length is checked when a flat value is read.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "paths.h"
#include "util.h"

#define PS_FLAT_VERSION 1
#define PS_MAX_PATHS ((int64) UINT32_MAX - 2)

typedef struct PathSummaryFlat
{
	int32		vl_len_;
	uint8		version;
	uint8		has_params;
	uint16		reserved;
	int32		kind;
	int32		order;
	int32		name_len;		/* -1: no name */
	int32		options_len;	/* -1: no options */
	int32		n_channels;
	int32		reserved2;
	int64		n_paths;
	int64		n_ids;
	int64		rows;
} PathSummaryFlat;

typedef struct PathFlat
{
	int32		length;
	int32		reserved;
	double		conversions;
	double		nulls;
	double		value;
} PathFlat;

static const char *const ps_kind_names[PS_NKINDS] = {
	"summary", "markov", "markov_matrix", "markov_order", "shapley", "heuristic"
};

static Size ps_get_flat_size(ExpandedObjectHeader *eohptr);
static void ps_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods ps_methods = {ps_get_flat_size, ps_flatten_into};

static void
ps_oom(int rc)
{
	if (rc != AN_OK)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
}

PathSummary *
ps_create(MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "analytics path summary",
											  ALLOCSET_DEFAULT_SIZES);
	PathSummary *ps = MemoryContextAllocZero(cxt, sizeof(PathSummary));

	EOH_init_header(&ps->hdr, &ps_methods, cxt);
	ps->alloc = an_pg_allocator(cxt);
	ps->channels_cap = 16;
	ps->channel_names = MemoryContextAlloc(cxt, sizeof(char *) * ps->channels_cap);
	ps->channel_lens = MemoryContextAlloc(cxt, sizeof(int32) * ps->channels_cap);
	ps->paths_cap = 256;
	ps->paths = MemoryContextAllocHuge(cxt, sizeof(PathEntry) * ps->paths_cap);
	ps->ids_cap = 1024;
	ps->ids = MemoryContextAllocHuge(cxt, sizeof(int32) * ps->ids_cap);
	ps->scratch_cap = 64;
	ps->scratch = MemoryContextAlloc(cxt, sizeof(int32) * ps->scratch_cap);
	ps_oom(an_ihash_init(&ps->channel_index, &ps->alloc, 16));
	ps_oom(an_ihash_init(&ps->path_index, &ps->alloc, 256));
	return ps;
}

Datum
ps_datum(PathSummary *ps)
{
	return EOHPGetRWDatum(&ps->hdr);
}

static bool
channel_eq(void *ctx, uint32 index)
{
	PathSummary *ps = ctx;

	return ps->channel_lens[index] == ps->probe_len &&
		memcmp(ps->channel_names[index], ps->probe_name, ps->probe_len) == 0;
}

int32
ps_channel_id(PathSummary *ps, const char *name, int32 len)
{
	uint32		h = an_hash_bytes(name, len);
	uint32		found;
	MemoryContext cxt = ps->hdr.eoh_context;

	ps->probe_name = name;
	ps->probe_len = len;
	found = an_ihash_find(&ps->channel_index, h, channel_eq, ps);
	if (found != AN_IHASH_NOT_FOUND)
		return (int32) found;
	if (ps->n_channels >= PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct channels")));
	if (ps->n_channels == ps->channels_cap)
	{
		ps->channels_cap *= 2;
		ps->channel_names = repalloc_huge(ps->channel_names, sizeof(char *) * ps->channels_cap);
		ps->channel_lens = repalloc_huge(ps->channel_lens, sizeof(int32) * ps->channels_cap);
	}
	ps->channel_names[ps->n_channels] = MemoryContextAlloc(cxt, len + 1);
	memcpy(ps->channel_names[ps->n_channels], name, len);
	ps->channel_names[ps->n_channels][len] = '\0';
	ps->channel_lens[ps->n_channels] = len;
	ps_oom(an_ihash_insert(&ps->channel_index, &ps->alloc, h, (uint32) ps->n_channels));
	return ps->n_channels++;
}

static bool
path_eq(void *ctx, uint32 index)
{
	PathSummary *ps = ctx;
	const PathEntry *e = &ps->paths[index];

	return e->length == ps->probe_n &&
		memcmp(ps->ids + e->offset, ps->probe_ids, sizeof(int32) * e->length) == 0;
}

void
ps_add_ids(PathSummary *ps, const int32 *ids, int32 n,
		   double conversions, double nulls, double value)
{
	uint32		h = an_hash_bytes(ids, sizeof(int32) * n);
	uint32		found;
	PathEntry  *e;

	ps->probe_ids = ids;
	ps->probe_n = n;
	found = an_ihash_find(&ps->path_index, h, path_eq, ps);
	if (found == AN_IHASH_NOT_FOUND)
	{
		if (ps->n_paths >= PS_MAX_PATHS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct paths")));
		if (ps->n_paths == ps->paths_cap)
		{
			ps->paths_cap *= 2;
			ps->paths = repalloc_huge(ps->paths, sizeof(PathEntry) * ps->paths_cap);
		}
		while (ps->n_ids + n > ps->ids_cap)
		{
			ps->ids_cap *= 2;
			ps->ids = repalloc_huge(ps->ids, sizeof(int32) * ps->ids_cap);
		}
		memcpy(ps->ids + ps->n_ids, ids, sizeof(int32) * n);
		e = &ps->paths[ps->n_paths];
		e->offset = ps->n_ids;
		e->length = n;
		e->hash = h;
		e->conversions = e->nulls = e->value = 0.0;
		ps->n_ids += n;
		ps_oom(an_ihash_insert(&ps->path_index, &ps->alloc, h, (uint32) ps->n_paths));
		ps->n_paths++;
	}
	else
		e = &ps->paths[found];
	e->conversions += conversions;
	e->nulls += nulls;
	e->value += value;
}

/* make room for n ids in the scratch buffer */
static int32 *
ps_scratch(PathSummary *ps, int32 n)
{
	if (n > ps->scratch_cap)
	{
		while (n > ps->scratch_cap)
			ps->scratch_cap *= 2;
		ps->scratch = repalloc_huge(ps->scratch, sizeof(int32) * ps->scratch_cap);
	}
	return ps->scratch;
}

static void
check_count(double x, const char *what)
{
	if (isnan(x) || isinf(x) || x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number >= 0, not %s", what,
						float8out_internal(x)),
				 errhint("Counts and values of a path are non-negative.")));
}

void
ps_add_text_path(PathSummary *ps, ArrayType *path,
				 double conversions, double nulls, double value)
{
	int			n,
				i;
	int32	   *ids;
	char	   *p;
	bits8	   *bitmap;
	int			bitmask = 1;

	check_count(conversions, "conversions");
	check_count(nulls, "nulls");
	check_count(value, "value");
	if (ARR_NDIM(path) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("a path must be a one-dimensional array of channels")));
	n = ARR_NDIM(path) == 0 ? 0 : ARR_DIMS(path)[0];
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a path must have at least one channel"),
				 errhint("Conversions without touchpoints cannot be attributed to a channel; filter them out or report them under a channel such as '(none)'.")));
	if (conversions == 0 && nulls == 0)
		return;					/* no weight: nothing to record */

	ids = ps_scratch(ps, n);
	p = ARR_DATA_PTR(path);
	bitmap = ARR_NULLBITMAP(path);
	for (i = 0; i < n; i++)
	{
		text	   *t;

		if (bitmap && (*bitmap & bitmask) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a path must not contain a null channel"),
					 errdetail("Element %d is null.", i + 1)));
		t = (text *) p;
		/* ps_channel_id may reallocate scratch only via ps_scratch: ids stays valid */
		ids[i] = ps_channel_id(ps, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		p = att_addlength_pointer(p, -1, p);
		p = (char *) att_align_nominal(p, TYPALIGN_INT);
		if (bitmap)
		{
			bitmask <<= 1;
			if (bitmask == 0x100)
			{
				bitmap++;
				bitmask = 1;
			}
		}
	}
	ps_add_ids(ps, ids, n, conversions, nulls, value);
	ps->rows++;
}

void
ps_merge(PathSummary *dst, const PathSummary *src)
{
	int32	   *map = palloc(sizeof(int32) * Max(src->n_channels, 1));
	int64		i;
	int32		c;

	for (c = 0; c < src->n_channels; c++)
		map[c] = ps_channel_id(dst, src->channel_names[c], src->channel_lens[c]);
	for (i = 0; i < src->n_paths; i++)
	{
		const PathEntry *e = &src->paths[i];
		int32	   *ids = ps_scratch(dst, e->length);
		int32		k;

		for (k = 0; k < e->length; k++)
			ids[k] = map[src->ids[e->offset + k]];
		ps_add_ids(dst, ids, e->length, e->conversions, e->nulls, e->value);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	dst->rows += src->rows;
	pfree(map);
}

/* do two optional jsonb values hold the same JSON? */
static bool
same_options(Jsonb *a, Jsonb *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a == b)
		return true;
	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

void
ps_set_params(PathSummary *ps, ps_kind kind, int32 order, const char *name, Jsonb *options)
{
	if (!ps->has_params)
	{
		MemoryContext old = MemoryContextSwitchTo(ps->hdr.eoh_context);

		ps->has_params = true;
		ps->kind = kind;
		ps->order = order;
		ps->name = name ? pstrdup(name) : NULL;
		ps->options = options ? (Jsonb *) PG_DETOAST_DATUM_COPY(PointerGetDatum(options)) : NULL;
		MemoryContextSwitchTo(old);
		return;
	}
	if (ps->kind != (int32) kind || ps->order != order ||
		((ps->name == NULL) != (name == NULL)) ||
		(name && strcmp(ps->name, name) != 0) ||
		!same_options(ps->options, options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model parameters must be the same in every row"),
				 errdetail("The order, model, method and options of an attribution aggregate are read from its first row."),
				 errhint("Pass constants for them.")));
}

void
ps_set_params_text(PathSummary *ps, ps_kind kind, int32 order, text *name, Jsonb *options)
{
	if (ps->has_params && name && ps->name &&
		strlen(ps->name) == VARSIZE_ANY_EXHDR(name) &&
		memcmp(ps->name, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)) == 0)
	{
		/* same name: only the rest needs checking */
		ps_set_params(ps, kind, order, ps->name, options);
		return;
	}
	ps_set_params(ps, kind, order, name ? text_to_cstring(name) : NULL, options);
}

/* combine: parameters of two partial states must agree */
static void
ps_merge_params(PathSummary *dst, const PathSummary *src)
{
	if (src->has_params)
		ps_set_params(dst, src->kind, src->order, src->name, src->options);
}

an_path *
ps_core_paths(const PathSummary *ps)
{
	an_path    *out = palloc_extended(sizeof(an_path) * Max(ps->n_paths, 1), MCXT_ALLOC_HUGE);
	int64		i;

	for (i = 0; i < ps->n_paths; i++)
	{
		const PathEntry *e = &ps->paths[i];

		out[i].channels = ps->ids + e->offset;
		out[i].length = e->length;
		out[i].conversions = e->conversions;
		out[i].nulls = e->nulls;
		out[i].value = e->value;
	}
	return out;
}

static int
channel_name_cmp(const void *a, const void *b, void *arg)
{
	const PathSummary *ps = arg;

	return strcmp(ps->channel_names[*(const int32 *) a], ps->channel_names[*(const int32 *) b]);
}

int32 *
ps_channels_by_name(const PathSummary *ps)
{
	int32	   *order = palloc(sizeof(int32) * Max(ps->n_channels, 1));
	int32		c;

	for (c = 0; c < ps->n_channels; c++)
		order[c] = c;
	qsort_arg(order, ps->n_channels, sizeof(int32), channel_name_cmp, (void *) ps);
	return order;
}

/* ---------- flat format ---------- */

static Size
ps_get_flat_size(ExpandedObjectHeader *eohptr)
{
	PathSummary *ps = (PathSummary *) eohptr;
	Size		size = sizeof(PathSummaryFlat);
	int32		c;

	if (ps->has_params && ps->name)
		size += strlen(ps->name);
	if (ps->has_params && ps->options)
		size += VARSIZE(ps->options);
	for (c = 0; c < ps->n_channels; c++)
		size += sizeof(int32) + ps->channel_lens[c];
	size += sizeof(PathFlat) * ps->n_paths + sizeof(int32) * ps->n_ids;
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("path summary too large to store"),
				 errdetail("It would take %zu bytes; the limit is 1 GB.", size)));
	return size;
}

#define PUT(ptr, src, len) (memcpy((ptr), (src), (len)), (ptr) += (len))

static void
ps_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	PathSummary *ps = (PathSummary *) eohptr;
	PathSummaryFlat hdr;
	char	   *p = (char *) result;
	int32		c;
	int64		i;

	memset(&hdr, 0, sizeof(hdr));
	SET_VARSIZE(&hdr, allocated_size);
	hdr.version = PS_FLAT_VERSION;
	hdr.has_params = ps->has_params;
	hdr.kind = ps->kind;
	hdr.order = ps->order;
	hdr.name_len = (ps->has_params && ps->name) ? (int32) strlen(ps->name) : -1;
	hdr.options_len = (ps->has_params && ps->options) ? (int32) VARSIZE(ps->options) : -1;
	hdr.n_channels = ps->n_channels;
	hdr.n_paths = ps->n_paths;
	hdr.n_ids = ps->n_ids;
	hdr.rows = ps->rows;
	PUT(p, &hdr, sizeof(hdr));
	if (hdr.name_len >= 0)
		PUT(p, ps->name, hdr.name_len);
	if (hdr.options_len >= 0)
		PUT(p, ps->options, hdr.options_len);
	for (c = 0; c < ps->n_channels; c++)
	{
		PUT(p, &ps->channel_lens[c], sizeof(int32));
		PUT(p, ps->channel_names[c], ps->channel_lens[c]);
	}
	for (i = 0; i < ps->n_paths; i++)
	{
		PathFlat	pf;

		pf.length = ps->paths[i].length;
		pf.reserved = 0;
		pf.conversions = ps->paths[i].conversions;
		pf.nulls = ps->paths[i].nulls;
		pf.value = ps->paths[i].value;
		PUT(p, &pf, sizeof(pf));
	}
	/* paths were appended in order, so their ids are back to back */
	PUT(p, ps->ids, sizeof(int32) * ps->n_ids);
	Assert((Size) (p - (char *) result) == allocated_size);
}

static void
corrupt(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid path_summary value: %s", what)));
}

/* bounds-checked reader over a flat value */
typedef struct FlatReader
{
	const char *p;
	const char *end;
} FlatReader;

static void
take(FlatReader *r, void *dst, Size len)
{
	if (len > (Size) (r->end - r->p))
		corrupt("truncated");
	memcpy(dst, r->p, len);
	r->p += len;
}

/* expand a flat summary into a new expanded object under parent */
static PathSummary *
ps_expand_flat(struct varlena *flat, MemoryContext parent)
{
	PathSummary *ps = ps_create(parent);
	FlatReader	r;
	PathSummaryFlat hdr;
	int32		c;
	int64		i,
				ids_used = 0;
	PathFlat   *pf;
	const char *ids_base;

	r.p = (const char *) flat;
	r.end = r.p + VARSIZE(flat);
	take(&r, &hdr, sizeof(hdr));
	if (hdr.version != PS_FLAT_VERSION)
		corrupt("unknown format version");
	if (hdr.n_channels < 0 || hdr.n_paths < 0 || hdr.n_ids < 0 ||
		hdr.kind < 0 || hdr.kind >= PS_NKINDS || hdr.name_len < -1 || hdr.options_len < -1)
		corrupt("bad header");
	if (hdr.has_params)
	{
		char	   *name = NULL;
		Jsonb	   *options = NULL;

		if (hdr.name_len >= 0)
		{
			name = palloc(hdr.name_len + 1);
			take(&r, name, hdr.name_len);
			name[hdr.name_len] = '\0';
		}
		if (hdr.options_len >= 0)
		{
			if (hdr.options_len < (int32) VARHDRSZ)
				corrupt("bad options");
			options = palloc(hdr.options_len);
			take(&r, options, hdr.options_len);
			if (VARSIZE(options) != (Size) hdr.options_len)
				corrupt("bad options");
		}
		ps_set_params(ps, hdr.kind, hdr.order, name, options);
	}
	for (c = 0; c < hdr.n_channels; c++)
	{
		int32		len;

		take(&r, &len, sizeof(int32));
		if (len < 0 || len > r.end - r.p)
			corrupt("bad channel name");
		if (ps_channel_id(ps, r.p, len) != c)
			corrupt("duplicate channel name");
		r.p += len;
	}
	if ((Size) hdr.n_paths > (Size) (r.end - r.p) / sizeof(PathFlat))
		corrupt("truncated");
	pf = palloc_extended(sizeof(PathFlat) * Max(hdr.n_paths, 1), MCXT_ALLOC_HUGE);
	take(&r, pf, sizeof(PathFlat) * hdr.n_paths);
	if ((Size) hdr.n_ids != (Size) (r.end - r.p) / sizeof(int32) ||
		(Size) (r.end - r.p) % sizeof(int32) != 0)
		corrupt("bad path ids");
	ids_base = r.p;
	for (i = 0; i < hdr.n_paths; i++)
	{
		int32	   *ids;
		int32		k;

		if (pf[i].length < 1 || pf[i].length > hdr.n_ids - ids_used)
			corrupt("bad path length");
		ids = ps_scratch(ps, pf[i].length);
		memcpy(ids, ids_base + ids_used * sizeof(int32), sizeof(int32) * pf[i].length);
		for (k = 0; k < pf[i].length; k++)
			if (ids[k] < 0 || ids[k] >= hdr.n_channels)
				corrupt("channel id out of range");
		ps_add_ids(ps, ids, pf[i].length, pf[i].conversions, pf[i].nulls, pf[i].value);
		ids_used += pf[i].length;
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (ids_used != hdr.n_ids)
		corrupt("bad path ids");
	ps->rows = hdr.rows;
	pfree(pf);
	return ps;
}

PathSummary *
ps_from_datum(Datum d, MemoryContext parent)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(d);

		if (eoh->eoh_methods == &ps_methods)
		{
			if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
				return (PathSummary *) eoh;
			else
			{
				/* read-only: copy */
				PathSummary *copy = ps_create(parent);

				ps_merge(copy, (PathSummary *) eoh);
				ps_merge_params(copy, (PathSummary *) eoh);
				return copy;
			}
		}
	}
	return ps_expand_flat(PG_DETOAST_DATUM(d), parent);
}

/*
 * A summary to read without modifying: the object itself when the datum is
 * an expanded summary (read-write or read-only), else an expansion in the
 * current context.
 */
static PathSummary *
ps_read(Datum d)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) &&
		DatumGetEOHP(d)->eoh_methods == &ps_methods)
		return (PathSummary *) DatumGetEOHP(d);
	return ps_expand_flat(PG_DETOAST_DATUM(d), CurrentMemoryContext);
}

PathSummary *
ps_agg_state(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as an aggregate transition function", fname)));
	if (PG_ARGISNULL(0))
		return ps_create(aggcxt);
	return ps_from_datum(PG_GETARG_DATUM(0), aggcxt);
}

/* the summary of argument n for reading */
static PathSummary *
ps_arg(FunctionCallInfo fcinfo, int n)
{
	return ps_read(PG_GETARG_DATUM(n));
}

PathSummary *
ps_read_arg(FunctionCallInfo fcinfo, int n)
{
	return ps_arg(fcinfo, n);
}

/* ---------- text and binary I/O ---------- */

static void
append_json_double(StringInfo buf, double x)
{
	appendStringInfoString(buf, float8out_internal(x));
}

PG_FUNCTION_INFO_V1(path_summary_out);

/* JSON: {"version":1,"kind":...,"order":...,"name":...,"options":...,
 *        "rows":n,"channels":[...],"paths":[[[ids],conv,nulls,value],...]} */
Datum
path_summary_out(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_arg(fcinfo, 0);
	StringInfoData buf;
	int32		c;
	int64		i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"kind\": ", PS_FLAT_VERSION);
	escape_json(&buf, ps_kind_names[ps->has_params ? ps->kind : PS_KIND_SUMMARY]);
	appendStringInfo(&buf, ", \"order\": %d, \"name\": ", ps->has_params ? ps->order : 0);
	if (ps->has_params && ps->name)
		escape_json(&buf, ps->name);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"options\": ");
	if (ps->has_params && ps->options)
		appendStringInfoString(&buf, JsonbToCString(NULL, &ps->options->root, VARSIZE(ps->options)));
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"rows\": " INT64_FORMAT ", \"channels\": [", ps->rows);
	for (c = 0; c < ps->n_channels; c++)
	{
		if (c)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, ps->channel_names[c]);
	}
	appendStringInfoString(&buf, "], \"paths\": [");
	for (i = 0; i < ps->n_paths; i++)
	{
		const PathEntry *e = &ps->paths[i];
		int32		k;

		appendStringInfoString(&buf, i ? ", [[" : "[[");
		for (k = 0; k < e->length; k++)
			appendStringInfo(&buf, k ? ", %d" : "%d", ps->ids[e->offset + k]);
		appendStringInfoString(&buf, "], ");
		append_json_double(&buf, e->conversions);
		appendStringInfoString(&buf, ", ");
		append_json_double(&buf, e->nulls);
		appendStringInfoString(&buf, ", ");
		append_json_double(&buf, e->value);
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

static void
bad_input(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type path_summary: %s", what)));
}

static JsonbValue *
json_key(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

static double
json_num(JsonbValue *v, const char *what)
{
	if (v == NULL || v->type != jbvNumeric)
		bad_input(what);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static JsonbContainer *
json_array(JsonbValue *v, const char *what)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		bad_input(what);
	return v->val.binary.data;
}

PG_FUNCTION_INFO_V1(path_summary_in);

/* parse the JSON written by path_summary_out */
Datum
path_summary_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));
	PathSummary *ps = ps_create(CurrentMemoryContext);
	JsonbValue *v;
	JsonbContainer *channels,
			   *paths;
	int			kind = -1,
				k,
				nch;
	int64		i,
				np;

	if (!JB_ROOT_IS_OBJECT(jb))
		bad_input("expected a JSON object");
	if (json_num(json_key(&jb->root, "version"), "version must be a number") != PS_FLAT_VERSION)
		bad_input("unsupported version");
	v = json_key(&jb->root, "kind");
	if (v == NULL || v->type != jbvString)
		bad_input("kind must be a string");
	for (k = 0; k < PS_NKINDS; k++)
		if (strlen(ps_kind_names[k]) == (size_t) v->val.string.len &&
			memcmp(ps_kind_names[k], v->val.string.val, v->val.string.len) == 0)
			kind = k;
	if (kind < 0)
		bad_input("unknown kind");
	if (kind != PS_KIND_SUMMARY)
	{
		double		order = json_num(json_key(&jb->root, "order"), "order must be a number");
		JsonbValue *name = json_key(&jb->root, "name");
		JsonbValue *opts = json_key(&jb->root, "options");
		char	   *namestr = NULL;
		Jsonb	   *options = NULL;

		if (order != floor(order) || fabs(order) > PG_INT32_MAX)
			bad_input("order must be an integer");
		if (name && name->type == jbvString)
			namestr = pnstrdup(name->val.string.val, name->val.string.len);
		else if (name && name->type != jbvNull)
			bad_input("name must be a string or null");
		if (opts && opts->type == jbvBinary)
			options = JsonbValueToJsonb(opts);
		else if (opts && opts->type != jbvNull)
			bad_input("options must be an object or null");
		ps_set_params(ps, kind, (int32) order, namestr, options);
	}
	ps->rows = (int64) json_num(json_key(&jb->root, "rows"), "rows must be a number");
	channels = json_array(json_key(&jb->root, "channels"), "channels must be an array");
	nch = JsonContainerSize(channels);
	for (k = 0; k < nch; k++)
	{
		v = getIthJsonbValueFromContainer(channels, k);
		if (v == NULL || v->type != jbvString)
			bad_input("channels must be strings");
		if (ps_channel_id(ps, v->val.string.val, v->val.string.len) != k)
			bad_input("duplicate channel");
	}
	paths = json_array(json_key(&jb->root, "paths"), "paths must be an array");
	np = JsonContainerSize(paths);
	for (i = 0; i < np; i++)
	{
		JsonbContainer *entry = json_array(getIthJsonbValueFromContainer(paths, i),
										   "each path must be [[ids], conversions, nulls, value]");
		JsonbContainer *ids;
		int32	   *buf;
		int			n;
		double		conv,
					nulls,
					value;

		if (JsonContainerSize(entry) != 4)
			bad_input("each path must be [[ids], conversions, nulls, value]");
		ids = json_array(getIthJsonbValueFromContainer(entry, 0), "path ids must be an array");
		n = JsonContainerSize(ids);
		if (n < 1)
			bad_input("a path must have at least one channel");
		buf = ps_scratch(ps, n);
		for (k = 0; k < n; k++)
		{
			double		id = json_num(getIthJsonbValueFromContainer(ids, k), "path ids must be numbers");

			if (id != floor(id) || id < 0 || id >= nch)
				bad_input("channel id out of range");
			buf[k] = (int32) id;
		}
		conv = json_num(getIthJsonbValueFromContainer(entry, 1), "conversions must be a number");
		nulls = json_num(getIthJsonbValueFromContainer(entry, 2), "nulls must be a number");
		value = json_num(getIthJsonbValueFromContainer(entry, 3), "value must be a number");
		if (!(conv >= 0) || !(nulls >= 0) || !(value >= 0))
			bad_input("counts must be non-negative");
		ps_add_ids(ps, buf, n, conv, nulls, value);
	}
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(path_summary_send);

/* binary: the fields in network byte order, options as JSON text */
Datum
path_summary_send(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_arg(fcinfo, 0);
	StringInfoData buf;
	int32		c;
	int64		i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, PS_FLAT_VERSION);
	pq_sendbyte(&buf, ps->has_params ? 1 : 0);
	pq_sendint32(&buf, ps->kind);
	pq_sendint32(&buf, ps->order);
	if (ps->has_params && ps->name)
	{
		pq_sendint32(&buf, strlen(ps->name));
		pq_sendbytes(&buf, ps->name, strlen(ps->name));
	}
	else
		pq_sendint32(&buf, -1);
	if (ps->has_params && ps->options)
	{
		char	   *s = JsonbToCString(NULL, &ps->options->root, VARSIZE(ps->options));

		pq_sendint32(&buf, strlen(s));
		pq_sendbytes(&buf, s, strlen(s));
	}
	else
		pq_sendint32(&buf, -1);
	pq_sendint64(&buf, ps->rows);
	pq_sendint32(&buf, ps->n_channels);
	for (c = 0; c < ps->n_channels; c++)
	{
		pq_sendint32(&buf, ps->channel_lens[c]);
		pq_sendbytes(&buf, ps->channel_names[c], ps->channel_lens[c]);
	}
	pq_sendint64(&buf, ps->n_paths);
	for (i = 0; i < ps->n_paths; i++)
	{
		const PathEntry *e = &ps->paths[i];
		int32		k;

		pq_sendint32(&buf, e->length);
		for (k = 0; k < e->length; k++)
			pq_sendint32(&buf, ps->ids[e->offset + k]);
		pq_sendfloat8(&buf, e->conversions);
		pq_sendfloat8(&buf, e->nulls);
		pq_sendfloat8(&buf, e->value);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* a length read from a binary message, checked against what is left */
static int32
recv_len(StringInfo msg, int32 min)
{
	int32		len = pq_getmsgint(msg, 4);

	if (len < min || (len > 0 && len > msg->len - msg->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary path_summary: bad length %d", len)));
	return len;
}

PG_FUNCTION_INFO_V1(path_summary_recv);

Datum
path_summary_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	PathSummary *ps = ps_create(CurrentMemoryContext);
	int			version = pq_getmsgbyte(msg);
	bool		has_params = pq_getmsgbyte(msg) != 0;
	int32		kind = pq_getmsgint(msg, 4);
	int32		order = pq_getmsgint(msg, 4);
	int32		len,
				nch,
				c;
	int64		np,
				i;
	char	   *name = NULL;
	Jsonb	   *options = NULL;

	if (version != PS_FLAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary path_summary: unsupported version %d", version)));
	if (kind < 0 || kind >= PS_NKINDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary path_summary: bad kind %d", kind)));
	len = recv_len(msg, -1);
	if (len >= 0)
		name = pnstrdup(pq_getmsgbytes(msg, len), len);
	len = recv_len(msg, -1);
	if (len >= 0)
	{
		char	   *s = pnstrdup(pq_getmsgbytes(msg, len), len);

		options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
	}
	if (has_params)
		ps_set_params(ps, kind, order, name, options);
	ps->rows = pq_getmsgint64(msg);
	nch = recv_len(msg, 0);
	for (c = 0; c < nch; c++)
	{
		const char *name;

		len = recv_len(msg, 0);
		name = pq_getmsgbytes(msg, len);
		/* like text's receive function: names must be valid in the database encoding */
		(void) pg_verifymbstr(name, len, false);
		if (ps_channel_id(ps, name, len) != c)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary path_summary: duplicate channel")));
	}
	np = pq_getmsgint64(msg);
	if (np < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary path_summary: bad path count")));
	for (i = 0; i < np; i++)
	{
		int32	   *ids;
		int32		k;
		double		conv,
					nulls,
					value;

		len = recv_len(msg, 1);
		if ((int64) len * 4 > msg->len - msg->cursor)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary path_summary: truncated")));
		ids = ps_scratch(ps, len);
		for (k = 0; k < len; k++)
		{
			ids[k] = pq_getmsgint(msg, 4);
			if (ids[k] < 0 || ids[k] >= nch)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("invalid binary path_summary: channel id out of range")));
		}
		conv = pq_getmsgfloat8(msg);
		nulls = pq_getmsgfloat8(msg);
		value = pq_getmsgfloat8(msg);
		if (!(conv >= 0) || !(nulls >= 0) || !(value >= 0) || isinf(conv) || isinf(nulls) || isinf(value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary path_summary: bad counts")));
		ps_add_ids(ps, ids, len, conv, nulls, value);
	}
	pq_getmsgend(msg);
	PG_RETURN_DATUM(ps_datum(ps));
}

/* ---------- the path_summary aggregates ---------- */

PG_FUNCTION_INFO_V1(path_summary_accum);

/* path_summary(path, conversions, nulls, value) transition */
Datum
path_summary_accum(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_agg_state(fcinfo, "path_summary_accum");

	if (!PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("conversions and nulls must not be null"),
					 errhint("Use coalesce(..., 0) for paths without conversions or without non-converting journeys.")));
		ps_add_text_path(ps, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_FLOAT8(2),
						 PG_GETARG_FLOAT8(3), PG_ARGISNULL(4) ? 0.0 : PG_GETARG_FLOAT8(4));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a path must not be null")));
	PG_RETURN_DATUM(ps_datum(ps));
}

PG_FUNCTION_INFO_V1(path_summary_combine);

/* combine two partial states (either may be null) */
Datum
path_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	PathSummary *dst;
	PathSummary *src;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("path_summary_combine can only be called as an aggregate combine function")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(ps_datum(ps_from_datum(PG_GETARG_DATUM(0), aggcxt)));
	}
	dst = PG_ARGISNULL(0) ? ps_create(aggcxt) : ps_from_datum(PG_GETARG_DATUM(0), aggcxt);
	src = ps_read(PG_GETARG_DATUM(1));
	ps_merge_params(dst, src);
	ps_merge(dst, src);
	PG_RETURN_DATUM(ps_datum(dst));
}

PG_FUNCTION_INFO_V1(path_summary_merge_accum);

/* path_summary(path_summary) transition: merge stored summaries */
Datum
path_summary_merge_accum(PG_FUNCTION_ARGS)
{
	PathSummary *dst = ps_agg_state(fcinfo, "path_summary_merge_accum");

	if (!PG_ARGISNULL(1))
		ps_merge(dst, ps_read(PG_GETARG_DATUM(1)));
	PG_RETURN_DATUM(ps_datum(dst));
}

PG_FUNCTION_INFO_V1(path_summary_paths);

/* path_summary_paths(summary): one row per distinct path */
Datum
path_summary_paths(PG_FUNCTION_ARGS)
{
	PathSummary *ps = ps_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo;
	Datum	   *elems = NULL;
	int32		cap = 0;
	int64		i;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	for (i = 0; i < ps->n_paths; i++)
	{
		const PathEntry *e = &ps->paths[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		int32		k;

		if (e->length > cap)
		{
			cap = Max(e->length, 2 * cap);
			elems = elems ? repalloc(elems, sizeof(Datum) * cap) : palloc(sizeof(Datum) * cap);
		}
		for (k = 0; k < e->length; k++)
		{
			int32		id = ps->ids[e->offset + k];

			elems[k] = an_text_datum(ps->channel_names[id], ps->channel_lens[id]);
		}
		values[0] = PointerGetDatum(construct_array(elems, e->length, TEXTOID, -1, false, TYPALIGN_INT));
		values[1] = Float8GetDatum(e->conversions);
		values[2] = Float8GetDatum(e->nulls);
		values[3] = Float8GetDatum(e->value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return (Datum) 0;
}

/* ---------- path_transform ---------- */

typedef enum path_transform_kind
{
	PT_UNIQUE,
	PT_EXPOSURE,
	PT_FIRST,
	PT_FREQUENCY,
	PT_REMOVE_IF_NOT_ALL,
	PT_REMOVE_IF_LAST_AND_NOT_ALL,
	PT_TRIM_LONG,
	PT_NKINDS
} path_transform_kind;

static const char *const path_transform_names[PT_NKINDS] = {
	"unique", "exposure", "first", "frequency", "remove_if_not_all",
	"remove_if_last_and_not_all", "trim_long"
};

static bool
text_eq(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

PG_FUNCTION_INFO_V1(path_transform);

/*
 * path_transform(path, transform [, channel [, n]]) -> text[], the path
 * transforms of Snowplow's attribution package (docs in the SQL comment).
 */
Datum
path_transform(PG_FUNCTION_ARGS)
{
	ArrayType  *path;
	char	   *name;
	int			kind = -1,
				n,
				i,
				j,
				out_n = 0;
	Datum	   *elems;
	bool	   *enulls;
	Datum	   *out;
	Datum		target = (Datum) 0;
	bool		has_channel = PG_NARGS() > 2 && !PG_ARGISNULL(2);
	bool		has_n = PG_NARGS() > 3 && !PG_ARGISNULL(3);
	int32		keep = 0;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transform must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (i = 0; i < PT_NKINDS; i++)
		if (strcmp(name, path_transform_names[i]) == 0)
			kind = i;
	if (kind < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown path transform \"%s\"", name),
				 errhint("Valid transforms are: unique, exposure, first, frequency, remove_if_not_all, remove_if_last_and_not_all, trim_long.")));
	if ((kind == PT_REMOVE_IF_NOT_ALL || kind == PT_REMOVE_IF_LAST_AND_NOT_ALL) != has_channel)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(has_channel ? "path transform %s takes no channel" : "path transform %s needs a channel",
						name),
				 errhint("Only remove_if_not_all and remove_if_last_and_not_all take a channel.")));
	if ((kind == PT_TRIM_LONG) != has_n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(has_n ? "path transform %s takes no length" : "path transform %s needs a length n",
						name),
				 errhint("Only trim_long takes n, the number of last touches to keep; pass NULL as the channel.")));
	if (has_n)
	{
		keep = PG_GETARG_INT32(3);
		if (keep < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("trim_long needs n >= 1, not %d", keep)));
	}
	if (has_channel)
		target = PG_GETARG_DATUM(2);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	path = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(path) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("a path must be a one-dimensional array of channels")));
	deconstruct_array(path, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	for (i = 0; i < n; i++)
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a path must not contain a null channel"),
					 errdetail("Element %d is null.", i + 1)));
	out = palloc(sizeof(Datum) * Max(n, 1));

	switch (kind)
	{
		case PT_UNIQUE:
			for (i = 0; i < n; i++)
				out[out_n++] = elems[i];
			break;
		case PT_EXPOSURE:
			for (i = 0; i < n; i++)
				if (i == 0 || !text_eq(elems[i], elems[i - 1]))
					out[out_n++] = elems[i];
			break;
		case PT_FIRST:
		case PT_FREQUENCY:
			{
				int		   *counts = palloc0(sizeof(int) * Max(n, 1));

				for (i = 0; i < n; i++)
				{
					for (j = 0; j < out_n; j++)
						if (text_eq(out[j], elems[i]))
							break;
					if (j == out_n)
						out[out_n++] = elems[i];
					counts[j]++;
				}
				if (kind == PT_FREQUENCY)
					for (j = 0; j < out_n; j++)
					{
						char	   *s = TextDatumGetCString(out[j]);

						out[j] = CStringGetTextDatum(psprintf("%s(%d)", s, counts[j]));
					}
				break;
			}
		case PT_REMOVE_IF_NOT_ALL:
			for (i = 0; i < n; i++)
				if (!text_eq(elems[i], target))
					out[out_n++] = elems[i];
			if (out_n == 0)
				for (i = 0; i < n; i++)
					out[out_n++] = elems[i];
			break;
		case PT_REMOVE_IF_LAST_AND_NOT_ALL:
			{
				int			tail = n;

				while (tail > 0 && text_eq(elems[tail - 1], target))
					tail--;
				if (tail == 0)
					tail = n;
				for (i = 0; i < tail; i++)
					out[out_n++] = elems[i];
				break;
			}
		case PT_TRIM_LONG:
			for (i = Max(0, n - keep); i < n; i++)
				out[out_n++] = elems[i];
			break;
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, out_n, TEXTOID, -1, false, TYPALIGN_INT));
}
