/*
 * model_priv.h: what the files of the model share (hash coordinates,
 * deterministic distributions, the calendar of holidays).  Plain C.
 *
 * Floating point is limited to +, -, *, / and sqrt, which IEEE 754 rounds
 * exactly, so results are identical on every platform: exp is computed
 * here from those operations rather than taken from libm.
 */
#ifndef ELT_MODEL_PRIV_H
#define ELT_MODEL_PRIV_H

#include <math.h>
#include <stddef.h>

#include "dates.h"
#include "model.h"
#include "rng.h"

/* Entities and fields of the hash coordinates. */
enum
{
	E_USER = 1, E_SUB, E_USAGE, E_EMAIL, E_REGION, E_IDKEY, E_SIGNUPCAL
};
enum
{
	F_SIGNUP = 1, F_FIRST, F_LAST, F_REFERRAL, F_REGION, F_PLAN, F_ENGAGE,
	F_PAYMENT, F_CONVERT, F_CONVERT_PLAN, F_FATE, F_CANCEL, F_CHANGE_UP,
	F_REACTIVATE, F_REACT_GAP, F_REACT_PLAN, F_EMAIL_EVENT, F_EMAIL_DAY,
	F_EMAIL_DOMAIN, F_REGION_EVENT, F_REGION_DAY, F_REGION_NEW,
	F_ACTIVE, F_ACTIONS, F_API, F_STORAGE, F_MINUTES,
	/* model version 2 */
	F_CAMPAIGN, F_REFERRAL_CAMPAIGN, F_MAGNITUDE, F_FADE, F_FADE_DAY,
	F_CHANGE, F_DAYMAG,
	/* model version 3 */
	F_TRIAL, F_ANNUAL, F_DISCOUNT, F_SEATS, F_PAYFAIL, F_RECOVER, F_DAYACTIVE, F_COHORT,
	/* model version 4 */
	F_STORAGE_MONTH, F_CLEANUP
};

#include "catalog.h"

/* grows one of a life's arrays to hold one more element */
#define ELT_GROW(life, arr, n, cap) \
	do { \
		if ((life)->n >= (life)->cap) \
		{ \
			(life)->cap = (life)->cap ? (life)->cap * 2 : 16; \
			(life)->arr = (life)->grow((life)->arr, sizeof(*(life)->arr) * (life)->cap); \
		} \
	} while (0)

/* the user's versions, from the subscriptions and drawn attribute changes (model_versions.c) */
extern void elt_build_user_versions(const EltPop *pop, EltLife *life, int region_id);

/* Engagement levels: heavy, moderate, light (the signup mix is 15/40/45). */
#define ELT_N_LEVELS 3
#define ELT_HOLIDAY_ACTIVE 0.35
#define ELT_MAGNITUDE_SIGMA 1.3	/* log-sd of account size: p99/p50 about 20 */
#define ELT_API_SCALE 0.6		/* a median account uses a small share of its API quota */

/* Chance to be active on a working day, per level: heavy, moderate, light. */
static inline double
elt_level_active(int level)
{
	return level == 0 ? 0.97 : level == 1 ? 0.52 : 0.15;
}

/* Share of days active on average (weekends included), per level. */
static inline double
elt_level_days(const EltPop *pop, int level)
{
	return elt_level_active(level) * (5.0 + 2.0 * pop->params.weekend_activity) / 7.0;
}

/* Usage of an active day relative to the plan's base, per level. */
static inline double
elt_level_intensity(int level)
{
	return level == 0 ? 1.5 : level == 1 ? 1.0 : 0.6;
}

/*
 * elt_size_step scales an account's usage on plan_id relative to the plan
 * its size was drawn for: usage follows the account, not the plan, so an
 * upgrade relieves the quota (x2 per step up, /2 per step down) while the
 * limits grow 5-10x per step.
 */
static inline double
elt_size_step(int plan_id, int home_plan)
{
	double		f = 1.0;

	for (int p = home_plan; p < plan_id; p++)
		f *= 2.0;
	for (int p = plan_id; p < home_plan; p++)
		f *= 0.5;
	return f;
}

/* Expected API calls of a month against the plan's quota (1 = exhausts it). */
static inline double
elt_quota_pressure(const EltPop *pop, const EltLife *life, const EltSegment *s)
{
	const EltPlan *home = elt_plan(s->home_plan);
	const EltPlan *plan = elt_plan(s->plan_id);

	if (plan->api_limit <= 0)
		return 0.0;
	return (double) home->api_base * ELT_API_SCALE * elt_size_step(s->plan_id, s->home_plan) * life->magnitude *
		elt_level_intensity(life->engagement) * elt_level_days(pop, life->engagement) * 30.0 * 1.25 /
		(double) plan->api_limit;
}

/*
 * Storage an account adds in an average month (model_usage.c draws each
 * month around it): days' worth of its size's storage base, less on Free,
 * which keeps data for 7 days.
 */
