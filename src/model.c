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

const char *const elt_status_names[3] = {"active", "expired", "cancelled"};

/* Paid plans drawn on conversion from free, and on reactivation. */
static const int convert_weights[4] = {55, 30, 12, 3};
static const int react_weights[4] = {40, 27, 24, 9};

#define REACTIVATION_SHARE 0.15
#define EMAIL_BUCKET_DAYS 91
#define EMAIL_CHANGE_PER_BUCKET 0.012
#define REGION_BUCKET_DAYS 365
#define REGION_CHANGE_PER_BUCKET 0.02

/* Engagement: heavy 15 % almost daily, moderate 40 % every 2-3 days, light 45 % every 4-7 days. */
static const int engage_weights[3] = {15, 40, 45};

/*
 * Referrals: campaign days bring extra signups through Paid Ads (75 %) and
 * Social Media (25 %); the other signups draw from a base mix (per mille)
 * chosen so that the overall mix stays 20/45/10/25 when campaigns carry
 * about 3.5 % of all signups.
 */
static const int referral_base[4] = {207, 439, 95, 259};
static const int referral_campaign[4] = {0, 750, 250, 0};

/* Churn multipliers: plan (Free unused), referral source, region. */
static const double plan_churn[5] = {1.0, 1.25, 1.0, 0.8, 0.6};
static const double referral_churn[4] = {1.0, 1.35, 1.1, 0.7};
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
	char		token[16];
	char		first[64];
	char		last[64];
	char		domain[64];
	int			n = 0;
	uint64_t	t = elt_permute((uint64_t) life->index, 20, elt_hash(pop->seed, E_IDKEY, 4, 0));
	bool		company = life->nsegs > 0 && life->segs[0].plan_id >= 4;

	copy_local(first, sizeof(first), elt_first_names[life->first_name]);
	copy_local(last, sizeof(last), elt_last_names[life->last_name]);
	elt_email_domain(company, uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_DOMAIN, 0, email_version)),
					 domain, sizeof(domain));
	do
	{
		token[n++] = digits[t % 36];
		t /= 36;
	} while (t > 0);
	token[n] = '\0';
	if (email_version > 0)
		return snprintf(buf, buflen, "%s.%s.%s.%d@%s", first, last, token, email_version, domain);
	return snprintf(buf, buflen, "%s.%s.%s@%s", first, last, token, domain);
}

#define GROW(life, arr, n, cap) \
	do { \
		if ((life)->n >= (life)->cap) \
		{ \
			(life)->cap = (life)->cap ? (life)->cap * 2 : 16; \
			(life)->arr = (life)->grow((life)->arr, sizeof(*(life)->arr) * (life)->cap); \
		} \
	} while (0)

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

	GROW(life, segs, nsegs, cap_segs);
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
	return s;
}

/* free_conversion is the chance a free user pays at the end of free month m (1-based). */
static double
free_conversion(int m)
{
	return m == 1 ? 0.030 : m == 2 ? 0.018 : m <= 12 ? 0.004 : 0.0015;
}

/*
 * The chain of subscriptions up to the horizon.  Paid plans renew monthly;
 * at each period end the user churns (cancelling some days before), changes
 * plan or renews.  The churn hazard falls with tenure and depends on
 * engagement (dormant accounts leave soonest), plan, referral source and
 * region; upgrades are likeliest for accounts pressing on their API quota.
 * Free plans run open-ended until the user converts, mostly in the first two
 * months.  A churned user may come back later.
 */
