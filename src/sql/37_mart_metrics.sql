-- elt_mart builders of the SaaS metrics: fct_cohort_retention and
-- fct_saas_metrics_monthly (tables in 36_mart_metrics_schema.sql).
--
-- Both are monthly and measure like fct_mrr_monthly: a user's MRR in a
-- month is the mrr of the user's subscription versions valid and paid for
-- the month's measurement day (its last day, the clock in the current
-- month).  A full build reads elt_raw only; an update also reads what
-- elt__build wrote before these tables (fct_mrr_monthly, and the KPI
-- builder's elt.mart_last_active), so they come last.  Incremental rule: a
-- row of month m depends on the source up to m's measurement day only, so
-- an update from since rewrites the months from the one holding since - 1
-- on (its measurement day was the old clock; on the 1st, a month whose
-- rows say they were measured on its last day is final and kept) and
-- merges them: unchanged rows keep their tuples.  The rows
-- written are computed from elt_raw with the same statement as a full
-- build, but an update measures only the months it writes and the one
-- before: what the months before say (who paid, how much) is read from
-- fct_mrr_monthly, whose rows of those months are final and which
-- elt__build updates before these tables (same measurement: a user's row
-- with mrr > 0 is a paying month).  Measuring every month again cost
-- seconds per day at 100k users.  When every new day is in the clock's
-- month (single node), an update reads less still: the metrics sum
-- fct_mrr_monthly's rows of the month, the cohorts add the changed users'
-- difference to the rows measured the day before (see each builder).

------------------------------------------------------------------------------
-- Internal: the first month an update from since rewrites (the first month
-- of the window for a full build, since NULL).
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION elt.elt__metrics_lo(since date, start_date date)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN GREATEST(date_trunc('month', start_date::timestamp)::date,
                date_trunc('month', (COALESCE(since, start_date) - 1)::timestamp)::date);
COMMENT ON FUNCTION elt.elt__metrics_lo(date, date) IS
'Internal: the first month a monthly metrics builder rewrites for since (the month holding since - 1, not before the window''s first month).';

-- Internal: whether an update from since (the 1st of a month) may skip the
-- month before (starting lo): it is final when it was measured on its last
-- day, which fct_saas_metrics_monthly's row of that month (written in the
-- same build as the other monthly marts) says.  Measuring it again would
-- cost most of the day and write nothing.
CREATE OR REPLACE FUNCTION elt.elt__month_final(since date, lo date)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
-- a string body, not RETURN: Citus cannot run SQL-standard bodies
AS $fn$
SELECT since IS NOT NULL AND lo < since AND EXTRACT(day FROM since) = 1
       AND (SELECT d.date FROM elt_mart.fct_saas_metrics_monthly f
            JOIN elt_mart.dim_date d ON d.date_key = f.date_key
            WHERE f.month_start = lo) IS NOT DISTINCT FROM since - 1
$fn$;
COMMENT ON FUNCTION elt.elt__month_final(date, date) IS
'Internal: true when since is the 1st of a month and the month before (starting lo) was measured on its last day, so a monthly mart update from since need not measure it again.';
REVOKE ALL ON FUNCTION elt.elt__month_final(date, date) FROM PUBLIC;

