#!/usr/bin/env bash
# Adversarial review (issue 18) of the bulk loader and the generators:
#  - elt_generate on elt_raw tables whose columns were altered: a clear error
#    (42804, 42703, 0A000) before anything is written, and the server stays
#    up (it used to crash or store garbage); a dropped extra column is fine;
#  - NOT NULL, CHECK, unique and exclusion constraints added to elt_raw are
#    enforced by the loader (23502, 23514, 23505, 23P01); triggers and
#    foreign keys it cannot honour are refused (0A000);
#  - foreign keys of the user's own tables to elt_mart (and elt_raw) keep
#    working for a superuser: RESTRICT raises 23503, CASCADE cascades;
#  - a generator call with many versions per user keeps memory bounded;
#  - first_user beyond the population has a fitting message.
# Every refused case leaves the checksums of every table unchanged.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_adv_bulk
edb=elt_t_adv_bulk_empty
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT

# state SQL: runs SQL, prints the SQLSTATE of its error ("ok" if none)
state() {
    if psql -qAtX -d "${D:-$db}" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" >/dev/null 2>"$errf"; then
        echo ok
    else
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' "$errf" | head -1
    fi
}

# bad WANT "setup" "statement" "undo" LABEL: with setup committed, the
# statement fails with WANT and leaves every table as it was; then undo.
bad() {
    local want=$1 setup=$2 stmt=$3 undo=$4 label=$5 before after got
    [ -n "$setup" ] && { q -d "${D:-$db}" -c "$setup" >/dev/null || notok "$label: setup failed"; }
    before=$(sums "${D:-$db}")
    got=$(state "$stmt")
    after=$(sums "${D:-$db}")
    check "$got" "$want" "$label: SQLSTATE"
    [ "$got" != "$want" ] && sed 's/^/#   /' "$errf" | head -3
    same_sums "$before" "$after" "$label: checksums unchanged"
    [ -n "$undo" ] && { q -d "${D:-$db}" -c "$undo" >/dev/null || notok "$label: undo failed"; }
}

GEN="SELECT count(*) FROM elt_generate(50, 42, '2025-06-30', build_marts => false)"

for d in $db $edb; do
    dropdb --if-exists $d >/dev/null 2>&1; createdb $d
    q -d $d -c "CREATE EXTENSION elt" >/dev/null
    install_checksums $d
done
q -c "$GEN" >/dev/null
# the rows as generated, before any column is moved
ref=$(q -c "SELECT count(*), sum(hashtextextended(format('%s %s %s', usage_id, api_calls, active_minutes), 0)) FROM elt_raw.usage")

# --- 1. altered columns: refused, and the server stays up ---------------
started=$(q -c "SELECT pg_postmaster_start_time()")
# a bystander session that must still be connected after the crash cases
q -c "CREATE TABLE public.adv_done (x int)"
psql -qAtX -d $db -c "DO \$\$ BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT FROM public.adv_done);
        PERFORM pg_sleep(0.1);
    END LOOP; END \$\$" -c "SELECT 'still connected'" >"$errf.by" 2>&1 &
bypid=$!

bad 42804 "ALTER TABLE elt_raw.usage ALTER COLUMN api_calls TYPE numeric" "$GEN" \
    "ALTER TABLE elt_raw.usage ALTER COLUMN api_calls TYPE integer" "usage.api_calls numeric"
bad 0A000 "ALTER TABLE elt_raw.usage ADD x1 bigint, ADD x2 bigint, ADD x3 text, ADD x4 text" "$GEN" \
    "ALTER TABLE elt_raw.usage DROP x1, DROP x2, DROP x3, DROP x4" "four columns added to usage"
bad 0A000 "ALTER TABLE elt_raw.users ADD x1 bigint, ADD x2 bigint" "$GEN" \
    "ALTER TABLE elt_raw.users DROP x1, DROP x2" "two bigint columns added to users"
bad 42804 "ALTER TABLE elt_raw.subscriptions ALTER COLUMN renewal_count TYPE bigint" "$GEN" \
    "ALTER TABLE elt_raw.subscriptions ALTER COLUMN renewal_count TYPE integer" "subscriptions.renewal_count bigint"
bad 42703 "ALTER TABLE elt_raw.usage DROP COLUMN active_minutes" "$GEN" \
    "ALTER TABLE elt_raw.usage ADD active_minutes integer" "usage.active_minutes dropped"
# (the column re-added above went to the end: the loader maps by name)
bad 0A000 "ALTER TABLE elt_raw.usage RENAME active_minutes TO minutes" "$GEN" \
    "ALTER TABLE elt_raw.usage RENAME minutes TO active_minutes" "usage column renamed"
bad 0A000 "ALTER TABLE elt_raw.usage ADD x1 integer GENERATED ALWAYS AS (1) STORED" "$GEN" \
    "ALTER TABLE elt_raw.usage DROP x1" "generated column added to usage"

