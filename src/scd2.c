/*
 * scd2.c: elt_scd2_merge(), a generic SCD2 merge of a snapshot (any table or
 * view) into a history table with [valid_from, valid_to) versions.
 *
 * One read pass does all the comparing: a single (parallel-capable) hash join
 * of the source against the current target rows, classified in SQL and
 * streamed into a C DestReceiver.  The receiver counts unchanged rows, keeps
 * the TIDs of versions to close and spools rows that need a new version into
 * a tuplestore (spills past work_mem).  Duplicate and NULL keys are caught in
 * the same pass.  Then, with nothing written before every check has passed,
 * a few statements do the writes: close by TID, insert the spooled rows
 * (exposed to SQL as an ephemeral named relation).  All SQL is built from
 * catalog names with quote_identifier and runs as the caller, so ordinary
 * privileges, RLS and triggers apply.  It runs in the caller's search_path
 * (which triggers may rely on), so every function, operator and type in it
 * is schema-qualified: nothing planted in a schema of that path can be
 * picked instead.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "nodes/primnodes.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "tcop/dest.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/queryenvironment.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(elt_scd2_merge);

/* What the diff query says about one row (its first column). */
#define OP_UNCHANGED	0
#define OP_INSERT		1		/* new key: open a version */
#define OP_UPDATE		2		/* changed: close current, open new */
#define OP_DELETE		3		/* gone: close current */
#define OP_REPLACE		4		/* changed, current starts at as_of: rewrite it */
#define OP_DROP			5		/* gone, current starts at as_of: remove it */

#define ENR_NAME "elt_scd2_changes"

/* A column the merge uses: its number and type on each side. */
typedef struct MergeCol
{
	char	   *name;
	AttrNumber	tattnum;
	Oid			ttype;
	int32		ttypmod;
	Oid			stype;
	int32		stypmod;
	bool		tracked;
} MergeCol;

typedef struct MergeState
{
	Relation	target;
	Relation	source;
	char	   *tname;			/* quoted, schema-qualified */
	char	   *sname;
	int			nkeys;
	MergeCol   *keys;
	int			ncols;			/* non-key columns copied from the source */
	MergeCol   *cols;
	bool		invalidate;
	TimestampTz as_of;

	/* filled by the diff receiver */
	MemoryContext cxt;
	TupleDesc	desc;
	Tuplestorestate *spool;		/* OP_INSERT, OP_UPDATE, OP_REPLACE rows */
	int64		counts[6];
	ItemPointerData *close_tids;	/* OP_UPDATE, OP_DELETE */
	int64		nclose;
	ItemPointerData *drop_tids; /* OP_DROP */
	int64		ndrop;
	int64		cap_close;
	int64		cap_drop;
	uint8	   *seen;			/* bitmap over target TIDs, for duplicates */
	BlockNumber nblocks;
} MergeState;

typedef struct DiffReceiver
{
	DestReceiver pub;
	MergeState *ms;
} DiffReceiver;

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

static Form_pg_attribute
find_column(Relation rel, const char *name)
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
	Form_pg_attribute tatt = find_column(ms->target, name);
	Form_pg_attribute satt = find_column(ms->source, name);

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
	col->stype = satt->atttypid;
	col->stypmod = satt->atttypmod;
}

static void
check_validity_column(MergeState *ms, const char *name)
{
	Form_pg_attribute att = find_column(ms->target, name);

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
		resolve_shared(ms, &ms->keys[i++], lfirst(lc), "key");

	foreach(lc, tracked)
	{
		MergeCol	dummy;

		resolve_shared(ms, &dummy, lfirst(lc), "tracked");
		/* names are C strings, not nodes: compare them as such */
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
			find_column(ms->source, name) == NULL)
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
}

/*
 * The caller needs the privilege on the whole table or on each column used;
 * checked here so the error is clear and comes before any work.
 */
#define NEED_VALID_FROM	1
#define NEED_VALID_TO	2

static void
check_priv(Relation rel, const char *relname, AclMode mode, const char *modename,
		   const char *role, MergeCol *cols, int ncols, int validity)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			user = GetUserId();
	bool		ok = true;

	if (pg_class_aclcheck(relid, user, mode) == ACLCHECK_OK)
		return;
	for (int i = 0; i < ncols && ok; i++)
		ok = pg_attribute_aclcheck(relid, cols[i].tattnum, user, mode) == ACLCHECK_OK;
	if (ok && (validity & NEED_VALID_FROM))
		ok = pg_attribute_aclcheck(relid, find_column(rel, "valid_from")->attnum,
								   user, mode) == ACLCHECK_OK;
	if (ok && (validity & NEED_VALID_TO))
		ok = pg_attribute_aclcheck(relid, find_column(rel, "valid_to")->attnum,
								   user, mode) == ACLCHECK_OK;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("elt_scd2_merge needs %s privilege on its %s.", modename, role)));
}

