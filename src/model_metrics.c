/*
 * model_metrics.c: the monthly SaaS metrics of elt_mart.fct_cohort_retention
 * and fct_saas_metrics_monthly, added up user by user while elt_generate
 * walks the population, so that no statement has to measure every user on
 * every month's last day again.  A user adds its months of
 * fct_mrr_monthly (model_mrr.c) to the months' sums, and its MRR and usage
 * per month to the cells of its two cohorts (signup month, first month
 * paying).  The rules are those of elt_build_fct_cohort_retention and
 * elt_build_fct_saas_metrics_monthly (37_mart_metrics.sql), which build the
 * same rows from elt_raw in SQL; a test holds the two to each other.
 * Plain C.
 */
#include <string.h>

#include "model_priv.h"

/* month_index returns the month of the window holding day. */
static int
month_index(const EltMetrics *m, EltDay day)
{
	int			y0,
				m0,
				y,
				mo,
				d;

	elt_ymd_from_day(m->month[0], &y0, &m0, &d);
	elt_ymd_from_day(day, &y, &mo, &d);
	return (y - y0) * 12 + mo - m0;
}

/* zeroed returns n zeroed elements of size bytes from the allocator. */
static void *
zeroed(void *(*grow) (void *ptr, size_t size), size_t n, size_t size)
{
	void	   *p = grow(NULL, n * size);

	memset(p, 0, n * size);
	return p;
}

/* elt_metrics_months returns the months of the window [start, clock]. */
int
elt_metrics_months(EltDay start, EltDay clock)
{
	int			y,
				mo,
				yc,
				mc,
				d;

	elt_ymd_from_day(start, &y, &mo, &d);
	elt_ymd_from_day(clock, &yc, &mc, &d);
	return (yc - y) * 12 + mc - mo + 1;
}

/*
 * elt_metrics_init starts the metrics of pop's window through clock (at
 * most ELT_METRICS_MAX_MONTHS months: the cells take months squared).
 */
void
elt_metrics_init(EltMetrics *m, const EltPop *pop, EltDay clock, void *(*grow) (void *ptr, size_t size))
{
	int			y,
				mo,
				d;
	EltDay		first;
	size_t		n;

	memset(m, 0, sizeof(*m));
	m->pop = pop;
	m->clock = clock;
	elt_ymd_from_day(pop->start, &y, &mo, &d);
	first = elt_day_from_ymd(y, mo, 1);
	m->nmonths = elt_metrics_months(pop->start, clock);
	m->month = grow(NULL, sizeof(EltDay) * (m->nmonths + 1));
	for (int k = 0; k <= m->nmonths; k++)
		m->month[k] = elt_add_months(first, k);
	n = (size_t) m->nmonths;
	m->months = zeroed(grow, n, sizeof(EltMonthMetrics));
	m->cells = zeroed(grow, 2 * n * n, sizeof(EltCohortCell));
	m->user_mrr = zeroed(grow, n, sizeof(int64_t));
	m->user_active = zeroed(grow, n, 1);
}

/* elt_metrics_md returns a month's measurement day: its last, or the clock. */
EltDay
elt_metrics_md(const EltMetrics *m, int month)
{
	EltDay		last = m->month[month + 1] - 1;

	return last < m->clock ? last : m->clock;
}

/* elt_metrics_cell returns the cell of a cohort (kind, its month) in a month. */
EltCohortCell *
elt_metrics_cell(const EltMetrics *m, int kind, int cohort, int month)
{
	return &m->cells[((size_t) kind * m->nmonths + cohort) * m->nmonths + month];
}

/* elt_metrics_usage notes a usage day of the current user (days in order). */
void
elt_metrics_usage(EltMetrics *m, EltDay day)
{
	while (m->cursor + 1 < m->nmonths && day >= m->month[m->cursor + 1])
		m->cursor++;
	m->user_active[m->cursor] = 1;
}

/*
 * involuntary says whether a churn measured on md was involuntary: the
 * user's last paid version (the latest paid end among those started by md,
 * then the highest subscription id) ended on the day its subscription's
 * cancelled version with no days of its own starts (payment retries gave up).
 */
static bool
involuntary(const EltMetrics *m, const EltLife *life, EltDay md)
{
	int			last = -1;
	EltDay		last_end = 0;
	uint64_t	last_id = 0;

	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *s = &life->svers[v];
		EltDay		e = elt_span_end(s);
		uint64_t	id;

		if (s->mrr_cents <= 0 || e <= s->valid_from || s->valid_from > md)
			continue;
		id = elt_subscription_id(m->pop, life->index, life->segs[s->segment].ordinal);
		if (last < 0 || e > last_end || (e == last_end && id > last_id))
		{
			last = v;
			last_end = e;
			last_id = id;
		}
	}
	if (last < 0)
		return false;
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *c = &life->svers[v];

		if (c->segment == life->svers[last].segment && c->status == ELT_CANCELLED &&
			c->end != ELT_OPEN && c->end == c->valid_from && c->end == last_end)
			return true;
	}
	return false;
}

