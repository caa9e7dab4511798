-- Page "Cohort retention": first-paid cohorts (users by the month they
-- first paid) x months since: logo retention (share still paying), net
-- and gross MRR retention (the cohort's MRR, with and without expansion,
-- as a share of its first month's MRR).
-- Source: elt_mart.fct_cohort_retention (cohort_kind 'first_paid').
-- Returns a JSON array, one object per cohort and month since.
SELECT json_agg(json_build_object(
           'cohort', to_char(cohort_month, 'YYYY-MM'),
           'months_since', months_since,
           'cohort_accounts', accounts_start,
           'mrr', mrr,
           'accounts', accounts_retained,
           'logo_pct', round(100 * logo_retention, 1),
           'nrr_pct', round(100 * net_mrr_retention, 1),
           'grr_pct', round(100 * gross_mrr_retention, 1))
       ORDER BY cohort_month, months_since)
FROM elt_mart.fct_cohort_retention
WHERE cohort_kind = 'first_paid' AND accounts_start > 0;
