-- pgTAP: elt_mart, the star schema.  Schema and keys; the reference dbt
-- project's data tests (unique, not null, accepted values, relationships,
-- non-negative measures); the business identities (MRR movements, signups,
-- month-end MRR, ARR); incremental update = full rebuild; read-only role.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(156);

-- ---------------------------------------------------------------- schema
SELECT has_schema('elt_mart');
SELECT has_table('elt_mart', t, 'table elt_mart.' || t)
FROM unnest(ARRAY['dim_date','dim_plan','dim_user','dim_subscription',
                  'fct_usage_daily','fct_mrr_monthly','fct_kpi_daily']) t;
SELECT col_is_pk('elt_mart', 'dim_date', 'date_key', 'dim_date: date_key is the primary key');
SELECT col_is_pk('elt_mart', 'dim_plan', 'plan_key', 'dim_plan: plan_key is the primary key');
SELECT col_is_pk('elt_mart', 'dim_user', 'user_key', 'dim_user: user_key is the primary key');
SELECT col_is_pk('elt_mart', 'dim_subscription', 'subscription_key', 'dim_subscription: subscription_key is the primary key');
SELECT col_is_pk('elt_mart', 'fct_usage_daily', ARRAY['usage_date', 'subscription_id'],
                 'fct_usage_daily: one subscription on one day');
SELECT col_is_pk('elt_mart', 'fct_mrr_monthly', ARRAY['month_start', 'user_id'],
                 'fct_mrr_monthly: one user in one month');
SELECT col_is_pk('elt_mart', 'fct_kpi_daily', 'date_key', 'fct_kpi_daily: one day');
SELECT fk_ok('elt_mart', 'fct_usage_daily', 'date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT fk_ok('elt_mart', 'fct_usage_daily', 'user_key', 'elt_mart', 'dim_user', 'user_key');
SELECT fk_ok('elt_mart', 'fct_usage_daily', 'subscription_key', 'elt_mart', 'dim_subscription', 'subscription_key');
SELECT fk_ok('elt_mart', 'fct_usage_daily', 'plan_key', 'elt_mart', 'dim_plan', 'plan_key');
SELECT fk_ok('elt_mart', 'fct_mrr_monthly', 'date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT fk_ok('elt_mart', 'fct_mrr_monthly', 'user_key', 'elt_mart', 'dim_user', 'user_key');
SELECT fk_ok('elt_mart', 'fct_mrr_monthly', 'plan_key', 'elt_mart', 'dim_plan', 'plan_key');
SELECT fk_ok('elt_mart', 'fct_kpi_daily', 'date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT is((SELECT count(*)::int FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
           WHERE r.relnamespace = 'elt_mart'::regnamespace AND c.contype = 'f'), 20,
          'exactly the 8 foreign keys above and the 9 of the event and quota period facts (test/32_marts_events.sql) and the 3 of the metrics tables (test/33_marts_metrics.sql)');
SELECT has_index('elt_mart', 'fct_usage_daily', 'fct_usage_daily_user_idx', 'user_key', 'usage facts indexed by user');
SELECT has_index('elt_mart', 'fct_mrr_monthly', 'fct_mrr_monthly_user_idx', 'user_key', 'MRR facts indexed by user');
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = 'elt_mart'::regnamespace AND c.relkind = 'r'
      AND COALESCE(obj_description(c.oid, 'pg_class'), '') = ''$$,
    'every mart table has a comment');
SELECT is_empty($$
    SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = 'elt_mart'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      AND COALESCE(col_description(c.oid, a.attnum), '') = ''$$,
    'every mart column has a comment');
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
           WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'elt') AND d.deptype = 'e'
             AND c.relnamespace = 'elt_mart'::regnamespace AND c.relkind = 'r'), (SELECT count(*)::int FROM elt.elt__mart_tables()),
          'the mart tables are members of the extension');
SELECT is((SELECT count(*)::int FROM pg_extension e, unnest(e.extconfig) t(oid)
           JOIN pg_class c ON c.oid = t.oid
           WHERE e.extname = 'elt' AND c.relnamespace = 'elt_mart'::regnamespace), (SELECT count(*)::int FROM elt.elt__mart_tables()),
          'pg_dump keeps the data of every mart table');
