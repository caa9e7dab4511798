/*
 * srf.c: elt_users(), elt_subscriptions(), elt_usage(): generated rows for a
 * population, a user range and a horizon.  Pure: no writes, no clock.  They
 * materialise into a tuplestore, which spills to disk past work_mem.
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "elt.h"

PG_FUNCTION_INFO_V1(elt_users);
PG_FUNCTION_INFO_V1(elt_subscriptions);
PG_FUNCTION_INFO_V1(elt_usage);

typedef struct StoreSink
{
	EltSink		sink;
	ReturnSetInfo *rsinfo;
} StoreSink;

/* store_put appends a generated row to the SRF's tuplestore. */
static void
store_put(EltSink *sink, Datum *values, bool *nulls)
{
	ReturnSetInfo *rsinfo = ((StoreSink *) sink)->rsinfo;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * parse_args reads the SRFs' arguments: users, seed, as_of, start_date,
 * first_user, last_user [, history], since, params.
 */
static void
parse_args(FunctionCallInfo fcinfo, EltGen *gen, bool has_history)
{
	int			since_arg = has_history ? 7 : 6;

	elt_parse_population(fcinfo, 0, 1, 2, 3, since_arg + 1, gen);
	elt_parse_user_range(fcinfo, 4, 5, gen);
	if (has_history)
	{
		if (PG_ARGISNULL(6))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("history must not be NULL")));
		gen->history = PG_GETARG_BOOL(6);
	}
	if (!PG_ARGISNULL(since_arg))
	{
		DateADT		since = PG_GETARG_DATEADT(since_arg);

		if (DATE_NOT_FINITE(since))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("since must be a finite date")));
		gen->since = since;
	}
}

/* generate runs the model into a tuplestore for one of the three tables. */
static Datum
generate(FunctionCallInfo fcinfo, int which)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EltGen		gen;
	StoreSink	sink;

	parse_args(fcinfo, &gen, which != 2);
	InitMaterializedSRF(fcinfo, 0);
	sink.sink.put = store_put;
	sink.rsinfo = rsinfo;
	elt_emit(&gen, &(EltSinks) {which == 0 ? &sink.sink : NULL,
								which == 1 ? &sink.sink : NULL,
								which == 2 ? &sink.sink : NULL},
			 NULL, NULL);
	return (Datum) 0;
}

/* elt_users() returns the generated users with their SCD2 versions of a population. */
Datum
elt_users(PG_FUNCTION_ARGS)
{
	return generate(fcinfo, 0);
}

/* elt_subscriptions() returns the generated subscriptions with their SCD2 versions of a population. */
Datum
elt_subscriptions(PG_FUNCTION_ARGS)
{
	return generate(fcinfo, 1);
}

/* elt_usage() returns the generated daily usage rows of a population. */
Datum
elt_usage(PG_FUNCTION_ARGS)
{
	return generate(fcinfo, 2);
}
