/* names_priv.h: the name lists of names_data.c, for names.c only. */
#ifndef ELT_NAMES_PRIV_H
#define ELT_NAMES_PRIV_H

#include "names.h"

#define ELT_NAME_REGIONS 6

/* one region's names, each list in popularity order */
typedef struct EltNamePool
{
	const char *const *first;
	int			nfirst;
	const char *const *last;
	int			nlast;
} EltNamePool;

typedef struct EltNamePair
{
	const char *first;
	const char *last;
} EltNamePair;

extern const EltNamePool elt_name_pools[ELT_NAME_REGIONS];
extern const EltNamePair elt_blocked_names[];
extern const int elt_n_blocked_names;

#endif