/* Source columns carry target attnums only for check_priv: remap them. */
static void
check_source_priv(MergeState *ms)
{
	int			n = ms->nkeys + ms->ncols;
	MergeCol   *cols = palloc(sizeof(MergeCol) * n);

	for (int i = 0; i < n; i++)
	{
		cols[i] = i < ms->nkeys ? ms->keys[i] : ms->cols[i - ms->nkeys];
		cols[i].tattnum = find_column(ms->source, cols[i].name)->attnum;
	}
	check_priv(ms->source, ms->sname, ACL_SELECT, "SELECT", "source", cols, n, 0);
}

/* "OPERATOR(schema.=)" for the default equality of a type, or NULL. */
static char *
equality_operator(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *result;

	if (!OidIsValid(tc->eq_opr))
		return NULL;
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tup);
	return result;
}

/* The source value as the target stores it, so compare what gets written. */
static void
append_source_expr(StringInfo buf, MergeCol *col)
{
	if (col->stype == col->ttype && col->stypmod == col->ttypmod)
		appendStringInfo(buf, "src.%s", quote_identifier(col->name));
	else
		appendStringInfo(buf, "CAST(src.%s AS %s)", quote_identifier(col->name),
						 format_type_extended(col->ttype, col->ttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY));
}

/*
 * "Changed" for one tracked column: NULL to value and value to NULL are
 * changes, NULL to NULL is not.  Types without an equality operator are
 * compared by their text form.
 */
static void
append_changed(StringInfo buf, MergeCol *col, int i)
{
	char	   *eq = equality_operator(col->ttype);
	char	   *t = psprintf("c._t%d", i);
	char	   *s = psprintf("s._v%d", i);

	if (eq == NULL)
	{
		t = psprintf("CAST(%s AS pg_catalog.text)", t);
		s = psprintf("CAST(%s AS pg_catalog.text)", s);
		eq = "OPERATOR(pg_catalog.=)";
	}
	appendStringInfo(buf, "(%s IS NULL) OPERATOR(pg_catalog.<>) (%s IS NULL) OR NOT (%s %s %s)",
					 t, s, t, eq, s);
}

/*
 * The diff query.  Output: _op, _tid, _k1.._kn, _v1.._vm (key and copied
 * values as the target types them).  $1 is as_of.
 */
static char *
build_diff_query(MergeState *ms)
{
	StringInfoData buf;
	bool		any_tracked = false;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT CASE WHEN c._tid IS NULL THEN 1 ");
	if (ms->invalidate)
		appendStringInfoString(&buf,
							   "WHEN s._p IS NULL THEN CASE WHEN c._vf OPERATOR(pg_catalog.=) $1 THEN 5 ELSE 3 END ");
	appendStringInfoString(&buf, "WHEN ");
	for (int i = 0; i < ms->ncols; i++)
	{
		if (!ms->cols[i].tracked)
			continue;
		if (any_tracked)
			appendStringInfoString(&buf, " OR ");
		append_changed(&buf, &ms->cols[i], i);
		any_tracked = true;
	}
	if (!any_tracked)
		appendStringInfoString(&buf, "false");
	appendStringInfoString(&buf,
						   " THEN CASE WHEN c._vf OPERATOR(pg_catalog.=) $1 THEN 4 ELSE 2 END ELSE 0 END AS _op, c._tid");
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", s._k%d", i);
	for (int i = 0; i < ms->ncols; i++)
		appendStringInfo(&buf, ", s._v%d", i);

	/* source side */
	appendStringInfoString(&buf, " FROM (SELECT true");
	for (int i = 0; i < ms->nkeys; i++)
	{
		appendStringInfoString(&buf, ", ");
		append_source_expr(&buf, &ms->keys[i]);
	}
	for (int i = 0; i < ms->ncols; i++)
	{
		appendStringInfoString(&buf, ", ");
		append_source_expr(&buf, &ms->cols[i]);
	}
	appendStringInfo(&buf, " FROM %s src) AS s(_p", ms->sname);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", _k%d", i);
	for (int i = 0; i < ms->ncols; i++)
		appendStringInfo(&buf, ", _v%d", i);

	/* current target rows */
	appendStringInfo(&buf, ") %s JOIN (SELECT ctid, valid_from",
					 ms->invalidate ? "FULL" : "LEFT");
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", %s", quote_identifier(ms->keys[i].name));
	for (int i = 0; i < ms->ncols; i++)
		if (ms->cols[i].tracked)
			appendStringInfo(&buf, ", %s", quote_identifier(ms->cols[i].name));
	appendStringInfo(&buf, " FROM ONLY %s WHERE valid_to IS NULL) AS c(_tid, _vf", ms->tname);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", _k%d", i);
	for (int i = 0; i < ms->ncols; i++)
		if (ms->cols[i].tracked)
			appendStringInfo(&buf, ", _t%d", i);
	appendStringInfoString(&buf, ") ON ");
	for (int i = 0; i < ms->nkeys; i++)
	{
		char	   *eq = equality_operator(ms->keys[i].ttype);

		if (eq == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("key column \"%s\" has type %s, which has no equality operator",
							ms->keys[i].name, format_type_be(ms->keys[i].ttype))));
		appendStringInfo(&buf, "%sc._k%d %s s._k%d", i > 0 ? " AND " : "", i, eq, i);
	}
	return buf.data;
}

