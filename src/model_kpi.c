/*
 * model_kpi.c: the company KPIs of elt_mart.fct_kpi_daily, added up user by
 * user while elt_generate walks the population, so that no statement has
 * to sort millions of usage rows to count weekly and monthly active users.
 * Each user adds +1 / -1 (or +MRR / -MRR) on the days something starts and
 * ends; the rows are running sums of those per-day deltas.  The rules are
 * those of elt_build_fct_kpi_daily (33_mart_facts.sql), which builds the
 * same rows from elt_raw in SQL; a test holds the two to each other.
 * Plain C.
 */
#include <string.h>

#include "model_priv.h"

/* counts the user's usage from day lo - ACTIVITY_LOOKBACK (monthly active
 * users look back 30 days) */
#define ACTIVITY_LOOKBACK 30

/* the per-day counters: values of the day, or deltas (D) of running sums */
enum
{
	K_SIGNUPS, K_ACTIVE, K_DPAY, K_CHURN, K_DMRR, K_ACTIONS, K_API, K_STORAGE, K_MINUTES,
	K_DFREE, K_TRIALS, K_CONV, K_NEWPAY, K_REACT, K_DWAU, K_DMAU, K_COUNTERS
};
_Static_assert(K_COUNTERS == ELT_KPI_N, "one array per counter");

/* a paid subscription version's days [s, e) */
typedef struct Span
{
	EltDay		s;
	EltDay		e;
} Span;

/* delta returns the counter of one day, or NULL outside the days kept
 * (a change after the last day reported changes no row). */
static inline int64_t *
delta(EltKpi *k, int counter, EltDay day)
{
	if (day < k->first || day > k->hi)
		return NULL;
	return &k->c[counter][day - k->first];
}

/* add adds v to a day's counter, if the day is kept. */
static inline void
add(EltKpi *k, int counter, EltDay day, int64_t v)
{
	int64_t    *p = delta(k, counter, day);

	if (p)
		*p += v;
}

/* elt_kpi_init starts the KPIs of days [lo, hi]. */
void
elt_kpi_init(EltKpi *k, EltDay lo, EltDay hi, void *(*grow) (void *ptr, size_t size))
{
	memset(k, 0, sizeof(*k));
	k->lo = lo;
	k->hi = hi;
	k->first = lo - ACTIVITY_LOOKBACK;
	k->ndays = hi - k->first + 1;
	k->grow = grow;
	for (int c = 0; c < ELT_KPI_N; c++)
	{
		k->c[c] = grow(NULL, sizeof(int64_t) * k->ndays);
		memset(k->c[c], 0, sizeof(int64_t) * k->ndays);
	}
	k->last_active = ELT_OPEN;
	/* allocated here, so that it lives as long as the counters */
	k->cap_spans = 16;
	k->spans = grow(NULL, sizeof(Span) * k->cap_spans);
}

/* close_active ends the weekly and monthly activity of the user's last
 * active day at the week's (month's) end or at the next active day. */
static void
close_active(EltKpi *k, EltDay next)
{
	EltDay		p = k->last_active;

	if (p == ELT_OPEN)
		return;
	add(k, K_DWAU, next < p + 7 ? next : p + 7, -1);
	add(k, K_DMAU, next < p + 30 ? next : p + 30, -1);
}

/* elt_kpi_usage counts one usage row of the current user (rows in day order). */
void
elt_kpi_usage(EltKpi *k, const EltUsage *u)
{
	add(k, K_ACTIONS, u->day, u->actions);
	add(k, K_API, u->day, u->api_calls);
	add(k, K_STORAGE, u->day, u->storage_mb);
	add(k, K_MINUTES, u->day, u->minutes);
	if (u->day == k->last_active)
		return;					/* a user counts once a day */
	add(k, K_ACTIVE, u->day, 1);
	close_active(k, u->day);
	add(k, K_DWAU, u->day, 1);
	add(k, K_DMAU, u->day, 1);
	k->last_active = u->day;
}

/*
 * elt_kpi_user counts the rest of the current user, after its usage rows:
 * its signup, the MRR and paying days of its paid subscription versions
 * (merged into paying stretches: a stretch's first day is a new or a
 * reactivated paying user, its end a churned one), its days on the Free
 * plan, its trials; then gets ready for the next user.
 */
