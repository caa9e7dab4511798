-- elt_mart on a tiny hand-made source: three users over Jan 1 - Apr 10, 2025.
--   Ada   (101): Free from Jan 5, converts to Starter (15) on Feb 5, renews monthly.
--   Grace (202): Professional (49) from Jan 10, changes email on Feb 20, moves up
--                to Business (99) on Mar 10 (the old subscription expires).
--   Alan  (303): Starter from Jan 20, cancels on Feb 15 (paid through Feb 20),
--                comes back on Mar 25 with a new Starter subscription.
-- First the source as of Mar 31 (full build), then the changes of Apr 1-10
-- (incremental update), then a check that a full rebuild gives the same.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET extra_float_digits = 0;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS elt;   -- an earlier test may leave it installed
CREATE EXTENSION elt;
\set SHOW_CONTEXT never

INSERT INTO elt_raw.regions SELECT * FROM elt_regions();
INSERT INTO elt_raw.referral_sources SELECT * FROM elt_referral_sources();
INSERT INTO elt_raw.payment_methods SELECT * FROM elt_payment_methods();
INSERT INTO elt_raw.plans SELECT * FROM elt_plans();
INSERT INTO elt_raw.plan_features SELECT * FROM elt_plan_features();
INSERT INTO elt.settings (seed, users, start_date, clock, generated_at)
VALUES (0, 3, '2025-01-01', '2025-03-31', now());

-- the source as of Mar 31
INSERT INTO elt_raw.users VALUES
 (101, 'Ada',   'Lovelace', 'ada@example.com',          '2025-01-05', 1, 2, 1, '2025-01-05', '2025-02-05'),
 (101, 'Ada',   'Lovelace', 'ada@example.com',          '2025-01-05', 2, 2, 1, '2025-02-05', NULL),
 (202, 'Grace', 'Hopper',   'grace@example.com',        '2025-01-10', 3, 1, 4, '2025-01-10', '2025-02-20'),
 (202, 'Grace', 'Hopper',   'grace.hopper@example.com', '2025-01-10', 3, 1, 4, '2025-02-20', '2025-03-10'),
 (202, 'Grace', 'Hopper',   'grace.hopper@example.com', '2025-01-10', 4, 1, 4, '2025-03-10', NULL),
 (303, 'Alan',  'Turing',   'alan@example.com',         '2025-01-20', 2, 3, 2, '2025-01-20', NULL);
-- ..., billing_interval, seats, discount_pct, trial_end, mrr (monthly, one seat, list price while paying)
INSERT INTO elt_raw.subscriptions VALUES
 (1001, 101, 1, '2025-01-05', NULL,         4, 'active',    0, '2025-01-05', '2025-02-05', 'month', 1, 0, NULL, 0),
 (1001, 101, 1, '2025-01-05', '2025-02-05', 4, 'expired',   0, '2025-02-05', NULL, 'month', 1, 0, NULL, 0),
 (1002, 101, 2, '2025-02-05', '2025-03-05', 1, 'active',    0, '2025-02-05', '2025-03-05', 'month', 1, 0, NULL, 15),
 (1002, 101, 2, '2025-02-05', '2025-04-05', 1, 'active',    1, '2025-03-05', NULL, 'month', 1, 0, NULL, 15),
 (2001, 202, 3, '2025-01-10', '2025-02-10', 2, 'active',    0, '2025-01-10', '2025-02-10', 'month', 1, 0, NULL, 49),
 (2001, 202, 3, '2025-01-10', '2025-03-10', 2, 'active',    1, '2025-02-10', '2025-03-10', 'month', 1, 0, NULL, 49),
 (2001, 202, 3, '2025-01-10', '2025-03-10', 2, 'expired',   1, '2025-03-10', NULL, 'month', 1, 0, NULL, 0),
 (2002, 202, 4, '2025-03-10', '2025-04-10', 2, 'active',    0, '2025-03-10', NULL, 'month', 1, 0, NULL, 99),
 (3001, 303, 2, '2025-01-20', '2025-02-20', 3, 'active',    0, '2025-01-20', '2025-02-15', 'month', 1, 0, NULL, 15),
 (3001, 303, 2, '2025-01-20', '2025-02-20', 3, 'cancelled', 0, '2025-02-15', NULL, 'month', 1, 0, NULL, 15),
 (3002, 303, 2, '2025-03-25', '2025-04-25', 1, 'active',    0, '2025-03-25', NULL, 'month', 1, 0, NULL, 15);
