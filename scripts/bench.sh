#!/usr/bin/env bash
# Benchmarks: builds and installs elt, starts a throwaway cluster with
# PostgreSQL's default settings, and runs each part scripts/bench/*.sh against
# database elt_bench.  Every part measures elt and its baselines in the same
# run, on the same settings, and prints their ratio.
#   scripts/bench.sh            all parts
#   scripts/bench.sh scd2 gen   only the named parts
#   ELT_BENCH_PORT              port (default 25442)
#   ELT_BENCH_TUNED=1           tuned settings instead of the defaults (an
#                               extra line, never the headline)
# Not a test: timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
port=${ELT_BENCH_PORT:-25442}
. scripts/lib.sh
elt_setup bench
trap 'scripts/cluster.sh stop "$datadir"; rm -rf "$work"' EXIT

elt_install >/dev/null
# Settings shared by every part, so that elt and baselines run alike:
# PostgreSQL's defaults, which is what most users run.
opts=""
[ "${ELT_BENCH_TUNED:-}" = 1 ] && opts="-c shared_buffers=2GB -c work_mem=256MB -c max_wal_size=8GB -c checkpoint_timeout=30min"
ELT_PG_OPTS="$opts" scripts/cluster.sh start "$datadir" "$port"
echo "== settings: ${opts:-PostgreSQL defaults} (shared_buffers $(psql -qAtX -d postgres -h 127.0.0.1 -p "$port" -U postgres -c 'SHOW shared_buffers'), work_mem $(psql -qAtX -d postgres -h 127.0.0.1 -p "$port" -U postgres -c 'SHOW work_mem'))"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=elt_bench
export ELT_BENCH_WORK=$work
createdb elt_bench
psql -qX -c 'CREATE EXTENSION elt'

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=($(ls scripts/bench/*.sh 2>/dev/null | sed 's|scripts/bench/||; s|\.sh$||'))
for p in "${parts[@]}"; do
    echo "== bench: $p"
    bash "scripts/bench/$p.sh"
done
