/*
 * funnel.c
 *		retention, window_funnel, sequence_match, sequence_count (one actor's
 *		events, used under GROUP BY actor) and funnel_report (all actors in
 *		one pass, with a hash of actors).  The event logic is in lib/funnel.c.
 *
 * Rows with a NULL timestamp (or, for funnel_report, a NULL actor) are
 * skipped; NULL conditions count as false.  Every aggregate has a combine
 * function; internal states are serialized for parallel query.  Ties in time
 * keep input order within one process (rows are numbered as they arrive);
 * across parallel workers that order is not defined, as in ClickHouse.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "activity.h"
#include "analytics.h"
#include "actor.h"
#include "util.h"
#include "lib/funnel.h"

int			analytics_sequence_max_steps = 100000000;

/* conditions of a VARIADIC bool[] as a bit mask; *n gets their number */
static uint64
cond_mask(ArrayType *conds, int *n, const char *fname)
{
	int			count = ARR_NDIM(conds) == 0 ? 0 : ARR_DIMS(conds)[0];
	bool	   *data = (bool *) ARR_DATA_PTR(conds);
	bits8	   *bitmap = ARR_NULLBITMAP(conds);
	uint64		mask = 0;
	int			i,
				k = 0;

	if (ARR_NDIM(conds) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s takes a one-dimensional list of conditions", fname)));
	if (count < 1 || count > 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s takes 1 to 64 conditions, not %d", fname, count)));
	for (i = 0; i < count; i++)
	{
		if (bitmap && !(bitmap[i / 8] & (1 << (i % 8))))
			continue;			/* NULL: false */
		if (data[k++])
			mask |= UINT64_C(1) << i;
	}
	*n = count;
	return mask;
}

static ArrayType *
conds_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the list of conditions must not be null")));
	return PG_GETARG_ARRAYTYPE_P(n);
}

/* ---------- retention ---------- */

/* state: int8[2] = {mask of conditions seen, number of conditions}, in place */
PG_FUNCTION_INFO_V1(retention_accum);
Datum
retention_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *state;
	int64	   *s;
	int			n;
	uint64		mask;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "retention_accum called outside an aggregate");
	mask = cond_mask(conds_arg(fcinfo, 1), &n, "retention");
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);
		Datum		init[2] = {Int64GetDatum(0), Int64GetDatum(n)};

		state = construct_array(init, 2, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		MemoryContextSwitchTo(old);
	}
	else
		state = PG_GETARG_ARRAYTYPE_P(0);
	s = (int64 *) ARR_DATA_PTR(state);
	if (s[1] != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention got %d conditions after " INT64_FORMAT, n, s[1])));
	s[0] |= (int64) mask;
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(retention_combine);
Datum
retention_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *a,
			   *b;
	int64	   *x,
			   *y;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "retention_combine called outside an aggregate");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0));
	b = PG_GETARG_ARRAYTYPE_P(1);
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		a = (ArrayType *) PG_DETOAST_DATUM_COPY(PointerGetDatum(b));
		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(a);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	x = (int64 *) ARR_DATA_PTR(a);
	y = (int64 *) ARR_DATA_PTR(b);
	if (x[1] != y[1])
		elog(ERROR, "retention partial states disagree on the number of conditions");
	x[0] |= y[0];
	PG_RETURN_ARRAYTYPE_P(a);
}

PG_FUNCTION_INFO_V1(retention_final);

/* element 1 = any(cond1); element i = any(cond1) AND any(cond_i) */
Datum
retention_final(PG_FUNCTION_ARGS)
{
	int64	   *s;
	Datum	   *out;
	int			i;
	bool		first;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (int64 *) ARR_DATA_PTR(PG_GETARG_ARRAYTYPE_P(0));
	out = palloc(sizeof(Datum) * s[1]);
	first = (s[0] & 1) != 0;
	for (i = 0; i < s[1]; i++)
		out[i] = BoolGetDatum(first && ((uint64) s[0] >> i & 1));
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int) s[1], BOOLOID, 1, true, TYPALIGN_CHAR));
}

/* ---------- event lists ---------- */

/*
 * One actor's events as they arrived: time and condition set, 16 bytes.
 * An event's row number (the cores' tie-breaker) is its position.  Nothing
 * is dropped: events may arrive in any order (parallel workers, tables not
 * sorted by time), and an event that looks useless now can be needed by
 * one arriving later.
 */
typedef struct SlimEvent
{
	int64		ts;
	uint64		mask;
} SlimEvent;

typedef struct EventList
{
	SlimEvent  *ev;
	int32		n;
	int32		cap;
} EventList;

#define EVENT_LIST_MAX (PG_INT32_MAX / 2)

