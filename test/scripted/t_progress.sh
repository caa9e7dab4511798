#!/usr/bin/env bash
# Progress of long work: with elt.progress_seconds = 0 every step reports a
# NOTICE (each refreshed day, generated and merged; each mart table
# built), with done / total, rate and time left; with the default
# (5 s) a short call stays quiet.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
db=elt_t_progress
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION elt" \
  -c "SELECT count(*) FROM elt_generate(200, 4, '2025-03-01')" >/dev/null

out=$(q -c "SET elt.progress_seconds = 0" -c "SELECT status FROM elt_refresh(4)" 2>&1)
check "$(grep -c 'NOTICE:  elt_refresh (days generated and merged through' <<<"$out")" "4" \
      "elt_refresh(4) with elt.progress_seconds = 0: a NOTICE per day generated and merged"
nt=$(q -c "SELECT count(*) FROM elt.elt__mart_tables()")
check "$(grep -c "NOTICE:  elt_update_marts (elt_mart\.[a-z_]* built): [0-9]* of $nt tables done" <<<"$out")" "$nt" \
      "and one per mart table updated, with done of total"
check "$(grep -c 'of 4 days done ([0-9.]*/s), about [0-9]* s left' <<<"$out")" "3" \
      "unfinished steps give the rate and the time left"
out=$(q -c "SET elt.progress_seconds = 0" -c "SELECT count(*) FROM elt_build_marts()" 2>&1)
check "$(grep -c 'NOTICE:  elt_build_marts (elt_mart\.[a-z_]* built)' <<<"$out")" "$nt" "elt_build_marts: a NOTICE per table"
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
check "$(grep -c 'NOTICE' <<<"$out")" "0" "with the default interval a short refresh prints no progress"
check "$(q -c "SELECT elt.elt__model_version()" -c "SHOW elt.progress_seconds" | tail -1)" "5s" "the default interval is 5 seconds"
out=$(q -c "SELECT elt.elt__model_version()" -c "SET elt.progress_secs = 1" 2>&1)
check "$(grep -c 'invalid configuration parameter name' <<<"$out")" "1" "a mistyped elt.* setting is an error, not a silent placeholder"

# other sessions see the progress in pg_stat_activity.application_name
seen() {  # seen PATTERN SQL...: runs SQL in the background, polls another session for PATTERN
    local pat=$1 got=no
    shift
    PGAPPNAME=elt_t_progress_bg q -c "SET elt.progress_seconds = 0" "$@" >/dev/null 2>&1 &
    local bg=$!
    while kill -0 $bg 2>/dev/null; do
        if [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name LIKE '$pat'")" != 0 ]; then
            got=yes
        fi
        sleep 0.05
    done
    wait $bg
    echo $got
}
check "$(seen 'elt %/% %: elt_%' -c "SELECT count(*) FROM elt_refresh(20)")" "yes" \
      "another session sees a refresh's progress (days or mart tables done) in pg_stat_activity.application_name"
check "$(seen 'elt %/% users: elt_generate%' -c "SELECT count(*) FROM elt_generate(3000, 4, '2025-03-01', build_marts => false)")" "yes" \
      "... and elt_generate's users done"
check "$(q -c "SET elt.progress_seconds = 0" -c "SELECT count(*) FROM elt_refresh(1)" -c "SHOW application_name" 2>/dev/null | tail -1)" \
      "$(q -c "SHOW application_name")" "the session's own application_name comes back when the transaction ends"

dropdb --if-exists $db >/dev/null 2>&1
