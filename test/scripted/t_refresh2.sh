#!/usr/bin/env bash
# What a refresh reads (issue 16, part 2): fct_usage_period folds the new
# days' facts into its stored rows instead of reading a month of facts back,
# and "users changed since" finds cancellations through an index; the rows
# are those of a full build after one day, many days across quota period
# ends, and when the stored rows are not in step (the full path).
# Needs a running server (PGHOST, PGPORT, PGUSER exported, as scripts/test.sh does).
set -uo pipefail
db=elt_t_refresh2
. "$(dirname "$0")/lib.sh"

dropdb --if-exists "$db" >/dev/null 2>&1
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
createdb "$db" || { notok "createdb"; exit 1; }

q -c "CREATE EXTENSION elt" -c "SET client_min_messages = warning" \
  -c "SELECT count(*) FROM elt_generate(400, 11, '2025-03-13', start_date => '2024-06-10')" >/dev/null \
    && ok "generate 400 users, marts built" || notok "generate 400 users, marts built"

q -c "SELECT status FROM elt_refresh(1)" >/dev/null
check "$(full_writes)" "" "after a day: a full build writes nothing"

# the period builder in step: facts from the day after the clock on (none)
# are all it reads of fct_usage_daily, not the month before
month=$(q -c "SELECT count(*) FROM elt_mart.fct_usage_daily WHERE usage_date >= (SELECT clock - 31 FROM elt.settings)")
got=$(q -c "BEGIN" -c "SELECT elt_build_fct_usage_period((SELECT clock + 1 FROM elt.settings))" \
        -c "SELECT COALESCE(s.seq_tup_read, 0) + COALESCE(s.idx_tup_fetch, 0) FROM pg_stat_xact_user_tables s
            WHERE s.relid = 'elt_mart.fct_usage_daily'::regclass" -c "ROLLBACK" | tr '\n' ' ')
written=${got%% *}; read_rows=$(echo "$got" | awk '{print $2}')
check "$written" "0" "period builder with nothing new writes nothing"
check "$(q -c "SELECT ${read_rows:-999999} * 20 < $month")" "t" \
      "period builder in step reads few facts ($read_rows of the last month's $month)"

# many days at once, across quota period ends (periods become complete)
q -c "SELECT status FROM elt_refresh(20)" >/dev/null
check "$(full_writes)" "" "after 20 days at once: a full build writes nothing"
got=$(q -c "SELECT count(*) FROM elt_mart.fct_usage_period WHERE is_complete
            AND period_end > '2025-03-14' AND period_end <= (SELECT clock + 1 FROM elt.settings)")
check "$(q -c "SELECT $got > 0")" "t" "periods that ended in those days are complete ($got)"
for i in 1 2 3 4 5; do q -c "SELECT status FROM elt_refresh(1)" >/dev/null; done
check "$(full_writes)" "" "after five single days: a full build writes nothing"

# not in step (an update from a day the periods already hold): the full path
q -c "SELECT count(*) FROM elt_update_marts((SELECT clock - 3 FROM elt.settings))" >/dev/null
check "$(full_writes)" "" "after an update from 3 days back: a full build writes nothing"
q -c "DELETE FROM elt_mart.fct_usage_period WHERE last_usage_date = (SELECT max(last_usage_date) FROM elt_mart.fct_usage_period)" >/dev/null
q -c "SELECT status FROM elt_refresh(1)" >/dev/null
check "$(full_writes)" "" "after the last day's periods were deleted by hand and a day: a full build writes nothing"

# On the 1st, fct_mrr_monthly does not measure the month before again when
# it was measured on its last day: a mark left in one of its rows (the kind
# of a churn, which nothing else reads) stays; the rest is as a full build.
q -c "SELECT status FROM elt_refresh((SELECT ('2025-04-30'::date - clock)::integer FROM elt.settings))" >/dev/null
check "$(full_writes)" "" "on the month's last day: a full build writes nothing"
mark=$(q -c "UPDATE elt_mart.fct_mrr_monthly SET churn_type = CASE churn_type WHEN 'voluntary' THEN 'involuntary' ELSE 'voluntary' END
             WHERE (month_start, user_id) = (SELECT month_start, user_id FROM elt_mart.fct_mrr_monthly
                                             WHERE month_start = '2025-04-01' AND movement = 'churn' ORDER BY user_id LIMIT 1)
             RETURNING user_id")
q -c "SELECT status FROM elt_refresh(1)" >/dev/null
check "$(full_writes)" "elt_mart.fct_mrr_monthly=1" "on the 1st: the month before is not measured again (user ${mark:-none}'s mark stays), the rest is a full build's"
q -c "SELECT count(*) FROM elt_build_marts()" >/dev/null

# "users changed since": the cancellations are found through an index, not
# a scan of every version
plan=$(q -c "SET enable_seqscan = off" -c "EXPLAIN SELECT DISTINCT s.user_id FROM elt_raw.subscriptions s
        WHERE s.valid_from >= '2025-03-20' OR s.valid_to >= '2025-03-20'
           OR (s.status = 'cancelled' AND s.end_date >= '2025-03-20')")
# (without the index, the cancellations term can only be a filter on a scan
# of every version: a full index or sequential scan, never a BitmapOr)
check "$(echo "$plan" | grep -c 'BitmapOr')" "1" "users changed since: index conditions combined, no scan of every subscription version"
check "$(echo "$plan" | grep -c 'subscriptions_cancelled_idx')" "1" "... the cancellations through subscriptions_cancelled_idx"

echo "# $n checks, $fails failed"
[ "$fails" -eq 0 ]
