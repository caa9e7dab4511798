/*
 * model_signup.c: when users sign up.  A daily intensity (growth trend,
 * weekly cycle, yearly seasons, acquisition campaigns, day-to-day noise) is a
 * pure function of (seed, day); the first 365 days share exactly `users`
 * signups among themselves in proportion to it (binomial splitting of the
 * total, so the count is exact), later days draw a Poisson count from the
 * same intensity.  Users are numbered in signup order, so the users signed
 * up by any day are a prefix of the indices.  The cumulative counts are
 * computed once per population and kept (one population at a time).
 */
#include <math.h>
#include <string.h>

#include <stddef.h>

#include "model_priv.h"

#define FIRST_YEAR 365
#define MAX_DAYS 400000			/* more than the 1,000 years the dates allow */

/* Campaigns: in a 28-day window, one of 3-7 days with probability 1/5. */
#define CAMPAIGN_WINDOW 28
#define CAMPAIGN_SHARE 0.20

static struct
{
	bool		valid;
	uint64_t	seed;
	int32_t		users;
	EltDay		start;
	double		growth;
	double		seasonality;
	double		scale;			/* signups per unit of intensity after year one */
	int32_t		ndays;			/* cum[0 .. ndays-1] are known */
	int64_t		cum[MAX_DAYS];	/* users signed up by start + t */
} cal;

/* Weekly cycle, Sunday first: weekends about half of weekdays. */
static const double weekday_factor[7] = {0.50, 1.00, 1.08, 1.05, 1.00, 0.90, 0.55};

/*
 * Yearly seasons: a dip over the year-end holidays, peaks in January (new
 * budgets) and September (back to work), a slower summer.
 */
static double
season_factor(EltDay d)
{
	int			y,
				m,
				dd;

	elt_ymd_from_day(d, &y, &m, &dd);
	/* (seasonality scales the distance from 1 in intensity below) */
	if ((m == 12 && dd >= 20) || (m == 1 && dd <= 2))
		return 0.75;
	switch (m)
	{
		case 1:
			return 1.25;
		case 2:
			return 1.05;
		case 7:
		case 8:
			return 0.90;
		case 9:
			return 1.25;
		case 12:
			return 0.95;
		default:
			return 1.0;
	}
}

/*
 * elt_signup_campaign returns the factor an acquisition campaign multiplies
 * the signups of day d by (1 when none runs), from (seed, d) alone.
 */
double
elt_signup_campaign(const EltPop *pop, EltDay d)
{
	int64_t		w = (d >= 0 ? d : d - (CAMPAIGN_WINDOW - 1)) / CAMPAIGN_WINDOW;
	uint64_t	h = elt_hash(pop->seed, E_SIGNUPCAL, (uint64_t) w, F_CAMPAIGN);
	EltDay		first,
				len;

	if (elt_unit(h) >= CAMPAIGN_SHARE)
		return 1.0;
	first = (EltDay) (w * CAMPAIGN_WINDOW) + elt_below(h << 16, CAMPAIGN_WINDOW - 10);
	len = 3 + elt_below(h << 24, 5);
	if (d < first || d >= first + len)
		return 1.0;
	return 1.5 + 1.0 * elt_unit(elt_mix64(h));
}

/* intensity is the relative signup rate of day start + t. */
static double
intensity(const EltPop *pop, int32_t t)
{
	EltDay		d = pop->start + t;
	double		noise = 0.8 + 0.4 * elt_unit(elt_hash(pop->seed, E_SIGNUPCAL, (uint64_t) d, F_SIGNUP));

	return (1.0 + pop->params.signup_growth * (double) t / 365.0) * weekday_factor[elt_weekday(d)] *
		(1.0 + pop->params.seasonality * (season_factor(d) - 1.0)) * elt_signup_campaign(pop, d) * noise;
}

/* poisson draws a Poisson(lambda) count: inversion when small, normal when large. */
static int64_t
poisson(double lambda, uint64_t h)
{
	if (lambda < 40.0)
	{
		double		u = elt_unit(h);
		double		p = elt_exp(-lambda);
		double		cdf = p;
		int64_t		k = 0;

		while (u >= cdf && k < 200)
		{
			k++;
			p *= lambda / (double) k;
			cdf += p;
		}
		return k;
	}
	else
	{
		double		x = lambda + sqrt(lambda) * elt_normal(h) + 0.5;

		return x < 0.0 ? 0 : (int64_t) x;
	}
}

