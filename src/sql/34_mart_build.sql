-- elt_mart entry points: full build, incremental update, reader grants.

------------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------------
-- Internal: ANALYZE the mart tables of a kind (dimension or fact).
CREATE OR REPLACE FUNCTION elt.elt__analyze_marts(kind text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- Not on Citus: ANALYZE of its tables visits the shards one by one and
    -- fails after local execution in the same transaction; the workers'
    -- autovacuum analyzes the shards they plan with.
    IF elt.elt__distributed() THEN
        RETURN;
    END IF;
    EXECUTE (SELECT format('ANALYZE %s', string_agg(m.tab, ', ' ORDER BY m.ord))
             FROM elt.elt__mart_tables() m WHERE m.kind = elt__analyze_marts.kind);
END
$fn$;
COMMENT ON FUNCTION elt.elt__analyze_marts(text) IS
'Internal: runs ANALYZE on the elt_mart tables of a kind (dimension or fact), in list order.';

-- Internal: the build itself, full (since NULL) or from a day on, in the
-- order of elt__mart_tables.  Dimension rows are inserted or updated
-- first, facts merged next (which removes fact rows gone from the source),
-- dimension rows gone from the source last.  facts_loaded: elt_generate
-- wrote the marts marked loaded in elt__mart_tables in its load
-- (elt__load_warehouse): the facts' keys are only checked once the
-- dimensions are there.
CREATE OR REPLACE FUNCTION elt.elt__build(since date, facts_loaded boolean DEFAULT false)
RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    m       record;
    n       bigint;
    n_dim   bigint[] := '{}';   -- rows written per dimension, in list order
    v_what  constant text := CASE WHEN since IS NULL THEN 'elt_build_marts' ELSE 'elt_update_marts' END;
    v_total constant bigint := (SELECT count(*) FROM elt.elt__mart_tables());
    v_done  bigint := 0;
    v_start constant timestamptz := clock_timestamp();
    v_last  timestamptz;
    v_t     timestamptz;        -- when the current table's builder started
    v_keys_held boolean := true;  -- the loaded facts' keys need no query
BEGIN
    PERFORM elt.elt__mart_begin();
    FOR m IN SELECT * FROM elt.elt__mart_tables() t WHERE t.kind = 'dimension' ORDER BY t.ord LOOP
        v_t := clock_timestamp();
        IF facts_loaded AND m.loaded THEN
            -- written by the load: nothing to build, nothing to purge, and
            -- not counted (elt__build_marts counts every table)
            n := NULL;
        ELSE
            EXECUTE format('SELECT @extschema@.%I(%s)', m.builder, CASE WHEN m.incremental THEN '$1, false' ELSE 'false' END)
                INTO n USING since;
        END IF;
        n_dim := n_dim || n;
        -- what each table costs (SET client_min_messages = debug1 to see it)
        RAISE DEBUG '%: % built in % ms, % rows written', v_what, m.tab,
            round(extract(epoch FROM clock_timestamp() - v_t) * 1000), n;
        v_done := v_done + 1;
        v_last := elt.elt__progress(v_what || ' (' || m.tab || ' built)', v_done, v_total, 'tables', v_start, v_last);
    END LOOP;
    IF since IS NULL AND elt.elt__may_analyze('elt_mart.fct_usage_daily'::pg_catalog.regclass) THEN
        -- fresh statistics for the joins of the facts (only the owner may)
        PERFORM elt.elt__analyze_marts('dimension'::pg_catalog.text);
    END IF;
    -- The load checked the facts' keys as it wrote them, against the
    -- dimension rows it wrote for the same user (src/keys.c), which saves a
    -- join of every fact row with the dimensions (a tenth of elt_generate);
    -- the Unknown members (-1) they may use were kept across the TRUNCATE.
    -- Only when one of those is missing (deleted by hand) are the loaded
    -- facts' keys checked here, in one query per table, as after a SQL build.
    FOR m IN SELECT * FROM elt.elt__mart_tables() t WHERE facts_loaded AND t.kind = 'dimension' ORDER BY t.ord LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE %I = -1)', m.tab, m.key_column) INTO v_keys_held;
        EXIT WHEN NOT v_keys_held;
    END LOOP;
    FOR m IN SELECT * FROM elt.elt__mart_tables() t WHERE t.kind = 'fact' ORDER BY t.ord LOOP
        table_name := m.tab;
        v_t := clock_timestamp();
        IF facts_loaded AND m.loaded THEN
            IF NOT v_keys_held THEN
                PERFORM elt.elt__check_fkeys(m.tab::pg_catalog.regclass, NULL::pg_catalog.name, NULL::pg_catalog.date);
            END IF;
            rows_written := NULL;
        ELSE
            EXECUTE format('SELECT @extschema@.%I($1)', m.builder) INTO rows_written USING since;
        END IF;
        RAISE DEBUG '%: % built in % ms, % rows written', v_what, m.tab,
            round(extract(epoch FROM clock_timestamp() - v_t) * 1000), rows_written;
        v_done := v_done + 1;
        v_last := elt.elt__progress(v_what || ' (' || m.tab || ' built)', v_done, v_total, 'tables', v_start, v_last);
        RETURN NEXT;
    END LOOP;
    -- dimension rows gone from the source: their facts are gone by now
    FOR m IN SELECT * FROM elt.elt__mart_tables() t WHERE t.kind = 'dimension' ORDER BY t.ord LOOP
        table_name := m.tab;
        v_t := clock_timestamp();
        rows_written := CASE WHEN facts_loaded AND m.loaded THEN NULL ELSE n_dim[m.ord] + elt.elt__purge_dim(m.name, since) END;
        RAISE DEBUG '%: % purged in % ms', v_what, m.tab,
            round(extract(epoch FROM clock_timestamp() - v_t) * 1000);
        RETURN NEXT;
    END LOOP;
    IF since IS NULL AND elt.elt__may_analyze('elt_mart.fct_usage_daily'::pg_catalog.regclass) THEN
        PERFORM elt.elt__analyze_marts('fact'::pg_catalog.text);
    END IF;
