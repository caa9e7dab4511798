#!/usr/bin/env bash
# elt_refresh under adversarial conditions (issue 18):
# - a 3,000-day catch-up on default settings (max_locks_per_transaction =
#   64) succeeds with a bounded number of locks (it ran out of shared
#   memory when every day created and dropped temporary tables);
# - a failed run keeps PostgreSQL's hint in elt.run_log;
# - incidental lockers of elt.settings (SELECT ... FOR SHARE) are waited
#   for, not taken for a running refresh; a real concurrent refresh makes
#   the second one skip, logged as 'skipped' (as does a locker holding
#   on for more than 5 s);
# - a REPEATABLE READ refresh whose snapshot predates another refresh gets
#   40001, not a duplicate day;
# - elt_status says "not generated yet" before elt_generate.
# Runs against the suite's server (PGHOST/PGPORT/PGUSER, a superuser).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_adv_refresh
qv() { psql -qAtX -d "$db" -v VERBOSITY=verbose "$@"; }

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" >/dev/null

# elt_status before elt_generate
check "$(q -c "SELECT status FROM elt_status() WHERE kind = 'clock'")" "not generated yet" \
    "elt_status before elt_generate says not generated yet"

# --- a 3,000-day catch-up -------------------------------------------------
check "$(q -c "SHOW max_locks_per_transaction")" "64" "the server runs with the default max_locks_per_transaction"
q -c "SELECT count(*) FROM elt_generate(20, 5, '2015-01-01', build_marts => false)" >/dev/null
t0=$(now)
# (progress NOTICEs go to stderr, kept apart from the result)
q -c "SELECT days_applied || ' ' || status FROM elt_refresh(3000)" >/tmp/$db.catchup 2>/tmp/$db.catchup.err &
bg=$!
maxlocks=0; pid=""; anon0=""; anon1=""
while kill -0 $bg 2>/dev/null; do
    [ -z "$pid" ] && pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%elt_refresh(3000)%' AND pid <> pg_backend_pid()")
    if [ -n "$pid" ]; then
        l=$(q -c "SELECT count(*) FROM pg_locks WHERE pid = $pid")
        [ "${l:-0}" -gt "$maxlocks" ] && maxlocks=$l
        a=$(awk '/RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null)
        if [ -n "$a" ]; then [ -z "$anon0" ] && anon0=$a; anon1=$a; fi
    fi
    sleep 1
done
wait $bg
t1=$(now)
check "$(tail -n1 /tmp/$db.catchup)" "3000 ok" "a 3,000-day catch-up succeeds on default settings"
check "$(q -c "SELECT clock FROM elt.settings")" "2023-03-20" "and moves the clock 3,000 days"
check "$(q -c "SELECT count(*) FROM elt.run_log WHERE kind = 'refresh' AND status <> 'ok'")" "0" "and logs no failed run"
check "$([ "$maxlocks" -gt 0 ] && [ "$maxlocks" -lt 400 ] && echo bounded)" "bounded" "the backend held few locks throughout (at most $maxlocks seen)"
echo "# 3000-day catch-up of 20 users: $(awk -v a=$t0 -v b=$t1 "BEGIN {printf \"%.1f\", b - a}") s, at most $maxlocks locks, anonymous memory ${anon0:-?} kB -> ${anon1:-?} kB while it ran"
rm -f /tmp/$db.catchup /tmp/$db.catchup.err

# --- a failure keeps PostgreSQL's hint and detail ---------------------------
q <<'SQL' >/dev/null
CREATE FUNCTION public.adv_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'adv: refused' USING DETAIL = 'adv detail', HINT = 'adv hint: do something';
END $$;
CREATE TRIGGER adv_fail BEFORE INSERT ON elt_raw.usage FOR EACH ROW EXECUTE FUNCTION public.adv_fail();
SQL
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
check "$(echo "$out" | tail -n1)" "failed" "a refresh failing in a trigger returns failed"
check "$(q -c "SELECT error FROM elt.run_log ORDER BY run_id DESC LIMIT 1")" \
    "P0001: adv: refused
DETAIL: adv detail
HINT: adv hint: do something" "run_log keeps the SQLSTATE, message, detail and hint"
q -c "DROP TRIGGER adv_fail ON elt_raw.usage" -c "DROP FUNCTION public.adv_fail()" >/dev/null

# --- an incidental locker is waited for ------------------------------------
clock=$(q -c "SELECT clock FROM elt.settings")
q -c "BEGIN" -c "SELECT 1 FROM elt.settings FOR SHARE" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null 2>&1 &
bg=$!
sleep 0.7
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
wait $bg
check "$(echo "$out" | tail -n1)" "ok" "a refresh waits for a SELECT ... FOR SHARE on elt.settings and runs"
check "$(q -c "SELECT clock - '$clock'::date FROM elt.settings")" "1" "and applies its day"

# --- ... but not forever: skipped and logged after 5 s ----------------------
q -c "BEGIN" -c "SELECT 1 FROM elt.settings FOR SHARE" -c "SELECT pg_sleep(7)" -c "COMMIT" >/dev/null 2>&1 &
bg=$!
sleep 0.7
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
wait $bg
check "$(echo "$out" | tail -n1)" "skipped" "a refresh behind a FOR SHARE held for 7 s gives up after 5 s: skipped"
check "$(q -c "SELECT status || ': ' || error FROM elt.run_log ORDER BY run_id DESC LIMIT 1")" \
    "skipped: elt.settings stayed locked by another session for 5 s" "and is logged as skipped, saying why"
q -c "DELETE FROM elt.run_log WHERE status = 'skipped'" >/dev/null

# --- a real concurrent refresh: skipped, and logged --------------------------
q -c "BEGIN" -c "SELECT status FROM elt_refresh(1)" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
bg=$!
sleep 1.5
out=$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)
wait $bg
check "$(echo "$out" | grep -c 'another elt_generate or elt_refresh is running')" "1" "a refresh during another one says so"
check "$(echo "$out" | tail -n1)" "skipped" "and returns a skipped row"
check "$(q -c "SELECT string_agg(status || ': ' || error, ',') FROM elt.run_log WHERE status = 'skipped'")" \
    "skipped: another elt_generate or elt_refresh is running" "and is logged as skipped"
check "$(q -c "SELECT clock - '$clock'::date FROM elt.settings")" "2" "one day applied, not two"

# --- REPEATABLE READ with a stale snapshot: 40001 ------------------------------
before=$(q -c "SELECT count(*) FROM elt.run_log")
qv -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT clock FROM elt.settings" -c "SELECT pg_sleep(2.5)" \
   -c "SELECT status FROM elt_refresh(1)" -c "COMMIT" >/tmp/$db.rr 2>&1 &
bg=$!
sleep 0.8
q -c "SELECT status FROM elt_refresh(1)" >/dev/null 2>&1
wait $bg
check "$(grep -c 'ERROR:  40001' /tmp/$db.rr)" "1" "a REPEATABLE READ refresh with a stale clock fails with 40001"
check "$(grep -c 'HINT:  Retry the transaction' /tmp/$db.rr)" "1" "with a hint"
check "$(q -c "SELECT clock - '$clock'::date FROM elt.settings")" "3" "and applies nothing (only the other refresh's day)"
check "$(q -c "SELECT count(*) - $before FROM elt.run_log")" "1" "only the other refresh is logged"
check "$(q -c "SELECT count(*) FROM (SELECT user_id FROM elt_raw.users WHERE valid_to IS NULL GROUP BY 1 HAVING count(*) > 1) d")" \
    "0" "no duplicate current users"
rm -f /tmp/$db.rr

dropdb $db
exit $((fails > 0))
