/*
 * scd2_diff.c: the one read pass of elt_scd2_merge, and the change spool it
 * fills.  The diff query (scd2_query.c) streams into a DestReceiver that
 * classifies each row in C (an OP_* code), counts unchanged rows, collects
 * the TIDs of versions to close, remove or reopen, and spools the rows that
 * need a new or rewritten version; the spool is then registered as an
 * ephemeral named relation for the write statements and closed after them.
 *
 * Classification: a tracked column is compared byte for byte first and,
 * only where the bytes differ, with its type's equality operator in the
 * target column's collation (so values equal but stored differently, such
 * as 1.0 and 1.00, or a long value compressed on one side only, stay
 * unchanged, without detoasting or calling the operator for every row).
 * Types without a default equality operator (e.g. json) compare by their
 * binary send form (their text where a type has no send function).
 *
 * Duplicate keys are caught as a target TID matched twice or a repeated new
 * key; NULL keys on the way.  Memory: 6 bytes per TID collected plus one
 * bit per possible tuple slot of the target (about 0.5 % of its size);
 * spooled rows spill to disk past work_mem.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "tcop/dest.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/queryenvironment.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "scd2.h"

typedef struct DiffReceiver
{
	DestReceiver pub;
	MergeState *ms;
} DiffReceiver;

/* "k1, k2": the key columns' names, for error details. */
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

/* Appends tid to a growing TID array (allocated in the merge's context). */
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
 * Do two values of a tracked column differ?  NULL to value and value to
 * NULL are changes, NULL to NULL is not; an equality operator returning NULL
 * is no change (as in SQL).  Identical bytes are equal for any type whose
 * equality belongs to a btree or hash operator class (these must be
 * reflexive), which spares calling it (and detoasting) for almost every
 * row; anything else is left to the operator, in the target's collation.  A
 * type without an equality operator (json, point, ...) is compared by its
 * binary send form, which no setting (extra_float_digits, DateStyle,
 * IntervalStyle, TimeZone, bytea_output) changes; only a type without a
 * send function falls back to its text form.
 */
static bool
value_differs(MergeState *ms, MergeCol *col, Datum a, bool anull, Datum b, bool bnull)
{
	MemoryContext old;
	bool		differs;

	if (anull != bnull)
		return true;
	if (anull || datumIsEqual(a, b, col->typbyval, col->typlen))
		return false;
	old = MemoryContextSwitchTo(ms->cmpcxt);
	if (OidIsValid(col->eqfunc))
	{
		LOCAL_FCINFO(fcinfo, 2);
		Datum		result;

		InitFunctionCallInfoData(*fcinfo, &col->eqflinfo, 2, col->tcoll, NULL, NULL);
		fcinfo->args[0].value = a;
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = b;
		fcinfo->args[1].isnull = false;
		result = FunctionCallInvoke(fcinfo);
		differs = !fcinfo->isnull && !DatumGetBool(result);
	}
	else if (col->cmp_binary)
	{
		bytea	   *x = SendFunctionCall(&col->cmpflinfo, a);
		bytea	   *y = SendFunctionCall(&col->cmpflinfo, b);

		differs = VARSIZE(x) != VARSIZE(y) ||
			memcmp(VARDATA(x), VARDATA(y), VARSIZE(x) - VARHDRSZ) != 0;
	}
	else
		differs = strcmp(OutputFunctionCall(&col->cmpflinfo, a),
						 OutputFunctionCall(&col->cmpflinfo, b)) != 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(ms->cmpcxt);
	return differs;
}

/*
 * Does any tracked value of the source (s._v) differ from the tracked values
 * starting at column other of the row (the current version's, or those of
 * the version closed at as_of)?
 */
static bool
tracked_changed(MergeState *ms, Datum *values, bool *isnull, int other)
{
	int			src = DIFF_KEYS + ms->nkeys;

	for (int i = 0; i < ms->ncols; i++)
	{
		if (!ms->cols[i].tracked)
			continue;
		if (value_differs(ms, &ms->cols[i], values[src + i], isnull[src + i],
						  values[other], isnull[other]))
			return true;
		other++;
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
	if (tracked_changed(ms, values, isnull, DIFF_CURRENT(ms)))
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

/*
 * A source key matches at most one current version (and at most one version
 * closed at as_of), so a TID seen twice means a duplicate key in the source.
 */
static void
check_seen(MergeState *ms, TupleTableSlot *slot, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	uint64		bit = (uint64) blk * MaxHeapTuplesPerPage +
		ItemPointerGetOffsetNumber(tid) - 1;

	if (blk >= ms->nblocks)
		return;
	if (ms->seen[bit / 8] & (1 << (bit % 8)))
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("source %s has more than one row for a key", ms->sname),
				 errdetail("Key %s appears more than once.", key_text(ms, slot)),
				 errhint("Deduplicate the source: elt_scd2_merge needs one row per key.")));
	ms->seen[bit / 8] |= (1 << (bit % 8));
}

/*
 * A merge at the same as_of again: a key whose new values equal those of its
 * version closed at as_of (rewritten to something else, or closed by a
 * delete, by the earlier run) gets that version back, reopened, instead of
 * a second version with the same values starting at as_of; what a single
 * run with this snapshot would have left.  Returns true when it does.
 */