END
$fn$;
COMMENT ON FUNCTION elt.elt__build(date, boolean) IS
'Internal: builds all of elt_mart (since NULL) or what changed from a day on; returns rows written per table. facts_loaded: elt_generate already wrote the tables elt__mart_tables marks loaded (their keys are checked instead; their rows written are NULL).';

-- Internal: a full build of every mart table (elt__build), then the row
-- count of each; what elt_build_marts and elt_generate do.
CREATE OR REPLACE FUNCTION elt.elt__build_marts(facts_loaded boolean)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
BEGIN
    PERFORM elt.elt__build(NULL::pg_catalog.date, facts_loaded);
    -- built over the current elt_raw: elt_refresh keeps them up to date
    -- from now on, as after elt_generate(build_marts => true)
    UPDATE elt.settings SET marts_built = true WHERE NOT marts_built;
    FOR table_name IN SELECT m.tab FROM elt.elt__mart_tables() m ORDER BY m.ord LOOP
        EXECUTE format('SELECT count(*) FROM %s', table_name) INTO row_count;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION elt.elt__build_marts(boolean) IS
'Internal: builds every elt_mart table (elt__build), records that the marts are built, and returns each table''s row count; facts_loaded as for elt__build.';

-- A full build of every mart table, then the row count of each.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_marts()
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT b.table_name, b.row_count FROM elt.elt__build_marts(false) b
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_marts() IS
'Builds every elt_mart table from elt_raw in one transaction; rows that did not change are not rewritten, any manual edit of the marts is undone, and readers keep seeing the previous rows until it commits; from then on elt_refresh keeps them up to date. Returns one row per mart table with its row count (Unknown members included).';

-- An update of the marts after the source changed from since on: finds
-- the first day to rebuild (or a full build), runs elt__build from there.
CREATE OR REPLACE FUNCTION @extschema@.elt_update_marts(since date)
RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w      record;
    v_min  date;
    v_max  date;
    v_held date;
    v_lo   date;
