#!/usr/bin/env bash
# Benchmarks: builds and installs elt, starts a throwaway cluster, and runs
# each part scripts/bench_*.sh against database elt_bench.  Every part
# measures elt and its baseline in the same run and prints their ratio.
#   scripts/bench.sh            all parts
#   scripts/bench.sh scd2 gen   only the named parts
#   ELT_BENCH_PORT              port (default 54339)
# Not a test: timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
port=${ELT_BENCH_PORT:-54339}
. scripts/lib.sh
elt_setup bench
trap 'scripts/cluster.sh stop "$datadir"; rm -rf "$work"' EXIT

elt_install >/dev/null
# Settings shared by every part, so that elt and baselines run alike.
ELT_PG_OPTS="-c fsync=off -c shared_buffers=2GB -c work_mem=256MB -c max_wal_size=8GB -c checkpoint_timeout=30min" \
    scripts/cluster.sh start "$datadir" "$port"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=elt_bench
export ELT_BENCH_WORK=$work
createdb elt_bench
psql -qX -c 'CREATE EXTENSION elt'

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=($(ls scripts/bench_*.sh 2>/dev/null | sed 's|scripts/bench_||; s|\.sh$||'))
for p in "${parts[@]}"; do
    echo "== bench: $p"
    bash "scripts/bench_$p.sh"
done
