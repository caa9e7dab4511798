/* bulk.h: bulk loader into an empty table (see bulk.c). */
#ifndef ELT_BULK_H
#define ELT_BULK_H

#include "access/heapam.h"
#include "executor/tuptable.h"
#include "utils/relcache.h"

#include "elt.h"

typedef struct EltBulk
{
	EltSink		sink;			/* first: an EltBulk is an EltSink */
	Relation	rel;
	TupleTableSlot **slots;
	int			nbuffered;
	Size		bytes;
	int64		rows;
	BulkInsertState bistate;
	CommandId	cid;
	int			options;		/* table_multi_insert options */
} EltBulk;

extern EltBulk *elt_bulk_open(Oid relid);
extern void elt_bulk_put(EltSink *sink, Datum *values, bool *nulls);
extern int64 elt_bulk_close(EltBulk *b);

#endif
