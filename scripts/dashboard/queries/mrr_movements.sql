-- Page "MRR movements": per month the MRR gained (new, expansion,
-- reactivation) and lost (contraction, churn), and MRR at the month's
-- measurement day.  Source: elt_mart.fct_mrr_monthly (today its churn also
-- counts downgrades to Free).
-- New mart: elt_mart.fct_saas_metrics_monthly has these columns per month
-- (with churn split voluntary / involuntary): one query to swap.
-- Returns a JSON array, one object per month.
SELECT json_agg(row_to_json(m) ORDER BY m.month)
FROM (
    SELECT to_char(month_start, 'YYYY-MM') AS month,
           sum(new_mrr) AS new,
           sum(expansion_mrr) AS expansion,
           sum(reactivation_mrr) AS reactivation,
           sum(contraction_mrr) AS contraction,
           sum(churned_mrr) AS churn,
           sum(mrr) AS mrr
    FROM elt_mart.fct_mrr_monthly
    GROUP BY month_start
) m;