SELECT has_function(f) FROM unnest(ARRAY['elt_build_marts','elt_update_marts','elt_grant_reader',
    'elt_build_dim_date','elt_build_dim_plan','elt_build_dim_user','elt_build_dim_subscription',
    'elt_build_fct_usage_daily','elt_build_fct_mrr_monthly','elt_build_fct_kpi_daily']) f;
SELECT is_empty($$
    SELECT p.proname FROM pg_proc p
    WHERE (p.proname LIKE 'elt\_build\_%' OR p.proname IN ('elt_update_marts', 'elt_grant_reader'))
      AND COALESCE(obj_description(p.oid, 'pg_proc'), '') = ''$$,
    'every mart function has a comment');
SELECT is_empty($$
    SELECT p.proname FROM pg_proc p
    WHERE (p.proname LIKE 'elt\_build\_%' OR p.proname LIKE 'elt\_\_mart%' OR p.proname IN ('elt_update_marts', 'elt_grant_reader'))
      AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
      AND NOT ('search_path=pg_catalog, pg_temp' = ANY (COALESCE(p.proconfig, '{}')))$$,
    'every plpgsql mart function pins its search_path');
SELECT results_eq($$SELECT count(*)::int FROM elt_mart.dim_user WHERE user_key = -1 AND full_name = 'Unknown'$$,
                  ARRAY[1], 'the Unknown user exists before any build');

-- ---------------------------------------------------------------- bad input
SELECT throws_ok('SELECT * FROM elt_build_marts()', '55000', NULL, 'no source yet: object not in prerequisite state');
SELECT throws_ok('SELECT * FROM elt_update_marts(NULL)', '22004', 'since must not be NULL', 'NULL since is refused');
SELECT throws_ok($$SELECT elt_grant_reader('no_such_role')$$, '42704', NULL, 'unknown role is refused');
SELECT throws_ok('SELECT elt_grant_reader(NULL)', '22004', NULL, 'NULL role is refused');

-- ---------------------------------------------------------------- build on generated data
SELECT lives_ok($$SELECT * FROM elt_generate(400, 42, '2025-03-14', start_date => '2024-05-01', build_marts => false)$$,
                'generate 400 users, Mar 14 2025');
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'build the marts');
SELECT results_eq($$SELECT table_name FROM elt_build_marts()$$,
    $$SELECT m.tab FROM elt.elt__mart_tables() m ORDER BY m.ord$$,
    'elt_build_marts returns one row per mart table');
SELECT is((SELECT row_count FROM elt_build_marts() WHERE table_name = 'elt_mart.fct_usage_daily'),
          (SELECT count(*) FROM elt_mart.fct_usage_daily), 'with its row count');

-- dbt: unique + not null keys
SELECT is_empty('SELECT date_key FROM elt_mart.dim_date GROUP BY 1 HAVING count(*) > 1', 'dim_date.date_key unique');
SELECT is_empty('SELECT date FROM elt_mart.dim_date WHERE date IS NOT NULL GROUP BY 1 HAVING count(*) > 1', 'dim_date.date unique');
SELECT is_empty('SELECT plan_key FROM elt_mart.dim_plan GROUP BY 1 HAVING count(*) > 1', 'dim_plan.plan_key unique');
SELECT is_empty('SELECT user_key FROM elt_mart.dim_user GROUP BY 1 HAVING count(*) > 1', 'dim_user.user_key unique');
SELECT is_empty('SELECT user_id, valid_from FROM elt_mart.dim_user GROUP BY 1, 2 HAVING count(*) > 1', 'dim_user: one version per user and valid_from');
SELECT is_empty('SELECT user_id FROM elt_mart.dim_user WHERE is_current GROUP BY 1 HAVING count(*) > 1', 'dim_user: at most one current version per user');
SELECT is_empty('SELECT subscription_key FROM elt_mart.dim_subscription GROUP BY 1 HAVING count(*) > 1', 'dim_subscription.subscription_key unique');
SELECT is_empty('SELECT subscription_id FROM elt_mart.dim_subscription WHERE is_current GROUP BY 1 HAVING count(*) > 1', 'dim_subscription: at most one current version');
SELECT is_empty('SELECT usage_date, subscription_id FROM elt_mart.fct_usage_daily GROUP BY 1, 2 HAVING count(*) > 1', 'fct_usage_daily grain unique');
SELECT is_empty('SELECT usage_id FROM elt_mart.fct_usage_daily GROUP BY 1 HAVING count(*) > 1', 'fct_usage_daily.usage_id unique');
SELECT is_empty('SELECT month_start, user_id FROM elt_mart.fct_mrr_monthly GROUP BY 1, 2 HAVING count(*) > 1', 'fct_mrr_monthly grain unique');
SELECT is_empty('SELECT date FROM elt_mart.fct_kpi_daily GROUP BY 1 HAVING count(*) > 1', 'fct_kpi_daily.date unique');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_user WHERE user_key IS NULL OR user_id IS NULL OR email IS NULL
                   OR valid_from IS NULL OR is_current IS NULL OR (user_key <> -1 AND signup_date IS NULL)$$,
                'dim_user keys and attributes not null');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_subscription WHERE subscription_key IS NULL OR subscription_id IS NULL
                   OR user_id IS NULL OR status IS NULL OR valid_from IS NULL OR (subscription_key <> -1 AND start_date IS NULL)$$,
                'dim_subscription keys and attributes not null');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_usage_daily WHERE date_key IS NULL OR user_key IS NULL
                   OR subscription_key IS NULL OR plan_key IS NULL OR usage_id IS NULL$$, 'fct_usage_daily keys not null');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_mrr_monthly WHERE date_key IS NULL OR user_key IS NULL OR plan_key IS NULL
                   OR mrr IS NULL OR movement IS NULL$$, 'fct_mrr_monthly keys not null');

