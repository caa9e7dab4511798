/*
 * scd2.c: elt_scd2_merge(), a generic SCD2 merge of a snapshot (any table or
 * view) into a history table with [valid_from, valid_to) versions.
 *
 * This file checks the arguments, the columns and the caller's privileges,
 * locks the target, and once the single read pass (scd2_diff.c) has found
 * the changes and every check has passed, writes them: closes versions by
 * TID, removes or rewrites versions that start at as_of, and inserts the
 * spooled new versions (an ephemeral named relation).  Nothing is written
 * before all checks pass.  All SQL is built from catalog names with
 * quote_identifier and runs as the caller, so privileges, row-level
 * security, constraints and triggers apply as to any statement.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "parser/parse_coerce.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "scd2.h"

PG_FUNCTION_INFO_V1(elt_scd2_merge);

static char *
qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/* Names from a text[] argument: no NULLs, no duplicates. */
static List *
name_list(ArrayType *arr, const char *argname)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *names = NIL;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname)));
		name = TextDatumGetCString(elems[i]);
		foreach(lc, names)
		{
			if (strcmp(lfirst(lc), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is listed more than once in %s",
								name, argname)));
		}
		names = lappend(names, name);
	}
	return names;
}

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

static bool
is_validity(const char *name)
{
	return strcmp(name, "valid_from") == 0 || strcmp(name, "valid_to") == 0;
}

/* A column both sides must have: a key or a named tracked column. */
static void
resolve_shared(MergeState *ms, MergeCol *col, const char *name, const char *what)
{
	Form_pg_attribute tatt = scd2_find_column(ms->target, name);
	Form_pg_attribute satt = scd2_find_column(ms->source, name);

	if (is_validity(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s column \"%s\" is a validity column", what, name),
				 errhint("valid_from and valid_to are maintained by elt_scd2_merge.")));
	if (tatt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" does not exist in target %s",
						what, name, ms->tname)));
	if (satt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" does not exist in source %s",
						what, name, ms->sname)));
	col->name = pstrdup(name);
	col->tattnum = tatt->attnum;
	col->ttype = tatt->atttypid;
	col->ttypmod = tatt->atttypmod;
	col->tcoll = tatt->attcollation;
	col->stype = satt->atttypid;
	col->stypmod = satt->atttypmod;
	col->scoll = satt->attcollation;
}

static void
check_validity_column(MergeState *ms, const char *name)
{
	Form_pg_attribute att = scd2_find_column(ms->target, name);

	if (att == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target %s has no column \"%s\"", ms->tname, name),
				 errhint("An SCD2 target needs valid_from timestamptz NOT NULL and valid_to timestamptz.")));
	if (att->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of target %s has type %s, not timestamp with time zone",
						name, ms->tname, format_type_be(att->atttypid))));
}

/*
 * The error for a source column INSERT could not store in the target column
 * (no assignment cast between the types), as INSERT ... SELECT reports it.
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
 * The read pass returns 4 + keys + copied + 2 x tracked columns; refuse up
 * front what would exceed the executor's limit on a row's width (a short
 * error rather than 54011 from deep inside, with the whole query as context).
 */
static void
check_width(MergeState *ms)
{
	int			width = 4 + ms->nkeys + ms->ncols + 2 * ms->ntracked;

	if (width > MaxTupleAttributeNumber)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_COLUMNS),
				 errmsg("target %s shares too many columns with source %s", ms->tname, ms->sname),
				 errdetail("%d key columns, %d copied columns of which %d tracked: keys + copied + 2 x tracked must not exceed %d.",
						   ms->nkeys, ms->ncols, ms->ntracked, MaxTupleAttributeNumber - 4),
				 errhint("Pass fewer tracked columns, or merge from a view with fewer columns.")));
}

/*
 * Resolves keys, copied columns and tracked columns.  Copied: every non-key
 * column both sides have, except the validity columns and target columns the
 * database computes (generated, identity ALWAYS).
 */
