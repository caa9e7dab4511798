#!/usr/bin/env bash
# Scripted tests of elt_mart that need several sessions: a BI reader logs in
# with its own role; readers are not blocked by a build and see the old rows
# until it commits; the marts survive pg_dump / pg_restore.
# Needs a running server (PGHOST, PGPORT, PGUSER exported, as scripts/test.sh does).
set -uo pipefail
db=elt_t_marts
db2=elt_t_marts_restored
reader=elt_t_marts_reader
. "$(dirname "$0")/lib.sh"

drop_all() {
    dropdb --if-exists "$db" >/dev/null 2>&1
    dropdb --if-exists "$db2" >/dev/null 2>&1
    psql -X -q -c "DROP ROLE IF EXISTS $reader" postgres >/dev/null 2>&1
}
drop_all
work=$(mktemp -d /tmp/elt-t-marts.XXXXXX)
cleanup() {
    [ -n "${bg:-}" ] && kill "$bg" 2>/dev/null
    drop_all
    rm -rf "$work"
}
trap cleanup EXIT
createdb "$db" || { notok "createdb"; exit 1; }

q -d "$db" -c "CREATE EXTENSION elt" \
  -c "SELECT count(*) FROM elt_generate(300, 42, '2025-03-14', start_date => '2024-06-01', build_marts => false)" \
  -c "SELECT count(*) FROM elt_build_marts()" >/dev/null \
    && ok "generate and build the marts" || notok "generate and build the marts"

# --- a BI reader with its own login
q -d "$db" -c "CREATE ROLE $reader LOGIN" -c "SELECT elt_grant_reader('$reader')" >/dev/null \
    && ok "elt_grant_reader on a login role" || notok "elt_grant_reader on a login role"
got=$(q -U "$reader" -d "$db" -c "SELECT count(*) > 0 FROM elt_mart.fct_kpi_daily k JOIN elt_mart.dim_date d USING (date_key)" 2>&1)
check "$got" "t" "reader logs in and reads the marts"
got=$(psql -X -t -A -U "$reader" -d "$db" -c "DELETE FROM elt_mart.fct_usage_daily" 2>&1)
case "$got" in *"permission denied"*) ok "reader cannot write the marts";; *) notok "reader cannot write the marts ($got)";; esac
got=$(psql -X -t -A -U "$reader" -d "$db" -c "SELECT count(*) FROM elt_raw.usage" 2>&1)
case "$got" in *"permission denied for schema elt_raw"*) ok "reader cannot read elt_raw";; *) notok "reader cannot read elt_raw ($got)";; esac
# elt_grant_reader gives what elt_status reads (the clock and the run log), no writes
got=$(psql -X -t -A -U "$reader" -d "$db" -c "UPDATE elt.settings SET clock = clock" 2>&1)
case "$got" in *"permission denied for table settings"*) ok "reader cannot write elt";; *) notok "reader cannot write elt ($got)";; esac
got=$(psql -X -t -A -U "$reader" -d "$db" -c "CREATE TABLE elt_mart.x (i int)" 2>&1)
case "$got" in *"permission denied"*) ok "reader cannot create tables in elt_mart";; *) notok "reader cannot create in elt_mart ($got)";; esac

