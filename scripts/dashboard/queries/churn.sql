-- Page "Churn": monthly customer churn rate (customers who stopped paying /
-- customers paying at the start of the month, pooled over all months),
-- split by churn type (voluntary, involuntary: payments failed, downgrade
-- to Free), by acquisition channel and by engagement (days active in the
-- month before), and per complete month by channel.
-- Sources: elt_mart.fct_mrr_monthly (movement, churn_type),
-- elt_mart.dim_user (acquisition_channel), elt_mart.fct_usage_daily.
-- Returns one JSON document.
WITH base AS (
    SELECT f.user_id, f.month_start, f.movement, f.churn_type, u.acquisition_channel AS channel
    FROM elt_mart.fct_mrr_monthly f
    JOIN elt_mart.dim_user u ON u.user_key = f.user_key
    WHERE f.previous_mrr > 0            -- paying at the start of the month
), active AS (
    SELECT user_id, date_trunc('month', usage_date)::date AS month_start,
           count(DISTINCT usage_date) AS days
    FROM elt_mart.fct_usage_daily
    GROUP BY 1, 2
), engaged AS (
    SELECT b.*, CASE WHEN a.days IS NULL THEN 0 WHEN a.days < 5 THEN 1
                     WHEN a.days < 10 THEN 2 WHEN a.days < 20 THEN 3 ELSE 4 END AS bucket
    FROM base b
    LEFT JOIN active a ON a.user_id = b.user_id
                      AND a.month_start = (b.month_start - interval '1 month')::date
), rates AS (
    -- one row per grouping set: channel, or engagement bucket
    SELECT channel, bucket, count(*) AS n,
           count(*) FILTER (WHERE movement = 'churn') AS churned,
           count(*) FILTER (WHERE churn_type = 'voluntary') AS voluntary,
           count(*) FILTER (WHERE churn_type = 'involuntary') AS involuntary,
           count(*) FILTER (WHERE churn_type = 'downgrade_to_free') AS to_free
    FROM engaged
    GROUP BY GROUPING SETS ((channel), (bucket))
), shaped AS (
    SELECT channel, bucket, json_build_object(
               'customer_months', n, 'churned', churned,
               'voluntary', voluntary, 'involuntary', involuntary, 'downgrade_to_free', to_free,
               'churn_pct', round(100.0 * churned / n, 2),
               'voluntary_pct', round(100.0 * voluntary / n, 2),
               'involuntary_pct', round(100.0 * involuntary / n, 2),
               'downgrade_to_free_pct', round(100.0 * to_free / n, 2)) AS j
    FROM rates
)
SELECT json_build_object(
    'by_channel', (SELECT json_agg((jsonb_build_object('channel', channel) || j::jsonb) ORDER BY channel)
                   FROM shaped WHERE channel IS NOT NULL),
    'by_engagement', (SELECT json_agg((jsonb_build_object('engagement',
                          (ARRAY['0 days', '1-4 days', '5-9 days', '10-19 days', '20+ days'])[bucket + 1]) || j::jsonb)
                          ORDER BY bucket)
                      FROM shaped WHERE bucket IS NOT NULL),
    'by_month', (SELECT json_agg(json_build_array(month, channel, pct) ORDER BY month, channel)
                 FROM (SELECT to_char(month_start, 'YYYY-MM') AS month, channel,
                              round(100.0 * count(*) FILTER (WHERE movement = 'churn') / count(*), 2) AS pct
                       FROM base
                       -- complete months only: a partial month's rate would look low
                       WHERE (month_start + interval '1 month')::date
                             <= (SELECT max(date) FROM elt_mart.fct_kpi_daily) + 1
                       GROUP BY 1, 2) m));
