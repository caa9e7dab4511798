/*
 * estimate.c: sizing elt_generate before it writes anything.  The model is
 * run for a sample of users spread evenly over the population (lives differ
 * with the signup day, so the sample covers early and late signups alike),
 * and the rows are scaled up.  elt.max_generate_rows caps what one call may
 * write, so a mistyped users argument is refused instead of filling the disk.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#include "elt.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(elt__estimate);

#define SAMPLE_USERS 256

/*
 * Bytes on disk per row, tables and their indexes, measured on a generated
 * warehouse (elt_raw alone; with the marts, the total per raw row).
 */
#define RAW_BYTES_PER_ROW 150.0
#define WAREHOUSE_BYTES_PER_RAW_ROW 330.0

typedef struct CountSink
{
	EltSink		sink;
	int64		rows;
} CountSink;

/* count_put counts a row and forgets it. */
static void
count_put(EltSink *sink, Datum *values, bool *nulls)
{
	((CountSink *) sink)->rows++;
}

/*
 * elt__estimate(users, seed, as_of, start_date, build_marts) returns the
 * estimated rows of elt_raw's users, subscriptions and usage and the bytes
 * of the warehouse, after a NOTICE with them; it raises 54000 when the rows
 * exceed elt.max_generate_rows.
 */
Datum
elt__estimate(PG_FUNCTION_ARGS)
{
	EltGen		gen;
	CountSink	sinks[3] = {{{count_put}, 0}, {{count_put}, 0}, {{count_put}, 0}};
	int64		n,
				samples;
	double		scale,
				est[3],
				total,
				bytes;
	bool		marts = PG_ARGISNULL(5) ? true : PG_GETARG_BOOL(5);
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	char		size[64];
	char		limit[64];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	elt_parse_population(fcinfo, 0, 1, 2, 3, 4, &gen);
	n = gen.last_user;
	samples = Min(n, SAMPLE_USERS);
	for (int64 k = 0; k < samples; k++)
	{
		EltGen		one = gen;
		EltSinks	to = {&sinks[0].sink, &sinks[1].sink, &sinks[2].sink};

		/* evenly spaced indexes, first and last user included */
		one.first_user = one.last_user = (samples == 1) ? 1 : 1 + k * (n - 1) / (samples - 1);
		elt_emit(&one, &to, NULL, NULL);
	}
	scale = samples > 0 ? (double) n / samples : 0;
	total = 0;
	for (int t = 0; t < 3; t++)
	{
		est[t] = sinks[t].rows * scale;
		total += est[t];
	}
	bytes = total * (marts ? WAREHOUSE_BYTES_PER_RAW_ROW : RAW_BYTES_PER_ROW);
	if (bytes >= 1e9)
		snprintf(size, sizeof(size), "%.1f GB", bytes / 1e9);
	else
		snprintf(size, sizeof(size), "%.0f MB", ceil(bytes / 1e6));

	ereport(NOTICE,
			(errmsg("elt_generate: %lld users; about %.0f user versions, %.0f subscription versions and %.0f usage rows (about %s on disk%s)",
					(long long) n, est[0], est[1], est[2], size,
					marts ? " with elt_mart" : "")));
	if (elt_max_generate_rows > 0 && total > elt_max_generate_rows)
	{
		/* a limit that would let it through, if one fits */
		if (ceil(total * 1.1) <= INT_MAX)
			snprintf(limit, sizeof(limit), "%.0f", ceil(total * 1.1));
		else
			snprintf(limit, sizeof(limit), "0");
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("elt_generate would write about %.0f rows to elt_raw, more than elt.max_generate_rows (%d)",
						total, elt_max_generate_rows),
				 errdetail("That is about %s on disk%s.", size, marts ? " with elt_mart" : ""),
				 errhint("Generate fewer users or an earlier as_of, or raise the limit: SET elt.max_generate_rows = %s (0: no limit).",
						 limit)));
	}

	values[0] = Int64GetDatum((int64) est[0]);
	values[1] = Int64GetDatum((int64) est[1]);
	values[2] = Int64GetDatum((int64) est[2]);
	values[3] = Int64GetDatum((int64) bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
