/*
 * scd2_diff.c: the one read pass of elt_scd2_merge.  A full (or, when
 * missing keys are ignored, left) join of the source against the current
 * target rows streams into a DestReceiver that classifies each row in C,
 * counts unchanged rows, collects the TIDs of versions to close and spools
 * the rows that need a new version; duplicate and NULL keys are caught on
 * the way.
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
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/datum.h"
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

/* Columns of the diff query (0-based), see build_diff_query. */
#define DIFF_TID		0
#define DIFF_VF			1
#define DIFF_PRESENT	2
#define DIFF_KEYS		3

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
 * "Changed" in SQL, for a tracked column whose type has no equality
 * operator: compared by the text form.  NULL to value and value to NULL are
 * changes, NULL to NULL is not.  (Columns with one are compared in C.)
 */
static void
append_changed_as_text(StringInfo buf, int i)
{
	appendStringInfo(buf, "(c._t%d IS NULL) OPERATOR(pg_catalog.<>) (s._v%d IS NULL) OR "
					 "NOT (CAST(c._t%d AS pg_catalog.text) OPERATOR(pg_catalog.=) "
					 "CAST(s._v%d AS pg_catalog.text))", i, i, i, i);
}

/*
 * The diff query.  Output (DIFF_* column numbers): the current version's TID
 * and valid_from, whether the source has the key, the source's keys and
 * copied values as the target types them, then per tracked column the
 * current value (compared in C) or, for a type without an equality operator,
 * whether it changed.
 */
static char *
build_diff_query(MergeState *ms)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT c._tid, c._vf, s._p");
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", s._k%d", i);
	for (int i = 0; i < ms->ncols; i++)
		appendStringInfo(&buf, ", s._v%d", i);
	for (int i = 0; i < ms->ncols; i++)
	{
		if (!ms->cols[i].tracked)
			continue;
		if (OidIsValid(ms->cols[i].eqfunc))
			appendStringInfo(&buf, ", c._t%d", i);
		else
		{
			appendStringInfoString(&buf, ", ");
			append_changed_as_text(&buf, i);
		}
	}

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

/* "(k1, k2)=(v1, v2)" for error details, from a diff query row. */
static char *
key_text(MergeState *ms, TupleTableSlot *slot)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s)=(", key_names(ms));
	for (int i = 0; i < ms->nkeys; i++)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, DIFF_KEYS + 1 + i, &isnull);
		Oid			typout;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(slot->tts_tupleDescriptor, DIFF_KEYS + i)->atttypid,
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

/*
 * The spool holds _op, _tid and the source's keys and values: the columns
 * the write statements read back.
 */
static void
diff_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	MergeState *ms = ((DiffReceiver *) self)->ms;
	MemoryContext old = MemoryContextSwitchTo(ms->cxt);
	int			nout = ms->nkeys + ms->ncols;

	ms->desc = CreateTemplateTupleDesc(2 + nout);
	TupleDescInitEntry(ms->desc, 1, "_op", INT4OID, -1, 0);
	TupleDescCopyEntry(ms->desc, 2, typeinfo, DIFF_TID + 1);
	for (int i = 0; i < nout; i++)
		TupleDescCopyEntry(ms->desc, 3 + i, typeinfo, DIFF_KEYS + 1 + i);
	ms->spool_slot = MakeSingleTupleTableSlot(ms->desc, &TTSOpsVirtual);
	ms->spool = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
}

/*
 * Has a tracked column changed?  NULL to value and value to NULL are
 * changes, NULL to NULL is not; an equality operator returning NULL is no
 * change (as in SQL).  Identical bytes are equal for any type whose
 * equality belongs to a btree or hash operator class (these must be
 * reflexive), which spares calling it (and detoasting) for almost every
 * row; anything else is left to the operator, in the target's collation.
 */
static bool
tracked_changed(MergeState *ms, Datum *values, bool *isnull)
{
	int			src = DIFF_KEYS + ms->nkeys;
	int			cur = src + ms->ncols;

	for (int i = 0; i < ms->ncols; i++)
	{
		MergeCol   *col = &ms->cols[i];
		Datum		result;

		if (!col->tracked)
			continue;
		if (!OidIsValid(col->eqfunc))
		{
			/* compared in SQL, by the text form */
			if (!isnull[cur] && DatumGetBool(values[cur]))
				return true;
		}
		else if (isnull[cur] != isnull[src + i])
			return true;
		else if (!isnull[cur] &&
				 !datumIsEqual(values[cur], values[src + i], col->typbyval, col->typlen))
		{
			LOCAL_FCINFO(fcinfo, 2);

			InitFunctionCallInfoData(*fcinfo, &col->eqflinfo, 2, col->tcoll, NULL, NULL);
			fcinfo->args[0].value = values[cur];
			fcinfo->args[0].isnull = false;
			fcinfo->args[1].value = values[src + i];
			fcinfo->args[1].isnull = false;
			result = FunctionCallInvoke(fcinfo);
			if (!fcinfo->isnull && !DatumGetBool(result))
				return true;
		}
		cur++;
	}
	return false;
}