------------------------------------------------------------------------------
-- fct_cohort_retention
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_cohort_retention(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w      record;
    v_lo   date;
    v_fast boolean;
    n_del  bigint;
    n_ins  bigint;
    v_act  boolean;
    v_m    date;
    v_b    date;
    v_delta boolean;
    v_row  text;      -- the SELECT of a row from a cell's aggregate (both ways)
BEGIN
    w := elt.elt__mart_begin(since);
    v_lo := elt.elt__metrics_lo(since, w.start_date);
    -- the month before since is final when since is the 1st and its rows
    -- were measured on its last day (a month's rows are written together,
    -- with one measurement day: one row tells)
    IF since IS NOT NULL AND v_lo < since AND EXTRACT(day FROM since) = 1
       AND (SELECT d.date FROM elt_mart.fct_cohort_retention f
            JOIN elt_mart.dim_date d ON d.date_key = f.date_key
            WHERE f.month_start = v_lo LIMIT 1) = since - 1 THEN
        v_lo := since;
    END IF;
    -- only the current month is written and elt.mart_last_active (which
    -- the KPI builder, before this one, keeps) is through the clock: the
    -- users with usage in the month are those last active in it, and no
    -- usage is read (a read of usage from a day on reads all of it: usage
    -- is generated user by user)
    v_act := since IS NOT NULL AND v_lo = date_trunc('month', w.clock::timestamp)::date
             AND (SELECT a.last_active FROM elt.mart_last_active a WHERE a.user_id = -1) = w.clock;
    -- Update from what the new days changed (single node): every new day
    -- is in the clock's month (v_m), which is the only month written, the
    -- rows of the month holding since - 1 (v_b: v_m, or on the 1st the
    -- final month before) were measured on since - 1, and
    -- elt.mart_last_active was folded from since - 1 (its prev_active).
    v_m := date_trunc('month', w.clock::timestamp)::date;
    v_b := date_trunc('month', (since - 1)::timestamp)::date;
    v_delta := since IS NOT NULL AND NOT elt.elt__distributed()
        AND date_trunc('month', since::timestamp)::date = v_m AND v_lo = v_m
        AND COALESCE((SELECT min(d.date) = since - 1 AND max(d.date) = since - 1
                      FROM elt_mart.fct_cohort_retention f
                      JOIN elt_mart.dim_date d ON d.date_key = f.date_key
                      WHERE f.month_start = v_b), false)
        AND EXISTS (SELECT 1 FROM elt.mart_last_active a
                    WHERE a.user_id = -1 AND a.last_active = w.clock AND a.prev_active = since - 1);
    -- a row from a cohort cell's aggregate a, both ways: %1$s the month
    -- measured, %2$s the day it is measured on, %3$s the window's first
    -- day (a cohort month starting before it has no day in the calendar:
    -- rows of another window still there until the dimensions are purged
    -- at the end of the build must not be linked)
    v_row := $r$
        SELECT a.kind AS cohort_kind, a.cm AS cohort_month,
               ((EXTRACT(year FROM %1$s) - EXTRACT(year FROM a.cm)) * 12
                + EXTRACT(month FROM %1$s) - EXTRACT(month FROM a.cm))::integer AS months_since,
               %1$s AS month_start,
               COALESCE(dc.date_key, -1) AS cohort_date_key, COALESCE(dd.date_key, -1) AS date_key,
               a.accounts_start, a.accounts_retained, a.accounts_paying,
               a.starting_mrr, a.mrr, a.retained_mrr_gross,
               round(a.accounts_retained::numeric / NULLIF(a.accounts_start, 0), 6) AS logo_retention,
               round(a.retained_mrr_gross / NULLIF(a.starting_mrr, 0), 6) AS gross_mrr_retention,
               round(a.mrr / NULLIF(a.starting_mrr, 0), 6) AS net_mrr_retention
        FROM agg a
        LEFT JOIN elt_mart.dim_date dc ON dc.date = a.cm AND dc.date >= %3$s
        LEFT JOIN elt_mart.dim_date dd ON dd.date = %2$s
        ORDER BY 1, 2, 3
    $r$;
    v_fast := elt.elt__bulk_begin('elt_mart.fct_cohort_retention'::pg_catalog.regclass);
    IF v_delta THEN
        -- A row of month v_m is the row of v_b plus, for every user whose
        -- MRR or cohort may have changed in the new days
        -- (elt__users_changed_in: a superset, as an unchanged user adds
        -- nothing), the user's part on the clock day less the
        -- part on since - 1; for signup cohorts, retained users are those
        -- of v_b (none on the 1st) plus those first active in v_m in the
        -- new days.  A user's part: counted in the cohort, paying or not,
        -- MRR, starting MRR (MRR of the cohort month: from fct_mrr_monthly
        -- when final, else the MRR measured) and the lesser of the two.
        -- Reads the changed users' versions and months, not every user.
        -- $1 since, $2 v_m, $3 first month of the window, $4 clock, $5 v_b,
        -- $6 the changed users
        EXECUTE elt.elt__merge_sql('elt_mart.fct_cohort_retention'::pg_catalog.regclass, $q$
        WITH chg AS MATERIALIZED (
            SELECT c.user_id FROM unnest($6::bigint[]) c(user_id)
        ),
        u AS MATERIALIZED (
            SELECT c.user_id, sg.scm_old, sg.scm_new,
                   (SELECT min(f.month_start) FROM elt_mart.fct_mrr_monthly f
                    WHERE f.user_id = c.user_id AND f.month_start < $5 AND f.mrr > 0) AS fp_b,
                   (SELECT min(f.month_start) FROM elt_mart.fct_mrr_monthly f
                    WHERE f.user_id = c.user_id AND f.month_start < $2 AND f.mrr > 0) AS fp_m,
                   COALESCE(ms.mrr_old, 0) AS mrr_old, COALESCE(ms.mrr_new, 0) AS mrr_new
            FROM chg c
            CROSS JOIN LATERAL (
                SELECT date_trunc('month', (min(x.signup_date) FILTER (WHERE x.signup_date <= $1 - 1))::timestamp)::date AS scm_old,
                       date_trunc('month', (min(x.signup_date) FILTER (WHERE x.signup_date <= $4))::timestamp)::date AS scm_new
                FROM elt_raw.users x WHERE x.user_id = c.user_id) sg
            CROSS JOIN LATERAL (
                SELECT sum(v.mrr) FILTER (WHERE v.start_date <= $1 - 1 AND v.end_date > $1 - 1) AS mrr_old,
                       sum(v.mrr) FILTER (WHERE v.start_date <= $4 AND v.end_date > $4) AS mrr_new
                FROM elt.subscription_spans v
                WHERE v.user_id = c.user_id AND v.mrr > 0 AND v.end_date > v.start_date) ms
        ),
        part AS (
            -- each changed user's parts: taken away (-1) from v_b's rows
            -- as measured on since - 1, added (+1) as measured on the clock
            SELECT k.kind, k.cm, k.sg, k.mrr,
                   CASE WHEN k.cm < k.base
                        THEN COALESCE((SELECT f.mrr FROM elt_mart.fct_mrr_monthly f
                                       WHERE f.user_id = u.user_id AND f.month_start = k.cm), 0)
                        ELSE k.mrr END AS smrr
            FROM u
            CROSS JOIN LATERAL (VALUES
                ('signup'::text, u.scm_old, -1, u.mrr_old, $5::date),
                ('signup', u.scm_new, 1, u.mrr_new, $2::date),
                ('first_paid', COALESCE(u.fp_b, CASE WHEN u.mrr_old > 0 THEN $5::date END), -1, u.mrr_old, $5::date),
                ('first_paid', COALESCE(u.fp_m, CASE WHEN u.mrr_new > 0 THEN $2::date END), 1, u.mrr_new, $2::date)
            ) k(kind, cm, sg, mrr, base)
            WHERE k.cm >= $3
        ),
        z AS (
            SELECT t.cohort_kind AS kind, t.cohort_month AS cm, t.accounts_start::bigint AS n,
                   CASE WHEN t.cohort_kind = 'first_paid' OR $5 = $2 THEN t.accounts_retained ELSE 0 END::bigint AS retained,
                   t.accounts_paying::bigint AS paying, t.starting_mrr AS smrr, t.mrr, t.retained_mrr_gross AS rmg
            FROM elt_mart.fct_cohort_retention t
            WHERE t.month_start = $5
            UNION ALL
            SELECT p.kind, p.cm, p.sg, CASE WHEN p.kind = 'first_paid' AND p.mrr > 0 THEN p.sg ELSE 0 END,
                   CASE WHEN p.mrr > 0 THEN p.sg ELSE 0 END, p.sg * p.smrr, p.sg * p.mrr, p.sg * LEAST(p.mrr, p.smrr)
            FROM part p
            UNION ALL
            -- users first active in the month in the new days, by signup cohort
            SELECT 'signup', sg.cm, 0, 1, 0, 0, 0, 0
            FROM elt.mart_last_active a
            CROSS JOIN LATERAL (
                SELECT date_trunc('month', min(x.signup_date)::timestamp)::date AS cm
                FROM elt_raw.users x WHERE x.user_id = a.user_id AND x.signup_date <= $4) sg
            WHERE a.user_id <> -1 AND a.last_active >= $1 AND (a.prev_active IS NULL OR a.prev_active < $2)
              AND sg.cm >= $3
        ),
        agg AS (
            SELECT z.kind, z.cm, sum(z.n) AS accounts_start, sum(z.retained) AS accounts_retained,
                   sum(z.paying) AS accounts_paying, sum(z.smrr) AS starting_mrr, sum(z.mrr) AS mrr,
                   sum(z.rmg) AS retained_mrr_gross
            FROM z
            GROUP BY z.kind, z.cm
            HAVING sum(z.n) > 0
        )
        $q$ || format(v_row, '$2', '$4', format('%L::pg_catalog.date', w.start_date)), '$1 IS NULL OR t.month_start >= $2'::pg_catalog.text)
            INTO n_del, n_ins USING since, v_m, date_trunc('month', w.start_date::timestamp)::date, w.clock, v_b,
                                    elt.elt__users_changed_in(since, w.clock);
        RAISE DEBUG 'elt_build_fct_cohort_retention: % from the rows of % and the changed users', v_m, v_b;
    ELSE
        -- $1 since, $2 first month written, $3 first month of the window, $4 clock,
        -- $5 users with usage from elt.mart_last_active
        EXECUTE elt.elt__merge_sql('elt_mart.fct_cohort_retention'::pg_catalog.regclass, $q$
        WITH months AS MATERIALIZED (
            SELECT g::date AS month_start,
                   LEAST((g + interval '1 month' - interval '1 day')::date, $4) AS md
            FROM generate_series($3::timestamp, date_trunc('month', $4::timestamp), interval '1 month') g
        ),
        paid AS MATERIALIZED (
            -- incremental: only versions paid on a measurement day written
            SELECT v.user_id, v.mrr AS price, v.start_date AS s, v.end_date AS e
            FROM elt.subscription_spans v
            WHERE v.mrr > 0 AND v.end_date > v.start_date AND ($1 IS NULL OR v.end_date > $2)
        ),
        um AS MATERIALIZED (
            -- MRR of each paying user on each measurement day: measured for
            -- the months written, read from fct_mrr_monthly for the months
            -- before (incremental)
            SELECT mo.month_start, pd.user_id, sum(pd.price) AS mrr
            FROM months mo JOIN paid pd ON pd.s <= mo.md AND pd.e > mo.md
            WHERE $1 IS NULL OR mo.month_start >= $2
            GROUP BY mo.month_start, pd.user_id
            UNION ALL
            SELECT f.month_start, f.user_id, f.mrr
            FROM elt_mart.fct_mrr_monthly f
            WHERE $1 IS NOT NULL AND f.month_start < $2 AND f.mrr > 0
        ),
        members AS (
            SELECT 'signup'::text AS kind, u.user_id, date_trunc('month', min(u.signup_date)::timestamp)::date AS cm
            FROM elt_raw.users u
            WHERE u.signup_date <= $4
            GROUP BY u.user_id
            UNION ALL
            SELECT 'first_paid', um.user_id, min(um.month_start) FROM um GROUP BY um.user_id
        ),
        starting AS (
            SELECT m.kind, m.user_id, m.cm, COALESCE(um.mrr, 0) AS smrr
            FROM members m
            LEFT JOIN um ON um.user_id = m.user_id AND um.month_start = m.cm
            WHERE m.cm >= $3
        ),
        act AS (
            -- users with usage per month (only the months written are needed)
            SELECT DISTINCT x.user_id, date_trunc('month', x.usage_date::timestamp)::date AS month_start
            FROM elt_raw.usage x
            WHERE NOT $5 AND x.usage_date >= $2 AND x.usage_date <= $4
            UNION ALL
            SELECT a.user_id, $2 FROM elt.mart_last_active a
            WHERE $5 AND a.user_id <> -1 AND a.last_active >= $2
        ),
        agg AS (
            SELECT st.kind, st.cm, mo.month_start, mo.md,
                   count(*) AS accounts_start,
                   count(*) FILTER (WHERE CASE WHEN st.kind = 'first_paid' THEN um.user_id IS NOT NULL
                                               ELSE act.user_id IS NOT NULL END) AS accounts_retained,
                   count(um.user_id) AS accounts_paying,
                   sum(st.smrr) AS starting_mrr,
                   COALESCE(sum(um.mrr), 0) AS mrr,
                   sum(LEAST(COALESCE(um.mrr, 0), st.smrr)) AS retained_mrr_gross
            FROM starting st
            JOIN months mo ON mo.month_start >= st.cm AND mo.month_start >= $2
            LEFT JOIN um ON um.user_id = st.user_id AND um.month_start = mo.month_start
            LEFT JOIN act ON act.user_id = st.user_id AND act.month_start = mo.month_start
            GROUP BY st.kind, st.cm, mo.month_start, mo.md
        )
        $q$ || format(v_row, 'a.month_start', 'a.md', format('%L::pg_catalog.date', w.start_date)), '$1 IS NULL OR t.month_start >= $2'::pg_catalog.text)
            INTO n_del, n_ins USING since, v_lo, date_trunc('month', w.start_date::timestamp)::date, w.clock, v_act;
    END IF;
    PERFORM elt.elt__bulk_end(v_fast, 'elt_mart.fct_cohort_retention'::pg_catalog.regclass, 'month_start'::pg_catalog.name,
                              CASE WHEN since IS NULL THEN NULL ELSE v_lo END);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_cohort_retention(date) IS
'Builds elt_mart.fct_cohort_retention: per cohort (signup month, or first month paying on the measurement day) and month since, accounts at start, retained (first_paid: paying; signup: with usage in the month), paying, starting MRR, MRR (net retained) and gross retained MRR (per account the lesser of MRR and starting MRR). since NULL (default) rebuilds all; a day rewrites the months from the one holding the day before. Rows a full build would give again are not rewritten. Returns the number of rows written (deleted, inserted or changed).';

------------------------------------------------------------------------------
-- fct_saas_metrics_monthly
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION @extschema@.elt_build_fct_saas_metrics_monthly(since date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off   -- see the note at the top of 31_mart_builders.sql
AS $fn$
DECLARE
    w      record;
    v_lo   date;
    v_fast boolean;
    n_del  bigint;
    n_ins  bigint;
    v_m    date;
    v_delta boolean;
    v_free_start bigint;   -- the month's row measured on since - 1 (mid-month)
    v_free_paid  bigint;
    v_mm   text;
    v_tail text;
    v_spans text;
    v_subs text;
BEGIN
    w := elt.elt__mart_begin(since);
    v_lo := elt.elt__metrics_lo(since, w.start_date);
    IF elt.elt__month_final(since, v_lo) THEN
        v_lo := since;
    END IF;
    -- only the clock's month (v_m) is written and every new day is in it
    v_m := date_trunc('month', w.clock::timestamp)::date;
    v_delta := since IS NOT NULL AND NOT elt.elt__distributed()
               AND date_trunc('month', since::timestamp)::date = v_m AND v_lo = v_m;
    IF v_delta AND since > v_m THEN
        SELECT f.free_users_start, f.free_to_paid INTO v_free_start, v_free_paid
        FROM elt_mart.fct_saas_metrics_monthly f
        JOIN elt_mart.dim_date d ON d.date_key = f.date_key
        WHERE f.month_start = v_m AND d.date = since - 1;
    END IF;
    v_fast := elt.elt__bulk_begin('elt_mart.fct_saas_metrics_monthly'::pg_catalog.regclass);
    -- the sources: themselves on a single node, copies on the coordinator
    -- on Citus (elt__source; what the statement reads of them)
    v_spans := elt.elt__source('elt.subscription_spans', 'r.mrr > 0');
    v_subs := elt.elt__source('elt_raw.subscriptions');
    -- shared by both ways: the churn kind and the month's sums from mv
    -- (each user's MRR, MRR the month before and movement), and the rows
    -- from the months' aggregates (mm, trials, free)
    v_mm := format($q$
    churn AS MATERIALIZED (   -- (a few rows: not planned again per user)
        -- involuntary: the user's last paid subscription version (latest
        -- paid end up to the measurement day) ended on the day a cancelled
        -- version with end_date = its own first day started (payment retries
        -- gave up)
        SELECT mv.month_start, mv.user_id, mv.prev,
               EXISTS (SELECT 1 FROM %2$s c
                       WHERE c.subscription_id = lp.subscription_id AND c.status = 'cancelled'
                         AND c.end_date = elt.elt__ts_day(c.valid_from) AND c.end_date = lp.e) AS involuntary
        FROM mv
        -- (the user's versions through subscriptions_user_idx, not a scan
        -- of paid per churned user)
        CROSS JOIN LATERAL (SELECT pd.subscription_id, pd.end_date AS e FROM %1$s pd
                            WHERE pd.user_id = mv.user_id AND pd.mrr > 0 AND pd.end_date > pd.start_date
                              AND pd.start_date <= mv.md
                            ORDER BY pd.end_date DESC, pd.subscription_id DESC LIMIT 1) lp
        WHERE mv.movement = 'churn'
    ),
    mm AS (
        -- (the sums per month, then the involuntary churn's per month: not
        -- a join of every user with the churned ones)
        SELECT a.month_start, a.mrr, a.starting_mrr, a.new_mrr, a.expansion_mrr, a.contraction_mrr,
               a.churned_mrr - COALESCE(ci.mrr, 0) AS churned_voluntary_mrr,
               ci.mrr AS churned_involuntary_mrr,
               a.reactivation_mrr, a.customers_start, a.customers_end, a.new_customers,
               a.reactivated_customers, a.churned_customers,
               COALESCE(ci.n, 0) AS churned_involuntary_customers
        FROM (SELECT mv.month_start,
                     sum(mv.mrr) AS mrr, sum(mv.prev) AS starting_mrr,
                     sum(mv.mrr) FILTER (WHERE mv.movement = 'new') AS new_mrr,
                     sum(mv.mrr - mv.prev) FILTER (WHERE mv.movement = 'expansion') AS expansion_mrr,
                     sum(mv.mrr - mv.prev) FILTER (WHERE mv.movement = 'contraction') AS contraction_mrr,
                     sum(-mv.prev) FILTER (WHERE mv.movement = 'churn') AS churned_mrr,
                     sum(mv.mrr) FILTER (WHERE mv.movement = 'reactivation') AS reactivation_mrr,
                     count(*) FILTER (WHERE mv.prev > 0) AS customers_start,
                     count(*) FILTER (WHERE mv.mrr > 0) AS customers_end,
                     count(*) FILTER (WHERE mv.movement = 'new') AS new_customers,
                     count(*) FILTER (WHERE mv.movement = 'reactivation') AS reactivated_customers,
                     count(*) FILTER (WHERE mv.movement = 'churn') AS churned_customers
              FROM mv
              GROUP BY mv.month_start) a
        LEFT JOIN (SELECT ch.month_start, sum(-ch.prev) AS mrr, count(*) AS n
                   FROM churn ch WHERE ch.involuntary
                   GROUP BY ch.month_start) ci ON ci.month_start = a.month_start
    ),
    $q$, v_spans, v_subs);
    v_tail := $q$
    r AS (
        SELECT mo.month_start, mo.md,
               COALESCE(mm.mrr, 0) AS mrr, COALESCE(mm.starting_mrr, 0) AS starting_mrr,
               COALESCE(mm.new_mrr, 0) AS new_mrr, COALESCE(mm.expansion_mrr, 0) AS expansion_mrr,
               COALESCE(mm.contraction_mrr, 0) AS contraction_mrr,
               COALESCE(mm.churned_voluntary_mrr, 0) AS churned_voluntary_mrr,
               COALESCE(mm.churned_involuntary_mrr, 0) AS churned_involuntary_mrr,
               COALESCE(mm.reactivation_mrr, 0) AS reactivation_mrr,
               COALESCE(mm.customers_start, 0) AS customers_start, COALESCE(mm.customers_end, 0) AS customers_end,
               COALESCE(mm.new_customers, 0) AS new_customers, COALESCE(mm.reactivated_customers, 0) AS reactivated_customers,
               COALESCE(mm.churned_customers, 0) AS churned_customers,
               COALESCE(mm.churned_involuntary_customers, 0) AS churned_involuntary_customers,
               tr.started, tr.ended, tr.converted,
               COALESCE(fr.free_start, 0) AS free_start, COALESCE(fr.to_paid, 0) AS to_paid
        FROM months mo
        JOIN trials tr ON tr.month_start = mo.month_start
        LEFT JOIN mm ON mm.month_start = mo.month_start
        LEFT JOIN free fr ON fr.month_start = mo.month_start
        WHERE mo.month_start >= $2
    ),
    q AS (
        SELECT r.*,
               r.churned_voluntary_mrr + r.churned_involuntary_mrr AS churned_mrr,
               -(r.churned_voluntary_mrr + r.churned_involuntary_mrr + r.contraction_mrr) AS lost,
               r.new_mrr + r.expansion_mrr + r.reactivation_mrr AS gained,
               r.churned_customers::numeric / NULLIF(r.customers_start, 0) AS churn_rate
        FROM r
    )
    SELECT q.month_start, COALESCE(dd.date_key, -1) AS date_key,
           q.mrr, 12 * q.mrr AS arr, q.starting_mrr,
           q.new_mrr, q.expansion_mrr, q.contraction_mrr, q.churned_mrr,
           q.churned_voluntary_mrr, q.churned_involuntary_mrr, q.reactivation_mrr,
           q.mrr - q.starting_mrr AS net_new_mrr,
           q.customers_start, q.customers_end, q.new_customers, q.reactivated_customers,
           q.churned_customers, q.churned_involuntary_customers,
           round(q.churn_rate, 6) AS customer_churn_rate,
           round(q.lost / NULLIF(q.starting_mrr, 0), 6) AS gross_mrr_churn_rate,
           round((q.lost - q.expansion_mrr - q.reactivation_mrr) / NULLIF(q.starting_mrr, 0), 6) AS net_mrr_churn_rate,
           round(1 - (q.lost - q.expansion_mrr - q.reactivation_mrr) / NULLIF(q.starting_mrr, 0), 6) AS nrr,
           round(1 - q.lost / NULLIF(q.starting_mrr, 0), 6) AS grr,
           round(q.mrr / NULLIF(q.customers_end, 0), 2) AS arpa,
           round(q.mrr / NULLIF(q.customers_end, 0) / NULLIF(q.churn_rate, 0), 2) AS ltv,
           round(q.gained / NULLIF(q.lost, 0), 4) AS quick_ratio,
           q.started AS trials_started, q.ended AS trials_ended, q.converted AS trials_converted,
           round(q.converted::numeric / NULLIF(q.ended, 0), 6) AS trial_to_paid_rate,
           q.free_start AS free_users_start, q.to_paid AS free_to_paid,
           round(q.to_paid::numeric / NULLIF(q.free_start, 0), 6) AS free_to_paid_rate
    FROM q
    LEFT JOIN elt_mart.dim_date dd ON dd.date = q.md
    ORDER BY q.month_start
    $q$;
    IF v_delta THEN
        -- Only the clock's month is written and every new day is in it
        -- (single node): its users' MRR and movements are the month's rows
        -- of fct_mrr_monthly, which elt__build updated before this table,
        -- measured alike (16k rows at 100k users, instead of measuring
        -- every paying user on two days); free users at the start of the
        -- month are the row's measured on since - 1 (the Free plan on the
        -- day before the month does not change with the new days), counted
        -- again only on the 1st; the trials through their indexes.
        -- $1 since, $2 the month, $3 first month of the window, $4 clock,
        -- $5, $6 free users at the start and paying from the row measured
        -- on since - 1 (NULL on the 1st), $7 the changed users
        EXECUTE elt.elt__merge_sql('elt_mart.fct_saas_metrics_monthly'::pg_catalog.regclass, format($q$
    WITH months AS MATERIALIZED (
        SELECT $2::date AS month_start, $4::date AS md, ($2 - 1)::date AS prev_md
    ),
    mv AS MATERIALIZED (
        SELECT f.month_start, f.user_id, f.mrr, f.previous_mrr AS prev, f.movement, $4::date AS md
        FROM %3$s f
        WHERE f.month_start = $2
    ),
    $q$ || v_mm || $q$
    trials AS (
        -- (subscriptions_trial_start_idx, subscriptions_trial_end_idx)
        SELECT $2::date AS month_start,
               (SELECT count(DISTINCT s.subscription_id) FROM %2$s s
                WHERE s.trial_end IS NOT NULL AND s.start_date BETWEEN $2 AND $4) AS started,
               count(DISTINCT e.subscription_id) AS ended,
               count(DISTINCT e.subscription_id) FILTER (WHERE e.valid_from = elt.elt__day_ts(e.trial_end) AND e.mrr > 0) AS converted
        FROM %2$s e
        WHERE e.trial_end BETWEEN $2 AND $4
    ),
    chg AS MATERIALIZED (
        -- mid-month: the changed users ($7, a superset) on the Free plan
        -- on the day before the month (probed), with whether they paid on
        -- since - 1 and pay on the clock day
        SELECT c.user_id,
               EXISTS (SELECT 1 FROM %1$s v
                       WHERE v.user_id = c.user_id AND v.mrr > 0 AND v.end_date > v.start_date
                         AND v.start_date <= $1 - 1 AND v.end_date > $1 - 1) AS paid_old,
               EXISTS (SELECT 1 FROM mv WHERE mv.user_id = c.user_id AND mv.mrr > 0) AS paid_new
        FROM unnest($7::bigint[]) c(user_id)
        WHERE $5 IS NOT NULL
          AND EXISTS (SELECT 1 FROM %2$s s
                      JOIN elt_raw.plans p ON p.plan_id = s.plan_id AND p.monthly_price = 0
                      WHERE s.user_id = c.user_id
                        AND s.valid_from <= elt.elt__day_ts($2 - 1)
                        AND (s.valid_to IS NULL OR s.valid_to > elt.elt__day_ts($2 - 1))
                        AND (s.end_date IS NULL OR s.end_date > $2 - 1)
                        AND s.status = 'active')
    ),
    fu AS (
        -- on the 1st: the users on the Free plan on the day before the month
        SELECT DISTINCT s.user_id FROM %2$s s
        JOIN elt_raw.plans p ON p.plan_id = s.plan_id AND p.monthly_price = 0
        WHERE $5 IS NULL
          AND s.valid_from <= elt.elt__day_ts($2 - 1)
          AND (s.valid_to IS NULL OR s.valid_to > elt.elt__day_ts($2 - 1))
          AND (s.end_date IS NULL OR s.end_date > $2 - 1)
          AND s.status = 'active'
    ),
    free AS (
        -- free users at the start, and those of them paying on the clock
        -- day: mid-month the row's measured on since - 1 ($5, $6) and the
        -- changed users' difference; on the 1st counted
        SELECT $2::date AS month_start,
               COALESCE($5, (SELECT count(*) FROM fu)) AS free_start,
               CASE WHEN $5 IS NOT NULL
                    THEN $6 + (SELECT count(*) FILTER (WHERE c.paid_new) - count(*) FILTER (WHERE c.paid_old) FROM chg c)
                    ELSE (SELECT count(*) FROM fu JOIN mv ON mv.user_id = fu.user_id AND mv.mrr > 0) END AS to_paid
        WHERE $2 > $3
    ),
    $q$ || v_tail, v_spans, v_subs, 'elt_mart.fct_mrr_monthly'),
    '$1 IS NULL OR t.month_start >= $2'::pg_catalog.text)
            INTO n_del, n_ins USING since, v_m, date_trunc('month', w.start_date::timestamp)::date, w.clock,
                                    v_free_start, v_free_paid, elt.elt__users_changed_in(since, w.clock);
        RAISE DEBUG 'elt_build_fct_saas_metrics_monthly: % from the rows of fct_mrr_monthly', v_m;
    ELSE
    -- $1 since, $2 first month written, $3 first month of the window, $4 clock
    EXECUTE elt.elt__merge_sql('elt_mart.fct_saas_metrics_monthly'::pg_catalog.regclass, format($q$
    WITH months AS MATERIALIZED (
        SELECT g::date AS month_start,
               LEAST((g + interval '1 month' - interval '1 day')::date, $4) AS md,
               (g - interval '1 day')::date AS prev_md
        FROM generate_series($3::timestamp, date_trunc('month', $4::timestamp), interval '1 month') g
    ),
    paid AS MATERIALIZED (
        -- incremental: only versions paid on a measurement day from the
        -- month before the first one written on
        SELECT v.user_id, v.subscription_id, v.mrr AS price, v.start_date AS s, v.end_date AS e
        FROM %1$s v
        WHERE v.mrr > 0 AND v.end_date > v.start_date
          AND ($1 IS NULL OR v.end_date > ($2 - interval '1 month')::date)
    ),
    um AS MATERIALIZED (
        -- MRR of each paying user on each measurement day (incremental:
        -- the months written and the one before)
        SELECT mo.month_start, pd.user_id, sum(pd.price) AS mrr
        FROM months mo JOIN paid pd ON pd.s <= mo.md AND pd.e > mo.md
        WHERE $1 IS NULL OR mo.month_start >= ($2 - interval '1 month')::date
        GROUP BY mo.month_start, pd.user_id
    ),
    firsts AS (
        SELECT um.user_id, min(um.month_start) AS first_m FROM um GROUP BY um.user_id
    ),
    x AS (
        -- each user's MRR against the month before's (the first month of
        -- the window starts from 0), for the months written
        SELECT COALESCE(c.month_start, p.month_start) AS month_start, COALESCE(c.user_id, p.user_id) AS user_id,
               COALESCE(c.mrr, 0) AS mrr, COALESCE(p.mrr, 0) AS prev
        FROM (SELECT um.* FROM um WHERE um.month_start >= $2) c
        FULL JOIN (SELECT (um.month_start + interval '1 month')::date AS month_start, um.user_id, um.mrr
                   FROM um WHERE um.month_start >= ($2 - interval '1 month')::date
                             AND um.month_start < date_trunc('month', $4::timestamp)::date) p
          ON p.month_start = c.month_start AND p.user_id = c.user_id
    ),
    mv AS (
        SELECT x.*, mo.md,
               CASE WHEN x.prev = 0
                         AND (f.first_m < x.month_start
                              -- incremental: paid in an earlier month (index on
                              -- user_id, month_start; only users not paying the
                              -- month before get here)
                              OR ($1 IS NOT NULL
                                  AND EXISTS (SELECT 1 FROM %3$s f2
                                              WHERE f2.user_id = x.user_id AND f2.mrr > 0
                                                AND f2.month_start < ($2 - interval '1 month')::date)))
                    THEN 'reactivation'
                    WHEN x.prev = 0 THEN 'new'
                    WHEN x.mrr = 0 THEN 'churn'
                    WHEN x.mrr > x.prev THEN 'expansion'
                    WHEN x.mrr < x.prev THEN 'contraction'
                    ELSE 'retained' END AS movement
        FROM x
        JOIN months mo ON mo.month_start = x.month_start
        JOIN firsts f ON f.user_id = x.user_id
    ),
    $q$ || v_mm || $q$
    trials AS (
        SELECT mo.month_start,
               (SELECT count(DISTINCT s.subscription_id) FROM %2$s s
                WHERE s.trial_end IS NOT NULL AND s.start_date BETWEEN mo.month_start AND mo.md) AS started,
               (SELECT count(DISTINCT s.subscription_id) FROM %2$s s
                WHERE s.trial_end BETWEEN mo.month_start AND mo.md) AS ended,
               (SELECT count(DISTINCT s.subscription_id) FROM %2$s s
                WHERE s.trial_end BETWEEN mo.month_start AND mo.md
                  AND s.valid_from = elt.elt__day_ts(s.trial_end) AND s.mrr > 0) AS converted
        FROM months mo WHERE mo.month_start >= $2
    ),
    free AS (
        -- users on the Free plan on the measurement day of the month
        -- before, and those of them paying on this month's
        SELECT mo.month_start, count(*) AS free_start, count(um.user_id) AS to_paid
        FROM months mo
        JOIN (SELECT DISTINCT mo2.month_start, s.user_id
              FROM months mo2
              JOIN %2$s s
                ON s.valid_from <= elt.elt__day_ts(mo2.prev_md)
               AND (s.valid_to IS NULL OR s.valid_to > elt.elt__day_ts(mo2.prev_md))
               AND (s.end_date IS NULL OR s.end_date > mo2.prev_md)
               AND s.status = 'active'
              JOIN elt_raw.plans p ON p.plan_id = s.plan_id AND p.monthly_price = 0
              WHERE mo2.month_start >= $2 AND mo2.month_start > $3) fu ON fu.month_start = mo.month_start
        LEFT JOIN um ON um.user_id = fu.user_id AND um.month_start = mo.month_start
        GROUP BY mo.month_start
    ),
    $q$ || v_tail,
    v_spans, v_subs, elt.elt__source('elt_mart.fct_mrr_monthly', format('%L IS NOT NULL AND r.mrr > 0', since))),
    '$1 IS NULL OR t.month_start >= $2'::pg_catalog.text)
        INTO n_del, n_ins USING since, v_lo, date_trunc('month', w.start_date::timestamp)::date, w.clock;
    END IF;
    PERFORM elt.elt__bulk_end(v_fast, 'elt_mart.fct_saas_metrics_monthly'::pg_catalog.regclass, 'month_start'::pg_catalog.name,
                              CASE WHEN since IS NULL THEN NULL ELSE v_lo END);
    RETURN n_del + n_ins;
END
$fn$;
COMMENT ON FUNCTION @extschema@.elt_build_fct_saas_metrics_monthly(date) IS
'Builds elt_mart.fct_saas_metrics_monthly: per month, MRR, ARR, the MRR movements (churn split into voluntary and involuntary), customers at start and end, customer and MRR churn rates, NRR, GRR, ARPA, LTV, quick ratio, and trial-to-paid and free-to-paid conversion, measured like fct_mrr_monthly. since NULL (default) rebuilds all; a day rewrites the months from the one holding the day before. Rows a full build would give again are not rewritten. Returns the number of rows written (deleted, inserted or changed).';

REVOKE ALL ON FUNCTION elt.elt__metrics_lo(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_cohort_retention(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.elt_build_fct_saas_metrics_monthly(date) FROM PUBLIC;
