-- pgTAP: at 10k users the mixes land within 3 points of their targets.
-- Without trials: trials convert engaged users more often, so with them the
-- paying accounts this reads engagement from are no sample of the signups.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SELECT plan(4);
SELECT elt_generate(10000, 42, '2025-06-30', build_marts => false, params => '{"trial_days": 0}');

CREATE TEMP TABLE mix (what text, id int, pct numeric, target numeric);
-- plan at signup: 33/27/18/16/6
INSERT INTO mix
SELECT 'plan', plan_id, 100.0 * count(*) / sum(count(*)) OVER (), (ARRAY[33,27,18,16,6])[plan_id]
FROM (SELECT DISTINCT ON (user_id) plan_id FROM elt_raw.users ORDER BY user_id, valid_from) f GROUP BY plan_id;
-- referral: 20/45/10/25
INSERT INTO mix
SELECT 'referral', referral_source_id, 100.0 * count(*) / sum(count(*)) OVER (), (ARRAY[20,45,10,25])[referral_source_id]
FROM elt_raw.users WHERE valid_to IS NULL AND signup_date < (SELECT start_date + 90 FROM elt.settings)  -- before the mix drifts
GROUP BY referral_source_id;
-- payment of paid subscriptions: 60/30/10
INSERT INTO mix
SELECT 'payment', payment_method_id, 100.0 * count(*) / sum(count(*)) OVER (), (ARRAY[60,30,10])[payment_method_id]
FROM elt_raw.subscriptions WHERE valid_to IS NULL AND plan_id > 1 GROUP BY payment_method_id;
-- engagement, read off the share of active days of users on plans whose
-- quotas rarely bind (Professional and up, 45+ days): heavy 15 / moderate 40 / light 45
INSERT INTO mix
WITH cov AS (
    SELECT user_id, sum(least(coalesce(end_date, '2025-07-01'), '2025-07-01') - start_date) AS days
    FROM elt_raw.subscriptions WHERE valid_to IS NULL GROUP BY user_id HAVING min(plan_id) >= 3),
act AS (SELECT user_id, count(*) AS n FROM elt_raw.usage GROUP BY user_id),
r AS (SELECT coalesce(a.n, 0)::numeric / c.days AS ratio FROM cov c LEFT JOIN act a USING (user_id) WHERE c.days >= 45),
k AS (SELECT CASE WHEN ratio > 0.66 THEN 1 WHEN ratio > 0.29 THEN 2 ELSE 3 END AS level FROM r)
SELECT 'engagement', level, 100.0 * count(*) / sum(count(*)) OVER (), (ARRAY[15,40,45])[level] FROM k GROUP BY level;

SELECT is_empty($$SELECT * FROM mix WHERE what = 'plan' AND abs(pct - target) > 3$$, 'plan mix 33/27/18/16/6 within 3 points');
SELECT is_empty($$SELECT * FROM mix WHERE what = 'referral' AND abs(pct - target) > 3$$, 'referral mix 20/45/10/25 within 3 points');
SELECT is_empty($$SELECT * FROM mix WHERE what = 'payment' AND abs(pct - target) > 3$$, 'payment mix 60/30/10 within 3 points');
SELECT is_empty($$SELECT * FROM mix WHERE what = 'engagement' AND abs(pct - target) > 3$$, 'engagement 15/40/45 within 3 points');

SELECT * FROM finish();
ROLLBACK;
