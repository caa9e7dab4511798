/*
 * model.c: the behaviour of the simulated SaaS.  Pure functions of
 * (population, user index, horizon): every draw hashes its own coordinates,
 * so a user's life does not depend on other users, on call order, or on how
 * far ahead anybody looked.  Events after the horizon are never revealed.
 * Signups are in model_signup.c, daily usage in model_usage.c.
 *
 * Floating point is limited to +, -, *, / and sqrt, which IEEE 754 rounds
 * exactly, so results are identical on every platform.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "model_priv.h"
#include "names.h"

#define uh elt_uh
#define sub_field elt_sub_field

const char *const elt_status_names[ELT_N_STATUS] = {"active", "expired", "cancelled", "trialing", "past_due"};

/* Paid plans drawn on conversion from free, and on reactivation. */
static const int convert_weights[4] = {55, 30, 12, 3};
static const int react_weights[4] = {40, 27, 24, 9};

#define REACTIVATION_SHARE 0.15

/* Engagement: heavy 15 % almost daily, moderate 40 % every 2-3 days, light 45 % every 4-7 days. */
static const int engage_weights[3] = {15, 40, 45};

/*
 * Referrals: campaign days bring extra signups through Paid Ads (75 %) and
 * Social Media (25 %); the other signups draw from channel_mix.
 */
static const int referral_campaign[4] = {0, 750, 250, 0};

/* Churn multipliers: plan (Free unused), referral source, region. */
static const double plan_churn[5] = {1.0, 1.25, 1.0, 0.8, 0.6};
static const double referral_churn[4] = {1.0, 1.5, 1.1, 0.65};
static const double region_churn[6] = {1.0, 0.95, 1.1, 1.15, 1.2, 1.0};
static const double level_churn[3] = {0.55, 0.9, 1.5};
#define DORMANT_CHURN 5.0

/*
 * Monthly churn hazard of a paid month at paid tenure `tenure` (months):
 * high in the first months, falling towards a floor.
 */
static double
churn_hazard(int tenure)
{
	return 0.011 + 0.038 / (1.0 + tenure / 2.0);
}

/* pick_mille draws an index with per-mille weights. */
static int
pick_mille(uint64_t h, const int *weights, int n)
{
	int			u = elt_below(h, 1000);

	for (int i = 0; i < n - 1; i++)
	{
		if (u < weights[i])
			return i;
		u -= weights[i];
	}
	return n - 1;
}

/* elt_user_id maps a user index to its id: a keyed permutation, so ids are unique. */
uint64_t
elt_user_id(const EltPop *pop, int64_t index)
{
	return 1 + elt_permute((uint64_t) index, 20, elt_hash(pop->seed, E_IDKEY, 1, 0));
}

/* elt_subscription_id maps (user index, subscription ordinal) to a unique id. */
uint64_t
elt_subscription_id(const EltPop *pop, int64_t index, int ordinal)
{
	return 1 + elt_permute(((uint64_t) index << 12) | (uint64_t) ordinal, 22,
						   elt_hash(pop->seed, E_IDKEY, 2, 0));
}

/*
 * (user index, day) itself: unique by construction, and increasing in the
 * order rows are generated, so the primary key builds from presorted input.
 * Days since 2000-01-01 fit 20 bits for the years the window allows.
 */
uint64_t
elt_usage_id(const EltPop *pop, int64_t index, EltDay day)
{
	return ((uint64_t) index << 20) | (uint64_t) day;
}

/*
 * copy_local appends a name to an address's local part, lower case, keeping
 * letters, digits and hyphens (names may hold spaces and apostrophes).
 */
static int
copy_local(char *dst, int room, const char *name)
{
	int			n = 0;

	for (const char *p = name; *p && n < room - 1; p++)
	{
		char		c = *p;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			dst[n++] = c;
	}
	dst[n] = '\0';
	return n;
}

/*
 * elt_email writes a user's address for one email version into buf; the
 * token from the user index keeps addresses unique.  Business-plan accounts
 * (by the first subscription's plan) get company domains.  Returns its length.
 */