static void
resolve_columns(MergeState *ms, List *keys, List *tracked, bool track_all)
{
	TupleDesc	tdesc = RelationGetDescr(ms->target);
	ListCell   *lc;
	int			i = 0;

	check_validity_column(ms, "valid_from");
	check_validity_column(ms, "valid_to");

	ms->nkeys = list_length(keys);
	ms->keys = palloc0(sizeof(MergeCol) * ms->nkeys);
	foreach(lc, keys)
	{
		Form_pg_attribute att;

		resolve_shared(ms, &ms->keys[i], lfirst(lc), "key");
		att = TupleDescAttr(tdesc, ms->keys[i].tattnum - 1);
		if (att->attgenerated || att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("key column \"%s\" of target %s is computed by the database",
							ms->keys[i].name, ms->tname),
					 errdetail("elt_scd2_merge inserts the key of every new version; a generated or GENERATED ALWAYS identity column cannot be inserted.")));
		i++;
	}

	foreach(lc, tracked)
	{
		MergeCol	dummy;

		resolve_shared(ms, &dummy, lfirst(lc), "tracked");
		for (int k = 0; k < ms->nkeys; k++)
			if (strcmp(ms->keys[k].name, lfirst(lc)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is both a key and a tracked column",
								(char *) lfirst(lc))));
	}

	ms->cols = palloc0(sizeof(MergeCol) * tdesc->natts);
	ms->ncols = 0;
	for (int a = 0; a < tdesc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(tdesc, a);
		char	   *name = NameStr(att->attname);
		bool		is_key = false;
		MergeCol   *col;

		if (att->attisdropped || is_validity(name) ||
			scd2_find_column(ms->source, name) == NULL)
			continue;
		for (int k = 0; k < ms->nkeys; k++)
			is_key |= (strcmp(ms->keys[k].name, name) == 0);
		if (is_key)
			continue;
		if (att->attgenerated || att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
			continue;
		col = &ms->cols[ms->ncols++];
		resolve_shared(ms, col, name, "copied");
		col->tracked = track_all;
		foreach(lc, tracked)
		{
			if (strcmp(lfirst(lc), name) == 0)
				col->tracked = true;
		}
		ms->ntracked += col->tracked;
	}

	/* a tracked generated column would have been missed above */
	foreach(lc, tracked)
	{
		bool		found = false;

		for (int c = 0; c < ms->ncols; c++)
			found |= (strcmp(ms->cols[c].name, lfirst(lc)) == 0);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("tracked column \"%s\" of target %s is computed by the database",
							(char *) lfirst(lc), ms->tname)));
	}

	for (int k = 0; k < ms->nkeys + ms->ncols; k++)
	{
		MergeCol   *col = k < ms->nkeys ? &ms->keys[k] : &ms->cols[k - ms->nkeys];

		if (!can_coerce_type(1, &col->stype, &col->ttype, COERCION_ASSIGNMENT))
			scd2_no_assignment_cast(ms, col);
	}
	check_width(ms);
}

/* Sets a planner GUC until AtEOXact_GUC(true, nest) (like a SET clause). */
void
scd2_set_planner_option(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

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
		/* not folded into the plan: estimating each of many TIDs is slow */
		p->params[1].pflags = 0;
		p->params[1].ptype = TIDARRAYOID;
	}
	return p;
}

/*
 * Runs a write statement; $1 = as_of, $2 = tid[] when tids are given, in
 * batches that keep each array well below the 1 GB datum limit.
 */
#define TID_BATCH	(1 << 20)

static uint64 run_write_batch(MergeState *ms, const char *sql, ItemPointerData *tids, int64 ntids);

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

/* The error for an as_of before the newest boundary, which it reports. */
void
scd2_as_of_error(MergeState *ms)
{
	bool		isnull;
	bool		ro;
	TimestampTz newest;

	ro = scd2_begin_read();
	if (SPI_execute(psprintf("SELECT pg_catalog.max(GREATEST(valid_from, valid_to)) FROM ONLY %s",
							 ms->tname), ro, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	scd2_end_read(ro);
	newest = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("as_of %s is earlier than the newest version boundary %s in target %s",
					pstrdup(timestamptz_to_str(ms->as_of)),
					pstrdup(timestamptz_to_str(newest)), ms->tname),
			 errhint("Merge snapshots in time order: as_of must be at or after the latest valid_from and valid_to already written.")));
}

/*
 * Does a version read by a heap scan have a boundary after as_of?  When
 * skip_current, current versions (valid_to NULL: one bit in the header) are
 * left to the diff pass, which sees all of them in a full join, so only
 * closed versions are deformed.
 */
