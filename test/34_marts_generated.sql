-- pgTAP: the facts elt_generate writes in the same pass as elt_raw (issue
-- 16 item 1) equal, row for row, what the SQL builders give from the same
-- elt_raw: elt_mart.dim_user, dim_subscription, fct_usage_daily,
-- fct_usage_period, fct_kpi_daily, fct_subscription_events,
-- fct_mrr_monthly, fct_cohort_retention and fct_saas_metrics_monthly, and
-- the builders' state (elt.mart_usage_totals,
-- elt.mart_last_active).
-- Two implementations of the same rules (the
-- model's walk in src/model_facts.c, model_kpi.c, model_events.c,
-- model_dims.c, model_mrr.c and model_metrics.c, the builders in SQL) check each other,
-- for several seeds, sizes, dates and presets (windows starting on a 31st
-- and in a leap year, so that quota periods are clamped to month ends),
-- after elt_generate and after refreshes.  A foreign key of the user's own
-- to the facts makes elt_generate leave them to the SQL builders
-- (t_adv_bulk.sh checks what that key then sees).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(23);

-- frozen(): whether the first page of fct_usage_daily holds live rows and
-- all of them were written frozen, as only the bulk loader writes them (the
-- builders insert row by row); how the tests know which path wrote them.
CREATE FUNCTION pg_temp.frozen() RETURNS boolean LANGUAGE sql AS $f$
    SELECT count(*) > 0 AND bool_and((i.t_infomask & 768) = 768)   -- HEAP_XMIN_FROZEN
    FROM heap_page_items(get_raw_page('elt_mart.fct_usage_daily', 0)) i
    WHERE i.lp_flags = 1 AND i.t_xmax = '0'
$f$;

-- sql_differs(): moves the tables aside, builds them again with the SQL
-- builders into emptied tables (DELETE: a table of the user's own may
-- reference them), and returns the rows of some and the rows that differ
-- (EXCEPT ALL both ways, all five tables).
CREATE FUNCTION pg_temp.sql_differs(OUT daily bigint, OUT period bigint, OUT totals bigint, OUT kpi bigint,
                                    OUT events bigint, OUT dims bigint, OUT metrics bigint, OUT differ bigint)
LANGUAGE plpgsql AS $f$
DECLARE
    t text;
    n bigint;
BEGIN
    CREATE TEMP TABLE g_daily AS TABLE elt_mart.fct_usage_daily;
    CREATE TEMP TABLE g_period AS TABLE elt_mart.fct_usage_period;
    CREATE TEMP TABLE g_totals AS TABLE elt.mart_usage_totals;
    CREATE TEMP TABLE g_kpi AS TABLE elt_mart.fct_kpi_daily;
    CREATE TEMP TABLE g_events AS TABLE elt_mart.fct_subscription_events;
    CREATE TEMP TABLE g_mrr AS TABLE elt_mart.fct_mrr_monthly;
    CREATE TEMP TABLE g_cohort AS TABLE elt_mart.fct_cohort_retention;
    CREATE TEMP TABLE g_saas AS TABLE elt_mart.fct_saas_metrics_monthly;
    CREATE TEMP TABLE g_user AS TABLE elt_mart.dim_user;
    CREATE TEMP TABLE g_sub AS TABLE elt_mart.dim_subscription;
    -- prev_active is what the last refresh moved last_active from, which a
    -- full build does not keep (NULL): not compared
    CREATE TEMP TABLE g_active AS SELECT a.user_id, a.last_active FROM elt.mart_last_active a;
    DELETE FROM elt_mart.fct_usage_daily;
    DELETE FROM elt_mart.fct_usage_period;
    DELETE FROM elt.mart_usage_totals;
    DELETE FROM elt_mart.fct_kpi_daily;
    DELETE FROM elt.mart_last_active;
    DELETE FROM elt_mart.fct_subscription_events;
    DELETE FROM elt_mart.fct_mrr_monthly;
    DELETE FROM elt_mart.fct_cohort_retention;
    DELETE FROM elt_mart.fct_saas_metrics_monthly;
    -- the dimensions are merged: a row the builder gives differently is
    -- rewritten, one it does not give purged
    PERFORM elt_build_dim_user();
    PERFORM elt_build_dim_subscription();
    PERFORM elt_build_fct_usage_daily();
    PERFORM elt_build_fct_usage_period();
    PERFORM elt_build_fct_kpi_daily();
    PERFORM elt_build_fct_subscription_events();
    PERFORM elt_build_fct_mrr_monthly();
    PERFORM elt_build_fct_cohort_retention();
    PERFORM elt_build_fct_saas_metrics_monthly();
    SELECT count(*) INTO daily FROM g_daily;
    SELECT count(*) INTO period FROM g_period;
    SELECT count(*) INTO totals FROM g_totals;
    SELECT count(*) INTO kpi FROM g_kpi;
    SELECT (SELECT count(*) FROM g_events) + (SELECT count(*) FROM g_mrr) INTO events;
    SELECT (SELECT count(*) FROM g_user) + (SELECT count(*) FROM g_sub) INTO dims;
    SELECT (SELECT count(*) FROM g_cohort) + (SELECT count(*) FROM g_saas) INTO metrics;
    differ := 0;
    FOR t IN VALUES ('elt_mart.fct_usage_daily|g_daily'), ('elt_mart.fct_usage_period|g_period'),
                    ('elt.mart_usage_totals|g_totals'), ('elt_mart.fct_kpi_daily|g_kpi'),
                    ('elt_mart.fct_subscription_events|g_events'), ('elt_mart.fct_mrr_monthly|g_mrr'),
                    ('elt_mart.fct_cohort_retention|g_cohort'), ('elt_mart.fct_saas_metrics_monthly|g_saas'),
                    ('elt_mart.dim_user|g_user'), ('elt_mart.dim_subscription|g_sub'),
                    ('(SELECT a.user_id, a.last_active FROM elt.mart_last_active a) a|g_active') LOOP
        EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %1$s EXCEPT ALL TABLE %2$I) UNION ALL (TABLE %2$I EXCEPT ALL SELECT * FROM %1$s)) d',
                       split_part(t, '|', 1), split_part(t, '|', 2)) INTO n;
        differ := differ + n;
    END LOOP;
    DROP TABLE g_daily, g_period, g_totals, g_kpi, g_active, g_events, g_mrr, g_cohort, g_saas, g_user, g_sub;
