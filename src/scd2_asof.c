/*
 * scd2_asof.c: the as_of check of elt_scd2_merge.  Snapshots must be merged
 * in time order: as_of may not lie before any version boundary (valid_from
 * or valid_to) already written, so no interval is ever inverted.
 *
 * How: a heap target is checked by a scan in C that reads valid_from and
 * valid_to of closed versions only.  A current version is recognised by its
 * NULL valid_to (a bit in the tuple header) and skipped: with hard_deletes
 * 'invalidate' the read pass's full join sees every current version, so its
 * valid_from is checked there (scd2_check_current_as_of reports what it
 * found); with 'ignore' the scan reads every version.  When indexes can
 * answer instead (a BRIN index covering both valid_from and valid_to, as
 * elt_raw.users and elt_raw.subscriptions have, or indexes leading with
 * each), under row-level security, or for another table access method, the
 * check is an SQL probe that sees what the caller's policies let it see;
 * with the BRIN index it reads a few blocks (versions are appended in time
 * order) instead of the whole table.  Either way it also notes whether some
 * version was closed exactly at as_of (a merge at the same as_of again),
 * which the read pass then joins.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "scd2.h"

/* The error for an as_of before the newest boundary, which it reports. */
static void
as_of_error(MergeState *ms)
{
	SPITupleTable *tt;
	bool		isnull;
	TimestampTz newest;

	tt = scd2_read(ms, psprintf("SELECT pg_catalog.max(GREATEST(valid_from, valid_to)) FROM ONLY %s",
								ms->tname), 0);
	newest = DatumGetTimestampTz(SPI_getbinval(tt->vals[0], tt->tupdesc, 1, &isnull));
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
 * the leading column of another index (complete ones only).
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
 * scd2_check_as_of refuses an as_of before a version boundary already
 * written and sets ms->closed_at_as_of; with a heap scan and hard_deletes
 * 'invalidate' it leaves current versions to the read pass
 * (ms->current_in_diff), because its full join sees them all anyway.  The
 * SQL probe is serial: it usually finds nothing.
 */
void
scd2_check_as_of(MergeState *ms)
{
	SPITupleTable *tt;
	bool		isnull;
	Datum		after;

	ms->current_in_diff = false;
	if (ms->target->rd_tableam == GetHeapamTableAmRoutine() &&
		check_enable_rls(RelationGetRelid(ms->target), InvalidOid, true) != RLS_ENABLED &&
		!validity_indexed(ms))
	{
		ms->current_in_diff = ms->invalidate;
		if (heap_boundary_after(ms, ms->current_in_diff))
			as_of_error(ms);
		return;
	}
	/* NULL: no boundary at or after as_of; true: one after it */
	tt = scd2_read(ms, psprintf("SELECT pg_catalog.bool_or(valid_from OPERATOR(pg_catalog.>) $1 "
								"OR valid_to OPERATOR(pg_catalog.>) $1) FROM ONLY %s "
								"WHERE valid_from OPERATOR(pg_catalog.>) $1 "
								"OR valid_to OPERATOR(pg_catalog.>=) $1", ms->tname), 1);
	after = SPI_getbinval(tt->vals[0], tt->tupdesc, 1, &isnull);
	if (!isnull && DatumGetBool(after))
		as_of_error(ms);
	ms->closed_at_as_of = !isnull;
}

/*
 * scd2_check_current_as_of finishes the as_of check after the read pass:
 * a current version starting after as_of that the pass found (ms->future,
 * set only when scd2_check_as_of left current versions to it) is refused
 * with the same error, before anything is written.
 */
void
scd2_check_current_as_of(MergeState *ms)
{
	if (ms->future)
		as_of_error(ms);
}
