#!/usr/bin/env bash
# The pg_cron integration under adversarial conditions (issue 18), with real
# pg_cron jobs (they run from database "postgres", the suite's
# cron.database_name, so this test uses it):
# - elt_schedule refuses @reboot, six fields, trailing junk and a days that
#   would pass 2999-12-31 (22023, nothing scheduled);
# - elt_status works for roles that may not read pg_cron's setting or schema
#   (their jobs shown as hidden), for elt_grant_reader's roles and for roles
#   with no privilege at all; elt_schedule / elt_unschedule give 42501 with
#   a hint; before elt_generate it says "not generated yet";
# - DROP EXTENSION elt, and DROP SCHEMA ... CASCADE of its schema, remove
#   elt's jobs at once;
# - a job left behind anyway (drop guard disabled) never calls a function
#   planted in elt's schema under elt_refresh's name: it removes itself on
#   its next run (the one wait of this test, 75 s at most).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=postgres
qv() { psql -qAtX -d "$db" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$@"; }
state() { qv "$@" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n1; }
jobs() { q -c "SELECT count(*) FROM cron.job WHERE jobname IN ('elt-refresh', 'elt-purge-job-details')"; }
roles="adv_cron_w, adv_cron_r, adv_cron_n, adv_cron_p"
cleanup_roles() {
    q -c "DO \$\$ DECLARE r text; BEGIN
            FOREACH r IN ARRAY ARRAY['adv_cron_w', 'adv_cron_r', 'adv_cron_n', 'adv_cron_p'] LOOP
                IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
                    EXECUTE format('DROP OWNED BY %I', r); EXECUTE format('DROP ROLE %I', r);
                END IF;
            END LOOP; END \$\$" >/dev/null
}

q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "DROP EXTENSION IF EXISTS elt CASCADE" >/dev/null 2>&1
q -c "DELETE FROM cron.job WHERE jobname IN ('elt-refresh', 'elt-purge-job-details')" >/dev/null
q -c "DROP TABLE IF EXISTS public.adv_planted" >/dev/null 2>&1
cleanup_roles
q -c "CREATE EXTENSION elt" >/dev/null

check "$(q -c "SELECT status FROM elt_status() WHERE kind = 'clock'")" "not generated yet" \
    "elt_status before elt_generate says not generated yet"
q -c "SELECT count(*) FROM elt_generate(50, 3, current_date - 5, build_marts => false)" >/dev/null

# --- schedules and days that pg_cron would take but that cannot work -------
for bad in '@reboot' '* * * * * *' '* * * * *x' '* * * * * junk' '0 * * *' '' "0 0 * * 1; DROP TABLE elt.settings"; do
    check "$(state -c "SELECT elt_schedule('$(echo "$bad" | sed "s/'/''/g")', 1)")" "22023" "elt_schedule('$bad') is refused with 22023"
done
check "$(state -c "SELECT elt_schedule('* * * * *', 2147483647)")" "22023" "elt_schedule with days = 2147483647 is refused with 22023"
check "$(qv -c "SELECT elt_schedule('* * * * *', 2147483647)" 2>&1 | grep -c '^HINT:  The clock is at')" "1" "with a hint giving the largest days"
check "$(jobs)" "0" "and nothing was scheduled"
check "$([ -n "$(q -c "SELECT elt_schedule('@hourly', 1)")" ] && jobs)" "2" "an alias such as @hourly is taken"
q -c "SELECT elt_unschedule()" >/dev/null

# --- roles that are not superusers -------------------------------------------
q -c "CREATE ROLE adv_cron_w LOGIN" -c "CREATE ROLE adv_cron_r LOGIN" -c "CREATE ROLE adv_cron_n LOGIN" \
  -c "SELECT elt_grant_writer('adv_cron_w')" -c "SELECT elt_grant_reader('adv_cron_r')" >/dev/null
q -c "SELECT elt_schedule('* * * * *', 1)" >/dev/null    # a job the others may not see
check "$(psql -qAtX -d $db -U adv_cron_w -c "SELECT count(*) FROM elt_status() WHERE kind = 'clock' AND status IS NULL" 2>&1)" "1" \
    "elt_status works for a writer that may not read pg_cron's setting"
check "$(psql -qAtX -d $db -U adv_cron_w -c "SELECT status FROM elt_status() WHERE kind = 'job'" 2>&1)" "unknown" \
    "and shows the jobs as unknown (hidden)"
check "$(state -U adv_cron_w -c "SELECT elt_schedule('* * * * *', 1)")" "42501" "elt_schedule by that role: 42501"
check "$(qv -U adv_cron_w -c "SELECT elt_schedule('* * * * *', 1)" 2>&1 | grep -c '^HINT:  .*GRANT pg_read_all_settings TO adv_cron_w')" "1" "with a hint naming the grant"
check "$(state -U adv_cron_w -c "SELECT elt_unschedule()")" "42501" "elt_unschedule by that role: 42501"
q -c "GRANT pg_read_all_settings TO adv_cron_w" >/dev/null
check "$(state -U adv_cron_w -c "SELECT elt_schedule('* * * * *', 1)")" "42501" "with pg_read_all_settings but no USAGE on schema cron: 42501"
check "$(qv -U adv_cron_w -c "SELECT elt_schedule('* * * * *', 1)" 2>&1 | grep -c '^HINT:  .*GRANT USAGE ON SCHEMA cron TO adv_cron_w')" "1" "with a hint naming the grant"
check "$(psql -qAtX -d $db -U adv_cron_w -c "SELECT count(*) FROM elt_status() WHERE kind = 'job' AND status = 'unknown'" 2>&1)" "1" \
    "elt_status still works for it"
check "$(psql -qAtX -d $db -U adv_cron_r -c "SELECT count(*) FROM elt_status() WHERE kind = 'clock' AND detail LIKE '%population: 50 users%'" 2>&1)" "1" \
    "elt_status works for a role given elt_grant_reader"
check "$(psql -qAtX -d $db -U adv_cron_n -c "SELECT status FROM elt_status() WHERE kind = 'clock'" 2>&1)" "hidden" \
    "and, showing the clock as hidden, for a role with no privilege at all"
check "$(jobs)" "2" "the superuser's jobs are still there"
check "$(q -c "SELECT detail LIKE 'elt_refresh(1) on schedule * * * * *, active, job %' FROM elt_status() WHERE name = 'elt-refresh'")" "t" \
    "elt_status shows the job's call readably"

# --- DROP EXTENSION removes the jobs ------------------------------------------
q -c "DROP EXTENSION elt" >/dev/null
check "$(jobs)" "0" "DROP EXTENSION elt removes elt's jobs at once"

# --- so does DROP SCHEMA ... CASCADE of the schema elt is installed in --------
q -c "CREATE SCHEMA adv_cron_s" -c "CREATE EXTENSION elt SCHEMA adv_cron_s" \
  -c "SELECT count(*) FROM adv_cron_s.elt_generate(50, 3, current_date - 5, build_marts => false)" \
  -c "SELECT adv_cron_s.elt_schedule('* * * * *', 1)" >/dev/null
check "$(jobs)" "2" "elt installed in its own schema schedules its jobs"
q -c "DROP SCHEMA adv_cron_s CASCADE" >/dev/null 2>&1
check "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'elt'"):$(jobs)" "0:0" "DROP SCHEMA ... CASCADE drops elt and removes its jobs at once"

