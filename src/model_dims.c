/*
 * model_dims.c: what the dimensions of elt_mart derive from a user's life
 * beyond its rows in elt_raw: the user's lifecycle status on a day and the
 * first day it paid (dim_user), and how each subscription follows the
 * user's previous one (dim_subscription), so that elt_generate can write
 * the dimensions in the same pass as elt_raw.  The rules are those of
 * elt_build_dim_user and elt_build_dim_subscription (32_mart_dims.sql),
 * which build the same rows from elt_raw in SQL; a test holds the two to
 * each other.  Plain C.
 */
#include "model_priv.h"

const char *const elt_lifecycle_names[ELT_N_LIFECYCLE] = {"free", "trialing", "paying", "past_due", "churned"};
const char *const elt_change_type_names[ELT_N_CHANGE_TYPES] = {"first", "after_trial", "upgrade", "downgrade", "return"};

/* elt_first_paid_day returns the first day of a paying subscription
 * version of the user, ELT_OPEN when none. */
EltDay
elt_first_paid_day(const EltLife *life)
{
	EltDay		first = ELT_OPEN;

	for (int v = 0; v < life->nsvers; v++)
		if (life->svers[v].mrr_cents > 0 && life->svers[v].valid_from < first)
			first = life->svers[v].valid_from;
	return first;
}

/*
 * elt_user_lifecycle returns the user's status on day: past due, paying or
 * trialing when a subscription version valid and running that day is so
 * (in that order), churned when a version paid on or before it, else free.
 */
int
elt_user_lifecycle(const EltLife *life, EltDay day)
{
	bool		past_due = false,
				paying = false,
				trialing = false,
				paid_before = false;

	for (int v = 0; v < life->nsvers; v++)
	{
		const EltSubVersion *s = &life->svers[v];
		const EltSegment *seg = &life->segs[s->segment];
		bool		on_day = s->valid_from <= day && day < s->valid_to &&
			seg->start <= day && day < s->end;

		past_due |= on_day && s->status == ELT_PAST_DUE;
		paying |= on_day && s->mrr_cents > 0;
		trialing |= on_day && s->status == ELT_TRIALING;
		paid_before |= s->mrr_cents > 0 && s->valid_from <= day;
	}
	return past_due ? ELT_LC_PAST_DUE : paying ? ELT_LC_PAYING : trialing ? ELT_LC_TRIALING :
		paid_before ? ELT_LC_CHURNED : ELT_LC_FREE;
}

/* last_version returns the current (last) version of segment g, or NULL. */
static const EltSubVersion *
last_version(const EltLife *life, int g)
{
	for (int v = 0; v < life->nsvers; v++)
		if (life->svers[v].segment == g && life->svers[v].valid_to == ELT_OPEN)
			return &life->svers[v];
	return NULL;
}

/*
 * elt_sub_origins fills origins[g] for every subscription (segment) g: the
 * plan of the user's previous subscription (by start date, then id) and
 * how this one followed it, judged by the previous one as it ended (its
 * current version).  Scratch memory comes from the life's allocator.
 */
void
elt_sub_origins(const EltPop *pop, const EltLife *life, EltSubOrigin *origins)
{
	int		   *order;

	if (life->nsegs == 0)
		return;
	order = life->grow(NULL, sizeof(int) * life->nsegs);
	elt_segment_order(pop, life, order);
	for (int k = 0; k < life->nsegs; k++)
	{
		const EltSegment *s = &life->segs[order[k]];
		EltSubOrigin *o = &origins[order[k]];
		const EltSegment *q = NULL;
		const EltSubVersion *qv = NULL;

		/* the previous subscription that has a current version */
		for (int j = k - 1; j >= 0 && qv == NULL; j--)
		{
			qv = last_version(life, order[j]);
			q = &life->segs[order[j]];
		}
		o->previous_plan = qv ? q->plan_id : 0;
		if (qv == NULL)
			o->change_type = ELT_CT_FIRST;
		else if (qv->status == ELT_EXPIRED && qv->end != ELT_OPEN && qv->end == s->start)
		{
			if (q->trial_end != ELT_OPEN && qv->end == q->trial_end)
				o->change_type = ELT_CT_AFTER_TRIAL;
			else
				o->change_type = elt_plan(s->plan_id)->monthly_price >= elt_plan(q->plan_id)->monthly_price
					? ELT_CT_UPGRADE : ELT_CT_DOWNGRADE;
		}
		else
			o->change_type = ELT_CT_RETURN;
	}
}