static void
simulate_subscriptions(const EltPop *pop, EltLife *life, int plan_id, int region_id)
{
	EltDay		start = life->signup;
	EltDay		h = life->horizon;
	int			tenure = 0;		/* paid months so far */
	int			home = plan_id;
	EltDay		fade = draw_fade(pop, life, 0, start, plan_id == ELT_PLAN_FREE);
	double		mult = level_churn[life->engagement] * referral_churn[life->referral_source_id - 1] *
		region_churn[region_id - 1];

	for (;;)
	{
		EltSegment *s;
		int			k = life->nsegs;

		if (k >= ELT_MAX_SUBS_PER_USER)
		{
			life->overflow = true;
			return;
		}
		s = new_segment(life, plan_id, start, pop, home, fade);

		if (plan_id == ELT_PLAN_FREE)
		{
			for (int m = 1;; m++)
			{
				EltDay		a = elt_add_months(start, m);
				double		p = free_conversion(m) * (fade <= a ? 0.3 : 1.0);

				if (a > h)
					return;
				if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CONVERT, k, m))) < p)
				{
					s->end = s->expire_day = a;
					plan_id = 2 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_CONVERT_PLAN, k, m)),
										   convert_weights, 4);
					start = a;
					home = plan_id;
					fade = draw_fade(pop, life, k + 1, start, false);
					break;
				}
			}
			continue;
		}

		for (int m = 0;; m++)
		{
			EltDay		pstart = elt_add_months(start, m);
			EltDay		pend = elt_add_months(start, m + 1);
			bool		dormant = fade <= pend - 7;
			double		hz = churn_hazard(tenure + m) * mult * plan_churn[plan_id - 1] *
				(dormant ? DORMANT_CHURN : 1.0);
			double		u = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_FATE, k, m)));
			double		v,
						up,
						down;

			s->end = pend;
			s->renewals = m;
			if (u < hz)
			{
				/* churn: cancelled 1-14 days before the paid-through date */
				int			span = pend - pstart - 1;
				EltDay		c = pend - 1 - elt_below(uh(pop, E_SUB, life->index, sub_field(F_CANCEL, k, m)),
													 span < 14 ? span : 14);

				s->churn_day = c;
				if (c > h)
					return;
				s->cancel_day = c;
				if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_REACTIVATE, k, m))) >= REACTIVATION_SHARE)
					return;
				start = pend + 30 + elt_below(uh(pop, E_SUB, life->index, sub_field(F_REACT_GAP, k, m)), 150);
				if (start > h)
					return;
				if (elt_below(uh(pop, E_SUB, life->index, sub_field(F_REACT_PLAN, k, m)), 100) >= 60)
					plan_id = 2 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_REACT_PLAN, k, m + 1)),
										   react_weights, 4);
				tenure += m + 1;
				home = plan_id;
				fade = draw_fade(pop, life, k + 1, start, false);
				break;
			}
			if (pend > h)
				return;
			/* plan changes: rare, upgrades mostly when the quota binds */
			v = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CHANGE, k, m)));
			up = plan_id == ELT_PLAN_ENTERPRISE ? 0.0 :
				(!dormant && elt_quota_pressure(life, s) > 0.8) ? 0.25 :
				life->engagement == 0 ? 0.014 : 0.007;
			down = plan_id <= ELT_PLAN_FREE + 1 ? 0.0 :
				0.004 * (life->engagement == 2 ? 1.5 : 1.0) * (dormant ? 3.0 : 1.0);
			if (v < up + down)
			{
				s->expire_day = pend;
				plan_id += v < up ? 1 : -1;
				start = pend;
				tenure += m + 1;
				break;
			}
		}
	}
}

/* Subscription versions: a new one on start, renewal, cancel and expiry. */
static void
add_sub_version(EltLife *life, int seg, EltDay day, EltDay end, EltStatus st, int renewals)
{
	EltSubVersion *v;

	if (life->nsvers > 0 && life->svers[life->nsvers - 1].segment == seg)
		life->svers[life->nsvers - 1].valid_to = day;
	GROW(life, svers, nsvers, cap_svers);
	v = &life->svers[life->nsvers++];
	v->segment = seg;
	v->valid_from = day;
	v->valid_to = ELT_OPEN;
	v->end = end;
	v->status = st;
	v->renewals = renewals;
}

/* build_sub_versions derives the subscriptions' SCD2 versions from the segments. */
static void
build_sub_versions(EltLife *life)
{
	for (int k = 0; k < life->nsegs; k++)
	{
		const EltSegment *s = &life->segs[k];

		if (s->plan_id == ELT_PLAN_FREE)
		{
			add_sub_version(life, k, s->start, ELT_OPEN, ELT_ACTIVE, 0);
			if (s->expire_day != ELT_OPEN)
				add_sub_version(life, k, s->expire_day, s->expire_day, ELT_EXPIRED, 0);
			continue;
		}
		for (int m = 0; m <= s->renewals; m++)
			add_sub_version(life, k, elt_add_months(s->start, m), elt_add_months(s->start, m + 1),
							ELT_ACTIVE, m);
		if (s->cancel_day != ELT_OPEN)
			add_sub_version(life, k, s->cancel_day, s->end, ELT_CANCELLED, s->renewals);
		if (s->expire_day != ELT_OPEN)
			add_sub_version(life, k, s->expire_day, s->end, ELT_EXPIRED, s->renewals);
	}
}

/* A change of the user's attributes on one day. */
typedef struct UserEvent
{
	EltDay		day;
	int			kind;			/* 0 plan, 1 email, 2 region */
	int			value;
} UserEvent;

/*
 * add_user_version starts a user version on day with the given state,
 * closing the previous one; no-op when nothing changed, merged when the day
 * already has one.
 */
static void
add_user_version(EltLife *life, EltDay day, const EltUserVersion *state)
{
	EltUserVersion *last = life->nuvers ? &life->uvers[life->nuvers - 1] : NULL;

	if (last && last->plan_id == state->plan_id && last->region_id == state->region_id &&
		last->email_version == state->email_version)
		return;
	if (last && last->valid_from == day)
	{
		/* several events on one day make one version */
		*last = *state;
		last->valid_from = day;
		last->valid_to = ELT_OPEN;
		/* and it may fold back into the version before it */
		if (life->nuvers > 1)
		{
			EltUserVersion *prev = &life->uvers[life->nuvers - 2];

			if (prev->plan_id == last->plan_id && prev->region_id == last->region_id &&
				prev->email_version == last->email_version)
			{
				life->nuvers--;
				prev->valid_to = ELT_OPEN;
			}
		}
		return;
	}
	if (last)
		last->valid_to = day;
	GROW(life, uvers, nuvers, cap_uvers);
	last = &life->uvers[life->nuvers++];
	*last = *state;
	last->valid_from = day;
	last->valid_to = ELT_OPEN;
}

