-- pgTAP: the realism targets of model versions 2 and 3, on a fixed population of
-- 5,000 first-year signups over two years (start 2023-07-01, as of
-- 2025-06-30; about 14,000 users).  Ranges are the model's targets; where
-- 5,000 users are too few for the target's own range the test says so.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(38);
SELECT count(*) FROM elt_generate(5000, 42, '2025-06-30', '2023-07-01', build_marts => true);

-- signups per day
CREATE TEMP TABLE su AS
SELECT d::date AS day, coalesce(n, 0) AS n
FROM generate_series(date '2023-07-01', date '2025-06-30', interval '1 day') d
LEFT JOIN (SELECT signup_date, count(*) AS n FROM elt_raw.users WHERE valid_to IS NULL GROUP BY 1) s
       ON s.signup_date = d::date;
CREATE TEMP TABLE su_fit AS
SELECT regr_slope(n, day - date '2023-07-01') AS slope, regr_intercept(n, day - date '2023-07-01') AS icpt FROM su;

SELECT is((SELECT sum(n)::int FROM su WHERE day < date '2024-06-30'), 5000,
          'exactly 5,000 signups in the first 365 days');
SELECT cmp_ok((SELECT avg((n - tr) ^ 2 / tr) FROM (
                 SELECT day, n, avg(n) OVER (ORDER BY day ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING) AS tr FROM su) x
               WHERE day BETWEEN date '2023-07-04' AND date '2025-06-27')::numeric, '>=', 0.8,
              'daily signups vary around their 7-day centred trend at least like Poisson counts');
SELECT ok((SELECT r BETWEEN 0.3 AND 0.8 FROM (
             SELECT avg(n) FILTER (WHERE extract(isodow FROM day) >= 6) / avg(n) FILTER (WHERE extract(isodow FROM day) < 6) AS r FROM su) x),
          'weekend signups per day are 0.3-0.8 of weekday signups');
SELECT ok((SELECT bool_and(r BETWEEN 0.5 AND 0.85) FROM (
             SELECT avg(n) FILTER (WHERE day BETWEEN make_date(y, 12, 20) AND make_date(y + 1, 1, 2)) /
                    avg(n) FILTER (WHERE day BETWEEN make_date(y, 11, 29) AND make_date(y, 12, 19)
                                      OR day BETWEEN make_date(y + 1, 1, 3) AND make_date(y + 1, 1, 23)) AS r
             FROM su, (VALUES (2023), (2024)) v(y) GROUP BY y) x),
          'year-end holidays (Dec 20 - Jan 2) get 0.5-0.85 of the signups of the three weeks either side');
-- month factors: signups over a straight line fitted to all days
CREATE TEMP TABLE mf AS
SELECT extract(month FROM day)::int AS mon, sum(n) / sum(f.icpt + f.slope * (day - date '2023-07-01')) AS factor
FROM su, su_fit f WHERE NOT (extract(month FROM day) = 1 AND extract(day FROM day) <= 2) GROUP BY 1;
SELECT ok((SELECT factor FROM mf WHERE mon = 1) > 1.1 AND (SELECT factor FROM mf WHERE mon = 9) > 1.1,
          'January and September signups peak above the trend');
-- campaign days: signups over 1.6 x the 15-day centred average
CREATE TEMP TABLE spike AS
SELECT day FROM (SELECT day, n, avg(n) OVER (ORDER BY day ROWS BETWEEN 7 PRECEDING AND 7 FOLLOWING) AS tr FROM su) x
WHERE n > 1.6 * tr;
SELECT cmp_ok((SELECT count(*)::int FROM spike), '>=', 5, 'acquisition campaigns make signup spikes');
SELECT cmp_ok((SELECT avg((referral_source_id IN (2, 3))::int) FROM elt_raw.users
               WHERE valid_to IS NULL AND signup_date IN (SELECT day FROM spike)), '>=', 0.65,
              'spike-day signups come mostly through Paid Ads and Social Media (55 % on other days)');

-- activity
CREATE TEMP TABLE ud AS SELECT user_id, usage_date, plan_id, subscription_id, api_calls FROM elt_raw.usage;
CREATE INDEX ON ud (user_id, usage_date);
ANALYZE ud;
CREATE TEMP TABLE dau AS SELECT usage_date, count(*) AS n FROM ud GROUP BY 1;
SELECT ok((SELECT r BETWEEN 0.25 AND 0.6 FROM (
             SELECT avg(n) FILTER (WHERE extract(isodow FROM usage_date) >= 6) /
                    avg(n) FILTER (WHERE extract(isodow FROM usage_date) < 6) AS r
             FROM dau WHERE usage_date >= date '2024-07-01') x),
          'weekend daily active users are 0.25-0.6 of weekday ones');
