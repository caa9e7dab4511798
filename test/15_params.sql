-- pgTAP: the business parameters (elt_params(), params on elt_generate and
-- the generators, presets, bad values, elt_refresh continuing with them).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(24);

SELECT is((SELECT count(*)::int FROM elt_params()), 14, 'elt_params() lists 14 parameters');
SELECT is((SELECT value FROM elt_params() WHERE name = 'preset'), '"b2b"'::jsonb, 'the default preset is b2b');
SELECT ok((SELECT bool_and(value = default_value) FROM elt_params()), 'with no params every value is its default');
SELECT is((SELECT value FROM elt_params('{"preset": "freemium"}') WHERE name = 'trial_days'), '0'::jsonb,
          'a preset sets the other parameters (freemium: no trials)');
SELECT is((SELECT value FROM elt_params('{"preset": "enterprise", "trial_days": 7}') WHERE name = 'trial_days'), '7'::jsonb,
          'a parameter given overrides its preset');
SELECT is((SELECT value -> 'Free' FROM elt_params('{"plan_mix": {"Free": 1, "Starter": 1}}') WHERE name = 'plan_mix'), '1'::jsonb,
          'a mix is weights by name; names left out weigh 0');

-- bad values: 22023 naming the key, before anything is written
SELECT count(*) FROM elt_generate(300, 3, '2025-03-31', build_marts => false);
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM elt_raw.users) AS u, (SELECT generated_at FROM elt.settings) AS g;
SELECT throws_ok($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"montly_churn": 0.03}')$$,
                 '22023', 'unknown parameter "montly_churn"', 'an unknown key: 22023 naming it');
SELECT throws_ok($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"monthly_churn": 0.9}')$$,
                 '22023', 'invalid value for parameter "monthly_churn": out of range', 'a value out of range: 22023');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"trial_days": 1.5}')$$,
                   '%"trial_days": not an integer%', 'trial_days must be an integer');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"annual_share": "high"}')$$,
                   '%"annual_share": not a number%', 'a number must be a number');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"preset": "saas"}')$$,
                   '%unknown preset "saas"%', 'an unknown preset');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"region_mix": {"Mars": 3}}')$$,
                   '%unknown name "Mars"%', 'a mix with an unknown name');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"plan_mix": {"Free": 0}}')$$,
                   '%all weights are 0%', 'a mix of zeros');
SELECT throws_like($$SELECT elt_generate(300, 3, '2025-03-31', params => '{"channel_mix": {"Friend": 0.5, "Paid Ads": 0.5}}')$$,
                   '%the weight of "Friend" is not a whole number%', 'mix weights are whole numbers');
SELECT throws_ok($$SELECT elt_generate(300, 3, '2025-03-31', params => '[1]')$$, '22023', 'params must be a JSON object',
                 'params must be an object');
SELECT throws_ok($$SELECT elt_generate(300, 3, '2025-03-31', params => NULL)$$, '22004', 'params must not be NULL',
                 'params must not be NULL');
SELECT throws_ok($$SELECT * FROM elt_users(100, params => '{"seasonality": -1}')$$, '22023', NULL,
                 'the generators check params too');
SELECT ok((SELECT (SELECT count(*) FROM elt_raw.users) = b.u AND (SELECT generated_at FROM elt.settings) = b.g FROM before b),
          'nothing was written by the failed calls');

-- presets and parameters change the business
SELECT count(*) FROM elt_generate(2000, 5, '2025-06-30', build_marts => false, params => '{"preset": "freemium"}');
SELECT is((SELECT count(*)::int FROM elt_raw.subscriptions WHERE status = 'trialing'), 0, 'freemium: no trials');
SELECT ok((SELECT avg((plan_id = 1)::int) > 0.6 FROM elt_raw.users WHERE valid_from = signup_date),
          'freemium: most signups choose the free plan');
SELECT is((SELECT params ->> 'preset' FROM elt.settings), 'freemium', 'elt.settings keeps the parameters in force');
CREATE TEMP TABLE ent AS
SELECT avg((billing_interval = 'year')::int) AS annual FROM elt_subscriptions(2000, 5, '2025-06-30', history => false,
                                                                             params => '{"preset": "enterprise"}') WHERE mrr > 0;
CREATE TEMP TABLE b2b AS
SELECT avg((billing_interval = 'year')::int) AS annual FROM elt_subscriptions(2000, 5, '2025-06-30', history => false) WHERE mrr > 0;
SELECT ok((SELECT ent.annual > 1.5 * b2b.annual FROM ent, b2b), 'enterprise: yearly billing much more common than in b2b');
SELECT ok((SELECT count(*) FILTER (WHERE status = 'cancelled') FROM elt_subscriptions(2000, 5, '2025-06-30', history => false,
                                                                                      params => '{"monthly_churn": 0.12}')) >
          2 * (SELECT count(*) FILTER (WHERE status = 'cancelled') FROM elt_subscriptions(2000, 5, '2025-06-30', history => false)),
          'a higher monthly_churn churns more');

-- elt_refresh continues with the parameters in force
SELECT count(*) FROM elt_generate(800, 9, '2025-01-29', params => '{"failed_payment_rate": 0.3, "trial_days": 30}');
SELECT count(*) FROM elt_refresh(4);
SELECT is((SELECT md5(string_agg(s::text, ',' ORDER BY s.subscription_id, s.valid_from)) FROM elt_raw.subscriptions s),
          (SELECT md5(string_agg(s::text, ',' ORDER BY s.subscription_id, s.valid_from))
           FROM elt_subscriptions(800, 9, '2025-02-02', (SELECT start_date FROM elt.settings), params => '{"failed_payment_rate": 0.3, "trial_days": 30}') s),
          'generate + refresh(4) with parameters = the generators at the new day with the same parameters');

SELECT * FROM finish();
ROLLBACK;
