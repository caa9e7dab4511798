-- Schemas and tables: elt (state), elt_raw (landed source data).
-- All tables are extension members; pg_extension_config_dump makes pg_dump
-- keep their data.

CREATE SCHEMA elt;
COMMENT ON SCHEMA elt IS 'elt extension state (settings of the simulated source, the run log) and its internal functions.';
-- PUBLIC may look up elt's internal functions (elt_status calls some); which
-- ones it may run is decided function by function.
GRANT USAGE ON SCHEMA elt TO PUBLIC;
CREATE SCHEMA elt_raw;
COMMENT ON SCHEMA elt_raw IS 'Landed source data of the simulated SaaS; users and subscriptions keep SCD2 history.';
CREATE SCHEMA elt_mart;
COMMENT ON SCHEMA elt_mart IS 'Star schema for BI tools: dim_* and fct_* tables.';

-- One row: the population (seed, users, start_date) and the simulated clock.
CREATE TABLE elt.settings (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seed         bigint  NOT NULL,
    users        integer NOT NULL CHECK (users > 0),
    start_date   date    NOT NULL,
    clock        date    NOT NULL CHECK (clock >= start_date),
    marts_built  boolean NOT NULL DEFAULT false,
    generated_at timestamptz NOT NULL,
    refreshed_at timestamptz,
    model_version integer,
    params       jsonb   NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE elt.settings IS 'The simulated population (seed, users signing up in the first year, start_date) and its clock (simulated today).';
COMMENT ON COLUMN elt.settings.users IS 'Users signing up in the first 365 days of the window; signups keep growing after it.';
COMMENT ON COLUMN elt.settings.marts_built IS 'Whether elt_mart was built (by elt_generate or elt_build_marts), and so is kept up to date by elt_refresh.';
COMMENT ON COLUMN elt.settings.model_version IS 'Version of the simulation model that generated the data (elt.elt__model_version()), NULL for a source loaded by other means; elt_refresh continues only data of the same version.';
COMMENT ON COLUMN elt.settings.params IS 'The business parameters in force (every one, as elt_params() gives them): elt_refresh continues with them.';
COMMENT ON COLUMN elt.settings.clock IS 'Simulated today: elt_raw holds the source as it is at the end of this day.';

CREATE TABLE elt.run_log (
    run_id       bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('generate', 'refresh')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    clock_before date,
    clock_after  date,
    rows         jsonb,
    status       text NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
    error        text
);
COMMENT ON TABLE elt.run_log IS 'One row per elt_generate or elt_refresh run: times, clock before and after, rows per table, status (ok, failed, or skipped: another generate or refresh was running) and error (SQLSTATE, message, detail and hint).';

CREATE TABLE elt_raw.regions (
    region_id   integer PRIMARY KEY,
    region_name text NOT NULL UNIQUE
);
CREATE TABLE elt_raw.referral_sources (
    referral_source_id   integer PRIMARY KEY,
    referral_source_name text NOT NULL UNIQUE
);
CREATE TABLE elt_raw.payment_methods (
    payment_method_id   integer PRIMARY KEY,
    payment_method_name text NOT NULL UNIQUE
);
CREATE TABLE elt_raw.plans (
    plan_id          integer PRIMARY KEY,
    plan_name        text NOT NULL UNIQUE,
    monthly_price    numeric(10,2) NOT NULL CHECK (monthly_price >= 0),
    max_users        integer,
    api_limit        integer,
    storage_limit_mb integer,
    project_limit    integer
);
CREATE TABLE elt_raw.plan_features (
    feature_id   integer PRIMARY KEY,
    plan_id      integer NOT NULL REFERENCES elt_raw.plans,
    feature_name text NOT NULL,
    UNIQUE (plan_id, feature_name)
);

-- SCD2 history: [valid_from, valid_to), valid_to NULL = current version.
CREATE TABLE elt_raw.users (
    user_id            bigint  NOT NULL,
    first_name         text    NOT NULL,
    last_name          text    NOT NULL,
    email              text    NOT NULL,
    signup_date        date    NOT NULL,
    plan_id            integer NOT NULL REFERENCES elt_raw.plans,
    region_id          integer NOT NULL REFERENCES elt_raw.regions,
    referral_source_id integer NOT NULL REFERENCES elt_raw.referral_sources,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    PRIMARY KEY (user_id, valid_from),
    CHECK (valid_to > valid_from)
);
CREATE UNIQUE INDEX users_current_key ON elt_raw.users (user_id) WHERE valid_to IS NULL;
-- BRIN on the validity bounds: "versions opened or closed since day D" is
-- what an incremental mart update asks; versions written by refreshes sit
-- in the last blocks, and the bulk-loaded blocks all end before D.
CREATE INDEX users_validity_idx ON elt_raw.users USING brin (valid_from, valid_to);

CREATE TABLE elt_raw.subscriptions (
    subscription_id   bigint  NOT NULL,
    user_id           bigint  NOT NULL,
    plan_id           integer NOT NULL REFERENCES elt_raw.plans,
    start_date        date    NOT NULL,
    end_date          date,
    payment_method_id integer NOT NULL REFERENCES elt_raw.payment_methods,
    status            text    NOT NULL CHECK (status IN ('active', 'expired', 'cancelled', 'trialing', 'past_due')),
    renewal_count     integer NOT NULL CHECK (renewal_count >= 0),
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz,
    -- added in 0.2.0, hence after the validity columns
    billing_interval  text    NOT NULL CHECK (billing_interval IN ('month', 'year')),
    seats             integer NOT NULL CHECK (seats >= 1),
    discount_pct      integer NOT NULL CHECK (discount_pct BETWEEN 0 AND 100),
    trial_end         date,
    mrr               numeric(10,2) NOT NULL CHECK (mrr >= 0),
    PRIMARY KEY (subscription_id, valid_from),
    CHECK (end_date > start_date),
    CHECK (valid_to > valid_from)
);
CREATE UNIQUE INDEX subscriptions_current_key ON elt_raw.subscriptions (subscription_id) WHERE valid_to IS NULL;
CREATE INDEX subscriptions_user_idx ON elt_raw.subscriptions (user_id);
CREATE INDEX subscriptions_validity_idx ON elt_raw.subscriptions USING brin (valid_from, valid_to);
-- "users changed since D" also asks for voluntary cancellations ending on
-- or after D (their churn comes due); bulk-loaded ones end anywhere in the
-- window, so the BRIN cannot find them: a small partial index does.
CREATE INDEX subscriptions_cancelled_idx ON elt_raw.subscriptions (end_date) WHERE status = 'cancelled';
-- The monthly marts' updates ask for the users whose versions end in the
-- new days: a paid (or trial) period ends on its end_date without a new
-- version, anywhere in the table (the BRIN cannot find them).
CREATE INDEX subscriptions_end_idx ON elt_raw.subscriptions (end_date);
-- the monthly metrics' update counts the month's trials started and ended
CREATE INDEX subscriptions_trial_start_idx ON elt_raw.subscriptions (start_date) WHERE trial_end IS NOT NULL;
CREATE INDEX subscriptions_trial_end_idx ON elt_raw.subscriptions (trial_end) WHERE trial_end IS NOT NULL;

CREATE TABLE elt_raw.usage (
    usage_id          bigint  PRIMARY KEY,
    user_id           bigint  NOT NULL,
    plan_id           integer NOT NULL REFERENCES elt_raw.plans,
    subscription_id   bigint  NOT NULL,
    usage_date        date    NOT NULL,
    actions_performed integer NOT NULL CHECK (actions_performed >= 0),
    storage_used_mb   integer NOT NULL CHECK (storage_used_mb >= 0),
    api_calls         integer NOT NULL CHECK (api_calls >= 0),
    active_minutes    integer NOT NULL CHECK (active_minutes >= 0)
);
-- BRIN: usage is appended day by day, so recent days sit in the last blocks
-- (and the bulk-loaded blocks all end at the clock of elt_generate).
CREATE INDEX usage_date_idx ON elt_raw.usage USING brin (usage_date);

COMMENT ON TABLE elt_raw.regions IS 'Regions (lookup).';
COMMENT ON TABLE elt_raw.referral_sources IS 'Referral sources (lookup).';
COMMENT ON TABLE elt_raw.payment_methods IS 'Payment methods (lookup); N/A for free plans.';
COMMENT ON TABLE elt_raw.plans IS 'Plans with monthly price and limits; NULL limit = unlimited (lookup).';
COMMENT ON TABLE elt_raw.plan_features IS 'Features of each plan (lookup).';
COMMENT ON TABLE elt_raw.users IS 'Users with SCD2 history: one row per version, [valid_from, valid_to), valid_to NULL = current.';
COMMENT ON TABLE elt_raw.subscriptions IS 'Subscriptions with SCD2 history: one row per version, [valid_from, valid_to), valid_to NULL = current.';
COMMENT ON COLUMN elt_raw.subscriptions.status IS 'trialing (free trial, no revenue yet), active, past_due (a renewal payment failed and is being retried), cancelled (voluntarily before end_date, or involuntarily when end_date = the day the retries gave up), expired (replaced by another plan, or a trial not converted).';
COMMENT ON COLUMN elt_raw.subscriptions.end_date IS 'End of the paid (or trial) period; NULL for a free plan still running.';
COMMENT ON COLUMN elt_raw.subscriptions.billing_interval IS 'month or year (yearly billing: two months free).';
COMMENT ON COLUMN elt_raw.subscriptions.seats IS 'Seats in use, up to the plan''s max_users; grows with the account.';
COMMENT ON COLUMN elt_raw.subscriptions.discount_pct IS 'Introductory discount in force in this version, percent (0: none).';
COMMENT ON COLUMN elt_raw.subscriptions.trial_end IS 'End of the free trial the subscription began with; NULL without one.';
COMMENT ON COLUMN elt_raw.subscriptions.mrr IS 'Monthly recurring revenue in USD while the version is valid and before end_date: the monthly price (a twelfth of the yearly price), after discount; 0 while trialing and once ended.';
COMMENT ON TABLE elt_raw.usage IS 'Daily product usage: one row per user and active day, appended.';

SELECT pg_catalog.pg_extension_config_dump('elt.settings', '');
SELECT pg_catalog.pg_extension_config_dump('elt.run_log', '');
SELECT pg_catalog.pg_extension_config_dump('elt.run_log_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.regions', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.referral_sources', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.payment_methods', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.plans', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.plan_features', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.users', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('elt_raw.usage', '');