#define ELT_STORAGE_MONTHS 2.5
#define ELT_STORAGE_FREE 0.5
#define ELT_STORAGE_IMPORT 3.0	/* the first month imports the account's data */
static inline double
elt_storage_rate(const EltLife *life, const EltSegment *s)
{
	return elt_plan(s->home_plan)->storage_base_mb * ELT_STORAGE_MONTHS * elt_level_intensity(life->engagement) *
		elt_size_step(s->plan_id, s->home_plan) * sqrt(life->magnitude) *
		(s->plan_id == ELT_PLAN_FREE ? ELT_STORAGE_FREE : 1.0);
}

/*
 * Storage an account of this size would hold by day d against the plan's
 * limit, ignoring clean-ups (1 = full): the storage reason to upgrade.
 */
static inline double
elt_storage_pressure(const EltLife *life, const EltSegment *s, EltDay d)
{
	const EltPlan *plan = elt_plan(s->plan_id);

	if (plan->storage_limit_mb <= 0)
		return 0.0;
	return elt_storage_rate(life, s) * ((double) (d - life->signup) / 30.4 + ELT_STORAGE_IMPORT - 1.0) /
		(double) plan->storage_limit_mb;
}

static inline uint64_t
elt_uh(const EltPop *pop, int entity, int64_t index, uint64_t field)
{
	return elt_hash(pop->seed, (uint64_t) entity, (uint64_t) index, field);
}

/* Coordinates of a draw about subscription k, period m. */
static inline uint64_t
elt_sub_field(int field, int k, int m)
{
	return ((uint64_t) field << 48) | ((uint64_t) k << 32) | (uint32_t) m;
}

/*
 * exp(x) with +, -, * and / only (exactly reproducible): halve x into
 * [-1/2, 1/2], sum the Taylor series there, square back.  Relative error
 * about 1e-15 * 2^halvings, ample for a simulation.
 */
static inline double
elt_exp(double x)
{
	int			k = 0;
	double		r;

	while (x > 0.5 || x < -0.5)
	{
		x *= 0.5;
		k++;
	}
	r = 1.0 + x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 *
		(1.0 + x / 6.0 * (1.0 + x / 7.0 * (1.0 + x / 8.0 * (1.0 + x / 9.0))))))));
	while (k-- > 0)
		r *= r;
	return r;
}

/*
 * A standard normal deviate from one hash (Irwin-Hall of four 16-bit
 * uniforms, rescaled to variance 1): one hash per draw, tails cut at 3.46.
 */
static inline double
elt_normal(uint64_t h)
{
	double		s = 0.0;

	for (int i = 0; i < 4; i++)
		s += ((double) ((h >> (16 * i)) & 0xffff) + 0.5) * (1.0 / 65536.0);
	return (s - 2.0) * 1.7320508075688772;
}

/* A lognormal factor with mean 1 and log-sd sigma. */
static inline double
elt_lognormal(uint64_t h, double sigma)
{
	return elt_exp(sigma * elt_normal(h) - 0.5 * sigma * sigma);
}

/* elt_user_version_on returns the ordinal of the user version valid on
 * day d, or -1 when none is. */
static inline int
elt_user_version_on(const EltLife *life, EltDay d)
{
	for (int v = 0; v < life->nuvers; v++)
		if (life->uvers[v].valid_from <= d && d < life->uvers[v].valid_to)
			return elt_user_version_ordinal(life, v);
	return -1;
}

/* elt_sub_version_on returns the ordinal, among the versions of
 * subscription (segment) seg, of the one valid on day d, or -1. */
static inline int
elt_sub_version_on(const EltLife *life, int seg, EltDay d)
{
	for (int v = 0; v < life->nsvers; v++)
		if (life->svers[v].segment == seg && life->svers[v].valid_from <= d && d < life->svers[v].valid_to)
			return elt_sub_version_ordinal(life, v);
	return -1;
}

/*
 * elt_trial_converted says whether subscription (segment) g's trial
 * converted: the version starting on the trial's end pays.  *started says
 * whether it had a trial with a version at all (a trial counts as started
 * only then).
 */
static inline bool
elt_trial_converted(const EltLife *life, int g, bool *started)
{
	bool		paid = false;

	*started = false;
	if (life->segs[g].trial_end == ELT_OPEN)
		return false;
	for (int v = 0; v < life->nsvers; v++)
		if (life->svers[v].segment == g)
		{
			*started = true;
			paid |= life->svers[v].valid_from == life->segs[g].trial_end && life->svers[v].mrr_cents > 0;
		}
	return paid;
}

/*
 * elt_segment_order fills order with the user's subscriptions (segments)
 * by start date, then subscription id: the order in which the marts take
 * "the user's previous subscription".
 */
static inline void
elt_segment_order(const EltPop *pop, const EltLife *life, int *order)
{
	for (int g = 0; g < life->nsegs; g++)
	{
		EltDay		gs = life->segs[g].start;
		uint64_t	gid = elt_subscription_id(pop, life->index, life->segs[g].ordinal);
		int			i;

		for (i = g; i > 0; i--)
		{
			const EltSegment *a = &life->segs[order[i - 1]];

			if (a->start < gs || (a->start == gs && elt_subscription_id(pop, life->index, a->ordinal) < gid))
				break;
			order[i] = order[i - 1];
		}
		order[i] = g;
	}
}

#endif