q -c "INSERT INTO public.adv_done VALUES (1)"
wait $bypid
check "$(tail -1 "$errf.by")" "still connected" "bystander session survived the altered-column cases"
check "$(q -c "SELECT pg_postmaster_start_time()")" "$started" "server not restarted (postmaster start time unchanged)"
rm -f "$errf.by"

# varchar(10) email: only possible on an empty table (the rows are longer)
D=$edb bad 42804 "ALTER TABLE elt_raw.users ALTER COLUMN email TYPE varchar(10)" "$GEN" \
    "ALTER TABLE elt_raw.users ALTER COLUMN email TYPE text" "users.email varchar(10)"

# a dropped extra column, and a column dropped and re-added (now last):
# the same rows as before
check "$(state "ALTER TABLE elt_raw.usage ADD x1 bigint; ALTER TABLE elt_raw.usage DROP x1; $GEN")" ok "generate with a dropped extra column"
check "$(q -c "SELECT count(*), sum(hashtextextended(format('%s %s %s', usage_id, api_calls, active_minutes), 0)) FROM elt_raw.usage")" \
      "$ref" "dropped extra column: the same rows"
check "$(q -c "SELECT attname FROM pg_attribute WHERE attrelid = 'elt_raw.usage'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum DESC LIMIT 1")" \
      active_minutes "active_minutes is now the last column (re-added above)"
check "$(q -c "SELECT count(*) FROM elt_raw.usage WHERE active_minutes IS NULL OR api_calls IS NULL")" 0 "no NULLs in the moved column"

# --- 7. constraints added to elt_raw ------------------------------------
bad 23514 "ALTER TABLE elt_raw.usage ADD CONSTRAINT adv_lt50 CHECK (api_calls < 50) NOT VALID" "$GEN" \
    "ALTER TABLE elt_raw.usage DROP CONSTRAINT adv_lt50" "CHECK added to usage"
D=$edb bad 23502 "ALTER TABLE elt_raw.subscriptions ALTER COLUMN end_date SET NOT NULL" "$GEN" \
    "ALTER TABLE elt_raw.subscriptions ALTER COLUMN end_date DROP NOT NULL" "NOT NULL added to subscriptions.end_date"
D=$edb bad 23505 "CREATE UNIQUE INDEX adv_uq ON elt_raw.usage (user_id) WHERE usage_date > '2025-06-01'" "$GEN" \
    "DROP INDEX elt_raw.adv_uq" "unique index added to usage"
D=$edb bad 23P01 "ALTER TABLE elt_raw.users ADD CONSTRAINT adv_ex EXCLUDE USING btree (signup_date WITH =) WHERE (signup_date > '2025-06-01')" "$GEN" \
    "ALTER TABLE elt_raw.users DROP CONSTRAINT adv_ex" "exclusion constraint added to users"
q -c "CREATE FUNCTION public.adv_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"
bad 0A000 "CREATE TRIGGER adv_t BEFORE INSERT ON elt_raw.users FOR EACH ROW EXECUTE FUNCTION public.adv_trg()" "$GEN" \
    "DROP TRIGGER adv_t ON elt_raw.users" "trigger on users"
bad 0A000 "ALTER TABLE elt_raw.usage ADD CONSTRAINT adv_fk FOREIGN KEY (api_calls) REFERENCES elt_raw.plans NOT VALID" "$GEN" \
    "ALTER TABLE elt_raw.usage DROP CONSTRAINT adv_fk" "foreign key of the user's own on usage"
bad 0A000 "CREATE TABLE public.adv_raw_notes (user_id bigint, valid_from timestamptz, FOREIGN KEY (user_id, valid_from) REFERENCES elt_raw.users)" "$GEN" \
    "DROP TABLE public.adv_raw_notes" "user table with a key to elt_raw.users (TRUNCATE refuses)"
# a constraint that holds does not stop the load
check "$(state "ALTER TABLE elt_raw.usage ADD CONSTRAINT adv_ok CHECK (api_calls < 1000000) NOT VALID; $GEN; ALTER TABLE elt_raw.usage DROP CONSTRAINT adv_ok")" ok \
      "a CHECK that holds: the load works"

# --- 2. user foreign keys to elt_mart, as a superuser -------------------
q -c "SELECT count(*) FROM elt_generate(200, 42, '2025-06-30')" >/dev/null
q -c "CREATE TABLE public.my_notes (user_key bigint NOT NULL REFERENCES elt_mart.dim_user (user_key), note text)" \
  -c "INSERT INTO public.my_notes SELECT user_key, 'vip' FROM elt_mart.dim_user WHERE user_key <> -1 ORDER BY user_key LIMIT 3"
