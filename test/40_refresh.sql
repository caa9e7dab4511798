-- pgTAP: elt_refresh advances the simulated source so that
-- generate(D) + refresh(k) == generate(D + k), row for row.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SELECT plan(30);

SELECT throws_ok($$SELECT * FROM elt_refresh(1)$$, '55000', NULL, 'refresh before any elt_generate: 55000');
SELECT throws_ok($$SELECT * FROM elt_refresh(0)$$, '22023', NULL, 'days = 0: 22023');
SELECT throws_ok($$SELECT * FROM elt_refresh(-3)$$, '22023', NULL, 'days < 0: 22023');

-- snapshots of elt_raw and elt_mart, as sets of rows
CREATE TEMP TABLE compared (t text);
INSERT INTO compared VALUES ('elt_raw.users'), ('elt_raw.subscriptions'), ('elt_raw.usage'),
    ('elt_mart.dim_date'), ('elt_mart.dim_plan'), ('elt_mart.dim_user'), ('elt_mart.dim_subscription'),
    ('elt_mart.fct_usage_daily'), ('elt_mart.fct_mrr_monthly'), ('elt_mart.fct_kpi_daily'),
    ('elt_mart.fct_cohort_retention'), ('elt_mart.fct_saas_metrics_monthly'),
    ('elt_mart.fct_subscription_events'), ('elt_mart.fct_usage_period');
