#!/usr/bin/env bash
# What a refresh reads (issue 16, part 3): mid-month (every new day in the
# clock's month) fct_mrr_monthly measures again only the users whose
# versions start or end in the new days, fct_saas_metrics_monthly sums
# fct_mrr_monthly's rows of the month, and fct_cohort_retention adds the
# changed users' difference to the rows measured the day before (on the
# 1st: the month before's final rows); the rows are those of a full build
# after one day, several days, a month's last day, the 1st, the 2nd, days
# across a month end and an update out of step (the full paths).
# Needs a running server (PGHOST, PGPORT, PGUSER exported, as scripts/test.sh does).
set -uo pipefail
db=elt_t_refresh3
. "$(dirname "$0")/lib.sh"

dropdb --if-exists "$db" >/dev/null 2>&1
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
createdb "$db" || { notok "createdb"; exit 1; }

q -c "CREATE EXTENSION elt" -c "SET client_min_messages = warning" \
  -c "SELECT count(*) FROM elt_generate(1000, 7, '2025-03-10', start_date => '2024-06-10')" >/dev/null \
    && ok "generate 1000 users, marts built" || notok "generate 1000 users, marts built"

# refresh N: elt_refresh(N); prints the builders that updated from the
# changes (their DEBUG lines), one word each: mrr, saas, cohort
refresh() {
    q -c "SET client_min_messages = debug1" -c "SELECT status FROM elt_refresh($1)" 2>&1 \
        | sed -n 's/.*elt_build_fct_\(mrr\|saas\|cohort\)_[a-z_]*: .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'
}
clock() { q -c "SELECT clock FROM elt.settings"; }

got=$(refresh 1)
check "$got" "cohort mrr saas" "a day after generate (03-11): all three update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"
# a few users only are measured again
got=$(q -c "SET client_min_messages = debug1" -c "BEGIN" -c "SELECT status FROM elt_refresh(1)" -c "ROLLBACK" 2>&1 \
        | sed -n 's/.*fct_mrr_monthly: .* for \([0-9]*\) changed users.*/\1/p')
paying=$(q -c "SELECT count(*) FROM elt_mart.fct_mrr_monthly WHERE month_start = '2025-03-01'")
check "$(q -c "SELECT ${got:-999999} * 3 < $paying")" "t" "fct_mrr_monthly measures again ${got:-no} changed users of the month's $paying"

got=$(refresh 5)
check "$got" "cohort mrr saas" "five days at once (03-12 to 03-16): all three update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"
got=$(refresh 15)
check "$(clock)/$got" "2025-03-31/cohort mrr saas" "to the month's last day: all three update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"

# the 1st: the month before is final; the new month's cohort rows come
# from its rows, fct_mrr_monthly measures the new month (all new rows)
got=$(refresh 1)
check "$(clock)/$got" "2025-04-01/cohort saas" "the 1st: the cohorts and the metrics update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"
got=$(refresh 1)
check "$(clock)/$got" "2025-04-02/cohort mrr saas" "the 2nd: all three update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"

# days across a month end: the full paths
refresh 26 >/dev/null
got=$(refresh 6)
check "$(clock)/$got" "2025-05-04/" "six days across a month end (04-29 to 05-04): the full paths"
check "$(full_writes)" "" "... and a full build writes nothing"

# out of step: an update from 3 days back (the full paths; it rebuilds
# elt.mart_last_active), then a day from what it left
# (the metrics read fct_mrr_monthly's month, which this build measured)
got=$(q -c "SET client_min_messages = debug1" -c "SELECT count(*) FROM elt_update_marts((SELECT clock - 3 FROM elt.settings))" 2>&1 \
        | sed -n 's/.*elt_build_fct_\(mrr\|saas\|cohort\)_[a-z_]*: .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
check "$got" "saas" "an update from 3 days back: fct_mrr_monthly and the cohorts take the full paths"
check "$(full_writes)" "" "... and a full build writes nothing"
got=$(refresh 1)
check "$got" "cohort mrr saas" "the day after: all three update from the changes"
check "$(full_writes)" "" "... and a full build writes nothing"

# the month's cohort rows measured on another day (changed by hand): the
# cohorts take the full path
q -c "UPDATE elt_mart.fct_cohort_retention SET date_key = date_key - 1 WHERE month_start = '2025-05-01'" >/dev/null
got=$(refresh 1)
check "$got" "mrr saas" "the month's cohort rows changed by hand: the cohorts take the full path"
check "$(full_writes)" "" "... and a full build writes nothing"

# rows changed by hand in the current month are not what the update
# starts from: fct_mrr_monthly's marker (the month's metrics row measured
# on the day before) is gone, so it measures everyone again
q -c "UPDATE elt_mart.fct_saas_metrics_monthly SET date_key = date_key - 1 WHERE month_start = '2025-05-01'" >/dev/null
got=$(refresh 1)
check "$got" "cohort saas" "the metrics row of the month changed by hand: fct_mrr_monthly takes the full path"
check "$(full_writes)" "" "... and a full build writes nothing"

echo "# $n checks, $fails failed"
[ "$fails" -eq 0 ]
