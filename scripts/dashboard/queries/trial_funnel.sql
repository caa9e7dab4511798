-- Page "Funnel": signed up -> used the product -> paid -> paying today,
-- overall and by acquisition channel.  There are no trials in the marts
-- yet: the trial steps (trial started, converted, expired) come with
-- elt_mart.fct_subscription_events; swap this query then.
-- Sources: elt_mart.dim_user, elt_mart.fct_usage_daily, elt_mart.fct_mrr_monthly.
-- Returns one JSON document.
WITH u AS (
    SELECT DISTINCT ON (user_id) user_id, referral_source_name AS channel
    FROM elt_mart.dim_user
    WHERE user_key <> -1
    ORDER BY user_id, version_ordinal
), used AS (
    SELECT DISTINCT user_id FROM elt_mart.fct_usage_daily
), paid AS (
    SELECT user_id, bool_or(month_start = (SELECT max(month_start) FROM elt_mart.fct_mrr_monthly)
                            AND mrr > 0) AS paying_now
    FROM elt_mart.fct_mrr_monthly
    WHERE mrr > 0
    GROUP BY user_id
), f AS (
    SELECT u.channel, (s.user_id IS NOT NULL) AS used, (p.user_id IS NOT NULL) AS paid,
           coalesce(p.paying_now, false) AS paying_now
    FROM u
    LEFT JOIN used s USING (user_id)
    LEFT JOIN paid p USING (user_id)
)
SELECT json_build_object(
    'steps', (SELECT json_build_array(
                  json_build_array('Signed up', count(*)),
                  json_build_array('Used the product', count(*) FILTER (WHERE used)),
                  json_build_array('Paid at least once', count(*) FILTER (WHERE paid)),
                  json_build_array('Paying today', count(*) FILTER (WHERE paying_now)))
              FROM f),
    'by_channel', (SELECT json_agg(json_build_object(
                       'channel', channel, 'signups', n,
                       'paid_pct', round(100.0 * p / n, 1),
                       'paying_now_pct', round(100.0 * pn / n, 1)) ORDER BY channel)
                   FROM (SELECT channel, count(*) AS n, count(*) FILTER (WHERE paid) AS p,
                                count(*) FILTER (WHERE paying_now) AS pn
                         FROM f GROUP BY channel) x));
