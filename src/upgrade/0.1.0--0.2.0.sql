-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION elt UPDATE TO '0.2.0'" to load this file. \quit

-- Upgrade from 0.1.0 to 0.2.0: the schema changes, in the order they were
-- made.  The Makefile appends every function file of src/sql after this, so
-- functions end up exactly as in a fresh install (CREATE OR REPLACE keeps
-- the grants users gave on them).  A function that moves or changes its
-- arguments is moved (ALTER FUNCTION ... SET SCHEMA keeps its grants) or
-- dropped here first.  test/scripted/t_upgrade.sh checks that the result equals a fresh
-- install, catalog for catalog.

-- elt.settings records the model version; data of 0.1.0 is model 1.
ALTER TABLE elt.settings ADD COLUMN model_version integer;
UPDATE elt.settings SET model_version = 1;
COMMENT ON COLUMN elt.settings.model_version IS 'Version of the simulation model that generated the data (elt.elt__model_version()), NULL for a source loaded by other means; elt_refresh continues only data of the same version.';

-- A refresh that finds another generate or refresh running logs a skipped run.
ALTER TABLE elt.run_log DROP CONSTRAINT run_log_status_check,
    ADD CONSTRAINT run_log_status_check CHECK (status IN ('running', 'ok', 'failed', 'skipped'));
COMMENT ON TABLE elt.run_log IS 'One row per elt_generate or elt_refresh run: times, clock before and after, rows per table, status (ok, failed, or skipped: another generate or refresh was running) and error (SQLSTATE, message, detail and hint).';

