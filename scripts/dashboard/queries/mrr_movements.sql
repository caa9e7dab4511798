-- Page "MRR movements": per month the MRR gained (new, expansion,
-- reactivation) and lost (contraction, voluntary and involuntary churn),
-- MRR at the month's measurement day (its last day, or the simulated
-- today) and whether the month is complete.
-- Source: elt_mart.fct_saas_metrics_monthly.
-- Returns a JSON array, one object per month.
SELECT json_agg(json_build_object(
           'month', to_char(s.month_start, 'YYYY-MM'),
           'starting_mrr', s.starting_mrr,
           'new', s.new_mrr,
           'expansion', s.expansion_mrr,
           'reactivation', s.reactivation_mrr,
           'contraction', s.contraction_mrr,
           'churn_voluntary', s.churned_voluntary_mrr,
           'churn_involuntary', s.churned_involuntary_mrr,
           'churn', s.churned_mrr,
           'mrr', s.mrr,
           'complete', (s.month_start + interval '1 month')::date
                       <= (SELECT max(date) FROM elt_mart.fct_kpi_daily) + 1)
       ORDER BY s.month_start)
FROM elt_mart.fct_saas_metrics_monthly s;
