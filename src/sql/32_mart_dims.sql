-- elt_mart dimension builders (see 31_mart_builders.sql for the shared rules).

------------------------------------------------------------------------------
-- dim_date
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_date(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w record;
    n bigint;
BEGIN
    w := elt.elt__mart_begin();
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
        n := n + elt.elt__purge_dim('dim_date'::pg_catalog.text, NULL::pg_catalog.date);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_date(boolean) IS
'Builds elt_mart.dim_date: one row per day from elt.settings start_date through clock (plus the Unknown day -1). Returns the number of rows written (inserted, changed or removed).';

------------------------------------------------------------------------------
-- dim_plan
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_plan(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w record;
    n bigint;
BEGIN
    w := elt.elt__mart_begin();
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
        n := n + elt.elt__purge_dim('dim_plan'::pg_catalog.text, NULL::pg_catalog.date);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_plan(boolean) IS
'Builds elt_mart.dim_plan from elt_raw.plans and elt_raw.plan_features: one row per plan with price, limits, feature count and feature list (plus the Unknown plan -1). Returns the number of rows written.';

------------------------------------------------------------------------------
-- dim_user
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_user(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := elt.elt__day_ts(since);
BEGIN
    w := elt.elt__mart_begin(since);
    PERFORM elt.elt__check_versions('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
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
    $q$ INTO n USING elt.elt__changed_ids('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
    IF purge THEN
        n := n + elt.elt__purge_dim('dim_user'::pg_catalog.text, since);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_user(date, boolean) IS
'Builds elt_mart.dim_user from elt_raw.users: one row per user version, keyed user_id * 65536 + version ordinal, with plan, region and referral names. since NULL (default) rebuilds all users; a day rebuilds only users with a version starting or ending on or after that day. Returns the number of rows written.';

------------------------------------------------------------------------------
-- dim_subscription
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_subscription(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := elt.elt__day_ts(since);
BEGIN
    w := elt.elt__mart_begin(since);
    PERFORM elt.elt__check_versions('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
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
    $q$ INTO n USING elt.elt__changed_ids('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
    IF purge THEN
        n := n + elt.elt__purge_dim('dim_subscription'::pg_catalog.text, since);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) IS
'Builds elt_mart.dim_subscription from elt_raw.subscriptions: one row per subscription version, keyed subscription_id * 65536 + version ordinal, with plan and payment method names. since NULL (default) rebuilds all; a day rebuilds only subscriptions with a version starting or ending on or after that day. Returns the number of rows written.';
