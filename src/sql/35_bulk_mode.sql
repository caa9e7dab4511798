-- Bulk mode: fast bulk loading with set-based foreign key checks, used by
-- the fact builders, elt__purge_dim and elt_refresh (see
-- 31_mart_builders.sql for the shared rules of the builders).

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

-- Internal: checks the single-column foreign keys of the rows of tab with
-- col >= lo (all rows when lo is NULL) in one query, raising the error a
-- trigger would have raised: after a load that wrote them without per-row
-- triggers (elt__bulk_end, and elt_generate's usage facts, which are
-- written before the dimensions they reference are built).
CREATE OR REPLACE FUNCTION elt.elt__check_fkeys(tab regclass, col name, lo date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
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
COMMENT ON FUNCTION elt.elt__check_fkeys(regclass, name, date) IS
'Internal: checks the single-column foreign keys of the rows of tab with col >= lo (all rows when lo is NULL) in one query; raises 23503 as a trigger would.';

-- Internal: ends a bulk load: back to per-row triggers, then the foreign
-- keys of the new rows checked in one query.
CREATE OR REPLACE FUNCTION elt.elt__bulk_end(fast boolean, tab regclass, col name, lo date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT fast THEN
        RETURN;
    END IF;
    -- Back to per-row triggers first (elt__bulk_begin switched them off).
    -- This set_config outlives the call: the SET clause above does not name
    -- session_replication_role, and a SET clause restores only what it names.
    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
    PERFORM elt.elt__check_fkeys(tab, col, lo);
END
$fn$;
COMMENT ON FUNCTION elt.elt__bulk_end(boolean, regclass, name, date) IS
'Internal: after a bulk load started by elt__bulk_begin (fast = its result), switches back to session_replication_role = origin and checks the foreign keys of the rows of tab with col >= lo (all rows when lo is NULL) in one query.';

REVOKE ALL ON FUNCTION elt.elt__bulk_begin(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__bulk_end(boolean, regclass, name, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__check_fkeys(regclass, name, date) FROM PUBLIC;
