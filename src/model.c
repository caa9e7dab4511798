/*
 * model.c: the behaviour of the simulated SaaS.  Pure functions of
 * (population, user index, horizon): every draw hashes its own coordinates,
 * so a user's life does not depend on other users, on call order, or on how
 * far ahead anybody looked.  Events after the horizon are never revealed.
 *
 * Floating point is limited to +, -, *, / and sqrt, which IEEE 754 rounds
 * exactly, so results are identical on every platform.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "model.h"
#include "names.h"
#include "rng.h"

const char *const elt_status_names[3] = {"active", "expired", "cancelled"};

/* Entities and fields of the hash coordinates. */
enum
{
	E_USER = 1, E_SUB, E_USAGE, E_EMAIL, E_REGION, E_IDKEY
};
enum
{
	F_SIGNUP = 1, F_FIRST, F_LAST, F_REFERRAL, F_REGION, F_PLAN, F_ENGAGE,
	F_PAYMENT, F_CONVERT, F_CONVERT_PLAN, F_FATE, F_CANCEL, F_CHANGE_UP,
	F_REACTIVATE, F_REACT_GAP, F_REACT_PLAN, F_EMAIL_EVENT, F_EMAIL_DAY,
	F_EMAIL_DOMAIN, F_REGION_EVENT, F_REGION_DAY, F_REGION_NEW,
	F_ACTIVE, F_ACTIONS, F_API, F_STORAGE, F_MINUTES
};

/* Paid plans drawn on conversion from free, and on reactivation. */
static const int convert_weights[4] = {55, 30, 12, 3};
static const int react_weights[4] = {40, 27, 24, 9};

#define FREE_CONVERSION_PER_MONTH 0.035
#define PLAN_CHANGE_SHARE 0.30
#define UPGRADE_SHARE 0.55
#define REACTIVATION_SHARE 0.25
#define EMAIL_BUCKET_DAYS 91
#define EMAIL_CHANGE_PER_BUCKET 0.012
#define REGION_BUCKET_DAYS 365
#define REGION_CHANGE_PER_BUCKET 0.02

/* Engagement: heavy 15 % almost daily, moderate 40 % every 2-3 days, light 45 % every 4-7 days. */
static const int engage_weights[3] = {15, 40, 45};
static const double engage_active[3] = {0.92, 0.40, 0.18};
static const double engage_intensity[3] = {1.5, 1.0, 0.6};
#define WEEKEND_FACTOR 0.6

static inline uint64_t
uh(const EltPop *pop, int entity, int64_t index, uint64_t field)
{
	return elt_hash(pop->seed, (uint64_t) entity, (uint64_t) index, field);
}

/* Coordinates of a draw about subscription k, period m. */
static inline uint64_t
sub_field(int field, int k, int m)
{
	return ((uint64_t) field << 48) | ((uint64_t) k << 32) | (uint32_t) m;
}

/* Monthly churn hazard, decreasing with paid tenure (months). */
static double
churn_hazard(int tenure)
{
	return 0.015 + 0.10 / (1.0 + tenure / 3.0);
}

/*
 * Signups grow linearly in rate: r(t) = a (1 + t/365), so the expected
 * count by day t is N(t) = a (t + t^2/730), with N(365) = users.  User i
 * signs up at N^-1(i - 1 + u_i): increasing in i, so the population up to
 * any day is a prefix of the indices.
 */
EltDay
elt_signup_day(const EltPop *pop, int64_t index)
{
	double		u = elt_unit(uh(pop, E_USER, index, F_SIGNUP));
	double		y = (double) (index - 1) + u;
	double		t = 365.0 * (sqrt(1.0 + 3.0 * y / (double) pop->users) - 1.0);

	return pop->start + (EltDay) t;
}

int64_t
elt_users_by(const EltPop *pop, EltDay day)
{
	double		days = (double) (day - pop->start + 1);
	int64_t		lo = 0,
				hi;

	if (day < pop->start)
		return 0;
	/* N(days) bounds the count from above, give or take the last user. */
	hi = (int64_t) ((double) pop->users * ((days / 365.0 + 1.0) * (days / 365.0 + 1.0) - 1.0) / 3.0) + 2;
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo + 1) / 2;

		if (elt_signup_day(pop, mid) <= day)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

uint64_t
elt_user_id(const EltPop *pop, int64_t index)
{
	return 1 + elt_permute((uint64_t) index, 20, elt_hash(pop->seed, E_IDKEY, 1, 0));
}

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