static bool
heap_boundary_after(MergeState *ms, bool skip_current)
{
	TupleDesc	desc = RelationGetDescr(ms->target);
	AttrNumber	vf = scd2_find_column(ms->target, "valid_from")->attnum;
	AttrNumber	vt = scd2_find_column(ms->target, "valid_to")->attnum;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;
	bool		ro = scd2_begin_read();
	uint64		n = 0;

	/* the snapshot a read-write SPI statement would take */
	if (!ro)
		PushActiveSnapshot(GetTransactionSnapshot());
	scan = table_beginscan(ms->target, GetActiveSnapshot(), 0, NULL);
	while (!found && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d;

		if ((++n & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		if (heap_attisnull(tup, vt, desc))
		{
			if (skip_current)
				continue;
		}
		else
		{
			d = heap_getattr(tup, vt, desc, &isnull);
			found = DatumGetTimestampTz(d) > ms->as_of;
			ms->closed_at_as_of |= DatumGetTimestampTz(d) == ms->as_of;
		}
		d = heap_getattr(tup, vf, desc, &isnull);
		found |= !isnull && DatumGetTimestampTz(d) > ms->as_of;
	}
	table_endscan(scan);
	PopActiveSnapshot();
	return found;
}

/*
 * Can an index find "valid_from > t OR valid_to > t" without reading the
 * table?  Yes when both columns are searchable: a column of a BRIN index, or
 * the leading column of another index (complete ones only).  A BRIN index on
 * (valid_from, valid_to), as elt_raw has, answers in a few blocks: versions
 * are appended in time order.
 */
static bool
validity_indexed(MergeState *ms)
{
	AttrNumber	vf = scd2_find_column(ms->target, "valid_from")->attnum;
	AttrNumber	vt = scd2_find_column(ms->target, "valid_to")->attnum;
	bool		has_vf = false;
	bool		has_vt = false;
	List	   *indexes = RelationGetIndexList(ms->target);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = idx->rd_index;
		int			ncols = idx->rd_rel->relam == BRIN_AM_OID ? form->indnkeyatts : 1;

		if (form->indisvalid && form->indisready &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL))
		{
			for (int i = 0; i < ncols; i++)
			{
				has_vf |= form->indkey.values[i] == vf;
				has_vt |= form->indkey.values[i] == vt;
			}
		}
		index_close(idx, AccessShareLock);
	}
	list_free(indexes);
	return has_vf && has_vt;
}

/*
 * as_of may not go back before any version boundary already written.  A
 * heap target is checked by a scan in C (see heap_boundary_after), unless
 * indexes can answer; under row-level security, for another table access
 * method, or with such indexes, by an existence probe in SQL (serial: it
 * usually finds nothing).
 */
