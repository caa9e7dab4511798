#!/usr/bin/env bash
# The dashboard (scripts/dashboard.sh) against a small generated database of
# its own: builds every page, renders each in headless Chromium
# (scripts/dashboard/check.mjs: no console error, every chart has data
# points) and keeps the screenshots in .demo/dashboard-test/shots.  Checks
# the pages' numbers against the marts computed another way (another mart
# than the page reads, or elt_raw).
# Needs node, npm and chromium (scripts/deps.sh installs them) and the npm
# registry the first time (node_modules are kept in .demo/dashboard).
set -uo pipefail
db=elt_t_dashboard
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/.demo/dashboard-test
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1; }
trap cleanup EXIT

q -c "SET client_min_messages = warning" -c "CREATE EXTENSION elt" \
  -c "SELECT count(*) FROM elt_generate(300, seed => 7)" >/dev/null
check "$(q -c "SELECT count(*) > 0 FROM elt_mart.fct_mrr_monthly")" t "a small warehouse is generated"

rm -rf "$out"
mkdir -p "$out"
conn="host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=${PGUSER:-postgres} dbname=$db"
if ELT_DASHBOARD_DB="$conn" ELT_DASHBOARD_OUT="$out/site" "$top/scripts/dashboard.sh" >"$out.log" 2>&1; then
    ok "scripts/dashboard.sh builds the dashboard of database $db"
else
    notok "scripts/dashboard.sh builds the dashboard of database $db"; sed 's/^/#   /' "$out.log"
