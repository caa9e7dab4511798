-- Page "Overview" (index.html): headline numbers on the simulated today and
-- the daily MRR line.  Source: elt_mart.fct_kpi_daily.
-- New mart: read MRR, ARR, customers, NRR, quick ratio of the last month
-- from elt_mart.fct_saas_metrics_monthly.
-- Returns one JSON document.
SELECT json_build_object(
    'today', (SELECT to_char(max(date), 'YYYY-MM-DD') FROM elt_mart.fct_kpi_daily),
    'tiles', (SELECT json_build_object(
                  'mrr', k.mrr, 'arr', k.arr, 'paying_users', k.paying_users,
                  'active_users', k.active_users,
                  'signups_30d', (SELECT sum(signups) FROM elt_mart.fct_kpi_daily
                                  WHERE date > k.date - 30))
              FROM elt_mart.fct_kpi_daily k ORDER BY k.date DESC LIMIT 1),
    'daily', (SELECT json_agg(json_build_array(to_char(date, 'YYYY-MM-DD'), mrr) ORDER BY date)
              FROM elt_mart.fct_kpi_daily));
