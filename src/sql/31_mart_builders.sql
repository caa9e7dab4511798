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
-- contract of elt_update_marts).  Both paths compute rows with the same
-- statements, so an incremental update gives exactly the rows of a full
-- rebuild.  A full build over existing rows merges (deletes rows gone,
-- updates changed ones, leaves unchanged ones alone: no new tuple), so a
-- rebuild with nothing changed writes nothing and one after manual edits
-- of the marts undoes them.  An incremental update trusts the rows before
-- since to be as a builder left them (it looks only for missing trailing
-- days, see elt_update_marts).
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
CREATE OR REPLACE FUNCTION elt.elt__mart_begin(since date DEFAULT NULL, OUT start_date date, OUT clock date)
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
COMMENT ON FUNCTION elt.elt__mart_begin(date) IS
'Internal: refuses an infinite since (22008), takes the locks of a mart build and returns the simulated window (start_date, clock) from elt.settings.';

-- Internal: a day's instant (midnight UTC); NULL stays NULL.
-- (Inlined SQL function: fully qualified, no SET clause.)
CREATE OR REPLACE FUNCTION elt.elt__day_ts(day date)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.timezone('UTC'::text, day::timestamp without time zone);
COMMENT ON FUNCTION elt.elt__day_ts(date) IS
'Internal: midnight UTC of a day, the instant SCD2 versions of that day start.';

-- Internal: the first day whose midnight UTC is at or after an instant, so
-- that  t <= day_ts(d)  <=>  ts_day(t) <= d  and  day_ts(d) < t  <=>  d < ts_day(t):
-- point-in-time joins then compare dates, not instants built row by row.
CREATE OR REPLACE FUNCTION elt.elt__ts_day(t timestamptz)
RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (pg_catalog.timezone('UTC'::text, t) + '1 day -1 microsecond'::interval)::date;
COMMENT ON FUNCTION elt.elt__ts_day(timestamptz) IS
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
CREATE OR REPLACE FUNCTION elt.elt__user_key_at(id bigint, ts timestamptz)
RETURNS TABLE (user_key bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.bool_or(r.valid_to IS NULL OR r.valid_to > ts)
                THEN id * 65536 + pg_catalog.count(*) - 1 END
    FROM elt_raw.users r
    WHERE r.user_id = id AND r.valid_from <= ts;
END;
COMMENT ON FUNCTION elt.elt__user_key_at(bigint, timestamptz) IS
'Internal: dim_user key of the version of user id valid at ts (NULL if none), from elt_raw.users.';

CREATE OR REPLACE FUNCTION elt.elt__subscription_key_at(id bigint, ts timestamptz)
RETURNS TABLE (subscription_key bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.bool_or(r.valid_to IS NULL OR r.valid_to > ts)
                THEN id * 65536 + pg_catalog.count(*) - 1 END
    FROM elt_raw.subscriptions r
    WHERE r.subscription_id = id AND r.valid_from <= ts;
END;
COMMENT ON FUNCTION elt.elt__subscription_key_at(bigint, timestamptz) IS
'Internal: dim_subscription key of the version of subscription id valid at ts (NULL if none), from elt_raw.subscriptions.';

-- Internal: the ids of an SCD2 source table with a version starting or
-- ending at or after since_ts (NULL when since_ts is NULL: all ids), sorted,
-- for primary key lookups (= ANY) by every builder that rewrites only what
-- changed.  BRIN on (valid_from, valid_to) finds them in the last blocks.
CREATE OR REPLACE FUNCTION elt.elt__changed_ids(tab regclass, id_column name, since_ts timestamptz)
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
COMMENT ON FUNCTION elt.elt__changed_ids(regclass, name, timestamptz) IS
'Internal: sorted ids of tab with a version starting or ending at or after since_ts (NULL for NULL: all ids).';

-- Internal: surrogate keys are id * 65536 + version ordinal; refuse ids and
-- version counts that do not fit, before anything is written.
CREATE OR REPLACE FUNCTION elt.elt__check_versions(tab regclass, id_column name, since_ts timestamptz)
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
        INTO v_id, v_n USING elt.elt__changed_ids(tab, id_column, since_ts);
    IF v_id IS NOT NULL THEN
        RAISE EXCEPTION '% % does not fit a surrogate key of elt_mart', id_column, v_id
            USING ERRCODE = '22003',
                  DETAIL = format('%s has %s versions of it; keys are %s * 65536 + version ordinal, so ids must be in [0, 2^47) with at most 65536 versions.',
                                  tab, v_n, id_column);
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__check_versions(regclass, name, timestamptz) IS
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
-- raised.  A table with triggers or rules of its own, or that tables other
-- than elt's have foreign keys to (replica mode would silence their
-- actions too), keeps the normal mode,
-- so that they fire; other callers get the per-row triggers.
CREATE OR REPLACE FUNCTION elt.elt__bulk_begin(tab regclass)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'origin'
       AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                       WHERE t.tgrelid OPERATOR(pg_catalog.=) tab AND NOT t.tgisinternal)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite w WHERE w.ev_class OPERATOR(pg_catalog.=) tab)
       -- replica mode also silences the triggers of keys that point at tab
       -- (ON DELETE CASCADE, RESTRICT, NO ACTION): only keys of elt's own
       -- tables, which elt__bulk_end checks, may point at it
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                       WHERE k.contype OPERATOR(pg_catalog.=) 'f'
                         AND k.confrelid OPERATOR(pg_catalog.=) tab
                         AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                                         JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
                                         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                                           AND d.objid OPERATOR(pg_catalog.=) k.conrelid
                                           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                                           AND d.deptype OPERATOR(pg_catalog.=) 'e'
                                           AND e.extname OPERATOR(pg_catalog.=) 'elt'))
       -- elt__bulk_end checks single-column keys of tab only
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                       WHERE k.contype OPERATOR(pg_catalog.=) 'f'
                         AND k.conrelid OPERATOR(pg_catalog.=) tab
                         AND pg_catalog.cardinality(k.conkey) OPERATOR(pg_catalog.<>) 1) THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
        RETURN true;
    END IF;
    RETURN false;