static void
list_grow(EventList *l, MemoryContext cxt, int32 need)
{
	int32		cap = l->cap ? l->cap : 4;

	if (need > EVENT_LIST_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an actor has more than %d events matching the conditions", EVENT_LIST_MAX)));
	while (cap < need)
		cap *= 2;
	l->ev = l->ev ? repalloc_huge(l->ev, sizeof(SlimEvent) * cap)
		: MemoryContextAllocHuge(cxt, sizeof(SlimEvent) * cap);
	l->cap = cap;
}

static inline void
list_add(EventList *l, MemoryContext cxt, int64 ts, uint64 mask)
{
	if (l->n == l->cap)
		list_grow(l, cxt, l->n + 1);
	l->ev[l->n].ts = ts;
	l->ev[l->n].mask = mask;
	l->n++;
}

/* append src's events to dst */
static void
list_append(EventList *dst, MemoryContext cxt, const void *src, int32 n)
{
	if (n <= 0)
		return;
	if ((int64) dst->n + n > dst->cap)
		list_grow(dst, cxt, (int32) Min((int64) dst->n + n, (int64) EVENT_LIST_MAX + 1));
	memcpy(dst->ev + dst->n, src, sizeof(SlimEvent) * n);
	dst->n += n;
}

/* the list as core events numbered in arrival order, in *buf (grown to fit) */
static fn_event *
list_events(const EventList *l, fn_event **buf, int32 *cap)
{
	int32		i;

	if (l->n > *cap)
	{
		*cap = Max(l->n, 2 * *cap);
		*buf = *buf ? repalloc_huge(*buf, sizeof(fn_event) * *cap)
			: palloc_extended(sizeof(fn_event) * *cap, MCXT_ALLOC_HUGE);
	}
	for (i = 0; i < l->n; i++)
	{
		(*buf)[i].ts = l->ev[i].ts;
		(*buf)[i].mask = l->ev[i].mask;
		(*buf)[i].row = i;
	}
	return *buf;
}

/* ---------- window_funnel and sequences (one actor per group) ---------- */

typedef enum seq_fn
{
	SF_WINDOW_FUNNEL,
	SF_SEQUENCE_MATCH,
	SF_SEQUENCE_COUNT
} seq_fn;

static const char *const seq_fn_names[] = {"window_funnel", "sequence_match", "sequence_count"};

typedef struct SeqState
{
	seq_fn		fn;
	int			n_conds;
	int64		window;			/* microseconds */
	unsigned	modes;
	text	   *param_arg;		/* mode or pattern as first given */
	Interval	window_arg;
	sq_program *program;		/* sequences, compiled lazily */
	bool		params_const;	/* window, mode or pattern are constants */
	EventList	events;
} SeqState;

static int64
interval_us(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY + (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

/* the window argument in microseconds: must be positive */
static int64
window_us(Interval *iv, const char *fname)
{
	int64		us = interval_us(iv);

	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the window of %s must be a positive interval", fname)));
	return us;
}

/* comma-separated window_funnel modes */
static unsigned
funnel_modes(text *t)
{
	char	   *s = text_to_cstring(t);
	char	   *tok,
			   *save = NULL;
	unsigned	modes = 0;

	for (tok = strtok_r(s, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
	{
		if (strcmp(tok, "strict_deduplication") == 0)
			modes |= FN_STRICT_DEDUPLICATION;
		else if (strcmp(tok, "strict_order") == 0)
			modes |= FN_STRICT_ORDER;
		else if (strcmp(tok, "strict_increase") == 0)
			modes |= FN_STRICT_INCREASE;
		else if (strcmp(tok, "strict_once") == 0)
			modes |= FN_STRICT_ONCE;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown window_funnel mode \"%s\"", tok),
					 errhint("Valid modes are strict_deduplication, strict_order, strict_increase and strict_once, comma-separated.")));
	}
	return modes;
}

/* raise a core's error; limits get a hint about what to change */
static void
report_core(int rc, const char *err)
{
	if (rc == AN_ELIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s", err),
				 errhint("The work grows with the events of an actor times the atoms of the pattern: filter the rows, shorten the pattern, or raise analytics.sequence_max_steps.")));
	an_report_core_error(rc, err, NULL);
}

static void
report_funnel_core(int rc, const char *err)
{
	an_report_core_error(rc, err,
						 rc == AN_ELIMIT
						 ? "Many rows of one actor at the same instant satisfy several steps; with strict_once every combination is a chain. Use finer timestamps, fewer overlapping conditions, or another mode."
						 : NULL);
}

/*
 * Shared transition.  Arguments after the state: window_funnel(window,
 * [mode,] ts, conds) or sequence_*(pattern, ts, conds).
 */
static Datum
seq_accum(FunctionCallInfo fcinfo, seq_fn fn)
{
	MemoryContext aggcxt;
	SeqState   *st;
	bool		has_mode = fn == SF_WINDOW_FUNNEL && PG_NARGS() == 5;
	int			ts_arg = has_mode ? 3 : 2;
	int			param_arg = fn == SF_WINDOW_FUNNEL ? (has_mode ? 2 : -1) : 1;
	ArrayType  *conds = conds_arg(fcinfo, ts_arg + 1);
	uint64		mask;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s transition called outside an aggregate", seq_fn_names[fn]);
	if ((fn == SF_WINDOW_FUNNEL && PG_ARGISNULL(1)) || (param_arg >= 0 && PG_ARGISNULL(param_arg)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg(fn == SF_WINDOW_FUNNEL ? "the window and mode of window_funnel must not be null"
						: "the pattern must not be null")));
	mask = cond_mask(conds, &n, seq_fn_names[fn]);
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st = palloc0(sizeof(SeqState));
		st->fn = fn;
		st->n_conds = n;
		if (fn == SF_WINDOW_FUNNEL)
		{
			st->window_arg = *PG_GETARG_INTERVAL_P(1);
			st->window = window_us(&st->window_arg, "window_funnel");
			st->modes = has_mode ? funnel_modes(PG_GETARG_TEXT_PP(param_arg)) : 0;
		}
		if (param_arg >= 0)
			st->param_arg = (text *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(param_arg));
		st->params_const = an_agg_args_const(fcinfo, 1, ts_arg - 1);
		if (fn != SF_WINDOW_FUNNEL)
		{
			an_allocator a = an_pg_allocator(aggcxt);
			char		err[256];
			text	   *p = st->param_arg;

			report_core(sq_compile(VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), n, &a, &st->program,
								   err, sizeof(err)), err);
		}
		MemoryContextSwitchTo(old);
	}
	else
	{
		st = (SeqState *) PG_GETARG_POINTER(0);
		if (n != st->n_conds ||
			(!st->params_const &&
			 ((fn == SF_WINDOW_FUNNEL &&
			   memcmp(PG_GETARG_INTERVAL_P(1), &st->window_arg, sizeof(Interval)) != 0) ||
			  (param_arg >= 0 &&
			   (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(param_arg)) != VARSIZE_ANY_EXHDR(st->param_arg) ||
				memcmp(VARDATA_ANY(PG_GETARG_TEXT_PP(param_arg)), VARDATA_ANY(st->param_arg),
					   VARSIZE_ANY_EXHDR(st->param_arg)) != 0)))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the window, mode, pattern and number of conditions of %s must be the same in every row",
							seq_fn_names[fn])));
	}
	if (PG_ARGISNULL(ts_arg))
		PG_RETURN_POINTER(st);
	/* rows matching nothing matter only to strict_order */
	if (mask == 0 && !(st->modes & FN_STRICT_ORDER))
		PG_RETURN_POINTER(st);
	list_add(&st->events, aggcxt, PG_GETARG_TIMESTAMPTZ(ts_arg), mask);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(window_funnel_accum);