-- dbt: accepted values
SELECT is_empty($$SELECT plan_name FROM elt_mart.dim_plan WHERE plan_name NOT IN
    ('Free','Starter','Professional','Business','Enterprise','Unknown')$$, 'dim_plan.plan_name accepted values');
SELECT is_empty($$SELECT plan_name FROM elt_mart.dim_user WHERE plan_name NOT IN
    ('Free','Starter','Professional','Business','Enterprise','Unknown')$$, 'dim_user.plan_name accepted values');
SELECT is_empty($$SELECT region_name FROM elt_mart.dim_user WHERE region_name NOT IN
    ('North America','Europe','Asia','South America','Africa','Oceania','Unknown')$$, 'dim_user.region_name accepted values');
SELECT is_empty($$SELECT referral_source_name FROM elt_mart.dim_user WHERE referral_source_name NOT IN
    ('Web Search','Paid Ads','Social Media','Friend','Unknown')$$, 'dim_user.referral_source_name accepted values');
SELECT is_empty($$SELECT payment_method_name FROM elt_mart.dim_subscription WHERE payment_method_name NOT IN
    ('Credit Card','PayPal','Bank Transfer','N/A','Unknown')$$, 'dim_subscription.payment_method_name accepted values');
SELECT is_empty($$SELECT status FROM elt_mart.dim_subscription WHERE status NOT IN
    ('active','expired','cancelled','trialing','past_due','Unknown')$$, 'dim_subscription.status accepted values');
SELECT is_empty($$SELECT movement FROM elt_mart.fct_mrr_monthly WHERE movement NOT IN
    ('new','expansion','contraction','churn','reactivation','retained')$$, 'fct_mrr_monthly.movement accepted values');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_subscription WHERE plan_name = 'Free' AND payment_method_name <> 'N/A'$$,
                'free subscriptions are paid with N/A');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_subscription WHERE is_paid AND payment_method_name = 'N/A'$$,
                'paid subscriptions have a payment method');

-- dbt: relationships
SELECT is_empty('SELECT 1 FROM elt_mart.fct_usage_daily f LEFT JOIN elt_mart.dim_user d USING (user_key) WHERE d.user_key IS NULL',
                'fct_usage_daily.user_key -> dim_user');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_usage_daily f LEFT JOIN elt_mart.dim_subscription d USING (subscription_key) WHERE d.subscription_key IS NULL',
                'fct_usage_daily.subscription_key -> dim_subscription');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_usage_daily f LEFT JOIN elt_mart.dim_date d USING (date_key) WHERE d.date_key IS NULL',
                'fct_usage_daily.date_key -> dim_date');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_usage_daily f LEFT JOIN elt_mart.dim_plan d USING (plan_key) WHERE d.plan_key IS NULL',
                'fct_usage_daily.plan_key -> dim_plan');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_mrr_monthly f LEFT JOIN elt_mart.dim_user d USING (user_key) WHERE d.user_key IS NULL',
                'fct_mrr_monthly.user_key -> dim_user');
