-- pgTAP: the SaaS metrics of issue 15: fct_cohort_retention,
-- fct_saas_metrics_monthly and the new columns of fct_kpi_daily.  Every
-- metric is recomputed here from elt_raw by brute force (every paying day
-- of every subscription version, every usage row), with the definitions of
-- the table comments, not from another mart: after a full build, and after
-- refreshes across a month end; the refreshed marts also equal a full
-- rebuild, row for row.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(29);

-- ---------------------------------------------------------------- schema
SELECT has_table('elt_mart', t, 'table elt_mart.' || t)
FROM unnest(ARRAY['fct_cohort_retention', 'fct_saas_metrics_monthly']) t;
SELECT col_is_pk('elt_mart', 'fct_cohort_retention', ARRAY['cohort_kind', 'cohort_month', 'months_since'],
                 'fct_cohort_retention: primary key (cohort_kind, cohort_month, months_since)');
SELECT col_is_pk('elt_mart', 'fct_saas_metrics_monthly', 'month_start', 'fct_saas_metrics_monthly: primary key month_start');
SELECT fk_ok('elt_mart', 'fct_cohort_retention', 'date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT fk_ok('elt_mart', 'fct_cohort_retention', 'cohort_date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT fk_ok('elt_mart', 'fct_saas_metrics_monthly', 'date_key', 'elt_mart', 'dim_date', 'date_key');
SELECT is((SELECT count(*) FROM pg_attribute a
           WHERE a.attrelid IN ('elt_mart.fct_cohort_retention'::regclass, 'elt_mart.fct_saas_metrics_monthly'::regclass,
                                'elt_mart.fct_kpi_daily'::regclass)
             AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL), 0::bigint,
          'every column of the new and extended tables has a comment');
SELECT is((SELECT array_agg(m.ord ORDER BY m.ord) FILTER (WHERE m.name IN ('fct_cohort_retention', 'fct_saas_metrics_monthly'))
           FROM elt.elt__mart_tables() m), ARRAY[10, 11], 'the new tables are in the list of mart tables at 10 and 11');

-- ---------------------------------------------------------------- expected values, from elt_raw
-- Every day a subscription version pays: valid that day and before its end.
CREATE FUNCTION pg_temp.pays() RETURNS TABLE (user_id bigint, subscription_id bigint, d date, mrr numeric)
LANGUAGE sql AS $f$
    SELECT s.user_id, s.subscription_id, g::date, s.mrr
    FROM elt_raw.subscriptions s,
         generate_series((s.valid_from AT TIME ZONE 'UTC')::date,
                         LEAST(COALESCE((s.valid_to AT TIME ZONE 'UTC')::date, 'infinity'), COALESCE(s.end_date, 'infinity'),
                               (SELECT clock + 1 FROM elt.settings)) - 1, interval '1 day') g
    WHERE s.mrr > 0
$f$;
CREATE FUNCTION pg_temp.refill() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    DROP TABLE IF EXISTS pays, ud, months, umrr, exp_saas, exp_cohort, exp_kpi;
    CREATE TEMP TABLE pays AS SELECT * FROM pg_temp.pays();
    CREATE INDEX ON pays (user_id, d);
    CREATE INDEX ON pays (subscription_id, d);
    -- the days each user was active
    CREATE TEMP TABLE ud AS SELECT DISTINCT x.user_id, x.usage_date AS d FROM elt_raw.usage x;
    CREATE INDEX ON ud (user_id, d);
    CREATE INDEX ON ud (d);
    ANALYZE pays, ud;
    CREATE TEMP TABLE months AS
        SELECT m::date AS month_start, LEAST((m + interval '1 month - 1 day')::date, s.clock) AS md
        FROM elt.settings s, generate_series(date_trunc('month', s.start_date), s.clock, interval '1 month') m;
    -- each user's MRR on each measurement day
    CREATE TEMP TABLE umrr AS
        SELECT mo.month_start, p.user_id, sum(p.mrr) AS mrr
        FROM months mo JOIN pays p ON p.d = mo.md GROUP BY 1, 2;
    CREATE INDEX ON umrr (user_id, month_start);
    ANALYZE umrr;

    -- fct_saas_metrics_monthly
    CREATE TEMP TABLE exp_saas AS
    WITH u AS (
        SELECT mo.month_start, mo.md, us.user_id,
               COALESCE(c.mrr, 0) AS mrr, COALESCE(p.mrr, 0) AS prev,
               EXISTS (SELECT 1 FROM umrr e WHERE e.user_id = us.user_id AND e.month_start < mo.month_start) AS paid_before
        FROM months mo
        CROSS JOIN (SELECT DISTINCT user_id FROM umrr) us
        LEFT JOIN umrr c ON c.user_id = us.user_id AND c.month_start = mo.month_start
        LEFT JOIN umrr p ON p.user_id = us.user_id AND p.month_start = (mo.month_start - interval '1 month')::date
        WHERE c.mrr IS NOT NULL OR p.mrr IS NOT NULL
    ), v AS (
        SELECT u.*,
               u.prev > 0 AND u.mrr = 0 AND (
                   -- the subscription paying on the user's last paying day
                   -- got a cancelled version the next day ending that day
                   SELECT EXISTS (SELECT 1 FROM elt_raw.subscriptions c
                                  WHERE c.subscription_id = l.subscription_id AND c.status = 'cancelled'
                                    AND (c.valid_from AT TIME ZONE 'UTC')::date = l.d + 1 AND c.end_date = l.d + 1)
                   FROM (SELECT p.subscription_id, p.d FROM pays p WHERE p.user_id = u.user_id AND p.d <= u.md
                         ORDER BY p.d DESC, p.subscription_id DESC LIMIT 1) l) AS invol
        FROM u
    ), agg AS (
        SELECT mo.month_start, mo.md,
               COALESCE(sum(v.mrr), 0) AS mrr, COALESCE(sum(v.prev), 0) AS start_mrr,
               COALESCE(sum(v.mrr) FILTER (WHERE v.prev = 0 AND NOT v.paid_before), 0) AS new_mrr,
               COALESCE(sum(v.mrr - v.prev) FILTER (WHERE v.prev > 0 AND v.mrr > v.prev), 0) AS exp_mrr,
               COALESCE(sum(v.mrr - v.prev) FILTER (WHERE v.mrr > 0 AND v.mrr < v.prev), 0) AS con_mrr,
               COALESCE(sum(-v.prev) FILTER (WHERE v.mrr = 0 AND NOT v.invol), 0) AS vol_mrr,
               COALESCE(sum(-v.prev) FILTER (WHERE v.invol), 0) AS invol_mrr,
               COALESCE(sum(v.mrr) FILTER (WHERE v.prev = 0 AND v.paid_before), 0) AS react_mrr,
               count(v.user_id) FILTER (WHERE v.prev > 0) AS cs, count(v.user_id) FILTER (WHERE v.mrr > 0) AS ce,
               count(v.user_id) FILTER (WHERE v.prev = 0 AND NOT v.paid_before) AS nc,
               count(v.user_id) FILTER (WHERE v.prev = 0 AND v.paid_before) AS rc,
               count(v.user_id) FILTER (WHERE v.mrr = 0) AS cc,
               count(v.user_id) FILTER (WHERE v.invol) AS ic
        FROM months mo LEFT JOIN v ON v.month_start = mo.month_start
        GROUP BY mo.month_start, mo.md
    ), tr AS (
        SELECT mo.month_start,
               (SELECT count(DISTINCT s.subscription_id) FROM elt_raw.subscriptions s
                WHERE s.trial_end IS NOT NULL AND s.start_date >= mo.month_start AND s.start_date <= mo.md) AS started,
               (SELECT count(DISTINCT s.subscription_id) FROM elt_raw.subscriptions s
                WHERE s.trial_end >= mo.month_start AND s.trial_end <= mo.md) AS ended,
               (SELECT count(DISTINCT s.subscription_id) FROM elt_raw.subscriptions s
                WHERE s.trial_end >= mo.month_start AND s.trial_end <= mo.md
                  AND EXISTS (SELECT 1 FROM pays p WHERE p.subscription_id = s.subscription_id AND p.d = s.trial_end)) AS conv,
               (SELECT count(DISTINCT s.user_id) FROM elt_raw.subscriptions s JOIN elt_raw.plans pl USING (plan_id)
                WHERE pl.monthly_price = 0 AND s.status = 'active' AND mo.month_start > (SELECT min(month_start) FROM months)
                  AND (s.valid_from AT TIME ZONE 'UTC')::date <= mo.month_start - 1
                  AND COALESCE((s.valid_to AT TIME ZONE 'UTC')::date, 'infinity') > mo.month_start - 1
                  AND COALESCE(s.end_date, 'infinity') > mo.month_start - 1) AS free_start,
               (SELECT count(DISTINCT s.user_id) FROM elt_raw.subscriptions s JOIN elt_raw.plans pl USING (plan_id)
                WHERE pl.monthly_price = 0 AND s.status = 'active' AND mo.month_start > (SELECT min(month_start) FROM months)
                  AND (s.valid_from AT TIME ZONE 'UTC')::date <= mo.month_start - 1
                  AND COALESCE((s.valid_to AT TIME ZONE 'UTC')::date, 'infinity') > mo.month_start - 1
                  AND COALESCE(s.end_date, 'infinity') > mo.month_start - 1
                  AND EXISTS (SELECT 1 FROM pays p WHERE p.user_id = s.user_id AND p.d = mo.md)) AS free_paid
        FROM months mo
    )
    SELECT a.month_start, to_char(a.md, 'YYYYMMDD')::integer AS date_key,
           a.mrr, 12 * a.mrr AS arr, a.start_mrr, a.new_mrr, a.exp_mrr, a.con_mrr, a.vol_mrr + a.invol_mrr AS churned,
           a.vol_mrr, a.invol_mrr, a.react_mrr, a.mrr - a.start_mrr AS net_new,
           a.cs::integer, a.ce::integer, a.nc::integer, a.rc::integer, a.cc::integer, a.ic::integer,
           round(a.cc::numeric / NULLIF(a.cs, 0), 6) AS ccr,
           round(-(a.vol_mrr + a.invol_mrr + a.con_mrr) / NULLIF(a.start_mrr, 0), 6) AS gross_churn,
           round(-(a.vol_mrr + a.invol_mrr + a.con_mrr + a.exp_mrr + a.react_mrr) / NULLIF(a.start_mrr, 0), 6) AS net_churn,
           round(1 + (a.vol_mrr + a.invol_mrr + a.con_mrr + a.exp_mrr + a.react_mrr) / NULLIF(a.start_mrr, 0), 6) AS nrr,
           round(1 + (a.vol_mrr + a.invol_mrr + a.con_mrr) / NULLIF(a.start_mrr, 0), 6) AS grr,
           round(a.mrr / NULLIF(a.ce, 0), 2) AS arpa,
           round((a.mrr / NULLIF(a.ce, 0)) / NULLIF(a.cc::numeric / NULLIF(a.cs, 0), 0), 2) AS ltv,
           round((a.new_mrr + a.exp_mrr + a.react_mrr) / NULLIF(-(a.vol_mrr + a.invol_mrr + a.con_mrr), 0), 4) AS quick,
           t.started::integer, t.ended::integer, t.conv::integer, round(t.conv::numeric / NULLIF(t.ended, 0), 6) AS trial_rate,
           t.free_start::integer, t.free_paid::integer, round(t.free_paid::numeric / NULLIF(t.free_start, 0), 6) AS free_rate
    FROM agg a JOIN tr t USING (month_start);

    -- fct_cohort_retention
    CREATE TEMP TABLE exp_cohort AS
    WITH mem AS (
        SELECT 'signup' AS kind, u.user_id, date_trunc('month', min(u.signup_date))::date AS cm
        FROM elt_raw.users u GROUP BY u.user_id
        UNION ALL
        SELECT 'first_paid', user_id, min(month_start) FROM umrr GROUP BY user_id
    ), g AS (
        SELECT m.kind, m.cm, mo.month_start, mo.md, m.user_id,
               COALESCE((SELECT e.mrr FROM umrr e WHERE e.user_id = m.user_id AND e.month_start = m.cm), 0) AS smrr,
               COALESCE((SELECT e.mrr FROM umrr e WHERE e.user_id = m.user_id AND e.month_start = mo.month_start), 0) AS mrr,
               EXISTS (SELECT 1 FROM ud x WHERE x.user_id = m.user_id
                       AND x.d >= mo.month_start AND x.d <= mo.md) AS active
        FROM mem m JOIN months mo ON mo.month_start >= m.cm
    )
    SELECT g.kind, g.cm, (extract(year FROM age(g.month_start, g.cm)) * 12 + extract(month FROM age(g.month_start, g.cm)))::integer AS ms,
           g.month_start, to_char(g.cm, 'YYYYMMDD')::integer AS cdk, to_char(g.md, 'YYYYMMDD')::integer AS dk,
           count(*)::integer AS n,
           count(*) FILTER (WHERE CASE g.kind WHEN 'first_paid' THEN g.mrr > 0 ELSE g.active END)::integer AS ret,
           count(*) FILTER (WHERE g.mrr > 0)::integer AS paying,
           sum(g.smrr) AS smrr, sum(g.mrr) AS mrr, sum(LEAST(g.mrr, g.smrr)) AS gross,
           round(count(*) FILTER (WHERE CASE g.kind WHEN 'first_paid' THEN g.mrr > 0 ELSE g.active END)::numeric / count(*), 6) AS lr,
           round(sum(LEAST(g.mrr, g.smrr)) / NULLIF(sum(g.smrr), 0), 6) AS gr,
           round(sum(g.mrr) / NULLIF(sum(g.smrr), 0), 6) AS nr
    FROM g GROUP BY g.kind, g.cm, g.month_start, g.md;

    -- the new columns of fct_kpi_daily: the days each user pays, and the first
    DROP TABLE IF EXISTS upd, firstd;
    CREATE TEMP TABLE upd AS SELECT DISTINCT user_id, d FROM pays;
    CREATE INDEX ON upd (d);
    CREATE INDEX ON upd (user_id, d);
    CREATE TEMP TABLE firstd AS SELECT user_id, min(d) AS f FROM upd GROUP BY user_id;
    CREATE INDEX ON firstd (f);
    CREATE INDEX ON firstd (user_id);
    ANALYZE upd, firstd;
    CREATE TEMP TABLE exp_kpi AS
    WITH days AS (
        SELECT g::date AS d FROM elt.settings s, generate_series(s.start_date, s.clock, interval '1 day') g
    )
    SELECT days.d,
           (SELECT count(DISTINCT s.user_id) FROM elt_raw.subscriptions s JOIN elt_raw.plans pl USING (plan_id)
            WHERE pl.monthly_price = 0 AND s.status = 'active'
              AND (s.valid_from AT TIME ZONE 'UTC')::date <= days.d
              AND COALESCE((s.valid_to AT TIME ZONE 'UTC')::date, 'infinity') > days.d
              AND COALESCE(s.end_date, 'infinity') > days.d)::integer AS free_users,
           (SELECT count(DISTINCT s.subscription_id) FROM elt_raw.subscriptions s
            WHERE s.trial_end IS NOT NULL AND s.start_date = days.d)::integer AS trials_started,
           (SELECT count(DISTINCT s.subscription_id) FROM elt_raw.subscriptions s
            WHERE s.trial_end = days.d
              AND EXISTS (SELECT 1 FROM pays p WHERE p.subscription_id = s.subscription_id AND p.d = days.d))::integer AS trial_conversions,
           (SELECT count(*) FROM firstd WHERE firstd.f = days.d)::integer AS new_paying_users,
           (SELECT count(*) FROM upd a JOIN firstd f USING (user_id)
            WHERE a.d = days.d AND f.f < days.d
              AND NOT EXISTS (SELECT 1 FROM upd b WHERE b.user_id = a.user_id AND b.d = days.d - 1))::integer AS reactivations,
           (SELECT count(DISTINCT x.user_id) FROM ud x WHERE x.d BETWEEN days.d - 6 AND days.d)::integer AS wau,
           (SELECT count(DISTINCT x.user_id) FROM ud x WHERE x.d BETWEEN days.d - 29 AND days.d)::integer AS mau
    FROM days;
END $f$;

-- rows of a built table and of an expected one that differ, both ways
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((TABLE %1$s EXCEPT ALL TABLE %2$s) UNION ALL (TABLE %2$s EXCEPT ALL TABLE %1$s)) d', a, b) INTO n;
    RETURN n;
END $f$;
CREATE FUNCTION pg_temp.check_all(label text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_temp.refill();
    DROP TABLE IF EXISTS got_saas, got_cohort, got_kpi;
    CREATE TEMP TABLE got_saas AS SELECT * FROM elt_mart.fct_saas_metrics_monthly;
    CREATE TEMP TABLE got_cohort AS SELECT * FROM elt_mart.fct_cohort_retention;
    CREATE TEMP TABLE got_kpi AS SELECT date, free_users, trials_started, trial_conversions, new_paying_users,
                                        reactivations, weekly_active_users, monthly_active_users FROM elt_mart.fct_kpi_daily;
    RETURN NEXT is(pg_temp.diff('got_saas', 'exp_saas'), 0::bigint,
                   label || ': every column of fct_saas_metrics_monthly equals its recomputation from elt_raw');
    RETURN NEXT is(pg_temp.diff('got_cohort', 'exp_cohort'), 0::bigint,
                   label || ': every column of fct_cohort_retention equals its recomputation from elt_raw');
    RETURN NEXT is(pg_temp.diff('got_kpi', 'exp_kpi'), 0::bigint,
                   label || ': the new columns of fct_kpi_daily equal their recomputation from elt_raw');
    -- the checks must not pass on nothing
    RETURN NEXT ok((SELECT sum(new_mrr) > 0 AND sum(churned_involuntary_mrr) < 0 AND sum(churned_voluntary_mrr) < 0
                           AND sum(reactivation_mrr) > 0 AND sum(trials_converted) > 0 AND sum(free_to_paid) > 0
                           AND count(ltv) > 0 AND count(quick_ratio) > 0 FROM got_saas),
                   label || ': every kind of movement and conversion occurs (the comparison is not vacuous)');
    RETURN NEXT ok((SELECT bool_and(n > 0) FROM (SELECT sum(free_users) + 0 AS n FROM got_kpi UNION ALL SELECT sum(trial_conversions) FROM got_kpi
                    UNION ALL SELECT sum(new_paying_users) FROM got_kpi UNION ALL SELECT sum(reactivations) FROM got_kpi
                    UNION ALL SELECT sum(weekly_active_users) FROM got_kpi
                    UNION ALL SELECT count(*) FROM got_cohort WHERE cohort_kind = 'first_paid' AND accounts_retained < accounts_start
                    UNION ALL SELECT count(*) FROM got_cohort WHERE net_mrr_retention > 1) s),
                   label || ': the KPI and cohort columns are not all zero');
END $f$;

-- a full build
SELECT count(*) FROM elt_generate(2000, 42, '2025-06-28', '2024-07-01');
SELECT * FROM pg_temp.check_all('full build as of 2025-06-28');

-- refreshes across the month end: 2 days, then 3 more (June 30 -> July 3)
SELECT is(days_applied, 2, 'refresh(2) applied 2 days') FROM elt_refresh(2);
SELECT * FROM pg_temp.check_all('after refresh(2) to 2025-06-30');
SELECT is(days_applied, 3, 'refresh(3) applied 3 days') FROM elt_refresh(3);
SELECT * FROM pg_temp.check_all('after refresh(3) to 2025-07-03');

-- the incrementally updated tables equal a full rebuild, row for row, and
-- a rebuild over them rewrites nothing
CREATE TEMP TABLE inc_cohort AS SELECT * FROM elt_mart.fct_cohort_retention;
CREATE TEMP TABLE inc_saas AS SELECT * FROM elt_mart.fct_saas_metrics_monthly;
CREATE TEMP TABLE inc_kpi AS SELECT * FROM elt_mart.fct_kpi_daily;
SELECT is(elt_build_fct_cohort_retention() + elt_build_fct_saas_metrics_monthly() + elt_build_fct_kpi_daily(), 0::bigint,
          'a full rebuild after the refreshes rewrites no row of the three tables');
TRUNCATE elt_mart.fct_cohort_retention, elt_mart.fct_saas_metrics_monthly;
SELECT elt_build_fct_cohort_retention(), elt_build_fct_saas_metrics_monthly();
SELECT is(pg_temp.diff('inc_cohort', 'elt_mart.fct_cohort_retention') + pg_temp.diff('inc_saas', 'elt_mart.fct_saas_metrics_monthly'),
          0::bigint, 'refreshed fct_cohort_retention and fct_saas_metrics_monthly equal a build from nothing, row for row');
SELECT ok((SELECT count(*) FROM elt_mart.fct_saas_metrics_monthly) = 13 AND (SELECT max(month_start) FROM inc_saas) = '2025-07-01',
          'the refreshed metrics hold the new month');

SELECT * FROM finish();
ROLLBACK;
