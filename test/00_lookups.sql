-- pgTAP: the extension and its lookup functions.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SELECT plan(12);

SELECT has_extension('elt');
SELECT has_function('elt_regions');
SELECT has_function('elt_plans');
SELECT set_eq('SELECT region_name FROM elt_regions()',
  ARRAY['North America','Europe','Asia','South America','Africa','Oceania'],
  'the six regions');
SELECT set_eq('SELECT referral_source_name FROM elt_referral_sources()',
  ARRAY['Web Search','Paid Ads','Social Media','Friend'], 'the four referral sources');
SELECT set_eq('SELECT payment_method_name FROM elt_payment_methods()',
  ARRAY['Credit Card','PayPal','Bank Transfer','N/A'], 'the four payment methods');
SELECT results_eq(
  'SELECT plan_name, monthly_price, max_users, api_limit, storage_limit_mb, project_limit FROM elt_plans() ORDER BY plan_id',
  $$VALUES ('Free', 0::numeric, 2, 100, 500, 3),
           ('Starter', 15, 5, 1000, 5000, 10),
           ('Professional', 49, 20, 10000, 50000, 50),
           ('Business', 99, 100, 50000, 200000, 200),
           ('Enterprise', 299, NULL, 250000, 1000000, NULL)$$,
  'plans with prices and limits (NULL = unlimited)');
SELECT is((SELECT count(*)::int FROM elt_plan_features()), 43, '43 plan features');
SELECT is_empty('SELECT f.plan_id FROM elt_plan_features() f LEFT JOIN elt_plans() p USING (plan_id) WHERE p.plan_id IS NULL',
  'every feature belongs to a plan');
SELECT is_empty('SELECT plan_id, feature_name FROM elt_plan_features() GROUP BY 1, 2 HAVING count(*) > 1',
  'no feature is listed twice for a plan');
SELECT is((SELECT count(DISTINCT obj_description(p.oid, 'pg_proc'))::int FROM pg_proc p
           WHERE proname IN ('elt_regions','elt_referral_sources','elt_payment_methods','elt_plans','elt_plan_features')),
          5, 'every lookup function has its own comment');
SELECT hasnt_extension('pg_cron', 'elt installs without pg_cron in this database');

SELECT * FROM finish();
ROLLBACK;
