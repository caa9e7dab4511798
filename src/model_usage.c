/*
 * model_usage.c: the daily usage of one user, a pure function of the user's
 * life and the day.  Whether a user is active on a day depends on the
 * engagement level, the weekday and holidays, an onboarding burst after
 * signup, fading out (free users within weeks, some paying accounts go
 * dormant) and a decline in the weeks before a cancellation.  How much an
 * active day uses is heavy-tailed: a lognormal account size times a
 * lognormal day factor.
 */
#include <math.h>
#include <stddef.h>

#include "model_priv.h"

#define ONBOARDING_DAYS 7
#define ONBOARDING_ACTIVE 0.55
#define FREE_ACTIVE 0.8			/* free users are a little less active */
#define DECLINE_DAYS 28			/* usage fades over the weeks before a cancellation */
#define DAY_SIGMA 0.45			/* log-sd of an active day's size */

/* scaled rounds base * factor * (a uniform 0.75 .. 1.25 noise). */
static int
scaled(double base, double factor, uint64_t h)
{
	double		v = base * factor * (0.75 + 0.5 * elt_unit(h));

	return (int) (v + 0.5);
}

/*
 * The holidays (Dec 24-26, Dec 31, Jan 1) a period can meet: it starts in
 * some year and is at most 31 days long.  Day numbers, so that the daily
 * loop needs no calendar arithmetic.
 */
typedef struct Holidays
{
	EltDay		jan1;			/* Jan 1 of the period's first year */
	EltDay		dec24;			/* Dec 24 of that year (Dec 31 = +7, next Jan 1 = +8) */
} Holidays;

/*
 * day_activity is what day d does to everybody's chance to be active: a
 * common shock (news, outages, a launch: sd 6 %) and the summer lull, so
 * that daily active users are not a smooth curve.  Cached by day: it is
 * asked for every user on every day.
 */
static double
day_activity(const EltPop *pop, EltDay d)
{
	static struct
	{
		uint64_t	seed;
		double		seasonality;
		EltDay		day;
		double		value;
	}			cache[1024];
	int			slot = (int) ((uint32_t) d & 1023);
	double		v;
	int			y,
				m,
				dd;

	if (cache[slot].day == d && cache[slot].seed == pop->seed && cache[slot].value > 0.0 &&
		cache[slot].seasonality == pop->params.seasonality)
		return cache[slot].value;
	elt_ymd_from_day(d, &y, &m, &dd);
	v = 1.0 + 0.06 * elt_normal(elt_hash(pop->seed, E_SIGNUPCAL, (uint64_t) d, F_DAYACTIVE));
	if (m == 7 || m == 8)
		v *= 1.0 - 0.08 * pop->params.seasonality;
	cache[slot].seed = pop->seed;
	cache[slot].seasonality = pop->params.seasonality;
	cache[slot].day = d;
	cache[slot].value = v;
	return v;
}

/* active_chance is the chance that the user of segment s is active on day d. */
static double
active_chance(const EltPop *pop, const EltLife *life, const EltSegment *s, EltDay d, EltDay churn_period_start,
			  const Holidays *hol)
{
	double		p = elt_level_active(life->engagement);
	int			wd = elt_weekday(d);

	if (d >= s->fade)
		return 0.0;
	if (s->plan_id == ELT_PLAN_FREE)
		p *= FREE_ACTIVE;
	if (d - life->signup < ONBOARDING_DAYS && p < ONBOARDING_ACTIVE)
		p = ONBOARDING_ACTIVE;
	p *= day_activity(pop, d);
	if (wd == 0 || wd == 6)
		p *= pop->params.weekend_activity;
	else if (d == hol->jan1 || (d >= hol->dec24 && d <= hol->dec24 + 2) || d == hol->dec24 + 7 || d == hol->dec24 + 8)
		p *= 1.0 - (1.0 - ELT_HOLIDAY_ACTIVE) * (pop->params.seasonality < 1.0 ? pop->params.seasonality : 1.0);
	/*
	 * Before a cancellation usage declines, but only within the period that
	 * ends with it: whether a later period churns is not decided before that
	 * period starts, and a row must not depend on how far ahead we look.
	 */
	if (s->churn_day != ELT_OPEN && s->churn_day - d <= DECLINE_DAYS && d >= churn_period_start)
		p *= d >= s->churn_day ? 0.3 : 0.3 + 0.7 * (double) (s->churn_day - d) / (double) DECLINE_DAYS;
	return p;
}

