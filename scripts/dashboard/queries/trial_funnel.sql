-- Page "Trial funnel": users who signed up -> started a trial -> converted
-- a trial to a paid plan -> of those, paying today; trial conversion
-- (converted / ended trials) by acquisition channel and per month the
-- trial ended.
-- Sources: elt_mart.fct_subscription_events (trial_started,
-- trial_converted, trial_expired), elt_mart.dim_user_current
-- (acquisition_channel, is_paying).
-- Returns one JSON document.
WITH t AS (
    SELECT e.user_id,
           bool_or(e.event_type = 'trial_started') AS started,
           bool_or(e.event_type = 'trial_converted') AS converted
    FROM elt_mart.fct_subscription_events e
    WHERE e.event_type IN ('trial_started', 'trial_converted')
    GROUP BY e.user_id
), f AS (
    SELECT u.acquisition_channel AS channel, coalesce(t.started, false) AS started,
           coalesce(t.converted, false) AS converted, u.is_paying
    FROM elt_mart.dim_user_current u
    LEFT JOIN t USING (user_id)
), ended AS (
    -- trials that ended, one row per subscription: converted or expired
    SELECT e.subscription_id, e.event_date, e.event_type = 'trial_converted' AS converted,
           u.acquisition_channel AS channel
    FROM elt_mart.fct_subscription_events e
    JOIN elt_mart.dim_user_current u USING (user_id)
    WHERE e.event_type IN ('trial_converted', 'trial_expired')
)
SELECT json_build_object(
    'steps', (SELECT json_build_array(
                  json_build_array('Signed up', count(*)),
                  json_build_array('Started a trial', count(*) FILTER (WHERE started)),
                  json_build_array('Converted to paid', count(*) FILTER (WHERE converted)),
                  json_build_array('Still paying today', count(*) FILTER (WHERE converted AND is_paying)))
              FROM f),
    'by_channel', (SELECT json_agg(json_build_object(
                       'channel', channel, 'trials_ended', n, 'converted', c,
                       'conversion_pct', round(100.0 * c / n, 1)) ORDER BY channel)
                   FROM (SELECT channel, count(*) AS n, count(*) FILTER (WHERE converted) AS c
                         FROM ended GROUP BY channel) x),
    'by_month', (SELECT json_agg(json_build_array(month, n - c, c, round(100.0 * c / n, 1)) ORDER BY month)
                 FROM (SELECT to_char(event_date, 'YYYY-MM') AS month, count(*) AS n,
                              count(*) FILTER (WHERE converted) AS c
                       FROM ended GROUP BY 1) x));
