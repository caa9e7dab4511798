-- Page "Overview" (index.html): headline numbers of the simulated today
-- (elt_mart.fct_kpi_daily) and of the last complete month (its measurement
-- day is the month's last day) from elt_mart.fct_saas_metrics_monthly: NRR,
-- GRR, ARPA, LTV, quick ratio, customer churn rate; the daily MRR line.
-- Returns one JSON document.
WITH today AS (
    SELECT max(date) AS d FROM elt_mart.fct_kpi_daily
), m AS (
    SELECT s.*
    FROM elt_mart.fct_saas_metrics_monthly s, today
    WHERE (s.month_start + interval '1 month')::date <= today.d + 1
    ORDER BY s.month_start DESC LIMIT 1
)
SELECT json_build_object(
    'today', (SELECT to_char(d, 'YYYY-MM-DD') FROM today),
    'tiles', (SELECT json_build_object(
                  'mrr', k.mrr, 'arr', k.arr, 'paying_users', k.paying_users,
                  'free_users', k.free_users, 'active_users', k.active_users,
                  'signups_30d', (SELECT sum(signups) FROM elt_mart.fct_kpi_daily
                                  WHERE date > k.date - 30))
              FROM elt_mart.fct_kpi_daily k, today WHERE k.date = today.d),
    'month', (SELECT json_build_object(
                  'month', to_char(month_start, 'YYYY-MM'),
                  'nrr', nrr, 'grr', grr, 'arpa', arpa, 'ltv', ltv,
                  'quick_ratio', quick_ratio, 'customer_churn_rate', customer_churn_rate)
              FROM m),
    'daily', (SELECT json_agg(json_build_array(to_char(date, 'YYYY-MM-DD'), mrr) ORDER BY date)
              FROM elt_mart.fct_kpi_daily));