int
elt_email(const EltPop *pop, const EltLife *life, int email_version, char *buf, int buflen)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t	t = elt_permute((uint64_t) life->index, 20, elt_hash(pop->seed, E_IDKEY, 4, 0));
	bool		company = life->nsegs > 0 && life->segs[0].plan_id >= 4;
	int			n = 0;
	char		vbuf[12];
	int			nv = 0;

	/*
	 * first.last.token[.version]@domain, written in place: this runs for
	 * every user version, and printf's formatting cost more than the rest
	 * of the address (names and the domain are at most 63 characters)
	 */
	if (buflen < ELT_EMAIL_MAX)
	{
		if (buflen > 0)
			buf[0] = '\0';
		return -1;
	}
	n += copy_local(buf + n, 64, elt_first_names[life->first_name]);
	buf[n++] = '.';
	n += copy_local(buf + n, 64, elt_last_names[life->last_name]);
	buf[n++] = '.';
	do
	{
		buf[n++] = digits[t % 36];
		t /= 36;
	} while (t > 0);
	if (email_version > 0)
	{
		buf[n++] = '.';
		for (int v = email_version; v > 0; v /= 10)
			vbuf[nv++] = (char) ('0' + v % 10);
		while (nv > 0)
			buf[n++] = vbuf[--nv];
	}
	buf[n++] = '@';
	n += elt_email_domain(company, uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_DOMAIN, 0, email_version)),
						  buf + n, 64);
	buf[n] = '\0';
	return n;
}


/*
 * draw_fade returns the day from which the user of a stint starting on
 * `start` (subscription k) stops using the product, ELT_OPEN if never:
 * most free users within weeks, paying accounts rarely, mostly the light ones.
 */
static EltDay
draw_fade(const EltPop *pop, const EltLife *life, int k, EltDay start, bool free_plan)
{
	static const double paid_fade[3] = {0.04, 0.08, 0.65};
	uint64_t	h = uh(pop, E_SUB, life->index, sub_field(F_FADE, k, 0));
	uint64_t	hd = uh(pop, E_SUB, life->index, sub_field(F_FADE_DAY, k, 0));

	if (free_plan)
	{
		if (elt_unit(h) >= 0.93)
			return ELT_OPEN;
		/* skewed early: half within three weeks */
		return start + 3 + elt_below(elt_mix64(hd), 1 + elt_below(hd, 70));
	}
	if (elt_unit(h) >= paid_fade[life->engagement])
		return ELT_OPEN;
	if (elt_below(hd, 100) < 50)
		return start + 20 + elt_below(elt_mix64(hd), 30);
	return start + 50 + elt_below(elt_mix64(hd), 600);
}

/* new_segment appends a subscription (one stretch on one plan) to the life. */
static EltSegment *
new_segment(EltLife *life, int plan_id, EltDay start, const EltPop *pop, int home_plan, EltDay fade)
{
	EltSegment *s;
	int			k = life->nsegs;

	ELT_GROW(life, segs, nsegs, cap_segs);
	s = &life->segs[life->nsegs++];
	s->ordinal = k;
	s->plan_id = plan_id;
	if (plan_id == ELT_PLAN_FREE)
		s->payment_method_id = ELT_PAYMENT_NA;
	else
	{
		static const int pay_weights[3] = {60, 30, 10};

		s->payment_method_id = 1 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_PAYMENT, k, 0)),
											pay_weights, 3);
	}
	s->start = start;
	s->end = ELT_OPEN;
	s->cancel_day = ELT_OPEN;
	s->expire_day = ELT_OPEN;
	s->renewals = 0;
	s->home_plan = home_plan;
	s->fade = fade;
	s->churn_day = ELT_OPEN;
	s->annual = false;
	s->trial_end = ELT_OPEN;
	s->bill_start = start;
	s->discount_pct = 0;
	s->discount_periods = 0;
	s->seats = 1;
	s->churn_from = ELT_OPEN;
	s->involuntary = false;
	return s;
}

/* free_conversion is the chance a free user pays at the end of free month m (1-based). */
static double
free_conversion(int m)
{
	return m == 1 ? 0.030 : m == 2 ? 0.018 : m <= 12 ? 0.004 : 0.0015;
}

/*
 * What the chances above give at scale 1, so that the parameters can set
 * the outcomes: the monthly logo churn of monthly-billed paid accounts from
 * voluntary churn, and the share of free signups paying within a year.
 */
#define CHURN_CALIBRATION 0.048
#define FREE_CALIBRATION 0.034

#define GRACE_DAYS 14			/* a failed payment is retried for two weeks */
#define RECOVERY_SHARE 0.7		/* of failed payments are recovered */
#define SEATS_CAP 1000			/* seats of an unlimited plan */

