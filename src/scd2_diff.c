/*
 * scd2_diff.c: the one read pass of elt_scd2_merge.  A full (or, when
 * missing keys are ignored, left) join of the source against the current
 * target rows, classified in SQL, streams into a DestReceiver that counts
 * unchanged rows, collects the TIDs of versions to close and spools the rows
 * that need a new version; duplicate and NULL keys are caught on the way.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "storage/bufmgr.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/queryenvironment.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "scd2.h"

typedef struct DiffReceiver
{
	DestReceiver pub;
	MergeState *ms;
} DiffReceiver;

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

/*
 * The source value as the target stores it (type, typmod, collation), so
 * that what is compared is what gets written.
 */
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
	if (OidIsValid(col->tcoll) && col->tcoll != col->scoll)
		appendStringInfo(buf, " COLLATE %s", generate_collation_name(col->tcoll));
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
	appendStringInfoString(&buf, "SELECT CASE WHEN c._tid IS NULL THEN 1 "
						   "WHEN c._vf OPERATOR(pg_catalog.>) $1 THEN 6 ");
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

	if (op < OP_UNCHANGED || op > OP_FUTURE)
		elog(ERROR, "unexpected diff op %d", op);
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
		case OP_FUTURE:
			/* check_as_of rules this out; never write an inverted interval */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("current version of key %s in target %s starts after as_of",
							key_text(ms, slot), ms->tname)));
			break;
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

/* Unmatched rows (new keys) with the same key are duplicates too. */
void
scd2_check_new_duplicates(MergeState *ms)
{
	StringInfoData buf;

	if (ms->counts[OP_INSERT] < 2)
		return;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT pg_catalog.concat_ws(', '");
	/* concat_ws would skip NULLs, but NULL keys were refused already */
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", _k%d", i);
	appendStringInfo(&buf, ") FROM %s WHERE _op = %d GROUP BY ", ENR_NAME, OP_INSERT);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, "%s_k%d", i ? ", " : "", i);
	appendStringInfoString(&buf, " HAVING pg_catalog.count(*) > 1 LIMIT 1");
	if (SPI_execute(buf.data, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check %s for duplicate keys", ms->sname);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("source %s has more than one row for a key", ms->sname),
				 errdetail("Key (%s)=(%s) appears more than once.", key_names(ms),
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Deduplicate the source: elt_scd2_merge needs one row per key.")));
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
				Form_pg_attribute att = scd2_find_column(rel, ms->keys[k].name);

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
				((Var *) nt->arg)->varattno == scd2_find_column(rel, "valid_to")->attnum;
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

void
scd2_run_diff(MergeState *ms)
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
		scd2_set_planner_option("enable_hashjoin", "off");
	/* one pass of simple expressions never pays back JIT compilation */
	scd2_set_planner_option("jit", "off");
	plan = SPI_prepare_cursor(sql, 1, argtypes, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	opts.params = scd2_params(ms, (Datum) 0, false);
	opts.dest = &recv.pub;
	opts.read_only = scd2_begin_read();
	/* SPI reports SPI_OK_UTILITY for a SELECT sent to a DestNone receiver */
	rc = SPI_execute_plan_extended(plan, &opts);
	scd2_end_read(opts.read_only);
	AtEOXact_GUC(true, nest);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
}

void
scd2_register_spool(MergeState *ms)
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