/*
 * Usage of one user.  Quotas (api_limit, storage_limit_mb) count per monthly
 * period of each subscription; a user who exhausts one stops producing usage
 * until the next period.  A period is always walked from its first day, so
 * the rows of a day do not depend on where the caller's range starts.
 */
void
elt_life_usage(const EltPop *pop, const EltLife *life, EltDay from, EltDay to,
			   EltUsageFn fn, void *arg)
{
	double		intensity = elt_level_intensity(life->engagement);
	double		size = life->magnitude;
	double		soft = sqrt(size);	/* storage and minutes vary less than calls */

	if (to > life->horizon)
		to = life->horizon;
	for (int k = 0; k < life->nsegs; k++)
	{
		const EltSegment *s = &life->segs[k];
		const EltPlan *plan = elt_plan(s->plan_id);
		const EltPlan *home = elt_plan(s->home_plan);
		double		step = elt_size_step(s->plan_id, s->home_plan);
		EltDay		last = (s->end == ELT_OPEN || s->end - 1 > to) ? to : s->end - 1;
		EltDay		churn_start = ELT_OPEN;
		/*
		 * No day's chance to be active exceeds this: the level's (or the
		 * onboarding week's), times the largest day shock (1 + 0.06 x
		 * 3.465, elt_normal's bound); weekends, holidays and declines
		 * only lower it.
		 */
		double		bound = elt_level_active(life->engagement) * (s->plan_id == ELT_PLAN_FREE ? FREE_ACTIVE : 1.0);

		if (bound < ONBOARDING_ACTIVE)
			bound = ONBOARDING_ACTIVE;
		bound *= 1.21;

		if (s->start > to || last < from)
			continue;
		/* the start of the period in which the stint is cancelled */
		if (s->churn_day != ELT_OPEN)
			churn_start = s->churn_from;
		for (int m = 0;; m++)
		{
			EltDay		pstart = elt_add_months(s->start, m);
			EltDay		pend = elt_add_months(s->start, m + 1);
			int64_t		api_left = plan->api_limit;
			int64_t		storage_left = plan->storage_limit_mb;
			Holidays	hol;
			int			y,
						mo,
						dd;

			/* a faded user stays away: nothing more to walk in this segment */
			if (pstart > last || pstart >= s->fade)
				break;
			if (pend <= from)
				continue;
			elt_ymd_from_day(pstart, &y, &mo, &dd);
			hol.jan1 = elt_day_from_ymd(y, 1, 1);
			hol.dec24 = elt_day_from_ymd(y, 12, 24);
			for (EltDay d = pstart; d < pend && d <= last && d < s->fade; d++)
			{
				uint64_t	key = ((uint64_t) (uint32_t) d << 8);
				double		f,
							day;
				EltUsage	u;

				double		a = elt_unit(elt_uh(pop, E_USAGE, life->index, key | F_ACTIVE));

				/* most days of most users are idle: the bound decides them without the full chance */
				if (a >= bound || a >= active_chance(pop, life, s, d, churn_start, &hol))
					continue;
				day = elt_lognormal(elt_uh(pop, E_USAGE, life->index, key | F_DAYMAG), DAY_SIGMA);
				/* growth within the period: up to +50 % by its last day */
				f = intensity * step * day * (1.0 + 0.5 * (double) (d - pstart) / (double) (pend - pstart));
				u.day = d;
				u.segment = k;
				u.actions = scaled(home->actions_base, f * soft, elt_uh(pop, E_USAGE, life->index, key | F_ACTIONS));
				u.api_calls = scaled(home->api_base * ELT_API_SCALE, f * size, elt_uh(pop, E_USAGE, life->index, key | F_API));
				u.storage_mb = scaled(home->storage_base_mb, f * soft, elt_uh(pop, E_USAGE, life->index, key | F_STORAGE));
				u.minutes = 1 + scaled(home->minutes_base, f * soft, elt_uh(pop, E_USAGE, life->index, key | F_MINUTES));
				if (plan->api_limit >= 0 && u.api_calls > api_left)
					u.api_calls = (int) api_left;
				if (plan->storage_limit_mb >= 0 && u.storage_mb > storage_left)
					u.storage_mb = (int) storage_left;
				api_left -= u.api_calls;
				storage_left -= u.storage_mb;
				if (d >= from)
					fn(arg, life, &u);
				if ((plan->api_limit >= 0 && api_left <= 0) || (plan->storage_limit_mb >= 0 && storage_left <= 0))
					break;		/* quota exhausted: silent until the next period */
			}
		}
	}
}