BEGIN
    IF since IS NULL THEN
        RAISE EXCEPTION 'since must not be NULL'
            USING ERRCODE = '22004',
                  HINT = 'Pass the first business day whose source data changed (the old clock + 1), or call elt_build_marts() to rebuild everything.';
    END IF;
    w := elt.elt__mart_begin(since);
    SELECT min(d.date), max(d.date) INTO v_min, v_max FROM elt_mart.dim_date d WHERE d.date_key <> -1;
    -- The days the marts hold end at the last day of the calendar, of the
    -- KPIs and of the usage facts, whichever is first (three probes of a
    -- primary key): trailing days deleted from the facts by hand are built
    -- again.  A last usage day before the clock may just be a day nobody
    -- used the product; starting earlier then only costs a little time.
    -- Other manual edits are not looked for (that would read history):
    -- elt_build_marts() repairs them.
    -- (an empty fact table holds no day: a full build)
    v_held := LEAST(v_max,
                    COALESCE((SELECT max(k.date) FROM elt_mart.fct_kpi_daily k), w.start_date - 1),
                    COALESCE((SELECT max(f.usage_date) FROM elt_mart.fct_usage_daily f), w.start_date - 1));
    IF v_min IS NULL OR v_min <> w.start_date OR v_max > w.clock OR since <= w.start_date
       OR v_held < w.start_date THEN
        -- never built, another window, or everything changed: full build
        v_lo := NULL;
    ELSE
        -- the marts hold the days through v_held: what comes after is new too
        v_lo := LEAST(since, v_held + 1);
    END IF;
    RETURN QUERY
        SELECT b.table_name, b.rows_written FROM elt.elt__build(v_lo) b
        JOIN elt.elt__mart_tables() m ON m.tab = b.table_name
        ORDER BY m.ord;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_update_marts(date) IS
'Brings elt_mart up to date after the source changed only on business days >= since (new versions from since on, versions closed on or after since, usage from since on), e.g. since = the old clock + 1 after the clock advanced. Rewrites only the affected users, subscriptions, days and months; the result is the same as elt_build_marts(). Falls back to a full build if the marts were never built or the window moved; starts earlier if the last KPI or usage fact day is before the calendar''s last day. It does not look for other manual edits of the marts: elt_build_marts() repairs them. Returns rows written (inserted, changed or deleted) per table.';

-- Internal: what elt_grant_reader and elt_grant_writer check first: a
-- role that exists, and a caller who may hand elt's privileges on (the
-- extension's owner, a member of it, or a superuser).
CREATE OR REPLACE FUNCTION elt.elt__check_grant(role name, fn text, what text)
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
COMMENT ON FUNCTION elt.elt__check_grant(name, text, text) IS
'Internal: raises the error elt_grant_reader or elt_grant_writer gives for a NULL or unknown role, or a caller who may not grant.';

CREATE OR REPLACE FUNCTION @extschema@.elt_grant_reader(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
BEGIN
    PERFORM elt.elt__check_grant(role, 'elt_grant_reader'::pg_catalog.text, 'access to elt_mart'::pg_catalog.text);
    EXECUTE format('GRANT USAGE ON SCHEMA elt_mart TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA elt_mart TO %I', role);
    -- what elt_status reads: the clock, the population and the run log
    EXECUTE format('GRANT USAGE ON SCHEMA elt TO %I', role);
    EXECUTE format('GRANT SELECT ON elt.settings, elt.run_log TO %I', role);
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_grant_reader(name) IS
'Gives a role read-only access to the star schema and to what elt_status shows: USAGE on schemas elt_mart and elt, SELECT on the tables of elt_mart and on elt.settings and elt.run_log, nothing else (no access to elt_raw, no writes).';

-- Runs elt_generate, elt_refresh and the builders as another role (an ETL
-- role, a pg_cron job owner): they call internal functions, which are not
-- for PUBLIC, so EXECUTE on the entry points alone is not enough.
CREATE OR REPLACE FUNCTION @extschema@.elt_grant_writer(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    f regprocedure;
BEGIN
    PERFORM elt.elt__check_grant(role, 'elt_grant_writer'::pg_catalog.text, 'the use of elt'::pg_catalog.text);
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

REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_date(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_plan(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_user(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_dim_subscription(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_usage_daily(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_mrr_monthly(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_kpi_daily(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__build(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__build_marts(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__analyze_marts(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_marts() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_update_marts(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_grant_reader(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_grant_writer(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__check_grant(name, text, text) FROM PUBLIC;
