/*
 * dates.c: proleptic Gregorian conversions (days-from-civil), and month
 * addition that clamps to the month's last day, anchored on the start day so
 * that a subscription started on the 31st renews on the 28th/30th/31st.
 */
#include "dates.h"

/* Days between 0000-03-01 and 2000-01-01 in the era-based algorithm. */
#define DAYS_0000_03_01_TO_2000_01_01 730425

/* elt_day_from_ymd returns the day number (0 = 2000-01-01) of a civil date. */
EltDay
elt_day_from_ymd(int y, int m, int d)
{
	int			era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - DAYS_0000_03_01_TO_2000_01_01;
}

/* elt_ymd_from_day splits a day number into year, month and day. */
void
elt_ymd_from_day(EltDay day, int *y, int *m, int *d)
{
	int			z = day + DAYS_0000_03_01_TO_2000_01_01;
	int			era = (z >= 0 ? z : z - 146096) / 146097;
	int			doe = z - era * 146097;
	int			yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int			doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int			mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* days_in_month returns the length of a month, leap years included. */
static int
days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/*
 * elt_add_months adds whole months to a day, clamped to the month's last day
 * like date + interval, always from the anchor (so the 31st comes back).
 */
EltDay
elt_add_months(EltDay anchor, int months)
{
	int			y,
				m,
				d,
				total,
				last;

	elt_ymd_from_day(anchor, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	y = total / 12;
	m = total % 12 + 1;
	last = days_in_month(y, m);
	return elt_day_from_ymd(y, m, d > last ? last : d);
}
