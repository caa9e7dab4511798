#!/usr/bin/env bash
# The dashboard (scripts/dashboard.sh) against a small generated database of
# its own: builds every page, renders each in headless Chromium
# (scripts/dashboard/check.mjs: no console error, every chart has data
# points) and keeps the screenshots in .demo/dashboard-test/shots.  Checks
# a few numbers of the pages' data against the marts computed another way.
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

# The pages' data, read back as JSON, against the marts.
data() { sed -e '1s/^window.ELT_DATA = //' -e '$s/;$//' "$out/site/data/$1.js"; }
# js PAGE EXPR: EXPR evaluated by node with d = that page's JSON.
js() { data "$1" | node -e "let s='';process.stdin.on('data',x=>s+=x).on('end',()=>{const d=JSON.parse(s);console.log($2)})"; }
check "$(js overview 'd.tiles.mrr')" \
    "$(q -c "SELECT mrr FROM elt_mart.fct_kpi_daily ORDER BY date DESC LIMIT 1" | node -e "let s='';process.stdin.on('data',x=>s+=x).on('end',()=>console.log(Number(s)))")" \
    "overview: MRR of today"
# MAU and WAU of the last day: the running sums of active_users.sql against plain counts.
check "$(js active_users 'd[d.length-1][3]+" "+d[d.length-1][2]')" \
    "$(q -c "SELECT count(DISTINCT user_id) FILTER (WHERE usage_date > m - 30) || ' ' || count(DISTINCT user_id) FILTER (WHERE usage_date > m - 7)
             FROM elt_mart.fct_usage_daily, (SELECT max(date) AS m FROM elt_mart.fct_kpi_daily) x")" \
    "active users: MAU and WAU of the last day are the distinct users of its last 30 and 7 days"
# MRR movements: last month's MRR plus this month's movements is this month's MRR.
check "$(js mrr_movements 'd.filter((r,i)=>Math.abs((i?d[i-1].mrr:0)+r.new+r.expansion+r.reactivation+r.contraction+r.churn-r.mrr)>0.005).length')" 0 \
    "MRR movements: last month's MRR plus the movements is this month's MRR"
# Cohorts: every cohort starts at 100% and the cohort sizes add up to the users who ever paid.
check "$(js cohort_retention 'd.filter(r=>r.months_since===0).reduce((a,r)=>a+r.cohort_accounts,0)+" "+d.every(r=>r.months_since>0||r.logo_pct===100)')" \
    "$(q -c "SELECT count(DISTINCT user_id) FROM elt_mart.fct_mrr_monthly WHERE mrr > 0") true" \
    "cohort retention: the cohorts hold every user who ever paid, each starting at 100%"

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