# --- a build in progress neither blocks readers nor shows them half-built tables
old=$(q -d "$db" -c "SELECT count(*) FROM elt_mart.fct_usage_daily")
q -d "$db" -c "SELECT count(*) FROM elt_generate(300, 42, '2025-04-14', start_date => '2024-06-01', build_marts => false)" >/dev/null
psql -X -q -d "$db" >"$work/build.log" 2>&1 <<'SQL' &
BEGIN;
SELECT count(*) FROM elt_build_marts();
SELECT pg_sleep(6);
COMMIT;
SQL
bg=$!
# wait until the build is done but not committed (its session sleeps)
for _ in $(seq 1 300); do
    sleeping=$(q -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'")
    [ "$sleeping" = "1" ] && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
done
[ "$sleeping" = "1" ] && ok "a build runs and waits before its commit" || notok "the build did not start: $(cat "$work/build.log")"
start=$(date +%s%N)
got=$(q -U "$reader" -d "$db" -c "SET lock_timeout = '500ms'" -c "SELECT count(*) FROM elt_mart.fct_usage_daily" 2>&1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "$got" "$old" "during a build, a reader sees the old rows"
[ "$ms" -lt 2000 ] && ok "and is not blocked (${ms} ms)" || notok "reader was blocked (${ms} ms)"
wait "$bg"; bg=""
new=$(q -d "$db" -c "SELECT count(*) FROM elt_mart.fct_usage_daily")
raw=$(q -d "$db" -c "SELECT count(*) FROM elt_raw.usage")
check "$new" "$raw" "after the commit, the new rows"

# --- pg_dump / pg_restore keep the marts
q -d "$db" -c "SELECT count(*) FROM elt_update_marts('2025-04-15')" >/dev/null
sum_sql="SELECT string_agg(t || '=' || n, ' ' ORDER BY t) FROM (
  SELECT 'dim_user' t, md5(string_agg(x::text, '|' ORDER BY user_key)) n FROM elt_mart.dim_user x
  UNION ALL SELECT 'dim_subscription', md5(string_agg(x::text, '|' ORDER BY subscription_key)) FROM elt_mart.dim_subscription x
  UNION ALL SELECT 'dim_date', md5(string_agg(x::text, '|' ORDER BY date_key)) FROM elt_mart.dim_date x
  UNION ALL SELECT 'dim_plan', md5(string_agg(x::text, '|' ORDER BY plan_key)) FROM elt_mart.dim_plan x
  UNION ALL SELECT 'fct_usage_daily', md5(string_agg(x::text, '|' ORDER BY usage_date, subscription_id)) FROM elt_mart.fct_usage_daily x
  UNION ALL SELECT 'fct_mrr_monthly', md5(string_agg(x::text, '|' ORDER BY month_start, user_id)) FROM elt_mart.fct_mrr_monthly x
  UNION ALL SELECT 'fct_kpi_daily', md5(string_agg(x::text, '|' ORDER BY date_key)) FROM elt_mart.fct_kpi_daily x
  UNION ALL SELECT 'fct_subscription_events', md5(string_agg(x::text, '|' ORDER BY subscription_id, event_date, event_type)) FROM elt_mart.fct_subscription_events x
  UNION ALL SELECT 'fct_usage_period', md5(string_agg(x::text, '|' ORDER BY subscription_id, period_start)) FROM elt_mart.fct_usage_period x
  UNION ALL SELECT 'fct_cohort_retention', md5(string_agg(x::text, '|' ORDER BY cohort_kind, cohort_month, months_since)) FROM elt_mart.fct_cohort_retention x
  UNION ALL SELECT 'fct_saas_metrics_monthly', md5(string_agg(x::text, '|' ORDER BY month_start)) FROM elt_mart.fct_saas_metrics_monthly x) s"
before=$(q -d "$db" -c "$sum_sql")
if pg_dump -Fc -d "$db" -f "$work/dump" 2>"$work/dump.log"; then ok "pg_dump"; else notok "pg_dump: $(cat "$work/dump.log")"; fi
createdb "$db2"
if pg_restore -d "$db2" --exit-on-error "$work/dump" 2>"$work/restore.log"; then ok "pg_restore"; else notok "pg_restore: $(head -5 "$work/restore.log")"; fi
after=$(q -d "$db2" -c "$sum_sql" 2>&1)
check "$after" "$before" "restored marts are identical, Unknown members included"
got=$(q -d "$db2" -c "SELECT count(*) FROM elt_update_marts('2025-04-16')" 2>&1)
check "$got" "$(q -d "$db2" -c "SELECT count(*) FROM elt.elt__mart_tables()")" "the restored database refreshes (a row per mart table)"
grants=$(q -d "$db2" -c "SELECT has_table_privilege('$reader', 'elt_mart.fct_kpi_daily', 'SELECT')" 2>&1)
check "$grants" "t" "the reader's grant survives the restore"

[ "$n" -gt 0 ]
