-- elt_mart: the star schema for BI tools.  The tables are extension members
-- created here; the builders (31_mart_builders.sql to 34_mart_build.sql) only fill them.
--
-- Keys are deterministic, whatever the build order:
--   date_key         = yyyymmdd
--   plan_key         = plan_id
--   user_key         = user_id * 65536 + version ordinal (0-based, by valid_from)
--   subscription_key = subscription_id * 65536 + version ordinal
-- Every dimension has an "Unknown" member with key -1; a fact row whose
-- lookup fails points at it, so inner joins never drop fact rows.  Those rows
-- are created here (not by pg_dump) and so are left out of the dumped data.

CREATE TABLE elt_mart.dim_date (
    date_key      integer  PRIMARY KEY,
    date          date     UNIQUE,
    year          smallint,
    quarter       smallint,
    month         smallint,
    month_name    text     NOT NULL,
    year_month    text     NOT NULL,
    month_start   date,
    month_end     date,
    day_of_month  smallint,
    day_of_week   smallint,
    day_name      text     NOT NULL,
    iso_year      smallint,
    iso_week      smallint,
    is_weekend    boolean,
    is_month_end  boolean,
    CHECK (date_key = -1 OR date IS NOT NULL)
);
COMMENT ON TABLE elt_mart.dim_date IS
'Calendar: one row per day of the simulated window (from the start date through the simulated today), plus an Unknown day with key -1.';
COMMENT ON COLUMN elt_mart.dim_date.date_key IS 'Key of the day as a number yyyymmdd (e.g. 20250131); -1 for the Unknown day.';
COMMENT ON COLUMN elt_mart.dim_date.date IS 'The calendar day.';
COMMENT ON COLUMN elt_mart.dim_date.year IS 'Calendar year.';
COMMENT ON COLUMN elt_mart.dim_date.quarter IS 'Calendar quarter, 1 to 4.';
COMMENT ON COLUMN elt_mart.dim_date.month IS 'Month number, 1 (January) to 12 (December).';
COMMENT ON COLUMN elt_mart.dim_date.month_name IS 'Month name in English, e.g. January.';
COMMENT ON COLUMN elt_mart.dim_date.year_month IS 'Year and month as text yyyy-mm, for grouping and sorting by month.';
COMMENT ON COLUMN elt_mart.dim_date.month_start IS 'First day of the month.';
COMMENT ON COLUMN elt_mart.dim_date.month_end IS 'Last day of the month.';
COMMENT ON COLUMN elt_mart.dim_date.day_of_month IS 'Day of the month, 1 to 31.';
COMMENT ON COLUMN elt_mart.dim_date.day_of_week IS 'Day of the week, 1 (Monday) to 7 (Sunday).';
COMMENT ON COLUMN elt_mart.dim_date.day_name IS 'Name of the weekday in English, e.g. Monday.';
COMMENT ON COLUMN elt_mart.dim_date.iso_year IS 'Year of the ISO week the day belongs to.';
COMMENT ON COLUMN elt_mart.dim_date.iso_week IS 'ISO week number, 1 to 53.';
COMMENT ON COLUMN elt_mart.dim_date.is_weekend IS 'True on Saturdays and Sundays.';
COMMENT ON COLUMN elt_mart.dim_date.is_month_end IS 'True on the last day of a month (the day monthly MRR is measured).';