/* What happens to one row of the diff query: an OP_* code. */
static int
classify(MergeState *ms, Datum *values, bool *isnull)
{
	bool		at_as_of;

	if (isnull[DIFF_TID])
		return OP_INSERT;
	/* a NULL valid_from (no NOT NULL constraint) compares as nothing */
	at_as_of = !isnull[DIFF_VF] && DatumGetTimestampTz(values[DIFF_VF]) == ms->as_of;
	if (!isnull[DIFF_VF] && DatumGetTimestampTz(values[DIFF_VF]) > ms->as_of)
		return OP_FUTURE;
	if (isnull[DIFF_PRESENT])
		return at_as_of ? OP_DROP : OP_DELETE;
	if (tracked_changed(ms, values, isnull))
		return at_as_of ? OP_REPLACE : OP_UPDATE;
	return OP_UNCHANGED;
}

/* Copies a row's op, TID, keys and values into the spool. */
static void
spool_row(MergeState *ms, int op, Datum *values, bool *isnull)
{
	TupleTableSlot *ss = ms->spool_slot;
	int			nout = ms->nkeys + ms->ncols;

	ExecClearTuple(ss);
	ss->tts_values[0] = Int32GetDatum(op);
	ss->tts_isnull[0] = false;
	ss->tts_values[1] = values[DIFF_TID];
	ss->tts_isnull[1] = isnull[DIFF_TID];
	memcpy(ss->tts_values + 2, values + DIFF_KEYS, sizeof(Datum) * nout);
	memcpy(ss->tts_isnull + 2, isnull + DIFF_KEYS, sizeof(bool) * nout);
	ExecStoreVirtualTuple(ss);
	tuplestore_puttupleslot(ms->spool, ss);
}

static bool
diff_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MergeState *ms = ((DiffReceiver *) self)->ms;
	Datum	   *values;
	bool	   *isnull;
	ItemPointer tid;
	int			op;

	slot_getallattrs(slot);
	values = slot->tts_values;
	isnull = slot->tts_isnull;
	tid = isnull[DIFF_TID] ? NULL : (ItemPointer) DatumGetPointer(values[DIFF_TID]);
	op = classify(ms, values, isnull);
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
				if (isnull[DIFF_KEYS + i])
					ereport(ERROR,
							(errcode(ERRCODE_NOT_NULL_VIOLATION),
							 errmsg("null value in key column \"%s\" of source %s",
									ms->keys[i].name, ms->sname),
							 errdetail("Key %s.", key_text(ms, slot))));
			}
			spool_row(ms, op, values, isnull);
			break;
		case OP_UPDATE:
			push_tid(ms, &ms->close_tids, &ms->nclose, &ms->cap_close, tid);
			spool_row(ms, op, values, isnull);
			break;
		case OP_DELETE:
			push_tid(ms, &ms->close_tids, &ms->nclose, &ms->cap_close, tid);
			break;
		case OP_REPLACE:
			spool_row(ms, op, values, isnull);
			break;
		case OP_DROP:
			push_tid(ms, &ms->drop_tids, &ms->ndrop, &ms->cap_drop, tid);
			break;
		case OP_FUTURE:
			/* reported after the pass when check_as_of left it to the diff */
			if (ms->current_in_diff)
			{
				ms->future = true;
				break;
			}
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
	appendStringInfo(&buf, ") FROM %s WHERE _op OPERATOR(pg_catalog.=) %d GROUP BY ", ENR_NAME, OP_INSERT);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, "%s_k%d", i ? ", " : "", i);
	appendStringInfoString(&buf, " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1");
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

/*
 * The default equality of each tracked column's type, called as the
 * operator would be (same function, argument types and collation, and the
 * caller's EXECUTE privilege on it).
 */
static void
prepare_comparisons(MergeState *ms)
{
	for (int i = 0; i < ms->ncols; i++)
	{
		MergeCol   *col = &ms->cols[i];
		TypeCacheEntry *tc;
		Const	   *arg;

		if (!col->tracked)
			continue;
		tc = lookup_type_cache(col->ttype, TYPECACHE_EQ_OPR);
		if (!OidIsValid(tc->eq_opr))
			continue;
		col->eqfunc = get_opcode(tc->eq_opr);
		if (pg_proc_aclcheck(col->eqfunc, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(col->eqfunc));
		fmgr_info_cxt(col->eqfunc, &col->eqflinfo, ms->cxt);
		arg = makeNullConst(col->ttype, col->ttypmod, col->tcoll);
		col->eqflinfo.fn_expr = (Node *) make_opclause(tc->eq_opr, BOOLOID, false,
													   (Expr *) arg, (Expr *) copyObject(arg),
													   InvalidOid, col->tcoll);
		get_typlenbyval(col->ttype, &col->typlen, &col->typbyval);
	}
}

void
scd2_run_diff(MergeState *ms)
{
	char	   *sql;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	SPIPlanPtr	plan;
	SPIExecuteOptions opts = {0};
	DiffReceiver recv;
	int			rc;
	int			nest;

	prepare_comparisons(ms);
	sql = build_diff_query(ms);

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
	if (ms->future)
		scd2_as_of_error(ms);
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
