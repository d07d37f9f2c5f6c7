/*
 * paths.h
 *		analytics.path_summary: marketing paths with their conversions, nulls
 *		and value, the state of every path-based attribution aggregate.
 *
 * In memory a summary is an expanded object (utils/expandeddatum.h): hash
 * tables interning channel names and channel sequences, updated in place
 * by the aggregates' transition functions.  On disk, between parallel
 * workers and in Citus it is a flat varlena (flatten/expand below), with
 * JSON text I/O and a binary send/receive format.
 *
 * A summary also carries the parameters of the aggregate that built it
 * (kind, order, name, options), because an aggregate's final function only
 * sees the state: markov_attribution(path, ..., order, options) stores its
 * order and options here, and they travel with partial states.
 */
#ifndef ANALYTICS_PATHS_H
#define ANALYTICS_PATHS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/expandeddatum.h"
#include "utils/jsonb.h"

#include "lib/alloc.h"
#include "lib/ihash.h"
#include "lib/paths.h"

/* which aggregate built the summary (PathSummary.kind) */
typedef enum ps_kind
{
	PS_KIND_SUMMARY = 0,		/* analytics.path_summary() */
	PS_KIND_MARKOV,
	PS_KIND_MARKOV_MATRIX,
	PS_KIND_MARKOV_ORDER,
	PS_KIND_SHAPLEY,
	PS_KIND_HEURISTIC,
	PS_NKINDS
} ps_kind;

typedef struct PathEntry
{
	int64		offset;			/* first channel id in PathSummary.ids */
	int32		length;
	uint32		hash;
	double		conversions;
	double		nulls;
	double		value;
} PathEntry;

typedef struct PathSummary
{
	ExpandedObjectHeader hdr;	/* must be first */
	an_allocator alloc;			/* pallocs in hdr.eoh_context */

	/* parameters of the building aggregate */
	bool		has_params;
	int32		kind;
	int32		order;
	char	   *name;			/* model or method, or NULL */
	Jsonb	   *options;		/* or NULL */

	int64		rows;			/* input rows that added weight */

	int32		n_channels;
	int32		channels_cap;
	char	  **channel_names;	/* NUL-terminated */
	int32	   *channel_lens;
	an_ihash	channel_index;

	int64		n_paths;
	int64		paths_cap;
	PathEntry  *paths;
	int32	   *ids;
	int64		n_ids;
	int64		ids_cap;
	an_ihash	path_index;

	/* lookup scratch */
	const char *probe_name;
	int32		probe_len;
	const int32 *probe_ids;
	int32		probe_n;
	int32	   *scratch;
	int32		scratch_cap;
} PathSummary;

/* a new empty summary in its own context under parent */
extern PathSummary *ps_create(MemoryContext parent);

/*
 * The summary a datum holds: the datum's own expanded object when it is a
 * read-write pointer to one (modify in place), else a new expanded copy in
 * a context under parent.
 */
extern PathSummary *ps_from_datum(Datum d, MemoryContext parent);

/* the read-write datum for returning a summary from a transition function */
extern Datum ps_datum(PathSummary *ps);

/*
 * Transition-function helper: the state in argument 0 (created in the
 * aggregate context when NULL); errors when not called as an aggregate.
 */
extern PathSummary *ps_agg_state(FunctionCallInfo fcinfo, const char *fname);

/* channel id of a name, interned when absent */
extern int32 ps_channel_id(PathSummary *ps, const char *name, int32 len);

/* add weight to a channel-id sequence (no validation; ids must exist) */
extern void ps_add_ids(PathSummary *ps, const int32 *ids, int32 n,
					   double conversions, double nulls, double value);

/*
 * Add a text[] path with its counts from SQL arguments, validating them:
 * non-empty one-dimensional array without NULL elements, finite
 * non-negative counts.  value_isnull counts as 0.
 */
extern void ps_add_text_path(PathSummary *ps, ArrayType *path,
							 double conversions, double nulls, double value);

/* add every path of src to dst (parameters are not touched) */
extern void ps_merge(PathSummary *dst, const PathSummary *src);

/*
 * Record the building aggregate's parameters on the first row and check
 * later rows pass the same ones.
 */
extern void ps_set_params(PathSummary *ps, ps_kind kind, int32 order,
						  const char *name, Jsonb *options);

/* summary in argument n of a plain function, for reading only */
extern PathSummary *ps_read_arg(FunctionCallInfo fcinfo, int n);

/* the channel ids of ps sorted by name (palloc'd) */
extern int32 *ps_channels_by_name(const PathSummary *ps);

/*
 * ps_set_params with the name as a text argument: converted to a C string
 * on the first row only, compared byte for byte on later rows.
 */
extern void ps_set_params_text(PathSummary *ps, ps_kind kind, int32 order,
							   text *name, Jsonb *options);

/* the paths as cores want them (pointing into ps; valid until ps changes) */
extern an_path *ps_core_paths(const PathSummary *ps);

#endif							/* ANALYTICS_PATHS_H */
