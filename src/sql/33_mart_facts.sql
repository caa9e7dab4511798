-- elt_mart fact builders (see 31_mart_builders.sql for the shared rules).

------------------------------------------------------------------------------
-- fct_usage_daily
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_usage_daily(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
SET enable_nestloop = off     -- hash joins: millions of rows against whole dimensions
AS $fn$
DECLARE
    w     record;
    n_ins bigint;
    n_del bigint;
    v_fast boolean;
    v_merge boolean;
    v_sql  text;
    v_part text;       -- a format() template for the two SCD2 dimensions
    v_versions text;   -- full build: the CTEs of all user and subscription versions
    v_keys text;       -- the joins giving each row's user and subscription keys
    v_last  date;      -- the facts' last usage day before this build
    v_state boolean;   -- elt.mart_usage_totals is in step with the facts and only days after them change
BEGIN
    w := elt.elt__mart_begin(since);
    SELECT max(t.usage_date) INTO v_last FROM elt_mart.fct_usage_daily t;   -- one probe of the primary key
    -- the totals table serves when only days after the facts' last day are
    -- added and it is at that day (not without facts: the slow path costs
    -- nothing then, and rebuilding drops any leftover totals)
    v_state := COALESCE(since > v_last AND (SELECT max(q.through) FROM elt.mart_usage_totals q) = v_last, false);
    IF since IS NOT NULL THEN
        -- a day or a few of usage: index lookups beat hashing whole dimensions
        PERFORM pg_catalog.set_config('enable_nestloop'::pg_catalog.text, 'on'::pg_catalog.text, true);
    END IF;
    v_fast := elt.elt__bulk_begin('elt_mart.fct_usage_daily'::pg_catalog.regclass);
    -- rows gone from the source (one fact row per usage row)
    EXECUTE $q$
    DELETE FROM elt_mart.fct_usage_daily t
    WHERE ($1 IS NULL OR t.usage_date >= $1)
      AND NOT EXISTS (SELECT 1 FROM elt_raw.usage x
                      WHERE x.usage_date = t.usage_date AND x.subscription_id = t.subscription_id
                        AND x.user_id = t.user_id   -- the same row; Citus joins on it
                        AND ($1 IS NULL OR x.usage_date >= $1))   -- lets the BRIN index skip old days
    $q$ USING since;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    -- New and changed rows; unchanged rows are left alone.
    -- A quota period of a subscription starts on start_date + k months
    -- (clamped to the month's last day, as PostgreSQL's date + interval
    -- does) and lasts at most 31 days: rows from since - 31 on give every
    -- period total of the rows from since on.
    EXECUTE $q$
    SELECT EXISTS (SELECT 1 FROM elt_mart.fct_usage_daily t WHERE $1 IS NULL OR t.usage_date >= $1)
    $q$ INTO v_merge USING since;
    -- Keys of the versions valid on the usage day, computed from elt_raw
    -- with the dimensions' formula (id * 65536 + ordinal), not read from the
    -- dimensions, which may still hold versions gone from the source (they
    -- are purged after the facts); the foreign keys check that every key
    -- exists.  A full build joins all versions at once (v_versions), as
    -- days [d0, d1) so that the join compares days; a few days of usage look
    -- up each row's versions through the primary keys instead (v_keys).
    IF since IS NULL THEN
        -- %1$I: id column, %2$s: source, %3$I: key column, %4$I: CTE name
        v_part := $q$%4$I AS MATERIALIZED (
        SELECT r.%1$I * 65536 + row_number() OVER (PARTITION BY r.%1$I ORDER BY r.valid_from) - 1 AS %3$I,
               r.%1$I, elt.elt__ts_day(r.valid_from) AS d0,
               COALESCE(elt.elt__ts_day(r.valid_to), 'infinity') AS d1
        FROM %2$s r
    )$q$;
        v_versions := format(', %s, %s', format(v_part, 'user_id', 'elt_raw.users', 'user_key', 'vu'),
                             format(v_part, 'subscription_id', 'elt_raw.subscriptions', 'subscription_key', 'vs'));
        -- %1$I: CTE, %2$I: its alias, %3$I: id column
        v_part := $q$LEFT JOIN %1$I %2$I ON %2$I.%3$I = c.%3$I AND %2$I.d0 <= c.usage_date AND c.usage_date < %2$I.d1$q$;
        v_keys := format(v_part, 'vu', 'du', 'user_id') || E'\n    ' || format(v_part, 'vs', 'ds', 'subscription_id');
    ELSE
        v_versions := '';
        v_keys := elt.elt__key_join('dim_user', 'du', 'c.user_id', 'c.user_id', 'elt.elt__day_ts(c.usage_date)')
                  || E'\n    '
                  || elt.elt__key_join('dim_subscription', 'ds', 'c.subscription_id', 'c.user_id', 'elt.elt__day_ts(c.usage_date)');
    END IF;
    -- the rows of the usage days from since on ($1), quota totals before
    -- since from elt.mart_usage_totals when $2; merged when rows of those
    -- days are there, else a plain insert (cheaper)
    v_sql := elt.elt__insert_sql('elt_mart.fct_usage_daily'::pg_catalog.regclass, format($q$
    WITH cur AS (
        SELECT s.subscription_id, s.start_date
        FROM elt_raw.subscriptions s
        WHERE s.valid_to IS NULL
    ),
    u AS (
        SELECT x.*, per.period_start
        FROM elt_raw.usage x
        LEFT JOIN cur ON cur.subscription_id = x.subscription_id
        LEFT JOIN LATERAL (
            SELECT CASE WHEN cur.start_date IS NULL OR x.usage_date < cur.start_date THEN NULL
                        WHEN p.p0 > x.usage_date THEN (cur.start_date + (k.m - 1) * interval '1 month')::date
                        ELSE p.p0 END AS period_start
            FROM (SELECT ((date_part('year', x.usage_date::timestamp) - date_part('year', cur.start_date::timestamp)) * 12
                        + date_part('month', x.usage_date::timestamp) - date_part('month', cur.start_date::timestamp))::integer AS m) k,
                 LATERAL (SELECT (cur.start_date + k.m * interval '1 month')::date AS p0) p
        ) per ON true
        WHERE $1 IS NULL OR x.usage_date >= $1     -- the BRIN index skips older days
    ),
    -- Incremental: a period's use before since is the running total of the
    -- last fact row of that period before since (nothing before since
    -- changed, so it is what a full build gives).  A period lasts at most
    -- 31 days, so those rows are among the last 31 days of facts.
    -- When days after the facts are added ($2), those totals are in
    -- elt.mart_usage_totals; otherwise they are read from the facts:
    -- running totals (sums of API calls, the peak of storage held) never
    -- decrease, so the last one is the largest.
    prev AS (
        SELECT q.subscription_id, q.period_start, q.api_calls AS api0, q.storage_used_mb AS storage0
        FROM elt.mart_usage_totals q
        WHERE $2 AND q.subscription_id IN (SELECT u.subscription_id FROM u)
        UNION ALL
        SELECT f.subscription_id, f.period_start,
               max(f.period_api_calls), max(f.period_storage_used_mb)
        FROM elt_mart.fct_usage_daily f
        WHERE $1 IS NOT NULL AND NOT $2
          AND f.usage_date >= $1 - 31 AND f.usage_date < $1 AND f.period_start IS NOT NULL
          AND f.subscription_id IN (SELECT u.subscription_id FROM u)
        GROUP BY f.subscription_id, f.period_start
    ),
    c AS (
        SELECT u.*,
               CASE WHEN u.period_start IS NOT NULL THEN COALESCE(pv.api0, 0) + sum(u.api_calls) OVER per END AS period_api_calls,
               CASE WHEN u.period_start IS NOT NULL THEN GREATEST(COALESCE(pv.storage0, 0), max(u.storage_used_mb) OVER per) END
                   AS period_storage_used_mb
        FROM u
        LEFT JOIN prev pv ON pv.subscription_id = u.subscription_id AND pv.period_start = u.period_start
        WINDOW per AS (PARTITION BY u.subscription_id, u.period_start ORDER BY u.usage_date)
    )
    %1$s
    SELECT c.usage_date, c.subscription_id,
           COALESCE(dd.date_key, -1), COALESCE(du.user_key, -1), COALESCE(ds.subscription_key, -1),
           COALESCE(dp.plan_key, -1), c.user_id, c.usage_id,
           c.actions_performed, c.storage_used_mb, c.api_calls, c.active_minutes,
           c.period_start, c.period_api_calls, c.period_storage_used_mb,
           round(100.0 * c.period_api_calls / NULLIF(dp.api_limit, 0), 2),
           round(100.0 * c.storage_used_mb / NULLIF(dp.storage_limit_mb, 0), 2)
    FROM (SELECT * FROM c WHERE $1 IS NULL OR c.usage_date >= $1) c
    LEFT JOIN elt_mart.dim_date dd ON dd.date = c.usage_date
    %2$s
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_id = c.plan_id
    $q$, v_versions, v_keys), v_merge);
    EXECUTE v_sql USING since, v_state;
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    PERFORM elt.elt__keep_usage_totals(v_state, since);
    PERFORM elt.elt__bulk_end(v_fast, 'elt_mart.fct_usage_daily'::pg_catalog.regclass, 'usage_date'::pg_catalog.name, since);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_usage_daily(date) IS
'Builds elt_mart.fct_usage_daily from elt_raw.usage and the user and subscription dimensions (point-in-time: the versions valid at midnight UTC of the usage day), with API and storage quota use so far in the subscription''s monthly period. since NULL (default) rebuilds all; a day rewrites usage days from that day on. Returns the number of rows written (deleted plus inserted).';

-- Internal: keeps elt.mart_usage_totals in step with fct_usage_daily.
CREATE OR REPLACE FUNCTION elt.elt__keep_usage_totals(added boolean, since date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    v_tot record;   -- rows of elt.mart_usage_totals deleted, upserted (not reported)
BEGIN
    -- Keep elt.mart_usage_totals in step: after days were added, fold in
    -- the new rows' totals; otherwise recompute it from the last 31 days of
    -- facts.  Either way drop periods with no fact row in the last 31 days
    -- (a period lasts at most 31 days: no later row can continue them).
    IF added THEN
        INSERT INTO elt.mart_usage_totals AS q (subscription_id, period_start, through, api_calls, storage_used_mb)
        SELECT f.subscription_id, f.period_start, max(f.usage_date),
               max(f.period_api_calls), max(f.period_storage_used_mb)
        FROM elt_mart.fct_usage_daily f
        WHERE f.usage_date >= since AND f.period_start IS NOT NULL
        GROUP BY f.subscription_id, f.period_start
        ON CONFLICT (subscription_id, period_start) DO UPDATE
           SET (through, api_calls, storage_used_mb) = (excluded.through, excluded.api_calls, excluded.storage_used_mb);
    ELSE
        -- merged, not emptied and filled again: a rebuild with nothing
        -- changed writes no row here either
        EXECUTE elt.elt__merge_sql('elt.mart_usage_totals'::pg_catalog.regclass, $q$
            SELECT f.subscription_id, f.period_start, max(f.usage_date) AS through,
                   max(f.period_api_calls) AS api_calls, max(f.period_storage_used_mb) AS storage_used_mb
            FROM elt_mart.fct_usage_daily f
            WHERE f.usage_date >= (SELECT max(m.usage_date) FROM elt_mart.fct_usage_daily m) - 31
              AND f.period_start IS NOT NULL
            GROUP BY f.subscription_id, f.period_start
        $q$, 'true'::pg_catalog.text) INTO v_tot;
    END IF;
    DELETE FROM elt.mart_usage_totals q
    WHERE q.through < (SELECT max(m.usage_date) FROM elt_mart.fct_usage_daily m) - 31;
END
$fn$;
COMMENT ON FUNCTION elt.elt__keep_usage_totals(boolean, date) IS
'Internal: keeps elt.mart_usage_totals (the quota totals of the periods that can still continue) in step with elt_mart.fct_usage_daily: folds in the totals of the rows from since on when added (only days after the facts were added), otherwise recomputes it from the last 31 days of facts.';

REVOKE ALL ON FUNCTION elt.elt__keep_usage_totals(boolean, date) FROM PUBLIC;

------------------------------------------------------------------------------
-- fct_mrr_monthly
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_mrr_monthly(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    n_del   bigint;
    v_fast  boolean;
    w       record;
    n_ins   bigint;
    v_first date;
    v_last  date;
    v_lo    date;
    v_m0    date;
    v_merge boolean;
    v_src   text;
    v_months integer;
    v_ids   bigint[];   -- mid-month: the users whose rows may change (NULL: all)
BEGIN
    w := elt.elt__mart_begin(since);
    v_first := date_trunc('month', w.start_date::timestamp)::date;
    v_last  := date_trunc('month', w.clock::timestamp)::date;
    -- The month holding the day before since was measured on a day that may
    -- now be later (the old clock, if it is the current month): it is
    -- measured again, from the source, and so are the months after it.  A
    -- month already measured on its last day measures the same again (its
    -- source did not change) and keeps its rows: the merge writes nothing.
    v_lo := CASE WHEN since IS NULL THEN v_first
                 ELSE GREATEST(v_first, date_trunc('month', (since - 1)::timestamp)::date) END;
    -- on the 1st, the month before may be final (its rows' date_key is the
    -- month, so fct_saas_metrics_monthly's row says when it was measured)
    IF elt.elt__month_final(since, v_lo) THEN
        v_lo := since;
    END IF;
    -- the first month the insert reads: the one before v_lo, for previous MRR
    v_m0 := GREATEST((v_lo - interval '1 month')::date, v_first);
    -- Mid-month (single node), with the clock's month measured on since - 1
    -- (its fct_saas_metrics_monthly row, written in the same build, says
    -- so): a user's row can change only if a version of the user or of one
    -- of their subscriptions starts or ends in the new days, or a period
    -- ends then (MRR, plan, movement, user key, kind of churn); only those
    -- users are measured again (about 1k a day at 100k users, not every
    -- paying user), and the others' rows stay as they are.
    IF since IS NOT NULL AND NOT elt.elt__distributed() AND v_lo = v_last AND since > v_last
       AND (SELECT d.date FROM elt_mart.fct_saas_metrics_monthly f
            JOIN elt_mart.dim_date d ON d.date_key = f.date_key
            WHERE f.month_start = v_last) IS NOT DISTINCT FROM since - 1 THEN
        v_ids := elt.elt__users_changed_in(since, w.clock);
        RAISE DEBUG 'elt_build_fct_mrr_monthly: % measured again for % changed users', v_last, cardinality(v_ids);
    END IF;

    -- Rows already there from v_lo on (all rows for a full build) are
    -- merged: rows no longer produced are deleted, changed ones updated,
    -- the rest left alone.  A row's date_key is its month (not the
    -- measurement day), so a day leaves most of the current month's rows
    -- as they are and the merge writes only what the day changed (rewriting
    -- the whole month every day cost most of an update).  Into no rows, a
    -- plain insert.
    v_merge := EXISTS (SELECT 1 FROM elt_mart.fct_mrr_monthly t WHERE since IS NULL OR t.month_start >= v_lo);
    n_del := 0;
    -- (mid-month a hundred rows or so: the per-row key checks cost less
    -- than checking the month's keys at the end)
    v_fast := v_ids IS NULL AND elt.elt__bulk_begin('elt_mart.fct_mrr_monthly'::pg_catalog.regclass);
    -- the rows of the months from v_lo on ($2), as a full build gives them
    v_src := format($q$
    WITH months AS MATERIALIZED (
        -- the months to write, and the one before (for previous MRR); an
        -- integer series, so that the planner knows how many
        SELECT m.month_start, m.md, elt.elt__day_ts(m.md) AS ts
        FROM (SELECT g.month_start, LEAST((g.month_start + interval '1 month' - interval '1 day')::date, $5) AS md
              FROM (SELECT ($3 + i * interval '1 month')::date AS month_start
                    FROM generate_series(0, $6) i) g) m
    ),
    paid AS (
        -- what each subscription version pays, over the days it pays
        SELECT v.user_id, v.plan_id, v.mrr AS price, v.start_date, v.end_date
        FROM %2$s v
        WHERE v.mrr > 0 AND (v.paid_through IS NULL OR v.paid_through > (SELECT min(md) FROM months))
          AND v.end_date > v.start_date
          AND ($8::bigint[] IS NULL OR v.user_id = ANY ($8))
    ),
    um AS MATERIALIZED (
        -- MRR of each paying user on each measurement day, and the plan
        -- of the dearest subscription (one sort serves both)
        (SELECT DISTINCT ON (mo.month_start, pd.user_id)
                mo.month_start, pd.user_id, sum(pd.price) OVER w AS mrr, pd.plan_id
         FROM months mo
         JOIN paid pd ON pd.start_date <= mo.md AND (pd.end_date IS NULL OR pd.end_date > mo.md)
         WHERE $1 IS NULL OR mo.month_start >= $2
         WINDOW w AS (PARTITION BY mo.month_start, pd.user_id ORDER BY pd.price DESC, pd.plan_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
         ORDER BY mo.month_start, pd.user_id, pd.price DESC, pd.plan_id)
        UNION ALL
        -- incremental: the month before the rewritten ones is final (it
        -- was measured on its last day), so its MRR is read from the facts
        SELECT f.month_start, f.user_id, f.mrr, f.plan_key
        FROM %4$s f
        WHERE $1 IS NOT NULL AND f.month_start = ($2 - interval '1 month')::date AND f.mrr > 0
          AND ($8::bigint[] IS NULL OR f.user_id = ANY ($8))
    ),
    firsts AS (
        -- first paying month of each user among these months (months kept
        -- from earlier builds are looked up below, only where it matters)
        SELECT um.user_id, min(um.month_start) AS first_paid FROM um GROUP BY um.user_id
    ),
    x AS (
        -- paying months, and the month after each (a churn when not paying
        -- then): each month's MRR meets the month before's in one join
        SELECT COALESCE(c.month_start, p.month_start) AS month_start, COALESCE(c.user_id, p.user_id) AS user_id,
               COALESCE(c.mrr, 0) AS mrr, COALESCE(p.mrr, 0) AS prev, COALESCE(c.plan_id, p.plan_id) AS plan_id
        FROM (SELECT um.* FROM um WHERE um.month_start >= $2) c
        FULL JOIN (SELECT (um.month_start + interval '1 month')::date AS month_start, um.user_id, um.mrr, um.plan_id
                   FROM um WHERE um.month_start < $4) p
          ON p.month_start = c.month_start AND p.user_id = c.user_id
    ),
    y AS MATERIALIZED (   -- movement is used six times: compute it once
        SELECT x.*, mo.md, mo.ts,
               CASE WHEN x.prev = 0
                         AND (f.first_paid < x.month_start
                              -- incremental: paid in a month kept from earlier builds
                              -- (index on user_id, month_start; only users not paying
                              -- the month before get here)
                              OR ($1 IS NOT NULL
                                  AND EXISTS (SELECT 1 FROM %4$s f
                                              WHERE f.user_id = x.user_id AND f.month_start < $2 AND f.mrr > 0)))
                    THEN 'reactivation'
                    WHEN x.prev = 0 THEN 'new'
                    WHEN x.mrr = 0 THEN 'churn'
                    WHEN x.mrr > x.prev THEN 'expansion'
                    WHEN x.mrr < x.prev THEN 'contraction'
                    ELSE 'retained' END AS movement
        FROM x
        JOIN months mo ON mo.month_start = x.month_start
        LEFT JOIN firsts f ON f.user_id = x.user_id
    )
    SELECT y.month_start, y.user_id, COALESCE(dd.date_key, -1) AS date_key,
           COALESCE(du.user_key, -1) AS user_key, COALESCE(dp.plan_key, -1) AS plan_key,
           y.mrr, y.prev AS previous_mrr, y.mrr - y.prev AS mrr_change, y.movement,
           CASE WHEN y.movement = 'new' THEN y.mrr ELSE 0 END AS new_mrr,
           CASE WHEN y.movement = 'expansion' THEN y.mrr - y.prev ELSE 0 END AS expansion_mrr,
           CASE WHEN y.movement = 'contraction' THEN y.mrr - y.prev ELSE 0 END AS contraction_mrr,
           CASE WHEN y.movement = 'churn' THEN -y.prev ELSE 0 END AS churned_mrr,
           CASE WHEN y.movement = 'reactivation' THEN y.mrr ELSE 0 END AS reactivation_mrr,
           -- the kind of churn (subscriptions_user_idx: a few versions per user)
           CASE WHEN y.movement <> 'churn' THEN NULL
                WHEN EXISTS (SELECT 1 FROM %3$s s
                             WHERE s.user_id = y.user_id AND s.status = 'cancelled'
                               AND s.end_date <= elt.elt__ts_day(s.valid_from)
                               AND s.end_date >= y.month_start AND s.end_date <= y.md)
                     THEN 'involuntary'
                WHEN EXISTS (SELECT 1 FROM %3$s s
                             JOIN elt_raw.plans p ON p.plan_id = s.plan_id AND p.monthly_price = 0
                             WHERE s.user_id = y.user_id AND s.valid_from <= y.ts
                               AND (s.valid_to IS NULL OR s.valid_to > y.ts)
                               AND s.start_date <= y.md AND (s.end_date IS NULL OR s.end_date > y.md))
                     THEN 'downgrade_to_free'
                ELSE 'voluntary' END AS churn_type
    FROM y
    -- the month: its first day, or the window's first day in its first month
    LEFT JOIN elt_mart.dim_date dd ON dd.date = GREATEST(y.month_start, $7)
    %1$s
    LEFT JOIN elt_mart.dim_plan dp ON dp.plan_id = y.plan_id
    ORDER BY y.month_start, y.user_id
    $q$, elt.elt__key_join('dim_user', 'du', 'y.user_id', 'y.user_id', 'y.ts'),
    -- the sources: themselves on a single node, copies on the coordinator
    -- on Citus (elt__source; what this statement reads of them)
    elt.elt__source('elt.subscription_spans', 'r.mrr > 0'),
    elt.elt__source('elt_raw.subscriptions'),
    elt.elt__source('elt_mart.fct_mrr_monthly', format('%L IS NOT NULL AND r.mrr > 0', since)));
    -- the months between v_m0 and v_last ($6: generate_series(0, $6))
    v_months := ((EXTRACT(year FROM v_last) - EXTRACT(year FROM v_m0)) * 12
                 + EXTRACT(month FROM v_last) - EXTRACT(month FROM v_m0))::integer;
    IF v_merge THEN
        -- one statement: the rows whose keys are no longer produced are
        -- deleted, the others upserted
        EXECUTE elt.elt__merge_sql('elt_mart.fct_mrr_monthly'::pg_catalog.regclass, v_src,
                                   '$1 IS NULL OR (t.month_start >= $2 AND ($8::bigint[] IS NULL OR t.user_id = ANY ($8)))'::pg_catalog.text)
            INTO n_del, n_ins USING since, v_lo, v_m0, v_last, w.clock, v_months, w.start_date, v_ids;
    ELSE
        EXECUTE elt.elt__insert_sql('elt_mart.fct_mrr_monthly'::pg_catalog.regclass, v_src, false)
            USING since, v_lo, v_m0, v_last, w.clock, v_months, w.start_date, v_ids;
        GET DIAGNOSTICS n_ins = ROW_COUNT;
    END IF;
    PERFORM elt.elt__bulk_end(v_fast, 'elt_mart.fct_mrr_monthly'::pg_catalog.regclass, 'month_start'::pg_catalog.name, CASE WHEN since IS NULL THEN NULL ELSE v_lo END);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_mrr_monthly(date) IS
'Builds elt_mart.fct_mrr_monthly: per user and month (date_key: the month''s first day in the window), MRR on the month''s last day (the clock day for the current month) = the mrr of the user''s subscription versions valid and paid for that day, and its ChartMogul movement (new, expansion, contraction, churn, reactivation, retained). since NULL (default) rebuilds all; a day measures the months from the one holding the day before again. Rows already there that a full build would give again are not rewritten. Returns the number of rows written (deleted, inserted or changed).';

------------------------------------------------------------------------------
-- fct_kpi_daily
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_kpi_daily(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w     record;
    n_ins bigint;
    n_del bigint;
    v_fast boolean;
    v_lo  date;
    v_delta boolean := false;
    v_mrr   numeric;
    v_pay   bigint;
    v_free  bigint;
    v_act   boolean := false;   -- elt.mart_last_active is through v_lo - 1
    v_tot   record;             -- rows of elt.mart_last_active deleted, upserted (not reported)
    v_merge boolean;
    v_src   text;
BEGIN
    w := elt.elt__mart_begin(since);
    v_lo := GREATEST(COALESCE(since, w.start_date), w.start_date);
    -- Incremental, with the day before kept: its MRR, paying and free users are
    -- those of the new source too (nothing before since changed), so the
    -- running sums start from them and only subscriptions and stretches
    -- with a start or end in the new days count.
    IF since IS NOT NULL AND v_lo > w.start_date THEN
        SELECT k.mrr, k.paying_users, k.free_users INTO v_mrr, v_pay, v_free
        FROM elt_mart.fct_kpi_daily k WHERE k.date = v_lo - 1;
        v_delta := FOUND;
        -- each user's last active day is known through the day before
        v_act := v_delta AND (SELECT a.last_active FROM elt.mart_last_active a WHERE a.user_id = -1) = v_lo - 1;
    END IF;

    -- rows already there from v_lo on: merge (delete days gone, update
    -- changed ones, leave the rest alone); none: a plain insert
    SELECT EXISTS (SELECT 1 FROM elt_mart.fct_kpi_daily t WHERE since IS NULL OR t.date >= v_lo) INTO v_merge;
    v_fast := elt.elt__bulk_begin('elt_mart.fct_kpi_daily'::pg_catalog.regclass);
    -- MRR and paying users as running sums of +/- events from v_lo on: a
    -- paid subscription adds its price on max(start, v_lo) and removes it on
    -- its end date; a user's paid subscriptions merged into paying stretches
    -- add one paying user on the stretch's start and remove it (one churned
    -- user) on its end.  From the day before's values ($4), only starts
    -- from v_lo on count, and only users with such a start or end in the
    -- new days can start or end a stretch.
    -- the rows of the days from v_lo ($1) through the clock ($2)
    v_src := format($q$
    WITH days AS (
        SELECT g::date AS d FROM generate_series($1::timestamp, $2::timestamp, interval '1 day') g
    ),
    paid AS MATERIALIZED (
        -- what each subscription version pays, over the days it pays
        SELECT v.user_id, v.mrr AS price, v.start_date, v.end_date
        FROM %1$s v
        WHERE v.mrr > 0 AND (v.paid_through IS NULL OR v.paid_through >= $1) AND v.valid_from <= elt.elt__day_ts($2)
          AND v.end_date >= $1 AND v.end_date > v.start_date
    ),
    moved AS (
        SELECT DISTINCT pd.user_id FROM paid pd WHERE pd.start_date >= $1 OR pd.end_date <= $2
    ),
    brk AS (
        SELECT pd.*,
               CASE WHEN pd.start_date <= max(pd.end_date) OVER (PARTITION BY pd.user_id ORDER BY pd.start_date, pd.end_date
                                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS new_stretch
        FROM paid pd
        WHERE NOT $3 OR pd.user_id IN (SELECT m.user_id FROM moved m)
    ),
    stretch AS (
        SELECT b.user_id, min(b.start_date) AS s, max(b.end_date) AS e
        FROM (SELECT brk.*, sum(brk.new_stretch) OVER (PARTITION BY brk.user_id ORDER BY brk.start_date, brk.end_date
                                                       ROWS UNBOUNDED PRECEDING) AS k
              FROM brk) b
        GROUP BY b.user_id, b.k
    ),
    ev AS (
        SELECT e.d, sum(e.dmrr) AS dmrr, sum(e.dpay) AS dpay, sum(e.dchurn) AS dchurn
        FROM (SELECT GREATEST(pd.start_date, $1) AS d, pd.price AS dmrr, 0 AS dpay, 0 AS dchurn FROM paid pd
              WHERE NOT $3 OR pd.start_date >= $1
              UNION ALL
              SELECT pd.end_date, -pd.price, 0, 0 FROM paid pd WHERE pd.end_date <= $2
              UNION ALL
              SELECT GREATEST(st.s, $1), 0, 1, 0 FROM stretch st WHERE NOT $3 OR st.s >= $1
              UNION ALL
              SELECT st.e, 0, -1, 1 FROM stretch st WHERE st.e <= $2) e
        GROUP BY e.d
    ),
    starts AS (
        -- paying stretches starting in the days: a user's first paying day
        -- is a new paying user, a later one a reactivation (index on user_id)
        SELECT st.s AS d,
               count(*) FILTER (WHERE fp.first_day = st.s) AS new_paying,
               count(*) FILTER (WHERE fp.first_day < st.s) AS reactivated
        FROM stretch st
        CROSS JOIN LATERAL (
            SELECT min(elt.elt__ts_day(s2.valid_from)) AS first_day
            FROM %2$s s2
            WHERE s2.user_id = st.user_id AND s2.mrr > 0
              AND LEAST(COALESCE(s2.end_date, 'infinity'::date),
                        COALESCE(elt.elt__ts_day(s2.valid_to), 'infinity'::date)) > elt.elt__ts_day(s2.valid_from)) fp
        WHERE st.s BETWEEN $1 AND $2
        GROUP BY st.s
    ),
    free AS (
        -- users on the Free plan: +1 from the day an active free-plan
        -- version is valid (or $1), -1 on the day it ends
        SELECT e.d, sum(e.dn) AS dn
        -- (from the day before's value, $3: only versions starting or
        -- ending in the days count, not every free user again)
        FROM (SELECT f.start_date AS s, f.end_date AS e
              FROM %1$s f
              JOIN elt_raw.plans p ON p.plan_id = f.plan_id
              WHERE p.monthly_price = 0 AND f.status = 'active'
                AND (f.valid_to IS NULL OR f.valid_to > elt.elt__day_ts($1 - 1))
                AND f.valid_from <= elt.elt__day_ts($2)
                AND f.end_date > f.start_date
                AND CASE WHEN $3 THEN f.end_date >= $1 AND (f.start_date >= $1 OR f.end_date <= $2)
                         ELSE f.end_date > $1 END) v
        CROSS JOIN LATERAL (VALUES (CASE WHEN NOT $3 OR v.s >= $1 THEN GREATEST(v.s, $1) END, 1),
                                   (v.e, -1)) e(d, dn)
        WHERE e.d <= $2
        GROUP BY e.d
    ),
    trials AS (
        SELECT t.d, sum(t.started) AS started, sum(t.converted) AS converted
        FROM (SELECT s.start_date AS d, count(DISTINCT s.subscription_id) AS started, 0 AS converted
              FROM %2$s s
              WHERE s.trial_end IS NOT NULL AND s.start_date BETWEEN $1 AND $2
              GROUP BY s.start_date
              UNION ALL
              -- a converted trial: the version starting on the trial end pays
              SELECT s.trial_end, 0, count(DISTINCT s.subscription_id)
              FROM %2$s s
              WHERE s.trial_end BETWEEN $1 AND $2 AND s.valid_from = elt.elt__day_ts(s.trial_end) AND s.mrr > 0
              GROUP BY s.trial_end) t
        GROUP BY t.d
    ),
    actd AS (
        -- each user's active days from 30 days before $1 on (earlier ones
        -- count on no day from $1 on), with the next active day
        SELECT a.user_id, a.d, lead(a.d) OVER (PARTITION BY a.user_id ORDER BY a.d) AS next_d
        FROM (SELECT DISTINCT x.user_id, x.usage_date AS d FROM %3$s x
              WHERE NOT $7 AND x.usage_date BETWEEN $1 - 30 AND $2) a
    ),
    au AS (
        -- a user counts on the days [d, d + 7) (WAU) and [d, d + 30) (MAU)
        -- after an active day d, until the next one: +1 / -1 events, summed
        -- from the first day read
        SELECT e.d, sum(e.dw) AS dw, sum(e.dm) AS dm
        FROM actd
        CROSS JOIN LATERAL (VALUES (actd.d, 1, 1),
                                   (LEAST(actd.d + 7, COALESCE(actd.next_d, actd.d + 7)), -1, 0),
                                   (LEAST(actd.d + 30, COALESCE(actd.next_d, actd.d + 30)), 0, -1)) e(d, dw, dm)
        GROUP BY e.d
    ),
    lastd AS (
        -- users per last active day before $1 (the month before it only)
        SELECT a.last_active AS d, count(*) AS n
        FROM elt.mart_last_active a
        WHERE $7 AND a.user_id <> -1 AND a.last_active >= $1 - 30
        GROUP BY a.last_active
    ),
    newact AS (
        -- users active in the new days, with their last active day before
        SELECT DISTINCT x.user_id, x.usage_date AS d, a.last_active AS last_d
        FROM %3$s x
        LEFT JOIN elt.mart_last_active a ON a.user_id = x.user_id
        WHERE $7 AND x.usage_date BETWEEN $1 AND $2   -- the BRIN index finds the new days
    ),
    aur AS (
        SELECT g::date AS d,
               sum(COALESCE(au.dw, 0)) OVER r AS wau, sum(COALESCE(au.dm, 0)) OVER r AS mau
        FROM generate_series(($1 - 30)::timestamp, $2::timestamp, interval '1 day') g
        LEFT JOIN au ON au.d = g::date
        WHERE NOT $7
        WINDOW r AS (ORDER BY g)
        UNION ALL
        -- with elt.mart_last_active through the day before ($7): users
        -- whose last active day before then is in the week (month) ending
        -- on the day, plus the others active in the new days of that week
        -- (month); only the new days' usage is read
        SELECT days.d,
               COALESCE((SELECT sum(l.n) FROM lastd l WHERE l.d > days.d - 7), 0)
                 + (SELECT count(DISTINCT na.user_id) FROM newact na
                    WHERE na.d <= days.d AND na.d > days.d - 7 AND (na.last_d IS NULL OR na.last_d <= days.d - 7)),
               COALESCE((SELECT sum(l.n) FROM lastd l WHERE l.d > days.d - 30), 0)
                 + (SELECT count(DISTINCT na.user_id) FROM newact na
                    WHERE na.d <= days.d AND (na.last_d IS NULL OR na.last_d <= days.d - 30))
        FROM days
        WHERE $7
    ),
    sig AS (
        SELECT u.signup_date AS d, count(DISTINCT u.user_id) AS n
        FROM %4$s u
        WHERE u.signup_date BETWEEN $1 AND $2
        GROUP BY u.signup_date
    ),
    use AS (
        SELECT x.usage_date AS d, count(DISTINCT x.user_id) AS active_users,
               sum(x.actions_performed) AS actions_performed, sum(x.api_calls) AS api_calls,
               sum(x.storage_used_mb) AS storage_used_mb, sum(x.active_minutes) AS active_minutes
        FROM %3$s x
        WHERE x.usage_date BETWEEN $1 AND $2
        GROUP BY x.usage_date
    ),
    k AS (
        SELECT days.d,
               COALESCE(sig.n, 0) AS signups,
               COALESCE(use.active_users, 0) AS active_users,
               $4 + sum(COALESCE(ev.dpay, 0)) OVER run AS paying_users,
               COALESCE(ev.dchurn, 0) AS churned_users,
               $5 + sum(COALESCE(ev.dmrr, 0)) OVER run AS mrr,
               COALESCE(use.actions_performed, 0) AS actions_performed,
               COALESCE(use.api_calls, 0) AS api_calls,
               COALESCE(use.storage_used_mb, 0) AS storage_used_mb,
               COALESCE(use.active_minutes, 0) AS active_minutes,
               $8 + sum(COALESCE(free.dn, 0)) OVER run AS free_users,
               COALESCE(trials.started, 0) AS trials_started,
               COALESCE(trials.converted, 0) AS trial_conversions,
               COALESCE(starts.new_paying, 0) AS new_paying_users,
               COALESCE(starts.reactivated, 0) AS reactivations,
               aur.wau AS weekly_active_users,
               aur.mau AS monthly_active_users
        FROM days
        LEFT JOIN ev ON ev.d = days.d
        LEFT JOIN sig ON sig.d = days.d
        LEFT JOIN use ON use.d = days.d
        LEFT JOIN free ON free.d = days.d
        LEFT JOIN trials ON trials.d = days.d
        LEFT JOIN starts ON starts.d = days.d
        JOIN aur ON aur.d = days.d
        WINDOW run AS (ORDER BY days.d)
    )
    SELECT dd.date_key, k.d AS date, k.signups, k.active_users, k.paying_users, k.churned_users,
           k.mrr, 12 * k.mrr AS arr, k.actions_performed, k.api_calls, k.storage_used_mb, k.active_minutes,
           k.free_users, k.trials_started, k.trial_conversions, k.new_paying_users, k.reactivations,
           k.weekly_active_users, k.monthly_active_users
    FROM k
    JOIN elt_mart.dim_date dd ON dd.date = k.d
    ORDER BY k.d
    $q$,
    -- the sources: themselves on a single node, copies on the coordinator
    -- on Citus (elt__source; what this statement reads of them)
    elt.elt__source('elt.subscription_spans'), elt.elt__source('elt_raw.subscriptions'),
    elt.elt__source('elt_raw.usage', format('r.usage_date BETWEEN %L AND %L', v_lo - 30, w.clock)),
    elt.elt__source('elt_raw.users', format('r.signup_date BETWEEN %L AND %L', v_lo, w.clock)));
    IF v_merge THEN
        -- one statement: the days from v_lo on (all for a full build, $6
        -- NULL) that are no longer produced are deleted, the others upserted
        EXECUTE elt.elt__merge_sql('elt_mart.fct_kpi_daily'::pg_catalog.regclass, v_src,
                                   '$6 IS NULL OR t.date >= $1'::pg_catalog.text)
            INTO n_del, n_ins USING v_lo, w.clock, v_delta, COALESCE(v_pay, 0), COALESCE(v_mrr, 0), since,
                                    v_act, COALESCE(v_free, 0);
    ELSE
        EXECUTE elt.elt__insert_sql('elt_mart.fct_kpi_daily'::pg_catalog.regclass, v_src, false)
            USING v_lo, w.clock, v_delta, COALESCE(v_pay, 0), COALESCE(v_mrr, 0), since,
                  v_act, COALESCE(v_free, 0);
        GET DIAGNOSTICS n_ins = ROW_COUNT;
        n_del := 0;
    END IF;
    PERFORM elt.elt__bulk_end(v_fast, 'elt_mart.fct_kpi_daily'::pg_catalog.regclass, 'date'::pg_catalog.name, v_lo);
    -- Keep elt.mart_last_active in step, through the clock: in step, fold
    -- in the new days; otherwise rebuild it from all usage (merged: a
    -- rebuild with nothing changed writes nothing).
    IF v_act THEN
        INSERT INTO elt.mart_last_active AS a (user_id, last_active)
        SELECT x.user_id, max(x.usage_date) FROM elt_raw.usage x
        WHERE x.usage_date BETWEEN v_lo AND w.clock
        GROUP BY x.user_id
        -- (prev_active: the day before, for the cohort builder's users
        -- first active in the month)
        ON CONFLICT (user_id) DO UPDATE SET (last_active, prev_active) = (excluded.last_active, a.last_active);
    ELSE
        EXECUTE elt.elt__merge_sql('elt.mart_last_active'::pg_catalog.regclass, $q$
            SELECT x.user_id, max(x.usage_date) AS last_active, NULL::date AS prev_active FROM elt_raw.usage x
            WHERE x.usage_date <= $1
            GROUP BY x.user_id
        $q$, 't.user_id <> -1'::pg_catalog.text) INTO v_tot USING w.clock;
    END IF;
    -- the row of -1: through the clock, folded from v_lo - 1 (NULL: rebuilt)
    INSERT INTO elt.mart_last_active AS a (user_id, last_active, prev_active)
    VALUES (-1, w.clock, CASE WHEN v_act THEN v_lo - 1 END)
    ON CONFLICT (user_id) DO UPDATE SET (last_active, prev_active) = (excluded.last_active, excluded.prev_active);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_kpi_daily(date) IS
'Builds elt_mart.fct_kpi_daily: per day of the window, signups, active users (distinct users with usage), paying users (MRR above 0), churned users (paying the day before, not that day), MRR, ARR = 12 x MRR, usage totals, free users, trials started and converted, new paying users, reactivations, and weekly and monthly active users (distinct users with usage in the 7 / 30 days ending that day). since NULL (default) rebuilds all; a day rewrites the days from that day on. Rows already there that a full build would give again are not rewritten. Returns the number of rows written (deleted, inserted or changed).';