Datum
window_funnel_accum(PG_FUNCTION_ARGS)
{
	return seq_accum(fcinfo, SF_WINDOW_FUNNEL);
}

PG_FUNCTION_INFO_V1(sequence_match_accum);
Datum
sequence_match_accum(PG_FUNCTION_ARGS)
{
	return seq_accum(fcinfo, SF_SEQUENCE_MATCH);
}

PG_FUNCTION_INFO_V1(sequence_count_accum);
Datum
sequence_count_accum(PG_FUNCTION_ARGS)
{
	return seq_accum(fcinfo, SF_SEQUENCE_COUNT);
}

/* a copy of src's parameters in cxt, with no events */
static SeqState *
seq_copy_params(const SeqState *src, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	SeqState   *st = palloc0(sizeof(SeqState));

	st->fn = src->fn;
	st->n_conds = src->n_conds;
	st->window = src->window;
	st->modes = src->modes;
	st->window_arg = src->window_arg;
	if (src->param_arg)
		st->param_arg = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(src->param_arg));
	if (st->fn != SF_WINDOW_FUNNEL)
	{
		an_allocator a = an_pg_allocator(cxt);
		char		err[256];

		report_core(sq_compile(VARDATA_ANY(st->param_arg), VARSIZE_ANY_EXHDR(st->param_arg),
							   st->n_conds, &a, &st->program, err, sizeof(err)), err);
	}
	MemoryContextSwitchTo(old);
	return st;
}

