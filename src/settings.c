/*
 * settings.c: elt's configuration parameters, defined when the library is
 * loaded.  The prefix "elt." is reserved, so a mistyped name is an error
 * rather than a silently ignored placeholder.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "settings.h"

int			elt_max_generate_rows = 250000000;
int			elt_progress_seconds = 5;

void		_PG_init(void);

/* _PG_init defines elt.max_generate_rows and elt.progress_seconds. */
void
_PG_init(void)
{
	DefineCustomIntVariable("elt.max_generate_rows",
							"Most rows elt_generate may write to elt_raw in one call (0: no limit).",
							"elt_generate estimates the rows before writing and refuses a "
							"population above this; the marts add about as many again.",
							&elt_max_generate_rows,
							250000000, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("elt.progress_seconds",
							"Seconds between the progress NOTICEs of elt_generate, elt_refresh and elt_build_marts.",
							"0 reports every step.",
							&elt_progress_seconds,
							5, 0, 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	MarkGUCPrefixReserved("elt");
}
