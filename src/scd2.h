/*
 * scd2.h: the state of one elt_scd2_merge call, shared by the files of the
 * merge, and their prototypes.
 *
 * The files call each other in layers, never back up:
 *   scd2.c        the SQL entry point: arguments, columns, lock, phases
 *   scd2_asof.c   the as_of check (heap scan or SQL probe)
 *   scd2_priv.c   privilege checks
 *   scd2_diff.c   the read pass: classification and the change spool
 *   scd2_query.c  the read pass's query: built, parsed and planned
 *   scd2_write.c  the write statements
 *   scd2_util.c   leaf helpers: column lookup, snapshots, SPI parameters
 * scd2.c calls the others; scd2_diff.c calls scd2_query.c; everything may
 * call scd2_util.c, which calls none of them.
 */
#ifndef ELT_SCD2_H
#define ELT_SCD2_H

#include "access/tupdesc.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/params.h"
#include "nodes/parsenodes.h"
#include "storage/lockdefs.h"
#include "storage/block.h"
#include "storage/itemptr.h"
#include "utils/palloc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* What the diff query says about one row (its first column). */
#define OP_UNCHANGED	0
#define OP_INSERT		1		/* new key: open a version */
#define OP_UPDATE		2		/* changed: close current, open new */
#define OP_DELETE		3		/* gone: close current */
#define OP_REPLACE		4		/* changed, current starts at as_of: rewrite it */
#define OP_DROP			5		/* gone, current starts at as_of: remove it */
#define OP_FUTURE		6		/* current starts after as_of: refused */
#define NUM_OPS			7

/* The spool as the write statements see it (an ephemeral named relation). */
#define ENR_NAME "elt_scd2_changes"

/* Columns of the diff query (0-based), built by scd2_query.c. */
#define DIFF_TID		0
#define DIFF_VF			1
#define DIFF_PRESENT	2
#define DIFF_KEYS		3
/* then the keys, copied values, and current tracked values */
#define DIFF_CURRENT(ms)	(DIFF_KEYS + (ms)->nkeys + (ms)->ncols)
/* then, when ms->closed_at_as_of, the version closed at as_of */
#define DIFF_PREV_TID(ms)	(DIFF_CURRENT(ms) + (ms)->ntracked)

/* A column the merge uses: its number and type on each side. */
typedef struct MergeCol
{
	char	   *name;
	AttrNumber	tattnum;
	Oid			ttype;
	int32		ttypmod;
	Oid			tcoll;
	Oid			stype;
	int32		stypmod;
	Oid			scoll;
	bool		tracked;
	/*
	 * tracked columns: the target type's equality; for a type without one,
	 * its send function (cmp_binary) or else its output function
	 */
	Oid			eqfunc;
	FmgrInfo	eqflinfo;
	FmgrInfo	cmpflinfo;
	bool		cmp_binary;
	int16		typlen;
	bool		typbyval;
} MergeCol;

typedef struct MergeState
{
	Relation	target;
	Relation	source;
	char	   *tname;			/* quoted, schema-qualified */
	char	   *sname;
	int			nkeys;
	MergeCol   *keys;
	int			ncols;			/* non-key columns copied from the source */
	MergeCol   *cols;
	bool		invalidate;
	TimestampTz as_of;
	int			ntracked;
	bool		current_in_diff;	/* the diff checks current valid_from */
	bool		future;			/* it found one after as_of */
	bool		closed_at_as_of;	/* some version has valid_to = as_of */

	/* filled by the diff receiver */
	MemoryContext cxt;
	TupleDesc	desc;			/* of the spool: _op, _tid, _k0.., _v0.. */
	TupleTableSlot *spool_slot;
	Tuplestorestate *spool;		/* OP_INSERT, OP_UPDATE, OP_REPLACE rows */
	int64		counts[NUM_OPS];
	int64		reopened[NUM_OPS];	/* of OP_INSERT, OP_REPLACE: reopen instead */
	MemoryContext cmpcxt;		/* per comparison, reset after each */
	ItemPointerData *close_tids;	/* OP_UPDATE, OP_DELETE */
	int64		nclose;
	ItemPointerData *drop_tids; /* OP_DROP, and versions a reopen replaces */
	int64		ndrop;
	ItemPointerData *reopen_tids;	/* versions closed at as_of to reopen */
	int64		nreopen;
	int64		cap_close;
	int64		cap_drop;
	int64		cap_reopen;
	uint8	   *seen;			/* bitmap over target TIDs, for duplicates */
	BlockNumber nblocks;
} MergeState;

/* scd2_asof.c */
extern void scd2_check_as_of(MergeState *ms);
extern void scd2_check_current_as_of(MergeState *ms);

/* scd2_priv.c */
extern Relation scd2_open_checked(Oid relid, LOCKMODE lockmode, AclMode mode, const char *role);
extern void scd2_check_privileges(MergeState *ms);
extern void scd2_check_rewrite_priv(MergeState *ms);
extern void scd2_check_write_priv(MergeState *ms);

/* scd2_diff.c */
extern void scd2_run_diff(MergeState *ms);
extern void scd2_register_spool(MergeState *ms);
extern void scd2_check_new_duplicates(MergeState *ms);
extern void scd2_close_spool(MergeState *ms);

/* scd2_query.c */
extern SPIPlanPtr scd2_prepare_diff(MergeState *ms);

/* scd2_write.c */
extern void scd2_apply_changes(MergeState *ms);

/* scd2_util.c */
extern char *scd2_qualified_name(Relation rel);
extern Form_pg_attribute scd2_find_column(Relation rel, const char *name);
extern void scd2_no_assignment_cast(MergeState *ms, MergeCol *col) pg_attribute_noreturn();
extern void scd2_set_planner_option(const char *name, const char *value);
extern ParamListInfo scd2_params(MergeState *ms, Datum tids, bool with_tids);
extern bool scd2_begin_read(void);
extern void scd2_end_read(bool pushed);
extern SPITupleTable *scd2_read(MergeState *ms, const char *sql, long tcount);

#endif
