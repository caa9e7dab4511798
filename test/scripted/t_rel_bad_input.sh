#!/usr/bin/env bash
# A catalog of bad input: every function of the extension called with NULLs,
# zero, negative and huge numbers, unknown option strings, missing and wrong
# relations, and identifiers built to inject SQL.  Each case must fail with
# the SQLSTATE listed, without crashing the backend, and write nothing (per-
# table checksums of elt, elt_raw, elt_mart and the test's own schema rel_bi
# unchanged).  Runs as the superuser, the role with the most power to do
# damage.  Ends with a summary line.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_bad_input

dropdb --if-exists $db >/dev/null 2>&1; createdb $db
q -c "CREATE EXTENSION elt" >/dev/null
q -c "SELECT count(*) FROM elt_generate(200, 1, '2025-03-01')" -c "SELECT count(*) FROM elt_refresh(2)" >/dev/null 2>&1
q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE SCHEMA rel_bi;
CREATE TABLE rel_bi.hist (id bigint NOT NULL, name text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE rel_bi.snap (id bigint PRIMARY KEY, name text);
INSERT INTO rel_bi.snap VALUES (1, 'a'), (2, 'b');
SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], '2025-01-01');
CREATE TABLE rel_bi.dups (id bigint, name text);
INSERT INTO rel_bi.dups VALUES (1, 'a'), (1, 'b');
CREATE TABLE rel_bi.dupnew (id bigint, name text);
INSERT INTO rel_bi.dupnew VALUES (7, 'a'), (7, 'b');
CREATE TABLE rel_bi.nullkey (id bigint, name text);
INSERT INTO rel_bi.nullkey VALUES (NULL, 'a');
CREATE VIEW rel_bi.v AS SELECT * FROM rel_bi.hist;
CREATE TABLE rel_bi.part (id bigint NOT NULL, name text, valid_from timestamptz NOT NULL, valid_to timestamptz) PARTITION BY RANGE (id);
CREATE TABLE rel_bi.novalid (id bigint, name text);
CREATE TABLE rel_bi.datevalid (id bigint NOT NULL, name text, valid_from date NOT NULL, valid_to date);
CREATE SEQUENCE rel_bi.seq;
CREATE TABLE rel_bi.victim (x integer);
CREATE TABLE rel_bi."h""; DROP TABLE rel_bi.victim; --" ("id""); DROP TABLE rel_bi.victim; --" bigint NOT NULL, name text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE rel_bi."s""; DROP TABLE rel_bi.victim; --" ("id""); DROP TABLE rel_bi.victim; --" bigint, name text);
INSERT INTO rel_bi."s""; DROP TABLE rel_bi.victim; --" VALUES (1, 'a');
-- a source whose rows break elt_raw.users' foreign key to plans
CREATE TABLE rel_bi.badusers AS SELECT * FROM elt_raw.users WHERE valid_to IS NULL;
ALTER TABLE rel_bi.badusers DROP COLUMN valid_from, DROP COLUMN valid_to;
UPDATE rel_bi.badusers SET plan_id = 99;
CREATE TABLE rel_bi.dupusers AS SELECT * FROM rel_bi.badusers UNION ALL (SELECT * FROM rel_bi.badusers LIMIT 1);
UPDATE rel_bi.dupusers SET plan_id = 1;
SQL
install_checksums
before=$(sums)

errf=$(mktemp)
CHK="SELECT string_agg(format('%s %s %s', tab, nrows, hash), E'\n' ORDER BY tab) FROM public.rel_checksums()"
declare -A by_state
cases=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue;; esac
    want=${line%% *}
    sql=${line#* }
    cases=$((cases + 1))
    t0=$(now)
    out=$(psql -qAtX -d $db -v VERBOSITY=verbose -c "$sql" -c "$CHK" 2>"$errf")
    [ -n "${TIMING:-}" ] && echo "# $(echo "$(now) - $t0" | bc) $sql"
    err=$(cat "$errf")
    got=$(echo "$err" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)
    msg=$(echo "$err" | sed -n 's/^ERROR:  [0-9A-Z]\{5\}: //p' | head -1)
    after=$(echo "$out" | grep '^[a-z_]*\.')
    if echo "$err" | grep -q 'server closed the connection\|terminated by signal'; then
        notok "$sql: backend CRASHED"; wait_ready
    elif [ "${got:-none}" != "$want" ]; then
        notok "$sql: got ${got:-no error} (want $want) $msg"
    elif [ "$after" != "$before" ]; then
        notok "$sql: $got but something was WRITTEN"
        diff <(echo "$before") <(echo "$after") | sed 's/^/#   /' | head -6
    else
        ok "$sql: $got $msg"
        by_state[$got]=$(( ${by_state[$got]:-0} + 1 ))
    fi
done <<'CASES'
# --- elt_generate ---
22004 SELECT * FROM elt_generate(NULL)
22023 SELECT * FROM elt_generate(0)
22023 SELECT * FROM elt_generate(-5)
54000 SELECT * FROM elt_generate(2147483647)
22004 SELECT * FROM elt_generate(100, NULL)
22004 SELECT * FROM elt_generate(100, 1, NULL)
22023 SELECT * FROM elt_generate(100, 1, 'infinity')
22023 SELECT * FROM elt_generate(100, 1, '-infinity')
22023 SELECT * FROM elt_generate(100, 1, '1999-12-31')
22023 SELECT * FROM elt_generate(100, 1, '3000-01-01')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', '2025-03-02')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', 'infinity')
54000 SELECT * FROM elt_generate(100000, 1, '2999-12-31', '2000-01-01')
22004 SELECT * FROM elt_generate(100, 1, '2025-03-01', build_marts => NULL)
22007 SELECT * FROM elt_generate(100, 1, 'yesterday; DROP TABLE elt.settings')
22004 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => NULL)
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => '{"preset": "b2c"}')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => '{"monthly_churn": 1}')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => '{"trial_days": "14"}')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => '{"plan_mix": {"Gold": 1}}')
22023 SELECT * FROM elt_generate(100, 1, '2025-03-01', params => '"b2b"')
22023 SELECT * FROM elt_users(100, params => '{"seasonality": 3}')
# --- generators ---
22004 SELECT count(*) FROM elt_users(NULL)
22023 SELECT count(*) FROM elt_users(0)
22023 SELECT count(*) FROM elt_users(-1)
54000 SELECT count(*) FROM elt_users(2147483647, 1, '2025-03-01', '2020-01-01')
22004 SELECT count(*) FROM elt_users(100, NULL)
22023 SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => 0)
22023 SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => -2147483648)
22023 SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => 10, last_user => 9)
22004 SELECT count(*) FROM elt_users(100, 1, '2025-03-01', history => NULL)
22023 SELECT count(*) FROM elt_users(100, 1, '2025-03-01', since => 'infinity')
22023 SELECT count(*) FROM elt_subscriptions(-1)
22004 SELECT count(*) FROM elt_subscriptions(100, 1, NULL)
22023 SELECT count(*) FROM elt_subscriptions(100, 1, '2025-03-01', since => '-infinity')
22023 SELECT count(*) FROM elt_usage(0)
22023 SELECT count(*) FROM elt_usage(100, 1, '2025-03-01', '2026-01-01')
22023 SELECT count(*) FROM elt_usage(100, 1, '2025-03-01', last_user => -1)
# --- elt_refresh ---
22023 SELECT * FROM elt_refresh(0)
22023 SELECT * FROM elt_refresh(-1)
22023 SELECT * FROM elt_refresh(-2147483648)
22023 SELECT * FROM elt_refresh(1000000)
22023 SELECT * FROM elt_refresh(2147483647)
# --- elt_scd2_merge ---
22004 SELECT * FROM elt_scd2_merge(NULL, 'rel_bi.snap', ARRAY['id'])
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', NULL, ARRAY['id'])
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', NULL)
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], NULL)
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], hard_deletes => NULL)
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY[NULL]::text[])
22004 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], tracked => ARRAY[NULL]::text[])
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', '{}')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id', 'id'])
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['valid_from'])
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], tracked => ARRAY['id'])
42703 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['nope'])
42703 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], tracked => ARRAY['nope'])
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], hard_deletes => 'delete')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], hard_deletes => '')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], hard_deletes => 'IGNORE')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], 'infinity')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], '-infinity')
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], '2024-12-31')
42P01 SELECT * FROM elt_scd2_merge('rel_bi.nope', 'rel_bi.snap', ARRAY['id'])
42P01 SELECT * FROM elt_scd2_merge(0::regclass, 'rel_bi.snap', ARRAY['id'])
42P01 SELECT * FROM elt_scd2_merge(4294967295::oid::regclass, 'rel_bi.snap', ARRAY['id'])
42P01 SELECT * FROM elt_scd2_merge('rel_bi.hist', 4294967295::oid::regclass, ARRAY['id'])
42809 SELECT * FROM elt_scd2_merge('rel_bi.v', 'rel_bi.snap', ARRAY['id'])
0A000 SELECT * FROM elt_scd2_merge('rel_bi.part', 'rel_bi.snap', ARRAY['id'])
42809 SELECT * FROM elt_scd2_merge('rel_bi.seq', 'rel_bi.snap', ARRAY['id'])
42809 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.seq', ARRAY['id'])
42809 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap_pkey', ARRAY['id'])
42703 SELECT * FROM elt_scd2_merge('pg_class', 'rel_bi.snap', ARRAY['id'])
22023 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.hist', ARRAY['id'])
42703 SELECT * FROM elt_scd2_merge('rel_bi.novalid', 'rel_bi.snap', ARRAY['id'])
42804 SELECT * FROM elt_scd2_merge('rel_bi.datevalid', 'rel_bi.snap', ARRAY['id'])
21000 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.dups', ARRAY['id'], '2025-02-01')
21000 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.dupnew', ARRAY['id'], '2025-02-01')
23502 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.nullkey', ARRAY['id'], '2025-02-01')
42703 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id; DROP TABLE rel_bi.victim; --'])
42703 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['id'], tracked => ARRAY['name) ; DROP TABLE rel_bi.victim; --'])
42703 SELECT * FROM elt_scd2_merge('rel_bi.hist', 'rel_bi.snap', ARRAY['"id"'])
42602 SELECT * FROM elt_scd2_merge('rel_bi.hist; DROP TABLE rel_bi.victim', 'rel_bi.snap', ARRAY['id'])
42602 SELECT * FROM elt_scd2_merge('rel_bi.hist''; DROP TABLE rel_bi.victim; --', 'rel_bi.snap', ARRAY['id'])
23503 SELECT * FROM elt_scd2_merge('elt_raw.users', 'rel_bi.badusers', ARRAY['user_id'], '2025-03-04', hard_deletes => 'ignore')
21000 SELECT * FROM elt_scd2_merge('elt_raw.users', 'rel_bi.dupusers', ARRAY['user_id'], '2025-03-04')
42703 SELECT * FROM elt_scd2_merge('elt_raw.users', 'rel_bi.snap', ARRAY['id'], '2025-03-04')
# --- marts ---
22004 SELECT * FROM elt_update_marts(NULL)
22008 SELECT * FROM elt_update_marts('infinity')
22008 SELECT * FROM elt_update_marts('-infinity')
22008 SELECT * FROM elt_update_marts('2025-02-30')
22008 SELECT * FROM elt_build_dim_user('infinity')
22008 SELECT * FROM elt_build_dim_subscription('-infinity')
22008 SELECT * FROM elt_build_fct_usage_daily('infinity')
22008 SELECT * FROM elt_build_fct_mrr_monthly('infinity')
22008 SELECT * FROM elt_build_fct_kpi_daily('-infinity')
22004 SELECT * FROM elt_grant_reader(NULL)
42704 SELECT * FROM elt_grant_reader('no_such_role')
42704 SELECT * FROM elt_grant_reader('')
42704 SELECT * FROM elt_grant_reader('public')
42704 SELECT * FROM elt_grant_reader('x; DROP TABLE elt.settings; --')
42704 SELECT * FROM elt_grant_reader('pg_read_all_data"; DROP TABLE elt.settings; --')
22004 SELECT * FROM elt_grant_writer(NULL)
42704 SELECT * FROM elt_grant_writer('no_such_role')
42704 SELECT * FROM elt_grant_writer('x; DROP TABLE elt.settings; --')
# --- scheduling (pg_cron is not installed in this database) ---
22004 SELECT * FROM elt_schedule(NULL)
22023 SELECT * FROM elt_schedule('')
22023 SELECT * FROM elt_schedule('   ')
22023 SELECT * FROM elt_schedule('* * * * *', 0)
22023 SELECT * FROM elt_schedule('* * * * *', -1)
22023 SELECT * FROM elt_schedule('not a schedule')
22023 SELECT * FROM elt_schedule('* * * * *''); DROP TABLE elt.settings; --')
55000 SELECT * FROM elt_schedule('* * * * *')
# --- internal functions (superuser only) ---
22004 SELECT * FROM elt.elt__check_population(NULL, 1, '2025-03-01', NULL, '{}')
22023 SELECT * FROM elt.elt__check_population(1, 1, '2025-03-01', '2026-01-01', '{}')
22023 SELECT * FROM elt.elt__check_population(1, 1, '2025-03-01', NULL, '{"x": 1}')
22004 SELECT * FROM elt.elt__load_raw(NULL, 1, '2025-03-01', NULL, '{}')
55000 SELECT * FROM elt.elt__load_raw(100, 1, '2025-03-01', NULL, '{}')
42703 SELECT * FROM elt.elt__check_versions('elt_raw.users', 'nope', NULL)
42703 SELECT * FROM elt.elt__check_versions('elt_raw.users', 'user_id) FROM elt.settings; DROP TABLE elt.settings; --', NULL)
42883 SELECT * FROM elt.elt__bulk_end(true, 'elt_mart.fct_kpi_daily', 'true; DROP TABLE elt.settings')
42703 SELECT * FROM elt.elt__bulk_end(true, 'elt_mart.fct_kpi_daily', 'date; DROP TABLE elt.settings', '2025-01-01')
CASES
rm -f "$errf"
case_fails=$fails

