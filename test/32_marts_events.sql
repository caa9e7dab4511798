-- pgTAP: fct_subscription_events, fct_usage_period, fct_mrr_monthly.churn_type
-- and the new dimension columns (issue 15), each number recomputed directly
-- from elt_raw, after a full build and after refreshes across a month end;
-- then the refreshed marts equal a full rebuild, row for row.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(61);

-- (name, got, want): every check recomputes from elt_raw what a mart says
CREATE FUNCTION pg_temp.checks() RETURNS TABLE (name text, got text, want text) LANGUAGE sql AS $f$
WITH clk AS (SELECT clock, start_date FROM elt.settings),
v AS (   -- versions with their next and previous version
    SELECT s.*, s.valid_from::date AS vday,
           lead(s.status) OVER w AS n_status, lag(s.status) OVER w AS p_status,
           row_number() OVER w AS ord
    FROM elt_raw.subscriptions s
    WINDOW w AS (PARTITION BY s.subscription_id ORDER BY s.valid_from)
),
ev AS (SELECT event_type, count(*) AS n FROM elt_mart.fct_subscription_events GROUP BY 1),
days AS (SELECT g::date AS d FROM clk, generate_series(clk.start_date, clk.clock, interval '1 day') g),
raw_mrr AS (   -- MRR per day straight from the versions
    SELECT days.d, COALESCE(sum(s.mrr), 0) AS mrr
    FROM days LEFT JOIN elt_raw.subscriptions s
      ON s.valid_from::date <= days.d AND (s.valid_to IS NULL OR days.d < s.valid_to::date)
     AND (s.end_date IS NULL OR days.d < s.end_date)
    GROUP BY days.d
),
ev_mrr AS (   -- running sum of the events' MRR changes
    SELECT days.d, (SELECT COALESCE(sum(e.mrr_change), 0) FROM elt_mart.fct_subscription_events e
                    WHERE e.event_date <= days.d) AS mrr
    FROM days
),
per AS (   -- quota periods straight from elt_raw.usage (current version's start date + whole months)
    SELECT u.subscription_id, u.plan_id,
           (SELECT max((c.start_date + g * interval '1 month')::date) FROM generate_series(0, 60) g
            WHERE (c.start_date + g * interval '1 month')::date <= u.usage_date) AS period_start,
           u.usage_date, u.api_calls, u.storage_used_mb
    FROM elt_raw.usage u
    JOIN elt_raw.subscriptions c ON c.subscription_id = u.subscription_id AND c.valid_to IS NULL
    WHERE u.usage_date >= c.start_date
),
run AS (
    SELECT per.*, sum(api_calls) OVER w AS api_run, max(storage_used_mb) OVER w AS st_run
    FROM per WINDOW w AS (PARTITION BY subscription_id, period_start ORDER BY usage_date)
),
periods AS (
    SELECT r.subscription_id, r.period_start, p.plan_name,
           min(r.usage_date) FILTER (WHERE r.api_run >= p.api_limit) AS api_ex,
           min(r.usage_date) FILTER (WHERE r.st_run >= p.storage_limit_mb) AS st_ex
    FROM run r JOIN elt_raw.plans p ON p.plan_id = r.plan_id
    GROUP BY 1, 2, 3
),
mart_periods AS (
    SELECT f.subscription_id, f.period_start, p.plan_name, f.api_exhausted_on AS api_ex, f.storage_exhausted_on AS st_ex
    FROM elt_mart.fct_usage_period f JOIN elt_mart.dim_plan p USING (plan_key)
),
on_clock AS (   -- what each user holds on the clock day
    SELECT s.user_id, bool_or(s.mrr > 0) AS paying, bool_or(s.status = 'trialing') AS trialing
    FROM elt_raw.subscriptions s, clk
    WHERE s.valid_from::date <= clk.clock AND (s.valid_to IS NULL OR clk.clock < s.valid_to::date)
      AND s.start_date <= clk.clock AND (s.end_date IS NULL OR clk.clock < s.end_date)
    GROUP BY s.user_id
)
SELECT 'trials started = subscriptions whose first version is trialing',
       (SELECT n FROM ev WHERE event_type = 'trial_started')::text,
       (SELECT count(*) FROM v WHERE ord = 1 AND status = 'trialing')::text
UNION ALL
SELECT 'trial conversions = trialing versions followed by a non-expired one',
       (SELECT n FROM ev WHERE event_type = 'trial_converted')::text,
       (SELECT count(*) FROM v WHERE status = 'trialing' AND n_status <> 'expired')::text
UNION ALL
SELECT 'trials expired = trialing versions followed by an expired one',
       (SELECT n FROM ev WHERE event_type = 'trial_expired')::text,
       (SELECT count(*) FROM v WHERE status = 'trialing' AND n_status = 'expired')::text
UNION ALL
SELECT 'new = users who ever paid',
       (SELECT n FROM ev WHERE event_type = 'new')::text,
       (SELECT count(DISTINCT user_id) FROM elt_raw.subscriptions WHERE mrr > 0)::text
UNION ALL
SELECT 'new + reactivation + upgrade + downgrade to a paid plan = subscriptions that paid',
       (SELECT count(*) FROM elt_mart.fct_subscription_events e JOIN elt_mart.dim_plan p ON p.plan_key = e.to_plan_key
        WHERE e.event_type IN ('new', 'reactivation', 'upgrade', 'downgrade') AND p.monthly_price > 0)::text,
       (SELECT count(DISTINCT subscription_id) FROM elt_raw.subscriptions WHERE mrr > 0)::text
UNION ALL
SELECT 'involuntary churns = cancelled versions ending the day they start',
       (SELECT n FROM ev WHERE event_type = 'churn_involuntary')::text,
       (SELECT count(*) FROM v WHERE status = 'cancelled' AND end_date = vday)::text
UNION ALL
SELECT 'cancellations requested = cancelled versions ending later',
       (SELECT n FROM ev WHERE event_type = 'cancellation_requested')::text,
       (SELECT count(*) FROM v WHERE status = 'cancelled' AND end_date > vday)::text
UNION ALL
SELECT 'voluntary churns = those whose end date is reached',
       (SELECT COALESCE(n, 0) FROM ev WHERE event_type = 'churn_voluntary')::text,
       (SELECT count(*) FROM v, clk WHERE status = 'cancelled' AND end_date > vday AND end_date <= clk.clock)::text
UNION ALL
SELECT 'payments failed = past_due versions',
       (SELECT n FROM ev WHERE event_type = 'payment_failed')::text,
       (SELECT count(*) FROM v WHERE status = 'past_due')::text
UNION ALL
SELECT 'payments recovered = active versions after a past_due one',
       (SELECT n FROM ev WHERE event_type = 'payment_recovered')::text,
       (SELECT count(*) FROM v WHERE status = 'active' AND p_status = 'past_due')::text
UNION ALL
SELECT 'renewals = active versions after an active one of an earlier period',
       (SELECT n FROM ev WHERE event_type = 'renewal')::text,
       (SELECT count(*) FROM v JOIN v p ON p.subscription_id = v.subscription_id AND p.ord = v.ord - 1
        WHERE v.status = 'active' AND p.status = 'active' AND v.renewal_count > p.renewal_count)::text
UNION ALL
SELECT 'events'' MRR changes add up to the MRR of elt_raw on every day',
       (SELECT count(*) FROM raw_mrr r JOIN ev_mrr e USING (d) WHERE r.mrr <> e.mrr)::text || ' days differ', '0 days differ'
UNION ALL
SELECT 'every event has a known day, user and subscription version',
       (SELECT count(*) FROM elt_mart.fct_subscription_events WHERE date_key = -1 OR user_key = -1 OR subscription_key = -1)::text, '0'
UNION ALL
SELECT 'quota periods with usage per plan = a direct aggregation of elt_raw.usage',
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(*) n FROM mart_periods GROUP BY 1) x),
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(*) n FROM periods GROUP BY 1) x)
UNION ALL
SELECT 'periods with the API quota exhausted per plan',
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(api_ex) n FROM mart_periods GROUP BY 1) x),
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(api_ex) n FROM periods GROUP BY 1) x)
UNION ALL
SELECT 'periods with the storage quota exhausted per plan',
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(st_ex) n FROM mart_periods GROUP BY 1) x),
       (SELECT string_agg(format('%s %s', plan_name, n), ', ' ORDER BY plan_name) FROM (SELECT plan_name, count(st_ex) n FROM periods GROUP BY 1) x)