SELECT is_empty('SELECT 1 FROM elt_mart.dim_subscription s WHERE s.subscription_key <> -1 AND NOT EXISTS (SELECT 1 FROM elt_mart.dim_user u WHERE u.user_id = s.user_id)',
                'dim_subscription.user_id -> dim_user');
SELECT is_empty('SELECT 1 FROM elt_mart.dim_user u WHERE NOT EXISTS (SELECT 1 FROM elt_mart.dim_plan p WHERE p.plan_id = u.plan_id)',
                'dim_user.plan_id -> dim_plan');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_usage_daily WHERE user_key = -1 OR subscription_key = -1 OR plan_key = -1 OR date_key = -1
                  UNION ALL SELECT 1 FROM elt_mart.fct_mrr_monthly WHERE user_key = -1 OR plan_key = -1 OR date_key = -1$$,
                'on generated data every lookup succeeds (no fact points at an Unknown member)');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_usage_daily f JOIN elt_mart.dim_user u USING (user_key)
                  JOIN elt_mart.dim_subscription s USING (subscription_key)
                  WHERE u.user_id <> f.user_id OR s.subscription_id <> f.subscription_id
                     OR NOT (u.valid_from <= f.usage_date::timestamp AT TIME ZONE 'UTC' AND (u.valid_to IS NULL OR u.valid_to > f.usage_date::timestamp AT TIME ZONE 'UTC'))
                     OR NOT (s.valid_from <= f.usage_date::timestamp AT TIME ZONE 'UTC' AND (s.valid_to IS NULL OR s.valid_to > f.usage_date::timestamp AT TIME ZONE 'UTC'))$$,
                'usage facts point at the user and subscription versions valid that day');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_user WHERE user_key <> -1 AND user_key <> user_id * 65536 + version_ordinal
                  UNION ALL SELECT 1 FROM elt_mart.dim_subscription WHERE subscription_key <> -1 AND subscription_key <> subscription_id * 65536 + version_ordinal
                  UNION ALL SELECT 1 FROM elt_mart.dim_date WHERE date_key <> -1 AND date_key <> to_char(date, 'YYYYMMDD')::int$$,
                'surrogate keys follow their formulas');
SELECT is_empty($$SELECT 1 FROM elt_mart.dim_user d
                  WHERE d.version_ordinal <> (SELECT count(*) FROM elt_mart.dim_user e WHERE e.user_id = d.user_id AND e.valid_from < d.valid_from)$$,
                'version ordinal = number of earlier versions');

-- dbt: non-negative measures
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_usage_daily WHERE actions_performed < 0 OR storage_used_mb < 0 OR api_calls < 0
                  OR active_minutes < 0 OR period_api_calls < 0 OR period_storage_used_mb < 0
                  OR api_quota_used_pct < 0 OR storage_quota_used_pct < 0$$, 'usage measures are non-negative');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_kpi_daily WHERE signups < 0 OR active_users < 0 OR paying_users < 0
                  OR churned_users < 0 OR mrr < 0 OR arr < 0 OR api_calls < 0 OR storage_used_mb < 0$$, 'KPIs are non-negative');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_mrr_monthly WHERE mrr < 0 OR previous_mrr < 0', 'MRR is non-negative');
SELECT is_empty('SELECT 1 FROM elt_mart.dim_plan WHERE monthly_price < 0', 'prices are non-negative');

-- quotas: the generator stops a user at the quota, so use never exceeds it
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_usage_daily WHERE api_quota_used_pct > 100 OR storage_quota_used_pct > 100$$,
                'quota use stays within 100 % (periods match the source''s)');
SELECT ok((SELECT count(*) FROM elt_mart.fct_usage_daily WHERE api_quota_used_pct = 100 OR storage_quota_used_pct = 100) > 0,
          'some users hit a quota');
