-- pgTAP: elt_mart after review (issue 18, items 10 and 12).
--  * A rebuild with nothing changed writes no row: every row of every mart
--    table (and of elt.mart_usage_totals) keeps its tuple (ctid, xmin).
--  * A rebuild after the source changed (merge path) gives exactly a fresh
--    full build (into empty marts), EXCEPT both ways.
--  * Manual edits of the marts: elt_build_marts() repairs every one;
--    elt_update_marts() rebuilds trailing days deleted from the facts (a
--    cheap check) but does not look for other edits (documented).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(25);

-- the compared tables and their keys
CREATE TEMP TABLE tabs (i int, t text, k text);
INSERT INTO tabs VALUES
    (1, 'elt_mart.dim_date', 'date_key'), (2, 'elt_mart.dim_plan', 'plan_key'),
    (3, 'elt_mart.dim_user', 'user_key'), (4, 'elt_mart.dim_subscription', 'subscription_key'),
    (5, 'elt_mart.fct_usage_daily', 'usage_date, subscription_id'),
    (6, 'elt_mart.fct_mrr_monthly', 'month_start, user_id'),
    (7, 'elt_mart.fct_kpi_daily', 'date_key'),
    (8, 'elt.mart_usage_totals', 'subscription_id, period_start');
INSERT INTO tabs VALUES
    (9, 'elt_mart.fct_subscription_events', 'subscription_id, event_date, event_type'),
    (10, 'elt_mart.fct_usage_period', 'subscription_id, period_start'),
    (11, 'elt_mart.fct_cohort_retention', 'cohort_kind, cohort_month, months_since'),
    (12, 'elt_mart.fct_saas_metrics_monthly', 'month_start');

-- a copy of every table's rows under a tag
CREATE FUNCTION pg_temp.save(tag text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM tabs LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.%1$I; CREATE TEMP TABLE %1$I AS SELECT * FROM %2$s',
                       'snap_' || tag || '_' || r.i, r.t);
    END LOOP;
END $f$;
-- rows of the tables now that are not in the copy (missing) and the other way round (extra)
CREATE FUNCTION pg_temp.diff(tag text) RETURNS TABLE (tab text, missing bigint, extra bigint) LANGUAGE plpgsql AS $f$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM tabs ORDER BY i LOOP
        tab := r.t;
        EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM pg_temp.%I) x',
                       r.t, 'snap_' || tag || '_' || r.i) INTO missing;
        EXECUTE format('SELECT count(*) FROM (SELECT * FROM pg_temp.%I EXCEPT ALL SELECT * FROM %s) x',
                       'snap_' || tag || '_' || r.i, r.t) INTO extra;
        RETURN NEXT;
    END LOOP;
END $f$;
-- the tuple (ctid, xmin) of every row, by table and key
CREATE TEMP TABLE tids (tag text, tab text, key text, tid tid, x xid);
CREATE FUNCTION pg_temp.tids(tag text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM tabs LOOP
        EXECUTE format('INSERT INTO tids SELECT %L, %L, (%s)::text, ctid, xmin FROM %s', tag, r.t, 'row(' || r.k || ')', r.t);
    END LOOP;
END $f$;
-- empty marts: the next elt_build_marts() is a fresh full build
CREATE FUNCTION pg_temp.clear() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    DELETE FROM elt_mart.fct_usage_daily;
    DELETE FROM elt_mart.fct_mrr_monthly;
    DELETE FROM elt_mart.fct_kpi_daily;
    DELETE FROM elt.mart_usage_totals;
    DELETE FROM elt_mart.fct_subscription_events;
    DELETE FROM elt_mart.fct_usage_period;
    DELETE FROM elt_mart.fct_cohort_retention;
    DELETE FROM elt_mart.fct_saas_metrics_monthly;
    DELETE FROM elt_mart.dim_date WHERE date_key <> -1;
    DELETE FROM elt_mart.dim_plan WHERE plan_key <> -1;
    DELETE FROM elt_mart.dim_user WHERE user_key <> -1;
    DELETE FROM elt_mart.dim_subscription WHERE subscription_key <> -1;
END $f$;
-- the marts as they are now against a fresh full build of the same source
CREATE FUNCTION pg_temp.vs_fresh() RETURNS TABLE (tab text, missing bigint, extra bigint) LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_temp.save('now');
    PERFORM pg_temp.clear();
    PERFORM * FROM elt_build_marts();
    RETURN QUERY SELECT * FROM pg_temp.diff('now');
END $f$;

SELECT lives_ok($$SELECT * FROM elt_generate(300, 42, '2025-03-14', start_date => '2024-05-01', build_marts => false)$$,
                'generate 300 users through Mar 14 2025');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'first build');