UNION ALL
SELECT 'exhaustion days equal those of elt_raw.usage, period by period',
       (SELECT count(*) FROM ((TABLE mart_periods EXCEPT ALL TABLE periods) UNION ALL (TABLE periods EXCEPT ALL TABLE mart_periods)) d)::text, '0'
UNION ALL
SELECT 'involuntary churn months = involuntary cancellations',
       (SELECT count(*) FROM elt_mart.fct_mrr_monthly WHERE churn_type = 'involuntary')::text,
       (SELECT count(*) FROM v WHERE status = 'cancelled' AND end_date = vday)::text
UNION ALL
SELECT 'every churn row has a churn type, no other row has one',
       (SELECT count(*) FROM elt_mart.fct_mrr_monthly WHERE (movement = 'churn') <> (churn_type IS NOT NULL))::text, '0'
UNION ALL
SELECT 'paying users now (dim_user_current) = users with MRR on the clock day',
       (SELECT count(*) FROM elt_mart.dim_user_current WHERE is_paying)::text,
       (SELECT count(*) FROM on_clock WHERE paying)::text
UNION ALL
SELECT 'trialing users now = users in a trial, not paying',
       (SELECT count(*) FROM elt_mart.dim_user_current WHERE lifecycle_status = 'trialing')::text,
       (SELECT count(*) FROM on_clock WHERE trialing AND NOT paying)::text