# the identifiers built to inject SQL are harmless as real names too
check "$(q -c "SELECT format('%s %s', inserted, unchanged) FROM elt_scd2_merge('rel_bi.\"h\"\"; DROP TABLE rel_bi.victim; --\"', 'rel_bi.\"s\"\"; DROP TABLE rel_bi.victim; --\"', ARRAY['id\"); DROP TABLE rel_bi.victim; --'], '2025-01-01')" 2>&1)" \
    "1 0" "elt_scd2_merge on tables and a key whose names carry SQL merges them as names"
check "$(q -c "SELECT to_regclass('rel_bi.victim') IS NOT NULL")" "t" "... and runs none of it"
q -c "CREATE ROLE \"rel_bad\"\"; DROP TABLE rel_bi.victim; --\"" 2>/dev/null
check "$(q -c "SELECT count(*) FROM elt_grant_reader('rel_bad\"; DROP TABLE rel_bi.victim; --')" -c "SELECT has_table_privilege('rel_bad\"; DROP TABLE rel_bi.victim; --', 'elt_mart.dim_date', 'SELECT') AND to_regclass('rel_bi.victim') IS NOT NULL" 2>&1)" \
    "1
t" "elt_grant_reader grants to a role whose name carries SQL, and runs none of it"
q -c "DROP OWNED BY \"rel_bad\"\"; DROP TABLE rel_bi.victim; --\"" -c "DROP ROLE \"rel_bad\"\"; DROP TABLE rel_bi.victim; --\""

summary=$(for s in "${!by_state[@]}"; do echo "$s x ${by_state[$s]}"; done | sort | paste -sd, - | sed 's/,/, /g')
echo "# bad input: $cases cases, $((cases - case_fails)) rejected with the expected SQLSTATE and nothing written, $case_fails not; SQLSTATEs: $summary"
dropdb $db
[ $fails -eq 0 ]