# --- a job left behind never calls a planted function --------------------------
q -c "CREATE EXTENSION elt" -c "SELECT count(*) FROM elt_generate(50, 3, current_date - 5, build_marts => false)" \
  -c "SELECT elt_schedule('* * * * *', 1)" >/dev/null
q -c "DO \$\$ BEGIN IF EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'elt_drop_guard') THEN
                     ALTER EVENT TRIGGER elt_drop_guard DISABLE; END IF; END \$\$" -c "DROP EXTENSION elt" >/dev/null
check "$(jobs)" "2" "with the drop guard disabled, DROP EXTENSION leaves the jobs behind"
q -c "CREATE ROLE adv_cron_p LOGIN" -c "GRANT CREATE ON SCHEMA public TO adv_cron_p" >/dev/null
psql -qAtX -d $db -U adv_cron_p -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE TABLE public.adv_planted (who text, at timestamptz DEFAULT now());
GRANT INSERT ON public.adv_planted TO PUBLIC;
CREATE FUNCTION public.elt_refresh(days integer) RETURNS void LANGUAGE sql
AS $$ INSERT INTO public.adv_planted (who) VALUES (current_user) $$;
GRANT EXECUTE ON FUNCTION public.elt_refresh(integer) TO PUBLIC;
SQL
ids=$(q -c "SELECT string_agg(jobid::text, ',') FROM cron.job WHERE jobname IN ('elt-refresh', 'elt-purge-job-details')")
end=$((SECONDS + 75))
while [ $SECONDS -lt $end ] && [ "$(jobs)" != "0" ]; do sleep 2; done
sleep 1
check "$(q -c "SELECT count(*) FROM cron.job_run_details WHERE jobid IN ($ids) AND status = 'succeeded'")" "1" "the left-behind refresh job ran"
check "$(q -c "SELECT count(*) FROM public.adv_planted")" "0" "and did not call the planted public.elt_refresh(integer)"
check "$(jobs)" "0" "and removed elt's jobs"

q -c "DROP TABLE IF EXISTS public.adv_planted" -c "DROP FUNCTION IF EXISTS public.elt_refresh(integer)" >/dev/null
q -c "REVOKE CREATE ON SCHEMA public FROM adv_cron_p" >/dev/null
cleanup_roles
# pg_cron stays installed, without jobs: dropped and created again by the
# next test, its launcher sometimes ran none of that test's jobs
q -c "SELECT count(cron.unschedule(jobid)) FROM cron.job" >/dev/null
exit $((fails > 0))