/* How a paid subscription began: its trial and discount depend on it. */
typedef enum PaidStart
{
	PAID_SIGNUP,				/* signed up on a paid plan: a trial first */
	PAID_CONVERSION,			/* from the free plan */
	PAID_REACTIVATION,			/* came back after churning */
	PAID_CHANGE					/* moved to another plan at a renewal */
} PaidStart;

/* Seats an account of each plan starts with, before its size. */
static const double base_seats[ELT_N_PLANS] = {1.0, 2.0, 5.0, 15.0, 50.0};
/* Yearly billing is likelier on bigger plans (x annual_share). */
static const double annual_plan[ELT_N_PLANS] = {0.0, 0.6, 0.9, 1.3, 1.6};
/* Trials of heavy users convert more often (x trial_conversion). */
static const double trial_level[3] = {1.6, 1.1, 0.7};
static const int discount_pcts[6] = {10, 15, 20, 25, 30, 50};
static const int discount_weights[6] = {20, 15, 30, 15, 10, 10};

/* seats_cap is the most seats plan_id allows. */
static int
seats_cap(int plan_id)
{
	int			m = elt_plan(plan_id)->max_users;

	return m < 0 ? SEATS_CAP : m;
}

/*
 * sub_version appends a version of subscription seg starting on day (a day
 * after the horizon is not known yet: nothing is added), closing the
 * segment's previous version.
 */
static void
sub_version(EltLife *life, int seg, EltDay day, EltDay end, EltStatus st, int renewals,
			int seats, int discount_pct, int64_t mrr_cents)
{
	EltSubVersion *v;

	if (day > life->horizon)
		return;
	if (life->nsvers > 0 && life->svers[life->nsvers - 1].segment == seg)
		life->svers[life->nsvers - 1].valid_to = day;
	ELT_GROW(life, svers, nsvers, cap_svers);
	v = &life->svers[life->nsvers++];
	v->segment = seg;
	v->valid_from = day;
	v->valid_to = ELT_OPEN;
	v->end = end;
	v->status = st;
	v->renewals = renewals;
	v->seats = seats;
	v->discount_pct = discount_pct;
	v->mrr_cents = mrr_cents;
}

/*
 * period_mrr gives the MRR of billing period m of a paid subscription, in
 * cents: the monthly list price, 10/12 of it when billed yearly (two months
 * free), less the introductory discount while it lasts.
 */
static int64_t
period_mrr(const EltSegment *s, int m)
{
	int64_t		c = (int64_t) elt_plan(s->plan_id)->monthly_price * 100;

	if (s->annual)
		c = c * 10 / 12;
	if (m < s->discount_periods)
		c = c * (100 - s->discount_pct) / 100;
	return c;
}

/*
 * setup_paid draws the billing of a new paid subscription: a trial for
 * signups on a paid plan, yearly or monthly billing (kept across plan
 * changes), an introductory discount for some new customers, the seats.
 */
static void
setup_paid(const EltPop *pop, const EltLife *life, EltSegment *s, PaidStart how,
		   bool prev_annual, int prev_seats)
{
	const EltParams *pp = &pop->params;
	int			k = s->ordinal;
	int			cap = seats_cap(s->plan_id);

	if (how == PAID_SIGNUP && pp->trial_days > 0)
		s->trial_end = s->start + pp->trial_days;
	s->bill_start = s->trial_end != ELT_OPEN ? s->trial_end : s->start;
	if (how == PAID_CHANGE)
		s->annual = prev_annual;
	else
		s->annual = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_ANNUAL, k, 0))) <
			pp->annual_share * annual_plan[s->plan_id - 1];
	if (how != PAID_CHANGE &&
		elt_unit(uh(pop, E_SUB, life->index, sub_field(F_DISCOUNT, k, 0))) < pp->discount_share)
	{
		uint64_t	h = uh(pop, E_SUB, life->index, sub_field(F_DISCOUNT, k, 1));

		s->discount_pct = discount_pcts[elt_pick(h, discount_weights, 6)];
		s->discount_periods = s->annual ? 1 : 1 + elt_below(elt_mix64(h), 6);
	}
	if (how == PAID_CHANGE)
		s->seats = prev_seats;
	else
		s->seats = (int) (base_seats[s->plan_id - 1] * life->magnitude *
						  (0.5 + elt_unit(uh(pop, E_SUB, life->index, sub_field(F_SEATS, k, 0)))) + 0.5);
	if (s->seats < 1)
		s->seats = 1;
	if (s->seats > cap)
		s->seats = cap;
}

