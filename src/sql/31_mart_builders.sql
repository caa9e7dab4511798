-- elt_mart builders: fill the star schema from elt_raw.
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
             OR %1$I = ANY (ARRAY(SELECT DISTINCT %1$I FROM %2$s WHERE valid_from >= $1 OR valid_to >= $1))
          GROUP BY %1$I
         HAVING count(*) > 65536 OR %1$I < 0 OR %1$I >= 140737488355328
          LIMIT 1', id_column, tab)
        INTO v_id, v_n USING since_ts;
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

-- Internal: fast bulk loading of the fact tables.  Foreign keys of a fact
-- table are checked by one trigger call per inserted row and key (a third
-- of a full build's time); the keys of a fact row come from lookups in the
-- dimensions in the same statement, with -1 when the lookup fails, so they
-- are valid by construction.  When the caller is a superuser, the builders
-- load facts with session_replication_role = replica for the statement
-- (no user triggers are involved: the table is ours) and then check every
-- foreign key of the new rows with one set-based query, raising the error
-- a trigger would have raised.  Other callers get the per-row triggers.
CREATE FUNCTION @extschema@.elt__bulk_begin()
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF pg_catalog.current_setting('session_replication_role') = 'origin'
       AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
        RETURN true;
    END IF;
    RETURN false;
END
$fn$;
-- no SET clause: it would undo the set_config at exit; everything is qualified.
-- (The callers, which all have a SET clause, switch back to origin
-- themselves before elt__bulk_end, and their SET clause would at exit too.)
COMMENT ON FUNCTION @extschema@.elt__bulk_begin() IS
'Internal: for a superuser, switches this transaction to session_replication_role = replica (no per-row foreign key triggers) and returns true; elt__bulk_end switches back and checks the keys.';

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
    v_bad  text;
    -- the new rows: those with col >= lo (all when lo is NULL); built here
    -- from a name and a value, never from SQL text
    cond   text := CASE WHEN lo IS NULL THEN 'true'
                        ELSE pg_catalog.format('f.%I OPERATOR(pg_catalog.>=) %L::pg_catalog.date', col, lo) END;
BEGIN
    IF NOT fast THEN
        RETURN;
    END IF;
    -- Restoring session_replication_role is the caller's job: a set_config
    -- here would be undone at exit by this function's SET clause.  The check
    -- below only reads, so it gives the same answer in either mode.
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
    END LOOP;
    IF v_sql = '' THEN
        RETURN;
    END IF;
    -- an aggregate, not LIMIT 1: hash joins over all new rows of a full
    -- build; a day or a few (lo given) are checked by index lookups instead
    -- of hashing whole dimensions
    IF lo IS NOT NULL THEN
        PERFORM pg_catalog.set_config('enable_hashjoin', 'off', true);
        PERFORM pg_catalog.set_config('enable_mergejoin', 'off', true);
    END IF;
    EXECUTE pg_catalog.format('SELECT min(CASE%s END) FROM %s f%s WHERE %s',
                              v_case, tab, v_sql, cond)
        INTO v_bad;
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
'Internal: after a bulk load started by elt__bulk_begin (and the caller''s switch back to session_replication_role = origin), checks the foreign keys of the rows of tab with col >= lo (all rows when lo is NULL) in one query.';

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
    v_fast := @extschema@.elt__bulk_begin();
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
          AND ($1 IS NULL OR t.user_id = ANY (ARRAY(SELECT DISTINCT u.user_id FROM elt_raw.users u
                                                    WHERE u.valid_from >= $1 OR u.valid_to >= $1)))
          AND CASE WHEN $1 IS NULL   -- all users: count versions in one pass
                   THEN NOT EXISTS (SELECT 1 FROM (SELECT u.user_id, count(*) AS n FROM elt_raw.users u GROUP BY u.user_id) c
                                    WHERE c.user_id = t.user_id AND t.version_ordinal < c.n)
                   -- a few changed users: count theirs through the primary key
                   ELSE t.version_ordinal >= (SELECT count(*) FROM elt_raw.users u WHERE u.user_id = t.user_id) END
        $q$ USING v_ts;
    WHEN 'dim_subscription' THEN
        EXECUTE $q$
        DELETE FROM elt_mart.dim_subscription t
        WHERE t.subscription_key <> -1
          AND ($1 IS NULL OR t.subscription_id = ANY (ARRAY(SELECT DISTINCT s.subscription_id FROM elt_raw.subscriptions s
                                                            WHERE s.valid_from >= $1 OR s.valid_to >= $1)))
          AND CASE WHEN $1 IS NULL
                   THEN NOT EXISTS (SELECT 1 FROM (SELECT s.subscription_id, count(*) AS n
                                                   FROM elt_raw.subscriptions s GROUP BY s.subscription_id) c
                                    WHERE c.subscription_id = t.subscription_id AND t.version_ordinal < c.n)
                   ELSE t.version_ordinal >= (SELECT count(*) FROM elt_raw.subscriptions s
                                              WHERE s.subscription_id = t.subscription_id) END
        $q$ USING v_ts;
    END CASE;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- back to normal triggers (elt__bulk_end cannot do it: its SET clause
    -- would undo it at its exit), then check every fact key if rows went
    IF v_fast THEN
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
    WITH aff AS MATERIALIZED (
        SELECT DISTINCT u.user_id FROM elt_raw.users u
        WHERE $1 IS NOT NULL AND (u.valid_from >= $1 OR u.valid_to >= $1)
    ),
    src AS MATERIALIZED (
        SELECT u.user_id * 65536 + u.ord AS user_key, u.user_id, u.ord::integer AS version_ordinal,
               u.first_name, u.last_name, u.first_name || ' ' || u.last_name AS full_name,
               u.email, u.signup_date,
               u.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               u.region_id, COALESCE(r.region_name, 'Unknown') AS region_name,
               u.referral_source_id, COALESCE(f.referral_source_name, 'Unknown') AS referral_source_name,
               u.valid_from, u.valid_to, u.valid_to IS NULL AS is_current
        FROM (SELECT x.*, row_number() OVER (PARTITION BY x.user_id ORDER BY x.valid_from) - 1 AS ord
              FROM elt_raw.users x
              WHERE $1 IS NULL OR x.user_id = ANY (ARRAY(SELECT user_id FROM aff))) u   -- primary key lookups
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
    $q$ INTO n USING v_ts;
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
    WITH aff AS MATERIALIZED (
        SELECT DISTINCT s.subscription_id FROM elt_raw.subscriptions s
        WHERE $1 IS NOT NULL AND (s.valid_from >= $1 OR s.valid_to >= $1)
    ),
    src AS MATERIALIZED (
        SELECT s.subscription_id * 65536 + s.ord AS subscription_key, s.subscription_id,
               s.ord::integer AS version_ordinal, s.user_id,
               s.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               p.monthly_price, p.monthly_price > 0 AS is_paid,
               s.payment_method_id, COALESCE(m.payment_method_name, 'Unknown') AS payment_method_name,
               s.status, s.start_date, s.end_date, s.renewal_count,
               s.valid_from, s.valid_to, s.valid_to IS NULL AS is_current
        FROM (SELECT x.*, row_number() OVER (PARTITION BY x.subscription_id ORDER BY x.valid_from) - 1 AS ord
              FROM elt_raw.subscriptions x
              WHERE $1 IS NULL OR x.subscription_id = ANY (ARRAY(SELECT subscription_id FROM aff))) s
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
    $q$ INTO n USING v_ts;
    IF purge THEN
        n := n + @extschema@.elt__purge_dim('dim_subscription'::pg_catalog.text, since);
    END IF;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) IS
'Builds elt_mart.dim_subscription from elt_raw.subscriptions: one row per subscription version, keyed subscription_id * 65536 + version ordinal, with plan and payment method names. since NULL (default) rebuilds all; a day rebuilds only subscriptions with a version starting or ending on or after that day. Returns the number of rows written.';

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
    v_fast := @extschema@.elt__bulk_begin();
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
    ),
    -- Versions as days [d0, d1): the point-in-time join compares days.  Keys
    -- are computed from elt_raw with the dimensions' formula (id * 65536 +
    -- ordinal), not read from the dimensions, which may still hold versions
    -- gone from the source (they are purged after the facts); the foreign
    -- keys check that every key exists.  From since on: only the users and
    -- subscriptions with usage then.
    vu AS MATERIALIZED (
        SELECT r.user_id * 65536 + row_number() OVER (PARTITION BY r.user_id ORDER BY r.valid_from) - 1 AS user_key,
               r.user_id, @extschema@.elt__ts_day(r.valid_from) AS d0,
               COALESCE(@extschema@.elt__ts_day(r.valid_to), 'infinity') AS d1
        FROM elt_raw.users r
        WHERE $1 IS NULL   -- or the users with usage from since on, through the primary key
           OR r.user_id = ANY (ARRAY(SELECT DISTINCT x.user_id FROM elt_raw.usage x WHERE x.usage_date >= $1))
    ),
    vs AS MATERIALIZED (
        SELECT r.subscription_id * 65536 + row_number() OVER (PARTITION BY r.subscription_id ORDER BY r.valid_from) - 1
                   AS subscription_key,
               r.subscription_id, @extschema@.elt__ts_day(r.valid_from) AS d0,
               COALESCE(@extschema@.elt__ts_day(r.valid_to), 'infinity') AS d1
        FROM elt_raw.subscriptions r
        WHERE $1 IS NULL
           OR r.subscription_id = ANY (ARRAY(SELECT DISTINCT x.subscription_id FROM elt_raw.usage x WHERE x.usage_date >= $1))
    )
    SELECT c.usage_date, c.subscription_id,
           COALESCE(dd.date_key, -1), COALESCE(du.user_key, -1), COALESCE(ds.subscription_key, -1),
           COALESCE(dp.plan_key, -1), c.user_id, c.usage_id,
           c.actions_performed, c.storage_used_mb, c.api_calls, c.active_minutes,
           c.period_start, c.period_api_calls, c.period_storage_used_mb,
           round(100.0 * c.period_api_calls / NULLIF(dp.api_limit, 0), 2),
           round(100.0 * c.period_storage_used_mb / NULLIF(dp.storage_limit_mb, 0), 2)
    FROM (SELECT * FROM c WHERE $1 IS NULL OR c.usage_date >= $1) c
    LEFT JOIN elt_mart.dim_date dd ON dd.date = c.usage_date
    LEFT JOIN vu du ON du.user_id = c.user_id AND du.d0 <= c.usage_date AND c.usage_date < du.d1
    LEFT JOIN vs ds ON ds.subscription_id = c.subscription_id AND ds.d0 <= c.usage_date AND c.usage_date < ds.d1
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
    IF v_fast THEN   -- back to per-row triggers before the set-based check
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
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
       AND EXISTS (SELECT 1 FROM elt_mart.fct_mrr_monthly f WHERE f.month_start = v_lo)
       AND NOT EXISTS (SELECT 1 FROM elt_mart.fct_mrr_monthly f
                       JOIN elt_mart.dim_date d ON d.date_key = f.date_key
                       WHERE f.month_start = v_lo AND d.date IS DISTINCT FROM since - 1) THEN
        v_lo := since;
    END IF;

    EXECUTE $q$
    DELETE FROM elt_mart.fct_mrr_monthly t WHERE $1 IS NULL OR t.month_start >= $2
    $q$ USING since, v_lo;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    v_fast := @extschema@.elt__bulk_begin();
    EXECUTE $q$
    INSERT INTO elt_mart.fct_mrr_monthly
        (month_start, user_id, date_key, user_key, plan_key, mrr, previous_mrr, mrr_change, movement, new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr)
    WITH months AS MATERIALIZED (
        -- the months to write, and the one before (for previous MRR)
        SELECT g::date AS month_start,
               LEAST((g + interval '1 month' - interval '1 day')::date, $5) AS md
        FROM generate_series(GREATEST(($2 - interval '1 month')::date, $3)::timestamp,
                             $4::timestamp, interval '1 month') g
    ),
    paid AS (
        SELECT s.user_id, s.plan_id, p.monthly_price AS price, s.start_date, s.end_date
        FROM elt_raw.subscriptions s
        JOIN elt_raw.plans p ON p.plan_id = s.plan_id
        WHERE s.valid_to IS NULL AND p.monthly_price > 0
          AND (s.end_date IS NULL OR s.end_date > (SELECT min(md) FROM months))
    ),
    um AS MATERIALIZED (
        -- MRR of each paying user on each measurement day
        SELECT mo.month_start, pd.user_id, sum(pd.price) AS mrr,
               (array_agg(pd.plan_id ORDER BY pd.price DESC, pd.plan_id))[1] AS plan_id
        FROM months mo
        JOIN paid pd ON pd.start_date <= mo.md AND (pd.end_date IS NULL OR pd.end_date > mo.md)
        WHERE $1 IS NULL OR mo.month_start >= $2
        GROUP BY mo.month_start, pd.user_id
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
    grid AS (
        -- paying months, and the month after each (a churn when not paying then)
        SELECT um.month_start, um.user_id FROM um WHERE um.month_start >= $2
        UNION
        SELECT (um.month_start + interval '1 month')::date, um.user_id FROM um WHERE um.month_start < $4
    ),
    x AS (
        SELECT g.month_start, g.user_id, mo.md,
               COALESCE(c.mrr, 0) AS mrr, COALESCE(p.mrr, 0) AS prev,
               COALESCE(c.plan_id, p.plan_id) AS plan_id, f.first_paid
        FROM grid g
        JOIN months mo ON mo.month_start = g.month_start
        LEFT JOIN um c ON c.month_start = g.month_start AND c.user_id = g.user_id
        LEFT JOIN um p ON p.month_start = (g.month_start - interval '1 month')::date AND p.user_id = g.user_id
        LEFT JOIN firsts f ON f.user_id = g.user_id
    ),
    y AS MATERIALIZED (   -- movement is used six times: compute it once
        SELECT x.*, @extschema@.elt__day_ts(x.md) AS ts,
               CASE WHEN x.prev = 0
                         AND (x.first_paid < x.month_start
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
    )
    SELECT y.month_start, y.user_id, COALESCE(dd.date_key, -1), COALESCE(du.user_key, -1),
           COALESCE(dp.plan_key, -1), y.mrr, y.prev, y.mrr - y.prev, y.movement,
           CASE WHEN y.movement = 'new' THEN y.mrr ELSE 0 END,
           CASE WHEN y.movement = 'expansion' THEN y.mrr - y.prev ELSE 0 END,
           CASE WHEN y.movement = 'contraction' THEN y.mrr - y.prev ELSE 0 END,
           CASE WHEN y.movement = 'churn' THEN -y.prev ELSE 0 END,
           CASE WHEN y.movement = 'reactivation' THEN y.mrr ELSE 0 END
    FROM y
    LEFT JOIN elt_mart.dim_date dd ON dd.date = y.md
    LEFT JOIN (SELECT r.user_id * 65536 + row_number() OVER (PARTITION BY r.user_id ORDER BY r.valid_from) - 1 AS user_key,
                      r.user_id, r.valid_from, r.valid_to
               FROM elt_raw.users r
               WHERE r.user_id IN (SELECT um.user_id FROM um)) du   -- keys from elt_raw, as in fct_usage_daily
           ON du.user_id = y.user_id AND du.valid_from <= y.ts AND (du.valid_to IS NULL OR du.valid_to > y.ts)
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_id = y.plan_id
    ORDER BY y.month_start, y.user_id
    $q$ USING since, v_lo, v_first, v_last, w.clock;
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    IF v_fast THEN   -- back to per-row triggers before the set-based check
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
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
BEGIN
    w := @extschema@.elt__mart_begin(since);
    v_lo := GREATEST(COALESCE(since, w.start_date), w.start_date);

    -- MRR and paying users as running sums of +/- events from v_lo on: a
    -- paid subscription adds its price on max(start, v_lo) and removes it on
    -- its end date; a user's paid subscriptions merged into paying stretches
    -- add one paying user on the stretch's start and remove it (one churned
    -- user) on its end.
    EXECUTE $q$
    DELETE FROM elt_mart.fct_kpi_daily t WHERE $3 IS NULL OR t.date >= $1
    $q$ USING v_lo, w.clock, since;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    v_fast := @extschema@.elt__bulk_begin();
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
    brk AS (
        SELECT pd.*,
               CASE WHEN pd.start_date <= max(pd.end_date) OVER (PARTITION BY pd.user_id ORDER BY pd.start_date, pd.end_date
                                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS new_stretch
        FROM paid pd
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
              UNION ALL
              SELECT pd.end_date, -pd.price, 0, 0 FROM paid pd WHERE pd.end_date <= $2
              UNION ALL
              SELECT GREATEST(st.s, $1), 0, 1, 0 FROM stretch st
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
               sum(COALESCE(ev.dpay, 0)) OVER run AS paying_users,
               COALESCE(ev.dchurn, 0) AS churned_users,
               sum(COALESCE(ev.dmrr, 0)) OVER run AS mrr,
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
    $q$ USING v_lo, w.clock, since;
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    IF v_fast THEN   -- back to per-row triggers before the set-based check
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
    PERFORM @extschema@.elt__bulk_end(v_fast, 'elt_mart.fct_kpi_daily'::pg_catalog.regclass, 'date'::pg_catalog.name, v_lo);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_kpi_daily(date) IS
'Builds elt_mart.fct_kpi_daily: per day of the window, signups, active users (distinct users with usage), paying users (MRR above 0), churned users (paying the day before, not that day), MRR, ARR = 12 x MRR, and usage totals. since NULL (default) rebuilds all; a day rewrites the days from that day on. Returns the number of rows written (deleted plus inserted).';

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
    IF since IS NULL THEN
        -- fresh statistics for the joins of the facts
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
    IF since IS NULL THEN
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

CREATE FUNCTION @extschema@.elt_grant_reader(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    v_owner oid;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role
            USING ERRCODE = '42704', HINT = 'Create it first, e.g. CREATE ROLE bi_reader LOGIN;';
    END IF;
    SELECT n.nspowner INTO v_owner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'elt_mart';
    IF NOT pg_catalog.pg_has_role(current_user, v_owner, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to grant access to elt_mart'
            USING ERRCODE = '42501', HINT = 'Run elt_grant_reader as the owner of the elt extension or a superuser.';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA elt_mart TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA elt_mart TO %I', role);
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_grant_reader(name) IS
'Gives a role read-only access to the star schema: USAGE on schema elt_mart and SELECT on its tables, nothing else (no access to elt_raw or elt, no writes).';

REVOKE ALL ON FUNCTION @extschema@.elt__mart_begin(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__check_versions(regclass, name, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt__bulk_begin() FROM PUBLIC;
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
