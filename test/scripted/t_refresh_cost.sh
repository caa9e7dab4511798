#!/usr/bin/env bash
# What a refresh writes (issue 16): a day rewrites only the marts' rows it
# changed, and the shortcuts that make it cheap (the current month's MRR
# rows kept, KPIs and cohorts from elt.mart_last_active, earlier months
# from fct_mrr_monthly) give the rows of a full build: after refreshes of
# one day, of several days at once, across month ends, and after the
# builders' state fell out of step, elt__build(NULL) (the full build)
# writes no row.
# Needs a running server (PGHOST, PGPORT, PGUSER exported, as scripts/test.sh does).
set -uo pipefail
db=elt_t_refresh_cost
. "$(dirname "$0")/lib.sh"

dropdb --if-exists "$db" >/dev/null 2>&1
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
createdb "$db" || { notok "createdb"; exit 1; }

q -c "CREATE EXTENSION elt" -c "SET client_min_messages = warning" \
  -c "SELECT count(*) FROM elt_generate(400, 7, '2025-03-13', start_date => '2024-06-10')" >/dev/null \
    && ok "generate 400 users, marts built" || notok "generate 400 users, marts built"

# --- a mid-month day: the current month's MRR rows that did not change keep their tuples
q -c "CREATE TABLE public.before AS SELECT month_start, user_id, xmin::text::bigint AS x
      FROM elt_mart.fct_mrr_monthly WHERE month_start = '2025-03-01'" >/dev/null
q -c "SELECT status FROM elt_refresh(1)" >/dev/null
month_rows=$(q -c "SELECT count(*) FROM public.before")
kept=$(q -c "SELECT count(*) FROM public.before b JOIN elt_mart.fct_mrr_monthly f USING (month_start, user_id)
             WHERE f.xmin::text::bigint = b.x")
got=$(q -c "SELECT $kept * 10 >= $month_rows * 9")
check "$got" "t" "a mid-month day leaves at least 9 in 10 of the month's MRR rows untouched ($kept of $month_rows)"
got=$(q -c "SELECT count(DISTINCT date_key) FROM elt_mart.fct_mrr_monthly WHERE month_start = '2025-03-01'")
check "$got" "1" "the current month's MRR rows have one date_key"
got=$(q -c "SELECT d.date FROM elt_mart.fct_mrr_monthly f JOIN elt_mart.dim_date d USING (date_key)
            WHERE f.month_start = '2025-03-01' LIMIT 1")
check "$got" "2025-03-01" "... the month's first day"
got=$(q -c "SELECT last_active FROM elt.mart_last_active WHERE user_id = -1")
check "$got" "2025-03-14" "elt.mart_last_active is through the clock"
check "$(full_writes)" "" "after a day: a full build writes nothing"

# --- several days at once, across a month end
q -c "SELECT status FROM elt_refresh(20)" >/dev/null
check "$(q -c "SELECT clock FROM elt.settings")" "2025-04-03" "20 days at once reach 2025-04-03"
check "$(full_writes)" "" "after 20 days across a month end: a full build writes nothing"

# --- day by day across the next month end (the month before is final on the 1st)
q -c "SELECT status FROM elt_refresh(27)" >/dev/null
for i in 1 2 3; do q -c "SELECT status FROM elt_refresh(1)" >/dev/null; done
check "$(q -c "SELECT clock FROM elt.settings")" "2025-05-03" "day by day to 2025-05-03"
check "$(full_writes)" "" "after days across a month end one by one: a full build writes nothing"

# --- the KPI builder's state out of step: rebuilt, same rows
q -c "UPDATE elt.mart_last_active SET last_active = last_active - 1 WHERE user_id = -1" >/dev/null
q -c "SELECT status FROM elt_refresh(1)" >/dev/null
check "$(q -c "SELECT last_active FROM elt.mart_last_active WHERE user_id = -1")" "2025-05-04" "out-of-step state rebuilt through the clock"
check "$(full_writes)" "" "after a day with the state out of step: a full build writes nothing"
q -c "DELETE FROM elt_mart.fct_kpi_daily WHERE date = '2025-05-04'" >/dev/null
q -c "SELECT count(*) FROM elt_update_marts('2025-05-04')" >/dev/null
check "$(full_writes)" "" "a trailing KPI day deleted by hand (the state is then past it) is rebuilt as a full build gives it"

# --- the state itself
got=$(q -c "SELECT count(*) FROM elt.mart_last_active WHERE user_id <> -1")
want=$(q -c "SELECT count(DISTINCT user_id) FROM elt_raw.usage")
check "$got" "$want" "elt.mart_last_active has a row per user with usage"
got=$(q -c "SELECT count(*) FROM elt.mart_last_active a
            JOIN (SELECT user_id, max(usage_date) AS m FROM elt_raw.usage GROUP BY user_id) u USING (user_id)
            WHERE a.last_active <> u.m")
check "$got" "0" "... holding each user's last usage day"

echo "# $n checks, $fails failed"
[ "$fails" -eq 0 ]