PG_FUNCTION_INFO_V1(seq_combine);
Datum
seq_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SeqState   *a = PG_ARGISNULL(0) ? NULL : (SeqState *) PG_GETARG_POINTER(0);
	SeqState   *b = PG_ARGISNULL(1) ? NULL : (SeqState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "seq_combine called outside an aggregate");
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = seq_copy_params(b, aggcxt);
	/* b's rows come after a's */
	list_append(&a->events, aggcxt, b->events.ev, b->events.n);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(seq_serialize);
Datum
seq_serialize(PG_FUNCTION_ARGS)
{
	SeqState   *st = (SeqState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		plen = st->param_arg ? (int32) VARSIZE_ANY(st->param_arg) : -1;
	bytea	   *result;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) &st->fn, sizeof(seq_fn));
	appendBinaryStringInfo(&buf, (char *) &st->n_conds, sizeof(int));
	appendBinaryStringInfo(&buf, (char *) &st->window, sizeof(int64));
	appendBinaryStringInfo(&buf, (char *) &st->modes, sizeof(unsigned));
	appendBinaryStringInfo(&buf, (char *) &st->window_arg, sizeof(Interval));
	appendBinaryStringInfo(&buf, (char *) &plen, sizeof(int32));
	if (plen > 0)
		appendBinaryStringInfo(&buf, (char *) st->param_arg, plen);
	appendBinaryStringInfo(&buf, (char *) &st->events.n, sizeof(int32));
	appendBinaryStringInfo(&buf, (char *) st->events.ev, sizeof(SlimEvent) * st->events.n);
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	PG_RETURN_BYTEA_P(result);
}

static void
take(const char **p, const char *end, void *dst, Size n)
{
	if ((Size) (end - *p) < n)
		elog(ERROR, "truncated funnel state");
	memcpy(dst, *p, n);
	*p += n;
}

PG_FUNCTION_INFO_V1(seq_deserialize);
Datum
seq_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	const char *end = p + VARSIZE_ANY_EXHDR(b);
	SeqState	tmp;
	SeqState   *st;
	int32		plen,
				n;

	memset(&tmp, 0, sizeof(tmp));
	take(&p, end, &tmp.fn, sizeof(seq_fn));
	take(&p, end, &tmp.n_conds, sizeof(int));
	take(&p, end, &tmp.window, sizeof(int64));
	take(&p, end, &tmp.modes, sizeof(unsigned));
	take(&p, end, &tmp.window_arg, sizeof(Interval));
	take(&p, end, &plen, sizeof(int32));
	if (plen > 0)
	{
		tmp.param_arg = palloc(plen);
		take(&p, end, tmp.param_arg, plen);
	}
	st = seq_copy_params(&tmp, CurrentMemoryContext);
	take(&p, end, &n, sizeof(int32));
	if (n < 0 || (Size) (end - p) != sizeof(SlimEvent) * (Size) n)
		elog(ERROR, "invalid funnel state");
	st->events.ev = palloc_extended(sizeof(SlimEvent) * Max(n, 1), MCXT_ALLOC_HUGE);
	memcpy(st->events.ev, p, sizeof(SlimEvent) * n);
	st->events.n = n;
	st->events.cap = Max(n, 1);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(window_funnel_final);
Datum
window_funnel_final(PG_FUNCTION_ARGS)
{
	SeqState   *st;
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	char		err[256];
	int			level;
	fn_event   *ev = NULL;
	int32		cap = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (SeqState *) PG_GETARG_POINTER(0);
	report_funnel_core(fn_window_funnel(list_events(&st->events, &ev, &cap), st->events.n,
										st->n_conds, st->window, st->modes, &level, NULL,
										&a, err, sizeof(err)), err);
	PG_RETURN_INT32(level);
}

/*
 * Events at the same time are ordered by the lowest condition they satisfy,
 * then by their whole condition set, so that the result does not depend on
 * the order rows arrive in (which differs between serial and parallel
 * plans); only rows identical in time and conditions keep arrival order,
 * and those are interchangeable.
 */
