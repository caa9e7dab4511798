-- Page "ARR and customers": per month ARR and paying customers at the
-- measurement day, the customers gained (new, reactivated) and lost
-- (churned, of which involuntary), ARPA.
-- Source: elt_mart.fct_saas_metrics_monthly.
-- Returns a JSON array, one object per month.
SELECT json_agg(json_build_object(
           'month', to_char(month_start, 'YYYY-MM'),
           'arr', arr,
           'customers_start', customers_start,
           'customers_end', customers_end,
           'new', new_customers,
           'reactivated', reactivated_customers,
           'churned', churned_customers,
           'churned_involuntary', churned_involuntary_customers,
           'arpa', arpa)
       ORDER BY month_start)
FROM elt_mart.fct_saas_metrics_monthly;
