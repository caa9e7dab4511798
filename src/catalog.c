/*
 * catalog.c: values of the static lookups.  Names and limits follow the
 * reference Faker/dlt/dbt pipeline; mixes are the shares new draws use.
 */
#include "catalog.h"

const EltLookup elt_regions_tab[ELT_N_REGIONS] = {
	{1, "North America", 35},
	{2, "Europe", 28},
	{3, "Asia", 20},
	{4, "South America", 8},
	{5, "Africa", 4},
	{6, "Oceania", 5},
};

const EltLookup elt_referrals_tab[ELT_N_REFERRALS] = {
	{1, "Web Search", 20},
	{2, "Paid Ads", 45},
	{3, "Social Media", 10},
	{4, "Friend", 25},
};

/* Paid subscriptions draw 60/30/10; free ones always get N/A. */
const EltLookup elt_payments_tab[ELT_N_PAYMENTS] = {
	{1, "Credit Card", 60},
	{2, "PayPal", 30},
	{3, "Bank Transfer", 10},
	{4, "N/A", 0},
};

/*
 * Usage bases: a heavy user (active 92 % of days, intensity 1.5, +25 % growth
 * on average) spends about 90 % of a paid plan's monthly quotas, so paid users
 * sometimes, and free users often, run out before the period ends.
 */
const EltPlan elt_plans_tab[ELT_N_PLANS] = {
	/* id name price users api storage projects mix | actions api storage minutes */
	{1, "Free", 0, 2, 100, 500, 3, 33, 8, 6, 12, 20},
	{2, "Starter", 15, 5, 1000, 5000, 10, 27, 20, 17, 85, 45},
	{3, "Professional", 49, 20, 10000, 50000, 50, 18, 45, 175, 850, 80},
	{4, "Business", 99, 100, 50000, 200000, 200, 16, 90, 850, 3400, 140},
	{5, "Enterprise", 299, -1, 250000, 1000000, -1, 6, 180, 4300, 17000, 240},
};

/* Each plan lists its own features (5 + 7 + 9 + 10 + 12 = 43 rows). */
const EltFeature elt_features_tab[ELT_N_FEATURES] = {
	{1, 1, "Basic Dashboard"},
	{2, 1, "Task Management"},
	{3, 1, "Mobile App"},
	{4, 1, "Email Notifications"},
	{5, 1, "Community Support"},

	{6, 2, "Basic Dashboard"},
	{7, 2, "Task Management"},
	{8, 2, "Mobile App"},
	{9, 2, "Email Notifications"},
	{10, 2, "Email Support"},
	{11, 2, "File Sharing"},
	{12, 2, "Calendar Integration"},

	{13, 3, "Advanced Dashboard"},
	{14, 3, "Task Management"},
	{15, 3, "Mobile App"},
	{16, 3, "Email Notifications"},
	{17, 3, "Priority Email Support"},
	{18, 3, "File Sharing"},
	{19, 3, "Calendar Integration"},
	{20, 3, "API Access"},
	{21, 3, "Custom Reports"},

	{22, 4, "Advanced Dashboard"},
	{23, 4, "Task Management"},
	{24, 4, "Mobile App"},
	{25, 4, "Email Notifications"},
	{26, 4, "Phone Support"},
	{27, 4, "File Sharing"},
	{28, 4, "API Access"},
	{29, 4, "Custom Reports"},
	{30, 4, "Team Permissions"},
	{31, 4, "Audit Log"},

	{32, 5, "Advanced Dashboard"},
	{33, 5, "Task Management"},
	{34, 5, "Mobile App"},
	{35, 5, "Email Notifications"},
	{36, 5, "Dedicated Account Manager"},
	{37, 5, "File Sharing"},
	{38, 5, "API Access"},
	{39, 5, "Custom Reports"},
	{40, 5, "Team Permissions"},
	{41, 5, "Audit Log"},
	{42, 5, "Single Sign-On"},
	{43, 5, "99.9% Uptime SLA"},
};
