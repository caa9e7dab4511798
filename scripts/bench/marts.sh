#!/usr/bin/env bash
# Bench part "marts" (run by scripts/bench.sh marts): time elt_build_marts()
# on 100k users against the time elt_generate takes to load elt_raw, then a
# one-day incremental refresh (elt_update_marts) against the full build.
#   ELT_BENCH_USERS   users (default 100000)
set -euo pipefail
users=${ELT_BENCH_USERS:-100000}
asof=2025-06-30
start=2024-07-01
next=2025-07-01

t() {   # t SQL: prints the elapsed seconds of one statement
    local a b
    a=$(date +%s.%N)
    psql -qX -v ON_ERROR_STOP=1 -c "$1" >/dev/null
    b=$(date +%s.%N)
    echo "$a $b" | awk '{printf "%.2f", $2 - $1}'
}

echo "marts: $users users, window $start .. $asof (elt_generate, then elt_build_marts)"
gen=$(t "SELECT * FROM elt_generate($users, 42, '$asof', start_date => '$start', build_marts => false)")
psql -qX -c "VACUUM ANALYZE elt_raw.users, elt_raw.subscriptions, elt_raw.usage" >/dev/null
psql -qX -At -F ' ' -c "SELECT 'raw: users ' || (SELECT count(*) FROM elt_raw.users) || ' versions, subscriptions '
        || (SELECT count(*) FROM elt_raw.subscriptions) || ' versions, usage ' || (SELECT count(*) FROM elt_raw.usage) || ' rows'"
build=$(t "SELECT * FROM elt_build_marts()")
psql -qX -At -c "SELECT 'mart: ' || string_agg(replace(table_name, 'elt_mart.', '') || ' ' || row_count, ', ')
                 FROM (SELECT 'elt_mart.' || relname AS table_name, n_live_tup AS row_count
                       FROM pg_stat_user_tables WHERE schemaname = 'elt_mart' ORDER BY relname) s"
rebuild=$(t "SELECT * FROM elt_build_marts()")
gen1=$(t "SELECT * FROM elt_generate($users, 42, '$next', start_date => '$start', build_marts => false)")
upd=$(t "SELECT * FROM elt_update_marts('$next')")
noop=$(t "SELECT * FROM elt_update_marts('$next')")

awk -v g="$gen" -v b="$build" -v r="$rebuild" -v u="$upd" -v n="$noop" 'BEGIN {
    printf "elt_generate (raw load)          %8.2f s\n", g
    printf "elt_build_marts (first build)    %8.2f s   ratio to generate %.2f\n", b, b / g
    printf "elt_build_marts (rebuild)        %8.2f s   ratio to generate %.2f\n", r, r / g
    printf "elt_update_marts (one new day)   %8.2f s   %.1f%% of a full build\n", u, 100 * u / b
    printf "elt_update_marts (nothing new)   %8.2f s\n", n
}'