int
elt_email(const EltPop *pop, const EltLife *life, int email_version, char *buf, int buflen)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char		token[16];
	int			n = 0;
	uint64_t	t = elt_permute((uint64_t) life->index, 20, elt_hash(pop->seed, E_IDKEY, 4, 0));
	const char *first = elt_first_names[life->first_name];
	const char *last = elt_last_names[life->last_name];
	int			dom = elt_below(uh(pop, E_EMAIL, life->index, sub_field(F_EMAIL_DOMAIN, 0, email_version)),
								elt_n_email_domains);
	int			len;

	do
	{
		token[n++] = digits[t % 36];
		t /= 36;
	} while (t > 0);
	token[n] = '\0';
	if (email_version > 0)
		len = snprintf(buf, buflen, "%s.%s.%s.%d@%s", first, last, token, email_version,
					   elt_email_domains[dom]);
	else
		len = snprintf(buf, buflen, "%s.%s.%s@%s", first, last, token, elt_email_domains[dom]);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return len;
}

#define GROW(life, arr, n, cap) \
	do { \
		if ((life)->n >= (life)->cap) \
		{ \
			(life)->cap = (life)->cap ? (life)->cap * 2 : 16; \
			(life)->arr = (life)->grow((life)->arr, sizeof(*(life)->arr) * (life)->cap); \
		} \
	} while (0)

static EltSegment *
new_segment(EltLife *life, int plan_id, EltDay start, const EltPop *pop)
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
	return s;
}

/*
 * The chain of subscriptions up to the horizon.  Paid plans renew monthly;
 * at each period end the user churns (cancelling some days before), changes
 * plan (30 % of those who stay) or renews.  Free plans run open-ended until
 * the user converts.  A churned user may come back later.
 */
