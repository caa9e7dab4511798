/*
 * bulk.c: a bulk loader for freshly emptied tables.  Rows go through the
 * table access method's multi-insert path in bounded batches, as COPY FROM
 * does; since the table started empty, its indexes are rebuilt once at the
 * end (a sorted build) rather than maintained row by row.
 *
 * When the table was emptied by a TRUNCATE in the current subtransaction
 * (elt_generate does that), rows are written frozen and their pages marked
 * all-visible, as COPY FREEZE does: no other transaction can see the new
 * file until commit, and the first readers afterwards (a refresh, a BI
 * query) need not set hint bits on millions of rows, nor VACUUM rewrite
 * every page to freeze them.
 *
 * Rows are stored by position, so the table must have exactly the columns
 * the caller produces (checked by name, type and typmod; dropped columns
 * are skipped).  NOT NULL and CHECK constraints are checked per row, as
 * COPY FROM does, unless they are all the caller's own; unique and
 * exclusion constraints when the indexes are built.  What the loader
 * cannot honour (triggers, foreign keys other than the caller's own, extra
 * columns) is refused before a row is written.  It writes through the table
 * access method, not SQL, so it checks INSERT privilege itself and refuses
 * row-level security, as COPY FROM does.
 *
 * Batches hold at most 1000 rows or 64 kB, so memory stays flat whatever the
 * row count.  WAL is written as for any insert.  As with COPY FREEZE, a
 * transaction whose snapshot predates the commit sees the frozen rows once
 * it commits (TRUNCATE alone would show it an empty table): neither is
 * MVCC-safe for such old snapshots.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "bulk.h"

#define BATCH_ROWS 1000
#define BATCH_BYTES (64 * 1024)

/* qualified name of a table for messages */
static const char *
qualified(const EltTableSpec *spec)
{
	return quote_qualified_identifier(spec->schema, spec->table);
}

/*
 * check_columns matches the table's live columns to the produced ones by
 * name, type and typmod, and returns the attribute -> column map, or NULL
 * when it is the identity (because rows are stored by position: a wrong
 * type would be stored as garbage or crash the server).
 */
static int *
check_columns(Relation rel, const EltTableSpec *spec)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int		   *map = palloc(sizeof(int) * desc->natts);
	bool	   *seen = palloc0(sizeof(bool) * spec->ncols);
	bool		identity = (desc->natts == spec->ncols);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const EltColumn *col = NULL;
		int			c;

		map[i] = -1;
		if (att->attisdropped)
		{
			identity = false;
			continue;
		}
		for (c = 0; c < spec->ncols; c++)
			if (strcmp(NameStr(att->attname), spec->cols[c].name) == 0)
				break;
		if (c == spec->ncols)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table %s is not one that elt_generate writes",
							NameStr(att->attname), qualified(spec)),
					 errhint("elt_generate loads exactly the columns elt created: drop the column, or keep data of your own in a table of your own.")));
		col = &spec->cols[c];
		if (att->atttypid != col->typid || att->atttypmod != col->typmod)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table %s is of type %s, but elt_generate writes type %s",
							col->name, qualified(spec),
							format_type_with_typemod(att->atttypid, att->atttypmod),
							format_type_with_typemod(col->typid, col->typmod)),
					 errhint("Change the column back to type %s.",
							 format_type_with_typemod(col->typid, col->typmod))));
		if (att->attgenerated)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table %s is a generated column, but elt_generate writes it",
							col->name, qualified(spec))));
		map[i] = c;
		seen[c] = true;
		if (c != i)
			identity = false;
	}
	for (int c = 0; c < spec->ncols; c++)
		if (!seen[c])
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table %s has no column \"%s\" (type %s), which elt_generate writes",
							qualified(spec), spec->cols[c].name,
							format_type_with_typemod(spec->cols[c].typid, spec->cols[c].typmod))));
	pfree(seen);
	if (identity)
	{
		pfree(map);
		return NULL;
	}
	return map;
}

/*
 * check_unhonoured refuses triggers and foreign keys that the loader would
 * skip (rows go to the heap directly, as COPY FROM's would without its
 * trigger calls): only the caller's own keys, which its rows satisfy by
 * construction, are accepted.
 */