CREATE FUNCTION pg_temp.snap(tag text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t text;
BEGIN
    FOR t IN SELECT * FROM compared LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', tag || '_' || t);
        EXECUTE format('CREATE TEMP TABLE %I AS SELECT * FROM %s', tag || '_' || t, t);
    END LOOP;
END $f$;
CREATE FUNCTION pg_temp.differences(a text, b text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE n bigint; out text := ''; t text;
BEGIN
    FOR t IN SELECT * FROM compared LOOP
        EXECUTE format('SELECT count(*) FROM ((TABLE %1$I EXCEPT ALL TABLE %2$I) UNION ALL (TABLE %2$I EXCEPT ALL TABLE %1$I)) d',
                       a || '_' || t, b || '_' || t) INTO n;
        IF n > 0 THEN out := out || format('%s: %s rows differ; ', t, n); END IF;
    END LOOP;
    RETURN out;
END $f$;

-- k = 1, 3, and 5 days across a month boundary
CREATE TEMP TABLE cases (d date, k int);
INSERT INTO cases VALUES ('2025-06-10', 1), ('2025-06-10', 3), ('2025-06-28', 5);
CREATE TEMP TABLE outcome (d date, k int, refreshed int, diffs text, clock date, users bigint, usage bigint);
DO $$
DECLARE c record; r record;
BEGIN
    FOR c IN SELECT * FROM cases LOOP
        PERFORM elt_generate(400, 3, c.d);
        SELECT * INTO r FROM elt_refresh(c.k);
        PERFORM pg_temp.snap('refreshed');
        PERFORM elt_generate(400, 3, c.d + c.k, c.d - 364);
        PERFORM pg_temp.snap('direct');
        INSERT INTO outcome VALUES (c.d, c.k, r.days_applied, pg_temp.differences('refreshed', 'direct'),
                                    r.clock_after, r.users_rows, r.usage_rows);
    END LOOP;
END $$;
SELECT is(refreshed, k, format('refresh(%s) from %s applied %s days', k, d, k)) FROM outcome ORDER BY d, k;
SELECT is(diffs, '', format('generate(%s) + refresh(%s) equals generate(%s) in elt_raw and elt_mart, row for row', d, k, d + k))
FROM outcome ORDER BY d, k;
SELECT ok(users > 0 AND usage > 0, format('refresh(%s) from %s landed changed users and new usage', k, d))
FROM outcome ORDER BY d, k;

-- the run log
SELECT elt_generate(400, 3, '2025-06-10', build_marts => false);
SELECT * FROM elt_refresh(2);
SELECT results_eq($$SELECT kind, clock_before, clock_after, status FROM elt.run_log ORDER BY run_id DESC LIMIT 2$$,
                  $$VALUES ('refresh'::text, '2025-06-10'::date, '2025-06-12'::date, 'ok'::text),
                           ('generate', NULL, '2025-06-10', 'ok')$$,
                  'the run log records the refresh and the generate');
SELECT ok((SELECT (rows->>'elt_raw.usage')::bigint > 0 FROM elt.run_log ORDER BY run_id DESC LIMIT 1),
          'with rows per table');
SELECT is((SELECT clock FROM elt.settings), '2025-06-12'::date, 'the clock advanced');
SELECT is_empty($$SELECT user_id FROM elt_raw.users GROUP BY user_id HAVING count(*) FILTER (WHERE valid_to IS NULL) <> 1$$,
                'still one current version per user');

-- a failing refresh changes nothing, and the failure stays visible
CREATE TEMP TABLE before_x AS SELECT count(*) AS n FROM elt_raw.usage;
CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN RAISE EXCEPTION 'disk on fire' USING ERRCODE = '58030'; END $f$;
CREATE TRIGGER boom BEFORE INSERT ON elt_raw.usage FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.boom();
SELECT results_eq($$SELECT days_applied, status FROM elt_refresh(1)$$, $$VALUES (0, 'failed'::text)$$,
                  'a failing refresh reports failed');
DROP TRIGGER boom ON elt_raw.usage;
SELECT is((SELECT clock FROM elt.settings), '2025-06-12'::date, 'the clock did not move');
SELECT is((SELECT count(*) FROM elt_raw.usage), (SELECT n FROM before_x), 'no usage landed');
SELECT is((SELECT count(*) FROM elt_raw.users WHERE valid_from > '2025-06-12'), 0::bigint, 'no user versions landed');
SELECT results_eq($$SELECT status, error LIKE '58030: disk on fire%' FROM elt.run_log ORDER BY run_id DESC LIMIT 1$$,
                  $$VALUES ('failed'::text, true)$$, 'the run log keeps the failure and its message');
SELECT results_eq($$SELECT days_applied, status FROM elt_refresh(1)$$, $$VALUES (1, 'ok'::text)$$,
                  'the next refresh works');
SELECT is(current_setting('session_replication_role'), 'origin',
          'the refresh left session_replication_role at origin (its bulk paths switched back)');

-- NULL catches up with current_date, then there is nothing to do
SELECT elt_generate(200, 5, current_date - 2, build_marts => false);
SELECT results_eq($$SELECT days_applied, clock_after FROM elt_refresh()$$, $$VALUES (2, current_date)$$,
                  'elt_refresh() catches up with current_date');
SELECT is_empty($$SELECT * FROM elt_refresh()$$, 'and then has nothing to do');

-- elt__load_day, the refresh's one pass over the population, writes the
-- rows of elt_users and elt_subscriptions (current versions from the day)
-- and elt_usage (the day) into the refresh's temp tables
SELECT elt_generate(1500, 9, '2025-06-14', '2024-06-20', build_marts => false);
CREATE TEMP TABLE elt_refresh_users AS SELECT * FROM elt_users(1, 1, '2025-01-01') WITH NO DATA;
CREATE TEMP TABLE elt_refresh_subscriptions AS SELECT * FROM elt_subscriptions(1, 1, '2025-01-01') WITH NO DATA;
CREATE TEMP TABLE elt_refresh_usage AS SELECT * FROM elt_usage(1, 1, '2025-01-01') WITH NO DATA;
CREATE TEMP TABLE day_rows AS
    SELECT * FROM elt.elt__load_day(1500, 9, '2025-06-15', '2024-06-20', '{}');
SELECT ok((SELECT users_rows > 0 AND subscriptions_rows > 0 AND usage_rows > 0 FROM day_rows),
          'elt__load_day writes new user and subscription versions and usage of the day');
SELECT is((SELECT count(*) FROM ((TABLE pg_temp.elt_refresh_users
                                  EXCEPT ALL SELECT * FROM elt_users(1500, 9, '2025-06-15', '2024-06-20', history => false, since => '2025-06-15'))
                                 UNION ALL (SELECT * FROM elt_users(1500, 9, '2025-06-15', '2024-06-20', history => false, since => '2025-06-15')
                                            EXCEPT ALL TABLE pg_temp.elt_refresh_users)) d),
          0::bigint, '... the user versions of elt_users(history => false, since => the day)');
SELECT is((SELECT count(*) FROM ((TABLE pg_temp.elt_refresh_subscriptions
                                  EXCEPT ALL SELECT * FROM elt_subscriptions(1500, 9, '2025-06-15', '2024-06-20', history => false, since => '2025-06-15'))
                                 UNION ALL (SELECT * FROM elt_subscriptions(1500, 9, '2025-06-15', '2024-06-20', history => false, since => '2025-06-15')
                                            EXCEPT ALL TABLE pg_temp.elt_refresh_subscriptions)) d),
          0::bigint, '... the subscription versions of elt_subscriptions(history => false, since => the day)');
SELECT is((SELECT count(*) FROM ((TABLE pg_temp.elt_refresh_usage
                                  EXCEPT ALL SELECT * FROM elt_usage(1500, 9, '2025-06-15', '2024-06-20', since => '2025-06-15'))
                                 UNION ALL (SELECT * FROM elt_usage(1500, 9, '2025-06-15', '2024-06-20', since => '2025-06-15')
                                            EXCEPT ALL TABLE pg_temp.elt_refresh_usage)) d),
          0::bigint, '... and the usage rows of elt_usage(since => the day)');
-- a second day: its usage is appended to the first's (a table without
-- indexes), as elt_refresh collects the usage of all its days
TRUNCATE pg_temp.elt_refresh_users, pg_temp.elt_refresh_subscriptions;
INSERT INTO day_rows SELECT * FROM elt.elt__load_day(1500, 9, '2025-06-16', '2024-06-20', '{}');
SELECT is((SELECT count(*) FROM pg_temp.elt_refresh_usage), (SELECT sum(usage_rows) FROM day_rows)::bigint,
          '... and a second day''s usage is appended to the first''s');

SELECT * FROM finish();
ROLLBACK;