static int
seq_event_cmp(const void *a, const void *b)
{
	const fn_event *x = a;
	const fn_event *y = b;
	int			lx,
				ly;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	lx = x->mask ? __builtin_ctzll(x->mask) : 64;
	ly = y->mask ? __builtin_ctzll(y->mask) : 64;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

/* the events in that order, numbered so that the matcher keeps it */
static fn_event *
sorted_events(const SeqState *st)
{
	fn_event   *ev = NULL;
	int32		cap = 0;
	int32		i;

	list_events(&st->events, &ev, &cap);
	if (ev == NULL)
		return palloc(sizeof(fn_event));	/* no events */
	qsort(ev, st->events.n, sizeof(fn_event), seq_event_cmp);
	for (i = 0; i < st->events.n; i++)
		ev[i].row = i;
	return ev;
}

/* run the pattern of a sequence state: matched or number of matches */
static void
seq_run(SeqState *st, bool count, bool *matched, int64 *n)
{
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	char		err[256];
	fn_event   *ev = sorted_events(st);

	if (count)
		report_core(sq_count(st->program, ev, st->events.n, analytics_sequence_max_steps,
							 n, &a, err, sizeof(err)), err);
	else
		report_core(sq_match(st->program, ev, st->events.n, analytics_sequence_max_steps,
							 matched, &a, err, sizeof(err)), err);
}

PG_FUNCTION_INFO_V1(sequence_match_final);
Datum
sequence_match_final(PG_FUNCTION_ARGS)
{
	bool		matched = false;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	seq_run((SeqState *) PG_GETARG_POINTER(0), false, &matched, NULL);
	PG_RETURN_BOOL(matched);
}

PG_FUNCTION_INFO_V1(sequence_count_final);
Datum
sequence_count_final(PG_FUNCTION_ARGS)
{
	int64		count = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	seq_run((SeqState *) PG_GETARG_POINTER(0), true, NULL, &count);
	PG_RETURN_INT64(count);
}

/* ---------- funnel_report: every actor in one pass ---------- */

typedef struct Exclusion
{
	int			cond;			/* 0-based condition index */
	int			from_step;		/* 1-based */
	int			to_step;
} Exclusion;

typedef struct FunnelReport
{
	int			n_conds;
	int			n_steps;
	int64		window;
	unsigned	modes;
	int			step_cond[FN_MAX_STEPS];	/* condition index of each step */
	int			n_excl;
	Exclusion	excl[FN_MAX_STEPS];
	uint64		excl_mask;		/* conditions that are exclusions */
	Interval	window_arg;
	/* not serialized: */
	struct varlena *options_arg;	/* as given (jsonb or text), to compare rows */
	MemoryContext cxt;			/* holds this struct and everything it points to */
	ActorTable *actors;
	EventList  *lists;
	int64		lists_cap;
	int64		rows;
	bool		params_const;	/* window and options are constants */
	bool		adoptable;		/* made by deserialize: combine may take it over */
} FunnelReport;

/* options: {"mode": "strict_order, ...", "exclusions": [condition, from_step, to_step, ...]} */
static void
report_options(FunnelReport *fr, Jsonb *options)
{
	an_option	spec[] = {
		AN_OPTION("mode", AN_OPT_STRING, 0x1),
		AN_OPTION("exclusions", AN_OPT_NUMBERS, 0x1),
	};
	static const char *const names[] = {"funnel_report"};
	int			i,
				s;

	/* exclusions are given as a flat list [condition, from, to, condition, from, to, ...] */
	an_parse_options(options, spec, lengthof(spec), 0x1, "funnel_report", names, 1, "function");
	if (spec[0].present)
		fr->modes = funnel_modes(cstring_to_text(spec[0].string));
	if (spec[1].present)
	{
		if (spec[1].n_numbers % 3 != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"exclusions\" must list triples [condition, from_step, to_step, ...]"),
					 errhint("For example {\"exclusions\": [4, 1, 3]}: condition 4 between steps 1 and 3 excludes the actor.")));
		for (i = 0; i < spec[1].n_numbers; i += 3)
		{
			Exclusion  *x = &fr->excl[fr->n_excl++];

			x->cond = (int) spec[1].numbers[i] - 1;
			x->from_step = (int) spec[1].numbers[i + 1];
			x->to_step = (int) spec[1].numbers[i + 2];
			if (x->cond < 0 || x->cond >= fr->n_conds ||
				spec[1].numbers[i] != floor(spec[1].numbers[i]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("exclusion condition %s is not one of the %d conditions",
								float8out_internal(spec[1].numbers[i]), fr->n_conds)));
			fr->excl_mask |= UINT64_C(1) << x->cond;
		}
	}
	/* the steps are the conditions that are not exclusions, in order */
	fr->n_steps = 0;
	for (s = 0; s < fr->n_conds; s++)
		if (!(fr->excl_mask & (UINT64_C(1) << s)))
			fr->step_cond[fr->n_steps++] = s;
	if (fr->n_steps == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("funnel_report needs at least one step that is not an exclusion")));
	for (i = 0; i < fr->n_excl; i++)
		if (fr->excl[i].from_step < 1 || fr->excl[i].to_step <= fr->excl[i].from_step ||
			fr->excl[i].to_step > fr->n_steps)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an exclusion must lie between two steps: 1 <= from_step < to_step <= %d",
							fr->n_steps)));
}

PG_FUNCTION_INFO_V1(funnel_report_accum);

