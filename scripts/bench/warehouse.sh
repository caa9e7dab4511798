#!/usr/bin/env bash
# Bench part "warehouse" (run by scripts/bench.sh warehouse; issue 16 items 1
# and 4): the whole warehouse, elt_raw and elt_mart, against loading the very
# same rows with COPY FROM.
#  - elt_generate(N) with its marts, at 20k and 100k users, best of two;
#  - the rows it wrote, every table of elt_raw, elt_mart and elt (the marts'
#    running totals, settings, run log), copied out to
#    files, then loaded with COPY FROM (text format) into look-alike tables
#    (CREATE TABLE ... LIKE ... INCLUDING ALL: same columns, defaults,
#    constraints and indexes; no foreign keys) in one transaction, best of two.
#    Goal: COPY time / elt_generate time >= 2.0.
#  - at 1M users: elt_generate with its marts once, the time (goal <= 180 s),
#    the time per user against 100k (goal <= 1.3) and the backend's peak
#    private memory (RssAnon, sampled; goal < 512 MB).
#   ELT_BENCH_WAREHOUSE_USERS  user counts compared with COPY (default "20000 100000")
#   ELT_BENCH_WAREHOUSE_BIG    the big run's users (default 1000000; 0 skips it)
set -euo pipefail
work=${ELT_BENCH_WORK:?run through scripts/bench.sh}
sizes=${ELT_BENCH_WAREHOUSE_USERS:-20000 100000}
big=${ELT_BENCH_WAREHOUSE_BIG:-1000000}
q() { PGOPTIONS='-c client_min_messages=warning' psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
. "$(dirname "$0")/../lib.sh"

# elapsed seconds of one statement (plpgsql), measured inside the server
timed() {
    psql -qAtX -v ON_ERROR_STOP=1 -c "SET client_min_messages = notice" -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
gen() { echo "PERFORM elt_generate($1, 42, '2025-06-30')"; }

# the tables of the warehouse, as schema.table, biggest last
tables() {
    q -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
          WHERE schemaname IN ('elt_raw', 'elt_mart', 'elt') ORDER BY pg_total_relation_size(format('%I.%I', schemaname, tablename))"
}

copydir="$work/warehouse"
mkdir -p "$copydir"
chmod 777 "$copydir"
declare -A tgen
for n in $sizes; do
    a=$(timed "$(gen "$n")"); b=$(timed "$(gen "$n")")
    tgen[$n]=$(min "$a" "$b")
    rows=0
    # the same rows, copied out; look-alike tables in schema bench_copy
    q -c "DROP SCHEMA IF EXISTS bench_copy CASCADE" -c "CREATE SCHEMA bench_copy"
    load="" trunc=""
    for t in $(tables); do
        f="$copydir/${t//\"/}.copy"
        like="bench_copy.$(echo "$t" | tr -d '"' | tr . _)"
        q -c "CREATE TABLE $like (LIKE $t INCLUDING ALL)" -c "COPY $t TO '$f'"
        rows=$((rows + $(q -c "SELECT count(*) FROM $t")))
        load="${load}COPY $like FROM '$f';"$'\n'
        trunc="$trunc${trunc:+, }$like"
    done
    copy_once() {
        local s e
        q -c "TRUNCATE $trunc"
        s=$(date +%s.%N)
        printf 'BEGIN;\n%sCOMMIT;\n' "$load" | q >/dev/null
        e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
    }
    c=$(min "$(copy_once)" "$(copy_once)")
    awk -v n="$n" -v g="${tgen[$n]}" -v c="$c" -v r="$rows" 'BEGIN {
        printf "warehouse: %d users: elt_generate with marts %.2f s, COPY FROM of the same %d rows (every elt_raw and elt_mart table, same indexes) %.2f s; ratio %.2fx (goal >= 2.0)\n", n, g, r, c, c / g }'
    q -c "DROP SCHEMA bench_copy CASCADE"
    rm -f "$copydir"/*.copy
done

[ "$big" -gt 0 ] || exit 0
# the big run, once: its time, time per user, and the backend's peak memory
res=$(elt_timed_peak "$(gen "$big")" "$work")
read -r tbig peak <<< "$res"
last=${sizes##* }
awk -v u="$big" -v t="$tbig" -v k="$peak" -v n="$last" -v tn="${tgen[$last]:-0}" 'BEGIN {
    printf "warehouse: %d users with marts in %.1f s (goal <= 180 s); backend peak private memory %.0f MB (goal < 512)\n", u, t, k / 1024
    if (tn > 0) printf "warehouse: time per user at %d / at %d = %.2f (goal <= 1.3)\n", u, n, (t / u) / (tn / n) }'
