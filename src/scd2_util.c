/*
 * scd2_util.c: leaf helpers of elt_scd2_merge that every other scd2 file
 * may call and that call none of them: names and columns of the two
 * relations, the error for a column INSERT could not store, planner
 * options, the parameters of the merge's statements ($1 = as_of, $2 = a TID
 * array) and the snapshot reads run in.
 *
 * Isolation: in READ COMMITTED each statement takes a new snapshot, so it
 * sees every merge committed before the target's lock was granted.  In
 * REPEATABLE READ or SERIALIZABLE the transaction snapshot may be older than
 * the lock, so reads use the latest snapshot instead (as foreign-key checks
 * do); writes that then miss rows the transaction cannot see fail with
 * 40001 (scd2_write.c) rather than write over a concurrent merge.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "scd2.h"

/* scd2_qualified_name quotes rel's schema and name (for SQL and messages). */
char *
scd2_qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/*
 * scd2_find_column returns rel's live column of that name, or NULL (names
 * come from the caller and from the other relation, so may not exist).
 */
Form_pg_attribute
scd2_find_column(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att;
	}
	return NULL;
}

/*
 * scd2_no_assignment_cast raises the error for a source column INSERT could
 * not store in the target column (no assignment cast between the types), as
 * INSERT ... SELECT reports it (because the merge promises INSERT's rules).
 */
void
scd2_no_assignment_cast(MergeState *ms, MergeCol *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of target %s has type %s, but the source column has type %s",
					col->name, ms->tname, format_type_with_typemod(col->ttype, col->ttypmod),
					format_type_with_typemod(col->stype, col->stypmod)),
			 errhint("elt_scd2_merge converts source values as INSERT does (assignment casts only); cast the column in a view over the source.")));
}

/*
 * scd2_set_planner_option sets a planner GUC until the caller's
 * AtEOXact_GUC(true, nest) (like a SET clause, so an error also undoes it).
 */
void
scd2_set_planner_option(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * scd2_params builds the parameters of the merge's statements: $1 = as_of,
 * folded into the plan, and with_tids $2 = a tid[] (not folded: estimating
 * each of many TIDs is slow).
 */
ParamListInfo
scd2_params(MergeState *ms, Datum tids, bool with_tids)
{
	ParamListInfo p = makeParamList(with_tids ? 2 : 1);

	p->params[0].value = TimestampTzGetDatum(ms->as_of);
	p->params[0].isnull = false;
	p->params[0].pflags = PARAM_FLAG_CONST;
	p->params[0].ptype = TIMESTAMPTZOID;
	if (with_tids)
	{
		p->params[1].value = tids;
		p->params[1].isnull = false;
		p->params[1].pflags = 0;
		p->params[1].ptype = TIDARRAYOID;
	}
	return p;
}

/*
 * scd2_begin_read makes the next read see every merge committed before the
 * lock was granted (see the top of this file): with a transaction snapshot
 * it pushes the latest snapshot and returns true (run the read read_only);
 * otherwise it returns false (a read-write SPI statement takes a new one).
 */
bool
scd2_begin_read(void)
{
	if (!IsolationUsesXactSnapshot())
		return false;
	PushActiveSnapshot(GetLatestSnapshot());
	return true;
}

/* scd2_end_read pops what scd2_begin_read pushed (pushed: its result). */
void
scd2_end_read(bool pushed)
{
	if (pushed)
		PopActiveSnapshot();
}

/*
 * scd2_read runs a query on the target's validity range with $1 = as_of,
 * under scd2_begin_read, and returns at most tcount rows (0: all); it is the
 * one way the merge's checks read the target in SQL (because they must all
 * see the same committed merges).
 */
SPITupleTable *
scd2_read(MergeState *ms, const char *sql, long tcount)
{
	SPIExecuteOptions opts = {0};
	int			rc;

	opts.params = scd2_params(ms, (Datum) 0, false);
	opts.tcount = tcount;
	opts.read_only = scd2_begin_read();
	rc = SPI_execute_extended(sql, &opts);
	scd2_end_read(opts.read_only);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	return SPI_tuptable;
}
