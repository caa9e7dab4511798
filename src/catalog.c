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
	{5, "Enterprise", 299, -1, 250000, 1000000, -1, 6, 180, 3000, 17000, 240},
};

/*
 * Each plan lists its own features, as the reference pipeline's lists do
 * (4 + 5 + 8 + 11 + 15 = 43 rows).
 */
const EltFeature elt_features_tab[ELT_N_FEATURES] = {
	{1, 1, "Community Support"},
	{2, 1, "Basic Dashboard"},
	{3, 1, "Email Notifications"},
	{4, 1, "7-Day Data Retention"},

	{5, 2, "Email Support (48h Response)"},
	{6, 2, "Advanced Dashboard"},
	{7, 2, "Slack Integration"},
	{8, 2, "30-Day Data Retention"},
	{9, 2, "Export to CSV/Excel"},

	{10, 3, "Priority Email Support (24h Response)"},
	{11, 3, "Custom Dashboards"},
	{12, 3, "Slack + Google Drive + Dropbox Integration"},
	{13, 3, "90-Day Data Retention"},
	{14, 3, "API Access"},
	{15, 3, "Webhooks"},
	{16, 3, "2FA Authentication"},
	{17, 3, "Team Collaboration Tools"},

	{18, 4, "24/7 Chat + Email Support"},
	{19, 4, "Dedicated Account Manager"},
	{20, 4, "All Integrations (Zapier, Jira, Salesforce, etc.)"},
	{21, 4, "1-Year Data Retention"},
	{22, 4, "Advanced API Access"},
	{23, 4, "Custom Webhooks"},
	{24, 4, "SSO (SAML/OAuth)"},
	{25, 4, "Role-Based Access Control (RBAC)"},
	{26, 4, "Audit Logs"},
	{27, 4, "99.9% Uptime SLA"},
	{28, 4, "White-Label Reports"},

	{29, 5, "24/7 Phone + Chat + Email Support"},
	{30, 5, "Dedicated Success Engineer"},
	{31, 5, "Custom Integrations"},
	{32, 5, "Unlimited Data Retention"},
	{33, 5, "Unlimited API Access"},
	{34, 5, "Custom Webhooks + Event Streaming"},
	{35, 5, "Advanced SSO (SAML/OAuth/LDAP)"},
	{36, 5, "Advanced RBAC + Permissions"},
	{37, 5, "Real-Time Audit Logs"},
	{38, 5, "99.99% Uptime SLA"},
	{39, 5, "Custom SLA Available"},
	{40, 5, "White-Label Platform"},
	{41, 5, "On-Premise Deployment Option"},
	{42, 5, "AI-Powered Analytics"},
	{43, 5, "Custom Training Sessions"},
};