fi
pages=$(ls "$top"/scripts/dashboard/queries/*.sql | wc -l)
check "$(ls "$out"/site/*.html 2>/dev/null | wc -l)" "$pages" "one page per query file"
grep -q "open file://$out/site/index.html" "$out.log" && ok "it says where to open it" || notok "it says where to open it"

# The pages' data, read back as JSON, against numbers computed another way:
# from another mart than the page reads, or from elt_raw.
data() { sed -e '1s/^window.ELT_DATA = //' -e '$s/;$//' "$out/site/data/$1.js"; }
# js PAGE EXPR: EXPR evaluated by node with d = that page's JSON.
js() { data "$1" | node -e "let s='';process.stdin.on('data',x=>s+=x).on('end',()=>{const d=JSON.parse(s);console.log($2)})"; }
# numbers as node prints them (12.50 -> 12.5)
norm() { node -e "let s='';process.stdin.on('data',x=>s+=x).on('end',()=>console.log(s.trim().split(/\s+/).map(x=>/^-?[0-9.]+$/.test(x)?String(Number(x)):x).join(' ')))"; }
today="date '$(q -c "SELECT max(date) FROM elt_mart.fct_kpi_daily")'"
check "$(js overview 'd.tiles.mrr')" \
    "$(q -c "SELECT sum(mrr_change) FROM elt_mart.fct_subscription_events" | norm)" \
    "overview: MRR of today (fct_kpi_daily) is the sum of the MRR changes of fct_subscription_events"
# The month tiles: the last complete month, its NRR, GRR, ARPA, quick ratio and
# customer churn rate (fct_saas_metrics_monthly) recomputed from fct_mrr_monthly.
month=$(q -c "SELECT to_char(max(month_start), 'YYYY-MM') FROM elt_mart.fct_mrr_monthly
              WHERE (month_start + interval '1 month')::date <= $today + 1")
check "$(js overview 'd.month.month')" "$month" "overview: the month tiles show the last complete month"
check "$(js overview '[d.month.nrr, d.month.grr, d.month.arpa, d.month.quick_ratio, d.month.customer_churn_rate].join(" ")')" \
    "$(q -c "WITH m AS (SELECT * FROM elt_mart.fct_mrr_monthly WHERE to_char(month_start, 'YYYY-MM') = '$month'),
                  s AS (SELECT sum(previous_mrr) AS start_mrr, sum(mrr) AS mrr, count(*) FILTER (WHERE mrr > 0) AS customers,
                               sum(new_mrr + expansion_mrr + reactivation_mrr) AS won, sum(churned_mrr + contraction_mrr) AS lost,
                               sum(churned_mrr + contraction_mrr + expansion_mrr + reactivation_mrr) AS net,
                               count(*) FILTER (WHERE movement = 'churn') AS churned, count(*) FILTER (WHERE previous_mrr > 0) AS at_start
                        FROM m)
             SELECT concat_ws(' ', round(1 + net / start_mrr, 6), round(1 + lost / start_mrr, 6), round(mrr / customers, 2),
                              round(won / -lost, 4), round(churned::numeric / at_start, 6)) FROM s" | norm)" \
    "overview: NRR, GRR, ARPA, quick ratio and customer churn rate of that month, recomputed from fct_mrr_monthly"
# MAU and WAU of the last day and of the 100th day: fct_kpi_daily against plain counts of fct_usage_daily.
for nth in 100 last; do
    i=$([ "$nth" = last ] && echo 'd.length-1' || echo $((nth - 1)))
    k=$([ "$nth" = last ] && echo 'count(*)' || echo "$nth")
    check "$(js active_users "d[$i][0]+' '+d[$i][3]+' '+d[$i][2]")" \
        "$(q -c "SELECT x.m || ' ' || count(DISTINCT user_id) FILTER (WHERE usage_date > x.m - 30) || ' ' || count(DISTINCT user_id) FILTER (WHERE usage_date > x.m - 7)
                 FROM elt_mart.fct_usage_daily, (SELECT (array_agg(date ORDER BY date))[$k] AS m FROM elt_mart.fct_kpi_daily) x
                 WHERE usage_date <= x.m GROUP BY x.m")" \
        "active users: MAU and WAU of the $nth day are the distinct users of fct_usage_daily in its last 30 and 7 days"
done
# MRR movements: last month's MRR plus this month's movements is this month's MRR,
# and the movements per month (churn split voluntary / involuntary) are fct_mrr_monthly's.
check "$(js mrr_movements 'd.filter((r,i)=>Math.abs((i?d[i-1].mrr:0)+r.new+r.expansion+r.reactivation+r.contraction+r.churn_voluntary+r.churn_involuntary-r.mrr)>0.005).length')" 0 \
    "MRR movements: last month's MRR plus the movements is this month's MRR"
check "$(js mrr_movements 'd.map(r=>[r.month,r.new,r.expansion,r.reactivation,r.contraction,r.churn_voluntary,r.churn_involuntary,r.mrr].join(":")).join(" ")')" \
    "$(q -c "SELECT string_agg(concat_ws(':', to_char(k.month_start, 'YYYY-MM'), coalesce(n, 0), coalesce(e, 0), coalesce(r, 0),
                                     coalesce(c, 0), coalesce(v, 0), coalesce(i, 0), coalesce(mrr, 0)), ' ' ORDER BY k.month_start)
             FROM (SELECT DISTINCT date_trunc('month', date)::date AS month_start FROM elt_mart.fct_kpi_daily) k  -- every month, paid or not
             LEFT JOIN (SELECT month_start, sum(new_mrr)::float8 AS n, sum(expansion_mrr)::float8 AS e,
                          sum(reactivation_mrr)::float8 AS r, sum(contraction_mrr)::float8 AS c,
                          (sum(churned_mrr) - coalesce(sum(churned_mrr) FILTER (WHERE churn_type = 'involuntary'), 0))::float8 AS v,
                          coalesce(sum(churned_mrr) FILTER (WHERE churn_type = 'involuntary'), 0)::float8 AS i, sum(mrr)::float8 AS mrr
                   FROM elt_mart.fct_mrr_monthly GROUP BY month_start) x USING (month_start)")" \
    "MRR movements: every month's movements and MRR equal fct_mrr_monthly's (involuntary churn by its churn_type)"
# Cohorts: every cohort starts at 100%, the cohort sizes add up to the users who
# ever paid, and every cell's paying accounts and MRR equal a cohort computed from fct_mrr_monthly.
check "$(js cohort_retention 'd.filter(r=>r.months_since===0).reduce((a,r)=>a+r.cohort_accounts,0)+" "+d.every(r=>r.months_since>0||r.logo_pct===100)')" \
    "$(q -c "SELECT count(DISTINCT user_id) FROM elt_mart.fct_mrr_monthly WHERE mrr > 0") true" \
    "cohort retention: the cohorts hold every user who ever paid, each starting at 100%"
check "$(js cohort_retention 'd.filter(r=>r.accounts>0).map(r=>r.cohort+":"+r.months_since+":"+r.accounts+":"+r.mrr).join(" ")')" \
    "$(q -c "WITH paid AS (SELECT user_id, month_start, mrr FROM elt_mart.fct_mrr_monthly WHERE mrr > 0),
                  cohort AS (SELECT user_id, min(month_start) AS c FROM paid GROUP BY user_id),
                  cell AS (SELECT c.c, (extract(year FROM age(p.month_start, c.c)) * 12 + extract(month FROM age(p.month_start, c.c)))::int AS k,
                                  count(*) AS n, sum(p.mrr)::float8 AS mrr
                           FROM cohort c JOIN paid p USING (user_id) GROUP BY 1, 2)
             SELECT string_agg(concat_ws(':', to_char(c, 'YYYY-MM'), k, n, mrr), ' ' ORDER BY c, k) FROM cell")" \
    "cohort retention: every cell's paying customers and MRR equal cohorts computed from fct_mrr_monthly"
# Churn: customer-months, churned customers and involuntary churns over all
# channels and over all engagement buckets are fct_saas_metrics_monthly's.
want=$(q -c "SELECT concat_ws(' ', sum(customers_start), sum(churned_customers), sum(churned_involuntary_customers)) FROM elt_mart.fct_saas_metrics_monthly")
check "$(js churn '["customer_months","churned","involuntary"].map(k=>d.by_channel.reduce((a,r)=>a+r[k],0)).join(" ")')" "$want" \
    "churn by channel: customer-months, churns and involuntary churns add up to fct_saas_metrics_monthly's"
check "$(js churn '["customer_months","churned","involuntary"].map(k=>d.by_engagement.reduce((a,r)=>a+r[k],0)).join(" ")')" "$want" \
    "churn by engagement: customer-months, churns and involuntary churns add up to fct_saas_metrics_monthly's"
# Trial funnel: users with a trial from elt_raw, converted trials from fct_kpi_daily.
check "$(js trial_funnel 'd.steps[1][1]+" "+d.by_channel.reduce((a,r)=>a+r.converted,0)')" \
    "$(q -c "SELECT (SELECT count(DISTINCT user_id) FROM elt_raw.subscriptions WHERE status = 'trialing') || ' ' ||
                    (SELECT sum(trial_conversions) FROM elt_mart.fct_kpi_daily)")" \
    "trial funnel: users who started a trial (elt_raw.subscriptions) and converted trials (fct_kpi_daily)"
# Quota exhaustion: complete periods and exhausted ones per plan from the daily
# running percentages of fct_usage_daily.
check "$(js quota_exhaustion 'd.map(r=>[r.plan,r.periods,r.api_exhausted,r.storage_exhausted].join(":")).join(" ")')" \
    "$(q -c "WITH period AS (SELECT plan_key, subscription_id, period_start, max(api_quota_used_pct) AS api, max(storage_quota_used_pct) AS st
                             FROM elt_mart.fct_usage_daily
                             WHERE (period_start + interval '1 month')::date <= $today + 1
                             GROUP BY 1, 2, 3)
             SELECT string_agg(concat_ws(':', plan_name, n, a, s), ' ' ORDER BY monthly_price)
             FROM (SELECT p.plan_name, p.monthly_price, count(*) AS n, count(*) FILTER (WHERE api >= 100) AS a,
                          count(*) FILTER (WHERE st >= 100) AS s
                   FROM period x JOIN elt_mart.dim_plan p USING (plan_key)
                   WHERE p.api_limit IS NOT NULL OR p.storage_limit_mb IS NOT NULL
                   GROUP BY 1, 2) y")" \
    "quota exhaustion: complete periods and API / storage exhaustions per plan, from fct_usage_daily's running percentages"

# Every page in headless Chromium.
start=$(now)
if (cd "$top/.demo/dashboard" && node check.mjs "$out/site" "$out/shots") >"$out.check.log" 2>&1; then
    ok "every page renders in chromium without console errors and with data in every chart ($(awk -v s="$start" -v e="$(now)" 'BEGIN { printf "%.0f s", e - s }'))"
else
    notok "every page renders in chromium without console errors and with data in every chart"
fi
sed 's/^/#   /' "$out.check.log"
check "$(ls "$out"/shots/*.png 2>/dev/null | wc -l)" "$pages" "a screenshot per page in $out/shots"

# The checker fails on an empty chart and on a script error: the same site
# with no data for one page and a broken one for another.
cp -r "$out/site" "$out/broken"
echo 'window.ELT_DATA = [];' >"$out/broken/data/quota_exhaustion.js"
echo 'window.ELT_DATA = null;' >"$out/broken/data/churn.js"
(cd "$top/.demo/dashboard" && node check.mjs "$out/broken" "$out/broken-shots" quota_exhaustion,churn) >"$out.broken.log" 2>&1
check "$?" 1 "the checker fails on a broken site"
check "$(grep -c '^FAIL quota_exhaustion: .*has no data' "$out.broken.log")" 1 "the checker finds the chart without data"
check "$(grep -c '^FAIL churn: .*page error' "$out.broken.log")" 1 "the checker finds the script error"
rm -rf "$out/broken" "$out/broken-shots"

[ "$fails" -eq 0 ]