-- Internal functions move from the extension's schema to schema elt (SET
-- SCHEMA keeps the grants given on them); the function files then define
-- them there.  PUBLIC may look them up, as elt_status needs; which ones it may
-- run is decided function by function, as before.
GRANT USAGE ON SCHEMA elt TO PUBLIC;
ALTER FUNCTION @extschema@.elt__build(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__bulk_begin(regclass) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__bulk_end(boolean, regclass, name, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__changed_ids(regclass, name, timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__check_grant(name, text, text) SET SCHEMA elt;
DROP FUNCTION @extschema@.elt__check_population(integer, bigint, date, date);   -- now takes params
ALTER FUNCTION @extschema@.elt__check_versions(regclass, name, timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__cron_check() SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__cron_here() SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__day_ts(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__job_command(integer) SET SCHEMA elt;
DROP FUNCTION @extschema@.elt__load_raw(integer, bigint, date, date);   -- now takes params
ALTER FUNCTION @extschema@.elt__mart_begin(date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__may_analyze(regclass) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__purge_dim(text, date) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__subscription_key_at(bigint, timestamptz) SET SCHEMA elt;
DROP FUNCTION elt.elt__subscription_key_at(bigint, timestamptz);   -- replaced by elt.elt__key_at(text, bigint, timestamptz)
ALTER FUNCTION @extschema@.elt__ts_day(timestamptz) SET SCHEMA elt;
ALTER FUNCTION @extschema@.elt__user_key_at(bigint, timestamptz) SET SCHEMA elt;
DROP FUNCTION elt.elt__user_key_at(bigint, timestamptz);   -- replaced by elt.elt__key_at(text, bigint, timestamptz)
COMMENT ON SCHEMA elt IS 'elt extension state (settings of the simulated source, the run log) and its internal functions.';

-- Model 3: the business parameters, kept for elt_refresh.
ALTER TABLE elt.settings ADD COLUMN params jsonb NOT NULL DEFAULT '{}';
COMMENT ON COLUMN elt.settings.params IS 'The business parameters in force (every one, as elt_params() gives them): elt_refresh continues with them.';

-- Model 3: trials, yearly billing, seats, discounts and failed payments.
-- Rows of 0.1.0 (model 1) get what they meant: monthly, one seat, list
-- price while paying.
ALTER TABLE elt_raw.subscriptions DROP CONSTRAINT subscriptions_status_check,
    ADD CONSTRAINT subscriptions_status_check CHECK (status IN ('active', 'expired', 'cancelled', 'trialing', 'past_due')),
    ADD COLUMN billing_interval text NOT NULL DEFAULT 'month' CONSTRAINT subscriptions_billing_interval_check CHECK (billing_interval IN ('month', 'year')),
    ADD COLUMN seats integer NOT NULL DEFAULT 1 CONSTRAINT subscriptions_seats_check CHECK (seats >= 1),
    ADD COLUMN discount_pct integer NOT NULL DEFAULT 0 CONSTRAINT subscriptions_discount_pct_check CHECK (discount_pct BETWEEN 0 AND 100),
    ADD COLUMN trial_end date,
    ADD COLUMN mrr numeric(10,2) NOT NULL DEFAULT 0 CONSTRAINT subscriptions_mrr_check CHECK (mrr >= 0);
ALTER TABLE elt_raw.subscriptions ALTER COLUMN billing_interval DROP DEFAULT, ALTER COLUMN seats DROP DEFAULT,
    ALTER COLUMN discount_pct DROP DEFAULT, ALTER COLUMN mrr DROP DEFAULT;
UPDATE elt_raw.subscriptions s SET mrr = p.monthly_price
FROM elt_raw.plans p
WHERE p.plan_id = s.plan_id AND s.status IN ('active', 'cancelled');
COMMENT ON COLUMN elt_raw.subscriptions.status IS 'trialing (free trial, no revenue yet), active, past_due (a renewal payment failed and is being retried), cancelled (voluntarily before end_date, or involuntarily when end_date = the day the retries gave up), expired (replaced by another plan, or a trial not converted).';
COMMENT ON COLUMN elt_raw.subscriptions.end_date IS 'End of the paid (or trial) period; NULL for a free plan still running.';
COMMENT ON COLUMN elt_raw.subscriptions.billing_interval IS 'month or year (yearly billing: two months free).';
COMMENT ON COLUMN elt_raw.subscriptions.seats IS 'Seats in use, up to the plan''s max_users; grows with the account.';
COMMENT ON COLUMN elt_raw.subscriptions.discount_pct IS 'Introductory discount in force in this version, percent (0: none).';
COMMENT ON COLUMN elt_raw.subscriptions.trial_end IS 'End of the free trial the subscription began with; NULL without one.';
COMMENT ON COLUMN elt_raw.subscriptions.mrr IS 'Monthly recurring revenue in USD while the version is valid and before end_date: the monthly price (a twelfth of the yearly price), after discount; 0 while trialing and once ended.';

-- The generators and elt_generate take the business parameters (and
-- elt_subscriptions returns the new columns): new signatures, so the old
-- ones go (grants given on them must be given again).
DROP FUNCTION @extschema@.elt_users(integer, bigint, date, date, integer, integer, boolean, date);
DROP FUNCTION @extschema@.elt_subscriptions(integer, bigint, date, date, integer, integer, boolean, date);
DROP FUNCTION @extschema@.elt_usage(integer, bigint, date, date, integer, integer, date);
DROP FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean);

-- MRR in the marts comes from elt_raw.subscriptions.mrr.
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.mrr IS 'Monthly recurring revenue in USD on the measurement day: the mrr of the user''s subscription versions valid and paid for that day (after discounts, a twelfth of yearly prices; past-due subscriptions count until they are cancelled).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.mrr IS 'Monthly recurring revenue that day in USD: the mrr of all subscription versions valid and paid for the day (after discounts, a twelfth of yearly prices).';

-- Issue 15: subscription events, usage quota periods, churn type (the same
-- statements as src/sql/36_mart_events_schema.sql; the new tables stay empty
-- until the marts are built again: data of 0.1.0 must be generated again anyway).
CREATE TABLE elt_mart.fct_subscription_events (
    event_date       date    NOT NULL,
    subscription_id  bigint  NOT NULL,
    event_type       text    NOT NULL CHECK (event_type IN
                         ('trial_started', 'trial_converted', 'trial_expired', 'new', 'renewal', 'upgrade',
                          'downgrade', 'seat_change', 'payment_failed', 'payment_recovered',
                          'cancellation_requested', 'churn_voluntary', 'churn_involuntary', 'reactivation')),
    date_key         integer NOT NULL REFERENCES elt_mart.dim_date,
    user_id          bigint  NOT NULL,
    user_key         bigint  NOT NULL REFERENCES elt_mart.dim_user,
    subscription_key bigint  NOT NULL REFERENCES elt_mart.dim_subscription,
    from_plan_key    integer REFERENCES elt_mart.dim_plan,
    to_plan_key      integer REFERENCES elt_mart.dim_plan,
    mrr_before       numeric(12,2) NOT NULL CHECK (mrr_before >= 0),
    mrr_after        numeric(12,2) NOT NULL CHECK (mrr_after >= 0),
    mrr_change       numeric(12,2) NOT NULL,
    PRIMARY KEY (subscription_id, event_date, event_type),
    CHECK (mrr_change = mrr_after - mrr_before)
);
CREATE INDEX fct_subscription_events_date_idx ON elt_mart.fct_subscription_events (date_key);
CREATE INDEX fct_subscription_events_user_idx ON elt_mart.fct_subscription_events (user_id);
COMMENT ON TABLE elt_mart.fct_subscription_events IS
'Subscription lifecycle events (lead -> trial -> customer -> churn): one row per event of a subscription, derived from the versions of elt_raw.subscriptions, with the versions of the user and subscription valid that day, the plan before and after and the MRR change. The MRR changes of a user''s events add up to the change of the user''s MRR (every version change carries it on one event; the others of that day carry 0).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.event_date IS 'Day of the event.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.subscription_id IS 'Id of the subscription the event belongs to.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.event_type IS
'trial_started (first version trialing), trial_converted (trialing -> paying version), trial_expired (trialing -> expired: the user goes on the Free plan), new (first paying version of the user''s first paid subscription), reactivation (first paying version of a later paid subscription not replacing one the same day: the user had churned), upgrade / downgrade (first paying version of a subscription starting the day the previous paid one expired, on a dearer / cheaper plan; downgrade also for a Free subscription replacing a paid one), renewal (an active version for a later billing period after an active one), seat_change (seats differ from the previous paying version), payment_failed (past_due version), payment_recovered (active after past_due), cancellation_requested (cancelled version whose end date is after its first day: a voluntary cancellation), churn_voluntary (the end date of such a version, once reached: end date <= the simulated today), churn_involuntary (cancelled version whose end date is its first day: the payment retries gave up).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.date_key IS 'Day of the event (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.user_id IS 'Id of the user holding the subscription.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.user_key IS 'Version of the user valid on the event day (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.subscription_key IS 'Version of the subscription valid on the event day (links to dim_subscription).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.from_plan_key IS 'Plan before the event (links to dim_plan): the replaced subscription''s plan for upgrade and downgrade; empty for new and reactivation (no plan before).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.to_plan_key IS 'Plan after the event (links to dim_plan); empty for churn_voluntary and churn_involuntary (no plan after).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_before IS 'MRR of the subscription (for upgrade and downgrade: of the replaced one) just before the event, in USD.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_after IS 'MRR of the subscription just after the event, in USD.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_change IS 'MRR after minus MRR before, in USD. When a version change gives several events (a renewal with a seat change, a trial conversion that is also a new customer), one carries the change (seat_change, new / reactivation / upgrade / downgrade) and the others 0.';

CREATE TABLE elt_mart.fct_usage_period (
    subscription_id   bigint  NOT NULL,
    period_start      date    NOT NULL,
    period_end        date    NOT NULL,
    date_key          integer NOT NULL REFERENCES elt_mart.dim_date,
    user_id           bigint  NOT NULL,
    user_key          bigint  NOT NULL REFERENCES elt_mart.dim_user,
    subscription_key  bigint  NOT NULL REFERENCES elt_mart.dim_subscription,
    plan_key          integer NOT NULL REFERENCES elt_mart.dim_plan,
    active_days       integer NOT NULL CHECK (active_days > 0),
    last_usage_date   date    NOT NULL,
    api_calls         bigint  NOT NULL CHECK (api_calls >= 0),
    api_limit         integer,
    api_used_pct      numeric(9,2) CHECK (api_used_pct >= 0),
    storage_used_mb   bigint  NOT NULL CHECK (storage_used_mb >= 0),
    storage_limit_mb  integer,
    storage_used_pct  numeric(9,2) CHECK (storage_used_pct >= 0),
    api_exhausted_on     date,
    storage_exhausted_on date,
    is_complete       boolean NOT NULL,
    PRIMARY KEY (subscription_id, period_start),
    CHECK (period_end > period_start)
);
CREATE INDEX fct_usage_period_date_idx ON elt_mart.fct_usage_period (date_key);
CREATE INDEX fct_usage_period_last_idx ON elt_mart.fct_usage_period (last_usage_date);
COMMENT ON TABLE elt_mart.fct_usage_period IS
'Quota periods: one row per subscription and monthly quota period (start date plus whole months, as the quotas reset) with usage, aggregated from elt_mart.fct_usage_daily: API calls and storage against the plan limits, and the day each quota was exhausted.';
COMMENT ON COLUMN elt_mart.fct_usage_period.subscription_id IS 'Id of the subscription.';
COMMENT ON COLUMN elt_mart.fct_usage_period.period_start IS 'First day of the quota period (the subscription''s start date plus whole months).';
COMMENT ON COLUMN elt_mart.fct_usage_period.period_end IS 'First day after the period (period_start plus one month), excluded.';
COMMENT ON COLUMN elt_mart.fct_usage_period.date_key IS 'First day of the period (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_usage_period.user_id IS 'Id of the user.';
COMMENT ON COLUMN elt_mart.fct_usage_period.user_key IS 'Version of the user valid on the period''s first day with usage (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_usage_period.subscription_key IS 'Version of the subscription valid on the period''s first day with usage (links to dim_subscription).';
COMMENT ON COLUMN elt_mart.fct_usage_period.plan_key IS 'Plan the usage counts against (links to dim_plan).';
COMMENT ON COLUMN elt_mart.fct_usage_period.active_days IS 'Days of the period with usage.';
COMMENT ON COLUMN elt_mart.fct_usage_period.last_usage_date IS 'Last day of the period with usage.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_calls IS 'API calls in the period.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_limit IS 'API calls the plan allows per period; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_used_pct IS 'API calls as a percentage of the limit; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_used_mb IS 'Storage added in the period, in MB (its peak: it only grows within the period).';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_limit_mb IS 'Storage the plan allows per period, in MB; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_used_pct IS 'Storage added as a percentage of the limit; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_exhausted_on IS 'First day on which the period''s API calls reached the limit; empty when not exhausted (or unlimited).';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_exhausted_on IS 'First day on which the period''s storage reached the limit; empty when not exhausted (or unlimited).';
COMMENT ON COLUMN elt_mart.fct_usage_period.is_complete IS 'True when the period ended on or before the simulated today (its totals are final).';

-- fct_mrr_monthly: what kind of churn a churn row is.
ALTER TABLE elt_mart.fct_mrr_monthly
    ADD COLUMN churn_type text CONSTRAINT fct_mrr_monthly_churn_type_check
        CHECK (churn_type IS NULL OR (churn_type IN ('voluntary', 'involuntary', 'downgrade_to_free') AND movement = 'churn'));
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.churn_type IS
'For a churn row: involuntary (the user''s paid subscription was cancelled by failed payments in the month: a cancelled version ending the day it starts), downgrade_to_free (the user holds a Free subscription on the measurement day), voluntary (otherwise: a cancellation reached its end date); empty for other movements.';

-- Dimensions: calendar, lifecycle and subscription details, Unknown flags.
ALTER TABLE elt_mart.dim_date
    ADD COLUMN week_start date,
    ADD COLUMN is_holiday boolean,
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_plan
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_user
    ADD COLUMN cohort_month date,
    ADD COLUMN signup_date_key integer,
    ADD COLUMN acquisition_channel text,
    ADD COLUMN first_paid_date date,
    ADD COLUMN lifecycle_status text CONSTRAINT dim_user_lifecycle_status_check
        CHECK (lifecycle_status IN ('free', 'trialing', 'paying', 'past_due', 'churned')),
    ADD COLUMN is_paying boolean,
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_subscription
    ADD COLUMN billing_interval text,
    ADD COLUMN seats integer,
    ADD COLUMN discount_pct integer,
    ADD COLUMN trial_end date,
    ADD COLUMN mrr numeric(10,2),
    ADD COLUMN cancel_date date,
    ADD COLUMN previous_plan_id integer,
    ADD COLUMN previous_plan_name text,
    ADD COLUMN change_type text CONSTRAINT dim_subscription_change_type_check
        CHECK (change_type IN ('first', 'upgrade', 'downgrade', 'after_trial', 'return')),
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
UPDATE elt_mart.dim_date SET is_unknown = true WHERE date_key = -1;
UPDATE elt_mart.dim_plan SET is_unknown = true WHERE plan_key = -1;
UPDATE elt_mart.dim_user SET is_unknown = true, acquisition_channel = 'Unknown' WHERE user_key = -1;
UPDATE elt_mart.dim_subscription SET is_unknown = true WHERE subscription_key = -1;
COMMENT ON COLUMN elt_mart.dim_date.week_start IS 'Monday of the ISO week the day belongs to.';
COMMENT ON COLUMN elt_mart.dim_date.is_holiday IS 'True on the holidays of the simulated users (Dec 24, 25, 26, 31 and Jan 1): less usage.';
COMMENT ON COLUMN elt_mart.dim_date.is_unknown IS 'True only for the Unknown day (key -1): filter with NOT is_unknown.';
COMMENT ON COLUMN elt_mart.dim_plan.is_unknown IS 'True only for the Unknown plan (key -1): filter with NOT is_unknown.';
COMMENT ON COLUMN elt_mart.dim_user.cohort_month IS 'First day of the month of the signup: the signup cohort.';
COMMENT ON COLUMN elt_mart.dim_user.signup_date_key IS 'Signup day as a dim_date key (yyyymmdd).';
COMMENT ON COLUMN elt_mart.dim_user.acquisition_channel IS 'How the user was acquired: the referral source (Web Search, Paid Ads, Social Media or Friend).';
COMMENT ON COLUMN elt_mart.dim_user.first_paid_date IS 'First day the user paid (a subscription version with MRR above 0), as known on the simulated today (the same on every version); empty if never.';
COMMENT ON COLUMN elt_mart.dim_user.lifecycle_status IS 'The user''s state on the last day of this version (the simulated today for the current version): past_due (a renewal payment is being retried), paying (MRR above 0), trialing, churned (paid before, pays no more), free (never paid).';
COMMENT ON COLUMN elt_mart.dim_user.is_paying IS 'True when lifecycle_status is paying or past_due (MRR above 0).';
COMMENT ON COLUMN elt_mart.dim_user.is_unknown IS 'True only for the Unknown user (key -1): filter with NOT is_unknown, or use dim_user_current.';
COMMENT ON COLUMN elt_mart.dim_subscription.billing_interval IS 'month or year.';
COMMENT ON COLUMN elt_mart.dim_subscription.seats IS 'Seats in use in this version.';
COMMENT ON COLUMN elt_mart.dim_subscription.discount_pct IS 'Introductory discount in force in this version, percent (0: none).';
COMMENT ON COLUMN elt_mart.dim_subscription.trial_end IS 'End of the free trial the subscription began with; empty without one.';
COMMENT ON COLUMN elt_mart.dim_subscription.mrr IS 'MRR of this version in USD (after discount, a twelfth of a yearly price; 0 while trialing and once ended).';
COMMENT ON COLUMN elt_mart.dim_subscription.cancel_date IS 'Day the subscription was cancelled (voluntarily, or by failed payments) for a cancelled version; empty otherwise.';
COMMENT ON COLUMN elt_mart.dim_subscription.previous_plan_id IS 'Plan id of the user''s previous subscription; empty for the user''s first.';
COMMENT ON COLUMN elt_mart.dim_subscription.previous_plan_name IS 'Plan name of the user''s previous subscription; empty for the user''s first.';
COMMENT ON COLUMN elt_mart.dim_subscription.change_type IS 'How the subscription began: first (the user''s first), upgrade / downgrade (the previous one was replaced the day this one starts, by a dearer / cheaper plan), after_trial (the previous one was a trial that expired the day this one starts), return (after a gap: the previous one was cancelled).';
COMMENT ON COLUMN elt_mart.dim_subscription.is_unknown IS 'True only for the Unknown subscription (key -1): filter with NOT is_unknown, or use dim_subscription_current.';

-- The current versions of the SCD2 dimensions, without the Unknown members.
CREATE VIEW elt_mart.dim_user_current AS
    SELECT * FROM elt_mart.dim_user WHERE is_current AND NOT is_unknown;
CREATE VIEW elt_mart.dim_subscription_current AS
    SELECT * FROM elt_mart.dim_subscription WHERE is_current AND NOT is_unknown;
COMMENT ON VIEW elt_mart.dim_user_current IS 'The current version of every user (one row per user), without the Unknown member.';
COMMENT ON VIEW elt_mart.dim_subscription_current IS 'The current version of every subscription (one row per subscription), without the Unknown member.';

SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_subscription_events', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_usage_period', '');
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.movement IS 'new (first paying month ever), expansion (pays more), contraction (pays less), churn (stopped paying: MRR 0; see churn_type), reactivation (pays again after having churned), retained (pays the same). MRR is summed per user (ChartMogul''s customer level): when one of several paying subscriptions ends while another still pays, the month is a contraction, not a churn.';

-- Issue 15: fct_kpi_daily gains free users, trials, conversions, new paying
-- users, reactivations, WAU and MAU (filled by the builder after the
-- function files, see 0.1.0--0.2.0.after.sql).
ALTER TABLE elt_mart.fct_kpi_daily
    ADD COLUMN free_users integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_free_users_check CHECK (free_users >= 0),
    ADD COLUMN trials_started integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_trials_started_check CHECK (trials_started >= 0),
    ADD COLUMN trial_conversions integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_trial_conversions_check CHECK (trial_conversions >= 0),
    ADD COLUMN new_paying_users integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_new_paying_users_check CHECK (new_paying_users >= 0),
    ADD COLUMN reactivations integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_reactivations_check CHECK (reactivations >= 0),
    ADD COLUMN weekly_active_users integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_weekly_active_users_check CHECK (weekly_active_users >= 0),
    ADD COLUMN monthly_active_users integer NOT NULL DEFAULT 0 CONSTRAINT fct_kpi_daily_monthly_active_users_check CHECK (monthly_active_users >= 0);
COMMENT ON TABLE elt_mart.fct_kpi_daily IS
'Company KPIs: one row per day of the simulated window with signups, active and paying users, MRR, ARR, churned users, usage totals, free users, trials, conversions, new and reactivated paying users, and weekly and monthly active users.';
ALTER TABLE elt_mart.fct_kpi_daily
    ALTER COLUMN free_users DROP DEFAULT,
    ALTER COLUMN trials_started DROP DEFAULT,
    ALTER COLUMN trial_conversions DROP DEFAULT,
    ALTER COLUMN new_paying_users DROP DEFAULT,
    ALTER COLUMN reactivations DROP DEFAULT,
    ALTER COLUMN weekly_active_users DROP DEFAULT,
    ALTER COLUMN monthly_active_users DROP DEFAULT;
COMMENT ON COLUMN elt_mart.fct_kpi_daily.free_users IS 'Users on the Free plan that day: holding an active free-plan subscription version valid that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.trials_started IS 'Subscriptions starting with a free trial that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.trial_conversions IS 'Trials ending that day that converted: the subscription version starting on the trial end pays (mrr above 0).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.new_paying_users IS 'Users paying that day for the first time (first day with MRR above 0).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.reactivations IS 'Users paying again that day after at least a day without paying (not their first paying day).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.weekly_active_users IS 'Distinct users with usage in the 7 days ending that day (WAU).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.monthly_active_users IS 'Distinct users with usage in the 30 days ending that day (MAU).';

-- Issue 15: cohort retention and the monthly SaaS metrics (as in
-- src/sql/36_mart_metrics_schema.sql).
CREATE TABLE elt_mart.fct_cohort_retention (
    cohort_kind          text    NOT NULL CHECK (cohort_kind IN ('signup', 'first_paid')),
    cohort_month         date    NOT NULL,
    months_since         integer NOT NULL CHECK (months_since >= 0),
    month_start          date    NOT NULL,
    cohort_date_key      integer NOT NULL REFERENCES elt_mart.dim_date,
    date_key             integer NOT NULL REFERENCES elt_mart.dim_date,
    accounts_start       integer NOT NULL CHECK (accounts_start >= 0),
    accounts_retained    integer NOT NULL CHECK (accounts_retained >= 0),
    accounts_paying      integer NOT NULL CHECK (accounts_paying >= 0),
    starting_mrr         numeric(14,2) NOT NULL CHECK (starting_mrr >= 0),
    mrr                  numeric(14,2) NOT NULL CHECK (mrr >= 0),
    retained_mrr_gross   numeric(14,2) NOT NULL CHECK (retained_mrr_gross >= 0),
    logo_retention       numeric(9,6),
    gross_mrr_retention  numeric(12,6),
    net_mrr_retention    numeric(12,6),
    PRIMARY KEY (cohort_kind, cohort_month, months_since),
    CHECK (month_start = (cohort_month + months_since * interval '1 month')::date),
    CHECK (accounts_retained <= accounts_start),
    CHECK (retained_mrr_gross <= mrr AND retained_mrr_gross <= starting_mrr)
);
CREATE INDEX fct_cohort_retention_date_idx ON elt_mart.fct_cohort_retention (date_key);
COMMENT ON TABLE elt_mart.fct_cohort_retention IS
'Cohort retention: one row per cohort (users who signed up in a month, or who first paid in a month) and month since, from the cohort''s month through the current month. Paying and MRR are measured like fct_mrr_monthly: on the last day of the month (the simulated today in the current month).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_kind IS 'signup (users by the month of their signup) or first_paid (users by the first month in which they paid on the measurement day, as fct_mrr_monthly''s movement new).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_month IS 'First day of the cohort''s month.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.months_since IS 'Months since the cohort month: 0 for the cohort month itself.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.month_start IS 'First day of the month the row measures (cohort month plus months_since).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_date_key IS 'First day of the cohort month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.date_key IS 'Measurement day: the last day of the month, or the simulated today in the current month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_start IS 'Users in the cohort.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_retained IS 'Users of the cohort retained in the month: for first_paid cohorts, those paying on the measurement day; for signup cohorts, those with usage in the month up to the measurement day (active users).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_paying IS 'Users of the cohort paying (MRR above 0) on the measurement day; equals accounts_retained for first_paid cohorts.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.starting_mrr IS 'MRR of the cohort''s users on the measurement day of the cohort month, in USD (for signup cohorts mostly 0: paid plans start with a trial).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.mrr IS 'MRR of the cohort''s users on the measurement day, in USD: retained MRR with expansion (net).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.retained_mrr_gross IS 'Retained MRR without expansion (gross), in USD: the sum over the cohort''s users of the lesser of their MRR and their starting MRR.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.logo_retention IS 'accounts_retained / accounts_start (a fraction); empty for an empty cohort.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.gross_mrr_retention IS 'retained_mrr_gross / starting_mrr (a fraction); empty when starting MRR is 0.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.net_mrr_retention IS 'mrr / starting_mrr (a fraction, above 1 when expansion outweighs churn); empty when starting MRR is 0.';

CREATE TABLE elt_mart.fct_saas_metrics_monthly (
    month_start                 date    PRIMARY KEY,
    date_key                    integer NOT NULL REFERENCES elt_mart.dim_date,
    mrr                         numeric(14,2) NOT NULL CHECK (mrr >= 0),
    arr                         numeric(15,2) NOT NULL CHECK (arr >= 0),
    starting_mrr                numeric(14,2) NOT NULL CHECK (starting_mrr >= 0),
    new_mrr                     numeric(14,2) NOT NULL CHECK (new_mrr >= 0),
    expansion_mrr               numeric(14,2) NOT NULL CHECK (expansion_mrr >= 0),
    contraction_mrr             numeric(14,2) NOT NULL CHECK (contraction_mrr <= 0),
    churned_mrr                 numeric(14,2) NOT NULL CHECK (churned_mrr <= 0),
    churned_voluntary_mrr       numeric(14,2) NOT NULL CHECK (churned_voluntary_mrr <= 0),
    churned_involuntary_mrr     numeric(14,2) NOT NULL CHECK (churned_involuntary_mrr <= 0),
    reactivation_mrr            numeric(14,2) NOT NULL CHECK (reactivation_mrr >= 0),
    net_new_mrr                 numeric(14,2) NOT NULL,
    customers_start             integer NOT NULL CHECK (customers_start >= 0),
    customers_end               integer NOT NULL CHECK (customers_end >= 0),
    new_customers               integer NOT NULL CHECK (new_customers >= 0),
    reactivated_customers       integer NOT NULL CHECK (reactivated_customers >= 0),
    churned_customers           integer NOT NULL CHECK (churned_customers >= 0),
    churned_involuntary_customers integer NOT NULL CHECK (churned_involuntary_customers >= 0),
    customer_churn_rate         numeric(12,6),
    gross_mrr_churn_rate        numeric(12,6),
    net_mrr_churn_rate          numeric(12,6),
    nrr                         numeric(12,6),
    grr                         numeric(12,6),
    arpa                        numeric(14,2),
    ltv                         numeric(16,2),
    quick_ratio                 numeric(12,4),
    trials_started              integer NOT NULL CHECK (trials_started >= 0),
    trials_ended                integer NOT NULL CHECK (trials_ended >= 0),
    trials_converted            integer NOT NULL CHECK (trials_converted >= 0),
    trial_to_paid_rate          numeric(9,6),
    free_users_start            integer NOT NULL CHECK (free_users_start >= 0),
    free_to_paid                integer NOT NULL CHECK (free_to_paid >= 0),
    free_to_paid_rate           numeric(9,6),
    CHECK (arr = 12 * mrr),
    CHECK (churned_mrr = churned_voluntary_mrr + churned_involuntary_mrr),
    CHECK (net_new_mrr = new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr),
    CHECK (mrr = starting_mrr + net_new_mrr),
    CHECK (customers_end = customers_start + new_customers + reactivated_customers - churned_customers),
    CHECK (trials_converted <= trials_ended)
);
CREATE INDEX fct_saas_metrics_monthly_date_idx ON elt_mart.fct_saas_metrics_monthly (date_key);
COMMENT ON TABLE elt_mart.fct_saas_metrics_monthly IS
'Headline SaaS metrics: one row per month of the window (ChartMogul and Baremetrics definitions). MRR and customers are measured on the last day of the month (the simulated today in the current month) like fct_mrr_monthly; amounts in USD, lost MRR negative; rates and ratios are fractions, empty when their denominator is 0.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.month_start IS 'First day of the month.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.date_key IS 'Measurement day: the last day of the month, or the simulated today in the current month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.mrr IS 'MRR on the measurement day: the sum of the mrr of all subscription versions valid and paid for that day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.arr IS 'Annual recurring revenue: 12 times MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.starting_mrr IS 'MRR at the start of the month: the MRR of the month before (0 in the first month of the window).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.new_mrr IS 'MRR of customers paying for the first time.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.expansion_mrr IS 'MRR gained from customers paying more than the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.contraction_mrr IS 'MRR lost from customers paying less than the month before (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_mrr IS 'MRR lost from customers who stopped paying (zero or negative): voluntary plus involuntary.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_voluntary_mrr IS 'Churned MRR of customers who cancelled (or ended a subscription otherwise) (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_involuntary_mrr IS 'Churned MRR of customers whose last paid subscription ended with a failed payment: a cancelled version whose end date is the day it starts (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.reactivation_mrr IS 'MRR of former customers paying again.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.net_new_mrr IS 'new + expansion + contraction + churned + reactivation MRR: MRR minus starting MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customers_start IS 'Paying customers (MRR above 0) at the start of the month: on the measurement day of the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customers_end IS 'Paying customers on the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.new_customers IS 'Customers paying for the first time.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.reactivated_customers IS 'Former customers paying again.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_customers IS 'Customers at the start of the month who no longer pay on the measurement day (those who joined or reactivated in the month and left again are not customers at either end, and so are not counted).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_involuntary_customers IS 'Churned customers whose churn was involuntary (see churned_involuntary_mrr).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customer_churn_rate IS 'churned_customers / customers_start (ChartMogul''s customer churn rate).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.gross_mrr_churn_rate IS '-(churned + contraction MRR) / starting MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.net_mrr_churn_rate IS '-(churned + contraction MRR + expansion + reactivation MRR) / starting MRR; negative when expansion outweighs the losses.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.nrr IS 'Net revenue retention of the month: 1 - net_mrr_churn_rate.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.grr IS 'Gross revenue retention of the month: 1 - gross_mrr_churn_rate.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.arpa IS 'Average revenue per account: MRR / customers_end, in USD.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.ltv IS 'Customer lifetime value: ARPA / customer_churn_rate, in USD; empty when the churn rate is 0 or unknown.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.quick_ratio IS 'SaaS quick ratio (Baremetrics): (new + expansion + reactivation MRR) / -(churned + contraction MRR).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_started IS 'Subscriptions starting with a free trial in the month (up to the measurement day).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_ended IS 'Trials whose trial end falls in the month, up to the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_converted IS 'Of trials_ended, those that converted: the version starting on the trial end pays (mrr above 0).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trial_to_paid_rate IS 'trials_converted / trials_ended.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_users_start IS 'Users on the Free plan at the start of the month: holding an active free-plan subscription version valid on the measurement day of the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_to_paid IS 'Of free_users_start, those paying on the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_to_paid_rate IS 'free_to_paid / free_users_start.';

SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_cohort_retention', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_saas_metrics_monthly', '');

-- The driver table of elt_generate on Citus (src/sql/61_distribute_schema.sql).
CREATE TABLE elt.shard_groups (
    user_id bigint NOT NULL
);
COMMENT ON TABLE elt.shard_groups IS
'Internal (Citus only): one user_id per shard group of elt_raw.users, subscriptions and usage, distributed and colocated with them by elt_distribute; elt_generate runs one load task per row, on the worker holding that shard group. Empty without Citus.';