static void
check_unhonoured(Relation rel, const EltTableSpec *spec)
{
	ListCell   *lc;

	if (rel->trigdesc)
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];

			if (!t->tgisinternal)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("elt_generate does not fire triggers, and table %s has trigger \"%s\"",
								qualified(spec), t->tgname),
						 errhint("Drop the trigger (or run elt_generate before creating it): the bulk loader writes rows without firing triggers.")));
		}
	foreach(lc, RelationGetFKeyList(rel))
	{
		ForeignKeyCacheInfo *fk = lfirst_node(ForeignKeyCacheInfo, lc);
		bool		own = false;

		for (int k = 0; !own && fk->nkeys == 1 && k < spec->nfkeys; k++)
		{
			const char *col = spec->fkeys[k].column;
			const char *refcol = spec->fkeys[k].refcolumn ? spec->fkeys[k].refcolumn : col;

			own = (spec->fkeys_by_column ||
				   fk->confrelid == get_relname_relid(spec->fkeys[k].reftable, RelationGetNamespace(rel))) &&
				strcmp(get_attname(fk->conrelid, fk->conkey[0], false), col) == 0 &&
				strcmp(get_attname(fk->confrelid, fk->confkey[0], false), refcol) == 0;
		}
		if (!own)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("elt_generate does not check foreign key constraint \"%s\" of table %s",
							get_constraint_name(fk->conoid), qualified(spec)),
					 errhint("Drop the constraint: the bulk loader checks only the foreign keys elt created.")));
	}
}

/*
 * extra_constraints says whether the table has NOT NULL or CHECK
 * constraints beyond those the caller's rows satisfy by construction (NOT
 * NULL on a column never given NULL, the caller's own CHECKs): only then
 * are rows checked one by one (because that costs ~5 % of a load).
 */
static bool
extra_constraints(Relation rel, const EltTableSpec *spec, const int *map)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleConstr *constr = desc->constr;

	if (constr == NULL)
		return false;
	if (constr->has_not_null)
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			int			c = map ? map[i] : i;

			if (att->attnotnull && !att->attisdropped && c >= 0 && spec->cols[c].nulls)
				return true;
		}
	for (int i = 0; i < constr->num_check; i++)
	{
		Oid			conoid = get_relation_constraint_oid(RelationGetRelid(rel),
														 constr->check[i].ccname, false);
		char	   *def = text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_get_constraintdef,
																			 ObjectIdGetDatum(conoid))));
		bool		own = false;

		for (int k = 0; !own && k < spec->nchecks; k++)
			own = strcmp(def, spec->checks[k]) == 0;
		pfree(def);
		if (!own)
			return true;
	}
	return false;
}

/*
 * elt_bulk_check locks the table and refuses it if it cannot be loaded (so
 * that callers can check every table before writing anything); returns its
 * OID.
 */
Oid
elt_bulk_check(const EltTableSpec *spec, LOCKMODE lockmode)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar((char *) spec->schema, (char *) spec->table, -1),
										 lockmode, false);
	Relation	rel = table_open(relid, NoLock);
	int		   *map = check_columns(rel, spec);

	if (map)
		pfree(map);
	check_unhonoured(rel, spec);
	table_close(rel, NoLock);
	return relid;
}

/*
 * elt_bulk_open starts a load of rows with spec's columns into the empty
 * table (or one without indexes, which it appends to), refusing tables it
 * cannot load (see above) before any row.
 */