SELECT is((SELECT count(*) FROM elt_mart.fct_usage_daily), (SELECT count(*) FROM elt_raw.usage), 'one usage fact per usage row');
SELECT is((SELECT sum(api_calls) FROM elt_mart.fct_kpi_daily)::bigint, (SELECT sum(api_calls) FROM elt_raw.usage)::bigint, 'KPI API calls = usage API calls');
SELECT is((SELECT count(*) FROM elt_mart.dim_user), (SELECT count(*) + 1 FROM elt_raw.users), 'one dim_user row per user version (+ Unknown)');
SELECT is((SELECT count(*) FROM elt_mart.dim_subscription), (SELECT count(*) + 1 FROM elt_raw.subscriptions), 'one dim_subscription row per version (+ Unknown)');
SELECT is((SELECT count(*)::int FROM elt_mart.dim_date WHERE date_key <> -1), (SELECT clock - start_date + 1 FROM elt.settings), 'dim_date covers the window');
SELECT is((SELECT count(*)::int FROM elt_mart.fct_kpi_daily), (SELECT clock - start_date + 1 FROM elt.settings), 'one KPI row per day');

-- ---------------------------------------------------------------- identities
SELECT is_empty($$
    WITH m AS (SELECT month_start, sum(mrr) AS mrr, sum(new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr) AS moves
               FROM elt_mart.fct_mrr_monthly GROUP BY month_start),
         cal AS (SELECT DISTINCT month_start FROM elt_mart.dim_date WHERE date_key <> -1)
    SELECT cal.month_start FROM cal LEFT JOIN m USING (month_start)
    LEFT JOIN m p ON p.month_start = (cal.month_start - interval '1 month')::date
    WHERE COALESCE(m.moves, 0) <> COALESCE(m.mrr, 0) - COALESCE(p.mrr, 0)$$,
    'every month: sum of movements = MRR(month) - MRR(previous month)');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_mrr_monthly WHERE new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr <> mrr - previous_mrr$$,
                'every row: movements add up to its MRR change');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_mrr_monthly f
                  LEFT JOIN elt_mart.fct_mrr_monthly p ON p.user_id = f.user_id AND p.month_start = (f.month_start - interval '1 month')::date
                  WHERE f.previous_mrr <> COALESCE(p.mrr, 0)$$,
                'previous MRR is the MRR of the month before');
SELECT is((SELECT sum(signups) FROM elt_mart.fct_kpi_daily)::bigint, (SELECT count(DISTINCT user_id) FROM elt_raw.users),
          'total signups = number of users');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_kpi_daily k
                  JOIN (SELECT LEAST((month_start + interval '1 month' - interval '1 day')::date,
                                     (SELECT clock FROM elt.settings)) AS date,
                               sum(mrr) AS mrr, count(*) FILTER (WHERE mrr > 0) AS payers
                        FROM elt_mart.fct_mrr_monthly GROUP BY month_start) m USING (date)
                  WHERE k.mrr <> m.mrr OR k.paying_users <> m.payers$$,
                'month-end (current month: clock day) MRR and paying users = that month''s fct_mrr_monthly totals');
SELECT is((SELECT count(DISTINCT date_key)::int FROM elt_mart.fct_mrr_monthly),
          (SELECT count(*)::int FROM elt_mart.dim_date WHERE is_month_end OR date = (SELECT clock FROM elt.settings)),
          'fct_mrr_monthly has a date_key for every month');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_mrr_monthly f JOIN elt_mart.dim_date d USING (date_key)
                  WHERE d.date <> GREATEST(f.month_start, (SELECT start_date FROM elt.settings))$$,
                'fct_mrr_monthly.date_key is the month''s first day in the window');
SELECT is_empty('SELECT 1 FROM elt_mart.fct_kpi_daily WHERE arr <> 12 * mrr', 'ARR = 12 x MRR');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_kpi_daily k
                  JOIN LATERAL (SELECT count(DISTINCT s.user_id) AS payers, COALESCE(sum(s.mrr), 0) AS mrr
                                FROM elt_raw.subscriptions s
                                WHERE s.mrr > 0 AND s.valid_from <= (k.date::timestamp AT TIME ZONE 'UTC')
                                  AND (s.valid_to IS NULL OR s.valid_to > (k.date::timestamp AT TIME ZONE 'UTC'))
                                  AND (s.end_date IS NULL OR s.end_date > k.date)) x ON true
                  WHERE k.mrr <> x.mrr OR k.paying_users <> x.payers$$,
                'daily MRR and paying users match the definition, day by day');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_kpi_daily k
                  JOIN elt_mart.fct_kpi_daily y ON y.date = k.date - 1
                  WHERE k.churned_users > y.paying_users$$, 'churned users were paying the day before');
