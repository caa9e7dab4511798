/* bulk.h: bulk loader into an empty table (see bulk.c). */
#ifndef ELT_BULK_H
#define ELT_BULK_H

#include "access/heapam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"

#include "elt.h"

/* A column the caller produces: its name, type and typmod, in row order,
 * and whether the caller ever gives it a NULL. */
typedef struct EltColumn
{
	const char *name;
	Oid			typid;
	int32		typmod;
	bool		nulls;
} EltColumn;

/* A foreign key the caller's rows satisfy by construction (or that the
 * caller checks afterwards): a column that references a column of a table
 * in the same schema, the same-named one unless refcolumn says. */
typedef struct EltForeignKey
{
	const char *column;
	const char *reftable;
	const char *refcolumn;		/* NULL: column */
} EltForeignKey;

/* What the caller writes into one table. */
typedef struct EltTableSpec
{
	const char *schema;
	const char *table;
	const EltColumn *cols;
	int			ncols;
	const EltForeignKey *fkeys;
	int			nfkeys;
	/* CHECK constraints the caller's rows satisfy by construction, as
	 * pg_get_constraintdef() gives them */
	const char *const *checks;
	int			nchecks;
	/* a Citus shard: its keys reference shards of reference tables, named
	 * by shard id, so a key is recognised by its columns alone */
	bool		fkeys_by_column;
} EltTableSpec;

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
	int			natts;			/* attributes of the table, dropped ones too */
	int		   *map;			/* attribute -> produced column, -1: dropped;
								 * NULL when the identity */
	EState	   *estate;			/* for NOT NULL and CHECK constraints */
	ResultRelInfo *rri;			/* NULL when the table has none */
} EltBulk;

extern Oid	elt_bulk_check(const EltTableSpec *spec, LOCKMODE lockmode);
extern EltBulk *elt_bulk_open(const EltTableSpec *spec);
extern void elt_bulk_put(EltSink *sink, Datum *values, bool *nulls);
extern int64 elt_bulk_close(EltBulk *b);

#endif
