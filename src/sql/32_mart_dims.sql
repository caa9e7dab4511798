-- elt_mart dimension builders and the purge of dimension rows gone from the
-- source (see 31_mart_builders.sql for the shared rules).

------------------------------------------------------------------------------
-- The builder of every dimension
------------------------------------------------------------------------------
-- Internal: merges the rows of query src into dimension dim (a name of
-- elt__mart_tables) and, with purge, removes rows gone from the source;
-- returns the rows written.  $1 in src is ids (the ids to rebuild, NULL
-- for all).  Rows src does not give are left to elt__purge_dim: facts may
-- still reference them until the facts are built.
CREATE OR REPLACE FUNCTION elt.elt__build_dim(dim text, src text, ids bigint[], since date, purge boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    r record;   -- (deleted: none, upserted: rows inserted or changed)
BEGIN
    PERFORM elt.elt__mart_begin(since);
    EXECUTE elt.elt__merge_sql((SELECT m.tab FROM elt.elt__mart_tables() m WHERE m.name = dim)::pg_catalog.regclass,
                               src, NULL::pg_catalog.text)
        INTO r USING ids;
    IF purge THEN
        RETURN r.upserted + elt.elt__purge_dim(dim, since);
    END IF;
    RETURN r.upserted;
END
$fn$;
COMMENT ON FUNCTION elt.elt__build_dim(text, text, bigint[], date, boolean) IS
'Internal: merges the rows of query src ($1 = ids) into dimension dim, then with purge deletes its rows gone from the source; returns the number of rows written.';

-- dim_date: one row per day of the window.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_date(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT elt.elt__build_dim('dim_date'::pg_catalog.text, src => $q$
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
               EXTRACT(day FROM d + 1) = 1 AS is_month_end,
               d - (EXTRACT(isodow FROM d)::integer - 1) AS week_start,
               -- the model's holidays (src/model_usage.c)
               (EXTRACT(month FROM d) = 12 AND EXTRACT(day FROM d) IN (24, 25, 26, 31))
                   OR (EXTRACT(month FROM d) = 1 AND EXTRACT(day FROM d) = 1) AS is_holiday,
               false AS is_unknown
        FROM (SELECT g::date AS d
              FROM elt.settings s, generate_series(s.start_date::timestamp, s.clock::timestamp, interval '1 day') g) days
    $q$, ids => NULL::bigint[], since => NULL::pg_catalog.date, purge => purge)
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_date(boolean) IS
'Builds elt_mart.dim_date: one row per day from elt.settings start_date through clock (plus the Unknown day -1). Returns the number of rows written (inserted, changed or removed).';

-- dim_plan: one row per plan, with its price, limits and features.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_plan(purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT elt.elt__build_dim('dim_plan'::pg_catalog.text, src => $q$
        SELECT p.plan_id AS plan_key, p.plan_id, p.plan_name,
               p.monthly_price, (12 * p.monthly_price)::numeric(12,2) AS annual_price,
               p.monthly_price > 0 AS is_paid,
               p.max_users, p.api_limit, p.storage_limit_mb, p.project_limit,
               COALESCE(f.n, 0)::integer AS feature_count, COALESCE(f.names, '') AS features,
               false AS is_unknown
        FROM elt_raw.plans p
        LEFT JOIN (SELECT plan_id, count(*) AS n, string_agg(feature_name, ', ' ORDER BY feature_id) AS names
                   FROM elt_raw.plan_features GROUP BY plan_id) f ON f.plan_id = p.plan_id
    $q$, ids => NULL::bigint[], since => NULL::pg_catalog.date, purge => purge)
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_plan(boolean) IS
'Builds elt_mart.dim_plan from elt_raw.plans and elt_raw.plan_features: one row per plan with price, limits, feature count and feature list (plus the Unknown plan -1). Returns the number of rows written.';

------------------------------------------------------------------------------
-- SCD2 dimensions: dim_user, dim_subscription
------------------------------------------------------------------------------
-- Internal: builds an SCD2 dimension from its source: one row per version,
-- keyed id * 65536 + version ordinal.  Its table, source, id and key
-- columns come from elt__mart_tables; the caller names what differs: cols,
-- the columns between version_ordinal and valid_from, read from the version
-- v, and joins, the lookups they read.  The ids touched by a change on or
-- after since (all when NULL) are rebuilt with all their versions (the
-- ordinal of a version depends on the others), and so are more_ids (what
-- else the columns read changed for).  tail: the columns after is_current.
CREATE OR REPLACE FUNCTION elt.elt__build_scd2_dim(dim text, cols text, joins text, since date, purge boolean,
                                                   tail text, more_ids bigint[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    m    record;
    v_ts timestamptz := elt.elt__day_ts(since);
    v_ids bigint[];
BEGIN
    PERFORM elt.elt__mart_begin(since);
    SELECT * INTO STRICT m FROM elt.elt__mart_tables() t WHERE t.name = dim AND t.source IS NOT NULL;
    PERFORM elt.elt__check_versions(m.source::pg_catalog.regclass, m.id_column, v_ts);
    v_ids := elt.elt__changed_ids(m.source::pg_catalog.regclass, m.id_column, v_ts);
    IF v_ids IS NOT NULL AND more_ids IS NOT NULL THEN
        v_ids := ARRAY(SELECT DISTINCT i FROM unnest(v_ids || more_ids) i ORDER BY i);
    END IF;
    RETURN elt.elt__build_dim(dim, format($q$
        SELECT v.%1$I * 65536 + v.ord AS %2$I, v.%1$I, v.ord::integer AS version_ordinal,
               %3$s,
               v.valid_from, v.valid_to, v.valid_to IS NULL AS is_current,
               %6$s
        FROM (SELECT x.*, row_number() OVER (PARTITION BY %7$sx.%1$I ORDER BY x.valid_from) - 1 AS ord
              FROM %4$s x
              WHERE $1 IS NULL OR x.%1$I = ANY ($1)) v   -- primary key lookups
        %5$s$q$, m.id_column, m.key_column, cols, m.source, joins, tail,
        -- on Citus the window is partitioned by the distribution column
        -- too, so that each worker numbers its own versions (an id has one
        -- user_id: the same partitions)
        CASE WHEN m.id_column <> 'user_id' AND elt.elt__distributed() THEN 'x.user_id, ' ELSE '' END),
        v_ids, since, purge);
END
$fn$;
COMMENT ON FUNCTION elt.elt__build_scd2_dim(text, text, text, date, boolean, text, bigint[]) IS
'Internal: builds the SCD2 dimension dim (dim_user, dim_subscription) from its source, one row per version keyed id * 65536 + version ordinal, with the columns cols (and tail, after is_current) read through joins; since and purge as in its elt_build_ function, more_ids: ids to rebuild besides those changed since. Returns the number of rows written.';

-- Internal: the users whose subscriptions changed on or after since, or
-- whose voluntary cancellation may have ended (NULL for NULL): what else
-- elt_build_dim_user rebuilds.  PL/pgSQL, not a subquery of that SQL
-- function: Citus cannot plan a query on a distributed table that reads a
-- SQL function's parameter.
CREATE OR REPLACE FUNCTION elt.elt__subscription_users_since(since date)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
BEGIN
    IF since IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT COALESCE(array_agg(DISTINCT s.user_id), '{}') FROM elt_raw.subscriptions s
            WHERE s.valid_from >= elt.elt__day_ts(since) OR s.valid_to >= elt.elt__day_ts(since)
               OR (s.status = 'cancelled' AND s.end_date >= since));
END
$fn$;
COMMENT ON FUNCTION elt.elt__subscription_users_since(date) IS
'Internal: the user_ids whose subscriptions have a version starting or ending on or after since, or a cancellation ending then (NULL for NULL): the users elt_build_dim_user rebuilds besides those changed.';

-- dim_user: the user's names, email and signup day, with plan, region and
-- referral source names.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_user(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT elt.elt__build_scd2_dim('dim_user'::pg_catalog.text,
    cols => $c$v.first_name, v.last_name, v.first_name || ' ' || v.last_name AS full_name,
               v.email, v.signup_date,
               v.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               v.region_id, COALESCE(r.region_name, 'Unknown') AS region_name,
               v.referral_source_id, COALESCE(f.referral_source_name, 'Unknown') AS referral_source_name$c$,
    joins => $j$LEFT JOIN elt_raw.plans p ON p.plan_id = v.plan_id
        LEFT JOIN elt_raw.regions r ON r.region_id = v.region_id
        LEFT JOIN elt_raw.referral_sources f ON f.referral_source_id = v.referral_source_id
        LEFT JOIN LATERAL (
            -- the user's subscriptions on the version's last day (the clock
            -- for the current version), and the first day paid (no user
            -- without subscriptions: one row of NULLs); subqueries with a
            -- FROM, as Citus needs next to a correlated one
            SELECT min(elt.elt__ts_day(s.valid_from)) FILTER (WHERE s.mrr > 0) AS first_paid_date,
                   bool_or(s.status = 'past_due' AND s.on_day) AS past_due,
                   bool_or(s.mrr > 0 AND s.on_day) AS paying,
                   bool_or(s.status = 'trialing' AND s.on_day) AS trialing,
                   bool_or(s.mrr > 0 AND elt.elt__ts_day(s.valid_from) <= s.day) AS paid_before
            FROM (SELECT y.*, elt.elt__ts_day(y.valid_from) <= y.day
                              AND (y.valid_to IS NULL OR y.day < elt.elt__ts_day(y.valid_to))
                              AND y.start_date <= y.day AND (y.end_date IS NULL OR y.day < y.end_date) AS on_day
                  FROM (SELECT s.*, CASE WHEN v.valid_to IS NULL THEN (SELECT c.clock FROM elt.settings c)
                                         ELSE elt.elt__ts_day(v.valid_to) - 1 END AS day
                        FROM elt_raw.subscriptions s WHERE s.user_id = v.user_id) y) s
        ) lc ON true$j$,
    since => since, purge => purge,
    tail => $t$date_trunc('month', v.signup_date::timestamp)::date AS cohort_month,
               (EXTRACT(year FROM v.signup_date) * 10000 + EXTRACT(month FROM v.signup_date) * 100
                + EXTRACT(day FROM v.signup_date))::integer AS signup_date_key,
               COALESCE(f.referral_source_name, 'Unknown') AS acquisition_channel,
               lc.first_paid_date,
               CASE WHEN lc.past_due THEN 'past_due' WHEN lc.paying THEN 'paying' WHEN lc.trialing THEN 'trialing'
                    WHEN lc.paid_before THEN 'churned' ELSE 'free' END AS lifecycle_status,
               COALESCE(lc.past_due OR lc.paying, false) AS is_paying,
               false AS is_unknown$t$,
    -- users whose subscriptions changed, or whose voluntary cancellation
    -- may have ended (their lifecycle status, first paid day)
    more_ids => elt.elt__subscription_users_since(since))
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_user(date, boolean) IS
'Builds elt_mart.dim_user from elt_raw.users: one row per user version, keyed user_id * 65536 + version ordinal, with plan, region and referral names. since NULL (default) rebuilds all users; a day rebuilds only users with a version starting or ending on or after that day. Returns the number of rows written.';

-- dim_subscription: user, plan with price, payment method, status, dates
-- and renewals of each version.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_dim_subscription(since date DEFAULT NULL, purge boolean DEFAULT true)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT elt.elt__build_scd2_dim('dim_subscription'::pg_catalog.text,
    cols => $c$v.user_id,
               v.plan_id, COALESCE(p.plan_name, 'Unknown') AS plan_name,
               p.monthly_price, p.monthly_price > 0 AS is_paid,
               v.payment_method_id, COALESCE(m.payment_method_name, 'Unknown') AS payment_method_name,
               v.status, v.start_date, v.end_date, v.renewal_count$c$,
    joins => $j$LEFT JOIN elt_raw.plans p ON p.plan_id = v.plan_id
        LEFT JOIN elt_raw.payment_methods m ON m.payment_method_id = v.payment_method_id
        LEFT JOIN LATERAL (
            -- the user's previous subscription (by start date, then id), as
            -- it ended (it ended before this one started: it no longer changes)
            SELECT q.plan_id, q.status, q.end_date, q.trial_end
            FROM elt_raw.subscriptions q
            WHERE q.user_id = v.user_id AND q.valid_to IS NULL
              AND (q.start_date, q.subscription_id) < (v.start_date, v.subscription_id)
            ORDER BY q.start_date DESC, q.subscription_id DESC
            LIMIT 1) q ON true
        -- its plan outside the lateral join: Citus joins a reference table
        -- there only outside
        LEFT JOIN elt_raw.plans qp ON qp.plan_id = q.plan_id$j$,
    since => since, purge => purge,
    tail => $t$v.billing_interval, v.seats, v.discount_pct, v.trial_end, v.mrr,
               CASE WHEN v.status = 'cancelled' THEN elt.elt__ts_day(v.valid_from) END AS cancel_date,
               q.plan_id AS previous_plan_id, qp.plan_name AS previous_plan_name,
               CASE WHEN q.plan_id IS NULL THEN 'first'
                    WHEN q.status = 'expired' AND q.end_date = v.start_date AND q.end_date = q.trial_end THEN 'after_trial'
                    WHEN q.status = 'expired' AND q.end_date = v.start_date
                         THEN CASE WHEN p.monthly_price >= qp.monthly_price THEN 'upgrade' ELSE 'downgrade' END
                    ELSE 'return' END AS change_type,
               false AS is_unknown$t$,
    more_ids => NULL::bigint[])
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) IS
'Builds elt_mart.dim_subscription from elt_raw.subscriptions: one row per subscription version, keyed subscription_id * 65536 + version ordinal, with plan and payment method names. since NULL (default) rebuilds all; a day rebuilds only subscriptions with a version starting or ending on or after that day. Returns the number of rows written.';

------------------------------------------------------------------------------
-- Purge
------------------------------------------------------------------------------
-- Internal: remove dimension rows gone from the source (after the facts
-- that referenced them are gone): days outside the window, plans no longer
-- listed, versions beyond the versions an id has now.  since limits the
-- users and subscriptions looked at to those changed on or after that day.
CREATE OR REPLACE FUNCTION elt.elt__purge_dim(tab text, since date)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    m    record;
    f    record;
    w    record;
    n    bigint;
    v_ts timestamptz := elt.elt__day_ts(since);
    v_fast boolean;
BEGIN
    w := elt.elt__mart_begin();
    SELECT * INTO STRICT m FROM elt.elt__mart_tables() t WHERE t.name = elt__purge_dim.tab AND t.kind = 'dimension';
    -- In bulk mode the per-row "still referenced?" triggers are skipped (a
    -- deleted subscription version would scan fct_usage_daily each) and the
    -- keys of the facts are checked once, set-based, instead.
    v_fast := elt.elt__bulk_begin(m.tab::pg_catalog.regclass);
    IF tab = 'dim_date' THEN
        DELETE FROM elt_mart.dim_date t
        WHERE t.date_key <> -1 AND (t.date < w.start_date OR t.date > w.clock);
    ELSIF tab = 'dim_plan' THEN
        -- the plan ids read first: on Citus a delete reading elt_raw.plans
        -- counts as a write of it, which Citus refuses after a parallel
        -- query in the transaction (distributed tables reference plans)
        DELETE FROM elt_mart.dim_plan t
        WHERE t.plan_key <> -1 AND t.plan_key <> ALL (ARRAY(SELECT p.plan_id FROM elt_raw.plans p));
    ELSE   -- an SCD2 dimension
        EXECUTE format($q$
        DELETE FROM %1$s t
        WHERE t.%2$I <> -1
          AND ($1 IS NULL OR t.%3$I = ANY ($2))
          AND CASE WHEN $1 IS NULL   -- all ids: count versions in one pass
                   THEN NOT EXISTS (SELECT 1 FROM (SELECT s.%3$I, %5$scount(*) AS n FROM %4$s s GROUP BY %5$ss.%3$I) c
                                    WHERE c.%3$I = t.%3$I%6$s AND t.version_ordinal < c.n)
                   -- a few changed ids: count theirs through the primary key
                   ELSE t.version_ordinal >= (SELECT count(*) FROM %4$s s WHERE s.%3$I = t.%3$I%7$s) END
        $q$, VARIADIC ARRAY[m.tab, m.key_column::text, m.id_column::text, m.source]
        -- on Citus also by user_id, so that each shard counts its own
        -- versions (an id has one user_id: the same counts)
        || CASE WHEN m.id_column <> 'user_id' AND elt.elt__distributed()
                THEN ARRAY['s.user_id, ', ' AND c.user_id = t.user_id', ' AND s.user_id = t.user_id']
                ELSE ARRAY['', '', ''] END)
        USING v_ts, elt.elt__changed_ids(m.source::pg_catalog.regclass, m.id_column, v_ts);
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- back to normal triggers (bulk mode was switched on here) even when no
    -- row went, then check every fact key only if rows went
    IF v_fast AND n = 0 THEN
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
    FOR f IN SELECT * FROM elt.elt__mart_tables() t WHERE t.kind = 'fact' ORDER BY t.ord LOOP
        PERFORM elt.elt__bulk_end(v_fast AND n > 0, f.tab::pg_catalog.regclass, f.day_column, NULL::pg_catalog.date);
    END LOOP;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION elt.elt__purge_dim(text, date) IS
'Internal: deletes the rows of a dimension that are no longer in the source (days outside the window, plans, versions); returns how many.';

REVOKE ALL ON FUNCTION elt.elt__build_dim(text, text, bigint[], date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__build_scd2_dim(text, text, text, date, boolean, text, bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__purge_dim(text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__subscription_users_since(date) FROM PUBLIC;
