/*
 * scd2_write.c: the write statements of elt_scd2_merge, run once the read
 * pass has found every change and every check has passed.
 *
 * One statement each: close versions by TID (valid_to = as_of), remove
 * versions that start at as_of, reopen versions closed at as_of, rewrite
 * versions that start at as_of from the spool, insert the spooled new
 * versions (an ephemeral named relation).  TID lists are passed as a tid[]
 * parameter and fetched by TID scans.  Each statement must touch exactly
 * the rows expected; otherwise a trigger or policy hid rows, or (with a
 * transaction snapshot) a concurrent merge changed them: 40001.
 *
 * The statements run as the caller in the caller's search_path (triggers
 * on the caller's tables may rely on it), so they qualify every function
 * and operator (OPERATOR(pg_catalog.=)).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "scd2.h"

/*
 * A write statement gets $1 = as_of and, when tids are given, $2 = tid[],
 * in batches that keep each array well below the 1 GB datum limit.
 */
#define TID_BATCH	(1 << 20)

/* Runs one batch of a write statement; returns the rows it touched. */
static uint64
run_write_batch(MergeState *ms, const char *sql, ItemPointerData *tids, int64 ntids)
{
	SPIExecuteOptions opts = {0};
	Datum		arr = (Datum) 0;
	int			rc;
	int			nest;

	if (tids != NULL)
	{
		Datum	   *elems = palloc(sizeof(Datum) * ntids);

		for (int64 i = 0; i < ntids; i++)
			elems[i] = PointerGetDatum(&tids[i]);
		arr = PointerGetDatum(construct_array(elems, ntids, TIDOID,
											  sizeof(ItemPointerData), false,
											  TYPALIGN_SHORT));
	}
	opts.params = scd2_params(ms, arr, tids != NULL);

	/*
	 * Fetching a few percent of the rows by TID is far cheaper than a
	 * sequential scan probing the TID list, though the planner, counting
	 * random page reads, thinks otherwise.
	 */
	nest = NewGUCNestLevel();
	if (tids != NULL)
		scd2_set_planner_option("enable_seqscan", "off");
	scd2_set_planner_option("jit", "off");
	rc = SPI_execute_extended(sql, &opts);
	AtEOXact_GUC(true, nest);
	if (rc < 0)
		elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Runs a write statement over all its TIDs; returns the rows it touched. */
static uint64
run_write(MergeState *ms, const char *sql, ItemPointerData *tids, int64 ntids)
{
	uint64		done = 0;

	if (tids == NULL)
		return run_write_batch(ms, sql, NULL, 0);
	for (int64 off = 0; off < ntids; off += TID_BATCH)
		done += run_write_batch(ms, sql, tids + off, Min(TID_BATCH, ntids - off));
	return done;
}

/*
 * Every write must touch exactly the rows the diff found.  Fewer means rows
 * were hidden (a trigger, a row-level security policy) or, in a transaction
 * with a snapshot older than the lock, changed by a concurrent merge.
 */
static void
expect_rows(MergeState *ms, uint64 done, int64 expected, const char *what)
{
	if ((int64) done == expected)
		return;
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of target %s",
						ms->tname),
				 errhint("Retry the transaction.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s %llu instead of %lld versions in target %s", what,
					(unsigned long long) done, (long long) expected, ms->tname),
			 errhint("A trigger or row-level security policy may be hiding rows from elt_scd2_merge.")));
}

/* Runs stmt on the versions with the given TIDs, all of them or an error. */
static void
write_by_tid(MergeState *ms, const char *stmt, ItemPointerData *tids, int64 ntids,
			 const char *what)
{
	if (ntids > 0)
		expect_rows(ms, run_write(ms, psprintf("%s WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)", stmt),
								  tids, ntids),
					ntids, what);
}

/*
 * scd2_apply_changes writes what the read pass found, in an order that never
 * has two current versions of a key at once (because of the recommended
 * unique index on current rows): close, remove, reopen, rewrite, insert.
 * The spool must be registered (scd2_register_spool) and the privileges of
 * the writes at as_of checked (scd2_check_write_priv).
 */
void
scd2_apply_changes(MergeState *ms)
{
	StringInfoData buf;
	int64		nnew = ms->counts[OP_INSERT] + ms->counts[OP_UPDATE] - ms->reopened[OP_INSERT];
	int64		nreplace = ms->counts[OP_REPLACE] - ms->reopened[OP_REPLACE];

	write_by_tid(ms, psprintf("UPDATE ONLY %s SET valid_to = $1", ms->tname),
				 ms->close_tids, ms->nclose, "closed");
	write_by_tid(ms, psprintf("DELETE FROM ONLY %s", ms->tname),
				 ms->drop_tids, ms->ndrop, "removed");
	write_by_tid(ms, psprintf("UPDATE ONLY %s SET valid_to = NULL", ms->tname),
				 ms->reopen_tids, ms->nreopen, "reopened");
	if (nreplace > 0)
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "UPDATE ONLY %s AS t SET ", ms->tname);
		for (int i = 0; i < ms->ncols; i++)
			appendStringInfo(&buf, "%s%s = c._v%d", i ? ", " : "",
							 quote_identifier(ms->cols[i].name), i);
		appendStringInfo(&buf, " FROM %s c WHERE c._op OPERATOR(pg_catalog.=) %d AND t.ctid OPERATOR(pg_catalog.=) c._tid",
						 ENR_NAME, OP_REPLACE);
		expect_rows(ms, run_write(ms, buf.data, NULL, 0), nreplace, "replaced");
	}
	if (nnew > 0)
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "INSERT INTO %s (", ms->tname);
		for (int i = 0; i < ms->nkeys; i++)
			appendStringInfo(&buf, "%s, ", quote_identifier(ms->keys[i].name));
		for (int i = 0; i < ms->ncols; i++)
			appendStringInfo(&buf, "%s, ", quote_identifier(ms->cols[i].name));
		appendStringInfoString(&buf, "valid_from, valid_to) SELECT ");
		for (int i = 0; i < ms->nkeys; i++)
			appendStringInfo(&buf, "_k%d, ", i);
		for (int i = 0; i < ms->ncols; i++)
			appendStringInfo(&buf, "_v%d, ", i);
		appendStringInfo(&buf, "$1, NULL FROM %s WHERE _op OPERATOR(pg_catalog.=) ANY (ARRAY[%d, %d])",
						 ENR_NAME, OP_INSERT, OP_UPDATE);
		expect_rows(ms, run_write(ms, buf.data, NULL, 0), nnew, "inserted");
	}
}
