#!/usr/bin/env bash
# elt_scd2_merge checks every privilege it needs before it locks the target
# (review finding 8): a role that may not do all the merge does gets 42501
# at once while another session holds a lock conflicting with the merge's
# SHARE ROW EXCLUSIVE; it never queues for the lock, making writers wait.
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER set.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
db=elt_scd2_review

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "not ok 1 - create database"; exit 1; }
# Ends the lock holder's backend (and so its psql).
release() {
    psql -qAtX -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'scd2rv_holder' AND datname = '$db'" >/dev/null 2>&1
    [ -n "${holder:-}" ] && wait "$holder" 2>/dev/null
    holder=
}
cleanup() {
    release
    dropdb --if-exists "$db" >/dev/null 2>&1
    for r in scd2rv_onecol scd2rv_srccol scd2rv_full; do psql -qAtX -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
}
trap cleanup EXIT

q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION elt;
CREATE TABLE hist (id int, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE snap AS SELECT i AS id, i AS v FROM generate_series(1, 100) i;
DROP ROLE IF EXISTS scd2rv_onecol;
DROP ROLE IF EXISTS scd2rv_srccol;
DROP ROLE IF EXISTS scd2rv_full;
CREATE ROLE scd2rv_onecol LOGIN;
CREATE ROLE scd2rv_srccol LOGIN;
CREATE ROLE scd2rv_full LOGIN;
GRANT SELECT ON snap TO scd2rv_onecol, scd2rv_full;
GRANT INSERT (id) ON hist TO scd2rv_onecol;
GRANT SELECT, INSERT, UPDATE ON hist TO scd2rv_srccol, scd2rv_full;
GRANT SELECT (id) ON snap TO scd2rv_srccol;
SQL

# SQLSTATE of a merge as ROLE with a 1 s lock_timeout, and how long it took
merge_as() {
    psql -qAtX -d "$db" -U "$1" -v VERBOSITY=verbose \
        -c "SET lock_timeout = '1s'" \
        -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-01')" 2>&1 \
        | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1
}

# Another session holds ROW EXCLUSIVE (as a writer does) for a while.
PGAPPNAME=scd2rv_holder psql -qAtX -d "$db" -c "BEGIN" -c "LOCK TABLE hist IN ROW EXCLUSIVE MODE" -c "SELECT pg_sleep(20)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do
    [ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'hist'::regclass AND mode = 'RowExclusiveLock' AND granted")" = 1 ] && break
    sleep 0.05
done

check "$(merge_as scd2rv_full)" "55P03" "a role with every privilege waits for the lock (the conflict is real)"
check "$(merge_as scd2rv_onecol)" "42501" "INSERT on one target column only: 42501 at once, no lock wait"
check "$(merge_as scd2rv_srccol)" "42501" "SELECT on one source column only: 42501 at once, no lock wait"
check "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'hist'::regclass AND NOT granted")" "0" \
    "nobody left waiting on the target"
release

check "$(q -c "SELECT count(*) FROM hist")" "0" "the target is unchanged"
[ "$fails" -eq 0 ]