SELECT is_empty($$SELECT 1 FROM elt_mart.fct_kpi_daily k
                  WHERE k.active_users <> (SELECT count(DISTINCT user_id) FROM elt_raw.usage u WHERE u.usage_date = k.date)$$,
                'active users = distinct users with usage that day');
SELECT ok((SELECT count(DISTINCT movement) FROM elt_mart.fct_mrr_monthly) = 6, 'all six movements occur');

-- ---------------------------------------------------------------- determinism
CREATE TEMP TABLE b1_user AS SELECT * FROM elt_mart.dim_user;
CREATE TEMP TABLE b1_usage AS SELECT * FROM elt_mart.fct_usage_daily;
CREATE TEMP TABLE b1_mrr AS SELECT * FROM elt_mart.fct_mrr_monthly;
SET TimeZone = 'Pacific/Auckland';
SELECT lives_ok('SELECT * FROM elt_build_marts()', 'rebuild in another session time zone');
SET TimeZone = 'UTC';
SELECT bag_eq('SELECT * FROM elt_mart.dim_user', 'SELECT * FROM b1_user', 'dim_user: same rows whatever the time zone');
SELECT bag_eq('SELECT * FROM elt_mart.fct_usage_daily', 'SELECT * FROM b1_usage', 'fct_usage_daily: same rows, same keys');
SELECT bag_eq('SELECT * FROM elt_mart.fct_mrr_monthly', 'SELECT * FROM b1_mrr', 'fct_mrr_monthly: same rows');

-- ---------------------------------------------------------------- incremental = full
-- the marts as elt_update_marts leaves them, against a full rebuild, EXCEPT both ways
CREATE FUNCTION pg_temp.diff() RETURNS TABLE (tab text, missing bigint, extra bigint) LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY (SELECT array_agg(m.name ORDER BY m.ord) FROM elt.elt__mart_tables() m) LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.upd_%1$s; CREATE TEMP TABLE upd_%1$s AS SELECT * FROM elt_mart.%1$I', t);
    END LOOP;
    PERFORM * FROM elt_build_marts();
    FOREACH t IN ARRAY (SELECT array_agg(m.name ORDER BY m.ord) FROM elt.elt__mart_tables() m) LOOP
        tab := t;
        EXECUTE format('SELECT count(*) FROM (SELECT * FROM elt_mart.%1$I EXCEPT ALL SELECT * FROM pg_temp.upd_%1$s) x', t) INTO missing;
        EXECUTE format('SELECT count(*) FROM (SELECT * FROM pg_temp.upd_%1$s EXCEPT ALL SELECT * FROM elt_mart.%1$I) x', t) INTO extra;
        RETURN NEXT;
    END LOOP;
END $$;

