-- Page "Quota exhaustion": share of monthly quota periods in which a
-- subscription used up its API calls or its storage, by plan (plans with a
-- limit).  Source: elt_mart.fct_usage_daily (peak of the running
-- percentages per subscription and period), elt_mart.dim_plan.
-- New mart: elt_mart.fct_usage_period (one row per quota period with
-- exhausted_on dates): one query to swap.
-- Returns a JSON array, one object per plan.
WITH period AS (
    SELECT plan_key, subscription_id, period_start,
           max(api_quota_used_pct) AS api_pct,
           max(storage_quota_used_pct) AS storage_pct
    FROM elt_mart.fct_usage_daily
    GROUP BY 1, 2, 3
)
SELECT json_agg(json_build_object(
           'plan', p.plan_name, 'periods', x.periods,
           'api_exhausted_pct', round(100.0 * x.api / x.periods, 1),
           'storage_exhausted_pct', round(100.0 * x.storage / x.periods, 1),
           'api_median_pct', x.api_median)
       ORDER BY p.monthly_price)
FROM (SELECT plan_key, count(*) AS periods,
             count(*) FILTER (WHERE api_pct >= 100) AS api,
             count(*) FILTER (WHERE storage_pct >= 100) AS storage,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY api_pct)::numeric, 1) AS api_median
      FROM period GROUP BY plan_key) x
JOIN elt_mart.dim_plan p USING (plan_key)
WHERE p.api_limit IS NOT NULL OR p.storage_limit_mb IS NOT NULL;