static char *
key_names(MergeState *ms)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", quote_identifier(ms->keys[i].name));
	return buf.data;
}

/* "(k1, k2)=(v1, v2)" for error details, from diff output columns. */
static char *
key_text(MergeState *ms, TupleTableSlot *slot)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s)=(", key_names(ms));
	for (int i = 0; i < ms->nkeys; i++)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, 3 + i, &isnull);
		Oid			typout;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(slot->tts_tupleDescriptor, 2 + i)->atttypid,
						  &typout, &varlena);
		appendStringInfo(&buf, "%s%s", i ? ", " : "",
						 isnull ? "null" : OidOutputFunctionCall(typout, d));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static void
push_tid(MergeState *ms, ItemPointerData **arr, int64 *n, int64 *cap, ItemPointer tid)
{
	if (*n == *cap)
	{
		*cap = *cap ? *cap * 2 : 1024;
		*arr = *arr ? repalloc_huge(*arr, sizeof(ItemPointerData) * *cap)
			: MemoryContextAllocHuge(ms->cxt, sizeof(ItemPointerData) * *cap);
	}
	(*arr)[(*n)++] = *tid;
}

static void
diff_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	MergeState *ms = ((DiffReceiver *) self)->ms;
	MemoryContext old = MemoryContextSwitchTo(ms->cxt);

	ms->desc = CreateTupleDescCopy(typeinfo);
	ms->spool = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
}

static bool
diff_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MergeState *ms = ((DiffReceiver *) self)->ms;
	bool		isnull;
	int			op = DatumGetInt32(slot_getattr(slot, 1, &isnull));
	Datum		tidd = slot_getattr(slot, 2, &isnull);
	ItemPointer tid = isnull ? NULL : (ItemPointer) DatumGetPointer(tidd);

	ms->counts[op]++;

	/*
	 * A source key matches at most one current version, so a TID seen twice
	 * means a duplicate key in the source.  Unmatched duplicates are caught
	 * later among the spooled inserts.
	 */
	if (tid != NULL && op != OP_DELETE && op != OP_DROP)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(tid);
		uint64		bit = (uint64) blk * MaxHeapTuplesPerPage +
			ItemPointerGetOffsetNumber(tid) - 1;

		if (blk < ms->nblocks)
		{
			if (ms->seen[bit / 8] & (1 << (bit % 8)))
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("source %s has more than one row for a key", ms->sname),
						 errdetail("Key %s appears more than once.", key_text(ms, slot)),
						 errhint("Deduplicate the source: elt_scd2_merge needs one row per key.")));
			ms->seen[bit / 8] |= (1 << (bit % 8));
		}
	}

	switch (op)
	{
		case OP_UNCHANGED:
			break;
		case OP_INSERT:
			for (int i = 0; i < ms->nkeys; i++)
			{
				(void) slot_getattr(slot, 3 + i, &isnull);
				if (isnull)
					ereport(ERROR,
							(errcode(ERRCODE_NOT_NULL_VIOLATION),
							 errmsg("null value in key column \"%s\" of source %s",
									ms->keys[i].name, ms->sname),
							 errdetail("Key %s.", key_text(ms, slot))));
			}
			tuplestore_puttupleslot(ms->spool, slot);
			break;
		case OP_UPDATE:
			push_tid(ms, &ms->close_tids, &ms->nclose, &ms->cap_close, tid);
			tuplestore_puttupleslot(ms->spool, slot);
			break;
		case OP_DELETE:
			push_tid(ms, &ms->close_tids, &ms->nclose, &ms->cap_close, tid);
			break;
		case OP_REPLACE:
			tuplestore_puttupleslot(ms->spool, slot);
			break;
		case OP_DROP:
			push_tid(ms, &ms->drop_tids, &ms->ndrop, &ms->cap_drop, tid);
			break;
		default:
			elog(ERROR, "unexpected diff op %d", op);
	}
	return true;
}