static void
check_as_of(MergeState *ms)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(ms->as_of)};
	SPIPlanPtr	plan;
	bool		ro;
	bool		isnull;
	Datum		after;

	ms->current_in_diff = false;
	if (ms->target->rd_tableam == GetHeapamTableAmRoutine() &&
		check_enable_rls(RelationGetRelid(ms->target), InvalidOid, true) != RLS_ENABLED &&
		!validity_indexed(ms))
	{
		ms->current_in_diff = ms->invalidate;
		if (heap_boundary_after(ms, ms->current_in_diff))
			scd2_as_of_error(ms);
		return;
	}
	/* NULL: no boundary at or after as_of; true: one after it */
	plan = SPI_prepare(psprintf("SELECT pg_catalog.bool_or(valid_from OPERATOR(pg_catalog.>) $1 "
								"OR valid_to OPERATOR(pg_catalog.>) $1) FROM ONLY %s "
								"WHERE valid_from OPERATOR(pg_catalog.>) $1 "
								"OR valid_to OPERATOR(pg_catalog.>=) $1", ms->tname),
					   1, argtypes);
	ro = scd2_begin_read();
	if (plan == NULL || SPI_execute_plan(plan, args, NULL, ro, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	scd2_end_read(ro);
	after = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull && DatumGetBool(after))
		scd2_as_of_error(ms);
	ms->closed_at_as_of = !isnull;
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

/*
 * Reads must see every merge committed before the lock was granted.  In
 * READ COMMITTED each statement takes a new snapshot (read_only = false).
 * With a transaction snapshot (REPEATABLE READ, SERIALIZABLE) reads use the
 * latest snapshot instead (returns true: run read_only); writes that then
 * miss rows invisible to the transaction fail with a serialization error.
 */
bool
scd2_begin_read(void)
{
	if (!IsolationUsesXactSnapshot())
		return false;
	PushActiveSnapshot(GetLatestSnapshot());
	return true;
}

void
scd2_end_read(bool pushed)
{
	if (pushed)
		PopActiveSnapshot();
}

/*
 * The writes, in an order that never has two current versions of a key at
 * once (the recommended unique index on current rows): close, remove,
 * reopen, rewrite, insert.
 */
static void
apply_changes(MergeState *ms)
{
	StringInfoData buf;
	int64		nnew = ms->counts[OP_INSERT] + ms->counts[OP_UPDATE] - ms->reopened[OP_INSERT];
	int64		nreplace = ms->counts[OP_REPLACE] - ms->reopened[OP_REPLACE];

	if (ms->ndrop > 0)
		scd2_check_priv(ms->target, ms->tname, ACL_DELETE, "DELETE",
						"target (to remove versions that start at as_of)", NULL, 0, 0);
	if (nreplace > 0)
		scd2_check_priv(ms->target, ms->tname, ACL_UPDATE, "UPDATE",
						"target (to rewrite versions that start at as_of)", ms->cols, ms->ncols, 0);
	if (ms->nclose > 0)
		expect_rows(ms, run_write(ms, psprintf("UPDATE ONLY %s SET valid_to = $1 WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)",
											   ms->tname), ms->close_tids, ms->nclose),
					ms->nclose, "closed");
	if (ms->ndrop > 0)
		expect_rows(ms, run_write(ms, psprintf("DELETE FROM ONLY %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)",
											   ms->tname), ms->drop_tids, ms->ndrop),
					ms->ndrop, "removed");
	if (ms->nreopen > 0)
		expect_rows(ms, run_write(ms, psprintf("UPDATE ONLY %s SET valid_to = NULL WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)",
											   ms->tname), ms->reopen_tids, ms->nreopen),
					ms->nreopen, "reopened");
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

Datum
elt_scd2_merge(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MergeState	ms;
	List	   *keys;
	List	   *tracked = NIL;
	char	   *mode;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	static const char *const argnames[] = {"target", "source", "keys", "as_of"};

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", argnames[i])));
	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hard_deletes must not be NULL"),
				 errhint("Use 'ignore' or 'invalidate'.")));

	memset(&ms, 0, sizeof(ms));
	mode = text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (strcmp(mode, "invalidate") == 0)
		ms.invalidate = true;
	else if (strcmp(mode, "ignore") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hard_deletes value \"%s\"", mode),
				 errhint("Use 'ignore' (missing keys stay current) or 'invalidate' (their current version is closed at as_of).")));
	ms.as_of = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(ms.as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));
	keys = name_list(PG_GETARG_ARRAYTYPE_P(2), "keys");
	if (keys == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keys must name at least one column")));
	if (!PG_ARGISNULL(4))
		tracked = name_list(PG_GETARG_ARRAYTYPE_P(4), "tracked");

	if (PG_GETARG_OID(0) == PG_GETARG_OID(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source and target must be different relations")));
	ms.target = scd2_open_checked(PG_GETARG_OID(0), AccessShareLock, ACL_INSERT, "target");
	ms.tname = qualified_name(ms.target);
	if (ms.target->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target %s is a partitioned table", ms.tname),
				 errhint("Merge into each partition, or into a plain table.")));
	if (ms.target->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("target %s is not a table", ms.tname)));
	ms.source = scd2_open_checked(PG_GETARG_OID(1), AccessShareLock, ACL_SELECT, "source");
	ms.sname = qualified_name(ms.source);
	if (!(ms.source->rd_rel->relkind == RELKIND_RELATION ||
		  ms.source->rd_rel->relkind == RELKIND_VIEW ||
		  ms.source->rd_rel->relkind == RELKIND_MATVIEW ||
		  ms.source->rd_rel->relkind == RELKIND_FOREIGN_TABLE ||
		  ms.source->rd_rel->relkind == RELKIND_PARTITIONED_TABLE))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source %s is not a table or view", ms.sname)));

	resolve_columns(&ms, keys, tracked, PG_ARGISNULL(4));
	scd2_check_privileges(&ms);

	/*
	 * The lock serializes merges into one target (and any other writer)
	 * while letting readers read; taken before anything is read, but only
	 * once the caller is known to hold the privileges the merge needs (a
	 * role that may not write must not queue for it, blocking writers).
	 */
	LockRelationOid(RelationGetRelid(ms.target), ShareRowExclusiveLock);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ms.cxt = CurrentMemoryContext;

	check_as_of(&ms);
	scd2_check_rewrite_priv(&ms);
	scd2_run_diff(&ms);
	scd2_register_spool(&ms);
	scd2_check_new_duplicates(&ms);
	apply_changes(&ms);
	/* the spool may have spilled to a temporary file: close it now */
	tuplestore_end(ms.spool);

	values[0] = Int64GetDatum(ms.counts[OP_INSERT]);
	values[1] = Int64GetDatum(ms.counts[OP_UPDATE] + ms.counts[OP_REPLACE]);
	values[2] = Int64GetDatum(ms.counts[OP_DELETE] + ms.counts[OP_DROP]);
	values[3] = Int64GetDatum(ms.counts[OP_UNCHANGED]);

	SPI_finish();
	table_close(ms.source, NoLock);
	table_close(ms.target, NoLock);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