check "$(q -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" t "running as a superuser"
bad 23503 "" "SELECT count(*) FROM elt_generate(200, 7, '2025-12-31')" "" "generate deleting dim_user rows referenced (NO ACTION)"
bad 23503 "ALTER TABLE public.my_notes DROP CONSTRAINT my_notes_user_key_fkey, ADD FOREIGN KEY (user_key) REFERENCES elt_mart.dim_user ON DELETE RESTRICT" \
    "SELECT count(*) FROM elt_generate(200, 7, '2025-12-31')" "" "generate deleting dim_user rows referenced (RESTRICT)"
# elt_build_marts: a user gone from elt_raw is purged from dim_user
bad 23503 "" "BEGIN; DELETE FROM elt_raw.usage WHERE user_id = (SELECT user_id FROM elt_mart.dim_user WHERE user_key = (SELECT min(user_key) FROM public.my_notes));
DELETE FROM elt_raw.subscriptions WHERE user_id = (SELECT user_id FROM elt_mart.dim_user WHERE user_key = (SELECT min(user_key) FROM public.my_notes));
DELETE FROM elt_raw.users WHERE user_id = (SELECT user_id FROM elt_mart.dim_user WHERE user_key = (SELECT min(user_key) FROM public.my_notes));
SELECT count(*) FROM elt_build_marts(); COMMIT" "" "elt_build_marts purging a referenced dim_user row"
check "$(q -c "SELECT count(*) FROM public.my_notes n WHERE NOT EXISTS (SELECT 1 FROM elt_mart.dim_user d WHERE d.user_key = n.user_key)")" 0 \
      "no orphans in the user's table"
q -c "DROP TABLE public.my_notes"
# ON DELETE CASCADE to a fact table: rows of gone facts go too
q -c "CREATE TABLE public.my_usage (usage_date date, subscription_id bigint, note text,
        FOREIGN KEY (usage_date, subscription_id) REFERENCES elt_mart.fct_usage_daily ON DELETE CASCADE)" \
  -c "INSERT INTO public.my_usage SELECT usage_date, subscription_id, 'x' FROM elt_mart.fct_usage_daily ORDER BY 1, 2 LIMIT 5"
check "$(state "SELECT count(*) FROM elt_generate(200, 7, '2025-12-31')")" ok "generate with a cascading key of the user's own"
check "$(q -c "SELECT count(*) FROM public.my_usage n WHERE NOT EXISTS (SELECT 1 FROM elt_mart.fct_usage_daily f WHERE (f.usage_date, f.subscription_id) = (n.usage_date, n.subscription_id))")" 0 \
      "ON DELETE CASCADE: no orphans"
check "$(q -c "SELECT count(*) FROM public.my_usage")" 0 "ON DELETE CASCADE: the user's rows of gone facts went"
# the same after a refresh (incremental path)
q -c "INSERT INTO public.my_usage SELECT usage_date, subscription_id, 'y' FROM elt_mart.fct_usage_daily ORDER BY 1 DESC, 2 LIMIT 5"
check "$(state "SELECT count(*) FROM elt_refresh(2)")" ok "refresh with a cascading key of the user's own"
check "$(q -c "SELECT count(*) FROM public.my_usage n WHERE NOT EXISTS (SELECT 1 FROM elt_mart.fct_usage_daily f WHERE (f.usage_date, f.subscription_id) = (n.usage_date, n.subscription_id))")" 0 \
      "refresh, ON DELETE CASCADE: no orphans"
q -c "DROP TABLE public.my_usage"

# --- 11. memory of a generator call with many versions per user ---------
# (users of a 1000-year window have ~65 versions each under model 2, so
# 70000 of them give over 4 million rows; the old code leaked
# the event buffer of each, ~2 kB a user)
hwm() { sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p'; }
out=$(q -c "SET work_mem = '4MB'" \
        -c "SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+)')" \
        -c "SELECT count(*) FROM elt_users(1000, 1, '2999-12-31', '2000-01-01', last_user => 70000)" \
        -c "SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+)')")
set -- $out
grow=$(( ($3 - $1) / 1024 ))
if [ "$2" -gt 4000000 ] && [ "$grow" -lt 64 ]; then
    ok "elt_users with 70000 long lives ($2 rows): peak memory grew by $grow MB (< 64 MB)"
else
    notok "elt_users with 70000 long lives ($2 rows): peak memory grew by $grow MB (want < 64 MB)"
fi

# --- 12. first_user beyond the population ------------------------------
bad 22023 "" "SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => 200)" "" "first_user beyond the population"
msg=$(psql -qAtX -d $db -c "SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => 200)" 2>&1)
case "$msg" in
*"first_user 200 is beyond the population"*) ok "first_user beyond: fitting message" ;;
*) notok "first_user beyond: fitting message (got '$msg')" ;;
esac
check "$(q -c "SELECT count(*) FROM elt_users(100, 1, '2025-03-01', first_user => 200, last_user => 300)")" 0 \
      "an explicit range beyond the population is empty (chunking)"

dropdb $db; dropdb $edb
echo "# t_adv_bulk: $((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