static void
diff_shutdown(DestReceiver *self)
{
}

static void
diff_destroy(DestReceiver *self)
{
}

/* Sets a planner GUC until AtEOXact_GUC(true, nest) (like a SET clause). */
static void
set_planner_option(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

static ParamListInfo
as_of_params(MergeState *ms, Datum tids, bool with_tids)
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

/* Runs a write statement; $1 = as_of, $2 = tid[] when tids given. */
static uint64
run_write(MergeState *ms, const char *sql, ItemPointerData *tids, int64 ntids)
{
	SPIExecuteOptions opts = {0};
	Datum		arr = (Datum) 0;
	int			rc;
	int			nest;

	if (tids != NULL)
	{
		Datum	   *elems = palloc_extended(sizeof(Datum) * ntids, MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < ntids; i++)
			elems[i] = PointerGetDatum(&tids[i]);
		arr = PointerGetDatum(construct_array(elems, ntids, TIDOID,
											  sizeof(ItemPointerData), false,
											  TYPALIGN_SHORT));
	}
	opts.params = as_of_params(ms, arr, tids != NULL);

	/*
	 * Fetching a few percent of the rows by TID is far cheaper than a
	 * sequential scan probing the TID list, though the planner, counting
	 * random page reads, thinks otherwise.
	 */
	nest = NewGUCNestLevel();
	if (tids != NULL)
		set_planner_option("enable_seqscan", "off");
	rc = SPI_execute_extended(sql, &opts);
	AtEOXact_GUC(true, nest);
	if (rc < 0)
		elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * as_of may not go back before any version boundary already written.  An
 * existence probe (serial: it is I/O-bound and usually finds nothing) is
 * cheaper than aggregating; the newest boundary is computed only to report.
 */
static void
check_as_of(MergeState *ms)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(ms->as_of)};
	SPIPlanPtr	plan;
	bool		isnull;
	TimestampTz newest;

	plan = SPI_prepare(psprintf("SELECT 1 FROM ONLY %s WHERE valid_from OPERATOR(pg_catalog.>) $1 "
								"OR valid_to OPERATOR(pg_catalog.>) $1 LIMIT 1", ms->tname),
					   1, argtypes);
	/*
	 * Not read-only: a fresh snapshot, taken after the target's lock was
	 * granted, so a merge that waited for another one sees its versions.
	 */
	if (plan == NULL || SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	if (SPI_processed == 0)
		return;
	if (SPI_execute(psprintf("SELECT pg_catalog.max(GREATEST(valid_from, valid_to)) FROM ONLY %s",
							 ms->tname), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	newest = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("as_of %s is earlier than the newest version boundary %s in target %s",
					pstrdup(timestamptz_to_str(ms->as_of)),
					pstrdup(timestamptz_to_str(newest)), ms->tname),
			 errhint("Merge snapshots in time order: as_of must be at or after the latest valid_from and valid_to already written.")));
}

/* Unmatched rows (new keys) with the same key are duplicates too. */
static void
check_new_duplicates(MergeState *ms)
{
	StringInfoData buf;

	if (ms->counts[OP_INSERT] < 2)
		return;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT pg_catalog.concat_ws(', '");
	/* concat_ws would skip NULLs, but NULL keys were refused already */
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", _k%d", i);
	appendStringInfo(&buf, ") FROM %s WHERE _op OPERATOR(pg_catalog.=) %d GROUP BY ", ENR_NAME, OP_INSERT);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, "%s_k%d", i ? ", " : "", i);
	appendStringInfoString(&buf, " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1");
	if (SPI_execute(buf.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check %s for duplicate keys", ms->sname);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("source %s has more than one row for a key", ms->sname),
				 errdetail("Key (%s)=(%s) appears more than once.", key_names(ms),
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Deduplicate the source: elt_scd2_merge needs one row per key.")));
}

static void
apply_changes(MergeState *ms)
{
	StringInfoData buf;
	uint64		n;

	if (ms->nclose > 0)
	{
		n = run_write(ms, psprintf("UPDATE ONLY %s SET valid_to = $1 WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)",
								   ms->tname), ms->close_tids, ms->nclose);
		if ((int64) n != ms->nclose)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("closed %llu of %lld current versions in target %s",
							(unsigned long long) n, (long long) ms->nclose, ms->tname),
					 errhint("A trigger or row-level security policy may be hiding rows from the update.")));
	}
	if (ms->ndrop > 0)
	{
		check_priv(ms->target, ms->tname, ACL_DELETE, "DELETE", "target (to remove versions that start at as_of)",
				   NULL, 0, 0);
		n = run_write(ms, psprintf("DELETE FROM ONLY %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($2)",
								   ms->tname), ms->drop_tids, ms->ndrop);
		if ((int64) n != ms->ndrop)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("removed %llu of %lld versions in target %s",
							(unsigned long long) n, (long long) ms->ndrop, ms->tname)));
	}
	if (ms->counts[OP_REPLACE] > 0)
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "UPDATE ONLY %s AS t SET ", ms->tname);
		for (int i = 0; i < ms->ncols; i++)
			appendStringInfo(&buf, "%s%s = c._v%d", i ? ", " : "",
							 quote_identifier(ms->cols[i].name), i);
		appendStringInfo(&buf, " FROM %s c WHERE c._op OPERATOR(pg_catalog.=) %d AND t.ctid OPERATOR(pg_catalog.=) c._tid",
						 ENR_NAME, OP_REPLACE);
		n = run_write(ms, buf.data, NULL, 0);
		if ((int64) n != ms->counts[OP_REPLACE])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("replaced %llu of %lld versions in target %s",
							(unsigned long long) n, (long long) ms->counts[OP_REPLACE], ms->tname)));
	}
	if (ms->counts[OP_INSERT] + ms->counts[OP_UPDATE] > 0)
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
		n = run_write(ms, buf.data, NULL, 0);
		if ((int64) n != ms->counts[OP_INSERT] + ms->counts[OP_UPDATE])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("inserted %llu of %lld new versions into target %s",
							(unsigned long long) n,
							(long long) (ms->counts[OP_INSERT] + ms->counts[OP_UPDATE]),
							ms->tname),
					 errhint("A trigger may be skipping rows.")));
	}
}