SELECT ok((SELECT count(*) FROM elt_mart.fct_mrr_monthly) > 0 AND (SELECT count(*) FROM elt.mart_usage_totals) > 0,
          'the build has MRR rows and quota totals');

-- ---------------------------------------------------------------- item 12: a rebuild rewrites nothing
SELECT pg_temp.tids('before');
SELECT is((SELECT sum(rows_written) FROM elt.elt__build(NULL)), 0::numeric, 'a rebuild with nothing changed reports no row written');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'and elt_build_marts() once more');
SELECT pg_temp.tids('after');
SELECT is_empty($$
    SELECT b.tab, count(*) FROM tids b
    LEFT JOIN tids a ON a.tag = 'after' AND a.tab = b.tab AND a.key = b.key
    WHERE b.tag = 'before' AND (a.tid IS DISTINCT FROM b.tid OR a.x IS DISTINCT FROM b.x)
    GROUP BY b.tab$$,
    'two rebuilds with nothing changed: every row of every mart table (and of the quota totals) keeps its tuple');
SELECT is((SELECT count(*) FROM tids WHERE tag = 'after'), (SELECT count(*) FROM tids WHERE tag = 'before'),
          'and no row was added');

-- a changed source (merge path) still gives a fresh full build
SELECT lives_ok($$SELECT * FROM elt_generate(300, 42, '2025-04-03', start_date => '2024-05-01', build_marts => false)$$,
                'the source moves on three weeks, across a month end');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'rebuild over the old marts');
SELECT is_empty('SELECT * FROM pg_temp.vs_fresh() WHERE missing <> 0 OR extra <> 0',
                'new days: the rebuild equals a fresh full build, every table');
SELECT lives_ok($$SELECT * FROM elt_generate(300, 7, '2025-04-03', start_date => '2024-05-01', build_marts => false)$$,
                'another population in the same window');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'rebuild over the old marts');
SELECT is_empty('SELECT * FROM pg_temp.vs_fresh() WHERE missing <> 0 OR extra <> 0',
                'another population: the rebuild equals a fresh full build, every table');

-- ---------------------------------------------------------------- item 10: manual edits
SELECT pg_temp.save('ref');
DO $$
DECLARE
    v_clock date := (SELECT clock FROM elt.settings);
    v_uk bigint;
    v_sk bigint;
