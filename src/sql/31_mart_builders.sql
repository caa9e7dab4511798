-- elt_mart builders: fill the star schema from elt_raw.  This file holds the
-- shared rules and internal helpers: the list of mart tables, the locks,
-- the statements built from named parts (elt__insert_sql, elt__merge_sql),
-- surrogate keys.  32_mart_dims, 33_mart_facts and 34_mart_build hold the
-- builders and entry points, 35_bulk_mode the bulk loading, and
-- 33_mart_usage_totals_schema the usage builder's state table.
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

-- Internal: the mart tables, the one list of them: build and output order
-- (dimensions first), kind, builder (elt_build_<name>, in the extension's
-- schema; incremental: it takes since), a dimension's key column, the
-- source and id column of the SCD2 dimensions, a fact's day column (what
-- elt__bulk_end checks from).  elt__mart_begin locks them,
-- elt__build runs their builders, elt_build_marts counts their rows,
-- elt_update_marts orders its result by them, elt__purge_dim and
-- elt__build_scd2_dim read the SCD2 parts.
CREATE OR REPLACE FUNCTION elt.elt__mart_tables()
RETURNS TABLE (ord integer, tab text, name text, kind text, builder text, incremental boolean,
               key_column name, source text, id_column name, day_column name, loaded boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT m.ord, 'elt_mart.' || m.name, m.name, m.kind, 'elt_build_' || m.name, m.incremental,
       m.key_column, m.source, m.id_column, m.day_column, m.loaded
FROM (VALUES (1, 'dim_date',         'dimension', false, 'date_key'::name,   NULL::text,              NULL::name,        NULL::name,     false),
             (2, 'dim_plan',         'dimension', false, 'plan_key',         NULL,                    NULL,              NULL,           false),
             (3, 'dim_user',         'dimension', true,  'user_key',         'elt_raw.users',         'user_id',         NULL,           true),
             (4, 'dim_subscription', 'dimension', true,  'subscription_key', 'elt_raw.subscriptions', 'subscription_id', NULL,           true),
             (5, 'fct_usage_daily',  'fact',      true,  NULL,               NULL,                    NULL,              'usage_date',   true),
             (6, 'fct_mrr_monthly',  'fact',      true,  NULL,               NULL,                    NULL,              'month_start',  true),
             (7, 'fct_kpi_daily',    'fact',      true,  NULL,               NULL,                    NULL,              'date',         true),
             (8, 'fct_subscription_events', 'fact', true, NULL,              NULL,                    NULL,              'event_date',   true),
             (9, 'fct_usage_period', 'fact',      true,  NULL,               NULL,                    NULL,              'period_start', true),
             (10, 'fct_cohort_retention', 'fact', true, NULL,               NULL,                    NULL,              'month_start',  true),
             (11, 'fct_saas_metrics_monthly', 'fact', true, NULL,           NULL,                    NULL,              'month_start',  true))
     AS m(ord, name, kind, incremental, key_column, source, id_column, day_column, loaded)
ORDER BY m.ord
$fn$;
COMMENT ON FUNCTION elt.elt__mart_tables() IS
'Internal: the one list of the elt_mart tables: order, qualified and short name, kind (dimension or fact), builder function, whether it builds incrementally, dimension key column, the source and id column of the SCD2 dimensions, the day column of the facts, and whether elt_generate writes it in its load (elt__load_warehouse) rather than with its builder.';

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
    EXECUTE (SELECT format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', string_agg(m.tab, ', ' ORDER BY m.ord))
             FROM elt.elt__mart_tables() m);
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

-- Internal: the days each subscription version is in force: from the day
-- it is valid until it is replaced or its period ends (end_date,
-- exclusive).  MRR counts a version's mrr over exactly these days, so the
-- MRR builders (fct_mrr_monthly, fct_kpi_daily, fct_cohort_retention,
-- fct_saas_metrics_monthly) read it from here.  A plain view: the planner
-- pushes each builder's filters into it.
CREATE OR REPLACE VIEW elt.subscription_spans AS
SELECT s.subscription_id, s.user_id, s.plan_id, s.status, s.mrr, s.valid_from, s.valid_to,
       s.end_date AS paid_through,
       elt.elt__ts_day(s.valid_from) AS start_date,
       LEAST(COALESCE(s.end_date, 'infinity'::date), COALESCE(elt.elt__ts_day(s.valid_to), 'infinity'::date)) AS end_date
FROM elt_raw.subscriptions s;
COMMENT ON VIEW elt.subscription_spans IS
'Internal: each subscription version with the days it is in force, [start_date, end_date): from the day it is valid until it is replaced or its paid (or trial) period ends. MRR counts mrr over these days.';

-- Internal: the surrogate key of the version of a user or subscription
-- (dim 'dim_user' or 'dim_subscription') valid at an instant, computed from
-- elt_raw with the dimensions' formula (id * 65536 + version ordinal), or
-- no key (NULL) when no version covers it.  Versions never overlap, so the
-- one valid at ts is the last one starting at or before ts, and its ordinal
-- is the number of those minus one: one primary key probe.  Fact builders
-- use it for a few rows (incremental updates); a full build joins all
-- versions at once instead.
-- (Inlined into the caller as a subquery: SQL body bound at creation, so
-- no search_path is needed, and none may be set.  Called with a constant
-- dim, the branch of the other source folds to false and is left out of
-- the plan: the same single index probe as a function per source.)
CREATE OR REPLACE FUNCTION elt.elt__key_at(dim text, id bigint, ts timestamptz)
RETURNS TABLE (key bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.bool_or(r.valid_to IS NULL OR r.valid_to > ts)
                THEN id * 65536 + pg_catalog.count(*) - 1 END
    FROM (SELECT u.valid_from, u.valid_to FROM elt_raw.users u
          WHERE dim = 'dim_user' AND u.user_id = id
          UNION ALL
          SELECT s.valid_from, s.valid_to FROM elt_raw.subscriptions s
          WHERE dim = 'dim_subscription' AND s.subscription_id = id) r
    WHERE r.valid_from <= ts;
END;
COMMENT ON FUNCTION elt.elt__key_at(text, bigint, timestamptz) IS
'Internal: key of the version of user or subscription id (dim = dim_user or dim_subscription) valid at ts (NULL if none), from elt_raw.users or elt_raw.subscriptions.';

-- Internal: the join a fact builder uses to find the key of the version of
-- user or subscription id_expr (dim = dim_user or dim_subscription, owned by
-- user user_expr) valid at instant ts_expr: column alias.user_key or
-- alias.subscription_key, NULL when no version covers it.  On a single node
-- a lateral elt__key_at (a primary key probe per row); on Citus, where a
-- query on a distributed table inside a SQL function cannot be planned, a
-- join with all versions numbered per user (the same keys: the ordinal of
-- the version covering ts is the number of versions starting before it).
CREATE OR REPLACE FUNCTION elt.elt__key_join(dim text, alias text, id_expr text, user_expr text, ts_expr text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT CASE WHEN NOT elt.elt__distributed()
            THEN format('LEFT JOIN LATERAL elt.elt__key_at(%L, %s, %s) %I(%I) ON true',
                        dim, id_expr, ts_expr, alias, m.key_column)
            ELSE format($q$LEFT JOIN (SELECT r.user_id AS owner_id, r.%1$I AS id, r.valid_from, r.valid_to,
                                r.%1$I * 65536 + row_number() OVER (PARTITION BY r.user_id, r.%1$I ORDER BY r.valid_from) - 1 AS %2$I
                         FROM %3$s r) %4$I
        ON %4$I.owner_id = %5$s AND %4$I.id = %6$s AND %4$I.valid_from <= %7$s
       AND (%4$I.valid_to IS NULL OR %4$I.valid_to > %7$s)$q$,
                        m.id_column, m.key_column, m.source, alias, user_expr, id_expr, ts_expr) END
FROM elt.elt__mart_tables() m
WHERE m.name = dim AND m.source IS NOT NULL
$fn$;
COMMENT ON FUNCTION elt.elt__key_join(text, text, text, text, text) IS
'Internal: the LEFT JOIN giving alias.user_key or alias.subscription_key, the key of the version of id_expr (of user user_expr) valid at ts_expr: elt__key_at on a single node, a join with the numbered versions on Citus.';

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

-- Internal: the users whose monthly rows (MRR, movement, plan, cohort
-- parts, free-to-paid) can change in the days since .. clock: a version of
-- the user or of one of their subscriptions starts or ends in them, or a
-- subscription period ends in them (its MRR stops without a new version).
-- Sorted, for = ANY lookups.  The mid-month updates of fct_mrr_monthly,
-- fct_cohort_retention and fct_saas_metrics_monthly measure only these
-- users again; each treats the set as a superset (an unchanged user adds
-- nothing).  The validity BRINs and subscriptions_end_idx find them.
CREATE OR REPLACE FUNCTION elt.elt__users_changed_in(since date, clock date)
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top
AS $fn$
    SELECT COALESCE(array_agg(c.user_id ORDER BY c.user_id), '{}')
    FROM (SELECT s.user_id FROM elt_raw.subscriptions s
          WHERE s.valid_from > elt.elt__day_ts(since - 1) OR s.valid_to > elt.elt__day_ts(since - 1)
             OR (s.end_date > since - 1 AND s.end_date <= clock)
          UNION
          SELECT u.user_id FROM elt_raw.users u
          WHERE u.valid_from > elt.elt__day_ts(since - 1) OR u.valid_to > elt.elt__day_ts(since - 1)) c
$fn$;
COMMENT ON FUNCTION elt.elt__users_changed_in(date, date) IS
'Internal: sorted ids of the users with a version of theirs or of a subscription starting or ending in since .. clock, or a subscription period ending then.';

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


-- Internal: the columns of a table in order, and whether each is in its
-- primary key: what elt__insert_sql and elt__merge_sql name.
CREATE OR REPLACE FUNCTION elt.elt__columns(tab regclass)
RETURNS TABLE (col name, is_key boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT a.attname, a.attnum = ANY (i.indkey)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = tab AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
$fn$;
COMMENT ON FUNCTION elt.elt__columns(regclass) IS
'Internal: the columns of tab in order, each with whether it is part of the primary key.';

-- Internal: the INSERT a builder runs, from named parts: the table, the
-- query giving its rows (all columns, in table order) and whether rows may
-- already be there.  Then it upserts on the primary key and updates only
-- rows that changed (an unchanged row keeps its tuple); else it is a plain
-- insert, which is cheaper.
CREATE OR REPLACE FUNCTION elt.elt__insert_sql(tab regclass, src text, merge boolean)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT format('INSERT INTO %s AS t (%s) %s', tab, string_agg(quote_ident(c.col), ', '), src)
       || CASE WHEN merge THEN
              format(' ON CONFLICT (%s) DO UPDATE SET (%s) = ROW(%s) WHERE (t.*) IS DISTINCT FROM (excluded.*)',
                     string_agg(quote_ident(c.col), ', ') FILTER (WHERE c.is_key),
                     string_agg(quote_ident(c.col), ', ') FILTER (WHERE NOT c.is_key),
                     string_agg('excluded.' || quote_ident(c.col), ', ') FILTER (WHERE NOT c.is_key))
          ELSE '' END
FROM elt.elt__columns(tab) c
$fn$;
COMMENT ON FUNCTION elt.elt__insert_sql(regclass, text, boolean) IS
'Internal: INSERT INTO tab (its columns) src, with merge an upsert on the primary key that updates only changed rows.';

-- Internal: the statement that merges a full set of rows into a table, in
-- one statement: src (the query giving all rows, materialised), the rows of
-- tab matching del_cond whose primary key src no longer has deleted (none
-- when del_cond is NULL), the others upserted (elt__insert_sql), except
-- those already in tab as they are: the upsert would not change them but
-- would still lock each one (a write of its page), which cost most of an
-- update where few of many rows change.  (Compared column by column, in
-- order: src's columns may have types of their own; a row that only looks
-- different goes to the upsert, which compares the stored values.)  Deleted
-- and upserted keys are disjoint, so the order of the two writes does not
-- matter.  It returns one row (deleted, upserted): the row counts.
CREATE OR REPLACE FUNCTION elt.elt__merge_sql(tab regclass, src text, del_cond text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT format('WITH src AS MATERIALIZED (%s),', src)
       || CASE WHEN del_cond IS NULL THEN ''
          WHEN elt.elt__distributed() THEN
              -- Citus: an anti join to src (Citus cannot plan a set
              -- difference of a distributed table and an intermediate
              -- result in a DELETE's USING)
              format(' del AS (DELETE FROM %s t WHERE (%s) AND NOT EXISTS (SELECT 1 FROM src WHERE %s) RETURNING 1),',
                     tab, del_cond,
                     (SELECT string_agg(format('src.%1$I = t.%1$I', c.col), ' AND ')
                      FROM elt.elt__columns(tab) c WHERE c.is_key))
          ELSE
              -- the keys to delete as a set difference (hashed or sorted):
              -- an anti join to src, whose rows the planner cannot
              -- estimate, was planned as a nested loop over src once per
              -- row (75 s for the 16k rows of a month at 100k users)
              (SELECT format(' del AS (DELETE FROM %1$s d USING (SELECT %2$s FROM %1$s t WHERE (%3$s) EXCEPT SELECT %4$s FROM src) g WHERE %5$s RETURNING 1),',
                             tab,
                             string_agg(format('t.%I', c.col), ', '),
                             del_cond,
                             string_agg(format('src.%I', c.col), ', '),
                             string_agg(format('d.%1$I = g.%1$I', c.col), ' AND '))
               FROM elt.elt__columns(tab) c WHERE c.is_key)
          END
       || format(' ups AS (%s RETURNING 1) SELECT %s AS deleted, (SELECT count(*) FROM ups) AS upserted',
                 elt.elt__insert_sql(tab,
                     -- (Citus: every row of src, as it cannot plan a
                     -- correlated subquery beside a CTE; the upsert still
                     -- changes only rows that differ)
                     (SELECT CASE WHEN elt.elt__distributed() THEN 'SELECT * FROM src' ELSE format('SELECT * FROM src WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE %s AND ROW(%s) IS NOT DISTINCT FROM ROW(src.*))',
                                    tab,
                                    string_agg(format('src.%1$I = t.%1$I', c.col), ' AND ') FILTER (WHERE c.is_key),
                                    string_agg(format('t.%I', c.col), ', ')) END
                      FROM elt.elt__columns(tab) c),
                     true),
                 CASE WHEN del_cond IS NULL THEN '0::bigint' ELSE '(SELECT count(*) FROM del)' END)
$fn$;
COMMENT ON FUNCTION elt.elt__merge_sql(regclass, text, text) IS
'Internal: one statement merging the rows of query src into tab: rows matching del_cond whose key src lacks are deleted (none for NULL), the others upserted; returns (deleted, upserted).';

-- Internal: may the current role ANALYZE the table (its owner, or a
-- member)?  Others would only get a WARNING per table: elt_grant_writer's
-- roles skip the statistics and leave them to autovacuum.  (Used by
-- elt_generate and elt__build.)
CREATE OR REPLACE FUNCTION elt.elt__may_analyze(tab regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = tab), 'USAGE');
COMMENT ON FUNCTION elt.elt__may_analyze(regclass) IS
'Internal: whether the current role may ANALYZE the table (owns it, or is a member of its owner).';

REVOKE ALL ON FUNCTION elt.elt__mart_tables() FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__mart_begin(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__key_at(text, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__key_join(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__check_versions(regclass, name, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__changed_ids(regclass, name, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__users_changed_in(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__columns(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__insert_sql(regclass, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__merge_sql(regclass, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION elt.elt__may_analyze(regclass) FROM PUBLIC;