/*
 * elt_metrics_mrr_month adds a user's month of fct_mrr_monthly to the
 * month's MRR, movements and customers, and keeps its MRR for the cohorts.
 */
void
elt_metrics_mrr_month(EltMetrics *m, const EltLife *life, const EltMrrMonth *r)
{
	int			k = month_index(m, r->month);
	EltMonthMetrics *s = &m->months[k];

	if (r->mrr_cents > 0)
		m->user_mrr[k] = r->mrr_cents;
	s->mrr += r->mrr_cents;
	s->starting_mrr += r->prev_cents;
	s->customers_start += r->prev_cents > 0;
	s->customers_end += r->mrr_cents > 0;
	switch (r->movement)
	{
		case ELT_MV_NEW:
			s->new_mrr += r->mrr_cents;
			s->new_customers++;
			break;
		case ELT_MV_EXPANSION:
			s->expansion_mrr += r->mrr_cents - r->prev_cents;
			break;
		case ELT_MV_CONTRACTION:
			s->contraction_mrr += r->mrr_cents - r->prev_cents;
			break;
		case ELT_MV_REACTIVATION:
			s->reactivation_mrr += r->mrr_cents;
			s->reactivated_customers++;
			break;
		case ELT_MV_CHURN:
			s->churned_customers++;
			if (involuntary(m, life, r->md))
			{
				s->churned_involuntary_mrr -= r->prev_cents;
				s->churned_involuntary_customers++;
			}
			else
				s->churned_voluntary_mrr -= r->prev_cents;
			break;
	}
}

/*
 * cohort adds the user to the cells of its cohort (kind, month c) in every
 * month from c on: counted, retained (paying, or for signup cohorts with
 * usage), paying, its MRR in the cohort month (starting), its MRR, and the
 * lesser of the two (gross retained).
 */
static void
cohort(EltMetrics *m, int kind, int c)
{
	int64_t		smrr = m->user_mrr[c];

	for (int k = c; k < m->nmonths; k++)
	{
		EltCohortCell *cell = elt_metrics_cell(m, kind, c, k);
		int64_t		mrr = m->user_mrr[k];

		cell->accounts_start++;
		cell->accounts_retained += kind == ELT_COHORT_FIRST_PAID ? mrr > 0 : m->user_active[k];
		cell->accounts_paying += mrr > 0;
		cell->starting_mrr += smrr;
		cell->mrr += mrr;
		cell->retained_mrr_gross += mrr < smrr ? mrr : smrr;
	}
}

/*
 * elt_metrics_user adds the rest of the current user, after its usage and
 * its months of MRR: its cohorts, its trials (started on the
 * subscription's start; ended on the trial's end, converted when the
 * version starting then pays) and whether it was on the Free plan on the
 * measurement day of each month before (and pays in the month); then gets
 * ready for the next user.
 */
void
elt_metrics_user(EltMetrics *m, const EltLife *life)
{
	int			first_paid = -1;
	int			signed_up = month_index(m, life->signup);

	/* (a cohort of a month before the window has no rows) */
	if (signed_up >= 0)
		cohort(m, ELT_COHORT_SIGNUP, signed_up);
	for (int k = 0; k < m->nmonths && first_paid < 0; k++)
		if (m->user_mrr[k] > 0)
			first_paid = k;
	if (first_paid >= 0)
		cohort(m, ELT_COHORT_FIRST_PAID, first_paid);

	for (int g = 0; g < life->nsegs; g++)
	{
		const EltSegment *seg = &life->segs[g];
		bool		any;
		bool		paid_at_end = elt_trial_converted(life, g, &any);

		if (!any)
			continue;
		if (seg->start <= m->clock)
			m->months[month_index(m, seg->start)].trials_started++;
		if (seg->trial_end <= m->clock)
		{
			EltMonthMetrics *s = &m->months[month_index(m, seg->trial_end)];

			s->trials_ended++;
			s->trials_converted += paid_at_end;
		}
	}

	/* on the Free plan, active, on the day before month k (user_active is
	 * done with: it notes those months now) */
	memset(m->user_active, 0, m->nmonths);
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *sv = &life->svers[v];
		EltDay		e = sv->end < sv->valid_to ? sv->end : sv->valid_to;

		if (elt_plan(life->segs[sv->segment].plan_id)->monthly_price != 0 || sv->status != ELT_ACTIVE)
			continue;
		for (int k = 1; k < m->nmonths; k++)
			if (sv->valid_from <= m->month[k] - 1 && m->month[k] - 1 < e)
				m->user_active[k] = 1;
	}
	for (int k = 1; k < m->nmonths; k++)
		if (m->user_active[k])
		{
			m->months[k].free_users_start++;
			m->months[k].free_to_paid += m->user_mrr[k] > 0;
		}

	memset(m->user_mrr, 0, sizeof(int64_t) * m->nmonths);
	memset(m->user_active, 0, m->nmonths);
	m->cursor = 0;
}
