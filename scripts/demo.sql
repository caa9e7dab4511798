-- The demo's main job: a year of a 1000-user SaaS up to today, then a
-- time-lapse: pg_cron advances the simulated clock one day every minute.
\echo == elt_generate(1000): a year of history up to today
SELECT * FROM elt_generate(1000);
\echo == elt_schedule: refresh one simulated day every minute (pg_cron)
SELECT elt_schedule('* * * * *', days => 1) AS job_id;
\echo == a taste of the marts: MRR by month
SELECT month_start, sum(mrr) AS mrr, count(*) FILTER (WHERE mrr > 0) AS paying_users
FROM elt_mart.fct_mrr_monthly GROUP BY month_start ORDER BY month_start DESC LIMIT 6;
\echo == status
SELECT kind, name, status, left(detail, 90) AS detail FROM elt_status();
