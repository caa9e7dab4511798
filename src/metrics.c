/*
 * metrics.c: rows of elt_mart.fct_cohort_retention and
 * fct_saas_metrics_monthly from the sums model_metrics.c added up.  The
 * rates are computed with numeric's own division and round(), in the
 * order the SQL builders (37_mart_metrics.sql) write them, so that both
 * give the same digits.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "elt.h"

#define COHORT_NATTS 15
#define SAAS_NATTS 34

/* num gives a count as a numeric. */
static inline Datum
num(int64 n)
{
	return NumericGetDatum(int64_to_numeric(n));
}

/* quotient gives a / b as numeric division does (b must not be 0). */
static inline Datum
quotient(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_div, a, b);
}

/* set_rounded stores round(v, scale), or NULL when undefined (defined false). */
static inline void
set_rounded(Datum *value, bool *isnull, bool defined, Datum v, int scale)
{
	*isnull = !defined;
	if (defined)
		*value = DirectFunctionCall2(numeric_round, v, Int32GetDatum(scale));
}

/* the calendar's key of a day of the window, -1 before it */
static inline int32
window_key(const EltMetrics *m, EltDay day)
{
	return day < m->pop->start ? -1 : elt_date_key(day);
}

/* put_cohorts writes a row per cohort with users and month from the
 * cohort's month on. */
static void
put_cohorts(EltSink *sink, const EltMetrics *m)
{
	static const char *const kinds[2] = {"signup", "first_paid"};

	for (int kind = 0; kind < 2; kind++)
		for (int c = 0; c < m->nmonths; c++)
			for (int k = c; k < m->nmonths; k++)
			{
				const EltCohortCell *a = elt_metrics_cell(m, kind, c, k);
				Datum		values[COHORT_NATTS];
				bool		nulls[COHORT_NATTS] = {false};

				if (a->accounts_start == 0)
					break;		/* an empty cohort has no row */
				values[0] = CStringGetTextDatum(kinds[kind]);
				values[1] = DateADTGetDatum(m->month[c]);
				values[2] = Int32GetDatum(k - c);
				values[3] = DateADTGetDatum(m->month[k]);
				values[4] = Int32GetDatum(window_key(m, m->month[c]));
				values[5] = Int32GetDatum(elt_date_key(elt_metrics_md(m, k)));
				values[6] = Int32GetDatum((int32) a->accounts_start);
				values[7] = Int32GetDatum((int32) a->accounts_retained);
				values[8] = Int32GetDatum((int32) a->accounts_paying);
				values[9] = elt_cents(a->starting_mrr);
				values[10] = elt_cents(a->mrr);
				values[11] = elt_cents(a->retained_mrr_gross);
				set_rounded(&values[12], &nulls[12], true,
							quotient(num(a->accounts_retained), num(a->accounts_start)), 6);
				set_rounded(&values[13], &nulls[13], a->starting_mrr != 0,
							a->starting_mrr ? quotient(values[11], values[9]) : 0, 6);
				set_rounded(&values[14], &nulls[14], a->starting_mrr != 0,
							a->starting_mrr ? quotient(values[10], values[9]) : 0, 6);
				sink->put(sink, values, nulls);
			}
}

/* put_months writes a row per month of the window. */
static void
put_months(EltSink *sink, const EltMetrics *m)
{
	Datum		one = num(1);

	for (int k = 0; k < m->nmonths; k++)
	{
		const EltMonthMetrics *s = &m->months[k];
		int64		churned = s->churned_voluntary_mrr + s->churned_involuntary_mrr;
		int64		lost = -(churned + s->contraction_mrr);
		int64		net_lost = lost - s->expansion_mrr - s->reactivation_mrr;
		Datum		values[SAAS_NATTS];
		bool		nulls[SAAS_NATTS] = {false};
		Datum		churn_rate = 0;

		values[0] = DateADTGetDatum(m->month[k]);
		values[1] = Int32GetDatum(elt_date_key(elt_metrics_md(m, k)));
		values[2] = elt_cents(s->mrr);
		values[3] = elt_cents(12 * s->mrr);
		values[4] = elt_cents(s->starting_mrr);
		values[5] = elt_cents(s->new_mrr);
		values[6] = elt_cents(s->expansion_mrr);
		values[7] = elt_cents(s->contraction_mrr);
		values[8] = elt_cents(churned);
		values[9] = elt_cents(s->churned_voluntary_mrr);
		values[10] = elt_cents(s->churned_involuntary_mrr);
		values[11] = elt_cents(s->reactivation_mrr);
		values[12] = elt_cents(s->mrr - s->starting_mrr);
		values[13] = Int32GetDatum((int32) s->customers_start);
		values[14] = Int32GetDatum((int32) s->customers_end);
		values[15] = Int32GetDatum((int32) s->new_customers);
		values[16] = Int32GetDatum((int32) s->reactivated_customers);
		values[17] = Int32GetDatum((int32) s->churned_customers);
		values[18] = Int32GetDatum((int32) s->churned_involuntary_customers);
		if (s->customers_start)
			churn_rate = quotient(num(s->churned_customers), num(s->customers_start));
		set_rounded(&values[19], &nulls[19], s->customers_start != 0, churn_rate, 6);
		if (s->starting_mrr)
		{
			Datum		gross = quotient(elt_cents(lost), values[4]);
			Datum		net = quotient(elt_cents(net_lost), values[4]);

			set_rounded(&values[20], &nulls[20], true, gross, 6);
			set_rounded(&values[21], &nulls[21], true, net, 6);
			set_rounded(&values[22], &nulls[22], true, DirectFunctionCall2(numeric_sub, one, net), 6);
			set_rounded(&values[23], &nulls[23], true, DirectFunctionCall2(numeric_sub, one, gross), 6);
		}
		else
			nulls[20] = nulls[21] = nulls[22] = nulls[23] = true;
		if (s->customers_end)
		{
			Datum		arpa = quotient(values[2], num(s->customers_end));

			set_rounded(&values[24], &nulls[24], true, arpa, 2);
			/* ARPA unrounded over the churn rate, as the builder divides */
			set_rounded(&values[25], &nulls[25], s->churned_customers != 0,
						s->churned_customers ? quotient(arpa, churn_rate) : 0, 2);
		}
		else
			nulls[24] = nulls[25] = true;
		set_rounded(&values[26], &nulls[26], lost != 0,
					lost ? quotient(elt_cents(s->new_mrr + s->expansion_mrr + s->reactivation_mrr),
									elt_cents(lost)) : 0, 4);
		values[27] = Int32GetDatum((int32) s->trials_started);
		values[28] = Int32GetDatum((int32) s->trials_ended);
		values[29] = Int32GetDatum((int32) s->trials_converted);
		set_rounded(&values[30], &nulls[30], s->trials_ended != 0,
					s->trials_ended ? quotient(num(s->trials_converted), num(s->trials_ended)) : 0, 6);
		values[31] = Int32GetDatum((int32) s->free_users_start);
		values[32] = Int32GetDatum((int32) s->free_to_paid);
		set_rounded(&values[33], &nulls[33], s->free_users_start != 0,
					s->free_users_start ? quotient(num(s->free_to_paid), num(s->free_users_start)) : 0, 6);
		sink->put(sink, values, nulls);
	}
}

/* elt_put_metrics writes the rows of both tables from the sums (a sink may
 * be NULL). */
void
elt_put_metrics(EltSink *cohorts, EltSink *months, const EltMetrics *m)
{
	if (cohorts)
		put_cohorts(cohorts, m);
	if (months)
		put_months(months, m);
}