EltBulk *
elt_bulk_open(const EltTableSpec *spec)
{
	EltBulk    *b = palloc0(sizeof(EltBulk));
	AclResult	acl;
	Oid			relid;

	/* The caller emptied the table; a plain insert lock is enough now. */
	relid = elt_bulk_check(spec, RowExclusiveLock);
	b->rel = table_open(relid, NoLock);
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(b->rel->rd_rel->relkind),
					   RelationGetRelationName(b->rel));
	/* rows bypass policies on this path, as with COPY FROM: refuse */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("bulk load into \"%s\" is not supported with row-level security",
						RelationGetRelationName(b->rel)),
				 errhint("Disable row-level security on the table, or load it as a role that bypasses it.")));
	/* rows are appended only to a table without indexes: nothing to rebuild */
	if (RelationGetNumberOfBlocks(b->rel) != 0 && RelationGetIndexList(b->rel) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bulk load target \"%s\" is not empty", RelationGetRelationName(b->rel))));
	b->natts = RelationGetDescr(b->rel)->natts;
	b->map = check_columns(b->rel, spec);
	/* NOT NULL and CHECK constraints, checked per row as COPY FROM does
	 * (all of them, with its messages) when some may not hold */
	if (extra_constraints(b->rel, spec, b->map))
	{
		b->estate = CreateExecutorState();
		b->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(b->rri, b->rel, 0, NULL, 0);
	}
	b->sink.put = elt_bulk_put;
	b->slots = palloc(sizeof(TupleTableSlot *) * BATCH_ROWS);
	for (int i = 0; i < BATCH_ROWS; i++)
		b->slots[i] = table_slot_create(b->rel, NULL);
	b->bistate = GetBulkInsertState();
	b->cid = GetCurrentCommandId(true);
	/* COPY FREEZE's condition: the file is new in this subtransaction, so
	 * no other transaction can see it before commit */
	if (b->rel->rd_createSubid == GetCurrentSubTransactionId() ||
		b->rel->rd_newRelfilenodeSubid == GetCurrentSubTransactionId())
		b->options |= TABLE_INSERT_FROZEN;
	return b;
}

/* flush writes the buffered rows (because the batch is full, or at the end) */
static void
flush(EltBulk *b)
{
	if (b->nbuffered == 0)
		return;
	table_multi_insert(b->rel, b->slots, b->nbuffered, b->cid, b->options, b->bistate);
	for (int i = 0; i < b->nbuffered; i++)
		ExecClearTuple(b->slots[i]);
	b->nbuffered = 0;
	b->bytes = 0;
	if (b->estate)
		ResetPerTupleExprContext(b->estate);
}

/* elt_bulk_put buffers one row (a sink's put: rows arrive one at a time) */
void
elt_bulk_put(EltSink *sink, Datum *values, bool *nulls)
{
	EltBulk    *b = (EltBulk *) sink;
	TupleTableSlot *slot = b->slots[b->nbuffered];
	int			natts = b->natts;

	ExecClearTuple(slot);
	if (b->map == NULL)
	{
		memcpy(slot->tts_values, values, sizeof(Datum) * natts);
		memcpy(slot->tts_isnull, nulls, sizeof(bool) * natts);
	}
	else
		for (int i = 0; i < natts; i++)
		{
			int			c = b->map[i];

			slot->tts_values[i] = c < 0 ? (Datum) 0 : values[c];
			slot->tts_isnull[i] = c < 0 ? true : nulls[c];
		}
	ExecStoreVirtualTuple(slot);
	if (b->rri)
		ExecConstraints(b->rri, slot, b->estate);
	/* own copy: the caller's row memory is reset after every user */
	ExecMaterializeSlot(slot);
	b->bytes += ((HeapTupleTableSlot *) slot)->tuple->t_len;
	b->rows++;
	if (++b->nbuffered == BATCH_ROWS || b->bytes >= BATCH_BYTES)
		flush(b);
}

/* elt_bulk_close writes what is left and builds the indexes (which checks
 * unique and exclusion constraints); returns the rows written */
int64
elt_bulk_close(EltBulk *b)
{
	ReindexParams params = {0};
	int64		rows = b->rows;

	flush(b);
	FreeBulkInsertState(b->bistate);
	for (int i = 0; i < BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	/*
	 * Index entries were not written row by row: build them now, checking
	 * unique and exclusion constraints (without the flag, a reindex skips
	 * them: a unique index of the user's own would hold duplicates).
	 */
	reindex_relation(RelationGetRelid(b->rel), REINDEX_REL_CHECK_CONSTRAINTS, &params);
	table_close(b->rel, NoLock);
	if (b->estate)
		FreeExecutorState(b->estate);
	if (b->map)
		pfree(b->map);
	pfree(b->slots);
	pfree(b);
	return rows;
}
