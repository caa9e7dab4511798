/*
 * dates.h: civil-calendar arithmetic on day numbers, where day 0 is
 * 2000-01-01 (the same numbering as PostgreSQL's DateADT).  Plain C.
 */
#ifndef ELT_DATES_H
#define ELT_DATES_H

#include <stdint.h>

typedef int32_t EltDay;

extern EltDay elt_day_from_ymd(int y, int m, int d);
extern void elt_ymd_from_day(EltDay day, int *y, int *m, int *d);
extern EltDay elt_add_months(EltDay anchor, int months);

/* 0 = Sunday ... 6 = Saturday; 2000-01-01 was a Saturday. */
static inline int
elt_weekday(EltDay day)
{
	int			w = (day + 6) % 7;

	return w < 0 ? w + 7 : w;
}

#endif