/* funnel_report(actor, ts, window [, options], VARIADIC conds) transition */
Datum
funnel_report_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FunnelReport *fr;
	bool		has_options = PG_NARGS() == 6;
	int			conds_at = has_options ? 5 : 4;
	struct varlena *options = NULL;
	uint64		mask;
	int			n;
	int64		idx,
				before;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "funnel_report_accum called outside an aggregate");
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the window of funnel_report must not be null")));
	mask = cond_mask(conds_arg(fcinfo, conds_at), &n, "funnel_report");
	/* options come as jsonb or, for untyped literals, as text (see funnel.sql) */
	if (has_options && !PG_ARGISNULL(4) &&
		(PG_ARGISNULL(0) || !((FunnelReport *) PG_GETARG_POINTER(0))->params_const))
		options = PG_GETARG_VARLENA_P(4);
	if (PG_ARGISNULL(0))
	{
		MemoryContext cxt = AllocSetContextCreate(aggcxt, "analytics funnel_report",
												  ALLOCSET_DEFAULT_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		fr = palloc0(sizeof(FunnelReport));
		fr->cxt = cxt;
		fr->n_conds = n;
		fr->window_arg = *PG_GETARG_INTERVAL_P(3);
		fr->window = window_us(&fr->window_arg, "funnel_report");
		fr->options_arg = options ? (struct varlena *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(4)) : NULL;
		report_options(fr, options == NULL ? NULL
					   : get_fn_expr_argtype(fcinfo->flinfo, 4) == TEXTOID
					   ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															CStringGetDatum(text_to_cstring((text *) options))))
					   : (Jsonb *) options);
		fr->actors = actor_table_create(get_fn_expr_argtype(fcinfo->flinfo, 1), InvalidOid,
										fr->cxt, "the actor");
		fr->lists_cap = 1024;
		fr->lists = MemoryContextAllocHuge(fr->cxt, sizeof(EventList) * fr->lists_cap);
		fr->params_const = an_agg_args_const(fcinfo, 3, has_options ? 4 : 3);
		MemoryContextSwitchTo(old);
	}
	else
	{
		fr = (FunnelReport *) PG_GETARG_POINTER(0);
		if (n != fr->n_conds ||
			(!fr->params_const &&
			 (memcmp(PG_GETARG_INTERVAL_P(3), &fr->window_arg, sizeof(Interval)) != 0 ||
			  ((options == NULL) != (fr->options_arg == NULL)) ||
			  (options && (VARSIZE(options) != VARSIZE(fr->options_arg) ||
						   memcmp(options, fr->options_arg, VARSIZE(options)) != 0)))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the window, options and number of conditions of funnel_report must be the same in every row")));
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(fr);
	if (mask == 0 && !(fr->modes & FN_STRICT_ORDER))
		PG_RETURN_POINTER(fr);
	before = actor_table_count(fr->actors);
	idx = actor_table_index(fr->actors, PG_GETARG_DATUM(1), true);
	if (idx >= fr->lists_cap)
	{
		fr->lists_cap *= 2;
		fr->lists = repalloc_huge(fr->lists, sizeof(EventList) * fr->lists_cap);
	}
	if (actor_table_count(fr->actors) > before)
		memset(&fr->lists[idx], 0, sizeof(EventList));
	list_add(&fr->lists[idx], fr->cxt, PG_GETARG_TIMESTAMPTZ(2), mask);
	if (++fr->rows % 8192 == 0 &&
		MemoryContextMemAllocated(fr->cxt, true) / 1024 > (Size) analytics_max_aggregate_memory)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("funnel_report needs more memory than analytics.max_aggregate_memory allows (%d kB)",
						analytics_max_aggregate_memory),
				 errdetail("It holds the events of " INT64_FORMAT " actors.", actor_table_count(fr->actors)),
				 errhint("Raise analytics.max_aggregate_memory, or report on fewer actors at a time.")));
	PG_RETURN_POINTER(fr);
}

/* a new empty report with the parameters of src, in a new child context of parent */
static FunnelReport *
report_copy_params(const FunnelReport *src, Oid actor_type, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "analytics funnel_report",
											  ALLOCSET_DEFAULT_SIZES);
	FunnelReport *fr = MemoryContextAlloc(cxt, sizeof(FunnelReport));

	memcpy(fr, src, sizeof(FunnelReport));
	fr->cxt = cxt;
	fr->options_arg = src->options_arg
		? (struct varlena *) MemoryContextAlloc(cxt, VARSIZE(src->options_arg)) : NULL;
	if (fr->options_arg)
		memcpy(fr->options_arg, src->options_arg, VARSIZE(src->options_arg));
	fr->actors = actor_table_create(actor_type, InvalidOid, cxt, "the actor");
	fr->lists_cap = 1024;
	fr->lists = MemoryContextAllocHuge(cxt, sizeof(EventList) * fr->lists_cap);
	fr->rows = 0;
	fr->adoptable = false;
	return fr;
}