SELECT ok((SELECT r BETWEEN 0.03 AND 0.15 FROM (
             SELECT avg((NOT EXISTS (SELECT 1 FROM ud x WHERE x.user_id = s.user_id AND x.usage_date > date '2025-06-30' - 30))::int) AS r
             FROM (SELECT DISTINCT user_id FROM elt_raw.subscriptions
                   WHERE valid_to IS NULL AND plan_id > 1 AND status = 'active'
                     AND start_date <= date '2025-06-30' - 30 AND end_date > date '2025-06-30') s) x),
          '3-15 % of paying accounts did not use the product in the last 30 days');
SELECT ok((SELECT r BETWEEN 0.3 AND 0.7 FROM (
             SELECT avg((EXISTS (SELECT 1 FROM ud x WHERE x.user_id = u.user_id
                                   AND x.usage_date BETWEEN u.signup_date + 30 AND u.signup_date + 59))::int) AS r
             FROM elt_raw.users u WHERE valid_to IS NULL AND signup_date <= date '2025-06-30' - 60) x),
          '30-70 % of signups are active in days 31-60 after signup');
SELECT ok((SELECT r BETWEEN 0.02 AND 0.08 FROM (
             SELECT avg((EXISTS (SELECT 1 FROM elt_raw.subscriptions s WHERE s.user_id = f.user_id
                                   AND s.plan_id > 1 AND s.start_date <= f.signup_date + 365))::int) AS r
             FROM (SELECT DISTINCT ON (user_id) user_id, plan_id, signup_date FROM elt_raw.users ORDER BY user_id, valid_from) f
             WHERE plan_id = 1 AND signup_date <= date '2025-06-30' - 365) x),
          '2-8 % of free signups pay within 12 months');

-- revenue movements, months 2024-01 .. 2025-05
CREATE TEMP TABLE mv AS
SELECT month_start,
       count(*) FILTER (WHERE movement = 'churn')::numeric / count(*) FILTER (WHERE previous_mrr > 0) AS churn,
       sum(expansion_mrr) / sum(previous_mrr) AS expansion,
       -sum(contraction_mrr) / sum(previous_mrr) AS contraction
FROM elt_mart.fct_mrr_monthly WHERE month_start BETWEEN date '2024-01-01' AND date '2025-05-01' GROUP BY 1;
SELECT ok((SELECT avg(churn) BETWEEN 0.02 AND 0.06 FROM mv), 'monthly logo churn of paid accounts averages 2-6 %');
SELECT ok((SELECT avg(expansion) BETWEEN 0.01 AND 0.04 FROM mv), 'expansion MRR is 1-4 % of MRR a month');
SELECT ok((SELECT avg(contraction) BETWEEN 0.002 AND 0.02 FROM mv), 'contraction MRR is 0.2-2 % of MRR a month');

-- churn drivers, on paying user-months
CREATE TEMP TABLE um AS
SELECT f.user_id, f.month_start, (f.movement = 'churn')::int AS churned,
       (SELECT count(*) FROM ud x WHERE x.user_id = f.user_id
          AND x.usage_date >= f.month_start - interval '1 month' AND x.usage_date < f.month_start) AS act,
       (f.month_start - min(f.month_start) FILTER (WHERE f.movement = 'new') OVER (PARTITION BY f.user_id)) / 30 AS tenure,
       u.referral_source_id, f.previous_mrr
FROM elt_mart.fct_mrr_monthly f
JOIN elt_raw.users u ON u.user_id = f.user_id AND u.valid_to IS NULL
WHERE f.previous_mrr > 0 OR f.movement = 'new';
DELETE FROM um WHERE previous_mrr = 0 OR month_start < date '2023-09-01';
CREATE TEMP TABLE uq AS SELECT ntile(4) OVER (ORDER BY act) AS q, churned FROM um;
SELECT cmp_ok((SELECT avg(churned) FROM uq WHERE q = 1) / (SELECT avg(churned) FROM uq WHERE q = 4), '>=', 2.0::numeric,
              'the least engaged quartile (active days last month) churns at least twice as often as the most engaged');
SELECT cmp_ok((SELECT avg(churned) FROM um WHERE referral_source_id = 2) /
              (SELECT avg(churned) FROM um WHERE referral_source_id = 4), '>=', 1.3::numeric,
              'Paid Ads accounts churn at least 1.3 x as often as Friend referrals');
-- (Social Media has too few paying months at this size to rank it against Paid Ads)
SELECT ok((SELECT min(c) = (SELECT avg(churned) FROM um WHERE referral_source_id = 4)
                AND (SELECT avg(churned) FROM um WHERE referral_source_id = 2) > (SELECT avg(churned) FROM um)
           FROM (SELECT avg(churned) AS c FROM um GROUP BY referral_source_id) x),
          'Friend referrals stay longest; Paid Ads accounts churn more than the average');
