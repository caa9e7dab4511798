-- Page "ARR and customers": ARR and paying customers per day, and signups
-- per month.  Source: elt_mart.fct_kpi_daily.
-- New mart: ARR, customers at start / end per month from
-- elt_mart.fct_saas_metrics_monthly.
-- Returns one JSON document.
SELECT json_build_object(
    'daily', (SELECT json_agg(json_build_array(to_char(date, 'YYYY-MM-DD'), arr, paying_users) ORDER BY date)
              FROM elt_mart.fct_kpi_daily),
    'signups', (SELECT json_agg(json_build_array(month, signups) ORDER BY month)
                FROM (SELECT to_char(date, 'YYYY-MM') AS month, sum(signups) AS signups
                      FROM elt_mart.fct_kpi_daily GROUP BY 1) s));
