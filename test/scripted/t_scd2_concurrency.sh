#!/usr/bin/env bash
# elt_scd2_merge across sessions: two merges into one target serialize (no
# duplicate current rows, even without a unique index), readers are not
# blocked, and a cancelled or timed-out merge leaves the target as it was.
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER set.
set -uo pipefail
db=elt_scd2_conc
. "$(dirname "$0")/lib.sh"
# Waits until some session holds the merge lock on hist (up to 10 s).
wait_for_lock() {
    for _ in $(seq 1 200); do
        [ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'hist'::regclass AND mode = 'ShareRowExclusiveLock' AND granted")" = 1 ] && return 0
        sleep 0.05
    done
    return 1
}

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { notok "create database"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT

q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION elt;
-- deliberately no unique index: only the lock keeps current rows unique
CREATE TABLE hist (id int, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE snap AS SELECT i AS id, i AS v FROM generate_series(1, 1000) i;
SELECT elt_scd2_merge('hist', 'snap', '{id}', '2024-01-01');
UPDATE snap SET v = v + 1 WHERE id % 10 = 0;
SQL

# Session A merges and keeps its transaction open; B starts the same merge.
out_a=$(mktemp); out_b=$(mktemp)
# (A holds it for 5 s: long enough for the checks below on a loaded machine)
q -c "BEGIN" -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-02')" \
  -c "SELECT pg_sleep(5)" -c "COMMIT" >"$out_a" 2>&1 &
pid_a=$!
wait_for_lock
q -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-02')" >"$out_b" 2>&1 &
pid_b=$!
for _ in $(seq 1 60); do
    waiting=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND wait_event_type = 'Lock' AND query LIKE '%elt_scd2_merge%'")
    [ "$waiting" = 1 ] && break
    sleep 0.05
done
check "$waiting" "1" "the second merge waits for the first one's lock"
reader=$(q -c "SET statement_timeout = '1s'" -c "SELECT count(*) FROM hist" 2>&1)
check "$reader" "1000" "readers read while a merge holds the target"
wait $pid_a; rc_a=$?
wait $pid_b; rc_b=$?
check "$(grep -q '^0|100|0|900$' "$out_a" && echo yes)" "yes" "first merge: 100 updated"
check "$(grep -q '^0|0|0|1000$' "$out_b" && echo yes)" "yes" "second merge, after the first committed, finds nothing to do"
check "$rc_a $rc_b" "0 0" "both sessions succeeded"
dups=$(q -c "SELECT count(*) FROM (SELECT id FROM hist WHERE valid_to IS NULL GROUP BY id HAVING count(*) > 1) x")
check "$dups" "0" "no duplicate current rows"
check "$(q -c 'SELECT count(*) FROM hist')" "1100" "1100 versions"

# Two different snapshots racing: the later as_of runs second, whatever the order.
q -c "UPDATE snap SET v = v + 1 WHERE id % 7 = 0"
q -c "BEGIN" -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-03')" -c "SELECT pg_sleep(1)" -c "COMMIT" >"$out_a" 2>&1 &
pid_a=$!
wait_for_lock
q -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-02 12:00')" >"$out_b" 2>&1
rc_b=$?
wait $pid_a
check "$(grep -q 'is earlier than the newest version boundary' "$out_b" && echo yes)" "yes" \
    "a merge that waited and is now behind the target's newest version fails cleanly"
dups=$(q -c "SELECT count(*) FROM (SELECT id FROM hist WHERE valid_to IS NULL GROUP BY id HAVING count(*) > 1) x")
check "$dups" "0" "still no duplicate current rows"

# REPEATABLE READ: a merge whose snapshot predates a concurrent merge still
# sees it (reads use the latest snapshot once the lock is held).
q -c "UPDATE snap SET v = v + 1 WHERE id % 11 = 0" -c "INSERT INTO snap VALUES (5001, 1), (5002, 2)"
q -c "BEGIN" -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-04')" -c "SELECT pg_sleep(1)" -c "COMMIT" >"$out_a" 2>&1 &
pid_a=$!
wait_for_lock
q -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM snap" \
  -c "SELECT * FROM elt_scd2_merge('hist', 'snap', '{id}', '2024-01-04')" -c "COMMIT" >"$out_b" 2>&1
wait $pid_a
check "$(grep -q '^0|0|0|1002$' "$out_b" && echo yes)" "yes" "a REPEATABLE READ merge waiting for a concurrent one sees its versions"
dups=$(q -c "SELECT count(*) FROM (SELECT id FROM hist WHERE valid_to IS NULL GROUP BY id HAVING count(*) > 1) x")
check "$dups" "0" "no duplicate current rows after the REPEATABLE READ race"

# Cancel and statement_timeout: nothing of the merge remains.
q >/dev/null <<'SQL'
CREATE TABLE big (id int, v int, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE big_snap AS SELECT i AS id, i AS v FROM generate_series(1, 300000) i;
SELECT elt_scd2_merge('big', 'big_snap', '{id}', '2024-01-01');
UPDATE big_snap SET v = v + 1;
SQL
before=$(q -c "SELECT count(*), sum(v) FROM big")
err=$(q -c "SET statement_timeout = '30ms'" -c "SELECT * FROM elt_scd2_merge('big', 'big_snap', '{id}', '2024-01-02')" 2>&1)
check "$(grep -q 'canceling statement due to statement timeout' <<<"$err" && echo yes)" "yes" "statement_timeout cancels the merge"
check "$(q -c 'SELECT count(*), sum(v) FROM big')" "$before" "after the timeout the target is as before"

q -c "SELECT * FROM elt_scd2_merge('big', 'big_snap', '{id}', '2024-01-02')" >"$out_b" 2>&1 &
pid_b=$!
for _ in $(seq 1 50); do
    active=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND state = 'active' AND query LIKE 'SELECT * FROM elt_scd2_merge%' LIMIT 1")
    [ -n "$active" ] && break
    sleep 0.02
done
sleep 0.05
[ -n "$active" ] && q -c "SELECT pg_cancel_backend($active)" >/dev/null
wait $pid_b
if grep -q 'canceling statement due to user request' "$out_b"; then
    ok "pg_cancel_backend stops the merge"
    check "$(q -c 'SELECT count(*), sum(v) FROM big')" "$before" "after the cancel the target is as before"
else
    # the merge won the race and finished: then it must be complete
    check "$(grep -q '^0|300000|0|0$' "$out_b" && echo yes)" "yes" "pg_cancel_backend stops the merge (or it had finished)"
    check "$(q -c "SELECT count(*) FROM big WHERE valid_to IS NULL AND valid_from = '2024-01-02'")" "300000" "a finished merge is complete"
fi
rm -f "$out_a" "$out_b"
