#!/usr/bin/env bash
# Two refreshes at once never apply a day twice: while one holds the lock,
# another returns at once with a NOTICE and a 'skipped' row, changes
# nothing and is logged as skipped.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
db=elt_t_refresh
. "$(dirname "$0")/lib.sh"

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" -c "SELECT count(*) FROM elt_generate(300, 1, '2025-03-01', build_marts => false)" >/dev/null

# session A refreshes one day and keeps its transaction open for 3 s
q -c "BEGIN" -c "SELECT days_applied FROM elt_refresh(1)" -c "SELECT pg_sleep(3)" -c "COMMIT" >/tmp/$db.a 2>&1 &
a=$!
sleep 1
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
check "$(echo "$out" | grep -c 'another elt_generate or elt_refresh is running')" "1" "a concurrent refresh says it did nothing"
check "$(echo "$out" | tail -n1)" "skipped" "and returns a skipped row"
wait $a
check "$(q -c "SELECT clock FROM elt.settings")" "2025-03-02" "the clock moved exactly one day"
check "$(q -c "SELECT string_agg(status, ',' ORDER BY status) FROM elt.run_log WHERE kind = 'refresh'")" "ok,skipped" "one refresh logged as ok, one as skipped"
check "$(q -c "SELECT count(*) FROM (SELECT user_id FROM elt_raw.users WHERE valid_to IS NULL GROUP BY 1 HAVING count(*) > 1) d")" "0" "no duplicate current users"
check "$(q -c "SELECT count(*) - count(DISTINCT usage_id) FROM elt_raw.usage")" "0" "no day's usage landed twice"
# after A committed, a new refresh proceeds
check "$(q -c "SELECT clock_after FROM elt_refresh(1)")" "2025-03-03" "the next refresh proceeds"
dropdb $db
