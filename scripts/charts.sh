#!/usr/bin/env bash
# charts.sh [DATABASE [OUTDIR]]: renders the simulated business's vital
# signs from elt_mart as PNG charts with gnuplot (Debian's gnuplot-nox):
# daily signups, MRR movements by month, cohort retention and daily active
# users.  A person should not see a machine at work in them.  Connects with
# the usual PG* environment, by default to the demo server (127.0.0.1, port
# $ELT_DEMO_PORT or 5455, user postgres); default database elt_demo, output
# .demo/charts.
set -euo pipefail
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-${ELT_DEMO_PORT:-5455}} PGUSER=${PGUSER:-postgres}
db=${1:-elt_demo}
out=${2:-"$(cd "$(dirname "$0")/.." && pwd)/.demo/charts"}
command -v gnuplot >/dev/null || { echo "charts.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { psql -qAtX -F ' ' -d "$db" -v ON_ERROR_STOP=1 -c "$1"; }

q "SELECT date, signups, avg(signups) OVER (ORDER BY date ROWS BETWEEN 13 PRECEDING AND CURRENT ROW)
   FROM elt_mart.fct_kpi_daily ORDER BY date" >"$tmp/signups"
q "SELECT month_start, sum(new_mrr), sum(expansion_mrr), sum(reactivation_mrr), sum(contraction_mrr), sum(churned_mrr),
          sum(mrr) / 1000
   FROM elt_mart.fct_mrr_monthly GROUP BY 1 ORDER BY 1" >"$tmp/mrr"
q "SELECT date, active_users, avg(active_users) OVER (ORDER BY date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
   FROM elt_mart.fct_kpi_daily ORDER BY date" >"$tmp/dau"
# first-paid cohorts by quarter: share of their accounts still paying n
# months later, among the accounts that have reached that age (a complete
# month: the current one is left out)
q "WITH f AS (SELECT user_id, min(month_start) AS c FROM elt_mart.fct_mrr_monthly WHERE mrr > 0 GROUP BY 1),
        k AS (SELECT to_char(date_trunc('quarter', f.c), 'YYYY-\"Q\"Q') AS cohort, f.user_id, f.c FROM f),
        last AS (SELECT (date_trunc('month', clock) - interval '1 month')::date AS m FROM elt.settings),
        ages AS (SELECT k.cohort, k.user_id, k.c, n FROM k, last,
                 generate_series(0, (extract(year FROM age(last.m, k.c)) * 12 + extract(month FROM age(last.m, k.c)))::int) n)
   SELECT a.cohort, a.n, round(avg((COALESCE(m.mrr, 0) > 0)::int), 4)
   FROM ages a LEFT JOIN elt_mart.fct_mrr_monthly m
        ON m.user_id = a.user_id AND m.month_start = (a.c + a.n * interval '1 month')::date
   GROUP BY 1, 2 HAVING count(*) >= 30 ORDER BY 1, 2" >"$tmp/cohorts"

gnuplot <<GP
set terminal pngcairo size 1200,500 font 'sans,10'
set grid
set xdata time
set timefmt '%Y-%m-%d'
set format x '%b %Y'

set output '$out/signups.png'
set title 'Daily signups (line: 14-day average)'
plot '$tmp/signups' using 1:2 with impulses lc rgb '#9ecae1' title 'signups', \
     '' using 1:3 with lines lw 2 lc rgb '#08519c' title '14-day average'

set output '$out/dau.png'
set title 'Daily active users (line: 7-day average)'
plot '$tmp/dau' using 1:2 with lines lc rgb '#9ecae1' title 'active users', \
     '' using 1:3 with lines lw 2 lc rgb '#08519c' title '7-day average'

set output '$out/mrr_movements.png'
set key top left
set title 'MRR movements by month (USD) and MRR (thousand USD, right axis)'
set style fill solid 0.8 noborder
set boxwidth 20*86400
set y2tics
plot '$tmp/mrr' using 1:2 with boxes lc rgb '#2ca02c' title 'new', \
     '' using 1:(\$2+\$3) with boxes lc rgb '#98df8a' notitle, \
     '' using 1:2 with boxes lc rgb '#2ca02c' notitle, \
     '' using 1:(\$2+\$3+\$4) with boxes lc rgb '#1f77b4' title 'reactivation', \
     '' using 1:(\$2+\$3) with boxes lc rgb '#98df8a' title 'expansion', \
     '' using 1:2 with boxes lc rgb '#2ca02c' notitle, \
     '' using 1:(\$5+\$6) with boxes lc rgb '#d62728' title 'churn', \
     '' using 1:5 with boxes lc rgb '#ff9896' title 'contraction', \
     '' using 1:7 axes x1y2 with lines lw 2 lc rgb 'black' title 'MRR'
unset y2tics

set output '$out/cohort_retention.png'
set key outside right
set title 'Paying accounts retained, by first-paid quarter'
unset xdata
set format x '%g'
set xlabel 'months since first payment'
set ylabel 'share still paying'
plot for [c in system("cut -d' ' -f1 $tmp/cohorts | sort -u | tr '\n' ' '")] \
     '$tmp/cohorts' using (strcol(1) eq c ? \$2 : NaN):3 with linespoints pt 7 ps 0.5 title c
GP
echo "charts.sh: $out/{signups,mrr_movements,cohort_retention,dau}.png"