SELECT cmp_ok((SELECT avg(churned) FROM um WHERE tenure <= 2), '>', (SELECT avg(churned) FROM um WHERE tenure >= 12),
              'churn falls with tenure');

-- 12-month cohorts: revenue of the first paying month's accounts a year later
CREATE TEMP TABLE coh AS
SELECT a.mrr AS m0, coalesce(b.mrr, 0) AS m12
FROM elt_mart.fct_mrr_monthly a
LEFT JOIN elt_mart.fct_mrr_monthly b ON b.user_id = a.user_id AND b.month_start = a.month_start + interval '12 months'
WHERE a.movement = 'new' AND a.month_start BETWEEN date '2023-08-01' AND date '2024-05-01';
SELECT ok((SELECT sum(m12) / sum(m0) BETWEEN 0.75 AND 1.10 FROM coh), '12-month net revenue retention 75-110 %');
SELECT ok((SELECT sum(least(m12, m0)) / sum(m0) BETWEEN 0.55 AND 0.90 FROM coh), '12-month gross revenue retention 55-90 %');

-- usage magnitudes, of account-months with at least 10 active days (so that
-- partial months and rare visitors do not make the tail)
CREATE TEMP TABLE ma AS
SELECT user_id, plan_id, date_trunc('month', usage_date) AS mo, sum(api_calls) AS api, count(*) AS days
FROM ud WHERE usage_date BETWEEN date '2024-07-01' AND date '2025-05-31' GROUP BY 1, 2, 3;
CREATE TEMP TABLE pq AS
SELECT plan_id, percentile_cont(0.1) WITHIN GROUP (ORDER BY api) AS p10, percentile_cont(0.5) WITHIN GROUP (ORDER BY api) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY api) AS p90, percentile_cont(0.99) WITHIN GROUP (ORDER BY api) AS p99
FROM ma WHERE days >= 10 GROUP BY 1;
SELECT is_empty($$SELECT * FROM pq WHERE plan_id > 1 AND NOT p99 >= 8 * p50$$,
                'monthly API calls of accounts on one paid plan (10+ active days) are heavy-tailed: p99 >= 8 x p50');
SELECT is_empty($$SELECT * FROM pq a JOIN pq b ON b.plan_id = a.plan_id + 1 WHERE NOT a.p90 > b.p10$$,
                'plans overlap: the busiest tenth of a plan uses more than the quietest tenth of the next');
SELECT ok((SELECT avg((api >= api_limit)::int) BETWEEN 0.005 AND 0.05 FROM (
             SELECT x.subscription_id, x.plan_id,
                    extract(year FROM age(x.usage_date, s.start_date)) * 12 + extract(month FROM age(x.usage_date, s.start_date)) AS period,
                    sum(x.api_calls) AS api
             FROM ud x JOIN elt_raw.subscriptions s ON s.subscription_id = x.subscription_id AND s.valid_to IS NULL
             WHERE x.plan_id > 1 GROUP BY 1, 2, 3) p JOIN elt_raw.plans USING (plan_id)),
          '0.5-5 % of paid subscription periods (with usage) exhaust the API quota');

-- storage (model 4): a level the account holds, grown by use, cleaned up
-- now and then, capped by the plan's limit
CREATE TEMP TABLE st AS
SELECT x.user_id, x.usage_date, x.storage_used_mb AS mb, lag(x.storage_used_mb) OVER w AS prev,
       x.usage_date - lag(x.usage_date) OVER w AS gap
FROM elt_raw.usage x WINDOW w AS (PARTITION BY x.user_id ORDER BY x.usage_date);
SELECT cmp_ok((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(mb - prev)::float8 / prev)
               FROM st WHERE gap <= 7 AND prev > 0)::numeric, '<', 0.05::numeric,
              'storage held is a level: from one active day to the next (within a week) it changes by under 5 % (median)');
SELECT ok((SELECT avg((mb < 0.85 * prev)::int) BETWEEN 0.003 AND 0.03 FROM st WHERE gap <= 7),
          'clean-ups: 0.3-3 % of consecutive active days (within a week) drop the storage held by over 15 %');
SELECT ok((SELECT avg((m6 > m1)::int) >= 0.8 FROM (
             SELECT x.user_id, avg(x.mb) FILTER (WHERE x.usage_date - u.signup_date BETWEEN 20 AND 40) AS m1,
                    avg(x.mb) FILTER (WHERE x.usage_date - u.signup_date BETWEEN 170 AND 190) AS m6
             FROM st x JOIN elt_raw.users u ON u.user_id = x.user_id AND u.valid_to IS NULL GROUP BY 1) a
           WHERE m1 IS NOT NULL AND m6 IS NOT NULL),
          'storage grows with use: at least 80 % of accounts hold more after six months than after one');
