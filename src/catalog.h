/*
 * catalog.h: the static lookups of the simulated SaaS (regions, referral
 * sources, payment methods, plans, plan features) and the mixes the model
 * draws from.  Plain C: no PostgreSQL headers, so the model can use it too.
 */
#ifndef ELT_CATALOG_H
#define ELT_CATALOG_H

#include <stdint.h>

typedef struct EltLookup
{
	int			id;
	const char *name;
	int			weight;			/* share in percent of new draws (0: never drawn) */
} EltLookup;

/* -1 in a limit means unlimited (NULL in SQL). */
typedef struct EltPlan
{
	int			id;
	const char *name;
	int			monthly_price;	/* whole dollars */
	int			max_users;
	int			api_limit;		/* per month */
	int			storage_limit_mb;	/* per month */
	int			project_limit;
	int			signup_weight;	/* initial plan mix, percent */
	/* usage magnitudes of an active day, before engagement/weekend/growth */
	int			actions_base;
	int			api_base;
	int			storage_base_mb;
	int			minutes_base;
} EltPlan;

typedef struct EltFeature
{
	int			id;
	int			plan_id;
	const char *name;
} EltFeature;

#define ELT_N_REGIONS 6
#define ELT_N_REFERRALS 4
#define ELT_N_PAYMENTS 4
#define ELT_N_PLANS 5
#define ELT_N_FEATURES 43

#define ELT_PLAN_FREE 1
#define ELT_PLAN_ENTERPRISE 5
#define ELT_PAYMENT_NA 4

extern const EltLookup elt_regions_tab[ELT_N_REGIONS];
extern const EltLookup elt_referrals_tab[ELT_N_REFERRALS];
extern const EltLookup elt_payments_tab[ELT_N_PAYMENTS];
extern const EltPlan elt_plans_tab[ELT_N_PLANS];
extern const EltFeature elt_features_tab[ELT_N_FEATURES];

static inline const EltPlan *
elt_plan(int plan_id)
{
	return &elt_plans_tab[plan_id - 1];
}

#endif