CREATE TABLE elt_mart.dim_plan (
    plan_key         integer PRIMARY KEY,
    plan_id          integer NOT NULL UNIQUE,
    plan_name        text    NOT NULL,
    monthly_price    numeric(10,2) CHECK (monthly_price >= 0),
    annual_price     numeric(12,2) CHECK (annual_price >= 0),
    is_paid          boolean,
    max_users        integer,
    api_limit        integer,
    storage_limit_mb integer,
    project_limit    integer,
    feature_count    integer NOT NULL CHECK (feature_count >= 0),
    features         text    NOT NULL
);
COMMENT ON TABLE elt_mart.dim_plan IS
'Subscription plans: one row per plan with its price, limits and features, plus an Unknown plan with key -1.';
COMMENT ON COLUMN elt_mart.dim_plan.plan_key IS 'Key of the plan (equal to the plan id); -1 for the Unknown plan.';
COMMENT ON COLUMN elt_mart.dim_plan.plan_id IS 'Plan id in the source system.';
COMMENT ON COLUMN elt_mart.dim_plan.plan_name IS 'Plan name: Free, Starter, Professional, Business or Enterprise.';
COMMENT ON COLUMN elt_mart.dim_plan.monthly_price IS 'List price per month in USD; 0 for the free plan.';
COMMENT ON COLUMN elt_mart.dim_plan.annual_price IS 'Twelve times the monthly price, in USD.';
COMMENT ON COLUMN elt_mart.dim_plan.is_paid IS 'True when the plan costs money (price above 0).';
COMMENT ON COLUMN elt_mart.dim_plan.max_users IS 'Team members allowed on the plan; empty means unlimited.';
COMMENT ON COLUMN elt_mart.dim_plan.api_limit IS 'API calls allowed per monthly period; empty means unlimited.';
COMMENT ON COLUMN elt_mart.dim_plan.storage_limit_mb IS 'Storage an account may hold on this plan, in MB; empty means unlimited.';
COMMENT ON COLUMN elt_mart.dim_plan.project_limit IS 'Projects allowed on the plan; empty means unlimited.';
COMMENT ON COLUMN elt_mart.dim_plan.feature_count IS 'Number of features included in the plan.';
COMMENT ON COLUMN elt_mart.dim_plan.features IS 'The features included in the plan, as a comma-separated list.';

CREATE TABLE elt_mart.dim_user (
    user_key             bigint  PRIMARY KEY,
    user_id              bigint  NOT NULL,
    version_ordinal      integer NOT NULL CHECK (version_ordinal >= 0),
    first_name           text    NOT NULL,
    last_name            text    NOT NULL,
    full_name            text    NOT NULL,
    email                text    NOT NULL,
    signup_date          date,
    plan_id              integer NOT NULL,
    plan_name            text    NOT NULL,
    region_id            integer NOT NULL,
    region_name          text    NOT NULL,
    referral_source_id   integer NOT NULL,
    referral_source_name text    NOT NULL,
    valid_from           timestamptz NOT NULL,
    valid_to             timestamptz,
    is_current           boolean NOT NULL,
    CHECK (valid_to > valid_from)
);
-- Not unique indexes: a rebuild rewrites versions in place, one statement.
CREATE INDEX dim_user_user_idx ON elt_mart.dim_user (user_id, valid_from);
COMMENT ON TABLE elt_mart.dim_user IS
'Users with their history: one row per version of a user (slowly changing dimension type 2). A new version starts when the plan, email or region changes. Plus an Unknown user with key -1.';
COMMENT ON COLUMN elt_mart.dim_user.user_key IS 'Key of this version of the user: user id * 65536 + version number; -1 for the Unknown user.';
COMMENT ON COLUMN elt_mart.dim_user.user_id IS 'User id in the source system (the same for all versions of a user).';
COMMENT ON COLUMN elt_mart.dim_user.version_ordinal IS 'Version number of the user, 0 for the first, in order of validity.';
COMMENT ON COLUMN elt_mart.dim_user.first_name IS 'First name.';
COMMENT ON COLUMN elt_mart.dim_user.last_name IS 'Last name.';
COMMENT ON COLUMN elt_mart.dim_user.full_name IS 'First and last name.';
COMMENT ON COLUMN elt_mart.dim_user.email IS 'Email address in this version.';
COMMENT ON COLUMN elt_mart.dim_user.signup_date IS 'Day the user signed up.';
COMMENT ON COLUMN elt_mart.dim_user.plan_id IS 'Plan id of the user''s latest subscription in this version (churned users keep their last plan).';
COMMENT ON COLUMN elt_mart.dim_user.plan_name IS 'Name of that plan.';
COMMENT ON COLUMN elt_mart.dim_user.region_id IS 'Region id in this version.';
COMMENT ON COLUMN elt_mart.dim_user.region_name IS 'Region name: North America, Europe, Asia, South America, Africa or Oceania.';
COMMENT ON COLUMN elt_mart.dim_user.referral_source_id IS 'Id of the channel through which the user signed up.';
COMMENT ON COLUMN elt_mart.dim_user.referral_source_name IS 'Channel through which the user signed up: Web Search, Paid Ads, Social Media or Friend.';
COMMENT ON COLUMN elt_mart.dim_user.valid_from IS 'Start of this version (midnight UTC of the day of the change), included.';
COMMENT ON COLUMN elt_mart.dim_user.valid_to IS 'End of this version, excluded; empty for the current version.';
COMMENT ON COLUMN elt_mart.dim_user.is_current IS 'True for the user''s current version.';