/* cmp_event orders user events by day, then by kind (qsort comparator). */
static int
cmp_event(const void *a, const void *b)
{
	const UserEvent *x = a,
			   *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->kind - y->kind;
}

/* build_user_versions turns plan, email and region changes into user versions. */
static void
build_user_versions(const EltPop *pop, EltLife *life, int region_id)
{
	/* the scratch array lives in life and is reused for every user, so
	 * that a long life costs its events once, not once per user */
	UserEvent  *ev = life->events;
	int			nev = 0,
				cap = life->cap_events;
	EltUserVersion state;
	EltDay		h = life->horizon;

#define ADD_EVENT(d, k, v) \
	do { \
		if (nev == cap) \
		{ \
			cap = cap ? cap * 2 : 64; \
			ev = life->grow(ev, sizeof(UserEvent) * cap); \
			life->events = ev; \
			life->cap_events = cap; \
		} \
		ev[nev].day = (d); ev[nev].kind = (k); ev[nev].value = (v); nev++; \
	} while (0)

	for (int k = 1; k < life->nsegs; k++)
		ADD_EVENT(life->segs[k].start, 0, life->segs[k].plan_id);
	for (int b = 0;; b++)
	{
		EltDay		d0 = life->signup + 1 + b * EMAIL_BUCKET_DAYS;
		EltDay		d;

		if (d0 > h)
			break;
		if (elt_unit(uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_EVENT, 0, b))) >= EMAIL_CHANGE_PER_BUCKET)
			continue;
		d = d0 + elt_below(uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_DAY, 0, b)), EMAIL_BUCKET_DAYS);
		if (d <= h)
			ADD_EVENT(d, 1, 0);
	}
	for (int b = 0;; b++)
	{
		EltDay		d0 = life->signup + 1 + b * REGION_BUCKET_DAYS;
		EltDay		d;
		int			w[ELT_N_REGIONS];

		if (d0 > h)
			break;
		if (elt_unit(uh(pop, E_REGION, life->index, sub_field(F_REGION_EVENT, 0, b))) >= REGION_CHANGE_PER_BUCKET)
			continue;
		d = d0 + elt_below(uh(pop, E_REGION, life->index, sub_field(F_REGION_DAY, 0, b)), REGION_BUCKET_DAYS);
		for (int r = 0; r < ELT_N_REGIONS; r++)
			w[r] = elt_regions_tab[r].weight;
		if (d <= h)
			ADD_EVENT(d, 2, 1 + elt_pick(uh(pop, E_REGION, life->index, sub_field(F_REGION_NEW, 0, b)),
										 w, ELT_N_REGIONS));
	}
	if (nev > 1)
		qsort(ev, nev, sizeof(UserEvent), cmp_event);

	state.plan_id = life->segs[0].plan_id;
	state.region_id = region_id;
	state.email_version = 0;
	add_user_version(life, life->signup, &state);
	for (int e = 0; e < nev; e++)
	{
		if (ev[e].kind == 0)
			state.plan_id = ev[e].value;
		else if (ev[e].kind == 1)
			state.email_version++;
		else
			state.region_id = ev[e].value;
		add_user_version(life, ev[e].day, &state);
	}
#undef ADD_EVENT
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
	life->referral_source_id = 1 + pick_mille(uh(pop, E_USER, index, F_REFERRAL), referral_base, ELT_N_REFERRALS);
	campaign = elt_signup_campaign(pop, life->signup);
	/* on a campaign day the extra signups came through the campaign */
	if (campaign > 1.0 &&
		elt_unit(uh(pop, E_USER, index, F_REFERRAL_CAMPAIGN)) * campaign < campaign - 1.0)
		life->referral_source_id = 1 + pick_mille(elt_mix64(uh(pop, E_USER, index, F_REFERRAL_CAMPAIGN)),
												  referral_campaign, ELT_N_REFERRALS);
	life->engagement = elt_pick(uh(pop, E_USER, index, F_ENGAGE), engage_weights, 3);
	life->magnitude = elt_lognormal(uh(pop, E_USER, index, F_MAGNITUDE), ELT_MAGNITUDE_SIGMA);
	for (int i = 0; i < ELT_N_REGIONS; i++)
		rw[i] = elt_regions_tab[i].weight;
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
		w[i] = elt_plans_tab[i].signup_weight;
	plan_id = 1 + elt_pick(uh(pop, E_USER, index, F_PLAN), w, ELT_N_PLANS);

	if (life->signup > horizon)
		return;
	simulate_subscriptions(pop, life, plan_id, region_id);
	build_sub_versions(life);
	build_user_versions(pop, life, region_id);
}