void
elt_kpi_user(EltKpi *k, const EltLife *life)
{
	EltDay		first_paid = ELT_OPEN;
	int			nspans = 0;

	close_active(k, ELT_OPEN);
	k->last_active = ELT_OPEN;
	if (life->signup >= k->lo)
		add(k, K_SIGNUPS, life->signup, 1);

	if (k->cap_spans < life->nsvers)
	{
		k->cap_spans = life->nsvers * 2;
		k->spans = k->grow(k->spans, sizeof(Span) * k->cap_spans);
	}
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *sv = &life->svers[v];
		const EltSegment *seg = &life->segs[sv->segment];
		EltDay		from = sv->valid_from;
		EltDay		e = elt_span_end(sv);
		Span	   *spans = k->spans;

		/* a version pays its MRR over [valid_from, min(end, valid_to)) */
		if (sv->mrr_cents > 0 && e > from && from < first_paid)
			first_paid = from;
		if (sv->mrr_cents > 0 && (sv->end == ELT_OPEN || sv->end >= k->lo) && from <= k->hi &&
			e >= k->lo && e > from)
		{
			int			i = nspans++;

			add(k, K_DMRR, from > k->lo ? from : k->lo, sv->mrr_cents);
			add(k, K_DMRR, e, -sv->mrr_cents);
			/* kept in (start, end) order for the stretches */
			while (i > 0 && (spans[i - 1].s > from || (spans[i - 1].s == from && spans[i - 1].e > e)))
			{
				spans[i] = spans[i - 1];
				i--;
			}
			spans[i].s = from;
			spans[i].e = e;
		}
		/* on the Free plan over the same days, while active */
		if (elt_plan(seg->plan_id)->monthly_price == 0 && sv->status == ELT_ACTIVE &&
			(sv->valid_to == ELT_OPEN || sv->valid_to >= k->lo) && from <= k->hi && e > from && e > k->lo)
		{
			add(k, K_DFREE, from > k->lo ? from : k->lo, 1);
			add(k, K_DFREE, e, -1);
		}
	}

	/* paying stretches: spans that touch or overlap merge */
	for (int i = 0; i < nspans;)
	{
		const Span *spans = k->spans;
		EltDay		s = spans[i].s;
		EltDay		e = spans[i].e;

		for (i++; i < nspans && spans[i].s <= e; i++)
			if (spans[i].e > e)
				e = spans[i].e;
		add(k, K_DPAY, s > k->lo ? s : k->lo, 1);
		add(k, K_DPAY, e, -1);
		add(k, K_CHURN, e, 1);
		if (s >= k->lo && first_paid <= s)
			add(k, first_paid == s ? K_NEWPAY : K_REACT, s, 1);
	}

	/* trials: started on the subscription's start, converted when the
	 * version starting on the trial's end pays */
	for (int g = 0; g < life->nsegs; g++)
	{
		const EltSegment *seg = &life->segs[g];
		bool		any;
		bool		paid_at_end = elt_trial_converted(life, g, &any);

		if (any && seg->start >= k->lo)
			add(k, K_TRIALS, seg->start, 1);
		if (paid_at_end && seg->trial_end >= k->lo)
			add(k, K_CONV, seg->trial_end, 1);
	}
}

/* elt_kpi_rows hands on the KPIs of every day from lo to hi, in order. */
void
elt_kpi_rows(const EltKpi *k, EltKpiRowFn fn, void *arg)
{
	EltKpiDay	r;
	int64_t		wau = 0,
				mau = 0;

	memset(&r, 0, sizeof(r));
	for (EltDay d = k->first; d <= k->hi; d++)
	{
		int			i = d - k->first;

		wau += k->c[K_DWAU][i];
		mau += k->c[K_DMAU][i];
		if (d < k->lo)
			continue;
		r.day = d;
		r.signups = k->c[K_SIGNUPS][i];
		r.active_users = k->c[K_ACTIVE][i];
		r.paying_users += k->c[K_DPAY][i];
		r.churned_users = k->c[K_CHURN][i];
		r.mrr_cents += k->c[K_DMRR][i];
		r.actions = k->c[K_ACTIONS][i];
		r.api_calls = k->c[K_API][i];
		r.storage_mb = k->c[K_STORAGE][i];
		r.minutes = k->c[K_MINUTES][i];
		r.free_users += k->c[K_DFREE][i];
		r.trials_started = k->c[K_TRIALS][i];
		r.trial_conversions = k->c[K_CONV][i];
		r.new_paying = k->c[K_NEWPAY][i];
		r.reactivations = k->c[K_REACT][i];
		r.wau = wau;
		r.mau = mau;
		fn(arg, &r);
	}
}
