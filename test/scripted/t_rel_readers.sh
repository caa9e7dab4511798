#!/usr/bin/env bash
# Readers during refreshes: four pgbench clients run typical BI queries over
# elt_mart (facts joined to dimensions, grouped by plan, region and month;
# the latest KPI) while another session runs elt_refresh(1) again and again.
# No reader errs, none waits (no transaction over 1 s), and none sees a
# half-applied day: in every reader snapshot the marts end on the clock of
# elt.settings and fct_usage_daily has exactly the rows of elt_raw.usage.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_readers
secs=${ELT_READERS_SECONDS:-15}
work=$(mktemp -d)

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" >/dev/null
q -c "SELECT count(*) FROM elt_generate(600, 11, '2025-03-01')" >/dev/null
q -c "CREATE TABLE public.reader_log (client integer, clock integer, consistent boolean)"

cat >"$work/readers.sql" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- usage by plan and month
SELECT p.plan_name, d.year_month, count(*) AS days, sum(f.api_calls) AS api_calls,
       avg(f.api_quota_used_pct) AS avg_api_quota_pct
  FROM elt_mart.fct_usage_daily f
  JOIN elt_mart.dim_plan p ON p.plan_key = f.plan_key
  JOIN elt_mart.dim_date d ON d.date_key = f.date_key
 GROUP BY p.plan_name, d.year_month ORDER BY d.year_month, p.plan_name;
-- active users by region, last 30 days
SELECT u.region_name, count(DISTINCT f.user_id) AS active_users, sum(f.active_minutes) AS minutes
  FROM elt_mart.fct_usage_daily f
  JOIN elt_mart.dim_user u ON u.user_key = f.user_key
  JOIN elt_mart.dim_date d ON d.date_key = f.date_key
 WHERE d.date > (SELECT max(date) FROM elt_mart.dim_date) - 30
 GROUP BY u.region_name ORDER BY 2 DESC;
-- MRR movements by month and plan
SELECT d.year_month, p.plan_name, sum(m.mrr) AS mrr, sum(m.new_mrr) AS new_mrr,
       sum(m.churned_mrr) AS churned_mrr, count(*) FILTER (WHERE m.movement = 'churn') AS churned
  FROM elt_mart.fct_mrr_monthly m
  JOIN elt_mart.dim_plan p ON p.plan_key = m.plan_key
  JOIN elt_mart.dim_date d ON d.date_key = m.date_key
 GROUP BY d.year_month, p.plan_name ORDER BY 1, 2;
-- paying users by referral source (current versions)
SELECT u.referral_source_name, count(*) FILTER (WHERE u.plan_name <> 'Free') AS paying, count(*) AS users
  FROM elt_mart.dim_user u WHERE u.is_current AND u.user_key <> -1
 GROUP BY 1 ORDER BY 1;
-- latest KPI
SELECT * FROM elt_mart.fct_kpi_daily ORDER BY date DESC LIMIT 1;
-- is this snapshot a whole number of days?
SELECT (SELECT max(date) FROM elt_mart.fct_kpi_daily) = s.clock
       AND (SELECT max(date) FROM elt_mart.dim_date) = s.clock
       AND (SELECT max(usage_date) FROM elt_raw.usage) <= s.clock
       AND (SELECT count(*) FROM elt_mart.fct_usage_daily) = (SELECT count(*) FROM elt_raw.usage) AS consistent,
       to_char(s.clock, 'YYYYMMDD') AS clock
  FROM elt.settings s \gset
COMMIT;
INSERT INTO public.reader_log VALUES (:client_id, :clock, ':consistent'::boolean);
SQL

clock0=$(q -c "SELECT clock FROM elt.settings")
( cd "$work" && pgbench -n -c 4 -j 2 -T "$secs" -f readers.sql -l --log-prefix=rd $db >pgbench.out 2>&1; echo $? >pgbench.rc ) &
bench=$!
sleep 1
refreshes=0
refresh_fail=0
end=$(( $(date +%s) + secs - 2 ))
while [ "$(date +%s)" -lt $end ]; do
    st=$(q -c "SELECT status FROM elt_refresh(1)" 2>"$work/refresh.err")
    if [ "$st" = ok ]; then refreshes=$((refreshes + 1)); else refresh_fail=$((refresh_fail + 1)); fi
done
wait $bench

check "$(cat "$work/pgbench.rc")" "0" "pgbench readers finished without a client error"
grep -E '^(number of (transactions actually processed|failed)|latency average|tps)' "$work/pgbench.out" | sed 's/^/# /'
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
check "${failed:-0}" "0" "zero failed reader transactions"
if [ "${processed:-0}" -gt 0 ]; then ok "readers ran $processed transactions"; else notok "readers ran transactions"; fi
if [ $refreshes -ge 3 ] && [ $refresh_fail -eq 0 ]; then
    ok "$refreshes refreshes of one day ran meanwhile, none failed"
else
    notok "refreshes ran meanwhile (ok: $refreshes, failed: $refresh_fail)"; sed 's/^/#   /' "$work/refresh.err" | head -3
fi

# per-transaction log: client, transaction, latency (us), script, epoch, us
maxlat=$(cat "$work"/rd.* 2>/dev/null | awk 'BEGIN { m = -1 } { if ($3 > m) m = $3 } END { print m }')
logged=$(cat "$work"/rd.* 2>/dev/null | wc -l)
check "$logged" "${processed:-x}" "every reader transaction is in pgbench's log"
if [ "$maxlat" -ge 0 ] && [ "$maxlat" -lt 1000000 ]; then
    ok "no reader transaction took 1 s or more (max $((maxlat / 1000)) ms)"
else
    notok "no reader transaction took 1 s or more (max $((maxlat / 1000)) ms)"
fi

check "$(q -c "SELECT count(*) FROM public.reader_log")" "${processed:-x}" "every reader logged its consistency check"
check "$(q -c "SELECT count(*) FROM public.reader_log WHERE consistent IS NOT TRUE")" "0" "no reader saw a half-applied day"
seen=$(q -c "SELECT count(DISTINCT clock) FROM public.reader_log")
if [ "$seen" -ge 3 ]; then ok "readers saw $seen different days go by"; else notok "readers saw several days go by (saw $seen)"; fi
check "$(q -c "SELECT clock - '$clock0'::date FROM elt.settings")" "$refreshes" "the clock moved once per refresh"
if [ -n "${KEEP:-}" ]; then echo "# kept $work"; else rm -rf "$work"; fi
dropdb $db
[ $fails -eq 0 ]