UNION ALL
SELECT 'churned users now = users who paid and pay no more',
       (SELECT count(*) FROM elt_mart.dim_user_current WHERE lifecycle_status = 'churned')::text,
       (SELECT count(*) FROM (SELECT DISTINCT user_id FROM elt_raw.subscriptions WHERE mrr > 0) p
        WHERE NOT EXISTS (SELECT 1 FROM on_clock o WHERE o.user_id = p.user_id AND (o.paying OR o.trialing)))::text
UNION ALL
SELECT 'first paid dates = first day of a paying version',
       (SELECT md5(string_agg(format('%s %s', user_id, first_paid_date), ',' ORDER BY user_id)) FROM elt_mart.dim_user_current WHERE first_paid_date IS NOT NULL),
       (SELECT md5(string_agg(format('%s %s', user_id, d), ',' ORDER BY user_id))
        FROM (SELECT user_id, min(valid_from::date) d FROM elt_raw.subscriptions WHERE mrr > 0 GROUP BY 1) x)
UNION ALL
SELECT 'cancel dates = first days of cancelled versions',
       (SELECT count(*) FROM elt_mart.dim_subscription WHERE cancel_date IS NOT NULL)::text,
       (SELECT count(*) FROM v WHERE status = 'cancelled')::text
UNION ALL
SELECT 'holidays in dim_date = Dec 24-26, Dec 31, Jan 1 of the window',
       (SELECT count(*) FROM elt_mart.dim_date WHERE is_holiday)::text,
       (SELECT count(*) FROM days WHERE to_char(d, 'MM-DD') IN ('12-24', '12-25', '12-26', '12-31', '01-01'))::text
UNION ALL
SELECT 'week_start is the Monday on or before the day',
       (SELECT count(*) FROM elt_mart.dim_date WHERE NOT is_unknown
          AND NOT (extract(isodow FROM week_start) = 1 AND date - week_start BETWEEN 0 AND 6))::text, '0'
