#!/usr/bin/env bash
# Scale-out benchmark (issue 17): elt_generate of 200,000 users (elt_raw
# only: build_marts => false, the parallel load per shard group) on the
# single node of scripts/bench.sh, then on a Citus coordinator with 1 and
# with 2 workers on this machine (scripts/citus.sh, the same PostgreSQL
# settings plus citus preloaded), with elt_distribute(shard_count).  Prints
# the times and the speed-ups over the single node; goal: 2 workers >= 1.5x.
# Timings are the best of two runs.  Skipped (one line) without Citus.
#   ELT_BENCH_CITUS_USERS   users (default 200000)
#   ELT_BENCH_CITUS_SHARDS  shards per distributed table (default 4: this
#                           machine's cores, times 2)
#   ELT_BENCH_CITUS_PORT    first port of the Citus nodes (default PGPORT+10)
set -euo pipefail
work=${ELT_BENCH_WORK:?run through scripts/bench.sh}
users=${ELT_BENCH_CITUS_USERS:-200000}
shards=${ELT_BENCH_CITUS_SHARDS:-4}
cport=${ELT_BENCH_CITUS_PORT:-$((PGPORT + 10))}
here=$(cd "$(dirname "$0")/.." && pwd)
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }

if ! "$here/citus.sh" available; then
    echo "citus: Citus is not installed in this PostgreSQL; skipped"
    exit 0
fi

gen="PERFORM elt_generate($users, 42, '2025-06-30', build_marts => false)"
# elapsed seconds of one statement, measured inside the server (PG* env)
timed() {
    q -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}
best2() {
    local a b
    a=$(timed "$1"); b=$(timed "$1")
    awk -v a="$a" -v b="$b" 'BEGIN { print (a < b ? a : b) }'
}

single=$(best2 "$gen")
rows=$(q -c "SELECT count(*) FROM elt_raw.usage")
sums_single=$(q -c "SELECT count(*), sum(hashtextextended(u::text, 0)) FROM elt_raw.usage u")
echo "citus: single node: $users users in ${single} s (${rows} usage rows)"

cleanup() { for n in 1 2; do "$here/citus.sh" stop "$work/citus$n" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
declare -A t
for n in 1 2; do
    "$here/citus.sh" start "$work/citus$n" "$cport" "$n" elt_bench >/dev/null
    t[$n]=$(
        export PGPORT=$cport PGDATABASE=elt_bench
        q -c "SET client_min_messages = warning" -c "CREATE EXTENSION elt" -c "SELECT count(*) FROM elt_distribute($shards)" >/dev/null
        best2 "$gen"
    )
    same=$(PGPORT=$cport q -d elt_bench -c "SELECT count(*), sum(hashtextextended(u::text, 0)) FROM elt_raw.usage u")
    echo "citus: coordinator + $n worker(s), $shards shards: ${t[$n]} s; usage identical to the single node: $([ "$same" = "$sums_single" ] && echo yes || echo NO)"
    "$here/citus.sh" stop "$work/citus$n" >/dev/null
done
awk -v s="$single" -v a="${t[1]}" -v b="${t[2]}" 'BEGIN {
    printf "citus: speed-up over the single node: 1 worker %.2fx, 2 workers %.2fx (goal >= 1.5x with 2 workers)\n", s/a, s/b }'
