#!/usr/bin/env bash
# Bench part "model1" (run by scripts/bench.sh model1): the raw load of the
# current model against model 1, the simulation before the realistic one
# (issue 14: at most 25 % slower per row).  Model 1 is built from git (the
# commit before model version 2) into a private copy of PostgreSQL and runs
# in a second cluster with the same default settings; both generate the same
# arguments, interleaved, best of two each.  Needs the git history.
#   ELT_BENCH_MODEL1_USERS   user counts (default "20000 100000")
set -euo pipefail
work=${ELT_BENCH_WORK:?run through scripts/bench.sh}
sizes=${ELT_BENCH_MODEL1_USERS:-20000 100000}
rev=$(git log --format=%H -S'#define ELT_MODEL_VERSION 2' -- src/model.h 2>/dev/null | tail -n 1)
[ -n "$rev" ] || { echo "model1: no git history here; skipped"; exit 0; }
rev=$(git rev-parse "$rev^")

# model 1, built from its own sources into its own PostgreSQL copy
m1=$work/model1
mkdir -p "$m1/src"
git archive "$rev" | tar -x -C "$m1/src"
scripts/pgroot.sh "$m1/root"
make -s -C "$m1/src" >/dev/null && make -s -C "$m1/src" install DESTDIR="$m1/root" >/dev/null
port1=$((PGPORT + 1))
ELT_PG_ROOT="$m1/root" scripts/cluster.sh start "$m1/pgdata" "$port1"
trap 'ELT_PG_ROOT="$m1/root" scripts/cluster.sh stop "$m1/pgdata"' EXIT
createdb -p "$port1" elt_bench
psql -qX -p "$port1" -c 'CREATE EXTENSION elt'

# timed PORT USERS: seconds of one elt_generate (raw only), measured in the server
timed() {
    psql -qAtX -v ON_ERROR_STOP=1 -p "$1" -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN PERFORM elt_generate($2, 42, '2025-06-30', build_marts => false); RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}
rows() {
    psql -qAtX -p "$1" -c "SELECT (SELECT count(*) FROM elt_raw.users) + (SELECT count(*) FROM elt_raw.subscriptions) + (SELECT count(*) FROM elt_raw.usage)"
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

echo "model1: model 1 = ${rev:0:10}; elt_generate(N, 42, '2025-06-30', build_marts => false), best of two, interleaved"
timed "$port1" 20000 >/dev/null   # warm-up of the second cluster
for n in $sizes; do
    a1=$(timed "$port1" "$n"); b1=$(timed "$PGPORT" "$n")
    a2=$(timed "$port1" "$n"); b2=$(timed "$PGPORT" "$n")
    old=$(min "$a1" "$a2"); new=$(min "$b1" "$b2")
    awk -v n="$n" -v o="$old" -v w="$new" -v ro="$(rows "$port1")" -v rw="$(rows "$PGPORT")" 'BEGIN {
        printf "model1: %d users: model 1 %.2f s for %d raw rows (%.2f us/row), now %.2f s for %d rows (%.2f us/row)\n", n, o, ro, 1e6*o/ro, w, rw, 1e6*w/rw
        printf "model1: %d users: time per row now / model 1 = %.2f (goal <= 1.25); per user %.2f\n", n, (w/rw)/(o/ro), w/o }'
done
