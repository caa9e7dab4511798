-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION elt UPDATE TO '0.2.0'" to load this file. \quit

-- Upgrade from 0.1.0 to 0.2.0: the schema changes, in the order they were
-- made.  The Makefile appends the schema files new in 0.2.0 (NEW_SCHEMA:
-- whole new tables) and every function file of src/sql after this, so
-- tables and functions end up exactly as in a fresh install (CREATE OR REPLACE keeps
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
DROP FUNCTION @extschema@.elt__build(date);   -- now says whether elt_generate loaded the usage facts
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
-- "users changed since D" reads cancellations ending from D on through it
CREATE INDEX subscriptions_cancelled_idx ON elt_raw.subscriptions (end_date) WHERE status = 'cancelled';
-- the monthly marts' updates read the users whose versions end in the new days
CREATE INDEX subscriptions_end_idx ON elt_raw.subscriptions (end_date);
-- the monthly metrics' update counts the month's trials started and ended
CREATE INDEX subscriptions_trial_start_idx ON elt_raw.subscriptions (start_date) WHERE trial_end IS NOT NULL;
CREATE INDEX subscriptions_trial_end_idx ON elt_raw.subscriptions (trial_end) WHERE trial_end IS NOT NULL;

-- The generators and elt_generate take the business parameters (and
-- elt_subscriptions returns the new columns): new signatures, so the old
-- ones go (grants given on them must be given again).
DROP FUNCTION @extschema@.elt_users(integer, bigint, date, date, integer, integer, boolean, date);
DROP FUNCTION @extschema@.elt_subscriptions(integer, bigint, date, date, integer, integer, boolean, date);
DROP FUNCTION @extschema@.elt_usage(integer, bigint, date, date, integer, integer, date);
DROP FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean);

-- MRR in the marts comes from elt_raw.subscriptions.mrr.
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.mrr IS 'Monthly recurring revenue in USD on the measurement day: the mrr of the user''s subscription versions valid and paid for that day (after discounts, a twelfth of yearly prices; past-due subscriptions count until they are cancelled).';
-- fct_mrr_monthly.date_key is the month, not the measurement day: a refresh
-- rewrites only the current month's rows that changed (issue 16).
COMMENT ON TABLE elt_mart.fct_mrr_monthly IS
'Monthly recurring revenue: one row per user and month in which the user pays, plus the month in which the user churns (MRR 0). MRR is measured on the last day of the month; the current month''s rows hold MRR as of the latest day loaded (the simulated today, elt.settings.clock) and change only where a refresh changed them. The movement follows ChartMogul: new, expansion, contraction, churn, reactivation, retained.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.date_key IS 'The month (links to dim_date): its first day, or the first day of the window in the window''s first month. MRR is measured on the month''s last day, or on the latest day loaded (the simulated today) in the current month.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.mrr IS 'Monthly recurring revenue that day in USD: the mrr of all subscription versions valid and paid for the day (after discounts, a twelfth of yearly prices).';


-- Issue 15: fct_kpi_daily gains free users, trials, conversions, new paying
-- users, reactivations, WAU and MAU (0 until elt_generate runs again).
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

-- model 4: storage_used_mb is the storage an account holds (a level), the storage limit caps it
COMMENT ON COLUMN elt_mart.dim_plan.storage_limit_mb IS 'Storage an account may hold on this plan, in MB; empty means unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_used_mb IS 'Storage the account held that day, in MB (a level: it grows with use, drops at clean-ups, and stops at the plan''s storage limit).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_storage_used_mb IS 'Peak storage held in the quota period up to and including that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_quota_used_pct IS 'Storage held that day as a percentage of the plan''s storage limit; empty when unlimited or unknown.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.storage_used_mb IS 'Storage held that day by the users active that day, in MB.';
COMMENT ON TABLE elt.mart_usage_totals IS
'Internal: running API call totals and storage peaks per subscription and quota period through the last fact row of elt_mart.fct_usage_daily (last 31 days only), so that incremental builds need not read a month of facts.';
COMMENT ON COLUMN elt.settings.marts_built IS 'Whether elt_mart was built (by elt_generate or elt_build_marts), and so is kept up to date by elt_refresh.';
