#!/usr/bin/env bash
# The demo dashboard: static Apache ECharts pages over elt_mart.  Each page's
# data comes from one SQL file (scripts/dashboard/queries/<page>.sql, which
# returns one JSON document) run with psql; the pages, echarts and the data
# are written to .demo/dashboard/site, to open as files (no server needed).
# npm installs echarts (and puppeteer-core, for the test) into
# .demo/dashboard/node_modules, once per change of package-lock.json.
#   scripts/dashboard.sh        build against the demo database (scripts/demo.sh)
#   ELT_DASHBOARD_DB    database: a name or a libpq connection string
#                       (default: the demo's, host=127.0.0.1 port=$ELT_DEMO_PORT
#                       user=postgres dbname=elt_demo)
#   ELT_DASHBOARD_OUT   where to write the site (default .demo/dashboard/site)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
src=$top/scripts/dashboard
home=$top/.demo/dashboard
out=${ELT_DASHBOARD_OUT:-$home/site}
conn=${ELT_DASHBOARD_DB:-"host=127.0.0.1 port=${ELT_DEMO_PORT:-5455} user=postgres dbname=elt_demo"}

for tool in node npm psql; do
    command -v "$tool" >/dev/null || {
        echo "dashboard: $tool is missing (Debian: apt-get install nodejs npm postgresql-client-15)" >&2; exit 1; }
done

# One install at a time; reinstalled only when the lock file changed.
mkdir -p "$home"
exec 8>"$home/.lock"
flock 8
if ! cmp -s "$src/package-lock.json" "$home/node_modules/.elt-package-lock.json" 2>/dev/null; then
    echo "== npm ci (echarts, puppeteer-core) into $home/node_modules"
    cp "$src/package.json" "$src/package-lock.json" "$home/"
    (cd "$home" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$src/package-lock.json" "$home/node_modules/.elt-package-lock.json"
fi
cp "$src/check.mjs" "$home/"    # the test's page checker, next to its node_modules
flock -u 8

if ! psql -XqAt -d "$conn" -c "SELECT 1 FROM elt_mart.fct_kpi_daily LIMIT 1" >/dev/null 2>&1; then
    echo "dashboard: cannot read elt_mart.fct_kpi_daily of database \"$conn\"" >&2
    echo "  start the demo first (scripts/demo.sh), or set ELT_DASHBOARD_DB" >&2
    exit 1
fi
if [ -z "$(psql -XqAt -d "$conn" -c "SELECT 1 FROM elt_mart.fct_kpi_daily LIMIT 1")" ]; then
    echo "dashboard: the marts of \"$conn\" are empty (SELECT elt_build_marts())" >&2
    exit 1
fi

# A fresh site next to the old one, swapped in at the end: a failed query
# leaves the last good site in place.
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "${out%/}.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data"
cp "$home/node_modules/echarts/dist/echarts.min.js" "$src/dashboard.js" "$src/dashboard.css" "$tmp/"
echo "== queries ($conn)"
for q in "$src"/queries/*.sql; do
    page=$(basename "$q" .sql)
    start=$(date +%s.%N)
    {
        printf 'window.ELT_DATA = '
        psql -XqAt -v ON_ERROR_STOP=1 -d "$conn" -f "$q"
        printf ';\n'
    } >"$tmp/data/$page.js"
    awk -v p="$page" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "   %-18s %5.1f s\n", p, e - s }'
    file=$page.html
    [ "$page" = overview ] && file=index.html
    cat >"$tmp/$file" <<HTML
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>elt dashboard: $page</title>
<link rel="stylesheet" href="dashboard.css">
<script src="echarts.min.js"></script>
<script src="data/$page.js"></script>
<script src="dashboard.js"></script>
</head><body data-page="$page"><nav id="nav"></nav><main id="main"></main></body></html>
HTML
done
date -u '+%Y-%m-%d %H:%M UTC' >"$tmp/built_at.txt"
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
trap - EXIT
echo "== the dashboard is built: open file://$out/index.html"
echo "   (or serve it: cd $out && python3 -m http.server 8000, then http://localhost:8000/)"
