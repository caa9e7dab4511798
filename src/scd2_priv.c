/*
 * scd2_priv.c: the privilege checks of elt_scd2_merge, with a clear message
 * (SQLSTATE 42501) before any work.
 *
 * A merge needs SELECT on the source, SELECT / INSERT / UPDATE on the
 * target (column privileges on the columns used suffice), and DELETE only
 * when a version starting at as_of must be removed.  A caller with no
 * INSERT at all on the target, or no SELECT on the source, is refused
 * before the relation is opened; every privilege a merge always needs is
 * checked before the target is locked in SHARE ROW EXCLUSIVE mode, so a
 * role that may not write cannot queue for that lock, blocking writers.
 * Only the privileges to rewrite or remove versions at as_of depend on what
 * the target holds, and are checked once that is known.
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
 * scd2_open_checked opens the target or source (in ACCESS SHARE mode: the
 * target is locked for writing only after scd2_check_privileges).  A
 * relation the caller has no privilege of the kind needed on at all (on the
 * table or on any column) is refused before it is opened (because opening
 * takes a lock).  A regclass given as a number may name no relation at all.
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

/* The caller needs mode on rel or on each column used (cols and validity). */
static void
check_priv(Relation rel, const char *relname, AclMode mode, const char *modename,
		   const char *role, MergeCol *cols, int ncols, int validity)
{
	if (!has_priv(rel, mode, cols, ncols, false, validity))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("elt_scd2_merge needs %s privilege on its %s.", modename, role)));
}

/* Source columns carry target attnums: remap them for check_priv. */
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
	check_priv(ms->source, ms->sname, ACL_SELECT, "SELECT", "source", cols, n, 0);
}

/*
 * scd2_check_privileges checks every privilege a merge always needs, before
 * the target is locked (a role that may not write what the merge writes must
 * not queue for SHARE ROW EXCLUSIVE, making other writers wait behind it):
 * SELECT on the source columns read; on the target SELECT on the keys, tracked and validity
 * columns, INSERT on every column a new version gets, UPDATE on valid_to.
 */
void
scd2_check_privileges(MergeState *ms)
{
	check_source_priv(ms);
	check_priv(ms->target, ms->tname, ACL_SELECT, "SELECT", "target", ms->keys, ms->nkeys,
			   NEED_VALID_FROM | NEED_VALID_TO);
	if (!has_priv(ms->target, ACL_SELECT, ms->cols, ms->ncols, true, 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", ms->tname),
				 errdetail("elt_scd2_merge needs SELECT privilege on the tracked columns of its target.")));
	check_priv(ms->target, ms->tname, ACL_INSERT, "INSERT", "target", ms->keys, ms->nkeys,
			   NEED_VALID_FROM | NEED_VALID_TO);
	check_priv(ms->target, ms->tname, ACL_INSERT, "INSERT", "target", ms->cols, ms->ncols, 0);
	check_priv(ms->target, ms->tname, ACL_UPDATE, "UPDATE", "target", NULL, 0, NEED_VALID_TO);
}

/*
 * scd2_check_rewrite_priv refuses a caller without UPDATE of the copied
 * columns and DELETE when some version starts or ends at as_of (because a
 * merge at that as_of again may rewrite or remove versions): before the
 * read pass rather than after it.  Callers with them skip the probe.
 */
void
scd2_check_rewrite_priv(MergeState *ms)
{
	if (has_priv(ms->target, ACL_UPDATE, ms->cols, ms->ncols, false, 0) &&
		pg_class_aclcheck(RelationGetRelid(ms->target), GetUserId(), ACL_DELETE) == ACLCHECK_OK)
		return;
	if (scd2_read(ms, psprintf("SELECT 1 FROM ONLY %s WHERE valid_from OPERATOR(pg_catalog.=) $1 "
							   "OR valid_to OPERATOR(pg_catalog.=) $1 LIMIT 1", ms->tname),
				  1)->numvals > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", ms->tname),
				 errdetail("Versions of target %s start or end at as_of: merging at that as_of again rewrites or removes them, which needs UPDATE on its copied columns and DELETE on it.",
						   ms->tname)));
}

/*
 * scd2_check_write_priv checks, once the read pass has found them, the
 * privileges of the rare writes at as_of (because only they need DELETE,
 * or UPDATE beyond valid_to): removing versions, rewriting them.
 */
void
scd2_check_write_priv(MergeState *ms)
{
	if (ms->ndrop > 0)
		check_priv(ms->target, ms->tname, ACL_DELETE, "DELETE",
				   "target (to remove versions that start at as_of)", NULL, 0, 0);
	if (ms->counts[OP_REPLACE] - ms->reopened[OP_REPLACE] > 0)
		check_priv(ms->target, ms->tname, ACL_UPDATE, "UPDATE",
				   "target (to rewrite versions that start at as_of)", ms->cols, ms->ncols, 0);
}
