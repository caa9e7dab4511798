-- Page "Churn": monthly customer churn rate (customers who stopped paying /
-- customers paying at the start of the month, pooled over all months) by
-- acquisition channel and by engagement (days active in the month before).
-- Sources: elt_mart.fct_mrr_monthly, elt_mart.dim_user (referral source of
-- the version valid on the measurement day), elt_mart.fct_usage_daily.
-- New marts: dim_user.acquisition_channel; churn voluntary / involuntary
-- from elt_mart.fct_subscription_events.
-- Returns one JSON document.
WITH base AS (
    SELECT f.user_id, f.month_start, f.movement, u.referral_source_name AS channel
    FROM elt_mart.fct_mrr_monthly f
    JOIN elt_mart.dim_user u ON u.user_key = f.user_key
    WHERE f.previous_mrr > 0            -- paying at the start of the month
), active AS (
    SELECT user_id, date_trunc('month', usage_date)::date AS month_start,
           count(DISTINCT usage_date) AS days
    FROM elt_mart.fct_usage_daily
    GROUP BY 1, 2
), engaged AS (
    SELECT b.*, coalesce(a.days, 0) AS days_active
    FROM base b
    LEFT JOIN active a ON a.user_id = b.user_id
                      AND a.month_start = (b.month_start - interval '1 month')::date
), by_engagement AS (
    SELECT CASE WHEN days_active = 0 THEN 0 WHEN days_active < 5 THEN 1
                WHEN days_active < 10 THEN 2 WHEN days_active < 20 THEN 3 ELSE 4 END AS bucket,
           count(*) AS customer_months,
           count(*) FILTER (WHERE movement = 'churn') AS churned
    FROM engaged
    GROUP BY 1
)
SELECT json_build_object(
    'by_channel', (SELECT json_agg(json_build_object(
                       'channel', channel, 'customer_months', n, 'churned', c,
                       'churn_pct', round(100.0 * c / n, 2)) ORDER BY channel)
                   FROM (SELECT channel, count(*) AS n, count(*) FILTER (WHERE movement = 'churn') AS c
                         FROM base GROUP BY channel) x),
    'by_engagement', (SELECT json_agg(json_build_object(
                          'engagement', (ARRAY['0 days', '1-4 days', '5-9 days', '10-19 days', '20+ days'])[bucket + 1],
                          'customer_months', customer_months, 'churned', churned,
                          'churn_pct', round(100.0 * churned / customer_months, 2)) ORDER BY bucket)
                      FROM by_engagement),
    'by_month', (SELECT json_agg(json_build_array(month, channel, pct) ORDER BY month, channel)
                 FROM (SELECT to_char(month_start, 'YYYY-MM') AS month, channel,
                              round(100.0 * count(*) FILTER (WHERE movement = 'churn') / count(*), 2) AS pct
                       FROM base
                       -- the current month is not over: its rate would look low
                       WHERE month_start < (SELECT max(month_start) FROM elt_mart.fct_mrr_monthly)
                       GROUP BY 1, 2) m));