/*
 * Does rel have a plain btree index whose leading columns are exactly the
 * keys?  On the target, a partial index is fine when its predicate is
 * "valid_to IS NULL" (the recommended index on current versions).
 */
static bool
has_key_index(MergeState *ms, Relation rel, bool is_target)
{
	List	   *indexes;
	ListCell   *lc;
	bool		found = false;

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		return false;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	irel = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index idx = irel->rd_index;
		bool		ok = irel->rd_rel->relam == BTREE_AM_OID && idx->indisvalid &&
			idx->indnkeyatts >= ms->nkeys &&
			heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, NULL);

		for (int i = 0; ok && i < ms->nkeys; i++)
		{
			bool		match = false;

			for (int k = 0; k < ms->nkeys; k++)
			{
				Form_pg_attribute att = find_column(rel, ms->keys[k].name);

				match |= (idx->indkey.values[i] == att->attnum);
			}
			ok = match;
		}
		if (ok && !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, NULL))
		{
			List	   *pred = RelationGetIndexPredicate(irel);
			NullTest   *nt = list_length(pred) == 1 ? linitial(pred) : NULL;

			ok = is_target && nt != NULL && IsA(nt, NullTest) &&
				nt->nulltesttype == IS_NULL && IsA(nt->arg, Var) &&
				((Var *) nt->arg)->varattno == find_column(rel, "valid_to")->attnum;
		}
		index_close(irel, AccessShareLock);
		if (ok)
		{
			found = true;
			break;
		}
	}
	list_free(indexes);
	return found;
}