/* payment_fails tells whether the renewal payment of period m of subscription k fails. */
static bool
payment_fails(const EltPop *pop, const EltLife *life, int k, int m)
{
	return elt_unit(uh(pop, E_SUB, life->index, sub_field(F_PAYFAIL, k, m))) < pop->params.failed_payment_rate;
}

/*
 * The chain of subscriptions up to the horizon, with their versions.
 * Signups on a paid plan try it first; a trial converts or falls back to
 * the free plan.  Paid plans renew monthly or yearly; a renewal payment may
 * fail (past due, recovered or an involuntary churn after the grace
 * period); at each period end the user churns (cancelling some days
 * before), changes plan or renews.  The churn hazard falls with tenure and
 * depends on engagement (dormant accounts leave soonest), plan, referral
 * source and region; yearly accounts leave only at a renewal.  Upgrades are
 * likeliest for accounts pressing on their API quota or seats.  Free plans
 * run open-ended until the user converts, mostly in the first two months.
 * A churned user may come back later.  Nothing after the horizon is
 * revealed: every version starts on or before it.
 */
static void
simulate_subscriptions(const EltPop *pop, EltLife *life, int plan_id, int region_id)
{
	const EltParams *pp = &pop->params;
	EltDay		start = life->signup;
	EltDay		h = life->horizon;
	int			tenure = 0;		/* paid months so far */
	int			home = plan_id;
	EltDay		fade = draw_fade(pop, life, 0, start, plan_id == ELT_PLAN_FREE);
	double		vol = pp->monthly_churn - pp->failed_payment_rate * (1.0 - RECOVERY_SHARE);
	double		mult = level_churn[life->engagement] * referral_churn[life->referral_source_id - 1] *
		region_churn[region_id - 1] * (vol > 0.0 ? vol : 0.0) / CHURN_CALIBRATION;
	double		free_scale = pp->free_conversion / FREE_CALIBRATION;
	PaidStart	how = PAID_SIGNUP;
	bool		prev_annual = false;
	int			prev_seats = 1;
	int			y,
				mo,
				dd;

	/*
	 * Cohorts differ: besides their channel mix, each signup month brings
	 * customers who stay a little longer or shorter (product, pricing and
	 * market changes nobody modelled: a lognormal churn factor, sd 25 %).
	 */
	elt_ymd_from_day(life->signup, &y, &mo, &dd);
	mult *= elt_lognormal(elt_hash(pop->seed, E_SIGNUPCAL, (uint64_t) (y * 12 + mo), F_COHORT), 0.25);

	for (;;)
	{
		EltSegment *s;
		int			k = life->nsegs;
		int			period;
		int			seats;
		bool		churned = false;

		if (k >= ELT_MAX_SUBS_PER_USER)
		{
			life->overflow = true;
			return;
		}
		s = new_segment(life, plan_id, start, pop, home, fade);

		if (plan_id == ELT_PLAN_FREE)
		{
			sub_version(life, k, start, ELT_OPEN, ELT_ACTIVE, 0, 1, 0, 0);
			for (int m = 1;; m++)
			{
				EltDay		a = elt_add_months(start, m);
				double		p = free_conversion(m) * free_scale * (fade <= a ? 0.3 : 1.0);

				if (a > h)
					return;
				if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CONVERT, k, m))) < p)
				{
					s->end = s->expire_day = a;
					sub_version(life, k, a, a, ELT_EXPIRED, 0, 1, 0, 0);
					plan_id = 2 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_CONVERT_PLAN, k, m)),
										   convert_weights, 4);
					start = a;
					home = plan_id;
					fade = draw_fade(pop, life, k + 1, start, false);
					how = PAID_CONVERSION;
					break;
				}
			}
			continue;
		}

		setup_paid(pop, life, s, how, prev_annual, prev_seats);
		if (s->trial_end != ELT_OPEN)
		{
			double		p = pp->trial_conversion * trial_level[life->engagement] *
				(fade <= s->trial_end ? 0.2 : 1.0);

			sub_version(life, k, start, s->trial_end, ELT_TRIALING, 0, s->seats, 0, 0);
			s->end = s->trial_end;
			if (s->trial_end > h)
				return;
			if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_TRIAL, k, 0))) >= p)
			{
				/* not converted: back to the free plan */
				s->expire_day = s->trial_end;
				sub_version(life, k, s->trial_end, s->trial_end, ELT_EXPIRED, 0, s->seats, 0, 0);
				start = s->trial_end;
				plan_id = ELT_PLAN_FREE;
				fade = draw_fade(pop, life, k + 1, start, true);
				continue;
			}
		}

		period = s->annual ? 12 : 1;
		seats = s->seats;
		for (int m = 0;; m++)
		{
			EltDay		pstart = elt_add_months(s->bill_start, m * period);
			EltDay		pend = elt_add_months(s->bill_start, (m + 1) * period);
			int			ten = tenure + m * period;
			bool		dormant = fade <= pend - 7;
			int			disc = m < s->discount_periods ? s->discount_pct : 0;
			int64_t		mrr = period_mrr(s, m);
			double		hz = churn_hazard(ten) * mult * plan_churn[plan_id - 1] * (dormant ? DORMANT_CHURN : 1.0);
			double		u,
						v,
						up,
						down;

			/* accounts add seats as they grow, up to the plan's limit */
			if (m > 0 && elt_unit(uh(pop, E_SUB, life->index, sub_field(F_SEATS, k, m))) <
				(s->annual ? 0.6 : 0.08) * (dormant ? 0.2 : 1.0))
			{
				seats += 1 + elt_below(elt_mix64(uh(pop, E_SUB, life->index, sub_field(F_SEATS, k, m))),
									   1 + seats / 8);
				if (seats > seats_cap(plan_id))
					seats = seats_cap(plan_id);
			}
			s->end = pend;
			s->renewals = m;
			if (m > 0 && payment_fails(pop, life, k, m))
			{
				uint64_t	hr = uh(pop, E_SUB, life->index, sub_field(F_RECOVER, k, m));

				sub_version(life, k, pstart, pend, ELT_PAST_DUE, m, seats, disc, mrr);
				if (elt_unit(hr) < RECOVERY_SHARE)
				{
					EltDay		r = pstart + 1 + elt_below(elt_mix64(hr), GRACE_DAYS - 1);

					if (r > h)
						return;
					sub_version(life, k, r, pend, ELT_ACTIVE, m, seats, disc, mrr);
				}
				else
				{
					EltDay		c = pstart + GRACE_DAYS;

					if (c > h)
						return;
					/* involuntary churn: ends the day the retries give up */
					s->end = s->cancel_day = c;
					s->involuntary = true;
					sub_version(life, k, c, c, ELT_CANCELLED, m, seats, disc, 0);
					churned = true;
				}
			}
			else
				sub_version(life, k, pstart, pend, ELT_ACTIVE, m, seats, disc, mrr);

			if (!churned)
			{
				u = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_FATE, k, m)));
				/*
				 * yearly accounts decide at the renewal only, and leave less:
				 * the chance to stay is that of the year's months, each at
				 * 60 % of the monthly hazard of its tenure
				 */
				if (s->annual)
				{
					double		stay = 1.0;

					for (int i = 0; i < 12; i++)
						stay *= 1.0 - 0.6 * churn_hazard(ten + i) * mult * plan_churn[plan_id - 1] *
							(dormant ? DORMANT_CHURN : 1.0);
					hz = 1.0 - stay;
				}
				if (u < hz)
				{
					/* cancelled 1-14 days (yearly: up to 30) before the paid-through date */
					int			span = pend - pstart - 1;
					int			lead = s->annual ? 30 : 14;
					EltDay		c = pend - 1 - elt_below(uh(pop, E_SUB, life->index, sub_field(F_CANCEL, k, m)),
														 span < lead ? span : lead);

					s->churn_day = c;
					s->churn_from = pstart;
					if (c > h)
						return;
					s->cancel_day = c;
					sub_version(life, k, c, pend, ELT_CANCELLED, m, seats, disc, mrr);
					churned = true;
				}
			}
			if (churned)
			{
				EltDay		gone = s->end;

				if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_REACTIVATE, k, m))) >= REACTIVATION_SHARE)
					return;
				start = gone + 30 + elt_below(uh(pop, E_SUB, life->index, sub_field(F_REACT_GAP, k, m)), 150);
				if (start > h)
					return;
				if (elt_below(uh(pop, E_SUB, life->index, sub_field(F_REACT_PLAN, k, m)), 100) >= 60)
					plan_id = 2 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_REACT_PLAN, k, m + 1)),
										   react_weights, 4);
				tenure = ten + period;
				home = plan_id;
				fade = draw_fade(pop, life, k + 1, start, false);
				how = PAID_REACTIVATION;
				break;
			}
			if (pend > h)
				return;
			/* plan changes at a renewal: rare, upgrades mostly when a quota, the storage or the seats bind */
			v = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CHANGE, k, m)));
			up = plan_id == ELT_PLAN_ENTERPRISE ? 0.0 :
				(!dormant && (elt_quota_pressure(pop, life, s) > 0.8 || elt_storage_pressure(life, s, pend) > 0.85 ||
							seats >= seats_cap(plan_id))) ? 0.25 :
				life->engagement == 0 ? 0.014 : 0.007;
			down = plan_id <= ELT_PLAN_FREE + 1 ? 0.0 :
				0.006 * (life->engagement == 2 ? 1.5 : 1.0) * (dormant ? 3.0 : 1.0);
			if (s->annual)
			{
				up *= 4.0;
				down *= 4.0;
			}
			if (v < up + down)
			{
				s->expire_day = pend;
				sub_version(life, k, pend, pend, ELT_EXPIRED, m, seats, disc, 0);
				plan_id += v < up ? 1 : -1;
				start = pend;
				tenure = ten + period;
				how = PAID_CHANGE;
				prev_annual = s->annual;
				prev_seats = seats;
				break;
			}
		}
	}
}

