-- elt_generate(): (re)load elt_raw for a population as of a day.

CREATE OR REPLACE FUNCTION elt.elt__check_population(
    users integer, seed bigint, as_of date, start_date date, params jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'elt__check_population'
LANGUAGE c STABLE;
COMMENT ON FUNCTION elt.elt__check_population(integer, bigint, date, date, jsonb) IS
'Internal: raises the error elt_generate and the generators give for bad population arguments.';

CREATE OR REPLACE FUNCTION elt.elt__estimate(
    users integer, seed bigint, as_of date, start_date date, params jsonb, build_marts boolean,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint, OUT bytes bigint)
AS 'MODULE_PATHNAME', 'elt__estimate'
LANGUAGE c STABLE;
COMMENT ON FUNCTION elt.elt__estimate(integer, bigint, date, date, jsonb, boolean) IS
'Internal: estimates the rows elt_generate would write to elt_raw and the bytes of the warehouse (from a sample of users), reports them in a NOTICE, and refuses (54000) more rows than elt.max_generate_rows.';
REVOKE ALL ON FUNCTION elt.elt__estimate(integer, bigint, date, date, jsonb, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION elt.elt__check_raw_tables()
RETURNS void
AS 'MODULE_PATHNAME', 'elt__check_raw_tables'
LANGUAGE c STABLE;
COMMENT ON FUNCTION elt.elt__check_raw_tables() IS
'Internal: raises the error the bulk loader would give for elt_raw.users, subscriptions or usage (columns that are not those elt writes, triggers, foreign keys of your own).';
REVOKE ALL ON FUNCTION elt.elt__check_raw_tables() FROM PUBLIC;

CREATE OR REPLACE FUNCTION elt.elt__load_raw(
    users integer, seed bigint, as_of date, start_date date, params jsonb,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
AS 'MODULE_PATHNAME', 'elt__load_raw'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION elt.elt__load_raw(integer, bigint, date, date, jsonb) IS
'Internal: bulk-loads elt_raw.users, subscriptions and usage, which must be empty.';
REVOKE ALL ON FUNCTION elt.elt__load_raw(integer, bigint, date, date, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION elt.elt__load_warehouse(
    users integer, seed bigint, as_of date, start_date date, params jsonb,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint,
    OUT usage_daily_rows bigint, OUT usage_period_rows bigint, OUT kpi_daily_rows bigint,
    OUT last_active_rows bigint, OUT events_rows bigint, OUT dim_user_rows bigint,
    OUT dim_subscription_rows bigint, OUT mrr_monthly_rows bigint, OUT cohort_retention_rows bigint,
    OUT saas_metrics_monthly_rows bigint, OUT usage_totals_rows bigint)
AS 'MODULE_PATHNAME', 'elt__load_warehouse'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION elt.elt__load_warehouse(integer, bigint, date, date, jsonb) IS
'Internal: bulk-loads elt_raw.users, subscriptions and usage and, in the same pass, the elt_mart tables elt__mart_tables marks loaded and the builders'' state (elt.mart_last_active, elt.mart_usage_totals), which must all be empty; the facts'' keys to the dimensions are checked as the rows are written. Returns the rows per table.';
REVOKE ALL ON FUNCTION elt.elt__load_warehouse(integer, bigint, date, date, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION elt.elt__load_day(
    users integer, seed bigint, day date, start_date date, params jsonb,
    OUT users_rows bigint, OUT subscriptions_rows bigint, OUT usage_rows bigint)
AS 'MODULE_PATHNAME', 'elt__load_day'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION elt.elt__load_day(integer, bigint, date, date, jsonb) IS
'Internal: one pass over the population writes what day adds (elt_refresh''s day): the new current versions into pg_temp.elt_refresh_users and pg_temp.elt_refresh_subscriptions, which must be empty, and the day''s usage appended to pg_temp.elt_refresh_usage.';
REVOKE ALL ON FUNCTION elt.elt__load_day(integer, bigint, date, date, jsonb) FROM PUBLIC;

-- Internal: the tables elt_generate empties to write them in its load:
-- the marts elt__mart_tables marks loaded, the marts with foreign keys to
-- them (emptied with them; their builders write them after the load), and
-- the KPI and usage fact builders' state, in list order.
CREATE OR REPLACE FUNCTION elt.elt__loaded_tables()
RETURNS regclass[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT ARRAY(SELECT m.tab::pg_catalog.regclass FROM elt.elt__mart_tables() m
             WHERE m.loaded
                OR EXISTS (SELECT FROM pg_catalog.pg_constraint k
                           JOIN elt.elt__mart_tables() l ON l.loaded AND k.confrelid = l.tab::pg_catalog.regclass
                           WHERE k.contype = 'f' AND k.conrelid = m.tab::pg_catalog.regclass)
             ORDER BY m.ord)
       || ARRAY['elt.mart_last_active'::pg_catalog.regclass, 'elt.mart_usage_totals'::pg_catalog.regclass]
$fn$;
COMMENT ON FUNCTION elt.elt__loaded_tables() IS
'Internal: the tables elt_generate empties and writes in its load (elt__load_warehouse) or right after it: the marts elt__mart_tables marks loaded, the marts referencing them, elt.mart_last_active and elt.mart_usage_totals.';
REVOKE ALL ON FUNCTION elt.elt__loaded_tables() FROM PUBLIC;

-- Internal: whether elt_generate may empty table tab with TRUNCATE (with
-- the tables of together) and bulk-load it: no other table has a foreign
-- key to it (TRUNCATE refuses one of the user's own, and ON DELETE actions
-- would not run), no trigger or rule of its own (the loader fires none),
-- no row-level security, and the caller may truncate it.  Otherwise the
-- SQL builders write the marts, row by row.
CREATE OR REPLACE FUNCTION elt.elt__bulk_loadable(tab regclass, together regclass[])
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                   WHERE k.contype = 'f' AND k.confrelid = tab AND k.conrelid <> ALL (together))
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgrelid = tab AND NOT t.tgisinternal)
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite w WHERE w.ev_class = tab)
   AND NOT (SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = tab)
   AND pg_catalog.has_table_privilege(tab, 'TRUNCATE')
$fn$;
COMMENT ON FUNCTION elt.elt__bulk_loadable(regclass, regclass[]) IS
'Internal: whether elt_generate may empty table tab with TRUNCATE, together with the tables of together, and bulk-load it (no other table''s foreign key points at it, no trigger, rule or row-level security of its own, TRUNCATE privilege).';
REVOKE ALL ON FUNCTION elt.elt__bulk_loadable(regclass, regclass[]) FROM PUBLIC;

-- Internal: empties tabs in one TRUNCATE, keeping aside the Unknown
-- members (key -1) of the dimensions among them, which it returns as
-- {table: rows} for elt__restore_unknown.
CREATE OR REPLACE FUNCTION elt.elt__empty_tables(tabs regclass[])
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m      record;
    v_rows jsonb;
    v_kept jsonb := '{}';
BEGIN
    FOR m IN SELECT * FROM elt.elt__mart_tables() t
             WHERE t.kind = 'dimension' AND t.tab::pg_catalog.regclass = ANY (tabs) ORDER BY t.ord LOOP
        EXECUTE format('SELECT jsonb_agg(to_jsonb(t)) FROM %s t WHERE t.%I = -1', m.tab, m.key_column) INTO v_rows;
        v_kept := v_kept || jsonb_build_object(m.tab, COALESCE(v_rows, '[]'));
    END LOOP;
    EXECUTE (SELECT format('TRUNCATE %s', string_agg(t::text, ', ')) FROM unnest(tabs) t);
    RETURN v_kept;
END
$fn$;
COMMENT ON FUNCTION elt.elt__empty_tables(regclass[]) IS
'Internal: empties the tables in one TRUNCATE and returns the Unknown members (key -1) of the dimensions among them, as {table: rows}.';
REVOKE ALL ON FUNCTION elt.elt__empty_tables(regclass[]) FROM PUBLIC;

-- Internal: puts back the rows elt__empty_tables kept aside.
CREATE OR REPLACE FUNCTION elt.elt__restore_unknown(kept jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT * FROM jsonb_each(kept) LOOP
        EXECUTE format('INSERT INTO %1$s SELECT * FROM jsonb_populate_recordset(NULL::%1$s, $1)',
                       e.key::pg_catalog.regclass)
            USING e.value;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION elt.elt__restore_unknown(jsonb) IS
'Internal: inserts the rows elt__empty_tables kept aside ({table: rows}).';
REVOKE ALL ON FUNCTION elt.elt__restore_unknown(jsonb) FROM PUBLIC;

-- Internal: the lock that lets one elt_generate or elt_refresh run at a
-- time: a transaction-level advisory lock (pg_locks: locktype advisory,
-- classid 6646900 = 'elt', objid 1), so that incidental lockers of
-- elt.settings (autovacuum, SELECT ... FOR SHARE) are not taken for a
-- running refresh.  wait = false: try only; returns whether it is held.
CREATE OR REPLACE FUNCTION elt.elt__writer_lock(wait boolean)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF wait THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(6646900, 1);
        RETURN true;
    END IF;
    RETURN pg_catalog.pg_try_advisory_xact_lock(6646900, 1);
END
$fn$;
COMMENT ON FUNCTION elt.elt__writer_lock(boolean) IS
'Internal: takes (wait) or tries to take the transaction-level advisory lock (6646900, 1) that serializes elt_generate and elt_refresh; returns whether it is held.';
REVOKE ALL ON FUNCTION elt.elt__writer_lock(boolean) FROM PUBLIC;

-- Internal: brings the lookups to the rows of their generators
-- (elt_<name>()), upserting only rows that differ, so that tables of the
-- user's own may keep foreign keys to them (and, on Citus, because a write
-- to a reference table makes Citus run the rest of the transaction over one
-- connection per worker); returns each lookup's row count, as elt_generate
-- reports it.  Generic over the lookups of elt__raw_tables: the primary key
-- is the conflict target, the other columns are updated.
CREATE OR REPLACE FUNCTION elt.elt__sync_lookups()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t        record;
    v_counts jsonb := '{}';
    v_n      bigint;
    v_differ boolean;
BEGIN
    FOR t IN SELECT r.tab, r.name,
                    (SELECT string_agg(pg_catalog.quote_ident(c.col), ', ') FROM elt.elt__columns(r.tab::regclass) c WHERE c.is_key) AS keycols,
                    (SELECT string_agg(pg_catalog.quote_ident(c.col), ', ') FROM elt.elt__columns(r.tab::regclass) c WHERE NOT c.is_key) AS cols,
                    (SELECT string_agg('excluded.' || pg_catalog.quote_ident(c.col), ', ') FROM elt.elt__columns(r.tab::regclass) c WHERE NOT c.is_key) AS excols
             FROM elt.elt__raw_tables() r WHERE r.grain = 'lookup' ORDER BY r.ord LOOP
        -- asked first: even an INSERT of no rows counts as a write for Citus
        EXECUTE pg_catalog.format(
            'SELECT EXISTS (SELECT FROM @extschema@.%2$I() s
                             WHERE NOT EXISTS (SELECT FROM %1$s x WHERE (x.*) IS NOT DISTINCT FROM (s.*)))',
            t.tab, 'elt_' || t.name)
            INTO v_differ;
        IF v_differ THEN
            EXECUTE pg_catalog.format(
                'INSERT INTO %1$s SELECT * FROM @extschema@.%2$I() s
                  WHERE NOT EXISTS (SELECT FROM %1$s x WHERE (x.*) IS NOT DISTINCT FROM (s.*))
                 ON CONFLICT (%3$s) DO UPDATE SET (%4$s) = ROW(%5$s)',
                t.tab, 'elt_' || t.name, t.keycols, t.cols, t.excols);
        END IF;
        EXECUTE pg_catalog.format('SELECT count(*) FROM %s', t.tab) INTO v_n;
        v_counts := v_counts || jsonb_build_object(t.tab, v_n);
    END LOOP;
    RETURN v_counts;
END
$fn$;
REVOKE ALL ON FUNCTION elt.elt__sync_lookups() FROM PUBLIC;
COMMENT ON FUNCTION elt.elt__sync_lookups() IS
'Internal: writes the rows of the lookups that differ from their generators (upserts by primary key), and returns each lookup''s row count.';

CREATE OR REPLACE FUNCTION @extschema@.elt_generate(
    users integer DEFAULT 1000,
    seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE,
    start_date date DEFAULT NULL,
    build_marts boolean DEFAULT true,
    params jsonb DEFAULT '{}')
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_start   date := COALESCE(start_date, GREATEST(as_of - 364, date '2000-01-01'));
    v_started timestamptz := clock_timestamp();
    v_raw     record;
    v_counts  jsonb := '{}';
    v_mart    record;
    v_dist    boolean;
    v_facts   boolean;   -- marts are written with elt_raw
    v_load    regclass[];   -- the tables emptied for that
    v_kept    jsonb;        -- their Unknown members
BEGIN
    -- every argument is checked before anything is written
    PERFORM elt.elt__check_population(users, seed, as_of, start_date, params);
    IF build_marts IS NULL THEN
        RAISE EXCEPTION 'build_marts must not be NULL' USING ERRCODE = '22004';
    END IF;
    PERFORM elt.elt__estimate(users, seed, as_of, start_date, params, build_marts);

    -- one generate or refresh at a time (a refresh that finds this lock
    -- taken skips); readers of elt_mart are not blocked
    PERFORM elt.elt__writer_lock(true);
    LOCK TABLE elt.settings IN EXCLUSIVE MODE;

    -- tables the loader cannot write (altered columns, triggers, foreign
    -- keys of the user's own) are refused before anything is truncated
    PERFORM elt.elt__check_raw_tables();

    -- The lookups are static: only their rows that differ are written
    -- (elt__sync_lookups).  The big tables are reloaded.
    v_dist := elt.elt__distributed();
    v_load := elt.elt__loaded_tables();
    -- (the load adds the cohorts up in memory, months squared: windows of
    -- over 100 years, ELT_METRICS_MAX_MONTHS in src/model.h, are left to
    -- the SQL builders)
    v_facts := build_marts AND NOT v_dist
               AND (EXTRACT(year FROM as_of) - EXTRACT(year FROM v_start)) * 12
                   + EXTRACT(month FROM as_of) - EXTRACT(month FROM v_start) + 1 <= 1200
               AND NOT EXISTS (SELECT FROM unnest(v_load) t WHERE NOT elt.elt__bulk_loadable(t, v_load));
    v_counts := v_counts || elt.elt__sync_lookups();
    IF v_dist THEN
        -- On Citus (see 60_distribute.sql) the lookups are reference tables
        -- that elt_distribute filled, so usually nothing is written to them
        -- (once a reference table is written in a transaction, Citus runs
        -- later queries over one connection per worker, which would load a
        -- worker's shards one at a time).  Each shard is emptied by the
        -- worker that loads it.  With build_marts, over one connection per
        -- worker (see elt__load_distributed): the builders then run in this
        -- transaction over those connections.
        v_raw := elt.elt__load_distributed(users, seed, as_of, v_start, params, build_marts);
    ELSIF v_facts THEN
        -- The marts marked loaded in elt__mart_tables are written in the
        -- same pass as the raw rows (the model knows each user's versions,
        -- quota periods and events, and adds up the KPIs user by user; the
        -- SQL builders would join and sort millions of rows for them), into
        -- emptied tables: their readers wait for this transaction, as
        -- readers of the raw tables do.
        TRUNCATE elt_raw.usage, elt_raw.subscriptions, elt_raw.users;
        v_kept := elt.elt__empty_tables(v_load);
        v_raw := elt.elt__load_warehouse(users, seed, as_of, v_start, params);
        PERFORM elt.elt__restore_unknown(v_kept);
    ELSE
        TRUNCATE elt_raw.usage, elt_raw.subscriptions, elt_raw.users;
        v_raw := elt.elt__load_raw(users, seed, as_of, v_start, params);
    END IF;
    v_counts := v_counts || jsonb_build_object(
        'elt_raw.users', v_raw.users_rows,
        'elt_raw.subscriptions', v_raw.subscriptions_rows,
        'elt_raw.usage', v_raw.usage_rows);
    -- statistics now, not when autovacuum gets to it: the mart build and
    -- the first refreshes plan their joins and index scans on them (only
    -- the owner may: others would get a WARNING per table)
    -- (on Citus every shard was analyzed by the worker that loaded it)
    IF NOT v_dist AND elt.elt__may_analyze('elt_raw.usage'::pg_catalog.regclass) THEN
        ANALYZE elt_raw.users, elt_raw.subscriptions, elt_raw.usage;
    END IF;

    -- settings first: the mart builders read the window and clock from them
    INSERT INTO elt.settings AS s (singleton, seed, users, start_date, clock, marts_built, generated_at, refreshed_at,
                                   model_version, params)
    VALUES (true, elt_generate.seed, elt_generate.users, v_start, as_of, build_marts, now(), NULL,
            elt.elt__model_version(), elt.elt__params_in_force(elt_generate.params))
    ON CONFLICT (singleton) DO UPDATE
       SET seed = excluded.seed, users = excluded.users, start_date = excluded.start_date,
           clock = excluded.clock, marts_built = excluded.marts_built,
           generated_at = excluded.generated_at, refreshed_at = NULL,
           model_version = excluded.model_version, params = excluded.params;

    IF build_marts THEN
        FOR v_mart IN SELECT * FROM elt.elt__build_marts(v_facts) LOOP
            v_counts := v_counts || jsonb_build_object(v_mart.table_name, v_mart.row_count);
        END LOOP;
    END IF;

    INSERT INTO elt.run_log (kind, started_at, finished_at, clock_before, clock_after, rows, status)
    VALUES ('generate', v_started, clock_timestamp(), NULL, as_of, v_counts, 'ok');

    RETURN QUERY SELECT key, value::bigint FROM jsonb_each_text(v_counts) ORDER BY key;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean, jsonb) IS
'(Re)loads elt_raw with the simulated SaaS as of as_of: lookups, users and subscriptions with full SCD2 history, usage; builds elt_mart unless build_marts is false; records the population and the parameters in force in elt.settings. users = signups in the first year of the window (default: the year ending at as_of); params = the business parameters (see elt_params(); 22023 for an unknown key or a value out of range, before anything is written). Returns rows per table.';
-- Writes every elt table: for the extension's owner (and superusers) and
-- whoever they grant it to, not for every role that can connect.
REVOKE ALL ON FUNCTION @extschema@.elt_generate(integer, bigint, date, date, boolean, jsonb) FROM PUBLIC;
