-- The extension installs in a database without pg_cron, its lookup SRFs
-- return exactly the rows of the source model, and it drops cleanly.
SELECT count(*) AS pg_cron_here FROM pg_extension WHERE extname = 'pg_cron';
CREATE EXTENSION elt;
SELECT * FROM elt_regions();
SELECT * FROM elt_referral_sources();
SELECT * FROM elt_payment_methods();
SELECT * FROM elt_plans();
SELECT plan_id, count(*) AS features, string_agg(feature_name, ', ' ORDER BY feature_id)
FROM elt_plan_features() GROUP BY plan_id ORDER BY plan_id;
SELECT count(*) AS features, count(DISTINCT feature_id) AS ids FROM elt_plan_features();
DROP EXTENSION elt;
SELECT count(*) AS elt_functions_left FROM pg_proc WHERE proname LIKE 'elt\_%';
CREATE EXTENSION elt;
DROP EXTENSION elt;
