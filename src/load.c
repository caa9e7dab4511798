/*
 * load.c: elt__load_raw(), the C half of elt_generate(): one pass over the
 * population writes elt_raw.users, elt_raw.subscriptions and elt_raw.usage
 * through the bulk loader, reporting progress every few seconds.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "funcapi.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"

#include "bulk.h"
#include "elt.h"

PG_FUNCTION_INFO_V1(elt__load_raw);

#define PROGRESS_SECONDS 5.0

typedef struct Progress
{
	instr_time	started;
	double		last;
	int64		total;
	EltBulk    *usage;
} Progress;

static void
report(void *arg, int64 done)
{
	Progress   *p = arg;
	instr_time	now;
	double		secs;

	if ((done & 255) != 0 && done != p->total)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->started);
	secs = INSTR_TIME_GET_DOUBLE(now);
	if (secs - p->last < PROGRESS_SECONDS)
		return;
	p->last = secs;
	ereport(NOTICE,
			(errmsg("elt_generate: %lld of %lld users, %lld usage rows (%.0f rows/s)",
					(long long) done, (long long) p->total, (long long) p->usage->rows,
					p->usage->rows / secs)));
}

static Oid
raw_table(const char *name)
{
	return RangeVarGetRelid(makeRangeVar("elt_raw", (char *) name, -1), NoLock, false);
}

/* elt__load_raw(users, seed, as_of, start_date) -> (users, subscriptions, usage) */
Datum
elt__load_raw(PG_FUNCTION_ARGS)
{
	EltGen		gen;
	EltBulk    *users,
			   *subs,
			   *usage;
	Progress	progress = {0};
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	elt_parse_population(fcinfo, 0, 1, 2, 3, &gen);

	users = elt_bulk_open(raw_table("users"));
	subs = elt_bulk_open(raw_table("subscriptions"));
	usage = elt_bulk_open(raw_table("usage"));

	INSTR_TIME_SET_CURRENT(progress.started);
	progress.total = gen.last_user;
	progress.usage = usage;
	elt_emit(&gen, &users->sink, &subs->sink, &usage->sink, report, &progress);
	if (progress.last > 0)
		ereport(NOTICE,
				(errmsg("elt_generate: %lld users, %lld usage rows written; building indexes",
						(long long) gen.last_user, (long long) usage->rows)));

	values[0] = Int64GetDatum(elt_bulk_close(users));
	values[1] = Int64GetDatum(elt_bulk_close(subs));
	values[2] = Int64GetDatum(elt_bulk_close(usage));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(elt__check_population);

/* elt__check_population(users, seed, as_of, start_date): errors only. */
Datum
elt__check_population(PG_FUNCTION_ARGS)
{
	EltGen		gen;

	elt_parse_population(fcinfo, 0, 1, 2, 3, &gen);
	PG_RETURN_VOID();
}
