/*
 * scd2_query.c: the query of elt_scd2_merge's read pass, built, parsed and
 * planned here (scd2_diff.c runs it).
 *
 * A full join (with hard_deletes 'ignore', a left join) of the source
 * against the target's current versions on the keys, each key compared with
 * its type's default equality; when some version was closed at as_of, also
 * a left join of those versions.  The source values are converted as INSERT
 * converts them, by parser hooks rather than casts, so that what the read
 * pass compares is what gets written.  The query runs in the caller's
 * search_path (triggers on the caller's tables may rely on it), so it
 * qualifies every function, operator and type.
 *
 * Join choice: when both the source and the target have a btree index on
 * the keys (on the target, e.g. the recommended index on current versions),
 * the planner is steered to a merge join of the two key-ordered index scans,
 * which on a million keys is about twice as fast as the hash join it would
 * pick; otherwise it chooses.  JIT is off (one pass over simple expressions
 * never pays back the compilation).
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
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "scd2.h"

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

/* Appends ", prefix0, prefix1, ..." up to n - 1 (column aliases). */
static void
append_numbered(StringInfo buf, const char *prefix, int n)
{
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, ", %s%d", prefix, i);
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
 * Appends " kind JOIN" of the target's versions that satisfy where, as
 * alias(_tid[, _vf], _k0.., _t..), to the source s on the keys.
 */
static void
append_target_join(StringInfo buf, MergeState *ms, const char *kind, const char *alias,
				   bool with_vf, const char *where)
{
	appendStringInfo(buf, " %s JOIN (SELECT ctid%s", kind, with_vf ? ", valid_from" : "");
	for (int i = 0; i < ms->nkeys; i++)
		appendStringInfo(buf, ", %s", quote_identifier(ms->keys[i].name));
	append_tracked(buf, ms, "");
	appendStringInfo(buf, " FROM ONLY %s WHERE %s) AS %s(_tid%s", ms->tname, where, alias,
					 with_vf ? ", _vf" : "");
	append_numbered(buf, "_k", ms->nkeys);
	append_tracked_aliases(buf, ms, "");
	appendStringInfoString(buf, ") ON ");
	append_key_join(buf, ms, alias, "s");
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
	append_numbered(&buf, "s._k", ms->nkeys);
	append_numbered(&buf, "s._v", ms->ncols);
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
	append_numbered(&buf, "_k", ms->nkeys);
	append_numbered(&buf, "_v", ms->ncols);
	appendStringInfoChar(&buf, ')');

	/* current target rows, and versions closed at as_of */
	append_target_join(&buf, ms, ms->invalidate ? "FULL" : "LEFT", "c", true,
					   "valid_to IS NULL");
	if (ms->closed_at_as_of)
		append_target_join(&buf, ms, "LEFT", "p", false,
						   "valid_to OPERATOR(pg_catalog.=) $1");
	return buf.data;
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
 * scd2_prepare_diff builds and prepares the read pass's query ($1 = as_of)
 * and sets its planner options, which stay set until the caller's
 * AtEOXact_GUC (because the plan is made when the query runs, with as_of
 * known).
 */
SPIPlanPtr
scd2_prepare_diff(MergeState *ms)
{
	char	   *sql = build_diff_query(ms);
	SPIPrepareOptions popts = {0};
	SPIPlanPtr	plan;

	/*
	 * When both sides can be read in key order through btree indexes, a
	 * merge join of the two ordered scans beats hashing a million rows by a
	 * wide margin (the cache misses of a large hash table are not in the
	 * planner's cost model), so steer the planner to it.  Otherwise the
	 * planner picks, usually a hash join.
	 */
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
	return plan;
}