CREATE TABLE elt_mart.dim_subscription (
    subscription_key    bigint  PRIMARY KEY,
    subscription_id     bigint  NOT NULL,
    version_ordinal     integer NOT NULL CHECK (version_ordinal >= 0),
    user_id             bigint  NOT NULL,
    plan_id             integer NOT NULL,
    plan_name           text    NOT NULL,
    monthly_price       numeric(10,2) CHECK (monthly_price >= 0),
    is_paid             boolean,
    payment_method_id   integer NOT NULL,
    payment_method_name text    NOT NULL,
    status              text    NOT NULL,
    start_date          date,
    end_date            date,
    renewal_count       integer NOT NULL CHECK (renewal_count >= 0),
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz,
    is_current          boolean NOT NULL,
    CHECK (valid_to > valid_from)
);
CREATE INDEX dim_subscription_subscription_idx ON elt_mart.dim_subscription (subscription_id, valid_from);
CREATE INDEX dim_subscription_user_idx ON elt_mart.dim_subscription (user_id);
COMMENT ON TABLE elt_mart.dim_subscription IS
'Subscriptions with their history: one row per version of a subscription (slowly changing dimension type 2). A new version starts on every start, monthly renewal, cancellation and expiry. Plus an Unknown subscription with key -1.';
COMMENT ON COLUMN elt_mart.dim_subscription.subscription_key IS 'Key of this version of the subscription: subscription id * 65536 + version number; -1 for the Unknown subscription.';
COMMENT ON COLUMN elt_mart.dim_subscription.subscription_id IS 'Subscription id in the source system (the same for all its versions).';
COMMENT ON COLUMN elt_mart.dim_subscription.version_ordinal IS 'Version number of the subscription, 0 for the first, in order of validity.';
COMMENT ON COLUMN elt_mart.dim_subscription.user_id IS 'Id of the user who holds the subscription.';
COMMENT ON COLUMN elt_mart.dim_subscription.plan_id IS 'Plan id of the subscription (one subscription stays on one plan).';
COMMENT ON COLUMN elt_mart.dim_subscription.plan_name IS 'Name of the plan.';
COMMENT ON COLUMN elt_mart.dim_subscription.monthly_price IS 'Monthly list price of the plan in USD; 0 for free.';
COMMENT ON COLUMN elt_mart.dim_subscription.is_paid IS 'True when the plan costs money.';
COMMENT ON COLUMN elt_mart.dim_subscription.payment_method_id IS 'Id of the payment method.';
COMMENT ON COLUMN elt_mart.dim_subscription.payment_method_name IS 'Payment method: Credit Card, PayPal, Bank Transfer, or N/A for free plans.';
COMMENT ON COLUMN elt_mart.dim_subscription.status IS 'active (running), cancelled (the user churned; usable until the end date) or expired (replaced by a subscription on another plan).';
COMMENT ON COLUMN elt_mart.dim_subscription.start_date IS 'First day covered by the subscription.';
COMMENT ON COLUMN elt_mart.dim_subscription.end_date IS 'First day no longer covered (for a running paid subscription: the day it is paid through, excluded); empty for an open free subscription.';
COMMENT ON COLUMN elt_mart.dim_subscription.renewal_count IS 'Monthly renewals so far in this version.';
COMMENT ON COLUMN elt_mart.dim_subscription.valid_from IS 'Start of this version (midnight UTC of the day of the change), included.';
COMMENT ON COLUMN elt_mart.dim_subscription.valid_to IS 'End of this version, excluded; empty for the current version.';
COMMENT ON COLUMN elt_mart.dim_subscription.is_current IS 'True for the current version of the subscription.';

