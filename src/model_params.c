/*
 * model_params.c: the presets of the simulated business and the description
 * of every parameter (elt_params() shows them).  b2b is the default: a
 * sales-assisted SMB product with trials; freemium has a large free tier
 * and no trials; enterprise sells bigger plans, mostly yearly.
 */
#include "model_params.h"

#include "catalog.h"

const char *const elt_preset_names[ELT_N_PRESETS] = {"b2b", "freemium", "enterprise"};

#define OFF(field) offsetof(EltParams, field)

const EltParamDesc elt_param_descs[ELT_N_PARAMS] = {
	{"preset", ELT_PARAM_PRESET, 0, 0, 0, 0,
	"Starting point for every other parameter: b2b (default), freemium or enterprise."},
	{"signup_growth", ELT_PARAM_NUMBER, OFF(signup_growth), 0, 5, 0,
	"Yearly growth of the signup rate: 1 means twice as many signups a day after a year."},
	{"seasonality", ELT_PARAM_NUMBER, OFF(seasonality), 0, 2, 0,
	"Strength of the yearly seasons (January and September peaks, summer lull, year-end dip): 0 none, 1 normal."},
	{"weekend_activity", ELT_PARAM_NUMBER, OFF(weekend_activity), 0, 1, 0,
	"Chance of a user being active on a weekend day, relative to a weekday."},
	{"trial_days", ELT_PARAM_INTEGER, OFF(trial_days), 0, 90, 0,
	"Length of the free trial of signups on a paid plan, in days; 0 for no trials."},
	{"trial_conversion", ELT_PARAM_NUMBER, OFF(trial_conversion), 0, 1, 0,
	"Share of trials that convert to a paid subscription; the others fall back to the free plan."},
	{"annual_share", ELT_PARAM_NUMBER, OFF(annual_share), 0, 1, 0,
	"Share of new paid subscriptions billed yearly (two months free); bigger plans more often."},
	{"monthly_churn", ELT_PARAM_NUMBER, OFF(monthly_churn), 0, 0.3, 0,
	"Average monthly logo churn of monthly-billed paid accounts, voluntary and involuntary."},
	{"failed_payment_rate", ELT_PARAM_NUMBER, OFF(failed_payment_rate), 0, 0.5, 0,
	"Share of renewal payments that fail; about 70 % are recovered within the 14-day grace period, the rest churn involuntarily."},
	{"free_conversion", ELT_PARAM_NUMBER, OFF(free_conversion), 0, 0.5, 0,
	"Share of free signups that pay within a year."},
	{"discount_share", ELT_PARAM_NUMBER, OFF(discount_share), 0, 1, 0,
	"Share of new paid subscriptions with an introductory discount (10-50 % for the first months, or the first year)."},
	{"plan_mix", ELT_PARAM_MIX, OFF(plan_mix), 0, 1000, 0,
	"Plans chosen at signup: whole-number weights by plan name (names left out weigh 0)."},
	{"channel_mix", ELT_PARAM_MIX, OFF(channel_mix), 0, 1000, 1,
	"Referral sources of signups outside campaigns: weights by source name (campaigns add Paid Ads and Social Media)."},
	{"region_mix", ELT_PARAM_MIX, OFF(region_mix), 0, 1000, 2,
	"Regions of signups and of moves: weights by region name."},
};

/* elt_params_init sets every parameter to the values of a preset. */
void
elt_params_init(EltParams *p, int preset)
{
	static const int freemium_plans[ELT_N_PLANS] = {75, 13, 7, 4, 1};
	static const int enterprise_plans[ELT_N_PLANS] = {5, 10, 30, 35, 20};
	static const int freemium_channels[ELT_N_REFERRALS] = {35, 25, 25, 15};
	static const int enterprise_channels[ELT_N_REFERRALS] = {25, 30, 5, 40};

	/* b2b */
	p->signup_growth = 1.0;
	p->seasonality = 1.0;
	p->weekend_activity = 0.42;
	p->trial_days = 14;
	p->trial_conversion = 0.25;
	p->annual_share = 0.25;
	p->monthly_churn = 0.04;
	p->failed_payment_rate = 0.05;
	p->free_conversion = 0.05;
	p->discount_share = 0.2;
	for (int i = 0; i < ELT_N_PLANS; i++)
		p->plan_mix[i] = elt_plans_tab[i].signup_weight;
	for (int i = 0; i < ELT_N_REFERRALS; i++)
		p->channel_mix[i] = elt_referrals_tab[i].weight;
	for (int i = 0; i < ELT_N_REGIONS; i++)
		p->region_mix[i] = elt_regions_tab[i].weight;

	if (preset == 1)
	{
		p->signup_growth = 1.5;
		p->trial_days = 0;
		p->annual_share = 0.15;
		p->monthly_churn = 0.05;
		p->failed_payment_rate = 0.06;
		p->free_conversion = 0.04;
		p->discount_share = 0.1;
		for (int i = 0; i < ELT_N_PLANS; i++)
			p->plan_mix[i] = freemium_plans[i];
		for (int i = 0; i < ELT_N_REFERRALS; i++)
			p->channel_mix[i] = freemium_channels[i];
	}
	else if (preset == 2)
	{
		p->signup_growth = 0.5;
		p->weekend_activity = 0.25;
		p->trial_days = 30;
		p->trial_conversion = 0.3;
		p->annual_share = 0.5;
		p->monthly_churn = 0.02;
		p->failed_payment_rate = 0.03;
		p->free_conversion = 0.06;
		p->discount_share = 0.3;
		for (int i = 0; i < ELT_N_PLANS; i++)
			p->plan_mix[i] = enterprise_plans[i];
		for (int i = 0; i < ELT_N_REFERRALS; i++)
			p->channel_mix[i] = enterprise_channels[i];
	}
}

/* elt_mix_size gives the number of weights of a mix. */
int
elt_mix_size(int mix)
{
	return mix == 0 ? ELT_N_PLANS : mix == 1 ? ELT_N_REFERRALS : ELT_N_REGIONS;
}

/* elt_mix_name gives the name of weight i of a mix: the lookup's name. */
const char *
elt_mix_name(int mix, int i)
{
	if (mix == 0)
		return elt_plans_tab[i].name;
	if (mix == 1)
		return elt_referrals_tab[i].name;
	return elt_regions_tab[i].name;
}