-- usage_id, user_id, plan_id, subscription_id, usage_date, actions, storage_mb, api_calls, minutes
INSERT INTO elt_raw.usage VALUES
 (1, 101, 1, 1001, '2025-01-06',  5,   100,   30, 10),
 (2, 101, 1, 1001, '2025-01-20',  7,   200,   50, 12),
 (3, 202, 3, 2001, '2025-01-31', 40,  5000, 2000, 90),
 (4, 101, 2, 1002, '2025-02-05', 10,  1000,  100, 20),
 (5, 303, 2, 3001, '2025-02-16',  1,    10,   10,  3),
 (6, 202, 3, 2001, '2025-02-20', 30,     0, 1000, 60),
 (7, 101, 2, 1002, '2025-03-04', 12,   500,  200, 25),
 (8, 101, 2, 1002, '2025-03-05',  2,    50,   50,  5),
 (9, 202, 4, 2002, '2025-03-31', 80, 20000, 5000, 120),
 (10, 303, 2, 3002, '2025-03-31', 9,  5000, 1000, 30);

SELECT * FROM elt_build_marts();

-- Dimensions.  Keys: yyyymmdd; plan_id; id * 65536 + version ordinal.
SELECT count(*) AS days, min(date), max(date), count(*) FILTER (WHERE is_month_end) AS month_ends,
       count(*) FILTER (WHERE is_weekend) AS weekend_days
FROM elt_mart.dim_date WHERE date_key <> -1;
SELECT * FROM elt_mart.dim_date WHERE date_key IN (-1, 20250101, 20250228, 20250331) ORDER BY date_key;
SELECT plan_key, plan_name, monthly_price, annual_price, is_paid, max_users, api_limit, storage_limit_mb,
       project_limit, feature_count
FROM elt_mart.dim_plan ORDER BY plan_key;
SELECT user_key, user_id, version_ordinal AS v, full_name, email, signup_date, plan_name, region_name,
       referral_source_name, valid_from::date, valid_to::date, is_current
FROM elt_mart.dim_user ORDER BY user_key;
SELECT subscription_key, subscription_id AS id, version_ordinal AS v, user_id, plan_name, monthly_price AS price,
       payment_method_name, status, start_date, end_date, renewal_count AS renewals,
       valid_from::date, valid_to::date, is_current
FROM elt_mart.dim_subscription ORDER BY subscription_key;

-- Usage, point-in-time keys and quota use in each monthly period.
SELECT usage_date, subscription_id AS sub, user_key - user_id * 65536 AS user_v,
       subscription_key - subscription_id * 65536 AS sub_v, plan_key AS plan, api_calls, storage_used_mb AS mb,
       period_start, period_api_calls AS period_api, period_storage_used_mb AS period_mb,
       api_quota_used_pct AS api_pct, storage_quota_used_pct AS mb_pct
FROM elt_mart.fct_usage_daily ORDER BY usage_date, subscription_id;

-- MRR per user and month, measured on Jan 31, Feb 28 and Mar 31.
SELECT month_start, user_id, date_key, user_key - user_id * 65536 AS user_v, plan_key AS plan,
       mrr, previous_mrr AS prev, mrr_change AS change, movement,
       new_mrr AS new, expansion_mrr AS exp, contraction_mrr AS contr, churned_mrr AS churn,
       reactivation_mrr AS react
FROM elt_mart.fct_mrr_monthly ORDER BY month_start, user_id;
SELECT month_start, sum(mrr) AS mrr, sum(mrr_change) AS change,
       sum(new_mrr) AS new, sum(expansion_mrr) AS exp, sum(churned_mrr) AS churn, sum(reactivation_mrr) AS react
FROM elt_mart.fct_mrr_monthly GROUP BY month_start ORDER BY month_start;

-- KPIs on the days something happens.
SELECT date, signups, active_users AS active, paying_users AS paying, churned_users AS churned, mrr, arr,
       api_calls, storage_used_mb AS mb
FROM elt_mart.fct_kpi_daily
WHERE date IN ('2025-01-04', '2025-01-05', '2025-01-06', '2025-01-10', '2025-01-20', '2025-01-31',
               '2025-02-05', '2025-02-19', '2025-02-20', '2025-03-10', '2025-03-25', '2025-03-31')
ORDER BY date;
SELECT count(*) AS days, sum(signups) AS signups, sum(churned_users) AS churned,
       sum(api_calls) AS api_calls FROM elt_mart.fct_kpi_daily;

-- Apr 1-10: Ada renews on Apr 5, Grace renews on Apr 10, and a usage row
-- arrives for a user and subscription the source does not know.
UPDATE elt_raw.subscriptions SET valid_to = '2025-04-05' WHERE subscription_id = 1002 AND valid_to IS NULL;
UPDATE elt_raw.subscriptions SET valid_to = '2025-04-10' WHERE subscription_id = 2002 AND valid_to IS NULL;
INSERT INTO elt_raw.subscriptions VALUES
 (1002, 101, 2, '2025-02-05', '2025-05-05', 1, 'active', 2, '2025-04-05', NULL, 'month', 1, 0, NULL, 15),
 (2002, 202, 4, '2025-03-10', '2025-05-10', 2, 'active', 1, '2025-04-10', NULL, 'month', 1, 0, NULL, 99);