/*
 * binomial draws Binomial(n, p): Bernoulli trials when n is small, else a
 * normal or Poisson approximation, always within [0, n].
 */
static int64_t
binomial(int64_t n, double p, uint64_t h)
{
	int64_t		k;

	if (n <= 0 || p <= 0.0)
		return 0;
	if (p >= 1.0)
		return n;
	if (n <= 40)
	{
		k = 0;
		for (int64_t i = 0; i < n; i++)
			if (elt_unit(elt_mix64(h + (uint64_t) i)) < p)
				k++;
		return k;
	}
	if ((double) n * p * (1.0 - p) >= 12.0)
	{
		double		x = (double) n * p + sqrt((double) n * p * (1.0 - p)) * elt_normal(h) + 0.5;

		k = x < 0.0 ? 0 : (int64_t) x;
	}
	else if (p <= 0.5)
		k = poisson((double) n * p, h);
	else
		k = n - poisson((double) n * (1.0 - p), h);
	return k < 0 ? 0 : (k > n ? n : k);
}

/* split shares n signups among days [lo, hi) in proportion to w (prefix sums). */
static void
split(const EltPop *pop, const double *w, int32_t lo, int32_t hi, int64_t n, int64_t *count)
{
	int32_t		mid;
	int64_t		left;

	if (hi - lo == 1)
	{
		count[lo] = n;
		return;
	}
	mid = lo + (hi - lo) / 2;
	left = binomial(n, (w[mid] - w[lo]) / (w[hi] - w[lo]),
					elt_hash(pop->seed, E_SIGNUPCAL, ((uint64_t) lo << 32) | (uint32_t) hi, F_SIGNUP + 1));
	split(pop, w, lo, mid, left, count);
	split(pop, w, mid, hi, n - left, count);
}

/* calendar makes the cache hold pop's counts through day start + t. */
static void
calendar(const EltPop *pop, int32_t t)
{
	if (!cal.valid || cal.seed != pop->seed || cal.users != pop->users || cal.start != pop->start ||
		cal.growth != pop->params.signup_growth || cal.seasonality != pop->params.seasonality)
	{
		double		w[FIRST_YEAR + 1];
		int64_t		count[FIRST_YEAR];

		w[0] = 0.0;
		for (int32_t i = 0; i < FIRST_YEAR; i++)
			w[i + 1] = w[i] + intensity(pop, i);
		split(pop, w, 0, FIRST_YEAR, pop->users, count);
		for (int32_t i = 0; i < FIRST_YEAR; i++)
			cal.cum[i] = (i ? cal.cum[i - 1] : 0) + count[i];
		cal.seed = pop->seed;
		cal.users = pop->users;
		cal.start = pop->start;
		cal.growth = pop->params.signup_growth;
		cal.seasonality = pop->params.seasonality;
		cal.scale = (double) pop->users / w[FIRST_YEAR];
		cal.ndays = FIRST_YEAR;
		cal.valid = true;
	}
	if (t >= MAX_DAYS)
		t = MAX_DAYS - 1;
	while (cal.ndays <= t)
	{
		int32_t		i = cal.ndays;

		cal.cum[i] = cal.cum[i - 1] +
			poisson(cal.scale * intensity(pop, i),
					elt_hash(pop->seed, E_SIGNUPCAL, (uint64_t) (pop->start + i), F_SIGNUP + 2));
		cal.ndays++;
	}
}

/* elt_users_by counts the users signed up by the end of day (a prefix of the indices). */
int64_t
elt_users_by(const EltPop *pop, EltDay day)
{
	int64_t		t = (int64_t) day - pop->start;

	if (t < 0)
		return 0;
	if (t >= MAX_DAYS)
		t = MAX_DAYS - 1;
	calendar(pop, (int32_t) t);
	return cal.cum[t];
}

/*
 * elt_signup_day returns the day user `index` signs up: the first day by
 * which at least `index` users have signed up.
 */
EltDay
elt_signup_day(const EltPop *pop, int64_t index)
{
	int32_t		lo = 0,
				hi;

	calendar(pop, FIRST_YEAR - 1);
	while (cal.cum[cal.ndays - 1] < index && cal.ndays < MAX_DAYS)
		calendar(pop, cal.ndays + FIRST_YEAR - 1);
	if (cal.cum[cal.ndays - 1] < index)
		return pop->start + MAX_DAYS;
	hi = cal.ndays - 1;
	while (lo < hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (cal.cum[mid] >= index)
			hi = mid;
		else
			lo = mid + 1;
	}
	return pop->start + lo;
}