static void
run_diff(MergeState *ms)
{
	char	   *sql = build_diff_query(ms);
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	SPIPlanPtr	plan;
	SPIExecuteOptions opts = {0};
	DiffReceiver recv;
	int			rc;
	int			nest;

	/* one bit per possible TID; the lock keeps the table from growing */
	ms->nblocks = RelationGetNumberOfBlocks(ms->target);
	ms->seen = MemoryContextAllocHuge(ms->cxt,
									  ((uint64) ms->nblocks * MaxHeapTuplesPerPage + 7) / 8);
	memset(ms->seen, 0, ((uint64) ms->nblocks * MaxHeapTuplesPerPage + 7) / 8);

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = diff_receive;
	recv.pub.rStartup = diff_startup;
	recv.pub.rShutdown = diff_shutdown;
	recv.pub.rDestroy = diff_destroy;
	recv.pub.mydest = DestNone;
	recv.ms = ms;

	/*
	 * When both sides can be read in key order through btree indexes, a
	 * merge join of the two ordered scans beats hashing a million rows by a
	 * wide margin (the cache misses of a large hash table are not in the
	 * planner's cost model), so steer the planner to it.  Otherwise the
	 * planner picks, usually a hash join.
	 */
	nest = NewGUCNestLevel();
	if (has_key_index(ms, ms->source, false) && has_key_index(ms, ms->target, true))
		set_planner_option("enable_hashjoin", "off");
	/* one pass of simple expressions never pays back JIT compilation */
	set_planner_option("jit", "off");
	plan = SPI_prepare_cursor(sql, 1, argtypes, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	opts.params = as_of_params(ms, (Datum) 0, false);
	opts.dest = &recv.pub;
	/* SPI reports SPI_OK_UTILITY for a SELECT sent to a DestNone receiver */
	rc = SPI_execute_plan_extended(plan, &opts);
	AtEOXact_GUC(true, nest);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
}

static void
register_spool(MergeState *ms)
{
	EphemeralNamedRelation enr = palloc0(sizeof(EphemeralNamedRelationData));

	enr->md.name = ENR_NAME;
	enr->md.reliddesc = InvalidOid;
	enr->md.tupdesc = ms->desc;
	enr->md.enrtype = ENR_NAMED_TUPLESTORE;
	enr->md.enrtuples = tuplestore_tuple_count(ms->spool);
	enr->reldata = ms->spool;
	if (SPI_register_relation(enr) != SPI_OK_REL_REGISTER)
		elog(ERROR, "could not register the change set");
}

/*
 * Opens the target or source.  A relation the caller has no privilege of the
 * kind needed on at all (on the table or on any column) is refused before it
 * is locked: a merge must not queue for a strong lock on a table it cannot
 * write, blocking others.  The full check per column comes later.  A regclass
 * given as a number may name no relation at all.
 */
static Relation
open_checked(Oid relid, LOCKMODE lockmode, AclMode mode, const char *role)
{
	char	   *name = get_rel_name(relid);
	Relation	rel;

	if (name != NULL)
		name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
	if (name != NULL &&
		pg_class_aclcheck(relid, GetUserId(), mode) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), mode, ACLMASK_ANY) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name),
				 errdetail("elt_scd2_merge needs %s privilege on its %s.",
						   mode == ACL_INSERT ? "INSERT" : "SELECT", role)));
	rel = name != NULL ? try_table_open(relid, lockmode) : NULL;
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s relation with OID %u does not exist", role, relid)));
	return rel;
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

	/*
	 * The lock serializes merges into one target (and any other writer)
	 * while letting readers read; taken before anything is read.
	 */
	if (PG_GETARG_OID(0) == PG_GETARG_OID(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source and target must be different relations")));
	ms.target = open_checked(PG_GETARG_OID(0), ShareRowExclusiveLock, ACL_INSERT, "target");
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
	ms.source = open_checked(PG_GETARG_OID(1), AccessShareLock, ACL_SELECT, "source");
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

	check_source_priv(&ms);
	check_priv(ms.target, ms.tname, ACL_SELECT, "SELECT", "target", ms.keys, ms.nkeys,
			   NEED_VALID_FROM | NEED_VALID_TO);
	check_priv(ms.target, ms.tname, ACL_INSERT, "INSERT", "target", ms.keys, ms.nkeys,
			   NEED_VALID_FROM | NEED_VALID_TO);
	check_priv(ms.target, ms.tname, ACL_INSERT, "INSERT", "target", ms.cols, ms.ncols, 0);
	check_priv(ms.target, ms.tname, ACL_UPDATE, "UPDATE", "target", NULL, 0, NEED_VALID_TO);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ms.cxt = CurrentMemoryContext;

	check_as_of(&ms);
	run_diff(&ms);
	register_spool(&ms);
	check_new_duplicates(&ms);
	apply_changes(&ms);
	/* close the spool now: a spilled one would be reported as leaked at commit */
	if (SPI_unregister_relation(ENR_NAME) != SPI_OK_REL_UNREGISTER)
		elog(ERROR, "could not unregister the change set");
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
