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
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "bulk.h"

#define BATCH_ROWS 1000
#define BATCH_BYTES (64 * 1024)

EltBulk *
elt_bulk_open(Oid relid)
{
	EltBulk    *b = palloc0(sizeof(EltBulk));
	AclResult	acl;

	/* The caller emptied the table; a plain insert lock is enough now. */
	b->rel = table_open(relid, RowExclusiveLock);
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
	if (RelationGetNumberOfBlocks(b->rel) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bulk load target \"%s\" is not empty", RelationGetRelationName(b->rel))));
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
}

void
elt_bulk_put(EltSink *sink, Datum *values, bool *nulls)
{
	EltBulk    *b = (EltBulk *) sink;
	TupleTableSlot *slot = b->slots[b->nbuffered];
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * natts);
	ExecStoreVirtualTuple(slot);
	/* own copy: the caller's row memory is reset after every user */
	ExecMaterializeSlot(slot);
	b->bytes += ((HeapTupleTableSlot *) slot)->tuple->t_len;
	b->rows++;
	if (++b->nbuffered == BATCH_ROWS || b->bytes >= BATCH_BYTES)
		flush(b);
}

int64
elt_bulk_close(EltBulk *b)
{
	ReindexParams params = {0};
	int64		rows = b->rows;

	flush(b);
	FreeBulkInsertState(b->bistate);
	for (int i = 0; i < BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	/* Index entries were not written row by row: build them now. */
	reindex_relation(RelationGetRelid(b->rel), 0, &params);
	table_close(b->rel, NoLock);
	pfree(b->slots);
	pfree(b);
	return rows;
}
