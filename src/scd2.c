/*
 * scd2.c: elt_scd2_merge(), a generic SCD2 merge of a snapshot (any table or
 * view) into a history table with [valid_from, valid_to) versions.
 *
 * This file checks the arguments and resolves the columns (keys, copied and
 * tracked columns, each with its type on both sides), then runs the phases
 * in order: privileges (scd2_priv.c), the SHARE ROW EXCLUSIVE lock on the
 * target (it serializes merges into one target while letting readers read),
 * the as_of check (scd2_asof.c), one read pass that finds every change
 * (scd2_diff.c), and once every check has passed the writes (scd2_write.c).
 * Nothing is written before all checks pass.  All SQL is built from catalog
 * names with quote_identifier and runs as the caller, so privileges,
 * row-level security, constraints and triggers apply as to any statement.
 *
 * Cost (scripts/bench.sh scd2: 1M keys, 2 % changed, 0.5 % new, 0.2 %
 * gone, a new session, PostgreSQL's defaults), backend CPU on a shared
 * 2-core VM: 0.07 s the as_of check (10,400 block reads through a ring
 * buffer), 1.2-1.4 s the read pass (a merge join of two index scans;
 * 23,200 block reads, because the target, the snapshot and their indexes,
 * 230MB, do not fit in 128MB of shared buffers), 0.45-0.6 s the writes
 * every tool has to do (closing 22,000 versions, each a non-HOT update
 * since valid_to is in the current-row index's predicate, and inserting
 * 25,000, with index entries; 16,300 block reads).  A new session's first
 * touch of each shared buffer page (33,700 page faults) is about 14 % of
 * it.  With everything in shared buffers the merge took about 1.05 s.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "parser/parse_coerce.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "scd2.h"

PG_FUNCTION_INFO_V1(elt_scd2_merge);

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

/* Is name one of the validity columns the merge maintains itself? */
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

/* The target must have the validity column name, of type timestamptz. */
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

/*
 * citus_merge runs the merge into a Citus table target through
 * elt.elt__scd2_merge_citus (a local copy of the affected keys' versions,
 * merged by elt_scd2_merge, written back) and puts its counts into values,
 * because the merge below addresses versions by ctid, which is per shard,
 * and reads a tuplestore the workers cannot see.  Returns false, doing
 * nothing, when target is not a Citus table (always without Citus).
 */
static bool
citus_merge(FunctionCallInfo fcinfo, Datum *values)
{
	Oid			argtypes[6] = {REGCLASSOID, REGCLASSOID, TEXTARRAYOID, TIMESTAMPTZOID, TEXTARRAYOID, TEXTOID};
	Datum		args[6];
	char		argnulls[6];
	bool		isnull;
	bool		citus;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return false;
	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		argnulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p"
							  " WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)",
							  1, argtypes, args, argnulls, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "elt_scd2_merge: Citus catalog lookup failed");
	citus = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (citus)
	{
		if (SPI_execute_with_args("SELECT * FROM elt.elt__scd2_merge_citus($1, $2, $3, $4, $5, $6)",
								  6, argtypes, args, argnulls, false, 0) != SPI_OK_SELECT
			|| SPI_processed != 1)
			elog(ERROR, "elt_scd2_merge: elt.elt__scd2_merge_citus failed");
		/* bigints: passed by value, so they outlive SPI_finish */
		for (int i = 0; i < 4; i++)
			values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
	}
	SPI_finish();
	return citus;
}

/*
 * elt_scd2_merge(target, source, keys, as_of, tracked, hard_deletes) merges
 * the snapshot in source into the history in target as of as_of and returns
 * one row of counts: inserted, updated, deleted, unchanged keys.
 */
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
	ms.tname = scd2_qualified_name(ms.target);
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
	ms.sname = scd2_qualified_name(ms.source);
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

	if (citus_merge(fcinfo, values))
	{
		table_close(ms.source, NoLock);
		table_close(ms.target, NoLock);
		InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return (Datum) 0;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ms.cxt = CurrentMemoryContext;

	scd2_check_as_of(&ms);
	scd2_check_rewrite_priv(&ms);
	scd2_run_diff(&ms);
	scd2_check_current_as_of(&ms);
	scd2_register_spool(&ms);
	scd2_check_new_duplicates(&ms);
	scd2_check_write_priv(&ms);
	scd2_apply_changes(&ms);
	scd2_close_spool(&ms);

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