END
$fn$;
-- No SET clause: one naming session_replication_role would undo the
-- set_config at exit (a SET clause restores only the variables it names);
-- everything is qualified.  elt__bulk_end switches back to origin.
COMMENT ON FUNCTION elt.elt__bulk_begin(regclass) IS
'Internal: for a superuser, and a table without triggers or rules of its own, with no foreign keys of tables other than the extension''s pointing at it and without multi-column keys, switches this transaction to session_replication_role = replica (no per-row foreign key triggers) and returns true; elt__bulk_end switches back and checks the keys.';

CREATE OR REPLACE FUNCTION elt.elt__bulk_end(fast boolean, tab regclass, col name, lo date)
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
COMMENT ON FUNCTION elt.elt__bulk_end(boolean, regclass, name, date) IS
'Internal: after a bulk load started by elt__bulk_begin (fast = its result), switches back to session_replication_role = origin and checks the foreign keys of the rows of tab with col >= lo (all rows when lo is NULL) in one query.';

-- Internal: remove dimension rows gone from the source (after the facts
-- that referenced them are gone): days outside the window, plans no longer
-- listed, versions beyond the versions an id has now.  since limits the
-- users and subscriptions looked at to those changed on or after that day.
CREATE OR REPLACE FUNCTION elt.elt__purge_dim(tab text, since date)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
DECLARE
    w    record;
    n    bigint;
    v_ts timestamptz := elt.elt__day_ts(since);
    v_fast boolean;
BEGIN
    w := elt.elt__mart_begin();
    -- In bulk mode the per-row "still referenced?" triggers are skipped (a
    -- deleted subscription version would scan fct_usage_daily each) and the
    -- keys of the facts are checked once, set-based, instead.
    v_fast := elt.elt__bulk_begin(('elt_mart.' OPERATOR(pg_catalog.||) tab)::pg_catalog.regclass);
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
        $q$ USING v_ts, elt.elt__changed_ids('elt_raw.users'::pg_catalog.regclass, 'user_id'::pg_catalog.name, v_ts);
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
        $q$ USING v_ts, elt.elt__changed_ids('elt_raw.subscriptions'::pg_catalog.regclass, 'subscription_id'::pg_catalog.name, v_ts);
    END CASE;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- back to normal triggers (bulk mode was switched on here) even when no
    -- row went, then check every fact key only if rows went
    IF v_fast AND n = 0 THEN
        PERFORM pg_catalog.set_config('session_replication_role'::pg_catalog.text, 'origin'::pg_catalog.text, true);
    END IF;
    PERFORM elt.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_usage_daily'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, NULL::pg_catalog.date);
    PERFORM elt.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_mrr_monthly'::pg_catalog.regclass, 'month_start'::pg_catalog.name, NULL::pg_catalog.date);
    PERFORM elt.elt__bulk_end(v_fast AND n > 0, 'elt_mart.fct_kpi_daily'::pg_catalog.regclass, 'date'::pg_catalog.name, NULL::pg_catalog.date);
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION elt.elt__purge_dim(text, date) IS
'Internal: deletes the rows of a dimension that are no longer in the source (days outside the window, plans, versions); returns how many.';