/*
 * elt_life computes a user's whole life up to the horizon (signup,
 * subscriptions, versions) from the population and the index alone.
 */
void
elt_life(const EltPop *pop, int64_t index, EltDay horizon, EltLife *life)
{
	int			w[ELT_N_PLANS];
	int			rw[ELT_N_REGIONS];
	double		campaign;
	int			plan_id,
				region_id;
	uint64_t	last_h;

	life->index = index;
	life->horizon = horizon;
	life->nsegs = life->nuvers = life->nsvers = 0;
	life->overflow = false;
	life->signup = elt_signup_day(pop, index);
	/*
	 * The channel mix drifts as the business scales paid acquisition: Paid
	 * Ads and Social Media gain a quarter of their weight a year, Friend
	 * referrals lose a sixth, so that later cohorts churn more.
	 */
	{
		double		years = (double) (life->signup - pop->start) / 365.0;
		int			cw[ELT_N_REFERRALS];

		for (int i = 0; i < ELT_N_REFERRALS; i++)
			cw[i] = (int) (pop->params.channel_mix[i] * 64.0 *
						   (i == 1 || i == 2 ? 1.0 + 0.25 * years : i == 3 ? 1.0 / (1.0 + 0.2 * years) : 1.0));
		life->referral_source_id = 1 + elt_pick(uh(pop, E_USER, index, F_REFERRAL), cw, ELT_N_REFERRALS);
	}
	campaign = elt_signup_campaign(pop, life->signup);
	/* on a campaign day the extra signups came through the campaign */
	if (campaign > 1.0 &&
		elt_unit(uh(pop, E_USER, index, F_REFERRAL_CAMPAIGN)) * campaign < campaign - 1.0)
		life->referral_source_id = 1 + pick_mille(elt_mix64(uh(pop, E_USER, index, F_REFERRAL_CAMPAIGN)),
												  referral_campaign, ELT_N_REFERRALS);
	life->engagement = elt_pick(uh(pop, E_USER, index, F_ENGAGE), engage_weights, 3);
	life->magnitude = elt_lognormal(uh(pop, E_USER, index, F_MAGNITUDE), ELT_MAGNITUDE_SIGMA);
	for (int i = 0; i < ELT_N_REGIONS; i++)
		rw[i] = pop->params.region_mix[i];
	region_id = 1 + elt_pick(uh(pop, E_USER, index, F_REGION), rw, ELT_N_REGIONS);
	/* names follow the signup region; a famous full name gets another last name */
	life->first_name = elt_name_first(region_id, uh(pop, E_USER, index, F_FIRST));
	last_h = uh(pop, E_USER, index, F_LAST);
	life->last_name = elt_name_last(region_id, last_h);
	while (elt_name_blocked(life->first_name, life->last_name))
	{
		last_h = elt_mix64(last_h);
		life->last_name = elt_name_last(region_id, last_h);
	}
	for (int i = 0; i < ELT_N_PLANS; i++)
		w[i] = pop->params.plan_mix[i];
	plan_id = 1 + elt_pick(uh(pop, E_USER, index, F_PLAN), w, ELT_N_PLANS);

	if (life->signup > horizon)
		return;
	simulate_subscriptions(pop, life, plan_id, region_id);
	elt_build_user_versions(pop, life, region_id);
}