CREATE TABLE elt_mart.fct_usage_daily (
    usage_date             date    NOT NULL,
    subscription_id        bigint  NOT NULL,
    date_key               integer NOT NULL REFERENCES elt_mart.dim_date,
    user_key               bigint  NOT NULL REFERENCES elt_mart.dim_user,
    subscription_key       bigint  NOT NULL REFERENCES elt_mart.dim_subscription,
    plan_key               integer NOT NULL REFERENCES elt_mart.dim_plan,
    user_id                bigint  NOT NULL,
    usage_id               bigint  NOT NULL,
    actions_performed      integer NOT NULL CHECK (actions_performed >= 0),
    storage_used_mb        integer NOT NULL CHECK (storage_used_mb >= 0),
    api_calls              integer NOT NULL CHECK (api_calls >= 0),
    active_minutes         integer NOT NULL CHECK (active_minutes >= 0),
    period_start           date,
    period_api_calls       bigint  CHECK (period_api_calls >= 0),
    period_storage_used_mb bigint  CHECK (period_storage_used_mb >= 0),
    api_quota_used_pct     numeric(9,2) CHECK (api_quota_used_pct >= 0),
    storage_quota_used_pct numeric(9,2) CHECK (storage_quota_used_pct >= 0),
    PRIMARY KEY (usage_date, subscription_id)
);
-- One secondary index, for drill-down to a user's usage.  Days are served by
-- the primary key (it leads with usage_date); plans have five values; an
-- index on subscription_key would cost a quarter of a full build's time
-- (random inserts) for a drill-down that usage_date or user_key serve too.
CREATE INDEX fct_usage_daily_user_idx ON elt_mart.fct_usage_daily (user_key);
COMMENT ON TABLE elt_mart.fct_usage_daily IS
'Daily product usage: one row per subscription and day on which its user was active, linked to the versions of the user and subscription valid that day, with the share of the monthly API and storage quotas used so far.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.usage_date IS 'Day of the usage.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.subscription_id IS 'Id of the subscription covering that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.date_key IS 'Day of the usage (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.user_key IS 'Version of the user valid on that day (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.subscription_key IS 'Version of the subscription valid on that day (links to dim_subscription).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.plan_key IS 'Plan the usage counts against (links to dim_plan).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.user_id IS 'Id of the user.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.usage_id IS 'Id of the usage record in the source system.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.actions_performed IS 'Actions the user performed that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_used_mb IS 'Storage the account held that day, in MB (a level: it grows with use, drops at clean-ups, and stops at the plan''s storage limit).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.api_calls IS 'API calls the user made that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.active_minutes IS 'Minutes the user was active that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_start IS 'First day of the subscription''s monthly quota period containing that day (the start date plus whole months).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_api_calls IS 'API calls in the quota period up to and including that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_storage_used_mb IS 'Peak storage held in the quota period up to and including that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.api_quota_used_pct IS 'API calls in the period so far as a percentage of the plan''s monthly API limit; empty when unlimited or unknown.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_quota_used_pct IS 'Storage held that day as a percentage of the plan''s storage limit; empty when unlimited or unknown.';

CREATE TABLE elt_mart.fct_mrr_monthly (
    month_start      date    NOT NULL,
    user_id          bigint  NOT NULL,
    date_key         integer NOT NULL REFERENCES elt_mart.dim_date,
    user_key         bigint  NOT NULL REFERENCES elt_mart.dim_user,
    plan_key         integer NOT NULL REFERENCES elt_mart.dim_plan,
    mrr              numeric(12,2) NOT NULL CHECK (mrr >= 0),
    previous_mrr     numeric(12,2) NOT NULL CHECK (previous_mrr >= 0),
    mrr_change       numeric(12,2) NOT NULL,
    movement         text    NOT NULL CHECK (movement IN
                         ('new', 'expansion', 'contraction', 'churn', 'reactivation', 'retained')),
    new_mrr          numeric(12,2) NOT NULL CHECK (new_mrr >= 0),
    expansion_mrr    numeric(12,2) NOT NULL CHECK (expansion_mrr >= 0),
    contraction_mrr  numeric(12,2) NOT NULL CHECK (contraction_mrr <= 0),
    churned_mrr      numeric(12,2) NOT NULL CHECK (churned_mrr <= 0),
    reactivation_mrr numeric(12,2) NOT NULL CHECK (reactivation_mrr >= 0),
    PRIMARY KEY (month_start, user_id),
    CHECK (mrr_change = mrr - previous_mrr),
    CHECK (new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr = mrr_change)
);
CREATE INDEX fct_mrr_monthly_date_idx ON elt_mart.fct_mrr_monthly (date_key);
CREATE INDEX fct_mrr_monthly_user_idx ON elt_mart.fct_mrr_monthly (user_key);
CREATE INDEX fct_mrr_monthly_user_id_idx ON elt_mart.fct_mrr_monthly (user_id, month_start);
CREATE INDEX fct_mrr_monthly_plan_idx ON elt_mart.fct_mrr_monthly (plan_key);
COMMENT ON TABLE elt_mart.fct_mrr_monthly IS
'Monthly recurring revenue: one row per user and month in which the user pays, plus the month in which the user churns (MRR 0). MRR is measured on the last day of the month; the current month''s rows hold MRR as of the latest day loaded (the simulated today, elt.settings.clock) and change only where a refresh changed them. The movement follows ChartMogul: new, expansion, contraction, churn, reactivation, retained.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.month_start IS 'First day of the month.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.user_id IS 'Id of the user.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.date_key IS 'The month (links to dim_date): its first day, or the first day of the window in the window''s first month. MRR is measured on the month''s last day, or on the latest day loaded (the simulated today) in the current month.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.user_key IS 'Version of the user valid on the measurement day (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.plan_key IS 'Plan the user pays for on the measurement day; in a churn month the plan the user paid for the month before (links to dim_plan).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.mrr IS 'Monthly recurring revenue in USD on the measurement day: the mrr of the user''s subscription versions valid and paid for that day (after discounts, a twelfth of yearly prices; past-due subscriptions count until they are cancelled).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.previous_mrr IS 'MRR of the user in the month before, in USD (0 before the first month of the window).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.mrr_change IS 'MRR minus previous MRR, in USD.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.movement IS 'new (first paying month ever), expansion (pays more), contraction (pays less), churn (stopped paying), reactivation (pays again after having churned), retained (pays the same).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.new_mrr IS 'MRR gained from a new customer, in USD.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.expansion_mrr IS 'MRR gained from an existing customer paying more, in USD.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.contraction_mrr IS 'MRR lost from a customer paying less, in USD (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.churned_mrr IS 'MRR lost from a customer who stopped paying, in USD (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.reactivation_mrr IS 'MRR gained from a former customer paying again, in USD.';

CREATE TABLE elt_mart.fct_kpi_daily (
    date_key          integer PRIMARY KEY REFERENCES elt_mart.dim_date,
    date              date    NOT NULL UNIQUE,
    signups           integer NOT NULL CHECK (signups >= 0),
    active_users      integer NOT NULL CHECK (active_users >= 0),
    paying_users      integer NOT NULL CHECK (paying_users >= 0),
    churned_users     integer NOT NULL CHECK (churned_users >= 0),
    mrr               numeric(14,2) NOT NULL CHECK (mrr >= 0),
    arr               numeric(15,2) NOT NULL CHECK (arr >= 0),
    actions_performed bigint  NOT NULL CHECK (actions_performed >= 0),
    api_calls         bigint  NOT NULL CHECK (api_calls >= 0),
    storage_used_mb   bigint  NOT NULL CHECK (storage_used_mb >= 0),
    active_minutes    bigint  NOT NULL CHECK (active_minutes >= 0),
    -- added in 0.2.0, hence after the others
    free_users        integer NOT NULL CHECK (free_users >= 0),
    trials_started    integer NOT NULL CHECK (trials_started >= 0),
    trial_conversions integer NOT NULL CHECK (trial_conversions >= 0),
    new_paying_users  integer NOT NULL CHECK (new_paying_users >= 0),
    reactivations     integer NOT NULL CHECK (reactivations >= 0),
    weekly_active_users  integer NOT NULL CHECK (weekly_active_users >= 0),
    monthly_active_users integer NOT NULL CHECK (monthly_active_users >= 0),
    CHECK (arr = 12 * mrr)
);
COMMENT ON TABLE elt_mart.fct_kpi_daily IS
'Company KPIs: one row per day of the simulated window with signups, active and paying users, MRR, ARR, churned users, usage totals, free users, trials, conversions, new and reactivated paying users, and weekly and monthly active users.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.date_key IS 'The day (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.date IS 'The day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.signups IS 'Users who signed up that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.active_users IS 'Distinct users with usage that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.paying_users IS 'Users with MRR above 0 that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.churned_users IS 'Users who paid the day before and no longer pay that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.mrr IS 'Monthly recurring revenue that day in USD: the mrr of all subscription versions valid and paid for the day (after discounts, a twelfth of yearly prices).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.arr IS 'Annual recurring revenue in USD: 12 times MRR.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.actions_performed IS 'Actions performed by all users that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.api_calls IS 'API calls made by all users that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.storage_used_mb IS 'Storage held that day by the users active that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.active_minutes IS 'Minutes of activity of all users that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.free_users IS 'Users on the Free plan that day: holding an active free-plan subscription version valid that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.trials_started IS 'Subscriptions starting with a free trial that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.trial_conversions IS 'Trials ending that day that converted: the subscription version starting on the trial end pays (mrr above 0).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.new_paying_users IS 'Users paying that day for the first time (first day with MRR above 0).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.reactivations IS 'Users paying again that day after at least a day without paying (not their first paying day).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.weekly_active_users IS 'Distinct users with usage in the 7 days ending that day (WAU).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.monthly_active_users IS 'Distinct users with usage in the 30 days ending that day (MAU).';

-- Unknown members.
INSERT INTO elt_mart.dim_date (date_key, date, month_name, year_month, day_name)
VALUES (-1, NULL, 'Unknown', 'Unknown', 'Unknown');
INSERT INTO elt_mart.dim_plan (plan_key, plan_id, plan_name, feature_count, features)
VALUES (-1, -1, 'Unknown', 0, '');
INSERT INTO elt_mart.dim_user (user_key, user_id, version_ordinal, first_name, last_name, full_name,
    email, plan_id, plan_name, region_id, region_name, referral_source_id, referral_source_name,
    valid_from, valid_to, is_current)
VALUES (-1, -1, 0, 'Unknown', 'Unknown', 'Unknown', 'Unknown', -1, 'Unknown', -1, 'Unknown', -1, 'Unknown',
    '-infinity', NULL, true);
INSERT INTO elt_mart.dim_subscription (subscription_key, subscription_id, version_ordinal, user_id,
    plan_id, plan_name, payment_method_id, payment_method_name, status, renewal_count,
    valid_from, valid_to, is_current)
VALUES (-1, -1, 0, -1, -1, 'Unknown', -1, 'Unknown', 'Unknown', 0, '-infinity', NULL, true);

-- pg_dump keeps the built rows; the Unknown members come with CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('elt_mart.dim_date', 'WHERE date_key <> -1');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.dim_plan', 'WHERE plan_key <> -1');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.dim_user', 'WHERE user_key <> -1');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.dim_subscription', 'WHERE subscription_key <> -1');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_usage_daily', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_mrr_monthly', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_kpi_daily', '');
