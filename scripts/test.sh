#!/usr/bin/env bash
# The whole test suite: builds and installs elt, runs the pg_regress suite
# (sql/, expected/: `make installcheck`, which starts a server of its own),
# starts a throwaway cluster (pg_cron preloaded, background workers on) for
# the pgTAP suite (test/) and the scripted tests, then stops it.
# Last line: "N passed, N failed".  Exit status non-zero if anything failed.
#   ELT_TEST_PORT   port of the throwaway cluster (default 25432: below the
#                   kernel's ephemeral range, which client connections use)
#   ELT_PG_ROOT     test against a private copy of PostgreSQL (scripts/pgroot.sh)
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

port=${ELT_TEST_PORT:-25432}
. scripts/lib.sh
elt_setup test

cleanup() {
    scripts/cluster.sh stop "$datadir" || true
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0

if ! elt_install >"$work/build.log" 2>&1; then
    cat "$work/build.log"
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

if ! ELT_PG_OPTS="-c fsync=off" scripts/cluster.sh start "$datadir" "$port"; then
    cat "$datadir/server.log" 2>/dev/null
    echo "0 passed, 1 failed"
    exit 1
fi
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres

# --- pg_regress: `make installcheck`, on a throwaway server of its own ---
# The server refuses to run as root, so as root the suite runs it as
# postgres, in a copy of the test files that postgres can write to.
regdir="$work/regress"
mkdir -p "$regdir"
cp -r Makefile elt.control sql expected "$regdir/"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$regdir"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres make -s -C "$regdir" installcheck PG_CONFIG="${root}/usr/lib/postgresql/15/bin/pg_config" >"$work/regress.log" 2>&1
regress_rc=$?
cat "$work/regress.log"
r_ok=$(grep -cE '^(test|     ) +[^ ]+ +\.\.\. ok|^ok +[0-9]+ ' "$work/regress.log" || true)
r_fail=$(grep -cE '\.\.\. FAILED|^not ok +[0-9]+ ' "$work/regress.log" || true)
# a run that failed without a FAILED line (a missing expected file, a crash)
if [ $regress_rc -ne 0 ] && [ "$r_fail" -eq 0 ]; then r_fail=1; fi
if [ "$r_ok" -eq 0 ] && [ "$r_fail" -eq 0 ]; then r_fail=1; fi
[ -f "$regdir/regression.diffs" ] && [ "$r_fail" -gt 0 ] && cat "$regdir/regression.diffs"
passed=$((passed + r_ok)); failed=$((failed + r_fail))

# --- pgTAP ---
createdb elt_tap
pg_prove --verbose -d elt_tap test/*.sql >"$work/tap.log" 2>&1
tap_rc=$?
t_ok=$(grep -cE '^ok [0-9]+' "$work/tap.log" || true)
t_fail=$(grep -cE '^not ok [0-9]+' "$work/tap.log" || true)
if [ $tap_rc -ne 0 ]; then
    cat "$work/tap.log"
    [ "$t_fail" -eq 0 ] && t_fail=1
else
    grep -E '^(test/|Files=|Result:)' "$work/tap.log"
fi
passed=$((passed + t_ok)); failed=$((failed + t_fail))

# --- scripted tests (need several sessions, pg_cron, signals ...) ---
for t in test/scripted/t_*.sh; do
    [ -e "$t" ] || continue
    out="$work/$(basename "$t").log"
    bash "$t" >"$out" 2>&1
    rc=$?
    s_ok=$(grep -cE '^ok ' "$out" || true)
    s_fail=$(grep -cE '^not ok ' "$out" || true)
    if [ $rc -ne 0 ] || [ "$s_fail" -gt 0 ]; then
        cat "$out"; [ "$s_fail" -eq 0 ] && s_fail=1
    else
        echo "$t: $s_ok ok"
    fi
    passed=$((passed + s_ok)); failed=$((failed + s_fail))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