-- one day: Mar 14 -> Mar 15
SELECT lives_ok($$SELECT * FROM elt_generate(400, 42, '2025-03-15', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances one day');
SELECT ok((SELECT sum(rows_written) FROM elt_update_marts('2025-03-15')) > 0, 'update_marts(old clock + 1) writes the changes');
SELECT is_empty('SELECT * FROM pg_temp.diff() WHERE missing <> 0 OR extra <> 0',
                'one day: incremental update = full rebuild, all seven tables');
SELECT ok((SELECT count(*) FROM elt_mart.dim_date WHERE date = '2025-03-15') = 1, 'the new day is in dim_date');

-- three weeks across a month end: Mar 15 -> Apr 5
SELECT lives_ok($$SELECT * FROM elt_generate(400, 42, '2025-04-05', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances three weeks');
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-03-16')$$, 'update_marts across a month end');
SELECT is_empty('SELECT * FROM pg_temp.diff() WHERE missing <> 0 OR extra <> 0',
                'across a month end: incremental update = full rebuild');

-- a refresh of one day touches only that day's rows
SELECT lives_ok($$SELECT * FROM elt_generate(400, 42, '2025-04-06', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances one more day');
SELECT ok((SELECT rows_written FROM elt_update_marts('2025-04-06') WHERE table_name = 'elt_mart.fct_usage_daily')
          = (SELECT count(*) FROM elt_raw.usage WHERE usage_date = '2025-04-06'),
          'a one-day refresh writes only that day''s usage facts');
SELECT is((SELECT rows_written FROM elt_update_marts('2025-04-07') WHERE table_name = 'elt_mart.fct_kpi_daily'), 0::bigint,
          'nothing new: nothing written');
-- since later than the marts: the missing days are caught up
SELECT lives_ok($$SELECT * FROM elt_generate(400, 42, '2025-04-09', start_date => '2024-05-01', build_marts => false)$$,
                'the source advances three days');
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-04-09')$$, 'update_marts with a since past the built days');
SELECT is_empty('SELECT * FROM pg_temp.diff() WHERE missing <> 0 OR extra <> 0',
                'days between the marts and since are caught up');
-- another window: a full build
SELECT lives_ok($$SELECT * FROM elt_generate(300, 7, '2025-02-01', build_marts => false)$$, 'another population');
SELECT lives_ok($$SELECT * FROM elt_update_marts('2025-02-01')$$, 'update_marts falls back to a full build');
SELECT is_empty('SELECT * FROM pg_temp.diff() WHERE missing <> 0 OR extra <> 0', 'new population: same as a full rebuild');
SELECT is((SELECT min(date) FROM elt_mart.dim_date), (SELECT start_date FROM elt.settings), 'dim_date follows the new window');

-- ---------------------------------------------------------------- foreign keys of the bulk path
SELECT throws_ok($$SELECT elt.elt__bulk_begin('elt_mart.fct_kpi_daily'); INSERT INTO elt_mart.fct_kpi_daily (date_key, date, signups, active_users,
                   paying_users, churned_users, mrr, arr, actions_performed, api_calls, storage_used_mb, active_minutes,
                   free_users, trials_started, trial_conversions, new_paying_users, reactivations, weekly_active_users, monthly_active_users)
                   VALUES (19000101, '1900-01-01', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                   SELECT elt.elt__bulk_end(true, 'elt_mart.fct_kpi_daily', 'date', NULL)$$,
                 '23503', NULL, 'the set-based key check of a bulk load catches a dangling key');
SELECT is(current_setting('session_replication_role'), 'origin', 'session_replication_role is back to origin');
-- a fact row with two dangling keys: both checks name the first constraint
-- it violates (in name order), the one over all rows and the one over the
-- rows from a day on (distinct keys looked up by index)
SELECT throws_ok($$SELECT elt.elt__bulk_begin('elt_mart.fct_usage_daily'); INSERT INTO elt_mart.fct_usage_daily (usage_date, subscription_id, date_key,
                   user_key, subscription_key, plan_key, user_id, usage_id, actions_performed, storage_used_mb, api_calls, active_minutes)
                   VALUES ('2999-01-01', 1, -1, 12345, 12345, -1, 1, 1, 0, 0, 0, 0);
                   SELECT elt.elt__bulk_end(true, 'elt_mart.fct_usage_daily', 'usage_date', NULL)$$,
                 '23503', 'insert or update on table "elt_mart.fct_usage_daily" violates foreign key constraint "fct_usage_daily_subscription_key_fkey"',
                 'bulk key check over all rows: the first constraint violated');
SELECT throws_ok($$SELECT elt.elt__bulk_begin('elt_mart.fct_usage_daily'); INSERT INTO elt_mart.fct_usage_daily (usage_date, subscription_id, date_key,
                   user_key, subscription_key, plan_key, user_id, usage_id, actions_performed, storage_used_mb, api_calls, active_minutes)
                   VALUES ('2999-01-01', 1, -1, 12345, 12345, -1, 1, 1, 0, 0, 0, 0);
                   SELECT elt.elt__bulk_end(true, 'elt_mart.fct_usage_daily', 'usage_date', '2999-01-01')$$,
                 '23503', 'insert or update on table "elt_mart.fct_usage_daily" violates foreign key constraint "fct_usage_daily_subscription_key_fkey"',
                 'bulk key check from a day on: the same constraint');
SELECT lives_ok($$SELECT elt.elt__bulk_begin('elt_mart.fct_usage_daily'); INSERT INTO elt_mart.fct_usage_daily (usage_date, subscription_id, date_key,
                   user_key, subscription_key, plan_key, user_id, usage_id, actions_performed, storage_used_mb, api_calls, active_minutes)
                   VALUES ('2999-01-01', 1, -1, -1, -1, -1, 1, 1, 0, 0, 0, 0);
                   SELECT elt.elt__bulk_end(true, 'elt_mart.fct_usage_daily', 'usage_date', '2999-01-01');
                   DELETE FROM elt_mart.fct_usage_daily WHERE usage_date = '2999-01-01'$$,
                'bulk key check from a day on: Unknown members pass');
SELECT is(current_setting('session_replication_role'), 'origin', 'elt__bulk_end switched session_replication_role back to origin');
-- bulk mode only where no trigger or rule of the user's would be skipped
SELECT is(elt.elt__bulk_begin('elt_mart.fct_kpi_daily'), true, 'bulk mode for a superuser and a table without triggers of its own');
SELECT is(current_setting('session_replication_role'), 'replica', '... which switches to replica');
SELECT set_config('session_replication_role', 'origin', true);
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NULL; END $f$;
CREATE TRIGGER mine AFTER INSERT ON elt_mart.fct_kpi_daily FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.noop();
SELECT is(elt.elt__bulk_begin('elt_mart.fct_kpi_daily'), false, 'no bulk mode for a table with a trigger of its own');
DROP TRIGGER mine ON elt_mart.fct_kpi_daily;
CREATE RULE mine AS ON INSERT TO elt_mart.fct_kpi_daily DO ALSO NOTIFY elt_test;
SELECT is(elt.elt__bulk_begin('elt_mart.fct_kpi_daily'), false, 'no bulk mode for a table with a rule');
DROP RULE mine ON elt_mart.fct_kpi_daily;
SELECT is(current_setting('session_replication_role'), 'origin', 'session_replication_role stayed origin');

-- ---------------------------------------------------------------- read-only role
CREATE ROLE elt_test_reader NOLOGIN;
SELECT lives_ok($$SELECT elt_grant_reader('elt_test_reader')$$, 'grant_reader');
SELECT ok(has_schema_privilege('elt_test_reader', 'elt_mart', 'USAGE'), 'reader: USAGE on elt_mart');
SELECT ok(NOT has_schema_privilege('elt_test_reader', 'elt_mart', 'CREATE'), 'reader: no CREATE on elt_mart');
SELECT ok(NOT has_schema_privilege('elt_test_reader', 'elt_raw', 'USAGE'), 'reader: no USAGE on elt_raw');
SELECT ok(has_schema_privilege('elt_test_reader', 'elt', 'USAGE') AND NOT has_schema_privilege('elt_test_reader', 'elt', 'CREATE'),
          'reader: USAGE on elt (what elt_status reads), no CREATE');
SELECT is_empty($$SELECT c.relname, p FROM pg_class c, unnest(ARRAY['INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                  WHERE c.relnamespace = 'elt_mart'::regnamespace AND c.relkind = 'r'
                    AND has_table_privilege('elt_test_reader', c.oid, p)$$, 'reader: no write privilege on any mart table');
SET ROLE elt_test_reader;
SELECT ok((SELECT count(*) FROM elt_mart.fct_kpi_daily) > 0, 'reader reads fct_kpi_daily');
SELECT ok((SELECT count(*) FROM elt_mart.dim_user u JOIN elt_mart.fct_usage_daily f USING (user_key)) > 0, 'reader joins facts and dimensions');
SELECT throws_ok($$INSERT INTO elt_mart.dim_plan (plan_key, plan_id, plan_name, feature_count, features) VALUES (99, 99, 'x', 0, '')$$,
                 '42501', NULL, 'reader cannot insert');
SELECT throws_ok('DELETE FROM elt_mart.fct_kpi_daily', '42501', NULL, 'reader cannot delete');
SELECT throws_ok('SELECT count(*) FROM elt_raw.users', '42501', NULL, 'reader cannot read elt_raw');
SELECT throws_ok('UPDATE elt.settings SET clock = clock', '42501', NULL, 'reader cannot write elt.settings');
SELECT throws_ok('SELECT * FROM elt_build_marts()', '42501', NULL, 'reader cannot rebuild the marts');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
