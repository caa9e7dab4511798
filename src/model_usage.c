/*
 * model_usage.c: the daily usage of one user, a pure function of the user's
 * life and the day.  Whether a user is active on a day depends on the
 * engagement level, the weekday and holidays, an onboarding burst after
 * signup, fading out (free users within weeks, some paying accounts go
 * dormant) and a decline in the weeks before a cancellation.  How much an
 * active day uses is heavy-tailed: a lognormal account size times a
 * lognormal day factor.  Storage is a level, the data the account holds:
 * it grows month by month with the account's use, is sometimes cleaned up,
 * and is capped by the plan's storage limit.
 */
#include <math.h>
#include <stddef.h>

#include "model_priv.h"

#define ONBOARDING_DAYS 7
#define ONBOARDING_ACTIVE 0.55
#define FREE_ACTIVE 0.8			/* free users are a little less active */
#define DECLINE_DAYS 28			/* usage fades over the weeks before a cancellation */
#define DAY_SIGMA 0.45			/* log-sd of an active day's size */
#define STORAGE_SIGMA 0.5		/* log-sd of a month's growth */
#define CLEANUP_CHANCE 0.05		/* chance of a clean-up in a month ... */
#define CLEANUP_FULL 0.35		/* ... and in a month that ends near the limit */

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

/*
 * The storage level of one user, walked month by month from signup (months
 * counted from the signup day), so that the level of any day costs a few
 * steps per month of the user's life rather than a walk over its days: a
 * month's growth is drawn as a whole and spread over its days (more early
 * or late in the month), and a clean-up on a drawn day removes a share of
 * what is held.  Only the plans in force up to the day are read: what a
 * month draws depends on its first day, and its last day is read only once
 * the walk has passed it.
 */
typedef struct StorageWalk
{
	int			month;			/* months since signup */
	EltDay		start;			/* first day of the month */
	EltDay		end;			/* first day of the next month */
	double		level;			/* held at the start of the month */
	double		growth;			/* added during the month */
	double		shape;			/* -1 .. 1: front- or back-loaded within the month */
	double		cut;			/* share removed by its clean-up (0: none) */
	EltDay		cut_day;
} StorageWalk;

/* segment_at is the segment in force on day d, or NULL between subscriptions. */
static const EltSegment *
segment_at(const EltLife *life, EltDay d)
{
	for (int k = life->nsegs - 1; k >= 0; k--)
		if (life->segs[k].start <= d)
			return (life->segs[k].end == ELT_OPEN || d < life->segs[k].end) ? &life->segs[k] : NULL;
	return NULL;
}

/* storage_cap is the storage limit of segment s in MB (-1: unlimited). */
static double
storage_cap(const EltSegment *s)
{
	return s == NULL ? -1.0 : (double) elt_plan(s->plan_id)->storage_limit_mb;
}

/*
 * storage_month draws month w->month from its first day: its growth (none
 * while the user is between subscriptions or no longer uses the product)
 * and its clean-up, likelier when the month would end near the limit.
 */
static void
storage_month(const EltPop *pop, const EltLife *life, StorageWalk *w)
{
	const EltSegment *s = segment_at(life, w->start);
	uint64_t	key = ((uint64_t) (uint32_t) w->month << 8);
	uint64_t	h = elt_uh(pop, E_USAGE, life->index, key | F_CLEANUP);
	double		end,
				cap = storage_cap(s);

	w->growth = 0.0;
	w->shape = 2.0 * (double) ((h >> 48) & 0xffff) / 65536.0 - 1.0;
	if (s != NULL && w->start < s->fade)
	{
		w->growth = elt_storage_rate(life, s) *
			elt_lognormal(elt_uh(pop, E_USAGE, life->index, key | F_STORAGE_MONTH), STORAGE_SIGMA);
		if (w->month == 0)
			w->growth *= ELT_STORAGE_IMPORT;
	}
	end = w->level + w->growth;
	if (cap >= 0.0 && end > cap)
		end = cap;
	w->cut = 0.0;
	if ((double) (h & 0xffff) / 65536.0 < ((cap >= 0.0 && end >= 0.85 * cap) ? CLEANUP_FULL : CLEANUP_CHANCE))
	{
		w->cut = 0.2 + 0.4 * (double) ((h >> 16) & 0xffff) / 65536.0;
		w->cut_day = w->start + (EltDay) ((double) ((h >> 32) & 0xffff) / 65536.0 * (double) (w->end - w->start));
	}
}

/* storage_start puts w at the user's first month. */
static void
storage_start(const EltPop *pop, const EltLife *life, StorageWalk *w)
{
	w->month = 0;
	w->start = life->signup;
	w->end = elt_add_months(life->signup, 1);
	w->level = 0.0;
	storage_month(pop, life, w);
}

/* storage_on is the level held on day d (on or after the walk's month) under segment s. */
static int
storage_on(const EltPop *pop, const EltLife *life, StorageWalk *w, const EltSegment *s, EltDay d)
{
	double		v,
				t,
				cap = storage_cap(s);

	while (d >= w->end)
	{
		/* the level the month ends with, capped by the plan of its last day */
		double		end = w->level + w->growth,
					cap_end = storage_cap(segment_at(life, w->end - 1));

		if (cap_end >= 0.0 && end > cap_end)
			end = cap_end;
		w->level = end * (1.0 - w->cut);
		w->month++;
		w->start = w->end;
		w->end = elt_add_months(life->signup, w->month + 1);
		storage_month(pop, life, w);
	}
	t = (double) (d - w->start + 1) / (double) (w->end - w->start);
	v = w->level + w->growth * (t + w->shape * t * (1.0 - t));
	if (cap >= 0.0 && v > cap)
		v = cap;
	if (w->cut > 0.0 && d >= w->cut_day)
		v *= 1.0 - w->cut;
	/* files come and go within a day: +-2 % */
	v *= 1.0 + 0.02 * elt_normal(elt_uh(pop, E_USAGE, life->index, ((uint64_t) (uint32_t) d << 8) | F_STORAGE));
	if (cap >= 0.0 && v > cap)
		v = cap;
	return (int) (v + 0.5);
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
 * Usage of one user.  The API quota counts per monthly period of each
 * subscription; a user who exhausts it stops producing usage until the next
 * period.  The storage limit caps the level (storage_on).  A period is
 * always walked from its first day, so the rows of a day do not depend on
 * where the caller's range starts.
 */
void
elt_life_usage(const EltPop *pop, const EltLife *life, EltDay from, EltDay to,
			   EltUsageFn fn, void *arg)
{
	double		intensity = elt_level_intensity(life->engagement);
	double		size = life->magnitude;
	double		soft = sqrt(size);	/* actions and minutes vary less than calls */
	StorageWalk walk;

	if (to > life->horizon)
		to = life->horizon;
	storage_start(pop, life, &walk);
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
				u.minutes = 1 + scaled(home->minutes_base, f * soft, elt_uh(pop, E_USAGE, life->index, key | F_MINUTES));
				if (plan->api_limit >= 0 && u.api_calls > api_left)
					u.api_calls = (int) api_left;
				api_left -= u.api_calls;
				if (d >= from)
				{
					u.storage_mb = storage_on(pop, life, &walk, s, d);
					fn(arg, life, &u);
				}
				if (plan->api_limit >= 0 && api_left <= 0)
					break;		/* quota exhausted: silent until the next period */
			}
		}
	}
}