BEGIN
    -- a usage day in the middle, quota totals, a KPI row, MRR rows
    DELETE FROM elt_mart.fct_usage_daily WHERE usage_date = v_clock - 40;
    DELETE FROM elt.mart_usage_totals WHERE subscription_id % 3 = 0;
    UPDATE elt.mart_usage_totals SET api_calls = api_calls + 7 WHERE subscription_id % 3 = 1;
    UPDATE elt_mart.fct_kpi_daily SET mrr = mrr + 1000, arr = 12 * (mrr + 1000), signups = signups + 5
    WHERE date = v_clock - 20;
    DELETE FROM elt_mart.fct_mrr_monthly WHERE month_start = '2025-01-01' AND user_id % 2 = 0;
    UPDATE elt_mart.fct_mrr_monthly SET plan_key = -1 WHERE month_start = '2024-12-01';
    INSERT INTO elt_mart.fct_mrr_monthly (month_start, user_id, date_key, user_key, plan_key, mrr, previous_mrr,
        mrr_change, movement, new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr)
    VALUES ('2024-06-01', 99999999, -1, -1, -1, 0, 0, 0, 'retained', 0, 0, 0, 0, 0);
    UPDATE elt_mart.fct_subscription_events SET from_plan_key = -1 WHERE event_type = 'renewal';
    UPDATE elt_mart.fct_usage_period SET api_calls = api_calls + 1 WHERE subscription_id % 3 = 0;
    DELETE FROM elt_mart.fct_cohort_retention WHERE months_since = 2;
    UPDATE elt_mart.fct_saas_metrics_monthly SET arpa = arpa + 1 WHERE month_start = '2024-12-01';
    -- dimension rows: altered, deleted (with their facts), made up
    UPDATE elt_mart.dim_user SET email = 'edited@example.com' WHERE user_key % 5 = 0;
    UPDATE elt_mart.dim_subscription SET status = 'edited' WHERE subscription_key % 7 = 0;
    UPDATE elt_mart.dim_date SET month_name = 'Edited' WHERE date = v_clock - 3;
    UPDATE elt_mart.dim_plan SET plan_name = 'Edited' WHERE plan_key = 2;
    SELECT min(f.user_key) INTO v_uk FROM elt_mart.fct_usage_daily f WHERE f.user_key <> -1;
    DELETE FROM elt_mart.fct_usage_daily WHERE user_key = v_uk;
    DELETE FROM elt_mart.fct_subscription_events WHERE user_key = v_uk;
    DELETE FROM elt_mart.fct_usage_period WHERE user_key = v_uk;
    DELETE FROM elt_mart.fct_mrr_monthly WHERE user_key = v_uk;
    DELETE FROM elt_mart.dim_user WHERE user_key = v_uk;
    SELECT max(f.subscription_key) INTO v_sk FROM elt_mart.fct_usage_daily f;
    DELETE FROM elt_mart.fct_usage_daily WHERE subscription_key = v_sk;
    DELETE FROM elt_mart.fct_subscription_events WHERE subscription_key = v_sk;
    DELETE FROM elt_mart.fct_usage_period WHERE subscription_key = v_sk;
    DELETE FROM elt_mart.dim_subscription WHERE subscription_key = v_sk;
    INSERT INTO elt_mart.dim_user (user_key, user_id, version_ordinal, first_name, last_name, full_name, email,
        plan_id, plan_name, region_id, region_name, referral_source_id, referral_source_name, valid_from, valid_to, is_current)
    VALUES (99999999::bigint * 65536, 99999999, 0, 'Made', 'Up', 'Made Up', 'made@up', 1, 'x', 1, 'x', 1, 'x', '2024-06-01', NULL, true);
    INSERT INTO elt_mart.dim_date (date_key, date, month_name, year_month, day_name)
    VALUES (19990101, '1999-01-01', 'January', '1999-01', 'Friday');
    INSERT INTO elt_mart.fct_kpi_daily (date_key, date, signups, active_users, paying_users, churned_users, mrr, arr,
        actions_performed, api_calls, storage_used_mb, active_minutes, free_users, trials_started, trial_conversions,
        new_paying_users, reactivations, weekly_active_users, monthly_active_users)
    VALUES (19990101, '1999-01-01', 1, 1, 1, 0, 1, 12, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1);
END $$;
SELECT is((SELECT count(*) FROM pg_temp.diff('ref') WHERE missing <> 0 OR extra <> 0), 12::bigint,
          'all twelve tables are edited');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'elt_build_marts() after the edits');
SELECT is_empty($$SELECT * FROM pg_temp.diff('ref') WHERE missing <> 0 OR extra <> 0$$,
                'elt_build_marts() repairs every manual edit: exactly the full build, every table');

-- incremental update: trailing days deleted from the facts are built again
SELECT lives_ok($$SELECT * FROM elt_generate(300, 7, '2025-04-04', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances one day');
DELETE FROM elt_mart.fct_usage_daily WHERE usage_date >= '2025-04-02';
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-04-04')$$, 'update after the last two usage days were deleted');
SELECT is_empty('SELECT * FROM pg_temp.vs_fresh() WHERE missing <> 0 OR extra <> 0',
                'deleted trailing usage days are built again by an incremental update');
SELECT lives_ok($$SELECT * FROM elt_generate(300, 7, '2025-04-05', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances one more day');
DELETE FROM elt_mart.fct_kpi_daily WHERE date >= '2025-04-03';
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-04-05')$$, 'update after the last two KPI days were deleted');
SELECT is_empty('SELECT * FROM pg_temp.vs_fresh() WHERE missing <> 0 OR extra <> 0',
                'deleted trailing KPI days are built again by an incremental update');

-- other edits are not looked for by an incremental update (documented):
-- an edited KPI row before since stays, and elt_build_marts() repairs it
SELECT lives_ok($$SELECT * FROM elt_generate(300, 7, '2025-04-06', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances one more day');
UPDATE elt_mart.fct_kpi_daily SET signups = signups + 5 WHERE date = '2025-04-01';
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-04-06')$$, 'update after a KPI row was edited');
SELECT is((SELECT count(*) FROM pg_temp.vs_fresh() WHERE missing <> 0 OR extra <> 0), 1::bigint,
          'an incremental update leaves a KPI row edited before since as it is (one table differs from a full build)');

SELECT * FROM finish();
ROLLBACK;
