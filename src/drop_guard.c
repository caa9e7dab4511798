/*
 * drop_guard.c: the ddl_command_start event trigger that removes elt's
 * pg_cron jobs when a command is about to drop the extension.
 *
 * A sql_drop trigger cannot do it: an event trigger that is a member of elt
 * is dropped with it, before sql_drop fires.  At ddl_command_start the
 * trigger still exists, but only the parse tree says what is being dropped,
 * and only a C function can read it.  If the command then fails, its
 * transaction rolls the unscheduling back with everything else.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(elt__drop_guard);

/*
 * name_listed says whether a DROP's list of plain names (extensions,
 * schemas) holds the name (because DROP EXTENSION and DROP SCHEMA name
 * their objects as String nodes).
 */
static bool
name_listed(List *objects, const char *name)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *obj = lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), name) == 0)
			return true;
	}
	return false;
}

/*
 * drops_elt says whether the statement drops extension elt: DROP EXTENSION
 * naming it, DROP SCHEMA ... CASCADE of a schema holding its objects (the
 * cascade reaches a member, and so the extension), or DROP OWNED BY its
 * owner (because those are the commands that can remove an extension).
 */
static bool
drops_elt(Node *stmt, const char *extschema, Oid extowner)
{
	if (IsA(stmt, DropStmt))
	{
		DropStmt   *drop = (DropStmt *) stmt;

		if (drop->removeType == OBJECT_EXTENSION)
			return name_listed(drop->objects, "elt");
		if (drop->removeType == OBJECT_SCHEMA && drop->behavior == DROP_CASCADE)
			return name_listed(drop->objects, extschema)
				|| name_listed(drop->objects, "elt")
				|| name_listed(drop->objects, "elt_raw")
				|| name_listed(drop->objects, "elt_mart");
		return false;
	}
	if (IsA(stmt, DropOwnedStmt))
	{
		ListCell   *lc;

		foreach(lc, ((DropOwnedStmt *) stmt)->roles)
		{
			if (get_rolespec_oid(lfirst(lc), true) == extowner)
				return true;
		}
	}
	return false;
}

/*
 * elt__drop_guard runs elt__drop_guard_jobs() before a command that drops
 * elt, for a caller with the privileges of its owner (anyone else's command
 * fails anyway), because jobs left behind would run, as their owner, any
 * function of elt_refresh's name that someone creates later.
 */
Datum
elt__drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	char	   *extschema;
	Oid			extowner;
	bool		isnull;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("elt__drop_guard() may only be called as an event trigger")));
	trig = (EventTriggerData *) fcinfo->context;

	SPI_connect();
	if (SPI_execute("SELECT n.nspname::pg_catalog.text, e.extowner"
					" FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					" WHERE e.extname OPERATOR(pg_catalog.=) 'elt'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "elt__drop_guard: catalog lookup failed");
	if (SPI_processed == 1)
	{
		extschema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		extowner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2, &isnull));
		if (drops_elt(trig->parsetree, extschema, extowner)
			&& has_privs_of_role(GetUserId(), extowner))
		{
			/* qualified, no arguments: exactly elt's own function */
			if (SPI_execute("SELECT elt.elt__drop_guard_jobs()", false, 0) != SPI_OK_SELECT)
				elog(ERROR, "elt__drop_guard: elt__drop_guard_jobs() failed");
		}
	}
	SPI_finish();
	PG_RETURN_VOID();
}
