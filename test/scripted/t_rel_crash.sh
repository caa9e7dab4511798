#!/usr/bin/env bash
# Crash: the backend running elt_generate is killed with SIGKILL (while it
# loads elt_raw, and again while it builds elt_mart); the server goes
# through crash recovery; every table of elt, elt_raw and elt_mart is exactly
# as before the call, and the next elt_generate and elt_refresh work.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).  The
# server's processes must be killable by us: we are root or its owner.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_crash
work=$(mktemp -d)
chmod 755 "$work"

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" >/dev/null
install_checksums
BASE="SELECT count(*) FROM elt_generate(1200, 5, '2025-04-30')"
q -c "$BASE" -c "SELECT count(*) FROM elt_refresh(2)" >/dev/null 2>&1
before=$(sums)
raw_before=$(echo "$before" | grep -v '^elt\.')

# killed PHASE LOCK ABSENT: start a large elt_generate, SIGKILL its backend
# once it holds LOCK ("relation:mode") and no lock on ABSENT, wait for
# recovery, compare.
killed() {
    local phase=$1 lock=$2 absent=$3 pid="" locks="" seen=no bg by
    # a bystander session: the postmaster's crash reset must end it too
    psql -qAtX -d $db -c "SELECT pg_sleep(120)" >"$work/by" 2>&1 &
    by=$!
    PGAPPNAME=rel_crash_target psql -qAtX -d $db -c "SELECT count(*) FROM elt_generate(8000, 6, '2025-06-30')" >"$work/out" 2>&1 &
    bg=$!
    for _ in $(seq 1 500); do
        pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'rel_crash_target' AND state = 'active'" 2>/dev/null)
        [ -n "$pid" ] && break
        sleep 0.02
    done
    for _ in $(seq 1 2000); do
        locks=$(q -c "SELECT string_agg(relation::regclass || ':' || mode, ' ') FROM pg_locks WHERE pid = $pid AND granted AND relation IS NOT NULL" 2>/dev/null)
        if [[ " $locks " == *" $lock "* ]] && [[ " $locks " != *" $absent:"* ]]; then
            seen=yes; break
        fi
        kill -0 $bg 2>/dev/null || break
        sleep 0.01
    done
    check "$seen" "yes" "elt_generate reached the phase '$phase' (backend $pid holds $lock)"
    if [ -n "$pid" ] && kill -9 "$pid"; then
        ok "SIGKILL sent to the backend $phase"
    else
        notok "SIGKILL sent to the backend $phase"
    fi
    wait $bg
    if grep -q "server closed the connection unexpectedly\|terminating connection" "$work/out"; then
        ok "the client saw its connection die"
    else
        notok "the client saw its connection die"; sed 's/^/#   /' "$work/out" | head -3
    fi
    # the postmaster resets every backend, then replays WAL
    wait $by
    if grep -q "crash of another server process" "$work/by"; then
        ok "the server went through a crash reset (a bystander session was terminated)"
    else
        notok "the server went through a crash reset (a bystander session was terminated)"; sed 's/^/#   /' "$work/by" | head -3
    fi
    sleep 1
    if wait_ready; then ok "the server recovered and accepts connections"; else notok "the server recovered and accepts connections"; fi
    same_sums "$before" "$(sums)" "after the crash every table is exactly as before the call"
}

# (the load also empties the marts it writes, so the calendar, which only
# the mart build locks, tells the phases apart)
killed "while loading elt_raw" "elt_raw.usage:AccessExclusiveLock" elt_mart.dim_date
killed "while building elt_mart" "elt_mart.fct_kpi_daily:ShareRowExclusiveLock" none
check "$(q -c "SELECT count(*) FROM elt.run_log WHERE status <> 'ok'")" "0" "no run of the killed calls was logged"

# the next calls work; generation is deterministic, so regenerating the
# same population gives the same raw data and marts as before the crash
q -c "$BASE" -c "SELECT count(*) FROM elt_refresh(2)" >"$work/out" 2>&1
check "$?" "0" "elt_generate and elt_refresh run after recovery"
same_sums "$raw_before" "$(sums | grep -v '^elt\.')" "... and give exactly the raw data and marts they gave before the crash"
check "$(q -c "SELECT clock_after || ' ' || status FROM elt_refresh(3)" 2>/dev/null)" "2025-05-05 ok" "elt_refresh(3) continues from the clock"
rm -rf "$work"
dropdb $db
[ $fails -eq 0 ]
