-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION elt" to load this file. \quit

-- Static lookups of the simulated SaaS, as C set-returning functions.

CREATE FUNCTION @extschema@.elt_regions(
    OUT region_id integer, OUT region_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_regions'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION @extschema@.elt_regions() IS
'Regions of the simulated SaaS (lookup rows).';

CREATE FUNCTION @extschema@.elt_referral_sources(
    OUT referral_source_id integer, OUT referral_source_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_referral_sources'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.elt_referral_sources() IS
'Referral sources through which simulated users sign up (lookup rows).';

CREATE FUNCTION @extschema@.elt_payment_methods(
    OUT payment_method_id integer, OUT payment_method_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_payment_methods'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.elt_payment_methods() IS
'Payment methods of subscriptions; N/A is used for free plans (lookup rows).';

CREATE FUNCTION @extschema@.elt_plans(
    OUT plan_id integer, OUT plan_name text, OUT monthly_price numeric,
    OUT max_users integer, OUT api_limit integer, OUT storage_limit_mb integer,
    OUT project_limit integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_plans'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.elt_plans() IS
'Subscription plans with monthly price and limits; NULL limits mean unlimited (lookup rows).';

CREATE FUNCTION @extschema@.elt_plan_features(
    OUT feature_id integer, OUT plan_id integer, OUT feature_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_plan_features'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 43;
COMMENT ON FUNCTION @extschema@.elt_plan_features() IS
'Features included in each plan, one row per plan and feature (lookup rows).';
-- Schemas and tables: elt (state), elt_raw (landed source data).
-- All tables are extension members; pg_extension_config_dump makes pg_dump
-- keep their data.

CREATE SCHEMA elt;
COMMENT ON SCHEMA elt IS 'elt extension state: settings of the simulated source and the run log.';
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
    refreshed_at timestamptz
);
COMMENT ON TABLE elt.settings IS 'The simulated population (seed, users signing up in the first year, start_date) and its clock (simulated today).';
COMMENT ON COLUMN elt.settings.users IS 'Users signing up in the first 365 days of the window; signups keep growing after it.';
COMMENT ON COLUMN elt.settings.marts_built IS 'Whether elt_mart was built by elt_generate, and so is kept up to date by elt_refresh.';
COMMENT ON COLUMN elt.settings.clock IS 'Simulated today: elt_raw holds the source as it is at the end of this day.';

CREATE TABLE elt.run_log (
    run_id       bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('generate', 'refresh')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    clock_before date,
    clock_after  date,
    rows         jsonb,
    status       text NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    error        text
);
COMMENT ON TABLE elt.run_log IS 'One row per elt_generate or elt_refresh run: times, clock before and after, rows per table, status and error.';

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
    status            text    NOT NULL CHECK (status IN ('active', 'expired', 'cancelled')),
    renewal_count     integer NOT NULL CHECK (renewal_count >= 0),
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz,
    PRIMARY KEY (subscription_id, valid_from),
    CHECK (end_date > start_date),
    CHECK (valid_to > valid_from)
);
CREATE UNIQUE INDEX subscriptions_current_key ON elt_raw.subscriptions (subscription_id) WHERE valid_to IS NULL;
CREATE INDEX subscriptions_user_idx ON elt_raw.subscriptions (user_id);
CREATE INDEX subscriptions_validity_idx ON elt_raw.subscriptions USING brin (valid_from, valid_to);

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
-- Generator set-returning functions: pure functions of their arguments.
-- The population is (users, seed, start_date): "users" sign up during the
-- first 365 days from start_date, and signups keep growing after that.
-- start_date NULL means the year ending at as_of.

CREATE FUNCTION @extschema@.elt_users(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    history boolean DEFAULT true, since date DEFAULT NULL)
RETURNS TABLE (user_id bigint, first_name text, last_name text, email text,
               signup_date date, plan_id integer, region_id integer,
               referral_source_id integer, valid_from timestamptz, valid_to timestamptz)
AS 'MODULE_PATHNAME', 'elt_users'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 2000;
COMMENT ON FUNCTION @extschema@.elt_users(integer, bigint, date, date, integer, integer, boolean, date) IS
'Simulated users as of a day, with SCD2 versions [valid_from, valid_to). Pure: the same arguments give the same rows. first_user/last_user select a range of user indexes; history => false gives only current versions; since keeps versions starting on or after that day.';

CREATE FUNCTION @extschema@.elt_subscriptions(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    history boolean DEFAULT true, since date DEFAULT NULL)
RETURNS TABLE (subscription_id bigint, user_id bigint, plan_id integer,
               start_date date, end_date date, payment_method_id integer,
               status text, renewal_count integer,
               valid_from timestamptz, valid_to timestamptz)
AS 'MODULE_PATHNAME', 'elt_subscriptions'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 5000;
COMMENT ON FUNCTION @extschema@.elt_subscriptions(integer, bigint, date, date, integer, integer, boolean, date) IS
'Simulated subscriptions as of a day, with SCD2 versions: one version per start, renewal, cancellation and expiry. Arguments as for elt_users.';

CREATE FUNCTION @extschema@.elt_usage(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    since date DEFAULT NULL)
RETURNS TABLE (usage_id bigint, user_id bigint, plan_id integer,
               subscription_id bigint, usage_date date, actions_performed integer,
               storage_used_mb integer, api_calls integer, active_minutes integer)
AS 'MODULE_PATHNAME', 'elt_usage'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 50000;
COMMENT ON FUNCTION @extschema@.elt_usage(integer, bigint, date, date, integer, integer, date) IS
'Simulated daily usage from since (default: start of the window) through as_of, one row per user and active day, within monthly plan quotas. Arguments as for elt_users.';
-- elt_generate(): (re)load elt_raw for a population as of a day.

CREATE FUNCTION @extschema@.elt__check_population(
    users integer, seed bigint, as_of date, start_date date)
RETURNS void
AS 'MODULE_PATHNAME', 'elt__check_population'
LANGUAGE c STABLE;
COMMENT ON FUNCTION @extschema@.elt__check_population(integer, bigint, date, date) IS
'Internal: raises the error elt_generate and the generators give for bad population arguments.';

CREATE FUNCTION @extschema@.elt__load_raw(
    users integer, seed bigint, as_of date, start_date date,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
AS 'MODULE_PATHNAME', 'elt__load_raw'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.elt__load_raw(integer, bigint, date, date) IS
'Internal: bulk-loads elt_raw.users, subscriptions and usage, which must be empty.';
REVOKE ALL ON FUNCTION @extschema@.elt__load_raw(integer, bigint, date, date) FROM PUBLIC;

-- Internal: may the current role ANALYZE the table (its owner, or a
-- member)?  Others would only get a WARNING per table: elt_grant_writer's
-- roles skip the statistics and leave them to autovacuum.
CREATE FUNCTION @extschema@.elt__may_analyze(tab regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = tab), 'USAGE');
COMMENT ON FUNCTION @extschema@.elt__may_analyze(regclass) IS
'Internal: whether the current role may ANALYZE the table (owns it, or is a member of its owner).';
REVOKE ALL ON FUNCTION @extschema@.elt__may_analyze(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@.elt_generate(
    users integer DEFAULT 1000,
    seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE,
    start_date date DEFAULT NULL,
    build_marts boolean DEFAULT true)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_start   date := COALESCE(start_date, GREATEST(as_of - 364, date '2000-01-01'));
    v_started timestamptz := clock_timestamp();
    v_raw     record;
    v_counts  jsonb := '{}';
    v_n       bigint;
    v_mart    record;
BEGIN
    -- every argument is checked before anything is written
    PERFORM @extschema@.elt__check_population(users, seed, as_of, start_date);
    IF build_marts IS NULL THEN
        RAISE EXCEPTION 'build_marts must not be NULL' USING ERRCODE = '22004';
    END IF;

    -- one generate or refresh at a time; readers of elt_mart are not blocked
    LOCK TABLE elt.settings IN EXCLUSIVE MODE;

    -- The lookups are static: upsert them, so that tables of the user's own
    -- may keep foreign keys to them.  The big tables are reloaded.
    TRUNCATE elt_raw.usage, elt_raw.subscriptions, elt_raw.users;

    INSERT INTO elt_raw.regions SELECT * FROM @extschema@.elt_regions()
    ON CONFLICT (region_id) DO UPDATE SET region_name = excluded.region_name;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('elt_raw.regions', v_n);
    INSERT INTO elt_raw.referral_sources SELECT * FROM @extschema@.elt_referral_sources()
    ON CONFLICT (referral_source_id) DO UPDATE SET referral_source_name = excluded.referral_source_name;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('elt_raw.referral_sources', v_n);
    INSERT INTO elt_raw.payment_methods SELECT * FROM @extschema@.elt_payment_methods()
    ON CONFLICT (payment_method_id) DO UPDATE SET payment_method_name = excluded.payment_method_name;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('elt_raw.payment_methods', v_n);
    INSERT INTO elt_raw.plans AS p SELECT * FROM @extschema@.elt_plans()
    ON CONFLICT (plan_id) DO UPDATE
       SET plan_name = excluded.plan_name, monthly_price = excluded.monthly_price,
           max_users = excluded.max_users, api_limit = excluded.api_limit,
           storage_limit_mb = excluded.storage_limit_mb, project_limit = excluded.project_limit;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('elt_raw.plans', v_n);
    INSERT INTO elt_raw.plan_features SELECT * FROM @extschema@.elt_plan_features()
    ON CONFLICT (feature_id) DO UPDATE
       SET plan_id = excluded.plan_id, feature_name = excluded.feature_name;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('elt_raw.plan_features', v_n);

    v_raw := @extschema@.elt__load_raw(users, seed, as_of, v_start);
    v_counts := v_counts || jsonb_build_object(
        'elt_raw.users', v_raw.users_rows,
        'elt_raw.subscriptions', v_raw.subscriptions_rows,
        'elt_raw.usage', v_raw.usage_rows);
    -- statistics now, not when autovacuum gets to it: the mart build and
    -- the first refreshes plan their joins and index scans on them (only
    -- the owner may: others would get a WARNING per table)
    IF @extschema@.elt__may_analyze('elt_raw.usage'::pg_catalog.regclass) THEN
        ANALYZE elt_raw.users, elt_raw.subscriptions, elt_raw.usage;
    END IF;

    -- settings first: the mart builders read the window and clock from them
    INSERT INTO elt.settings AS s (singleton, seed, users, start_date, clock, marts_built, generated_at, refreshed_at)
    VALUES (true, elt_generate.seed, elt_generate.users, v_start, as_of, build_marts, now(), NULL)
    ON CONFLICT (singleton) DO UPDATE
       SET seed = excluded.seed, users = excluded.users, start_date = excluded.start_date,
           clock = excluded.clock, marts_built = excluded.marts_built,
           generated_at = excluded.generated_at, refreshed_at = NULL;

    IF build_marts THEN
        FOR v_mart IN SELECT * FROM @extschema@.elt_build_marts() LOOP
            v_counts := v_counts || jsonb_build_object(v_mart.table_name, v_mart.row_count);
        END LOOP;
    END IF;

    INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, rows, status)
    VALUES ('generate', v_started, clock_timestamp(), NULL, as_of, v_counts, 'ok');

    RETURN QUERY SELECT key, value::bigint FROM jsonb_each_text(v_counts) ORDER BY key;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean) IS
'(Re)loads elt_raw with the simulated SaaS as of as_of: lookups, users and subscriptions with full SCD2 history, usage; builds elt_mart unless build_marts is false; records the population in elt.settings. users = signups in the first year of the window (default: the year ending at as_of). Returns rows per table.';
-- Writes every elt table: for the extension's owner (and superusers) and
-- whoever they grant it to, not for every role that can connect.
REVOKE ALL ON FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean) FROM PUBLIC;
-- Generic SCD2 merge engine (src/scd2.c).

CREATE FUNCTION @extschema@.elt_scd2_merge(
    target regclass,
    source regclass,
    keys text[],
    as_of timestamptz DEFAULT pg_catalog.now(),
    tracked text[] DEFAULT NULL,
    hard_deletes text DEFAULT 'invalidate')
RETURNS TABLE (inserted bigint, updated bigint, deleted bigint, unchanged bigint)
AS 'MODULE_PATHNAME', 'elt_scd2_merge'
LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION @extschema@.elt_scd2_merge(regclass, regclass, text[], timestamptz, text[], text) IS
'SCD2 merge of the snapshot in source into the history table target (valid_from, valid_to; NULL valid_to = current), matching rows on keys. '
'A change in a tracked column (default: every non-key column both share) closes the current version at as_of and opens a new one; '
'new keys open a version; keys missing from source are closed at as_of when hard_deletes = ''invalidate'' and stay current when ''ignore''. '
'A merge at the same as_of as the newest version replaces that version in place. '
'Locks the target in SHARE ROW EXCLUSIVE mode; runs with the caller''s privileges. Returns (inserted, updated, deleted, unchanged).';
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
COMMENT ON COLUMN elt_mart.dim_plan.storage_limit_mb IS 'Storage allowed per monthly period, in MB; empty means unlimited.';
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
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_used_mb IS 'Storage the user added that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.api_calls IS 'API calls the user made that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.active_minutes IS 'Minutes the user was active that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_start IS 'First day of the subscription''s monthly quota period containing that day (the start date plus whole months).';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_api_calls IS 'API calls in the quota period up to and including that day.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.period_storage_used_mb IS 'Storage added in the quota period up to and including that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.api_quota_used_pct IS 'API calls in the period so far as a percentage of the plan''s monthly API limit; empty when unlimited or unknown.';
COMMENT ON COLUMN elt_mart.fct_usage_daily.storage_quota_used_pct IS 'Storage added in the period so far as a percentage of the plan''s monthly storage limit; empty when unlimited or unknown.';

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
'Monthly recurring revenue: one row per user and month in which the user pays, plus the month in which the user churns (MRR 0). MRR is measured on the last day of the month (on the simulated today for the current month); the movement follows ChartMogul: new, expansion, contraction, churn, reactivation, retained.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.month_start IS 'First day of the month.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.user_id IS 'Id of the user.';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.date_key IS 'Day on which MRR is measured: the last day of the month, or the simulated today in the current month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.user_key IS 'Version of the user valid on the measurement day (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.plan_key IS 'Plan the user pays for on the measurement day; in a churn month the plan the user paid for the month before (links to dim_plan).';
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.mrr IS 'Monthly recurring revenue in USD on the measurement day: monthly price of the paid subscriptions covering that day.';
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
    CHECK (arr = 12 * mrr)
);
COMMENT ON TABLE elt_mart.fct_kpi_daily IS
'Company KPIs: one row per day of the simulated window with signups, active and paying users, MRR, ARR, churned users and usage totals.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.date_key IS 'The day (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.date IS 'The day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.signups IS 'Users who signed up that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.active_users IS 'Distinct users with usage that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.paying_users IS 'Users with MRR above 0 that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.churned_users IS 'Users who paid the day before and no longer pay that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.mrr IS 'Monthly recurring revenue that day in USD: monthly price of all paid subscriptions covering the day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.arr IS 'Annual recurring revenue in USD: 12 times MRR.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.actions_performed IS 'Actions performed by all users that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.api_calls IS 'API calls made by all users that day.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.storage_used_mb IS 'Storage added by all users that day, in MB.';
COMMENT ON COLUMN elt_mart.fct_kpi_daily.active_minutes IS 'Minutes of activity of all users that day.';

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

-- Internal state of the usage fact builder (not part of the star schema):
-- per subscription and quota period seen in the last 31 days of usage
-- facts, the running totals of its last fact row.  A one-day update adds
-- these to the new day's usage instead of reading a month of facts back.
-- The builder uses it only when it is in step with the facts (its last day
-- is the facts' last day) and rebuilds it otherwise.  Each day updates a
-- third of its rows, never the key: room left in every page lets those be
-- HOT updates (no new index entry), which halves the day's upsert.
CREATE TABLE elt.mart_usage_totals (
    subscription_id bigint NOT NULL,
    period_start    date   NOT NULL,
    through         date   NOT NULL,
    api_calls       bigint NOT NULL,
    storage_used_mb bigint NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
) WITH (fillfactor = 70);
COMMENT ON TABLE elt.mart_usage_totals IS
'Internal: running API and storage totals per subscription and quota period through the last fact row of elt_mart.fct_usage_daily (last 31 days only), so that incremental builds need not read a month of facts.';
SELECT pg_catalog.pg_extension_config_dump('elt.mart_usage_totals', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_kpi_daily', '');
-- elt_mart builders: fill the star schema from elt_raw.  This file holds the
-- shared rules and internal helpers; 32_mart_dims, 33_mart_facts and
-- 34_mart_build hold the builders and entry points.
--
-- Every builder works set-based with DELETE / INSERT ... ON CONFLICT inside
-- the caller's transaction: readers keep their snapshot of the old rows and
-- are never blocked (no TRUNCATE, no ALTER).  Builders and refreshes are
-- serialised by a lock on elt.settings taken first (the lock elt_generate
-- takes), and elt_raw is locked against writers so that all statements of a
-- build read the same source.
--
-- A builder with since = NULL rebuilds its table; with a day, it rewrites
-- only what a source change on business days >= since can touch (the
-- contract of elt_update_marts).  Both paths run the same statements, so an
-- incremental update gives exactly the rows of a full rebuild.
--
-- Days become instants at midnight UTC, whatever the session's TimeZone:
-- day::timestamp AT TIME ZONE 'UTC'.
--
-- Every builder runs with jit = off: the planner cannot estimate the rows of
-- materialised CTEs (it assumes 1000 months, millions of MRR rows), so it
-- JIT-compiles with full optimisation and inlining, which took 1.4 s of a
-- 1.5 s incremental MRR update at 100k users.

-- Internal: checks a builder's since, takes the locks of a build, and
-- returns the simulated window.
CREATE FUNCTION @extschema@.elt__mart_begin(since date DEFAULT NULL, OUT start_date date, OUT clock date)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
BEGIN
    IF NOT isfinite(since) THEN
        RAISE EXCEPTION 'since must be a finite date' USING ERRCODE = '22008';
    END IF;
    LOCK TABLE elt.settings IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE elt_mart.dim_date, elt_mart.dim_plan, elt_mart.dim_user, elt_mart.dim_subscription,
               elt_mart.fct_usage_daily, elt_mart.fct_mrr_monthly, elt_mart.fct_kpi_daily
        IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE elt_raw.regions, elt_raw.referral_sources, elt_raw.payment_methods, elt_raw.plans,
               elt_raw.plan_features, elt_raw.users, elt_raw.subscriptions, elt_raw.usage
        IN SHARE MODE;
    SELECT s.start_date, s.clock INTO start_date, clock FROM elt.settings s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'elt has no simulated source yet: elt.settings is empty'
            USING ERRCODE = '55000',
                  HINT = 'Load elt_raw first, e.g. SELECT * FROM elt_generate(1000);';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__mart_begin(date) IS
'Internal: refuses an infinite since (22008), takes the locks of a mart build and returns the simulated window (start_date, clock) from elt.settings.';

-- Internal: a day's instant (midnight UTC); NULL stays NULL.
-- (Inlined SQL function: fully qualified, no SET clause.)
CREATE FUNCTION @extschema@.elt__day_ts(day date)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.timezone('UTC'::text, day::timestamp without time zone);
COMMENT ON FUNCTION @extschema@.elt__day_ts(date) IS
'Internal: midnight UTC of a day, the instant SCD2 versions of that day start.';

-- Internal: the first day whose midnight UTC is at or after an instant, so
-- that  t <= day_ts(d)  <=>  ts_day(t) <= d  and  day_ts(d) < t  <=>  d < ts_day(t):
-- point-in-time joins then compare dates, not instants built row by row.
CREATE FUNCTION @extschema@.elt__ts_day(t timestamptz)
RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (pg_catalog.timezone('UTC'::text, t) + '1 day -1 microsecond'::interval)::date;
COMMENT ON FUNCTION @extschema@.elt__ts_day(timestamptz) IS
'Internal: the first day whose midnight UTC is at or after the instant (for point-in-time joins on days).';

-- Internal: the surrogate key of the version of a user / subscription valid
-- at an instant, computed from elt_raw with the dimensions' formula (id *
-- 65536 + version ordinal), or no key (NULL) when no version covers it.
-- Versions never overlap, so the one valid at ts is the last one starting
-- at or before ts, and its ordinal is the number of those minus one: one
-- primary key probe.  Fact builders use it for a few rows (incremental
-- updates); a full build joins all versions at once instead.
-- (Inlined into the caller as a subquery: SQL body bound at creation, so
-- no search_path is needed, and none may be set.)
CREATE FUNCTION @extschema@.elt__user_key_at(id bigint, ts timestamptz)
RETURNS TABLE (user_key bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.bool_or(r.valid_to IS NULL OR r.valid_to > ts)
                THEN id * 65536 + pg_catalog.count(*) - 1 END
    FROM elt_raw.users r
    WHERE r.user_id = id AND r.valid_from <= ts;
END;
COMMENT ON FUNCTION @extschema@.elt__user_key_at(bigint, timestamptz) IS
'Internal: dim_user key of the version of user id valid at ts (NULL if none), from elt_raw.users.';

CREATE FUNCTION @extschema@.elt__subscription_key_at(id bigint, ts timestamptz)
RETURNS TABLE (subscription_key bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.bool_or(r.valid_to IS NULL OR r.valid_to > ts)
                THEN id * 65536 + pg_catalog.count(*) - 1 END
    FROM elt_raw.subscriptions r
    WHERE r.subscription_id = id AND r.valid_from <= ts;
END;
COMMENT ON FUNCTION @extschema@.elt__subscription_key_at(bigint, timestamptz) IS
'Internal: dim_subscription key of the version of subscription id valid at ts (NULL if none), from elt_raw.subscriptions.';

-- Internal: the ids of an SCD2 source table with a version starting or
-- ending at or after since_ts (NULL when since_ts is NULL: all ids), sorted,
-- for primary key lookups (= ANY) by every builder that rewrites only what
-- changed.  BRIN on (valid_from, valid_to) finds them in the last blocks.
CREATE FUNCTION @extschema@.elt__changed_ids(tab regclass, id_column name, since_ts timestamptz)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    ids bigint[];
BEGIN
    IF since_ts IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT array_agg(DISTINCT %1$I) FROM %2$s WHERE valid_from >= $1 OR valid_to >= $1',
                   id_column, tab)
        INTO ids USING since_ts;
    RETURN COALESCE(ids, '{}');
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__changed_ids(regclass, name, timestamptz) IS
'Internal: sorted ids of tab with a version starting or ending at or after since_ts (NULL for NULL: all ids).';

-- Internal: surrogate keys are id * 65536 + version ordinal; refuse ids and
-- version counts that do not fit, before anything is written.
CREATE FUNCTION @extschema@.elt__check_versions(tab regclass, id_column name, since_ts timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    v_id bigint;
    v_n  bigint;
BEGIN
    EXECUTE format(
        'SELECT %1$I, count(*) FROM %2$s
          WHERE $1 IS NULL   -- or the ids changed since, through the primary key
             OR %1$I = ANY ($1)
          GROUP BY %1$I
         HAVING count(*) > 65536 OR %1$I < 0 OR %1$I >= 140737488355328
          LIMIT 1', id_column, tab)
        INTO v_id, v_n USING @extschema@.elt__changed_ids(tab, id_column, since_ts);
    IF v_id IS NOT NULL THEN
        RAISE EXCEPTION '% % does not fit a surrogate key of elt_mart', id_column, v_id
            USING ERRCODE = '22003',
                  DETAIL = format('%s has %s versions of it; keys are %s * 65536 + version ordinal, so ids must be in [0, 2^47) with at most 65536 versions.',
                                  tab, v_n, id_column);
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__check_versions(regclass, name, timestamptz) IS
'Internal: raises an error if an id of an SCD2 source table does not fit the surrogate key id * 65536 + version ordinal.';

-- Internal: fast bulk loading of the fact tables (and of the day's usage
-- in elt_refresh).  Foreign keys are checked by one trigger call per
-- inserted row and key (a third of a full build's time, more than
-- generating a day's usage); the keys of a fact row come from lookups in
-- the same statement, with -1 when the lookup fails, and generated usage
-- has the plans just loaded.  When the caller is a
-- superuser, the writer loads with session_replication_role = replica for
-- the statement and then checks every foreign key of the new rows with one
-- set-based query (elt__bulk_end), raising the error a trigger would have
-- raised.  A table with triggers or rules of its own keeps the normal mode,
-- so that they fire; other callers get the per-row triggers.
CREATE FUNCTION @extschema@.elt__bulk_begin(tab regclass)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'origin'
       AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                       WHERE t.tgrelid OPERATOR(pg_catalog.=) tab AND NOT t.tgisinternal)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite w WHERE w.ev_class OPERATOR(pg_catalog.=) tab) THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
        RETURN true;
    END IF;
    RETURN false;
END
$fn$;
-- No SET clause: one naming session_replication_role would undo the
-- set_config at exit (a SET clause restores only the variables it names);
-- everything is qualified.  elt__bulk_end switches back to origin.
COMMENT ON FUNCTION @extschema@.elt__bulk_begin(regclass) IS
'Internal: for a superuser, and a table without triggers or rules of its own, switches this transaction to session_replication_role = replica (no per-row foreign key triggers) and returns true; elt__bulk_end switches back and checks the keys.';

CREATE FUNCTION @extschema@.elt__bulk_end(fast boolean, tab regclass, col name, lo date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
-- in the clause so that the set_config calls below end with the function
SET enable_hashjoin = on
SET enable_mergejoin = on
AS $fn$
DECLARE
    c      record;
    v_sql  text := '';
    v_case text := '';
    v_cols text := '';
    v_each text := '';
    v_bad  text;
    -- the new rows: those with col >= lo (all when lo is NULL); built here
    -- from a name and a value, never from SQL text
    cond   text := CASE WHEN lo IS NULL THEN 'true'
                        ELSE pg_catalog.format('f.%I OPERATOR(pg_catalog.>=) %L::pg_catalog.date', col, lo) END;
BEGIN
    IF NOT fast THEN
        RETURN;
    END IF;
    -- Back to per-row triggers first (elt__bulk_begin switched them off).
    -- This set_config outlives the call: the SET clause above does not name
    -- session_replication_role, and a SET clause restores only what it names.
    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
    FOR c IN
        SELECT k.conname, k.confrelid::regclass AS reftab,
               fa.attname AS fkcol, ra.attname AS refcol, row_number() OVER (ORDER BY k.conname) AS i
        FROM pg_catalog.pg_constraint k
        JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.conrelid AND fa.attnum = k.conkey[1]
        JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
        WHERE k.conrelid = tab AND k.contype = 'f' AND pg_catalog.cardinality(k.conkey) = 1
        ORDER BY k.conname
    LOOP
        v_sql := v_sql || pg_catalog.format(' LEFT JOIN %s r%s ON r%s.%I = f.%I', c.reftab, c.i, c.i, c.refcol, c.fkcol);
        v_case := v_case || pg_catalog.format(' WHEN f.%I IS NOT NULL AND r%s.%I IS NULL THEN %L', c.fkcol, c.i, c.refcol,
                                              pg_catalog.format('%s|%s|%s', c.conname, c.fkcol, c.reftab));
        v_cols := v_cols || CASE WHEN c.i > 1 THEN ', ' ELSE '' END || pg_catalog.format('f.%I', c.fkcol);
        v_each := v_each || CASE WHEN c.i > 1 THEN ', ' ELSE '' END
                  || pg_catalog.format('(SELECT %L FROM (SELECT DISTINCT n.%I AS k FROM n) d'
                                       ' WHERE d.k IS NOT NULL AND NOT EXISTS (SELECT FROM %s r WHERE r.%I = d.k) LIMIT 1)',
                                       pg_catalog.format('%s|%s|%s', c.conname, c.fkcol, c.reftab),
                                       c.fkcol, c.reftab, c.refcol);
    END LOOP;
    IF v_sql = '' THEN
        RETURN;
    END IF;
    IF lo IS NULL THEN
        -- all rows of a full build: one pass, hash joins against the
        -- referenced tables (an aggregate, not LIMIT 1)
        EXECUTE pg_catalog.format('SELECT min(CASE%s END) FROM %s f%s WHERE %s',
                                  v_case, tab, v_sql, cond)
            INTO v_bad;
    ELSE
        -- a day or a few: each distinct key once (a day's facts share one
        -- date and a few plans), looked up by index rather than hashing
        -- whole dimensions; the first constraint violated, in name order
        PERFORM pg_catalog.set_config('enable_hashjoin', 'off', true);
        PERFORM pg_catalog.set_config('enable_mergejoin', 'off', true);
        EXECUTE pg_catalog.format('WITH n AS MATERIALIZED (SELECT %s FROM %s f WHERE %s) SELECT COALESCE(%s)',
                                  v_cols, tab, cond, v_each)
            INTO v_bad;
    END IF;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                        tab, pg_catalog.split_part(v_bad, '|', 1)
            USING ERRCODE = '23503',
                  DETAIL = pg_catalog.format('A value of %s is not present in table %s.',
                                             pg_catalog.split_part(v_bad, '|', 2), pg_catalog.split_part(v_bad, '|', 3));
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__bulk_end(boolean, regclass, name, date) IS
'Internal: after a bulk load started by elt__bulk_begin (fast = its result), switches back to session_replication_role = origin and checks the foreign keys of the rows of tab with col >= lo (all rows when lo is NULL) in one query.';

-- Internal: remove dimension rows gone from the source (after the facts
-- that referenced them are gone): days outside the window, plans no longer
-- listed, versions beyond the versions an id has now.  since limits the
-- users and subscriptions looked at to those changed on or after that day.
CREATE FUNCTION @extschema@.elt__purge_dim(tab text, since date)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := @extschema@.elt__day_ts(since);
    v_fast boolean;
BEGIN
    w := @extschema@.elt__mart_begin();
    -- In bulk mode the per-row "still referenced?" triggers are skipped (a
    -- deleted subscription version would scan fct_usage_daily each) and the
    -- keys of the facts are checked once, set-based, instead.
    v_fast := @extschema@.elt__bulk_begin(('elt_mart.' OPERATOR(pg_catalog.||) tab)::pg_catalog.regclass);
    CASE tab
    WHEN 'dim_date' THEN
        DELETE FROM elt_mart.dim_date t
        WHERE t.date_key <> -1 AND (t.date < w.start_date OR t.date > w.clock);
    WHEN 'dim_plan' THEN
        DELETE FROM elt_mart.dim_plan t
        WHERE t.plan_key <> -1 AND NOT EXISTS (SELECT 1 FROM elt_raw.plans p WHERE p.plan_id = t.plan_key);
    WHEN 'dim_user' THEN
        EXECUTE $q$
        DELETE FROM elt_mart.dim_user t
        WHERE t.user_key <> -1
          AND ($1 IS NULL OR t.user_id = ANY ($2))
          AND CASE WHEN $1 IS NULL   -- all users: count versions in one pass
                   THEN NOT EXISTS (SELECT 1 FROM (SELECT u.user_id, count(*) AS n FROM elt_raw.users u GROUP BY u.user_id) c
                                    WHERE c.user_id = t.user_id AND t.version_ordinal < c.n)
                   -- a few changed users: count theirs through the primary key
                   ELSE t.version_ordinal >= (SELECT count(*) FROM elt_raw.users u WHERE u.user_id = t.user_id) END
        $q$ USING v_ts, @extschema@.elt__changed_ids('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
    WHEN 'dim_subscription' THEN
        EXECUTE $q$
        DELETE FROM elt_mart.dim_subscription t
        WHERE t.subscription_key <> -1
          AND ($1 IS NULL OR t.subscription_id = ANY ($2))
          AND CASE WHEN $1 IS NULL
                   THEN NOT EXISTS (SELECT 1 FROM (SELECT s.subscription_id, count(*) AS n
                                                   FROM elt_raw.subscriptions s GROUP BY s.subscription_id) c
                                    WHERE c.subscription_id = t.subscription_id AND t.version_ordinal < c.n)
                   ELSE t.version_ordinal >= (SELECT count(*) FROM elt_raw.subscriptions s
                                              WHERE s.subscription_id = t.subscription_id) END
        $q$ USING v_ts, @extschema@.elt__changed_ids('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
    END CASE;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- back to normal triggers (bulk mode was switched on here) even when no
    -- row went, then check every fact key only if rows went
    IF v_fast AND n = 0 THEN
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
    PERFORM @extschema@.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_usage_daily'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, NULL::pg_catalog.date);
    PERFORM @extschema@.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_mrr_monthly'::pg_catalog.regclass, 'month_start'::pg_catalog.name, NULL::pg_catalog.date);
    PERFORM @extschema@.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_kpi_daily'::pg_catalog.regclass, 'date'::pg_catalog.name, NULL::pg_catalog.date);
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__purge_dim(text, date) IS
'Internal: deletes the rows of a dimension that are no longer in the source (days outside the window, plans, versions); returns how many.';
-- elt_mart dimension builders (see 31_mart_builders.sql for the shared rules).

------------------------------------------------------------------------------
-- dim_date
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_dim_date(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w record;
    n bigint;
BEGIN
    w := @extschema@.elt__mart_begin();
    WITH src AS MATERIALIZED (
        SELECT (EXTRACT(year FROM d) * 10000 + EXTRACT(month FROM d) * 100 + EXTRACT(day FROM d))::integer AS date_key,
               d AS date,
               EXTRACT(year FROM d)::smallint AS year,
               EXTRACT(quarter FROM d)::smallint AS quarter,
               EXTRACT(month FROM d)::smallint AS month,
               to_char(d::timestamp, 'FMMonth') AS month_name,
               to_char(d::timestamp, 'YYYY-MM') AS year_month,
               date_trunc('month', d::timestamp)::date AS month_start,
               (date_trunc('month', d::timestamp) + interval '1 month' - interval '1 day')::date AS month_end,
               EXTRACT(day FROM d)::smallint AS day_of_month,
               EXTRACT(isodow FROM d)::smallint AS day_of_week,
               to_char(d::timestamp, 'FMDay') AS day_name,
               EXTRACT(isoyear FROM d)::smallint AS iso_year,
               EXTRACT(week FROM d)::smallint AS iso_week,
               EXTRACT(isodow FROM d) >= 6 AS is_weekend,
               EXTRACT(day FROM d + 1) = 1 AS is_month_end
        FROM (SELECT g::date AS d
              FROM generate_series(w.start_date::timestamp, w.clock::timestamp, interval '1 day') g) days
    ),
    ups AS (
        INSERT INTO elt_mart.dim_date AS t
        SELECT * FROM src
        ON CONFLICT (date_key) DO UPDATE
           SET (date, year, quarter, month, month_name, year_month, month_start, month_end,
                day_of_month, day_of_week, day_name, iso_year, iso_week, is_weekend, is_month_end)
             = (excluded.date, excluded.year, excluded.quarter, excluded.month, excluded.month_name,
                excluded.year_month, excluded.month_start, excluded.month_end, excluded.day_of_month,
                excluded.day_of_week, excluded.day_name, excluded.iso_year, excluded.iso_week,
                excluded.is_weekend, excluded.is_month_end)
         WHERE (t.*) IS DISTINCT FROM (excluded.*)
        RETURNING 1
    )
    SELECT count(*) FROM ups INTO n;
    IF purge THEN
        n := n + @extschema@.elt__purge_dim('dim_date'::pg_catalog.text, NULL::pg_catalog.date);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_date(boolean) IS
'Builds elt_mart.dim_date: one row per day from elt.settings start_date through clock (plus the Unknown day -1). Returns the number of rows written (inserted, changed or removed).';

------------------------------------------------------------------------------
-- dim_plan
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_dim_plan(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w record;
    n bigint;
BEGIN
    w := @extschema@.elt__mart_begin();
    WITH src AS MATERIALIZED (
        SELECT p.plan_id AS plan_key, p.plan_id, p.plan_name,
               p.monthly_price, (12 * p.monthly_price)::numeric(12,2) AS annual_price,
               p.monthly_price > 0 AS is_paid,
               p.max_users, p.api_limit, p.storage_limit_mb, p.project_limit,
               COALESCE(f.n, 0)::integer AS feature_count, COALESCE(f.names, '') AS features
        FROM elt_raw.plans p
        LEFT JOIN (SELECT plan_id, count(*) AS n, string_agg(feature_name, ', ' ORDER BY feature_id) AS names
                   FROM elt_raw.plan_features GROUP BY plan_id) f ON f.plan_id = p.plan_id
    ),
    ups AS (
        INSERT INTO elt_mart.dim_plan AS t
        SELECT * FROM src
        ON CONFLICT (plan_key) DO UPDATE
           SET (plan_id, plan_name, monthly_price, annual_price, is_paid, max_users, api_limit,
                storage_limit_mb, project_limit, feature_count, features)
             = (excluded.plan_id, excluded.plan_name, excluded.monthly_price, excluded.annual_price,
                excluded.is_paid, excluded.max_users, excluded.api_limit, excluded.storage_limit_mb,
                excluded.project_limit, excluded.feature_count, excluded.features)
         WHERE (t.*) IS DISTINCT FROM (excluded.*)
        RETURNING 1
    )
    SELECT count(*) FROM ups INTO n;
    IF purge THEN
        n := n + @extschema@.elt__purge_dim('dim_plan'::pg_catalog.text, NULL::pg_catalog.date);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_plan(boolean) IS
'Builds elt_mart.dim_plan from elt_raw.plans and elt_raw.plan_features: one row per plan with price, limits, feature count and feature list (plus the Unknown plan -1). Returns the number of rows written.';

------------------------------------------------------------------------------
-- dim_user
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_dim_user(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := @extschema@.elt__day_ts(since);
BEGIN
    w := @extschema@.elt__mart_begin(since);
    PERFORM @extschema@.elt__check_versions('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
    -- users touched by a change on or after since: all their versions are
    -- recomputed (the ordinal of a version depends on the others)
    EXECUTE $q$
    WITH src AS MATERIALIZED (
        SELECT u.user_id * 65536 + u.ord AS user_key, u.user_id, u.ord::integer AS version_ordinal,
               u.first_name, u.last_name, u.first_name || ' ' || u.last_name AS full_name,
               u.email, u.signup_date,
               u.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               u.region_id, COALESCE(r.region_name, 'Unknown') AS region_name,
               u.referral_source_id, COALESCE(f.referral_source_name, 'Unknown') AS referral_source_name,
               u.valid_from, u.valid_to, u.valid_to IS NULL AS is_current
        FROM (SELECT x.*, row_number() OVER (PARTITION BY x.user_id ORDER BY x.valid_from) - 1 AS ord
              FROM elt_raw.users x
              WHERE $1 IS NULL OR x.user_id = ANY ($1)) u   -- primary key lookups
        LEFT JOIN elt_raw.plans p ON p.plan_id = u.plan_id
        LEFT JOIN elt_raw.regions r ON r.region_id = u.region_id
        LEFT JOIN elt_raw.referral_sources f ON f.referral_source_id = u.referral_source_id
    ),
    ups AS (
        INSERT INTO elt_mart.dim_user AS t
        SELECT * FROM src
        ON CONFLICT (user_key) DO UPDATE
           SET (user_id, version_ordinal, first_name, last_name, full_name, email, signup_date,
                plan_id, plan_name, region_id, region_name, referral_source_id, referral_source_name,
                valid_from, valid_to, is_current)
             = (excluded.user_id, excluded.version_ordinal, excluded.first_name, excluded.last_name,
                excluded.full_name, excluded.email, excluded.signup_date, excluded.plan_id,
                excluded.plan_name, excluded.region_id, excluded.region_name,
                excluded.referral_source_id, excluded.referral_source_name,
                excluded.valid_from, excluded.valid_to, excluded.is_current)
         WHERE (t.*) IS DISTINCT FROM (excluded.*)
        RETURNING 1
    )
    SELECT count(*) FROM ups
    $q$ INTO n USING @extschema@.elt__changed_ids('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
    IF purge THEN
        n := n + @extschema@.elt__purge_dim('dim_user'::pg_catalog.text, since);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_user(date, boolean) IS
'Builds elt_mart.dim_user from elt_raw.users: one row per user version, keyed user_id * 65536 + version ordinal, with plan, region and referral names. since NULL (default) rebuilds all users; a day rebuilds only users with a version starting or ending on or after that day. Returns the number of rows written.';

------------------------------------------------------------------------------
-- dim_subscription
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_dim_subscription(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := @extschema@.elt__day_ts(since);
BEGIN
    w := @extschema@.elt__mart_begin(since);
    PERFORM @extschema@.elt__check_versions('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
    EXECUTE $q$
    WITH src AS MATERIALIZED (
        SELECT s.subscription_id * 65536 + s.ord AS subscription_key, s.subscription_id,
               s.ord::integer AS version_ordinal, s.user_id,
               s.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               p.monthly_price, p.monthly_price > 0 AS is_paid,
               s.payment_method_id, COALESCE(m.payment_method_name, 'Unknown') AS payment_method_name,
               s.status, s.start_date, s.end_date, s.renewal_count,
               s.valid_from, s.valid_to, s.valid_to IS NULL AS is_current
        FROM (SELECT x.*, row_number() OVER (PARTITION BY x.subscription_id ORDER BY x.valid_from) - 1 AS ord
              FROM elt_raw.subscriptions x
              WHERE $1 IS NULL OR x.subscription_id = ANY ($1)) s
        LEFT JOIN elt_raw.plans p ON p.plan_id = s.plan_id
        LEFT JOIN elt_raw.payment_methods m ON m.payment_method_id = s.payment_method_id
    ),
    ups AS (
        INSERT INTO elt_mart.dim_subscription AS t
        SELECT * FROM src
        ON CONFLICT (subscription_key) DO UPDATE
           SET (subscription_id, version_ordinal, user_id, plan_id, plan_name, monthly_price, is_paid,
                payment_method_id, payment_method_name, status, start_date, end_date, renewal_count,
                valid_from, valid_to, is_current)
             = (excluded.subscription_id, excluded.version_ordinal, excluded.user_id, excluded.plan_id,
                excluded.plan_name, excluded.monthly_price, excluded.is_paid,
                excluded.payment_method_id, excluded.payment_method_name, excluded.status,
                excluded.start_date, excluded.end_date, excluded.renewal_count,
                excluded.valid_from, excluded.valid_to, excluded.is_current)
         WHERE (t.*) IS DISTINCT FROM (excluded.*)
        RETURNING 1
    )
    SELECT count(*) FROM ups
    $q$ INTO n USING @extschema@.elt__changed_ids('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
    IF purge THEN
        n := n + @extschema@.elt__purge_dim('dim_subscription'::pg_catalog.text, since);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) IS
'Builds elt_mart.dim_subscription from elt_raw.subscriptions: one row per subscription version, keyed subscription_id * 65536 + version ordinal, with plan and payment method names. since NULL (default) rebuilds all; a day rebuilds only subscriptions with a version starting or ending on or after that day. Returns the number of rows written.';
-- elt_mart fact builders (see 31_mart_builders.sql for the shared rules).

------------------------------------------------------------------------------
-- fct_usage_daily
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_fct_usage_daily(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
SET enable_nestloop = off     -- hash joins: millions of rows against whole dimensions
AS $fn$
DECLARE
    w     record;
    n_ins bigint;
    n_del bigint;
    v_fast boolean;
    v_merge boolean;
    v_sql  text;
    v_last  date;      -- the facts' last usage day before this build
    v_state boolean;   -- elt.mart_usage_totals is in step with the facts and only days after them change
BEGIN
    w := @extschema@.elt__mart_begin(since);
    SELECT max(t.usage_date) INTO v_last FROM elt_mart.fct_usage_daily t;   -- one probe of the primary key
    -- the totals table serves when only days after the facts' last day are
    -- added and it is at that day (not without facts: the slow path costs
    -- nothing then, and rebuilding drops any leftover totals)
    v_state := COALESCE(since > v_last AND (SELECT max(q.through) FROM elt.mart_usage_totals q) = v_last, false);
    IF since IS NOT NULL THEN
        -- a day or a few of usage: index lookups beat hashing whole dimensions
        PERFORM pg_catalog.set_config('enable_nestloop'::pg_catalog.text, 'on'::pg_catalog.text, true);
    END IF;
    v_fast := @extschema@.elt__bulk_begin('elt_mart.fct_usage_daily'::pg_catalog.regclass);
    -- rows gone from the source (one fact row per usage row)
    EXECUTE $q$
    DELETE FROM elt_mart.fct_usage_daily t
    WHERE ($1 IS NULL OR t.usage_date >= $1)
      AND NOT EXISTS (SELECT 1 FROM elt_raw.usage x
                      WHERE x.usage_date = t.usage_date AND x.subscription_id = t.subscription_id
                        AND ($1 IS NULL OR x.usage_date >= $1))   -- lets the BRIN index skip old days
    $q$ USING since;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    -- New and changed rows; unchanged rows are left alone.
    -- A quota period of a subscription starts on start_date + k months
    -- (clamped to the month's last day, as PostgreSQL's date + interval
    -- does) and lasts at most 31 days: rows from since - 31 on give every
    -- period total of the rows from since on.
    EXECUTE $q$
    SELECT EXISTS (SELECT 1 FROM elt_mart.fct_usage_daily t WHERE $1 IS NULL OR t.usage_date >= $1)
    $q$ INTO v_merge USING since;
    v_sql := $q$
    INSERT INTO elt_mart.fct_usage_daily AS t
        (usage_date, subscription_id, date_key, user_key, subscription_key, plan_key, user_id, usage_id, actions_performed, storage_used_mb, api_calls, active_minutes, period_start, period_api_calls, period_storage_used_mb, api_quota_used_pct, storage_quota_used_pct)
    WITH cur AS (
        SELECT s.subscription_id, s.start_date
        FROM elt_raw.subscriptions s
        WHERE s.valid_to IS NULL
    ),
    u AS (
        SELECT x.*, per.period_start
        FROM elt_raw.usage x
        LEFT JOIN cur ON cur.subscription_id = x.subscription_id
        LEFT JOIN LATERAL (
            SELECT CASE WHEN cur.start_date IS NULL OR x.usage_date < cur.start_date THEN NULL
                        WHEN p.p0 > x.usage_date THEN (cur.start_date + (k.m - 1) * interval '1 month')::date
                        ELSE p.p0 END AS period_start
            FROM (SELECT ((date_part('year', x.usage_date::timestamp) - date_part('year', cur.start_date::timestamp)) * 12
                        + date_part('month', x.usage_date::timestamp) - date_part('month', cur.start_date::timestamp))::integer AS m) k,
                 LATERAL (SELECT (cur.start_date + k.m * interval '1 month')::date AS p0) p
        ) per ON true
        WHERE $1 IS NULL OR x.usage_date >= $1     -- the BRIN index skips older days
    ),
    -- Incremental: a period's use before since is the running total of the
    -- last fact row of that period before since (nothing before since
    -- changed, so it is what a full build gives).  A period lasts at most
    -- 31 days, so those rows are among the last 31 days of facts.
    -- When days after the facts are added ($2), those totals are in
    -- elt.mart_usage_totals; otherwise they are read from the facts:
    -- running totals never decrease (the measures are >= 0), so the last
    -- one is the largest.
    prev AS (
        SELECT q.subscription_id, q.period_start, q.api_calls AS api0, q.storage_used_mb AS storage0
        FROM elt.mart_usage_totals q
        WHERE $2 AND q.subscription_id IN (SELECT u.subscription_id FROM u)
        UNION ALL
        SELECT f.subscription_id, f.period_start,
               max(f.period_api_calls), max(f.period_storage_used_mb)
        FROM elt_mart.fct_usage_daily f
        WHERE $1 IS NOT NULL AND NOT $2
          AND f.usage_date >= $1 - 31 AND f.usage_date < $1 AND f.period_start IS NOT NULL
          AND f.subscription_id IN (SELECT u.subscription_id FROM u)
        GROUP BY f.subscription_id, f.period_start
    ),
    c AS (
        SELECT u.*,
               CASE WHEN u.period_start IS NOT NULL THEN COALESCE(pv.api0, 0) + sum(u.api_calls) OVER per END AS period_api_calls,
               CASE WHEN u.period_start IS NOT NULL THEN COALESCE(pv.storage0, 0) + sum(u.storage_used_mb) OVER per END
                   AS period_storage_used_mb
        FROM u
        LEFT JOIN prev pv ON pv.subscription_id = u.subscription_id AND pv.period_start = u.period_start
        WINDOW per AS (PARTITION BY u.subscription_id, u.period_start ORDER BY u.usage_date)
    )
    /*VERSIONS*/
    SELECT c.usage_date, c.subscription_id,
           COALESCE(dd.date_key, -1), COALESCE(du.user_key, -1), COALESCE(ds.subscription_key, -1),
           COALESCE(dp.plan_key, -1), c.user_id, c.usage_id,
           c.actions_performed, c.storage_used_mb, c.api_calls, c.active_minutes,
           c.period_start, c.period_api_calls, c.period_storage_used_mb,
           round(100.0 * c.period_api_calls / NULLIF(dp.api_limit, 0), 2),
           round(100.0 * c.period_storage_used_mb / NULLIF(dp.storage_limit_mb, 0), 2)
    FROM (SELECT * FROM c WHERE $1 IS NULL OR c.usage_date >= $1) c
    LEFT JOIN elt_mart.dim_date dd ON dd.date = c.usage_date
    /*KEYS*/
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_id = c.plan_id
    ON CONFLICT (usage_date, subscription_id) DO UPDATE
       SET (date_key, user_key, subscription_key, plan_key, user_id,
            usage_id, actions_performed, storage_used_mb, api_calls, active_minutes,
            period_start, period_api_calls, period_storage_used_mb, api_quota_used_pct, storage_quota_used_pct)
         = (excluded.date_key, excluded.user_key, excluded.subscription_key, excluded.plan_key, excluded.user_id,
            excluded.usage_id, excluded.actions_performed, excluded.storage_used_mb, excluded.api_calls, excluded.active_minutes,
            excluded.period_start, excluded.period_api_calls, excluded.period_storage_used_mb, excluded.api_quota_used_pct, excluded.storage_quota_used_pct)
     WHERE (t.*) IS DISTINCT FROM (excluded.*)
    $q$;
    -- Keys of the versions valid on the usage day, computed from elt_raw
    -- with the dimensions' formula (id * 65536 + ordinal), not read from the
    -- dimensions, which may still hold versions gone from the source (they
    -- are purged after the facts); the foreign keys check that every key
    -- exists.  A full build joins all versions at once, as days [d0, d1)
    -- so that the join compares days; a few days of usage look up each
    -- row's versions through the primary keys instead.
    IF since IS NULL THEN
        v_sql := replace(v_sql, '/*VERSIONS*/', $q$,
    vu AS MATERIALIZED (
        SELECT r.user_id * 65536 + row_number() OVER (PARTITION BY r.user_id ORDER BY r.valid_from) - 1 AS user_key,
               r.user_id, @extschema@.elt__ts_day(r.valid_from) AS d0,
               COALESCE(@extschema@.elt__ts_day(r.valid_to), 'infinity') AS d1
        FROM elt_raw.users r
    ),
    vs AS MATERIALIZED (
        SELECT r.subscription_id * 65536 + row_number() OVER (PARTITION BY r.subscription_id ORDER BY r.valid_from) - 1
                   AS subscription_key,
               r.subscription_id, @extschema@.elt__ts_day(r.valid_from) AS d0,
               COALESCE(@extschema@.elt__ts_day(r.valid_to), 'infinity') AS d1
        FROM elt_raw.subscriptions r
    )$q$);
        v_sql := replace(v_sql, '/*KEYS*/', $q$
    LEFT JOIN vu du ON du.user_id = c.user_id AND du.d0 <= c.usage_date AND c.usage_date < du.d1
    LEFT JOIN vs ds ON ds.subscription_id = c.subscription_id AND ds.d0 <= c.usage_date AND c.usage_date < ds.d1$q$);
    ELSE
        v_sql := replace(v_sql, '/*VERSIONS*/', '');
        v_sql := replace(v_sql, '/*KEYS*/', $q$
    LEFT JOIN LATERAL @extschema@.elt__user_key_at(c.user_id, @extschema@.elt__day_ts(c.usage_date)) du ON true
    LEFT JOIN LATERAL @extschema@.elt__subscription_key_at(c.subscription_id, @extschema@.elt__day_ts(c.usage_date)) ds ON true$q$);
    END IF;
    IF NOT v_merge THEN
        -- nothing there yet (first build, new days): a plain insert is cheaper
        v_sql := left(v_sql, strpos(v_sql, 'ON CONFLICT') - 1);
    END IF;
    EXECUTE v_sql USING since, v_state;
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    -- Keep elt.mart_usage_totals in step: after days were added, fold in
    -- the new rows' totals; otherwise recompute it from the last 31 days of
    -- facts.  Either way drop periods with no fact row in the last 31 days
    -- (a period lasts at most 31 days: no later row can continue them).
    IF v_state THEN
        INSERT INTO elt.mart_usage_totals AS q (subscription_id, period_start, through, api_calls, storage_used_mb)
        SELECT f.subscription_id, f.period_start, max(f.usage_date),
               max(f.period_api_calls), max(f.period_storage_used_mb)
        FROM elt_mart.fct_usage_daily f
        WHERE f.usage_date >= since AND f.period_start IS NOT NULL
        GROUP BY f.subscription_id, f.period_start
        ON CONFLICT (subscription_id, period_start) DO UPDATE
           SET (through, api_calls, storage_used_mb) = (excluded.through, excluded.api_calls, excluded.storage_used_mb);
    ELSE
        DELETE FROM elt.mart_usage_totals;
        INSERT INTO elt.mart_usage_totals (subscription_id, period_start, through, api_calls, storage_used_mb)
        SELECT f.subscription_id, f.period_start, max(f.usage_date),
               max(f.period_api_calls), max(f.period_storage_used_mb)
        FROM elt_mart.fct_usage_daily f
        WHERE f.usage_date >= (SELECT max(m.usage_date) FROM elt_mart.fct_usage_daily m) - 31
          AND f.period_start IS NOT NULL
        GROUP BY f.subscription_id, f.period_start;
    END IF;
    DELETE FROM elt.mart_usage_totals q
    WHERE q.through < (SELECT max(m.usage_date) FROM elt_mart.fct_usage_daily m) - 31;
    PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_mart.fct_usage_daily'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, since);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_usage_daily(date) IS
'Builds elt_mart.fct_usage_daily from elt_raw.usage and the user and subscription dimensions (point-in-time: the versions valid at midnight UTC of the usage day), with API and storage quota use so far in the subscription''s monthly period. since NULL (default) rebuilds all; a day rewrites usage days from that day on. Returns the number of rows written (deleted plus inserted).';

------------------------------------------------------------------------------
-- fct_mrr_monthly
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_fct_mrr_monthly(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    n_del   bigint;
    v_fast  boolean;
    w       record;
    n_ins   bigint;
    v_first date;
    v_last  date;
    v_lo    date;
    v_m0    date;
BEGIN
    w := @extschema@.elt__mart_begin(since);
    v_first := date_trunc('month', w.start_date::timestamp)::date;
    v_last  := date_trunc('month', w.clock::timestamp)::date;
    -- the month holding the day before since was measured on a day that may
    -- now be later (the old clock): rewrite from that month on
    v_lo := CASE WHEN since IS NULL THEN v_first
                 ELSE GREATEST(v_first, date_trunc('month', (since - 1)::timestamp)::date) END;
    -- ... unless that month was already measured on its last day (since is
    -- the 1st and the month's rows say so): then it is final
    IF since IS NOT NULL AND v_lo < since AND EXTRACT(day FROM since) = 1
       -- a month's rows are always written together, by one statement,
       -- with one measurement day: one row tells
       AND (SELECT d.date FROM elt_mart.fct_mrr_monthly f
            JOIN elt_mart.dim_date d ON d.date_key = f.date_key
            WHERE f.month_start = v_lo LIMIT 1) = since - 1 THEN
        v_lo := since;
    END IF;
    -- the first month the insert reads: the one before v_lo, for previous MRR
    v_m0 := GREATEST((v_lo - interval '1 month')::date, v_first);

    EXECUTE $q$
    DELETE FROM elt_mart.fct_mrr_monthly t WHERE $1 IS NULL OR t.month_start >= $2
    $q$ USING since, v_lo;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    v_fast := @extschema@.elt__bulk_begin('elt_mart.fct_mrr_monthly'::pg_catalog.regclass);
    EXECUTE $q$
    INSERT INTO elt_mart.fct_mrr_monthly
        (month_start, user_id, date_key, user_key, plan_key, mrr, previous_mrr, mrr_change, movement, new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr)
    WITH months AS MATERIALIZED (
        -- the months to write, and the one before (for previous MRR); an
        -- integer series, so that the planner knows how many
        SELECT m.month_start, m.md, @extschema@.elt__day_ts(m.md) AS ts
        FROM (SELECT g.month_start, LEAST((g.month_start + interval '1 month' - interval '1 day')::date, $5) AS md
              FROM (SELECT ($3 + i * interval '1 month')::date AS month_start
                    FROM generate_series(0, $6) i) g) m
    ),
    paid AS (
        SELECT s.user_id, s.plan_id, p.monthly_price AS price, s.start_date, s.end_date
        FROM elt_raw.subscriptions s
        JOIN elt_raw.plans p ON p.plan_id = s.plan_id
        WHERE s.valid_to IS NULL AND p.monthly_price > 0
          AND (s.end_date IS NULL OR s.end_date > (SELECT min(md) FROM months))
    ),
    um AS MATERIALIZED (
        -- MRR of each paying user on each measurement day, and the plan
        -- of the dearest subscription (one sort serves both)
        (SELECT DISTINCT ON (mo.month_start, pd.user_id)
                mo.month_start, pd.user_id, sum(pd.price) OVER w AS mrr, pd.plan_id
         FROM months mo
         JOIN paid pd ON pd.start_date <= mo.md AND (pd.end_date IS NULL OR pd.end_date > mo.md)
         WHERE $1 IS NULL OR mo.month_start >= $2
         WINDOW w AS (PARTITION BY mo.month_start, pd.user_id ORDER BY pd.price DESC, pd.plan_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
         ORDER BY mo.month_start, pd.user_id, pd.price DESC, pd.plan_id)
        UNION ALL
        -- incremental: the month before the rewritten ones is final (it
        -- was measured on its last day), so its MRR is read from the facts
        SELECT f.month_start, f.user_id, f.mrr, f.plan_key
        FROM elt_mart.fct_mrr_monthly f
        WHERE $1 IS NOT NULL AND f.month_start = ($2 - interval '1 month')::date AND f.mrr > 0
    ),
    firsts AS (
        -- first paying month of each user among these months (months kept
        -- from earlier builds are looked up below, only where it matters)
        SELECT um.user_id, min(um.month_start) AS first_paid FROM um GROUP BY um.user_id
    ),
    x AS (
        -- paying months, and the month after each (a churn when not paying
        -- then): each month's MRR meets the month before's in one join
        SELECT COALESCE(c.month_start, p.month_start) AS month_start, COALESCE(c.user_id, p.user_id) AS user_id,
               COALESCE(c.mrr, 0) AS mrr, COALESCE(p.mrr, 0) AS prev, COALESCE(c.plan_id, p.plan_id) AS plan_id
        FROM (SELECT um.* FROM um WHERE um.month_start >= $2) c
        FULL JOIN (SELECT (um.month_start + interval '1 month')::date AS month_start, um.user_id, um.mrr, um.plan_id
                   FROM um WHERE um.month_start < $4) p
          ON p.month_start = c.month_start AND p.user_id = c.user_id
    ),
    y AS MATERIALIZED (   -- movement is used six times: compute it once
        SELECT x.*, mo.md, mo.ts,
               CASE WHEN x.prev = 0
                         AND (f.first_paid < x.month_start
                              -- incremental: paid in a month kept from earlier builds
                              -- (index on user_id, month_start; only users not paying
                              -- the month before get here)
                              OR ($1 IS NOT NULL
                                  AND EXISTS (SELECT 1 FROM elt_mart.fct_mrr_monthly f
                                              WHERE f.user_id = x.user_id AND f.month_start < $2 AND f.mrr > 0)))
                    THEN 'reactivation'
                    WHEN x.prev = 0 THEN 'new'
                    WHEN x.mrr = 0 THEN 'churn'
                    WHEN x.mrr > x.prev THEN 'expansion'
                    WHEN x.mrr < x.prev THEN 'contraction'
                    ELSE 'retained' END AS movement
        FROM x
        JOIN months mo ON mo.month_start = x.month_start
        LEFT JOIN firsts f ON f.user_id = x.user_id
    )
    SELECT y.month_start, y.user_id, COALESCE(dd.date_key, -1),
           COALESCE(du.user_key, -1), COALESCE(dp.plan_key, -1), y.mrr, y.prev, y.mrr - y.prev, y.movement,
           CASE WHEN y.movement = 'new' THEN y.mrr ELSE 0 END,
           CASE WHEN y.movement = 'expansion' THEN y.mrr - y.prev ELSE 0 END,
           CASE WHEN y.movement = 'contraction' THEN y.mrr - y.prev ELSE 0 END,
           CASE WHEN y.movement = 'churn' THEN -y.prev ELSE 0 END,
           CASE WHEN y.movement = 'reactivation' THEN y.mrr ELSE 0 END
    FROM y
    LEFT JOIN elt_mart.dim_date dd ON dd.date = y.md
    LEFT JOIN LATERAL @extschema@.elt__user_key_at(y.user_id, y.ts) du ON true
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_id = y.plan_id
    ORDER BY y.month_start, y.user_id
    $q$ USING since, v_lo, v_m0, v_last, w.clock,
              ((EXTRACT(year FROM v_last) - EXTRACT(year FROM v_m0)) * 12
               + EXTRACT(month FROM v_last) - EXTRACT(month FROM v_m0))::integer;
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_mart.fct_mrr_monthly'::pg_catalog.regclass, 'month_start'::pg_catalog.name, CASE WHEN since IS NULL THEN NULL ELSE v_lo END);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_mrr_monthly(date) IS
'Builds elt_mart.fct_mrr_monthly: per user and month, MRR on the month''s last day (the clock day for the current month) = monthly price of the user''s paid subscriptions covering that day, and its ChartMogul movement (new, expansion, contraction, churn, reactivation, retained). since NULL (default) rebuilds all; a day rewrites the months from the one holding the day before. Returns the number of rows written (deleted plus inserted).';

------------------------------------------------------------------------------
-- fct_kpi_daily
------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.elt_build_fct_kpi_daily(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w     record;
    n_ins bigint;
    n_del bigint;
    v_fast boolean;
    v_lo  date;
    v_delta boolean := false;
    v_mrr   numeric;
    v_pay   bigint;
BEGIN
    w := @extschema@.elt__mart_begin(since);
    v_lo := GREATEST(COALESCE(since, w.start_date), w.start_date);
    -- Incremental, with the day before kept: its MRR and paying users are
    -- those of the new source too (nothing before since changed), so the
    -- running sums start from them and only subscriptions and stretches
    -- with a start or end in the new days count.
    IF since IS NOT NULL AND v_lo > w.start_date THEN
        SELECT k.mrr, k.paying_users INTO v_mrr, v_pay FROM elt_mart.fct_kpi_daily k WHERE k.date = v_lo - 1;
        v_delta := FOUND;
    END IF;

    -- MRR and paying users as running sums of +/- events from v_lo on: a
    -- paid subscription adds its price on max(start, v_lo) and removes it on
    -- its end date; a user's paid subscriptions merged into paying stretches
    -- add one paying user on the stretch's start and remove it (one churned
    -- user) on its end.  From the day before's values ($4), only starts
    -- from v_lo on count, and only users with such a start or end in the
    -- new days can start or end a stretch.
    EXECUTE $q$
    DELETE FROM elt_mart.fct_kpi_daily t WHERE $3 IS NULL OR t.date >= $1
    $q$ USING v_lo, w.clock, since;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    v_fast := @extschema@.elt__bulk_begin('elt_mart.fct_kpi_daily'::pg_catalog.regclass);
    EXECUTE $q$
    INSERT INTO elt_mart.fct_kpi_daily
        (date_key, date, signups, active_users, paying_users, churned_users, mrr, arr, actions_performed, api_calls, storage_used_mb, active_minutes)
    WITH days AS (
        SELECT g::date AS d FROM generate_series($1::timestamp, $2::timestamp, interval '1 day') g
    ),
    paid AS MATERIALIZED (
        SELECT s.user_id, p.monthly_price AS price, s.start_date,
               COALESCE(s.end_date, 'infinity'::date) AS end_date
        FROM elt_raw.subscriptions s
        JOIN elt_raw.plans p ON p.plan_id = s.plan_id
        WHERE s.valid_to IS NULL AND p.monthly_price > 0
          AND (s.end_date IS NULL OR s.end_date >= $1) AND s.start_date <= $2
    ),
    moved AS (
        SELECT DISTINCT pd.user_id FROM paid pd WHERE pd.start_date >= $1 OR pd.end_date <= $2
    ),
    brk AS (
        SELECT pd.*,
               CASE WHEN pd.start_date <= max(pd.end_date) OVER (PARTITION BY pd.user_id ORDER BY pd.start_date, pd.end_date
                                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS new_stretch
        FROM paid pd
        WHERE NOT $3 OR pd.user_id IN (SELECT m.user_id FROM moved m)
    ),
    stretch AS (
        SELECT b.user_id, min(b.start_date) AS s, max(b.end_date) AS e
        FROM (SELECT brk.*, sum(brk.new_stretch) OVER (PARTITION BY brk.user_id ORDER BY brk.start_date, brk.end_date
                                                       ROWS UNBOUNDED PRECEDING) AS k
              FROM brk) b
        GROUP BY b.user_id, b.k
    ),
    ev AS (
        SELECT e.d, sum(e.dmrr) AS dmrr, sum(e.dpay) AS dpay, sum(e.dchurn) AS dchurn
        FROM (SELECT GREATEST(pd.start_date, $1) AS d, pd.price AS dmrr, 0 AS dpay, 0 AS dchurn FROM paid pd
              WHERE NOT $3 OR pd.start_date >= $1
              UNION ALL
              SELECT pd.end_date, -pd.price, 0, 0 FROM paid pd WHERE pd.end_date <= $2
              UNION ALL
              SELECT GREATEST(st.s, $1), 0, 1, 0 FROM stretch st WHERE NOT $3 OR st.s >= $1
              UNION ALL
              SELECT st.e, 0, -1, 1 FROM stretch st WHERE st.e <= $2) e
        GROUP BY e.d
    ),
    sig AS (
        SELECT u.signup_date AS d, count(DISTINCT u.user_id) AS n
        FROM elt_raw.users u
        WHERE u.signup_date BETWEEN $1 AND $2
        GROUP BY u.signup_date
    ),
    use AS (
        SELECT x.usage_date AS d, count(DISTINCT x.user_id) AS active_users,
               sum(x.actions_performed) AS actions_performed, sum(x.api_calls) AS api_calls,
               sum(x.storage_used_mb) AS storage_used_mb, sum(x.active_minutes) AS active_minutes
        FROM elt_raw.usage x
        WHERE x.usage_date BETWEEN $1 AND $2
        GROUP BY x.usage_date
    ),
    k AS (
        SELECT days.d,
               COALESCE(sig.n, 0) AS signups,
               COALESCE(use.active_users, 0) AS active_users,
               $4 + sum(COALESCE(ev.dpay, 0)) OVER run AS paying_users,
               COALESCE(ev.dchurn, 0) AS churned_users,
               $5 + sum(COALESCE(ev.dmrr, 0)) OVER run AS mrr,
               COALESCE(use.actions_performed, 0) AS actions_performed,
               COALESCE(use.api_calls, 0) AS api_calls,
               COALESCE(use.storage_used_mb, 0) AS storage_used_mb,
               COALESCE(use.active_minutes, 0) AS active_minutes
        FROM days
        LEFT JOIN ev ON ev.d = days.d
        LEFT JOIN sig ON sig.d = days.d
        LEFT JOIN use ON use.d = days.d
        WINDOW run AS (ORDER BY days.d)
    )
    SELECT dd.date_key, k.d, k.signups, k.active_users, k.paying_users, k.churned_users,
           k.mrr, 12 * k.mrr, k.actions_performed, k.api_calls, k.storage_used_mb, k.active_minutes
    FROM k
    JOIN elt_mart.dim_date dd ON dd.date = k.d
    ORDER BY k.d
    $q$ USING v_lo, w.clock, v_delta, COALESCE(v_pay, 0), COALESCE(v_mrr, 0);
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_mart.fct_kpi_daily'::pg_catalog.regclass, 'date'::pg_catalog.name, v_lo);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_kpi_daily(date) IS
'Builds elt_mart.fct_kpi_daily: per day of the window, signups, active users (distinct users with usage), paying users (MRR above 0), churned users (paying the day before, not that day), MRR, ARR = 12 x MRR, and usage totals. since NULL (default) rebuilds all; a day rewrites the days from that day on. Returns the number of rows written (deleted plus inserted).';
-- elt_mart entry points: full build, incremental update, reader grants.

------------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------------
-- Internal: the build itself, full (since NULL) or from a day on.  Dimension
-- rows are inserted or updated first, facts merged next (which removes fact
-- rows gone from the source), dimension rows gone from the source last.
CREATE FUNCTION @extschema@.elt__build(since date)
RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    n_date bigint;
    n_plan bigint;
    n_user bigint;
    n_sub  bigint;
BEGIN
    PERFORM @extschema@.elt__mart_begin();
    n_date := @extschema@.elt_build_dim_date(false);
    n_plan := @extschema@.elt_build_dim_plan(false);
    n_user := @extschema@.elt_build_dim_user(since, false);
    n_sub  := @extschema@.elt_build_dim_subscription(since, false);
    IF since IS NULL AND @extschema@.elt__may_analyze('elt_mart.fct_usage_daily'::pg_catalog.regclass) THEN
        -- fresh statistics for the joins of the facts (only the owner may)
        ANALYZE elt_mart.dim_date, elt_mart.dim_plan, elt_mart.dim_user, elt_mart.dim_subscription;
    END IF;
    table_name := 'elt_mart.fct_usage_daily';  rows_written := @extschema@.elt_build_fct_usage_daily(since);  RETURN NEXT;
    table_name := 'elt_mart.fct_mrr_monthly';  rows_written := @extschema@.elt_build_fct_mrr_monthly(since);  RETURN NEXT;
    table_name := 'elt_mart.fct_kpi_daily';    rows_written := @extschema@.elt_build_fct_kpi_daily(since);    RETURN NEXT;
    -- dimension rows gone from the source: their facts are gone by now
    n_date := n_date + @extschema@.elt__purge_dim('dim_date'::pg_catalog.text, since);
    n_plan := n_plan + @extschema@.elt__purge_dim('dim_plan'::pg_catalog.text, since);
    n_user := n_user + @extschema@.elt__purge_dim('dim_user'::pg_catalog.text, since);
    n_sub  := n_sub + @extschema@.elt__purge_dim('dim_subscription'::pg_catalog.text, since);
    table_name := 'elt_mart.dim_date';         rows_written := n_date;  RETURN NEXT;
    table_name := 'elt_mart.dim_plan';         rows_written := n_plan;  RETURN NEXT;
    table_name := 'elt_mart.dim_user';         rows_written := n_user;  RETURN NEXT;
    table_name := 'elt_mart.dim_subscription'; rows_written := n_sub;   RETURN NEXT;
    IF since IS NULL AND @extschema@.elt__may_analyze('elt_mart.fct_usage_daily'::pg_catalog.regclass) THEN
        ANALYZE elt_mart.fct_usage_daily, elt_mart.fct_mrr_monthly, elt_mart.fct_kpi_daily;
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__build(date) IS
'Internal: builds all of elt_mart (since NULL) or what changed from a day on; returns rows written per table.';

CREATE FUNCTION @extschema@.elt_build_marts()
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
BEGIN
    PERFORM @extschema@.elt__build(NULL::pg_catalog.date);
    RETURN QUERY
        SELECT 'elt_mart.dim_date', count(*) FROM elt_mart.dim_date
        UNION ALL SELECT 'elt_mart.dim_plan', count(*) FROM elt_mart.dim_plan
        UNION ALL SELECT 'elt_mart.dim_user', count(*) FROM elt_mart.dim_user
        UNION ALL SELECT 'elt_mart.dim_subscription', count(*) FROM elt_mart.dim_subscription
        UNION ALL SELECT 'elt_mart.fct_usage_daily', count(*) FROM elt_mart.fct_usage_daily
        UNION ALL SELECT 'elt_mart.fct_mrr_monthly', count(*) FROM elt_mart.fct_mrr_monthly
        UNION ALL SELECT 'elt_mart.fct_kpi_daily', count(*) FROM elt_mart.fct_kpi_daily;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_marts() IS
'Builds every elt_mart table from elt_raw in one transaction; rows that did not change are not rewritten, and readers keep seeing the previous rows until it commits. Returns one row per mart table with its row count (Unknown members included).';

CREATE FUNCTION @extschema@.elt_update_marts(since date)
RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w      record;
    v_min  date;
    v_max  date;
    v_lo   date;
BEGIN
    IF since IS NULL THEN
        RAISE EXCEPTION 'since must not be NULL'
            USING ERRCODE = '22004',
                  HINT = 'Pass the first business day whose source data changed (the old clock + 1), or call elt_build_marts() to rebuild everything.';
    END IF;
    w := @extschema@.elt__mart_begin(since);
    SELECT min(d.date), max(d.date) INTO v_min, v_max FROM elt_mart.dim_date d WHERE d.date_key <> -1;
    IF v_min IS NULL OR v_min <> w.start_date OR v_max > w.clock OR since <= w.start_date THEN
        -- never built, another window, or everything changed: full build
        v_lo := NULL;
    ELSE
        -- the marts hold the days through v_max: what comes after is new too
        v_lo := LEAST(since, v_max + 1);
    END IF;
    RETURN QUERY
        SELECT b.table_name, b.rows_written FROM @extschema@.elt__build(v_lo) b
        ORDER BY array_position(ARRAY['elt_mart.dim_date', 'elt_mart.dim_plan', 'elt_mart.dim_user',
                                      'elt_mart.dim_subscription', 'elt_mart.fct_usage_daily',
                                      'elt_mart.fct_mrr_monthly', 'elt_mart.fct_kpi_daily'], b.table_name);
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_update_marts(date) IS
'Brings elt_mart up to date after the source changed only on business days >= since (new versions from since on, versions closed on or after since, usage from since on), e.g. since = the old clock + 1 after the clock advanced. Rewrites only the affected users, subscriptions, days and months; the result is the same as elt_build_marts(). Falls back to a full build if the marts were never built or the window moved. Returns rows written (inserted, changed or deleted) per table.';

-- Internal: what elt_grant_reader and elt_grant_writer check first: a
-- role that exists, and a caller who may hand elt's privileges on (the
-- extension's owner, a member of it, or a superuser).
CREATE FUNCTION @extschema@.elt__check_grant(role name, fn text, what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role
            USING ERRCODE = '42704', HINT = 'Create it first, e.g. CREATE ROLE etl LOGIN;';
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'elt'), 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to grant %', what
            USING ERRCODE = '42501', HINT = format('Run %s as the owner of the elt extension or a superuser.', fn);
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__check_grant(name, text, text) IS
'Internal: raises the error elt_grant_reader or elt_grant_writer gives for a NULL or unknown role, or a caller who may not grant.';

CREATE FUNCTION @extschema@.elt_grant_reader(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
BEGIN
    PERFORM @extschema@.elt__check_grant(role, 'elt_grant_reader'::pg_catalog.text, 'access to elt_mart'::pg_catalog.text);
    EXECUTE format('GRANT USAGE ON SCHEMA elt_mart TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA elt_mart TO %I', role);
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_grant_reader(name) IS
'Gives a role read-only access to the star schema: USAGE on schema elt_mart and SELECT on its tables, nothing else (no access to elt_raw or elt, no writes).';

-- Runs elt_generate, elt_refresh and the builders as another role (an ETL
-- role, a pg_cron job owner): they call internal functions, which are not
-- for PUBLIC, so EXECUTE on the entry points alone is not enough.
CREATE FUNCTION @extschema@.elt_grant_writer(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    f regprocedure;
BEGIN
    PERFORM @extschema@.elt__check_grant(role, 'elt_grant_writer'::pg_catalog.text, 'the use of elt'::pg_catalog.text);
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'elt'
        WHERE p.proname <> 'elt_grant_writer'
        ORDER BY 1
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, role);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA elt, elt_raw, elt_mart TO %I', role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA elt, elt_raw, elt_mart TO %I', role);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA elt TO %I', role);
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_grant_writer(name) IS
'Lets a role run elt_generate, elt_refresh, elt_build_marts, elt_update_marts and the builders: EXECUTE on elt''s functions (internal ones included, but not this one) and the table privileges they use on schemas elt, elt_raw and elt_mart. Superusers still get the faster bulk paths; the role gets the ordinary per-row checks.';

REVOKE ALL ON FUNCTION @extschema@.elt__mart_begin(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__user_key_at(bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__subscription_key_at(bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__check_versions(regclass, name, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__changed_ids(regclass, name, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__bulk_begin(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__purge_dim(text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__bulk_end(boolean, regclass, name, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_date(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_plan(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_user(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_usage_daily(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_mrr_monthly(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_kpi_daily(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__build(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_marts() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_update_marts(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_grant_reader(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_grant_writer(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__check_grant(name, text, text) FROM PUBLIC;
-- elt_refresh(): advance the simulated source day by day and land only what
-- changed.  Users and subscriptions go through elt_scd2_merge with the
-- business day as as_of; usage is appended; marts are updated incrementally.

CREATE FUNCTION @extschema@.elt_refresh(days integer DEFAULT NULL)
RETURNS TABLE (days_applied integer, clock_before date, clock_after date,
               users_rows bigint, subscriptions_rows bigint, usage_rows bigint,
               status text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s          elt.settings;
    v_target   date;
    v_day      date;
    v_asof     timestamptz;
    v_started  timestamptz := clock_timestamp();
    v_users    bigint := 0;
    v_subs     bigint := 0;
    v_usage    bigint := 0;
    v_n        bigint;
    v_fast     boolean;
    m          record;
    v_state    text;
    v_msg      text;
BEGIN
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023',
                  HINT = 'Pass NULL to catch up with current_date.';
    END IF;

    -- One generate or refresh at a time.  A refresh that finds another one
    -- running does nothing (pg_cron runs must not pile up).
    BEGIN
        LOCK TABLE elt.settings IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE NOTICE 'elt_refresh: another elt_generate or elt_refresh is running; nothing done';
        RETURN;
    END;

    SELECT * INTO s FROM elt.settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'elt_refresh: nothing to refresh'
            USING ERRCODE = '55000',
                  HINT = 'Run elt_generate() first: it creates the simulated population.';
    END IF;

    IF days > date '2999-12-31' - s.clock THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023';
    END IF;
    v_target := CASE WHEN days IS NULL THEN current_date ELSE s.clock + days END;
    IF v_target > date '2999-12-31' THEN
        RAISE EXCEPTION 'elt_refresh: the clock cannot pass 2999-12-31'
            USING ERRCODE = '22023';
    END IF;
    IF v_target <= s.clock THEN
        RAISE NOTICE 'elt_refresh: the clock (%) is already at or past %; nothing to do', s.clock, v_target;
        RETURN;
    END IF;

    BEGIN
        v_day := s.clock + 1;
        WHILE v_day <= v_target LOOP
            -- business time: midnight UTC of the simulated day, whatever TimeZone says
            v_asof := v_day::timestamp AT TIME ZONE 'UTC';

            -- the previous day's (or an earlier refresh's in this
            -- transaction: they are dropped on commit); checked first, so
            -- that no NOTICE is raised for tables that are not there
            IF pg_catalog.to_regclass('pg_temp.elt_refresh_users') IS NOT NULL THEN
                DROP TABLE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;
            END IF;
            CREATE TEMP TABLE elt_refresh_users ON COMMIT DROP AS
                SELECT * FROM @extschema@.elt_users(s.users, s.seed, v_day, s.start_date,
                                                    history => false, since => v_day);
            CREATE TEMP TABLE elt_refresh_subscriptions ON COMMIT DROP AS
                SELECT * FROM @extschema@.elt_subscriptions(s.users, s.seed, v_day, s.start_date,
                                                            history => false, since => v_day);

            -- every argument typed exactly: an overload planted in the
            -- extension's schema must not be a better match for literals
            SELECT * INTO m FROM @extschema@.elt_scd2_merge(
                'elt_raw.users'::pg_catalog.regclass, 'pg_temp.elt_refresh_users'::pg_catalog.regclass,
                ARRAY['user_id']::pg_catalog.text[], v_asof, NULL::pg_catalog.text[], 'ignore'::pg_catalog.text);
            v_users := v_users + m.inserted + m.updated;
            SELECT * INTO m FROM @extschema@.elt_scd2_merge(
                'elt_raw.subscriptions'::pg_catalog.regclass, 'pg_temp.elt_refresh_subscriptions'::pg_catalog.regclass,
                ARRAY['subscription_id']::pg_catalog.text[], v_asof, NULL::pg_catalog.text[], 'ignore'::pg_catalog.text);
            v_subs := v_subs + m.inserted + m.updated;

            -- The day's usage is appended in bulk mode (superusers, and no
            -- trigger or rule of yours on the table: no per-row foreign key
            -- trigger, which cost more than generating the rows), then its
            -- keys are checked once, set-based, as the mart builders do.
            v_fast := @extschema@.elt__bulk_begin('elt_raw.usage'::pg_catalog.regclass);
            INSERT INTO elt_raw.usage
                SELECT * FROM @extschema@.elt_usage(s.users, s.seed, v_day, s.start_date, since => v_day);
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_usage := v_usage + v_n;
            PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_raw.usage'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, v_day);

            v_day := v_day + 1;
        END LOOP;
        DROP TABLE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;

        -- the clock first: the mart builders read it
        UPDATE elt.settings SET clock = v_target, refreshed_at = now();
        IF s.marts_built THEN
            PERFORM @extschema@.elt_update_marts(s.clock + 1);
        END IF;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, rows, status)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, v_target,
                jsonb_build_object('elt_raw.users', v_users, 'elt_raw.subscriptions', v_subs,
                                   'elt_raw.usage', v_usage),
                'ok');
        RETURN QUERY SELECT (v_target - s.clock)::integer, s.clock, v_target,
                            v_users, v_subs, v_usage, 'ok'::text;
    EXCEPTION WHEN OTHERS THEN
        -- The block's work is rolled back; keep a record of the failure.
        -- (Cancels and timeouts are not caught: they roll back everything.)
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, status, error)
        VALUES ('refresh', v_started, clock_timestamp(), s.clock, s.clock, 'failed',
                v_state || ': ' || v_msg);
        RAISE WARNING 'elt_refresh failed, nothing was changed: % (SQLSTATE %)', v_msg, v_state;
        RETURN QUERY SELECT 0, s.clock, s.clock, 0::bigint, 0::bigint, 0::bigint, 'failed'::text;
    END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_refresh(integer) IS
'Advances the simulated clock by days (NULL: up to current_date), landing each day''s new and changed users and subscriptions through elt_scd2_merge and appending its usage; updates elt_mart; logs the run in elt.run_log. A failure leaves the data unchanged, is logged as failed and raised as a WARNING.';
-- Writes every elt table (and pg_cron runs it as the job's owner): not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_refresh(integer) FROM PUBLIC;
-- pg_cron integration.  pg_cron is a soft dependency: nothing here needs it
-- until elt_schedule() is called, and every reference to its schema goes
-- through dynamic SQL, so elt installs without it.
--
-- pg_cron keeps its jobs in one database (cron.database_name) and schedules
-- from there only; elt_schedule() therefore works in that database.

CREATE FUNCTION @extschema@.elt__cron_check()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_crondb text := current_setting('cron.database_name', true);
BEGIN
    IF v_crondb IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not loaded in this server'
            USING ERRCODE = '55000',
                  HINT = 'Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' and cron.database_name = '''
                         || current_database() || ''' in postgresql.conf, restart, then CREATE EXTENSION pg_cron.';
    END IF;
    IF v_crondb <> current_database() THEN
        RAISE EXCEPTION 'pg_cron schedules jobs from database "%", not "%"', v_crondb, current_database()
            USING ERRCODE = '55000',
                  HINT = 'Set cron.database_name = ''' || current_database()
                         || ''' and restart, or install elt in database "' || v_crondb || '".';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'extension pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'CREATE EXTENSION pg_cron;';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt__cron_check() IS
'Internal: raises 55000 with a hint unless pg_cron is loaded, schedules from this database and is installed here.';

CREATE FUNCTION @extschema@.elt__cron_here()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT current_setting('cron.database_name', true) IS NOT DISTINCT FROM current_database()
       AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')
$fn$;
COMMENT ON FUNCTION @extschema@.elt__cron_here() IS
'Internal: whether pg_cron is installed in, and schedules from, this database.';

-- The refresh job's command: refresh, or, once elt has been dropped, remove
-- elt's jobs (so that no job keeps calling functions that no longer exist).
-- The argument is typed: an untyped NULL would let an elt_refresh(text)
-- planted in the extension's schema win over ours, run by the job's owner.
CREATE FUNCTION @extschema@.elt__job_command(days integer)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT format($cmd$DO $elt$ BEGIN IF pg_catalog.to_regprocedure('@extschema@.elt_refresh(integer)') IS NULL THEN PERFORM cron.unschedule(jobid) FROM cron.job WHERE jobname IN ('elt-refresh', 'elt-purge-job-details') AND database = pg_catalog.current_database(); ELSE PERFORM @extschema@.elt_refresh(%s::pg_catalog.int4); END IF; END $elt$$cmd$,
              COALESCE(days::text, 'NULL'))
$fn$;
COMMENT ON FUNCTION @extschema@.elt__job_command(integer) IS
'Internal: the SQL the elt-refresh pg_cron job runs.';

CREATE FUNCTION @extschema@.elt_schedule(schedule text DEFAULT '0 * * * *', days integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_job bigint;
BEGIN
    IF schedule IS NULL OR btrim(schedule) = '' THEN
        RAISE EXCEPTION 'schedule must not be NULL or empty'
            USING ERRCODE = CASE WHEN schedule IS NULL THEN '22004' ELSE '22023' END, HINT = 'Use a cron expression such as ''*/5 * * * *''.';
    END IF;
    IF days IS NOT NULL AND days <= 0 THEN
        RAISE EXCEPTION 'days must be positive, not %', days
            USING ERRCODE = '22023', HINT = 'Pass NULL to catch up with current_date on every run.';
    END IF;
    PERFORM @extschema@.elt__cron_check();
    IF NOT EXISTS (SELECT 1 FROM elt.settings) THEN
        RAISE EXCEPTION 'nothing to refresh yet'
            USING ERRCODE = '55000', HINT = 'Run elt_generate() first.';
    END IF;

    -- cron.schedule(name, ...) creates the job or updates the one of that name
    BEGIN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)'
           INTO v_job
          USING 'elt-refresh', schedule, @extschema@.elt__job_command(days);
    EXCEPTION WHEN invalid_parameter_value OR internal_error OR syntax_error THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = '22023',
                  HINT = 'pg_cron takes a cron expression in GMT (minute hour day month weekday), e.g. ''0 * * * *'', or ''@hourly''.';
    END;
    -- pg_cron never purges its run history: keep a week of it
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
      USING 'elt-purge-job-details', '17 3 * * *',
            $cmd$DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days'$cmd$;
    RETURN v_job;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_schedule(text, integer) IS
'Creates or updates the pg_cron job "elt-refresh" that runs elt_refresh(days) on the given cron schedule (GMT) in this database, plus a daily job purging pg_cron run details older than 7 days. Returns the refresh job id. Needs pg_cron loaded with cron.database_name = this database (else 55000).';

CREATE FUNCTION @extschema@.elt_unschedule()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_n integer;
BEGIN
    IF NOT @extschema@.elt__cron_here() THEN
        RETURN 0;       -- no pg_cron here: no jobs of ours either
    END IF;
    EXECUTE $q$SELECT count(cron.unschedule(jobid))::integer FROM cron.job
               WHERE jobname IN ('elt-refresh', 'elt-purge-job-details')
                 AND database = current_database()$q$
       INTO v_n;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_unschedule() IS
'Removes the pg_cron jobs elt_schedule created in this database; returns how many. Call it before DROP EXTENSION elt (jobs left behind remove themselves on their next run).';

CREATE FUNCTION @extschema@.elt_status()
RETURNS TABLE (kind text, name text, status text, detail text, at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
        SELECT 'clock', 'simulated today', NULL::text,
               format('%s (population: %s users in the first year from %s, seed %s)',
                      s.clock, s.users, s.start_date, s.seed),
               coalesce(s.refreshed_at, s.generated_at)
        FROM elt.settings s;
    RETURN QUERY
        SELECT 'run', format('%s #%s', r.kind, r.run_id), r.status,
               concat_ws('; ',
                         format('clock %s -> %s', coalesce(r.clock_before::text, '-'), r.clock_after),
                         'rows ' || r.rows::text, r.error),
               coalesce(r.finished_at, r.started_at)
        FROM (SELECT * FROM elt.run_log ORDER BY run_id DESC LIMIT 5) r
        ORDER BY r.run_id DESC;
    IF @extschema@.elt__cron_here() THEN
        RETURN QUERY EXECUTE $q$
            SELECT 'job'::text, j.jobname::text,
                   coalesce(d.status, 'not run yet')::text,
                   format('schedule %s, %s, job %s%s', j.schedule,
                          CASE WHEN j.active THEN 'active' ELSE 'inactive' END, j.jobid,
                          ': ' || nullif(d.return_message, '')),
                   d.start_time
            FROM cron.job j
            LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details x WHERE x.jobid = j.jobid
                               ORDER BY x.start_time DESC NULLS LAST LIMIT 1) d ON true
            WHERE j.jobname IN ('elt-refresh', 'elt-purge-job-details')
              AND j.database = current_database()
            ORDER BY j.jobname$q$;
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_status() IS
'The simulated clock, the last five runs from elt.run_log, and elt''s pg_cron jobs with their schedule and last run status (when pg_cron is installed in this database).';

-- They create and remove jobs that run elt_refresh as their caller: not for PUBLIC.
REVOKE ALL ON FUNCTION @extschema@.elt_schedule(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_unschedule() FROM PUBLIC;
