-- elt_mart builders of fct_subscription_events and fct_usage_period (see
-- 31_mart_builders.sql for the shared rules; tables in
-- 36_mart_events_schema.sql).

------------------------------------------------------------------------------
-- fct_subscription_events
------------------------------------------------------------------------------
-- The events of a user depend only on the versions of the user's own
-- subscriptions (and the clock, for voluntary churn): an incremental update
-- rebuilds all events of the users with a subscription version starting or
-- ending on or after since, or a voluntary cancellation whose end date is
-- on or after since (its churn event may have become due), and leaves the
-- other users' events alone; the rows are computed by the same statement
-- as a full build, restricted to those users.
--
-- Rules, per version v of a subscription, p its previous version (same
-- subscription), q the user's previous subscription (by start date, then id):
--   trial_started          v first version, trialing
--   trial_converted        p trialing, v not expired (MRR change 0: the
--                          first paying version carries it, see below)
--   trial_expired          p trialing, v expired (the user goes on Free)
--   new / reactivation /   v the first paying version (mrr > 0) of its
--   upgrade / downgrade    subscription: upgrade (downgrade) when q is on a
--                          paid plan, ended by a plan change (an expired
--                          version not following a trial) on the day this
--                          subscription starts, and this plan is dearer
--                          (cheaper); else reactivation when an earlier
--                          subscription of the user paid; else new.
--   downgrade              also: a Free subscription replacing a paid one so
--   renewal                v active, p active, a later billing period
--   payment_failed         v past_due
--   payment_recovered      v active, p past_due
--   seat_change            v and p paying (active or past_due), seats differ;
--                          it then carries the MRR change of the version and
--                          the renewal or payment event of that day carries 0
--   cancellation_requested v cancelled, end date after its first day
--   churn_voluntary        on that version's end date, when <= the clock
--   churn_involuntary      v cancelled, end date = its first day
-- A plan change's expired version gives no event of its own: the new
-- subscription's upgrade or downgrade carries the net MRR change.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_subscription_events(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w     record;
    r     record;
    v_ids bigint[];    -- the users to rebuild, NULL for all
    v_ts  timestamptz := elt.elt__day_ts(since);
