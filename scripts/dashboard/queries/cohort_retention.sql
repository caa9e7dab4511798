-- Page "Cohort retention": cohorts of the month a user first paid x months
-- since: share of the cohort's accounts still paying (logo retention) and
-- the cohort's MRR as a share of its first month's MRR (net revenue
-- retention, expansion included).  Source: elt_mart.fct_mrr_monthly.
-- New mart: elt_mart.fct_cohort_retention (cohort month x months since,
-- accounts and MRR retained, gross and net): one query to swap.
-- Returns a JSON array, one object per cohort and month since.
WITH paid AS (
    SELECT user_id, month_start, mrr
    FROM elt_mart.fct_mrr_monthly
    WHERE mrr > 0
), cohort AS (
    SELECT user_id, min(month_start) AS cohort_month
    FROM paid
    GROUP BY user_id
), cell AS (
    SELECT c.cohort_month,
           ((extract(year FROM p.month_start) - extract(year FROM c.cohort_month)) * 12
            + extract(month FROM p.month_start) - extract(month FROM c.cohort_month))::int AS months_since,
           count(*) AS accounts,
           sum(p.mrr) AS mrr
    FROM cohort c
    JOIN paid p USING (user_id)
    GROUP BY 1, 2
)
SELECT json_agg(json_build_object(
           'cohort', to_char(c.cohort_month, 'YYYY-MM'),
           'months_since', c.months_since,
           'cohort_accounts', s.accounts,
           'accounts', c.accounts,
           'logo_pct', round(100.0 * c.accounts / s.accounts, 1),
           'nrr_pct', round(100.0 * c.mrr / s.mrr, 1))
       ORDER BY c.cohort_month, c.months_since)
FROM cell c
JOIN cell s ON s.cohort_month = c.cohort_month AND s.months_since = 0;
