-- Page "Active users": DAU, WAU (7 days) and MAU (30 days) per day, and
-- stickiness (DAU / MAU).  Sources: elt_mart.fct_kpi_daily (DAU),
-- elt_mart.fct_usage_daily (WAU, MAU: each active day counts its user
-- until the next active day or the end of the window, whichever is first;
-- a running sum of those starts and ends gives the distinct users).
-- New mart: the weekly and monthly active users of elt_mart.fct_kpi_daily.
-- Returns a JSON array of [day, dau, wau, mau].
WITH d AS (
    SELECT DISTINCT user_id, usage_date FROM elt_mart.fct_usage_daily
), n AS (
    SELECT usage_date, lead(usage_date) OVER (PARTITION BY user_id ORDER BY usage_date) AS next_date
    FROM d
), ev AS (
    SELECT usage_date AS day, 1 AS dw, 1 AS dm FROM n
    UNION ALL SELECT least(next_date, usage_date + 7), -1, 0 FROM n
    UNION ALL SELECT least(next_date, usage_date + 30), 0, -1 FROM n
), delta AS (
    SELECT day, sum(dw) AS dw, sum(dm) AS dm FROM ev GROUP BY day
)
SELECT json_agg(json_build_array(to_char(k.date, 'YYYY-MM-DD'), k.active_users, r.wau, r.mau) ORDER BY k.date)
FROM elt_mart.fct_kpi_daily k
JOIN (SELECT k2.date,
             sum(coalesce(x.dw, 0)) OVER w AS wau,
             sum(coalesce(x.dm, 0)) OVER w AS mau
      FROM elt_mart.fct_kpi_daily k2
      LEFT JOIN delta x ON x.day = k2.date
      WINDOW w AS (ORDER BY k2.date)) r ON r.date = k.date;