SELECT ok((SELECT avg((f.storage_exhausted_on IS NOT NULL)::int) BETWEEN 0.003 AND 0.05
           FROM elt_mart.fct_usage_period f JOIN elt_mart.dim_plan p USING (plan_key) WHERE p.plan_id > 1),
          '0.3-5 % of paid quota periods (with usage) reach the storage limit');
SELECT ok((SELECT avg((EXISTS (SELECT 1 FROM elt_mart.fct_usage_daily d
                               WHERE d.subscription_id = f.subscription_id AND d.period_start = f.period_start
                                 AND d.usage_date > f.storage_exhausted_on))::int) >= 0.5
           FROM elt_mart.fct_usage_period f WHERE f.storage_exhausted_on IS NOT NULL),
          'a full storage does not stop the account: most periods that reach the limit have usage after that day');

-- billing (model 3): trials, yearly billing, failed payments, discounts, seats
CREATE TEMP TABLE sv AS SELECT * FROM elt_raw.subscriptions;
CREATE INDEX ON sv (subscription_id, valid_from);
CREATE INDEX ON sv (user_id);
ANALYZE sv;
SELECT ok((SELECT avg((EXISTS (SELECT 1 FROM sv a WHERE a.subscription_id = t.subscription_id
                                 AND a.status IN ('active', 'past_due', 'cancelled')))::int) BETWEEN 0.12 AND 0.35
           FROM sv t WHERE t.status = 'trialing' AND t.end_date <= date '2025-06-30'),
          'trial-to-paid conversion is 12-35 %');
SELECT ok((SELECT avg((billing_interval = 'year')::int) BETWEEN 0.15 AND 0.40
           FROM sv WHERE valid_to IS NULL AND mrr > 0 AND end_date > date '2025-06-30'),
          'yearly billing is 15-40 % of paid subscriptions');
SELECT ok((SELECT avg((end_date = valid_from::date)::int) BETWEEN 0.15 AND 0.45
           FROM sv WHERE valid_to IS NULL AND status = 'cancelled' AND end_date <= date '2025-06-30'),
          'involuntary churn (a failed payment never recovered) is 15-45 % of paid churn');
SELECT ok((SELECT count(*) FILTER (WHERE status = 'cancelled' AND end_date <= date '2025-06-30')::numeric /
                  count(*) FILTER (WHERE status = 'active' AND renewal_count >= 0) BETWEEN 0.02 AND 0.06
           FROM (SELECT DISTINCT ON (subscription_id, renewal_count) * FROM sv
                 WHERE billing_interval = 'month' AND mrr > 0 OR status = 'cancelled' AND billing_interval = 'month'
                 ORDER BY subscription_id, renewal_count, valid_from DESC) x
           WHERE valid_from >= timestamptz '2024-07-01 00:00+00'),
          'monthly logo churn of monthly-billed paid subscriptions is 2-6 %');
SELECT ok((SELECT avg((EXISTS (SELECT 1 FROM sv p WHERE p.user_id = u.user_id AND p.mrr > 0
                                 AND p.valid_from < u.signup_date + 365))::int) BETWEEN 0.02 AND 0.08
           FROM elt_raw.users u WHERE u.valid_from = u.signup_date AND u.plan_id = 1 AND u.signup_date <= date '2024-06-30'),
          '2-8 % of free signups pay within 12 months');
SELECT is_empty($$SELECT 1 FROM sv s JOIN elt_raw.plans p USING (plan_id)
                  WHERE s.mrr <> CASE WHEN s.status = 'trialing' OR s.end_date <= s.valid_from::date THEN 0
                                      ELSE trunc(trunc(p.monthly_price * 100 * CASE s.billing_interval WHEN 'year' THEN 10 ELSE 12 END / 12)
                                                 * (100 - s.discount_pct) / 100) / 100 END
                    AND s.status <> 'expired'$$,
                'mrr is the monthly price (10/12 of it when yearly) less the discount; 0 while trialing and once ended');
SELECT is_empty($$SELECT 1 FROM sv s JOIN elt_raw.plans p USING (plan_id) WHERE s.seats > COALESCE(p.max_users, 1000)$$,
                'seats never exceed the plan''s max_users');
SELECT ok((SELECT count(DISTINCT seats) >= 20 FROM sv WHERE plan_id >= 4),
          'seats vary across accounts');
SELECT ok((SELECT count(*) FILTER (WHERE discount_pct > 0) > 0 AND count(*) FILTER (WHERE status = 'past_due') > 0
           FROM sv), 'some subscriptions are discounted and some renewals go past due');
SELECT ok((SELECT count(*) FROM sv a JOIN sv b ON b.subscription_id = a.subscription_id AND b.valid_from = a.valid_to
           WHERE a.status = 'past_due' AND b.status = 'active') > 0,
          'failed payments are mostly recovered: past_due is followed by active again');

SELECT * FROM finish();
ROLLBACK;
