/*
 * model_events.c: the subscription events of elt_mart.fct_subscription_events
 * (trials, new and reactivated customers, upgrades and downgrades, renewals,
 * payments, seat changes, cancellations and churn) of one user, from the
 * versions of its subscriptions, so that elt_generate can write them in the
 * same pass as elt_raw.  The rules are those of
 * elt_build_fct_subscription_events (37_mart_events.sql, whose header lists
 * them), which builds the same rows from elt_raw in SQL; a test holds the
 * two to each other.  Plain C.
 */
#include <string.h>

#include "model_priv.h"

const char *const elt_event_names[ELT_N_EVENTS] = {
	"trial_started", "trial_converted", "trial_expired", "new", "renewal", "upgrade",
	"downgrade", "seat_change", "payment_failed", "payment_recovered",
	"cancellation_requested", "churn_voluntary", "churn_involuntary", "reactivation"};

/* What the rules need to know of one subscription. */
typedef struct Sub
{
	int			segment;
	int		   *vers;			/* its versions (indexes into svers), by valid_from */
	int			nvers;
	int			price;			/* the plan's monthly price */
	int			paid_ord;		/* first paying version, -1: none */
	int64_t		last_mrr;		/* MRR of the last paying version */
	EltDay		changed_on;		/* end of a version expired by a plan change, ELT_OPEN: none */
	int			how;			/* how its first paying version came */
	/* the user's previous subscription (by start, then id) */
	int			q_plan;
	int64_t		q_mrr;
} Sub;

typedef struct Emit
{
	const EltLife *life;
	EltEventFn	fn;
	void	   *arg;
} Emit;

/* event hands on one event of subscription s (from_plan, to_plan 0: none). */
static void
event(const Emit *out, const Sub *s, int type, EltDay day, int from_plan, int to_plan,
	  int64_t before, int64_t after)
{
	EltEvent	e;

	e.day = day;
	e.segment = s->segment;
	e.type = type;
	e.from_plan = from_plan;
	e.to_plan = to_plan;
	e.mrr_before_cents = before;
	e.mrr_after_cents = after;
	e.user_version = elt_user_version_on(out->life, day);
	e.sub_version = elt_sub_version_on(out->life, s->segment, day);
	out->fn(out->arg, out->life, &e);
}

static inline bool
paying_status(EltStatus st)
{
	return st == ELT_ACTIVE || st == ELT_PAST_DUE;
}

/* version_events hands on the events of one version v (p: the previous
 * version of its subscription, NULL for the first). */
static void
version_events(const Emit *out, const Sub *s, int ord, const EltSubVersion *v, const EltSubVersion *p,
			   EltDay clock)
{
	int			plan = out->life->segs[s->segment].plan_id;
	EltDay		day = v->valid_from;
	/* renewals and payments carry the MRR change unless seats changed too */
	int64_t		before = p && v->seats != p->seats ? v->mrr_cents : p ? p->mrr_cents : 0;

	if (ord == 0 && v->status == ELT_TRIALING)
		event(out, s, ELT_EV_TRIAL_STARTED, day, plan, plan, 0, 0);
	if (p && p->status == ELT_TRIALING)
		event(out, s, v->status == ELT_EXPIRED ? ELT_EV_TRIAL_EXPIRED : ELT_EV_TRIAL_CONVERTED, day,
			  plan, plan, p->mrr_cents, p->mrr_cents);
	if (ord == s->paid_ord)
	{
		bool		change = s->how == ELT_EV_UPGRADE || s->how == ELT_EV_DOWNGRADE;

		event(out, s, s->how, day, change ? s->q_plan : 0, plan, change ? s->q_mrr : 0, v->mrr_cents);
	}
	if (ord == 0 && s->price == 0 && s->how == ELT_EV_DOWNGRADE)
		event(out, s, ELT_EV_DOWNGRADE, day, s->q_plan, plan, s->q_mrr, v->mrr_cents);
	if (p && v->status == ELT_ACTIVE && p->status == ELT_ACTIVE && v->renewals > p->renewals)
		event(out, s, ELT_EV_RENEWAL, day, plan, plan, before, v->mrr_cents);
	if (p && v->status == ELT_PAST_DUE)
		event(out, s, ELT_EV_PAYMENT_FAILED, day, plan, plan, before, v->mrr_cents);
	if (p && v->status == ELT_ACTIVE && p->status == ELT_PAST_DUE)
		event(out, s, ELT_EV_PAYMENT_RECOVERED, day, plan, plan, before, v->mrr_cents);
	if (p && v->seats != p->seats && paying_status(v->status) && paying_status(p->status))
		event(out, s, ELT_EV_SEAT_CHANGE, day, plan, plan, p->mrr_cents, v->mrr_cents);
	if (v->status == ELT_CANCELLED && v->end != ELT_OPEN)
	{
		int64_t		p_mrr = p ? p->mrr_cents : 0;

		if (v->end > day)
		{
			event(out, s, ELT_EV_CANCELLATION_REQUESTED, day, plan, plan, p_mrr, v->mrr_cents);
			if (v->end <= clock)
				event(out, s, ELT_EV_CHURN_VOLUNTARY, v->end, plan, 0, v->mrr_cents, 0);
		}
		else
			event(out, s, ELT_EV_CHURN_INVOLUNTARY, day, plan, 0, p_mrr, 0);
	}
}

