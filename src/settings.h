/*
 * settings.h: elt's configuration parameters (GUCs), defined in settings.c
 * and read by the files that use them.
 */
#ifndef ELT_SETTINGS_H
#define ELT_SETTINGS_H

extern int	elt_max_generate_rows;	/* elt.max_generate_rows; 0 = no limit */
extern int	elt_progress_seconds;	/* elt.progress_seconds between NOTICEs */

#endif
