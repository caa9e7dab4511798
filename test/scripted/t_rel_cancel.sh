#!/usr/bin/env bash
# Cancel and timeout: elt_generate and elt_refresh stopped by
# statement_timeout and by pg_cancel_backend from another session, early,
# midway and late in the call, leave every table of elt, elt_raw and elt_mart
# exactly as it was (per-table row counts and row hashes).
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_cancel

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" >/dev/null
install_checksums
# the state to protect: raw data, marts, settings and a run log with rows
q -c "SELECT count(*) FROM elt_generate(1500, 7, '2025-03-01')" -c "SELECT count(*) FROM elt_refresh(2)" >/dev/null 2>&1
before=$(sums)
ntab=$(q -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart') AND c.relkind = 'r'")
check "$(echo "$before" | grep -c '^elt')" "$ntab" "checksums cover the $ntab tables of elt, elt_raw and elt_mart"

GEN="SELECT count(*) FROM elt_generate(4000, 8, '2025-06-30')"
REF="SELECT count(*) FROM elt_refresh(40)"

# How long do the calls take here?  Measured inside rolled-back
# transactions, which must leave nothing behind either.
duration() {
    local t0 t1
    t0=$(now)
    q -c "BEGIN" -c "$1" -c "ROLLBACK" >/dev/null 2>&1
    t1=$(now)
    echo "$t1 - $t0" | bc
}
gen_t=$(duration "$GEN")
same_sums "$before" "$(sums)" "elt_generate rolled back by the caller leaves every table as it was (${gen_t}s)"
ref_t=$(duration "$REF")
same_sums "$before" "$(sums)" "elt_refresh(40) rolled back by the caller leaves every table as it was (${ref_t}s)"

# Runs $2 in the background as application rel_cancel_target; sets $bg
# and $pid.
start_target() {
    PGAPPNAME=rel_cancel_target psql -qAtX -d $db -v VERBOSITY=verbose -c "$1" >"$work/out" 2>&1 &
    bg=$!
    pid=""
    for _ in $(seq 1 500); do
        pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'rel_cancel_target' AND state = 'active'")
        [ -n "$pid" ] && return 0
        sleep 0.02
    done
}

# verdict NAME HOW OUTPUT WANT: the call failed with WANT and changed nothing.
verdict() {
    if echo "$3" | grep -q "$4"; then
        ok "$1 stopped by $2: SQLSTATE 57014"
    else
        notok "$1 stopped by $2: SQLSTATE 57014"
        echo "$3" | sed 's/^/#   /' | head -5
    fi
    same_sums "$before" "$(sums)" "... and every table is as it was"
}

# timed_out NAME SQL DURATION FRACTION: statement_timeout at a fraction of
# the call's duration here.
timed_out() {
    local ms out
    ms=$(echo "$3 * $4 * 1000 / 1" | bc)
    [ "$ms" -lt 50 ] && ms=50
    out=$(PGOPTIONS="-c statement_timeout=$ms" psql -qAtX -d $db -v VERBOSITY=verbose -c "$2" 2>&1)
    verdict "$1" "statement_timeout = $ms ms" "$out" "57014: canceling statement due to statement timeout"
}

# cancelled NAME SQL PHASE LOCK ABSENT: pg_cancel_backend from another
# session once the call holds the lock LOCK ("relation:mode") and not one on
# relation ABSENT, i.e. in a known phase of its work.
cancelled() {
    local name=$1 sql=$2 phase=$3 lock=$4 absent=$5 seen=no
    start_target "$sql"
    # watched and cancelled from inside one server session (pg_locks is
    # read afresh by every query): polling with a new psql each time missed
    # short phases on a busy machine
    [ -n "$pid" ] && seen=$(q -c "DO \$\$ BEGIN
        FOR i IN 1 .. 30000 LOOP
            IF EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $pid AND l.granted AND l.relation IS NOT NULL
                         AND l.relation::regclass::text || ':' || l.mode = '$lock')
               AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $pid AND l.granted AND l.relation IS NOT NULL
                                 AND l.relation::regclass::text = '$absent') THEN
                PERFORM pg_cancel_backend($pid);
                RAISE NOTICE 'seen=yes';
                RETURN;
            END IF;
            -- the target's own virtual transaction lock: gone when its call ended
            EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $pid AND l.locktype = 'virtualxid');
            PERFORM pg_sleep(0.001);
        END LOOP;
        RAISE NOTICE 'seen=no';
    END \$\$" 2>&1 | sed -n 's/.*seen=//p')
    [ "$seen" = yes ] || { [ -n "$pid" ] && q -c "SELECT pg_cancel_backend($pid)" >/dev/null; }
    wait $bg
    check "$seen" "yes" "$name reached the phase '$phase' (holds $lock)"
    verdict "$name" "pg_cancel_backend $phase" "$(cat "$work/out")" "57014: canceling statement due to user request"
}

work=$(mktemp -d)
for frac in 0.1 0.25 0.45; do
    timed_out elt_generate "$GEN" "$gen_t" $frac
done
# (the load also empties the marts it writes, so the calendar, which only
# the mart build locks, tells the phases apart)
cancelled elt_generate "$GEN" "while loading elt_raw" "elt_raw.usage:AccessExclusiveLock" elt_mart.dim_date
cancelled elt_generate "$GEN" "while building elt_mart" "elt_mart.fct_kpi_daily:ShareRowExclusiveLock" none
for frac in 0.1 0.25 0.45; do
    timed_out "elt_refresh(40)" "$REF" "$ref_t" $frac
done
cancelled "elt_refresh(40)" "$REF" "while merging days" "elt_raw.subscriptions:ShareRowExclusiveLock" elt_mart.fct_kpi_daily
cancelled "elt_refresh(40)" "$REF" "while updating elt_mart" "elt_mart.fct_kpi_daily:ShareRowExclusiveLock" none

# nothing is left locked or half-done: the next calls work
check "$(q -c "SELECT clock_after || ' ' || status FROM elt_refresh(1)" 2>/dev/null)" "2025-03-04 ok" "after the cancels, elt_refresh(1) works"
check "$(q -c "SELECT count(*) FROM elt.run_log WHERE status <> 'ok'")" "0" "no failed or running run was logged by the stopped calls"
rm -rf "$work"
dropdb $db
[ $fails -eq 0 ]