BEGIN
    w := elt.elt__mart_begin(since);
    IF since IS NOT NULL THEN
        SELECT COALESCE(array_agg(DISTINCT s.user_id), '{}') INTO v_ids
        FROM elt_raw.subscriptions s
        WHERE s.valid_from >= v_ts OR s.valid_to >= v_ts
           OR (s.status = 'cancelled' AND s.end_date >= since);
    END IF;
    EXECUTE elt.elt__merge_sql('elt_mart.fct_subscription_events'::pg_catalog.regclass, format($q$
    WITH sv AS MATERIALIZED (
        -- the versions with their previous version and the plan's price
        SELECT s.subscription_id, s.user_id, s.plan_id, s.start_date, s.end_date, s.status,
               s.renewal_count, s.seats, s.mrr, elt.elt__ts_day(s.valid_from) AS vday,
               COALESCE(p.monthly_price, 0) AS price,
               row_number() OVER w - 1 AS ord,
               lag(s.status) OVER w AS p_status, lag(s.mrr) OVER w AS p_mrr,
               lag(s.seats) OVER w AS p_seats, lag(s.renewal_count) OVER w AS p_renewals
        FROM elt_raw.subscriptions s
        LEFT JOIN elt_raw.plans p ON p.plan_id = s.plan_id
        WHERE $1 IS NULL OR s.user_id = ANY ($1)
        WINDOW w AS (PARTITION BY s.subscription_id ORDER BY s.valid_from)
    ),
    subs AS (
        -- per subscription: its first paying version, its last MRR, whether a
        -- plan change ended it and when
        SELECT sv.subscription_id, sv.user_id, sv.plan_id, sv.start_date, max(sv.price) AS price,
               min(sv.ord) FILTER (WHERE sv.mrr > 0) AS paid_ord,
               (array_agg(sv.mrr ORDER BY sv.ord DESC) FILTER (WHERE sv.mrr > 0))[1] AS last_mrr,
               min(sv.end_date) FILTER (WHERE sv.status = 'expired' AND sv.p_status IS DISTINCT FROM 'trialing')
                   AS changed_on
        FROM sv
        GROUP BY sv.subscription_id, sv.user_id, sv.plan_id, sv.start_date
    ),
    sq AS (
        -- with the user's previous subscription q and whether an earlier one paid
        SELECT s.*,
               lag(s.plan_id) OVER u AS q_plan, lag(s.price) OVER u AS q_price,
               lag(s.last_mrr) OVER u AS q_mrr, lag(s.changed_on) OVER u AS q_changed_on,
               COALESCE(bool_or(s.paid_ord IS NOT NULL) OVER (u ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false)
                   AS paid_before
        FROM subs s
        WINDOW u AS (PARTITION BY s.user_id ORDER BY s.start_date, s.subscription_id)
    ),
    acq AS (
        -- how a subscription's first paying version (or a Free one) came
        SELECT sq.*,
               CASE WHEN sq.q_price > 0 AND sq.q_mrr IS NOT NULL AND sq.q_changed_on = sq.start_date
                    THEN CASE WHEN sq.price > sq.q_price THEN 'upgrade' ELSE 'downgrade' END
                    WHEN sq.paid_before THEN 'reactivation'
                    ELSE 'new' END AS how
        FROM sq
    ),
    ev AS (
        SELECT v.vday AS event_date, v.subscription_id, e.event_type, v.user_id,
               e.from_plan, e.to_plan, e.mrr_before, e.mrr_after
        FROM sv v
        JOIN acq a ON a.subscription_id = v.subscription_id
        CROSS JOIN LATERAL (
            SELECT 'trial_started' AS event_type, v.plan_id AS from_plan, v.plan_id AS to_plan,
                   0::numeric AS mrr_before, 0::numeric AS mrr_after
            WHERE v.ord = 0 AND v.status = 'trialing'
            UNION ALL
            SELECT 'trial_converted', v.plan_id, v.plan_id, v.p_mrr, v.p_mrr
            WHERE v.p_status = 'trialing' AND v.status <> 'expired'
            UNION ALL
            SELECT 'trial_expired', v.plan_id, v.plan_id, v.p_mrr, v.p_mrr
            WHERE v.p_status = 'trialing' AND v.status = 'expired'
            UNION ALL
            -- the first paying version
            SELECT a.how, CASE WHEN a.how IN ('upgrade', 'downgrade') THEN a.q_plan END, v.plan_id,
                   CASE WHEN a.how IN ('upgrade', 'downgrade') THEN a.q_mrr ELSE 0 END, v.mrr
            WHERE v.ord = a.paid_ord
            UNION ALL
            -- a Free subscription replacing a paid one the day it ended
            SELECT 'downgrade', a.q_plan, v.plan_id, a.q_mrr, v.mrr
            WHERE v.ord = 0 AND a.price = 0 AND a.how = 'downgrade'
            UNION ALL
            SELECT 'renewal', v.plan_id, v.plan_id,
                   CASE WHEN v.seats <> v.p_seats THEN v.mrr ELSE v.p_mrr END, v.mrr
            WHERE v.status = 'active' AND v.p_status = 'active' AND v.renewal_count > v.p_renewals
            UNION ALL
            SELECT 'payment_failed', v.plan_id, v.plan_id,
                   CASE WHEN v.seats <> v.p_seats THEN v.mrr ELSE v.p_mrr END, v.mrr
            WHERE v.status = 'past_due' AND v.ord > 0
            UNION ALL
            SELECT 'payment_recovered', v.plan_id, v.plan_id,
                   CASE WHEN v.seats <> v.p_seats THEN v.mrr ELSE v.p_mrr END, v.mrr
            WHERE v.status = 'active' AND v.p_status = 'past_due'
            UNION ALL
            SELECT 'seat_change', v.plan_id, v.plan_id, v.p_mrr, v.mrr
            WHERE v.seats <> v.p_seats AND v.status IN ('active', 'past_due') AND v.p_status IN ('active', 'past_due')
            UNION ALL
            SELECT 'cancellation_requested', v.plan_id, v.plan_id, v.p_mrr, v.mrr
            WHERE v.status = 'cancelled' AND v.end_date > v.vday
            UNION ALL
            SELECT 'churn_involuntary', v.plan_id, NULL, v.p_mrr, 0
            WHERE v.status = 'cancelled' AND v.end_date <= v.vday
        ) e
        UNION ALL
        -- voluntary churn: on the end date of a voluntary cancellation, once reached
        SELECT v.end_date, v.subscription_id, 'churn_voluntary', v.user_id, v.plan_id, NULL, v.mrr, 0
        FROM sv v
        WHERE v.status = 'cancelled' AND v.end_date > v.vday AND v.end_date <= $2
    )
    SELECT ev.event_date, ev.subscription_id, ev.event_type, COALESCE(dd.date_key, -1) AS date_key,
           ev.user_id, COALESCE(du.user_key, -1) AS user_key, COALESCE(ds.subscription_key, -1) AS subscription_key,
           dp0.plan_key AS from_plan_key, dp1.plan_key AS to_plan_key,
           ev.mrr_before, ev.mrr_after, ev.mrr_after - ev.mrr_before AS mrr_change
    FROM ev
    LEFT JOIN elt_mart.dim_date dd ON dd.date = ev.event_date
    %1$s
    %2$s
    LEFT JOIN elt_mart.dim_plan dp0 ON dp0.plan_id = ev.from_plan
    LEFT JOIN elt_mart.dim_plan dp1 ON dp1.plan_id = ev.to_plan
    WHERE ev.event_date <= $2
    $q$, elt.elt__key_join('dim_user', 'du', 'ev.user_id', 'ev.user_id', 'elt.elt__day_ts(ev.event_date)'),
         elt.elt__key_join('dim_subscription', 'ds', 'ev.subscription_id', 'ev.user_id', 'elt.elt__day_ts(ev.event_date)')),
        '$1 IS NULL OR t.user_id = ANY ($1)'::pg_catalog.text) INTO r USING v_ids, w.clock;
    RETURN r.deleted + r.upserted;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_subscription_events(date) IS
'Builds elt_mart.fct_subscription_events from the versions of elt_raw.subscriptions (the rules are in the comment of the event_type column). since NULL (default) rebuilds all; a day rebuilds the events of the users with a subscription version starting or ending on or after that day or a voluntary cancellation ending on or after it. Rows a full build would give again are not rewritten. Returns the number of rows written (deleted, inserted or changed).';

------------------------------------------------------------------------------
-- fct_usage_period
------------------------------------------------------------------------------
-- Aggregates fct_usage_daily (built first: it holds each day's running
-- totals in its quota period), so it needs no usage of its own.  An
-- incremental update rewrites the periods with a usage fact on or after
-- since (all their rows: a period lasts at most 31 days) and deletes the
-- rows of periods whose last usage day was on or after since and that are
-- gone; rows of other periods are what a full build gives.  is_complete
-- depends on the clock: periods ending after the old clock have a usage
-- fact on or after since - 31, so those are rewritten too.
-- When only days after the table's last usage day are added (the usual
-- refresh), the table itself is the state: a touched period's new row is
-- its stored row (the facts before since) combined with the new days'
-- facts, and only the periods that become complete are rewritten besides;
-- re-reading a month of facts for every open period cost most of a day.
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_usage_period(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w record;
    r record;
    v_state boolean := false;   -- the stored rows are the periods' facts before since, and no later ones
    -- one pass over the fact rows of %1$s (a relation, alias f) where
    -- %2$s, per period: the keys of the first day, totals (running totals
    -- only grow), the first day each reached the plan's limit
    v_agg   constant text := $q$
        SELECT f.subscription_id, f.period_start,
               (array_agg(f.user_id ORDER BY f.usage_date))[1] AS user_id,
               (array_agg(f.user_key ORDER BY f.usage_date))[1] AS user_key,
               (array_agg(f.subscription_key ORDER BY f.usage_date))[1] AS subscription_key,
               (array_agg(f.plan_key ORDER BY f.usage_date))[1] AS plan_key,
               count(*) AS active_days, max(f.usage_date) AS last_usage_date,
               max(f.period_api_calls) AS api_calls, max(f.period_storage_used_mb) AS storage_used_mb,
               min(f.usage_date) FILTER (WHERE f.period_api_calls >= dp.api_limit) AS api_exhausted_on,
               min(f.usage_date) FILTER (WHERE f.period_storage_used_mb >= dp.storage_limit_mb) AS storage_exhausted_on
        FROM %1$s f
        LEFT JOIN elt_mart.dim_plan dp ON dp.plan_key = f.plan_key
        WHERE %2$s
        GROUP BY f.subscription_id, f.period_start$q$;
    -- a period's row from its aggregate (CTE a): limits, shares, completeness
    v_row   constant text := $q$
    SELECT a.subscription_id, a.period_start, (a.period_start + interval '1 month')::date AS period_end,
           COALESCE(dd.date_key, -1) AS date_key, a.user_id, a.user_key, a.subscription_key, a.plan_key,
           a.active_days::integer, a.last_usage_date,
           a.api_calls, dp.api_limit, round(100.0 * a.api_calls / NULLIF(dp.api_limit, 0), 2) AS api_used_pct,
           a.storage_used_mb, dp.storage_limit_mb,
           round(100.0 * a.storage_used_mb / NULLIF(dp.storage_limit_mb, 0), 2) AS storage_used_pct,
           a.api_exhausted_on, a.storage_exhausted_on,
           (a.period_start + interval '1 month')::date <= $2 + 1 AS is_complete
    FROM a
    LEFT JOIN elt_mart.dim_date dd ON dd.date = a.period_start
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_key = a.plan_key$q$;
BEGIN
    w := elt.elt__mart_begin(since);
    IF since IS NOT NULL AND NOT elt.elt__distributed() THEN
        -- in step: the last usage day of the periods is the facts' last day
        -- before since (two probes of an index; neither NULL: a full path
        -- when there is nothing to add to)
        v_state := COALESCE((SELECT max(t.last_usage_date) FROM elt_mart.fct_usage_period t)
                            = (SELECT max(f.usage_date) FROM elt_mart.fct_usage_daily f
                               WHERE f.usage_date < since AND f.period_start IS NOT NULL), false);
    END IF;
    IF v_state THEN
        -- Nothing stored is from since on, so nothing is deleted; the new
        -- days' facts (primary key from since on) are folded into the
        -- stored rows: counts add up, running totals and peaks only grow,
        -- the first day's keys and exhaustion days stay those stored.
        EXECUTE elt.elt__merge_sql('elt_mart.fct_usage_period'::pg_catalog.regclass, format($q$
    WITH n AS MATERIALIZED (%1$s
    ),
    o AS MATERIALIZED (
        -- the stored rows of those periods (primary key), and of the
        -- periods ending in the new days: is_complete changes
        SELECT t.* FROM n JOIN elt_mart.fct_usage_period t
                       ON t.subscription_id = n.subscription_id AND t.period_start = n.period_start
        UNION
        SELECT t.* FROM elt_mart.fct_usage_period t
        -- (they start 28 to 31 days before they end; date_key -1: before the window)
        WHERE (t.date_key IN (SELECT dd.date_key FROM elt_mart.dim_date dd
                              WHERE dd.date BETWEEN $3 - 31 AND $2 + 1 - 28)
               OR (t.date_key = -1 AND $3 - 31 < $4))
          AND t.period_end > $3 AND t.period_end <= $2 + 1
    ),
    a AS (
        SELECT COALESCE(o.subscription_id, n.subscription_id) AS subscription_id,
               COALESCE(o.period_start, n.period_start) AS period_start,
               CASE WHEN o.subscription_id IS NULL THEN n.user_id ELSE o.user_id END AS user_id,
               CASE WHEN o.subscription_id IS NULL THEN n.user_key ELSE o.user_key END AS user_key,
               CASE WHEN o.subscription_id IS NULL THEN n.subscription_key ELSE o.subscription_key END AS subscription_key,
               CASE WHEN o.subscription_id IS NULL THEN n.plan_key ELSE o.plan_key END AS plan_key,
               COALESCE(o.active_days, 0) + COALESCE(n.active_days, 0) AS active_days,
               GREATEST(o.last_usage_date, n.last_usage_date) AS last_usage_date,
               GREATEST(o.api_calls, n.api_calls) AS api_calls,
               GREATEST(o.storage_used_mb, n.storage_used_mb) AS storage_used_mb,
               CASE WHEN o.subscription_id IS NULL THEN n.api_exhausted_on
                    ELSE COALESCE(o.api_exhausted_on, n.api_exhausted_on) END AS api_exhausted_on,
               CASE WHEN o.subscription_id IS NULL THEN n.storage_exhausted_on
                    ELSE COALESCE(o.storage_exhausted_on, n.storage_exhausted_on) END AS storage_exhausted_on
        FROM n FULL JOIN o ON o.subscription_id = n.subscription_id AND o.period_start = n.period_start
    )
    %2$s
        $q$, format(v_agg, 'elt_mart.fct_usage_daily', 'f.usage_date >= $1 AND f.period_start IS NOT NULL'), v_row),
            NULL::pg_catalog.text) INTO r USING since, w.clock, since - 1, w.start_date;
        RETURN r.deleted + r.upserted;
    END IF;
    EXECUTE elt.elt__merge_sql('elt_mart.fct_usage_period'::pg_catalog.regclass, format($q$
    WITH touched AS (
        SELECT DISTINCT f.subscription_id, f.period_start
        FROM elt_mart.fct_usage_daily f
        WHERE $1 IS NOT NULL AND f.usage_date >= $1 - 31 AND f.period_start IS NOT NULL
          AND (f.usage_date >= $1 OR (f.period_start + interval '1 month')::date > $3)
    ),
    f AS (
        SELECT f.*
        FROM elt_mart.fct_usage_daily f
        WHERE f.period_start IS NOT NULL
          AND ($1 IS NULL OR (f.usage_date >= $1 - 31
                              AND (f.subscription_id, f.period_start) IN (SELECT * FROM touched)))
    ),
    a AS (%1$s
    )
    %2$s
    $q$, format(v_agg, 'f', 'true'), v_row), '$1 IS NULL OR t.last_usage_date >= $1 OR t.period_end > $3'::pg_catalog.text)
        INTO r USING since, w.clock, since - 1;
    RETURN r.deleted + r.upserted;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_usage_period(date) IS
'Builds elt_mart.fct_usage_period from elt_mart.fct_usage_daily (build that first): per subscription and monthly quota period with usage, API calls and storage against the plan limits and the days they were exhausted. since NULL (default) rebuilds all; a day rewrites the periods with usage from that day on or not complete the day before. Returns the number of rows written (deleted, inserted or changed).';

REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_subscription_events(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_usage_period(date) FROM PUBLIC;
