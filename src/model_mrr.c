/*
 * model_mrr.c: a user's rows of elt_mart.fct_mrr_monthly, its MRR at the
 * end of each month of the window (the clock in the last month) and the
 * movement against the month before (new, expansion, contraction, churn
 * with its kind, reactivation, retained), so that elt_generate can write
 * them in the same pass as elt_raw.  The rules are those of
 * elt_build_fct_mrr_monthly (33_mart_facts.sql), which builds the same
 * rows from elt_raw in SQL; a test holds the two to each other.  Plain C.
 */
#include "model_priv.h"

const char *const elt_movement_names[ELT_N_MOVEMENTS] = {
	"new", "expansion", "contraction", "churn", "reactivation", "retained"};
const char *const elt_churn_type_names[ELT_N_CHURN_TYPES] = {"voluntary", "involuntary", "downgrade_to_free"};

/*
 * measure gives the user's MRR on day md, summed over the paying versions
 * valid and running then (those ending before first_md never count), and
 * the plan of the dearest one (then the lowest plan id); 0 when none pays.
 */
static int64_t
measure(const EltLife *life, EltDay md, EltDay first_md, int *plan)
{
	int64_t		mrr = 0,
				best = -1;

	*plan = 0;
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *s = &life->svers[v];
		int			p = life->segs[s->segment].plan_id;

		if (s->mrr_cents <= 0 || (s->end != ELT_OPEN && s->end <= first_md) || elt_span_end(s) <= s->valid_from)
			continue;
		if (!(s->valid_from <= md && md < elt_span_end(s)))
			continue;
		mrr += s->mrr_cents;
		if (s->mrr_cents > best || (s->mrr_cents == best && p < *plan))
		{
			best = s->mrr_cents;
			*plan = p;
		}
	}
	return mrr;
}

/* churn_type says why a user paying last month pays nothing on md. */
static int
churn_type(const EltLife *life, EltDay month, EltDay md)
{
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *s = &life->svers[v];

		if (s->status == ELT_CANCELLED && s->end != ELT_OPEN && s->end <= s->valid_from &&
			s->end >= month && s->end <= md)
			return ELT_CHURN_INVOLUNTARY;
	}
	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *s = &life->svers[v];
		const EltSegment *seg = &life->segs[s->segment];

		if (elt_plan(seg->plan_id)->monthly_price == 0 && s->valid_from <= md && md < s->valid_to &&
			seg->start <= md && md < s->end)
			return ELT_CHURN_DOWNGRADE_TO_FREE;
	}
	return ELT_CHURN_VOLUNTARY;
}

/*
 * elt_life_mrr_months hands on the user's row of every month of the window
 * [start, clock] in which it pays or paid the month before.
 */
void
elt_life_mrr_months(const EltLife *life, EltDay start, EltDay clock, EltMrrMonthFn fn, void *arg)
{
	int			y,
				m,
				d;
	EltDay		first = 0;
	EltDay		first_md = 0;
	EltDay		first_paid = ELT_OPEN;
	int64_t		prev = 0;
	int			prev_plan = 0;
	int			nmonths;

	elt_ymd_from_day(start, &y, &m, &d);
	first = elt_day_from_ymd(y, m, 1);
	{
		int			yc,
					mc,
					dc;

		elt_ymd_from_day(clock, &yc, &mc, &dc);
		nmonths = (yc - y) * 12 + mc - m + 1;
	}
	for (int k = 0; k < nmonths; k++)
	{
		EltMrrMonth r;
		EltDay		month = elt_add_months(first, k);
		EltDay		md = elt_add_months(first, k + 1) - 1;
		int			plan;

		if (md > clock)
			md = clock;
		if (k == 0)
			first_md = md;
		r.mrr_cents = measure(life, md, first_md, &plan);
		if (r.mrr_cents > 0 && first_paid == ELT_OPEN)
			first_paid = month;
		if (r.mrr_cents > 0 || prev > 0)
		{
			r.month = month;
			r.md = md;
			r.prev_cents = prev;
			r.plan_id = r.mrr_cents > 0 ? plan : prev_plan;
			r.churn_type = -1;
			if (prev == 0)
				r.movement = first_paid < month ? ELT_MV_REACTIVATION : ELT_MV_NEW;
			else if (r.mrr_cents == 0)
			{
				r.movement = ELT_MV_CHURN;
				r.churn_type = churn_type(life, month, md);
			}
			else if (r.mrr_cents > prev)
				r.movement = ELT_MV_EXPANSION;
			else if (r.mrr_cents < prev)
				r.movement = ELT_MV_CONTRACTION;
			else
				r.movement = ELT_MV_RETAINED;
			r.user_version = elt_user_version_on(life, md);
			fn(arg, life, &r);
		}
		prev = r.mrr_cents;
		prev_plan = plan;
	}
}