INSERT INTO elt_raw.usage VALUES (11, 404, 1, 9999, '2025-04-02', 1, 1, 1, 1);
UPDATE elt.settings SET clock = '2025-04-10';

SELECT * FROM elt_update_marts('2025-04-01');

SELECT subscription_key - subscription_id * 65536 AS v, subscription_id AS id, status, end_date,
       renewal_count AS renewals, valid_from::date, valid_to::date, is_current
FROM elt_mart.dim_subscription WHERE subscription_id IN (1002, 2002) ORDER BY subscription_key;
-- the unknown user and subscription point at the Unknown members (-1)
SELECT usage_date, subscription_id AS sub, user_key, subscription_key, plan_key, date_key, period_start,
       api_quota_used_pct AS api_pct
FROM elt_mart.fct_usage_daily WHERE usage_date >= '2025-04-01';
-- March is now measured on Mar 31 for good, April on the clock day
SELECT month_start, user_id, date_key, mrr, previous_mrr AS prev, movement
FROM elt_mart.fct_mrr_monthly WHERE month_start >= '2025-03-01' ORDER BY month_start, user_id;
SELECT date, signups, active_users AS active, paying_users AS paying, churned_users AS churned, mrr, arr
FROM elt_mart.fct_kpi_daily WHERE date >= '2025-03-31' AND date IN ('2025-03-31', '2025-04-02', '2025-04-10')
ORDER BY date;

-- A full rebuild gives exactly what the update gave.
CREATE TEMP TABLE upd_usage AS SELECT * FROM elt_mart.fct_usage_daily;
CREATE TEMP TABLE upd_mrr AS SELECT * FROM elt_mart.fct_mrr_monthly;
CREATE TEMP TABLE upd_kpi AS SELECT * FROM elt_mart.fct_kpi_daily;
CREATE TEMP TABLE upd_sub AS SELECT * FROM elt_mart.dim_subscription;
CREATE TEMP TABLE upd_user AS SELECT * FROM elt_mart.dim_user;
CREATE TEMP TABLE upd_date AS SELECT * FROM elt_mart.dim_date;
SELECT * FROM elt_build_marts();
SELECT (SELECT count(*) FROM (TABLE upd_usage EXCEPT TABLE elt_mart.fct_usage_daily) a)
     + (SELECT count(*) FROM (TABLE elt_mart.fct_usage_daily EXCEPT TABLE upd_usage) a) AS usage_diff,
       (SELECT count(*) FROM (TABLE upd_mrr EXCEPT TABLE elt_mart.fct_mrr_monthly) a)
     + (SELECT count(*) FROM (TABLE elt_mart.fct_mrr_monthly EXCEPT TABLE upd_mrr) a) AS mrr_diff,
       (SELECT count(*) FROM (TABLE upd_kpi EXCEPT TABLE elt_mart.fct_kpi_daily) a)
     + (SELECT count(*) FROM (TABLE elt_mart.fct_kpi_daily EXCEPT TABLE upd_kpi) a) AS kpi_diff,
       (SELECT count(*) FROM (TABLE upd_sub EXCEPT TABLE elt_mart.dim_subscription) a)
     + (SELECT count(*) FROM (TABLE elt_mart.dim_subscription EXCEPT TABLE upd_sub) a) AS sub_diff,
       (SELECT count(*) FROM (TABLE upd_user EXCEPT TABLE elt_mart.dim_user) a)
     + (SELECT count(*) FROM (TABLE elt_mart.dim_user EXCEPT TABLE upd_user) a) AS user_diff,
       (SELECT count(*) FROM (TABLE upd_date EXCEPT TABLE elt_mart.dim_date) a)
     + (SELECT count(*) FROM (TABLE elt_mart.dim_date EXCEPT TABLE upd_date) a) AS date_diff;

-- Bad input: a clear error with its SQLSTATE, nothing written.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.err('SELECT * FROM elt_update_marts(NULL)');
SELECT pg_temp.err('SELECT * FROM elt_update_marts(''infinity'')');
SELECT pg_temp.err('SELECT elt_grant_reader(NULL)');
SELECT pg_temp.err('SELECT elt_grant_reader(''no_such_role'')');
DELETE FROM elt.settings;
SELECT pg_temp.err('SELECT * FROM elt_build_marts()');
SELECT pg_temp.err('SELECT elt_build_fct_kpi_daily()');
SELECT count(*) AS kpi_rows_still FROM elt_mart.fct_kpi_daily;

DROP EXTENSION elt;
SELECT count(*) AS mart_tables_left FROM pg_tables WHERE schemaname = 'elt_mart';
