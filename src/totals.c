/*
 * totals.c: elt.mart_usage_totals, the usage fact builder's state, written
 * by elt_generate's pass: the totals of the quota periods with usage in the
 * 31 days up to the facts' last day (what elt__keep_usage_totals computes
 * from the facts in SQL; a test holds the two to each other).  That day is
 * known only at the end of the pass; it is no earlier than the last usage
 * day of the users done so far, so periods whose usage ended 31 days
 * before that are dropped as they come, and the rest kept until the end.
 */
#include "postgres.h"

#include "elt.h"

/* elt_totals_keep keeps a quota period as a candidate row. */
void
elt_totals_keep(EltTotals *t, int64 sub_id, const EltUsagePeriod *p)
{
	if (t->last_usage != ELT_OPEN && p->last_day < t->last_usage - 31)
		return;
	if (t->n == t->cap)
	{
		MemoryContext old = MemoryContextSwitchTo(t->cxt);

		t->cap = t->cap ? t->cap * 2 : 1024;
		t->rows = t->rows ? repalloc_huge(t->rows, sizeof(*t->rows) * t->cap)
			: palloc(sizeof(*t->rows) * t->cap);
		MemoryContextSwitchTo(old);
	}
	t->rows[t->n++] = (EltTotal) {sub_id, p->period_start, p->last_day, p->api_calls, p->storage_peak_mb};
}

/* elt_totals_user_done notes a user's last usage day (ELT_OPEN: none). */
void
elt_totals_user_done(EltTotals *t, EltDay last_day)
{
	if (last_day != ELT_OPEN && (t->last_usage == ELT_OPEN || last_day > t->last_usage))
		t->last_usage = last_day;
}

/* elt_totals_put writes the candidates with usage in the facts' last 31
 * days, and frees them. */
void
elt_totals_put(EltTotals *t)
{
	for (int i = 0; t->last_usage != ELT_OPEN && i < t->n; i++)
	{
		const EltTotal *r = &t->rows[i];
		Datum		values[5] = {Int64GetDatum(r->sub_id), DateADTGetDatum(r->period_start),
		DateADTGetDatum(r->through), Int64GetDatum(r->api_calls), Int64GetDatum(r->storage_mb)};
		bool		nulls[5] = {false};

		if (r->through >= t->last_usage - 31)
			t->sink->put(t->sink, values, nulls);
	}
	if (t->rows)
		pfree(t->rows);
	t->rows = NULL;
	t->n = t->cap = 0;
}