/*
 * elt_life_events hands on the events of a user's subscriptions through
 * clock, subscription by subscription.  Scratch memory comes from the life's
 * allocator.
 */
void
elt_life_events(const EltPop *pop, const EltLife *life, EltDay clock, EltEventFn fn, void *arg)
{
	Sub		   *subs;
	int		   *vers;
	int			n = life->nsegs;
	bool		paid_before = false;
	Emit		out = {life, fn, arg};

	if (n == 0)
		return;
	subs = life->grow(NULL, sizeof(Sub) * n);
	vers = life->grow(NULL, sizeof(int) * (life->nsvers + 1));

	/* each subscription's versions by valid_from, and what the rules ask of them */
	for (int g = 0, used = 0; g < n; g++)
	{
		Sub		   *s = &subs[g];
		const EltSegment *seg = &life->segs[g];

		s->segment = g;
		s->vers = &vers[used];
		s->nvers = 0;
		for (int v = 0; v < life->nsvers; v++)
		{
			int			i;

			if (life->svers[v].segment != g)
				continue;
			for (i = s->nvers++; i > 0 && life->svers[s->vers[i - 1]].valid_from > life->svers[v].valid_from; i--)
				s->vers[i] = s->vers[i - 1];
			s->vers[i] = v;
		}
		used += s->nvers;
		s->price = elt_plan(seg->plan_id)->monthly_price;
		s->paid_ord = -1;
		s->last_mrr = 0;
		s->changed_on = ELT_OPEN;
		for (int o = 0; o < s->nvers; o++)
		{
			const EltSubVersion *v = &life->svers[s->vers[o]];
			const EltSubVersion *p = o > 0 ? &life->svers[s->vers[o - 1]] : NULL;

			if (v->mrr_cents > 0)
			{
				if (s->paid_ord < 0)
					s->paid_ord = o;
				s->last_mrr = v->mrr_cents;
			}
			if (v->status == ELT_EXPIRED && (p == NULL || p->status != ELT_TRIALING) && v->end < s->changed_on)
				s->changed_on = v->end;
		}
	}

	/* the user's subscriptions by (start, id): each one's previous */
	{
		int		   *order = life->grow(NULL, sizeof(int) * n);

		elt_segment_order(pop, life, order);
		for (int k = 0; k < n; k++)
		{
			Sub		   *s = &subs[order[k]];
			const Sub  *q = k > 0 ? &subs[order[k - 1]] : NULL;

			s->q_plan = q ? life->segs[q->segment].plan_id : 0;
			s->q_mrr = q ? q->last_mrr : 0;
			/* a plan change: the previous one paid, and a change ended it the day this starts */
			if (q && q->price > 0 && q->paid_ord >= 0 && q->changed_on == life->segs[s->segment].start)
				s->how = s->price > q->price ? ELT_EV_UPGRADE : ELT_EV_DOWNGRADE;
			else
				s->how = paid_before ? ELT_EV_REACTIVATION : ELT_EV_NEW;
			paid_before |= s->paid_ord >= 0;
		}
	}

	for (int g = 0; g < n; g++)
		for (int o = 0; o < subs[g].nvers; o++)
			version_events(&out, &subs[g], o, &life->svers[subs[g].vers[o]],
						   o > 0 ? &life->svers[subs[g].vers[o - 1]] : NULL, clock);
}
