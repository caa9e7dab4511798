-- Page "Active users": DAU, WAU (7 days) and MAU (30 days) per day, and
-- stickiness (DAU / MAU).  Source: elt_mart.fct_kpi_daily (active_users,
-- weekly_active_users, monthly_active_users).
-- Returns a JSON array of [day, dau, wau, mau].
SELECT json_agg(json_build_array(to_char(date, 'YYYY-MM-DD'), active_users,
                                 weekly_active_users, monthly_active_users) ORDER BY date)
FROM elt_mart.fct_kpi_daily;