/* add events of the actor key to dst */
static void
report_merge_actor(FunnelReport *dst, Datum key, const void *ev, int32 n)
{
	int64		before = actor_table_count(dst->actors);
	int64		idx = actor_table_index(dst->actors, key, true);

	if (idx >= dst->lists_cap)
	{
		dst->lists_cap *= 2;
		dst->lists = repalloc_huge(dst->lists, sizeof(EventList) * dst->lists_cap);
	}
	if (actor_table_count(dst->actors) > before)
		memset(&dst->lists[idx], 0, sizeof(EventList));
	list_append(&dst->lists[idx], dst->cxt, ev, n);
}

PG_FUNCTION_INFO_V1(funnel_report_combine);
Datum
funnel_report_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FunnelReport *a = PG_ARGISNULL(0) ? NULL : (FunnelReport *) PG_GETARG_POINTER(0);
	FunnelReport *b = PG_ARGISNULL(1) ? NULL : (FunnelReport *) PG_GETARG_POINTER(1);
	int64		i;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "funnel_report_combine called outside an aggregate");
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL && b->adoptable)
	{
		/* a state deserialize made for us: keep it rather than copy it */
		MemoryContextSetParent(b->cxt, aggcxt);
		b->adoptable = false;
		PG_RETURN_POINTER(b);
	}
	if (a == NULL)
		a = report_copy_params(b, actor_table_type(b->actors), aggcxt);
	for (i = 0; i < actor_table_count(b->actors); i++)
	{
		report_merge_actor(a, actor_table_key(b->actors, i), b->lists[i].ev, b->lists[i].n);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (b->adoptable)
		MemoryContextDelete(b->cxt);	/* merged: free it now, not with the tuple */
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(funnel_report_serialize);
Datum
funnel_report_serialize(PG_FUNCTION_ARGS)
{
	FunnelReport *fr = (FunnelReport *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		olen = fr->options_arg ? (int32) VARSIZE(fr->options_arg) : -1;
	int64		n = actor_table_count(fr->actors),
				i;
	Oid			type = actor_table_type(fr->actors);
	bytea	   *result;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) fr, offsetof(FunnelReport, options_arg));
	appendBinaryStringInfo(&buf, (char *) &type, sizeof(Oid));
	appendBinaryStringInfo(&buf, (char *) &olen, sizeof(int32));
	if (olen > 0)
		appendBinaryStringInfo(&buf, (char *) fr->options_arg, olen);
	appendBinaryStringInfo(&buf, (char *) &n, sizeof(int64));
	for (i = 0; i < n; i++)
	{
		actor_table_write_key(fr->actors, i, &buf);
		appendBinaryStringInfo(&buf, (char *) &fr->lists[i].n, sizeof(int32));
		appendBinaryStringInfo(&buf, (char *) fr->lists[i].ev, sizeof(SlimEvent) * fr->lists[i].n);
	}
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(funnel_report_deserialize);
Datum
funnel_report_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	const char *end = p + VARSIZE_ANY_EXHDR(b);
	FunnelReport tmp;
	FunnelReport *fr;
	Oid			type;
	int32		olen;
	int64		n,
				i;

	memset(&tmp, 0, sizeof(tmp));
	take(&p, end, &tmp, offsetof(FunnelReport, options_arg));
	take(&p, end, &type, sizeof(Oid));
	take(&p, end, &olen, sizeof(int32));
	if (olen > 0)
	{
		tmp.options_arg = palloc(olen);
		take(&p, end, tmp.options_arg, olen);
	}
	fr = report_copy_params(&tmp, type, CurrentMemoryContext);
	take(&p, end, &n, sizeof(int64));
	for (i = 0; i < n; i++)
	{
		Datum		key;
		int32		nev;

		p += actor_table_read_key(fr->actors, p, end - p, &key);
		take(&p, end, &nev, sizeof(int32));
		if (nev < 0 || (Size) (end - p) < sizeof(SlimEvent) * (Size) nev)
			elog(ERROR, "invalid funnel_report state");
		report_merge_actor(fr, key, p, nev);	/* SlimEvents as written */
		p += sizeof(SlimEvent) * nev;
	}
	fr->adoptable = true;
	PG_RETURN_POINTER(fr);
}

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* exact median of n values (sorted in place), NULL-able */
static Datum
median(double *v, int64 n, bool *isnull)
{
	if (n == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	qsort(v, n, sizeof(double), double_cmp);
	return Float8GetDatum(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

PG_FUNCTION_INFO_V1(funnel_report_final);

/*
 * Per step: actors reached, conversion from the previous step and from the
 * first, and the median seconds from the previous step and from the first.
 */
Datum
funnel_report_final(PG_FUNCTION_ARGS)
{
	FunnelReport *fr;
	an_allocator a = an_pg_allocator(CurrentMemoryContext);
	int64		reached[FN_MAX_STEPS];
	double	   *dt_prev[FN_MAX_STEPS],
			   *dt_first[FN_MAX_STEPS];
	int64		n_actors,
				i;
	int			s;
	fn_event   *steps_only = NULL;
	int32		cap = 0;
	int64		chain[FN_MAX_STEPS];
	char		err[256];
	Datum	   *values;
	bool	   *nulls;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fr = (FunnelReport *) PG_GETARG_POINTER(0);
	n_actors = actor_table_count(fr->actors);
	memset(reached, 0, sizeof(reached));
	for (s = 0; s < fr->n_steps; s++)
	{
		dt_prev[s] = palloc_extended(sizeof(double) * Max(n_actors, 1), MCXT_ALLOC_HUGE);
		dt_first[s] = palloc_extended(sizeof(double) * Max(n_actors, 1), MCXT_ALLOC_HUGE);
	}
	for (i = 0; i < n_actors; i++)
	{
		const EventList *l = &fr->lists[i];
		int32		j,
					m = 0;
		int			level,
					x;
		bool		excluded = false;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (l->n > cap)
		{
			cap = Max(l->n, 2 * cap);
			steps_only = steps_only ? repalloc_huge(steps_only, sizeof(fn_event) * cap)
				: palloc_extended(sizeof(fn_event) * cap, MCXT_ALLOC_HUGE);
		}
		/* condition bits to step bits (the same without exclusions) */
		for (j = 0; j < l->n; j++)
		{
			uint64		mask = 0;

			if (fr->n_excl == 0)
				mask = l->ev[j].mask;
			else
				for (s = 0; s < fr->n_steps; s++)
					if (l->ev[j].mask >> fr->step_cond[s] & 1)
						mask |= UINT64_C(1) << s;
			if (mask == 0 && !(fr->modes & FN_STRICT_ORDER))
				continue;
			steps_only[m].ts = l->ev[j].ts;
			steps_only[m].mask = mask;
			steps_only[m++].row = j;
		}
		report_funnel_core(fn_window_funnel(steps_only, m, fr->n_steps, fr->window, fr->modes,
											&level, chain, &a, err, sizeof(err)), err);
		/* exclusions: an excluded event between the chain's from and to steps */
		for (x = 0; x < fr->n_excl && level > 0; x++)
		{
			const Exclusion *ex = &fr->excl[x];
			int64		lo,
						hi;

			if (level < ex->from_step)
				continue;
			lo = chain[ex->from_step - 1];
			hi = level >= ex->to_step ? chain[ex->to_step - 1] : chain[0] + fr->window;
			for (j = 0; j < l->n && !excluded; j++)
				if ((l->ev[j].mask >> ex->cond & 1) && l->ev[j].ts > lo && l->ev[j].ts < hi)
					excluded = true;
		}
		if (excluded)
			continue;
		for (s = 0; s < level; s++)
		{
			if (s > 0)
			{
				dt_prev[s][reached[s]] = (double) (chain[s] - chain[s - 1]) / USECS_PER_SEC;
				dt_first[s][reached[s]] = (double) (chain[s] - chain[0]) / USECS_PER_SEC;
			}
			reached[s]++;
		}
	}
	values = palloc(sizeof(Datum) * 6 * fr->n_steps);
	nulls = palloc0(sizeof(bool) * 6 * fr->n_steps);
	for (s = 0; s < fr->n_steps; s++)
	{
		values[6 * s] = Int32GetDatum(s + 1);
		values[6 * s + 1] = Int64GetDatum(reached[s]);
		if (s > 0 && reached[s - 1] > 0)
			values[6 * s + 2] = Float8GetDatum((double) reached[s] / reached[s - 1]);
		else if (s == 0)
			values[6 * s + 2] = Float8GetDatum(reached[0] > 0 ? 1.0 : 0.0);
		else
			nulls[6 * s + 2] = true;
		if (reached[0] > 0)
			values[6 * s + 3] = Float8GetDatum((double) reached[s] / reached[0]);
		else
			nulls[6 * s + 3] = true;
		if (s == 0)
		{
			nulls[6 * s + 4] = nulls[6 * s + 5] = true;
			continue;
		}
		values[6 * s + 4] = median(dt_prev[s], reached[s], &nulls[6 * s + 4]);
		values[6 * s + 5] = median(dt_first[s], reached[s], &nulls[6 * s + 5]);
	}
	PG_RETURN_ARRAYTYPE_P(an_composite_array("funnel_step", fr->n_steps, 6, values, nulls));
}