static bool
reopen_previous(MergeState *ms, TupleTableSlot *slot, int op, ItemPointer tid)
{
	Datum	   *values = slot->tts_values;
	bool	   *isnull = slot->tts_isnull;
	int			prev = DIFF_PREV_TID(ms);
	ItemPointer ptid;

	if (!ms->closed_at_as_of || (op != OP_INSERT && op != OP_REPLACE) || isnull[prev])
		return false;
	ptid = (ItemPointer) DatumGetPointer(values[prev]);
	check_seen(ms, slot, ptid);
	if (tracked_changed(ms, values, isnull, prev + 1))
		return false;
	push_tid(ms, &ms->reopen_tids, &ms->nreopen, &ms->cap_reopen, ptid);
	if (op == OP_REPLACE)
		push_tid(ms, &ms->drop_tids, &ms->ndrop, &ms->cap_drop, tid);
	ms->reopened[op]++;
	return true;
}

/* Classifies one row of the diff query and records what it needs. */
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

	/* unmatched duplicates are caught later among the spooled inserts */
	if (tid != NULL && op != OP_DELETE && op != OP_DROP)
		check_seen(ms, slot, tid);
	if (reopen_previous(ms, slot, op, tid))
		return true;

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
			/* reported after the pass when the as_of check left it here */
			if (ms->current_in_diff)
			{
				ms->future = true;
				break;
			}
			/* the as_of check rules this out; never write an inverted interval */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("current version of key %s in target %s starts after as_of",
							key_text(ms, slot), ms->tname)));
			break;
	}
	return true;
}

/* Nothing to do at the end of the query: the spool outlives it. */
static void
diff_shutdown(DestReceiver *self)
{
}

/* Nothing to free: the receiver lives on scd2_run_diff's stack. */
static void
diff_destroy(DestReceiver *self)
{
}

/*
 * scd2_check_new_duplicates refuses a source with two rows for a new key
 * (because unmatched rows, unlike matched ones, share no target TID that
 * could show it); it reads the registered spool.
 */
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
 * The default equality of each tracked column's type, called as the
 * operator would be (same function, argument types and collation, and the
 * caller's EXECUTE privilege on it); for a type without one, its send (or
 * else output) function.
 */
static void
prepare_comparisons(MergeState *ms)
{
	ms->cmpcxt = AllocSetContextCreate(ms->cxt, "elt_scd2_merge comparisons",
									   ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < ms->ncols; i++)
	{
		MergeCol   *col = &ms->cols[i];
		TypeCacheEntry *tc;
		Const	   *arg;

		if (!col->tracked)
			continue;
		get_typlenbyval(col->ttype, &col->typlen, &col->typbyval);
		tc = lookup_type_cache(col->ttype, TYPECACHE_EQ_OPR);
		if (!OidIsValid(tc->eq_opr))
		{
			HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(getBaseType(col->ttype)));
			Oid			func;
			bool		varlena;

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "cache lookup failed for type %u", col->ttype);
			col->cmp_binary = OidIsValid(((Form_pg_type) GETSTRUCT(tup))->typsend);
			ReleaseSysCache(tup);
			if (col->cmp_binary)
				getTypeBinaryOutputInfo(col->ttype, &func, &varlena);
			else
				getTypeOutputInfo(col->ttype, &func, &varlena);
			fmgr_info_cxt(func, &col->cmpflinfo, ms->cxt);
			continue;
		}
		col->eqfunc = get_opcode(tc->eq_opr);
		if (pg_proc_aclcheck(col->eqfunc, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(col->eqfunc));
		fmgr_info_cxt(col->eqfunc, &col->eqflinfo, ms->cxt);
		arg = makeNullConst(col->ttype, col->ttypmod, col->tcoll);
		col->eqflinfo.fn_expr = (Node *) make_opclause(tc->eq_opr, BOOLOID, false,
													   (Expr *) arg, (Expr *) copyObject(arg),
													   InvalidOid, col->tcoll);
	}
}

/*
 * scd2_run_diff runs the read pass: every change is counted, its TIDs
 * collected and its rows spooled in ms; duplicate and NULL keys are refused
 * on the way.  A current version starting after as_of sets ms->future when
 * the as_of check left current versions to this pass.
 */
void
scd2_run_diff(MergeState *ms)
{
	SPIPlanPtr	plan;
	SPIExecuteOptions opts = {0};
	DiffReceiver recv;
	int			rc;
	int			nest;

	prepare_comparisons(ms);
	/* scd2_prepare_diff's planner options last until AtEOXact_GUC below */
	nest = NewGUCNestLevel();
	plan = scd2_prepare_diff(ms);

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

/*
 * scd2_register_spool makes the spool readable by SQL as ENR_NAME (because
 * the write statements and the duplicate check read it).
 */
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

/*
 * scd2_close_spool ends the spool once the writes have read it (because it
 * may have spilled to a temporary file, which should not wait for the end
 * of the transaction).
 */
void
scd2_close_spool(MergeState *ms)
{
	tuplestore_end(ms->spool);
}
