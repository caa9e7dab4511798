-- The demo's first run: a year of a SaaS up to today (:users users, seed 42),
-- kept up to date by an hourly pg_cron catch-up.
\echo == elt_generate(:users): a year of history up to today
SELECT * FROM elt_generate(:users);
\echo == elt_schedule(): catch up with the calendar every hour (pg_cron, GMT)
SELECT elt_schedule() AS job_id;
\echo == a taste of the marts: MRR by month
SELECT month_start, sum(mrr) AS mrr, count(*) FILTER (WHERE mrr > 0) AS paying_users
FROM elt_mart.fct_mrr_monthly GROUP BY month_start ORDER BY month_start DESC LIMIT 6;
