/*
 * model_facts.c: what a row of elt_mart.fct_usage_daily adds to a usage row,
 * computed from the life that produced it, so that elt_generate can write
 * the facts in the same pass as elt_raw.usage: the versions of the user and
 * of the subscription valid that day (their ordinals make the dimension
 * keys) and the subscription's monthly quota period with its running
 * totals; and the periods themselves, for elt_mart.fct_usage_period.  The
 * rules are those of elt_build_fct_usage_daily and
 * elt_build_fct_usage_period, which build the same rows from elt_raw in
 * SQL; a test holds the two to each other.  Plain C.
 */
#include "model_priv.h"

/* period_start returns the first day of the quota period of a subscription
 * starting on start that holds day d (start + whole months, clamped to the
 * month's end), or ELT_OPEN before start. */
static EltDay
period_start(EltDay start, EltDay d)
{
	int			ys,
				ms,
				ds,
				yd,
				md,
				dd;
	int			m;
	EltDay		p0;

	if (d < start)
		return ELT_OPEN;
	elt_ymd_from_day(start, &ys, &ms, &ds);
	elt_ymd_from_day(d, &yd, &md, &dd);
	m = (yd - ys) * 12 + md - ms;
	p0 = elt_add_months(start, m);
	return p0 > d ? elt_add_months(start, m - 1) : p0;
}

typedef struct FactWalk
{
	EltUsageFactFn fn;
	EltUsagePeriodFn period_fn;
	void	   *arg;
	EltUsagePeriod p;			/* the period the totals run over */
} FactWalk;

/* close_period hands on the period walked so far, if any. */
static void
close_period(FactWalk *w, const EltLife *life)
{
	if (w->p.active_days > 0 && w->period_fn)
		w->period_fn(w->arg, life, &w->p);
	w->p.active_days = 0;
}

/* one_fact completes a usage row into a fact and hands it on (rows arrive
 * in day order, each subscription's periods one after the other, so the
 * running totals restart when the subscription or the period changes). */
static void
one_fact(void *arg, const EltLife *life, const EltUsage *u)
{
	FactWalk   *w = arg;
	EltUsagePeriod *p = &w->p;
	EltUsageFact f;

	f.usage = u;
	f.user_version = elt_user_version_on(life, u->day);
	f.sub_version = elt_sub_version_on(life, u->segment, u->day);
	f.period_start = period_start(life->segs[u->segment].start, u->day);
	if (f.period_start != ELT_OPEN)
	{
		const EltPlan *plan = elt_plan(life->segs[u->segment].plan_id);

		if (p->active_days == 0 || u->segment != p->segment || f.period_start != p->period_start)
		{
			close_period(w, life);
			p->segment = u->segment;
			p->period_start = f.period_start;
			p->first = f;
			p->api_calls = 0;
			p->storage_peak_mb = 0;
			p->api_exhausted_on = ELT_OPEN;
			p->storage_exhausted_on = ELT_OPEN;
		}
		p->active_days++;
		p->last_day = u->day;
		p->api_calls += u->api_calls;
		if (u->storage_mb > p->storage_peak_mb)
			p->storage_peak_mb = u->storage_mb;
		if (p->api_exhausted_on == ELT_OPEN && plan->api_limit >= 0 && p->api_calls >= plan->api_limit)
			p->api_exhausted_on = u->day;
		if (p->storage_exhausted_on == ELT_OPEN && plan->storage_limit_mb >= 0 &&
			p->storage_peak_mb >= plan->storage_limit_mb)
			p->storage_exhausted_on = u->day;
	}
	f.period_api_calls = p->api_calls;
	f.period_storage_peak_mb = p->storage_peak_mb;
	if (w->fn)
		w->fn(w->arg, life, &f);
}

/*
 * elt_life_usage_facts gives the usage rows of days [from, to] as facts
 * (fn), and the quota periods with usage, each after its last row
 * (period_fn); either may be NULL.  The totals count the rows from "from"
 * on: pass the window's first day for the totals of elt_mart.
 */
void
elt_life_usage_facts(const EltPop *pop, const EltLife *life, EltDay from, EltDay to,
					 EltUsageFactFn fn, EltUsagePeriodFn period_fn, void *arg)
{
	FactWalk	w = {fn, period_fn, arg};

	elt_life_usage(pop, life, from, to, one_fact, &w);
	close_period(&w, life);
}