END $f$;

CREATE TEMP TABLE cases (i int, users int, seed bigint, as_of date, start_date date, params jsonb);
INSERT INTO cases VALUES
    (1, 400, 3, '2025-06-10', NULL, '{}'),
    (2, 1500, 9, '2025-06-14', '2024-06-20', '{}'),
    (3, 600, 42, '2025-01-31', '2024-01-31', '{"preset": "enterprise"}'),
    (4, 800, 7, '2024-03-01', '2023-03-31', '{"preset": "freemium"}');
CREATE TEMP TABLE outcome (i int, users int, seed bigint, as_of date, frozen boolean, keys_hold boolean,
                           daily bigint, period bigint, totals bigint, kpi bigint, events bigint, dims bigint,
                           metrics bigint, differ bigint);
DO $$
DECLARE c record; r record; f boolean; k boolean;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY i LOOP
        PERFORM elt_generate(c.users, c.seed, c.as_of, c.start_date, params => c.params);
        f := pg_temp.frozen();
        -- the load checks the facts' keys as it writes them (src/keys.c);
        -- the set-based check it replaces must agree
        BEGIN
            PERFORM elt.elt__check_fkeys(m.tab::pg_catalog.regclass, NULL, NULL)
            FROM elt.elt__mart_tables() m WHERE m.loaded AND m.kind = 'fact';
            k := true;
        EXCEPTION WHEN foreign_key_violation THEN
            k := false;
        END;
        r := pg_temp.sql_differs();
        INSERT INTO outcome VALUES (c.i, c.users, c.seed, c.as_of, f, k, r.daily, r.period, r.totals, r.kpi, r.events, r.dims, r.metrics, r.differ);
    END LOOP;
END $$;
SELECT ok(frozen, format('%s users, seed %s, as of %s: elt_generate wrote the usage facts in its load', users, seed, as_of))
FROM outcome ORDER BY i;
SELECT ok(keys_hold, format('%s users, seed %s, as of %s: every key of the loaded facts has its row (the query the load''s own check replaces)', users, seed, as_of))
FROM outcome ORDER BY i;
SELECT is(differ, 0::bigint, format('%s users, seed %s, as of %s: the generated usage facts, periods, quota totals, KPIs, subscription events and MRR months, dimensions, and cohort and monthly metrics (%s, %s, %s, %s, %s, %s, %s rows) are those the SQL builders give',
                                    users, seed, as_of, daily, period, totals, kpi, events, dims, metrics))
FROM outcome ORDER BY i;
SELECT ok(daily > 1000 AND period > 100 AND totals > 10 AND kpi = 360 AND events > 1000 AND metrics > 100, format('%s users, seed %s: every table has rows to compare', users, seed))
FROM outcome WHERE i = 2;
SELECT is((SELECT count(*) FROM elt_mart.dim_user WHERE user_key = -1)
          + (SELECT count(*) FROM elt_mart.dim_subscription WHERE subscription_key = -1), 2::bigint,
          'the Unknown members of the emptied dimensions are still there');

-- after refreshes: the generated days and the refreshed ones (built by the
-- builders' incremental path) are those of a full build
SELECT elt_generate(500, 5, '2025-04-27', '2024-05-31');
SELECT is((SELECT days_applied FROM elt_refresh(5)), 5, 'refresh(5) across a month end and a period clamped to the 30th');
SELECT is(d.differ, 0::bigint, 'generated days + 5 refreshed days: the facts are those the SQL builders give')
FROM pg_temp.sql_differs() d;
SELECT is((SELECT days_applied FROM elt_refresh(1)), 1, 'one more day');
SELECT is(d.differ, 0::bigint, 'and after the builders'' rows were refreshed once more: still the full build''s')
FROM pg_temp.sql_differs() d;

-- a foreign key of the user's own to the facts: elt_generate cannot empty
-- them with TRUNCATE, so the SQL builders write them (same rows)
CREATE TABLE public.my_usage (usage_date date, subscription_id bigint,
    FOREIGN KEY (usage_date, subscription_id) REFERENCES elt_mart.fct_usage_daily ON DELETE CASCADE);
SELECT is(elt.elt__bulk_loadable('elt_mart.fct_usage_daily', elt.elt__loaded_tables()), false,
          'a table with a key to the facts: not bulk-loadable');
SELECT elt_generate(400, 3, '2025-06-10');
SELECT ok(NOT pg_temp.frozen(), 'so elt_generate left the usage facts to the SQL builders');
SELECT is(d.differ, 0::bigint, 'which give the same rows') FROM pg_temp.sql_differs() d;
DROP TABLE public.my_usage;
SELECT is(elt.elt__bulk_loadable('elt_mart.fct_usage_daily', elt.elt__loaded_tables()), true,
          'without it: bulk-loadable again');
SELECT is(elt.elt__bulk_loadable('elt_mart.dim_user', '{}'), false,
          'the dimensions are bulk-loadable only with the facts referencing them');

SELECT * FROM finish();
ROLLBACK;
