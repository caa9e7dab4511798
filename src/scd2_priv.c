/*
 * scd2_priv.c: the privilege checks of elt_scd2_merge (scd2.c), all made
 * before anything is locked for writing or read, except those that depend on
 * what the target holds at as_of.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "scd2.h"

/*
 * Opens the target or source (in ACCESS SHARE mode: the target is locked for
 * writing only after scd2_check_privileges).  A relation the caller has no
 * privilege of the kind needed on at all (on the table or on any column) is
 * refused before it is opened.  A regclass given as a number may name no
 * relation at all.
 */
Relation
scd2_open_checked(Oid relid, LOCKMODE lockmode, AclMode mode, const char *role)
{
	char	   *name = get_rel_name(relid);
	Relation	rel;

	if (name != NULL)
		name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
	if (name != NULL &&
		pg_class_aclcheck(relid, GetUserId(), mode) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), mode, ACLMASK_ANY) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name),
				 errdetail("elt_scd2_merge needs %s privilege on its %s.",
						   mode == ACL_INSERT ? "INSERT" : "SELECT", role)));
	rel = name != NULL ? try_table_open(relid, lockmode) : NULL;
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s relation with OID %u does not exist", role, relid)));
	return rel;
}

/*
 * The caller needs the privilege on the whole table or on each column used;
 * checked here so the error is clear and comes before any work.
 */
#define NEED_VALID_FROM	1
#define NEED_VALID_TO	2

/* Has the caller mode on rel or on each column (tracked only: only_tracked)? */
static bool
has_priv(Relation rel, AclMode mode, MergeCol *cols, int ncols, bool only_tracked,
		 int validity)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			user = GetUserId();
	bool		ok = true;

	if (pg_class_aclcheck(relid, user, mode) == ACLCHECK_OK)
		return true;
	for (int i = 0; i < ncols && ok; i++)
		if (cols[i].tracked || !only_tracked)
			ok = pg_attribute_aclcheck(relid, cols[i].tattnum, user, mode) == ACLCHECK_OK;
	if (ok && (validity & NEED_VALID_FROM))
		ok = pg_attribute_aclcheck(relid, scd2_find_column(rel, "valid_from")->attnum,
								   user, mode) == ACLCHECK_OK;
	if (ok && (validity & NEED_VALID_TO))
		ok = pg_attribute_aclcheck(relid, scd2_find_column(rel, "valid_to")->attnum,
								   user, mode) == ACLCHECK_OK;
	return ok;
}

void
scd2_check_priv(Relation rel, const char *relname, AclMode mode, const char *modename,
				const char *role, MergeCol *cols, int ncols, int validity)
{
	if (!has_priv(rel, mode, cols, ncols, false, validity))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("elt_scd2_merge needs %s privilege on its %s.", modename, role)));
}

/* Source columns carry target attnums only for scd2_check_priv: remap them. */
static void
check_source_priv(MergeState *ms)
{
	int			n = ms->nkeys + ms->ncols;
	MergeCol   *cols = palloc(sizeof(MergeCol) * n);

	for (int i = 0; i < n; i++)
	{
		cols[i] = i < ms->nkeys ? ms->keys[i] : ms->cols[i - ms->nkeys];
		cols[i].tattnum = scd2_find_column(ms->source, cols[i].name)->attnum;
	}
	scd2_check_priv(ms->source, ms->sname, ACL_SELECT, "SELECT", "source", cols, n, 0);
}

/*
 * Every privilege a merge always needs, checked before the target is locked
 * (a role that may not write what the merge writes must not queue for SHARE
 * ROW EXCLUSIVE, making other writers wait behind it): SELECT on the source
 * columns read; on the target SELECT on the keys, tracked and validity
 * columns, INSERT on every column a new version gets, UPDATE on valid_to.
 */
void
scd2_check_privileges(MergeState *ms)
{
	check_source_priv(ms);
	scd2_check_priv(ms->target, ms->tname, ACL_SELECT, "SELECT", "target", ms->keys, ms->nkeys,
					NEED_VALID_FROM | NEED_VALID_TO);
	if (!has_priv(ms->target, ACL_SELECT, ms->cols, ms->ncols, true, 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", ms->tname),
				 errdetail("elt_scd2_merge needs SELECT privilege on the tracked columns of its target.")));
	scd2_check_priv(ms->target, ms->tname, ACL_INSERT, "INSERT", "target", ms->keys, ms->nkeys,
					NEED_VALID_FROM | NEED_VALID_TO);
	scd2_check_priv(ms->target, ms->tname, ACL_INSERT, "INSERT", "target", ms->cols, ms->ncols, 0);
	scd2_check_priv(ms->target, ms->tname, ACL_UPDATE, "UPDATE", "target", NULL, 0, NEED_VALID_TO);
}

/*
 * A merge at an as_of some version already starts or ends at may rewrite
 * (UPDATE of the copied columns) or remove (DELETE) versions: a caller
 * without those privileges is refused then, before the read pass, rather
 * than after it.  Callers with them skip the probe.
 */
void
scd2_check_rewrite_priv(MergeState *ms)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(ms->as_of)};
	SPIPlanPtr	plan;
	bool		ro;

	if (has_priv(ms->target, ACL_UPDATE, ms->cols, ms->ncols, false, 0) &&
		pg_class_aclcheck(RelationGetRelid(ms->target), GetUserId(), ACL_DELETE) == ACLCHECK_OK)
		return;
	plan = SPI_prepare(psprintf("SELECT 1 FROM ONLY %s WHERE valid_from OPERATOR(pg_catalog.=) $1 "
								"OR valid_to OPERATOR(pg_catalog.=) $1 LIMIT 1", ms->tname),
					   1, argtypes);
	ro = scd2_begin_read();
	if (plan == NULL || SPI_execute_plan(plan, args, NULL, ro, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validity range of %s", ms->tname);
	scd2_end_read(ro);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", ms->tname),
				 errdetail("Versions of target %s start or end at as_of: merging at that as_of again rewrites or removes them, which needs UPDATE on its copied columns and DELETE on it.",
						   ms->tname)));
}
