#!/usr/bin/env bash
# pg_cron runs the scheduled refresh for real: schedule every minute, wait
# for the job (70 s at most), check pg_cron's run details, the simulated clock
# and the run log; scheduling twice keeps one job; a bad schedule makes none;
# elt_unschedule removes the jobs; jobs left behind by DROP EXTENSION remove
# themselves on their next run.  pg_cron lives in database "postgres" (the
# suite's cron.database_name), so this test uses it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
db=postgres
wait_for() {   # wait_for SECONDS SQL: until SQL returns t
    local end=$((SECONDS + $1))
    while [ $SECONDS -lt $end ]; do
        [ "$(q -c "$2" 2>/dev/null)" = "t" ] && return 0
        sleep 2
    done
    return 1
}

q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "SELECT count(cron.unschedule(jobid)) FROM cron.job" \
  -c "DROP EXTENSION IF EXISTS elt CASCADE" -c "CREATE EXTENSION elt" >/dev/null
q -c "SELECT count(*) FROM elt_generate(300, 11, current_date - 10)" >/dev/null
# the clock before any job exists (a job may run as soon as it is scheduled)
clock0=$(q -c "SELECT clock FROM elt.settings")

check "$(q -c "SELECT elt_schedule('* * * * *', 1) = elt_schedule('* * * * *', 1)")" "t" "scheduling twice returns the same job"
check "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'elt-refresh'")" "1" "and leaves one refresh job"
check "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'elt-purge-job-details'")" "1" "and one housekeeping job"
out=$(q -c "SELECT elt_schedule('61 * * * *', 1)" 2>&1)
check "$(echo "$out" | grep -c 'invalid schedule')" "1" "a bad schedule is refused"
check "$(q -c "SELECT schedule FROM cron.job WHERE jobname = 'elt-refresh'")" "* * * * *" "and changes no job"
check "$(q -c "SELECT count(*) FROM cron.job")" "2" "and adds none"

# (two of pg_cron's minutes: on a busy machine the first one may pass
# without a free background worker)
if wait_for 150 "SELECT EXISTS (SELECT 1 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                                WHERE j.jobname = 'elt-refresh' AND d.status IN ('succeeded', 'failed'))"; then
    check "$(q -c "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'elt-refresh' ORDER BY d.start_time LIMIT 1")" \
        "succeeded" "pg_cron ran the refresh job and it succeeded"
else
    check "no run: $(q -c "SELECT string_agg(d.status || ' ' || coalesce(d.return_message, ''), '; ') FROM cron.job_run_details d")" \
          "a run" "pg_cron ran the refresh job within 150 s"
fi
check "$(q -c "SELECT clock > '$clock0' FROM elt.settings")" "t" "the simulated clock advanced"
check "$(q -c "SELECT count(*) > 0 FROM elt.run_log WHERE kind = 'refresh' AND status = 'ok'")" "t" "the run was logged"
check "$(q -c "SELECT count(*) FROM elt_status() WHERE kind = 'job' AND name = 'elt-refresh' AND status = 'succeeded'")" "1" "elt_status shows the job's last run"

check "$(q -c "SELECT elt_unschedule()")" "2" "elt_unschedule removes two jobs"
check "$(q -c "SELECT count(*) FROM cron.job")" "0" "and no job is left"
check "$(q -c "SELECT elt_unschedule()")" "0" "unscheduling again removes none"

# forgetting elt_unschedule before DROP EXTENSION: the job cleans up after itself
q -c "SELECT elt_schedule('* * * * *', 1)" >/dev/null
q -c "DROP EXTENSION elt CASCADE" >/dev/null
if wait_for 75 "SELECT count(*) = 0 FROM cron.job"; then
    check "gone" "gone" "after DROP EXTENSION the jobs removed themselves on their next run"
else
    check "$(q -c "SELECT string_agg(jobname, ',') FROM cron.job")" "" "after DROP EXTENSION the jobs removed themselves on their next run"
fi
# pg_cron stays installed (see t_adv_cron.sh)
