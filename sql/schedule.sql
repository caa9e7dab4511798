-- Scheduling in a database where pg_cron is not installed (the suite's
-- pg_cron lives in database "postgres"): clear errors, nothing scheduled.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS elt CASCADE;  -- whatever earlier tests left
RESET client_min_messages;
SET DateStyle = 'ISO, YMD';
CREATE EXTENSION elt;
\set SHOW_CONTEXT never
SELECT count(*) AS pg_cron_here FROM pg_extension WHERE extname = 'pg_cron';
SELECT count(*) > 0 AS generated FROM elt_generate(20, 1, '2024-01-31', build_marts => false);
SELECT elt_schedule();
SELECT elt_schedule('* * * * *', 1);
SELECT elt_schedule(NULL);
SELECT elt_schedule('* * * * *', 0);
SELECT elt_unschedule() AS removed;
SELECT kind, name, status, detail FROM elt_status() WHERE kind <> 'run';
DROP EXTENSION elt;
