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
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "storage/bufmgr.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
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
/* then the keys, copied values, and current tracked values */
#define DIFF_CURRENT(ms)	(DIFF_KEYS + (ms)->nkeys + (ms)->ncols)
/* then, when ms->closed_at_as_of, the version closed at as_of */
#define DIFF_PREV_TID(ms)	(DIFF_CURRENT(ms) + (ms)->ntracked)

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
 * that what is compared is what gets written.  The column is referenced as
 * src.name and converted by source_columnref below.
 */
static void
append_source_expr(StringInfo buf, MergeCol *col)
{
	appendStringInfo(buf, "src.%s", quote_identifier(col->name));
	if (OidIsValid(col->tcoll) && col->tcoll != col->scoll)
		appendStringInfo(buf, " COLLATE %s", generate_collation_name(col->tcoll));
}

/*
 * Parser hook for the diff query: src.name becomes the source column
 * converted as INSERT converts it (coerce_to_target_type with assignment
 * semantics), not as a CAST would: a value too long for varchar(n) or
 * bit(n) raises an error instead of being truncated, a domain's checks
 * apply, numeric is rounded to the target's scale.
 */
static Node *
source_columnref(ParseState *pstate, ColumnRef *cref)
{
	MergeState *ms = (MergeState *) pstate->p_ref_hook_state;
	PreParseColumnRefHook hook = pstate->p_pre_columnref_hook;
	MergeCol   *col = NULL;
	const char *name;
	Node	   *var;
	Node	   *result;

	if (list_length(cref->fields) != 2 || !IsA(linitial(cref->fields), String) ||
		!IsA(lsecond(cref->fields), String) ||
		strcmp(strVal(linitial(cref->fields)), "src") != 0)
		return NULL;
	name = strVal(lsecond(cref->fields));
	for (int i = 0; i < ms->nkeys && col == NULL; i++)
		if (strcmp(ms->keys[i].name, name) == 0)
			col = &ms->keys[i];
	for (int i = 0; i < ms->ncols && col == NULL; i++)
		if (strcmp(ms->cols[i].name, name) == 0)
			col = &ms->cols[i];
	if (col == NULL)
		return NULL;

	/* the plain column reference, without coming back here */
	pstate->p_pre_columnref_hook = NULL;
	var = transformExpr(pstate, (Node *) cref, pstate->p_expr_kind);
	pstate->p_pre_columnref_hook = hook;
	result = coerce_to_target_type(pstate, var, exprType(var), col->ttype, col->ttypmod,
								   COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (result == NULL)
		scd2_no_assignment_cast(ms, col);
	return result;
}

/* $1 of the diff query: as_of. */
static Node *
as_of_paramref(ParseState *pstate, ParamRef *pref)
{
	Param	   *param;

	if (pref->number != 1)
		return NULL;
	param = makeNode(Param);
	param->paramkind = PARAM_EXTERN;
	param->paramid = 1;
	param->paramtype = TIMESTAMPTZOID;
	param->paramtypmod = -1;
	param->paramcollid = InvalidOid;
	param->location = pref->location;
	return (Node *) param;
}

/* Sets up the parse of the diff query: the two hooks above. */
static void
diff_parser_setup(ParseState *pstate, void *arg)
{
	pstate->p_pre_columnref_hook = source_columnref;
	pstate->p_paramref_hook = as_of_paramref;
	pstate->p_ref_hook_state = arg;
}

/* Appends ", alias.name" for each tracked column. */
static void
append_tracked(StringInfo buf, MergeState *ms, const char *prefix)
{
	for (int i = 0; i < ms->ncols; i++)
		if (ms->cols[i].tracked)
			appendStringInfo(buf, ", %s%s", prefix, quote_identifier(ms->cols[i].name));
}

/* Appends ", _tN" for each tracked column (N: its number among ms->cols). */
static void
append_tracked_aliases(StringInfo buf, MergeState *ms, const char *prefix)
{
	for (int i = 0; i < ms->ncols; i++)
		if (ms->cols[i].tracked)
			appendStringInfo(buf, ", %s_t%d", prefix, i);
}

/* "a._k0 = b._k0 AND ..." with each key type's default equality. */
static void
append_key_join(StringInfo buf, MergeState *ms, const char *a, const char *b)
{
	for (int i = 0; i < ms->nkeys; i++)
	{
		char	   *eq = equality_operator(ms->keys[i].ttype);

		if (eq == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("key column \"%s\" has type %s, which has no equality operator",
							ms->keys[i].name, format_type_be(ms->keys[i].ttype))));
		appendStringInfo(buf, "%s%s._k%d %s %s._k%d", i > 0 ? " AND " : "", a, i, eq, b, i);
	}
}

/*
 * The diff query.  Output (DIFF_* column numbers): the current version's TID
 * and valid_from, whether the source has the key, the source's keys and
 * copied values as the target types them, the current tracked values; when
 * some version was closed at as_of (a merge at the same as_of again), also
 * the TID and tracked values of the key's version closed at as_of, which a
 * corrected snapshot equal to it reopens.
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
	append_tracked_aliases(&buf, ms, "c.");
	if (ms->closed_at_as_of)
	{
		appendStringInfoString(&buf, ", p._tid");
		append_tracked_aliases(&buf, ms, "p.");
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
	append_tracked(&buf, ms, "");
	appendStringInfo(&buf, " FROM ONLY %s WHERE valid_to IS NULL) AS c(_tid, _vf", ms->tname);
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(&buf, ", _k%d", i);
	append_tracked_aliases(&buf, ms, "");
	appendStringInfoString(&buf, ") ON ");
	append_key_join(&buf, ms, "c", "s");

	/* versions closed at as_of */
	if (ms->closed_at_as_of)
	{
		appendStringInfoString(&buf, " LEFT JOIN (SELECT ctid");
		for (int i = 0; i < ms->nkeys; i++)
			appendStringInfo(&buf, ", %s", quote_identifier(ms->keys[i].name));
		append_tracked(&buf, ms, "");
		appendStringInfo(&buf, " FROM ONLY %s WHERE valid_to OPERATOR(pg_catalog.=) $1) AS p(_tid",
						 ms->tname);
		for (int i = 0; i < ms->nkeys; i++)
			appendStringInfo(&buf, ", _k%d", i);
		append_tracked_aliases(&buf, ms, "");
		appendStringInfoString(&buf, ") ON ");
		append_key_join(&buf, ms, "p", "s");
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

void
scd2_run_diff(MergeState *ms)
{
	char	   *sql;
	SPIPrepareOptions popts = {0};
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
	popts.parserSetup = diff_parser_setup;
	popts.parserSetupArg = ms;
	popts.parseMode = RAW_PARSE_DEFAULT;
	popts.cursorOptions = CURSOR_OPT_PARALLEL_OK;
	plan = SPI_prepare_extended(sql, &popts);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_extended failed: %s", SPI_result_code_string(SPI_result));
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
