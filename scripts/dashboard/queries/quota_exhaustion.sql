-- Page "Quota exhaustion": share of complete monthly quota periods in which
-- a subscription used up its plan's API calls or reached its storage limit,
-- by plan (plans with a limit), the median share of the API quota used and
-- of the storage limit held (the period's peak), and the mean days from the
-- period's start to the API quota's exhaustion.
-- Source: elt_mart.fct_usage_period (api_exhausted_on,
-- storage_exhausted_on), elt_mart.dim_plan.
-- Returns a JSON array, one object per plan.
SELECT json_agg(json_build_object(
           'plan', p.plan_name, 'periods', x.periods,
           'api_exhausted', x.api, 'storage_exhausted', x.storage,
           'api_exhausted_pct', round(100.0 * x.api / x.periods, 1),
           'storage_exhausted_pct', round(100.0 * x.storage / x.periods, 1),
           'api_median_pct', x.api_median,
           'storage_median_pct', x.storage_median,
           'days_to_api_exhaustion', x.days)
       ORDER BY p.monthly_price)
FROM (SELECT plan_key, count(*) AS periods,
             count(api_exhausted_on) AS api,
             count(storage_exhausted_on) AS storage,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY api_used_pct)::numeric, 1) AS api_median,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY storage_used_pct)::numeric, 1) AS storage_median,
             round(avg(api_exhausted_on - period_start), 1) AS days
      FROM elt_mart.fct_usage_period
      WHERE is_complete
      GROUP BY plan_key) x
JOIN elt_mart.dim_plan p USING (plan_key)
WHERE p.api_limit IS NOT NULL OR p.storage_limit_mb IS NOT NULL;