UNION ALL
SELECT 'is_unknown marks the -1 members only',
       (SELECT string_agg(n::text, ',') FROM (
            SELECT count(*) FILTER (WHERE is_unknown <> (date_key = -1)) n FROM elt_mart.dim_date
            UNION ALL SELECT count(*) FILTER (WHERE is_unknown <> (plan_key = -1)) FROM elt_mart.dim_plan
            UNION ALL SELECT count(*) FILTER (WHERE is_unknown <> (user_key = -1)) FROM elt_mart.dim_user
            UNION ALL SELECT count(*) FILTER (WHERE is_unknown <> (subscription_key = -1)) FROM elt_mart.dim_subscription) x),
       '0,0,0,0'
UNION ALL
SELECT 'the current views hold one row per id, no Unknown',
       (SELECT count(*) FROM elt_mart.dim_user_current)::text || ' ' || (SELECT count(*) FROM elt_mart.dim_subscription_current)::text,
       (SELECT count(DISTINCT user_id) FROM elt_raw.users)::text || ' ' || (SELECT count(DISTINCT subscription_id) FROM elt_raw.subscriptions)::text
$f$;

SELECT elt_generate(400, 7, '2025-05-27');
SELECT ok((SELECT count(*) FROM elt_mart.fct_subscription_events) > 0
          AND (SELECT count(*) FROM elt_mart.fct_usage_period WHERE api_exhausted_on IS NOT NULL) > 0,
          'full build: events and exhausted periods are there');
SELECT is(got, want, 'full build: ' || name) FROM pg_temp.checks();

-- refreshes across the month end, then the same numbers
SELECT ok(status = 'ok', 'refresh(3)') FROM elt_refresh(3);
SELECT ok(status = 'ok', 'refresh(4) across the month end') FROM elt_refresh(4);
SELECT is((SELECT clock FROM elt.settings), '2025-06-03'::date, 'refreshed across the month end');
SELECT is(got, want, 'after refreshes: ' || name) FROM pg_temp.checks();

-- the refreshed marts equal a full rebuild, row for row
CREATE TEMP TABLE snap_ev AS SELECT * FROM elt_mart.fct_subscription_events;
CREATE TEMP TABLE snap_up AS SELECT * FROM elt_mart.fct_usage_period;
CREATE TEMP TABLE snap_du AS SELECT * FROM elt_mart.dim_user;
CREATE TEMP TABLE snap_ds AS SELECT * FROM elt_mart.dim_subscription;
CREATE TEMP TABLE snap_mrr AS SELECT * FROM elt_mart.fct_mrr_monthly;
SELECT count(*) FROM elt_build_marts();
SELECT is((SELECT count(*) FROM ((TABLE snap_ev EXCEPT ALL TABLE elt_mart.fct_subscription_events)
                                 UNION ALL (TABLE elt_mart.fct_subscription_events EXCEPT ALL TABLE snap_ev)) d)
          + (SELECT count(*) FROM ((TABLE snap_up EXCEPT ALL TABLE elt_mart.fct_usage_period)
                                 UNION ALL (TABLE elt_mart.fct_usage_period EXCEPT ALL TABLE snap_up)) d)
          + (SELECT count(*) FROM ((TABLE snap_du EXCEPT ALL TABLE elt_mart.dim_user)
                                 UNION ALL (TABLE elt_mart.dim_user EXCEPT ALL TABLE snap_du)) d)
          + (SELECT count(*) FROM ((TABLE snap_ds EXCEPT ALL TABLE elt_mart.dim_subscription)
                                 UNION ALL (TABLE elt_mart.dim_subscription EXCEPT ALL TABLE snap_ds)) d)
          + (SELECT count(*) FROM ((TABLE snap_mrr EXCEPT ALL TABLE elt_mart.fct_mrr_monthly)
                                 UNION ALL (TABLE elt_mart.fct_mrr_monthly EXCEPT ALL TABLE snap_mrr)) d),
          0::bigint, 'refreshed events, periods, dimensions and MRR equal a full rebuild');

SELECT * FROM finish();
ROLLBACK;