static void
simulate_subscriptions(const EltPop *pop, EltLife *life, int plan_id)
{
	EltDay		start = life->signup;
	EltDay		h = life->horizon;
	int			tenure = 0;		/* paid months so far */

	for (;;)
	{
		EltSegment *s;
		int			k = life->nsegs;

		if (k >= ELT_MAX_SUBS_PER_USER)
		{
			life->overflow = true;
			return;
		}
		s = new_segment(life, plan_id, start, pop);

		if (plan_id == ELT_PLAN_FREE)
		{
			for (int m = 1;; m++)
			{
				EltDay		a = elt_add_months(start, m);

				if (a > h)
					return;
				if (elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CONVERT, k, m))) < FREE_CONVERSION_PER_MONTH)
				{
					s->end = s->expire_day = a;
					plan_id = 2 + elt_pick(uh(pop, E_SUB, life->index, sub_field(F_CONVERT_PLAN, k, m)),
										   convert_weights, 4);
					start = a;
					break;
				}
			}
			continue;
		}

		for (int m = 0;; m++)
		{
			EltDay		pstart = elt_add_months(start, m);
			EltDay		pend = elt_add_months(start, m + 1);
			double		hz = churn_hazard(tenure + m);
			double		u = elt_unit(uh(pop, E_SUB, life->index, sub_field(F_FATE, k, m)));

			s->end = pend;
			s->renewals = m;
			if (u < hz)
			{
				/* churn: cancelled 1-14 days before the paid-through date */
				int			span = pend - pstart - 1;
				EltDay		c = pend - 1 - elt_below(uh(pop, E_SUB, life->index, sub_field(F_CANCEL, k, m)),
													 span < 14 ? span : 14);

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
				break;
			}
			if (pend > h)
				return;
			if (u < hz + (1.0 - hz) * PLAN_CHANGE_SHARE)
			{
				bool		up = plan_id < ELT_PLAN_ENTERPRISE &&
					elt_unit(uh(pop, E_SUB, life->index, sub_field(F_CHANGE_UP, k, m))) < UPGRADE_SHARE;

				s->expire_day = pend;
				plan_id += up ? 1 : -1;
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

static int
cmp_event(const void *a, const void *b)
{
	const UserEvent *x = a,
			   *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->kind - y->kind;
}

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

void
elt_life(const EltPop *pop, int64_t index, EltDay horizon, EltLife *life)
{
	int			w[ELT_N_PLANS];
	int			rw[ELT_N_REGIONS];
	int			fw[ELT_N_REFERRALS];
	int			plan_id,
				region_id;

	life->index = index;
	life->horizon = horizon;
	life->nsegs = life->nuvers = life->nsvers = 0;
	life->overflow = false;
	life->signup = elt_signup_day(pop, index);
	life->first_name = elt_below(uh(pop, E_USER, index, F_FIRST), elt_n_first_names);
	life->last_name = elt_below(uh(pop, E_USER, index, F_LAST), elt_n_last_names);
	for (int i = 0; i < ELT_N_REFERRALS; i++)
		fw[i] = elt_referrals_tab[i].weight;
	life->referral_source_id = 1 + elt_pick(uh(pop, E_USER, index, F_REFERRAL), fw, ELT_N_REFERRALS);
	life->engagement = elt_pick(uh(pop, E_USER, index, F_ENGAGE), engage_weights, 3);
	for (int i = 0; i < ELT_N_REGIONS; i++)
		rw[i] = elt_regions_tab[i].weight;
	region_id = 1 + elt_pick(uh(pop, E_USER, index, F_REGION), rw, ELT_N_REGIONS);
	for (int i = 0; i < ELT_N_PLANS; i++)
		w[i] = elt_plans_tab[i].signup_weight;
	plan_id = 1 + elt_pick(uh(pop, E_USER, index, F_PLAN), w, ELT_N_PLANS);

	if (life->signup > horizon)
		return;
	simulate_subscriptions(pop, life, plan_id);
	build_sub_versions(life);
	build_user_versions(pop, life, region_id);
}

static int
scaled(double base, double factor, uint64_t h)
{
	/* noise 0.5 .. 1.5 around the base */
	double		v = base * factor * (0.5 + elt_unit(h));

	return (int) (v + 0.5);
}

/*
 * Usage of one user.  Quotas (api_limit, storage_limit_mb) count per monthly
 * period of each subscription; a user who exhausts one stops producing usage
 * until the next period.  A period is always walked from its first day, so
 * the rows of a day do not depend on where the caller's range starts.
 */
void
elt_life_usage(const EltPop *pop, const EltLife *life, EltDay from, EltDay to,
			   EltUsageFn fn, void *arg)
{
	double		p_active = engage_active[life->engagement];
	double		intensity = engage_intensity[life->engagement];

	if (to > life->horizon)
		to = life->horizon;
	for (int k = 0; k < life->nsegs; k++)
	{
		const EltSegment *s = &life->segs[k];
		const EltPlan *plan = elt_plan(s->plan_id);
		EltDay		last = (s->end == ELT_OPEN || s->end - 1 > to) ? to : s->end - 1;

		if (s->start > to || last < from)
			continue;
		for (int m = 0;; m++)
		{
			EltDay		pstart = elt_add_months(s->start, m);
			EltDay		pend = elt_add_months(s->start, m + 1);
			int64_t		api_left = plan->api_limit;
			int64_t		storage_left = plan->storage_limit_mb;

			if (pstart > last)
				break;
			if (pend <= from)
				continue;
			for (EltDay d = pstart; d < pend && d <= last; d++)
			{
				uint64_t	key = ((uint64_t) (uint32_t) d << 8);
				double		f;
				int			wd;
				EltUsage	u;

				if (elt_unit(uh(pop, E_USAGE, life->index, key | F_ACTIVE)) >= p_active)
					continue;
				wd = elt_weekday(d);
				/* growth within the period: up to +50 % by its last day */
				f = intensity * ((wd == 0 || wd == 6) ? WEEKEND_FACTOR : 1.0) *
					(1.0 + 0.5 * (double) (d - pstart) / (double) (pend - pstart));
				u.day = d;
				u.segment = k;
				u.actions = scaled(plan->actions_base, f, uh(pop, E_USAGE, life->index, key | F_ACTIONS));
				u.api_calls = scaled(plan->api_base, f, uh(pop, E_USAGE, life->index, key | F_API));
				u.storage_mb = scaled(plan->storage_base_mb, f, uh(pop, E_USAGE, life->index, key | F_STORAGE));
				u.minutes = 1 + scaled(plan->minutes_base, f, uh(pop, E_USAGE, life->index, key | F_MINUTES));
				if (u.api_calls > api_left)
					u.api_calls = (int) api_left;
				if (u.storage_mb > storage_left)
					u.storage_mb = (int) storage_left;
				api_left -= u.api_calls;
				storage_left -= u.storage_mb;
				if (d >= from)
					fn(arg, life, &u);
				if (api_left <= 0 || storage_left <= 0)
					break;		/* quota exhausted: silent until the next period */
			}
		}
	}
}
