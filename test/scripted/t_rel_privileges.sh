#!/usr/bin/env bash
# Privileges and search_path safety.
#  - Roles without grants cannot run the write functions (42501, nothing
#    written); EXECUTE alone does not let a role write elt's tables.
#  - elt_scd2_merge is callable by anyone but works only on tables the caller
#    may read and write, and refuses before it locks.
#  - The C bulk loader (elt__load_raw) checks INSERT itself.
#  - Catalog: SECURITY DEFINER functions (none today) have a fixed
#    search_path; SQL-language functions do too, except the listed internal
#    ones; no write function is executable by PUBLIC.
#  - Functions and operators planted in public by an unprivileged role never
#    run and do not change what the extension's functions do.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_priv
roles="rel_nobody rel_writer rel_loader rel_mallory rel_etl"

cleanup_roles() {
    for r in $roles; do
        psql -qAtX -d $db -c "DROP OWNED BY $r" >/dev/null 2>&1
        psql -qAtX -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
    done
}
dropdb --if-exists $db >/dev/null 2>&1; createdb $db
cleanup_roles
q -c "CREATE EXTENSION elt" >/dev/null
install_checksums
for r in $roles; do q -c "CREATE ROLE $r LOGIN"; done
q -c "SELECT count(*) FROM elt_generate(200, 1, '2025-03-01')" -c "SELECT count(*) FROM elt_refresh(1)" >/dev/null 2>&1
before=$(sums)

# state ROLE SQL...: the SQLSTATE of the first error, or "none"
state() {
    local role=$1; shift
    local args=()
    for s in "$@"; do args+=(-c "$s"); done
    local out
    out=$(psql -qAtX -U "$role" -d $db -v VERBOSITY=verbose "${args[@]}" 2>&1)
    echo "$out" >"$tmp_out"
    out=$(echo "$out" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)
    echo "${out:-none}"
}
tmp_out=$(mktemp)

# denied ROLE WANT LABEL SQL...: fails with WANT and writes nothing
denied() {
    local role=$1 want=$2 label=$3; shift 3
    local got after
    got=$(state "$role" "$@")
    after=$(sums)
    if [ "$got" = "$want" ] && [ "$after" = "$before" ]; then
        ok "$label: $want, nothing written"
    else
        notok "$label: got $got (want $want), tables $( [ "$after" = "$before" ] && echo unchanged || echo CHANGED)"
        sed 's/^/#   /' "$tmp_out" | head -3
    fi
}

# ---- a role without grants ----
for f in "elt_generate(100, 1, '2025-03-01')" "elt_refresh(1)" "elt_refresh()" "elt_build_marts()" \
         "elt_update_marts('2025-03-01')" "elt_build_dim_date()" "elt_build_dim_plan()" "elt_build_dim_user()" \
         "elt_build_dim_subscription()" "elt_build_fct_usage_daily()" "elt_build_fct_mrr_monthly()" \
         "elt_build_fct_kpi_daily()" "elt_grant_reader('rel_nobody')" "elt_grant_writer('rel_nobody')" \
         "elt.elt__load_raw(100, 1, '2025-03-01', '2024-03-02', '{}')" "elt_schedule('* * * * *', 1)" "elt_unschedule()" \
         "elt.elt__mart_begin()" "elt.elt__bulk_begin('elt_mart.fct_kpi_daily')" "elt.elt__check_versions('elt_raw.users', 'user_id', NULL)"; do
    denied rel_nobody 42501 "rel_nobody: SELECT $f" "SELECT * FROM $f"
done
users_oid=$(q -c "SELECT 'elt_raw.users'::regclass::oid")
q -c "CREATE SCHEMA nob AUTHORIZATION rel_nobody"
psql -qAtX -U rel_nobody -d $db -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE nob.hist (id bigint NOT NULL, name text, valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE nob.snap (id bigint PRIMARY KEY, name text);
INSERT INTO nob.snap VALUES (1, 'a'), (2, 'b');
SQL
q -c "CREATE TABLE nob.secret (id bigint PRIMARY KEY, name text)" -c "INSERT INTO nob.secret VALUES (1, 'x')"
denied rel_nobody 42501 "rel_nobody: elt_scd2_merge into elt_raw.users by name (no USAGE on elt_raw)" \
    "SELECT * FROM elt_scd2_merge('elt_raw.users', 'nob.snap', ARRAY['id'])"
denied rel_nobody 42501 "rel_nobody: elt_scd2_merge into elt_raw.users by OID" \
    "SELECT * FROM elt_scd2_merge($users_oid::regclass, 'nob.snap'::regclass, ARRAY['id'])"
denied rel_nobody 42501 "rel_nobody: elt_scd2_merge from a table it cannot read into its own" \
    "SELECT * FROM elt_scd2_merge('nob.hist', 'nob.secret', ARRAY['id'])"
check "$(q -c "SELECT count(*) FROM nob.hist")" "0" "... its own target got nothing"
# refused before locking: while another session holds a lock that conflicts
# with the merge's, the call fails at once with 42501 (not a lock timeout)
psql -qAtX -d $db -c "BEGIN" -c "LOCK elt_raw.users IN ROW EXCLUSIVE MODE" -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null 2>&1 &
locker=$!
sleep 1
denied rel_nobody 42501 "rel_nobody: merge into a locked table it cannot write is refused without waiting" \
    "SET lock_timeout = '2s'" "SELECT * FROM elt_scd2_merge($users_oid::regclass, 'nob.snap'::regclass, ARRAY['id'])"
wait $locker
check "$(psql -qAtX -U rel_nobody -d $db -c "SELECT inserted FROM elt_scd2_merge('nob.hist', 'nob.snap', ARRAY['id'], '2025-01-01')")" "2" \
    "rel_nobody: elt_scd2_merge works on its own tables"

# ---- EXECUTE granted, no table privileges ----
q -c "GRANT EXECUTE ON FUNCTION elt_generate(integer, bigint, date, date, boolean, jsonb), elt_refresh(integer), elt_build_marts(), elt_update_marts(date) TO rel_writer"
denied rel_writer 42501 "rel_writer (EXECUTE only): elt_generate" "SELECT * FROM elt_generate(100, 1, '2025-03-01')"
denied rel_writer 42501 "rel_writer (EXECUTE only): elt_refresh" "SELECT * FROM elt_refresh(1)"
denied rel_writer 42501 "rel_writer (EXECUTE only): elt_build_marts" "SELECT * FROM elt_build_marts()"
denied rel_writer 42501 "rel_writer (EXECUTE only): elt_update_marts" "SELECT * FROM elt_update_marts('2025-03-01')"

# ---- the C write path checks INSERT itself ----
q -c "GRANT EXECUTE ON FUNCTION elt.elt__load_raw(integer, bigint, date, date, jsonb) TO rel_loader"
LOAD=(BEGIN "TRUNCATE elt_raw.usage, elt_raw.subscriptions, elt_raw.users" "SELECT * FROM elt.elt__load_raw(100, 1, '2025-03-01', '2024-03-02', '{}')")
denied rel_loader 42501 "rel_loader (EXECUTE on elt__load_raw, no USAGE on elt_raw)" "${LOAD[@]:2}"
q -c "GRANT USAGE ON SCHEMA elt_raw TO rel_loader" -c "GRANT TRUNCATE ON elt_raw.users, elt_raw.subscriptions, elt_raw.usage TO rel_loader"
denied rel_loader 42501 "rel_loader (TRUNCATE, no INSERT): elt__load_raw" "${LOAD[@]}"
grep -q 'permission denied for table users' "$tmp_out" && ok "... the bulk loader names the table: $(grep -o 'permission denied for table users' "$tmp_out")" || notok "... the bulk loader names the table"
q -c "GRANT INSERT ON elt_raw.users, elt_raw.subscriptions TO rel_loader"
denied rel_loader 42501 "rel_loader (INSERT on users and subscriptions, not usage): elt__load_raw" "${LOAD[@]}"
q -c "GRANT INSERT ON elt_raw.usage TO rel_loader"
check "$(state rel_loader "${LOAD[@]}" "SELECT users_rows > 0 FROM elt.elt__load_raw(100, 1, '2025-03-01', '2024-03-02', '{}')" "ROLLBACK")" "55000" \
    "rel_loader with INSERT loads, and refuses a table that is not empty (55000)"
check "$(state rel_loader "${LOAD[@]}" "ROLLBACK")" "none" "rel_loader with INSERT on the three tables may load them"
# row-level security is not bypassed by the bulk path
check "$(state postgres "BEGIN" "ALTER TABLE elt_raw.users ENABLE ROW LEVEL SECURITY" "CREATE POLICY p ON elt_raw.users TO rel_loader USING (true) WITH CHECK (false)" \
         "SET ROLE rel_loader" "${LOAD[@]:1}" "ROLLBACK")" "0A000" "the bulk loader refuses a table with row-level security (0A000)"
same_sums "$before" "$(sums)" "... and every table is as it was"

# ---- catalog ----
EXT="FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
     JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'elt'"
check "$(q -c "SELECT count(*) $EXT WHERE p.prosecdef AND NOT coalesce(p.proconfig::text[] && ARRAY['search_path=pg_catalog, pg_temp'], false)")" "0" \
    "no SECURITY DEFINER function of elt without search_path = pg_catalog, pg_temp"
check "$(q -c "SELECT coalesce(string_agg(p.proname, ' ' ORDER BY p.proname), '-') $EXT JOIN pg_language l ON l.oid = p.prolang
               WHERE l.lanname IN ('plpgsql', 'sql') AND NOT coalesce(p.proconfig::text[] && ARRAY['search_path=pg_catalog, pg_temp'], false)")" \
    "elt__bulk_begin elt__day_ts elt__key_at elt__ts_day" \
    "SQL functions without a fixed search_path are exactly the four internal ones that must not have it (inlined, or switching session_replication_role)"
check "$(q -c "SELECT coalesce(string_agg(p.proname, ' ' ORDER BY p.proname), '-') $EXT
               WHERE has_function_privilege('rel_nobody', p.oid, 'EXECUTE')")" \
    "elt__check_population elt__check_schedule elt__cron_check elt__cron_here elt__cron_state elt__day_ts elt__job_command elt__job_names elt__model_version elt__params elt__params_in_force elt__scd2_merge_citus elt__ts_day elt_params elt_payment_methods elt_plan_features elt_plans elt_referral_sources elt_regions elt_scd2_merge elt_status elt_subscriptions elt_usage elt_users" \
    "PUBLIC may execute only the pure functions, elt_scd2_merge (and its Citus path) and elt_status"
check "$(psql -qAtX -U rel_nobody -d $db -c "SELECT string_agg(kind || ' ' || status, ',') FROM elt_status()" 2>&1)" "clock hidden" \
    "rel_nobody: elt_status reads nothing it may not read (shows the clock as hidden)"

# ---- objects planted in public by an unprivileged role ----
q -c "GRANT CREATE ON SCHEMA public TO rel_mallory"   # as before PostgreSQL 15
psql -qAtX -U rel_mallory -d $db -v ON_ERROR_STOP=1 >"$tmp_out" 2>&1 <<'SQL'
-- every planted object bumps this sequence (not rolled back with a transaction)
CREATE SEQUENCE public.hits;
GRANT USAGE, SELECT ON SEQUENCE public.hits TO PUBLIC;
CREATE FUNCTION public.hit() RETURNS boolean LANGUAGE sql AS $$ SELECT nextval('public.hits') IS NULL $$;
-- overloads that untyped literals would prefer
CREATE FUNCTION public.elt_scd2_merge(target text, source text, keys text[], as_of timestamptz DEFAULT now(), tracked text[] DEFAULT NULL, hard_deletes text DEFAULT 'x')
RETURNS TABLE (inserted bigint, updated bigint, deleted bigint, unchanged bigint) LANGUAGE sql
AS $$ SELECT 0::bigint, 0::bigint, 0::bigint, 0::bigint WHERE public.hit() $$;
CREATE FUNCTION public.elt__check_versions(tab text, id_column text, since_ts timestamptz) RETURNS void
LANGUAGE sql AS $$ SELECT public.hit(); SELECT $$;
CREATE FUNCTION public.elt__bulk_end(fast boolean, tab text, cond text) RETURNS void
LANGUAGE sql AS $$ SELECT public.hit(); SELECT $$;
CREATE FUNCTION public.elt_refresh(days text) RETURNS void LANGUAGE sql AS $$ SELECT public.hit(); SELECT $$;
CREATE FUNCTION public.elt_update_marts(since text) RETURNS void LANGUAGE sql AS $$ SELECT public.hit(); SELECT $$;
CREATE FUNCTION public.elt_users(users integer, seed bigint, as_of date, start_date date, history text, since date) RETURNS SETOF record
LANGUAGE sql AS $$ SELECT NULL::record WHERE public.hit() $$;
-- look-alikes of built-in functions
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz WHERE public.hit() $$;
CREATE FUNCTION public.md5(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' WHERE public.hit() $$;
CREATE FUNCTION public.max(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT $1 WHERE public.hit() $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql AS $$ SELECT $1 WHERE public.hit() $$;
CREATE FUNCTION public.timezone(text, timestamp) RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() WHERE public.hit() $$;
CREATE FUNCTION public.concat_ws(text, bigint) RETURNS text LANGUAGE sql AS $$ SELECT 'x' WHERE public.hit() $$;
-- a relation named like the merge engine's change set
CREATE TABLE public.elt_scd2_changes (_op integer, _tid tid);
GRANT SELECT ON public.elt_scd2_changes TO PUBLIC;
-- operators on the types the engine's SQL compares: exact look-alikes, and
-- cross-type ones pg_catalog lacks
CREATE FUNCTION public.eq_lie_x(integer, numeric) RETURNS boolean LANGUAGE sql AS $$ SELECT public.hit() $$;
CREATE FUNCTION public.eq_lie_d(date, text) RETURNS boolean LANGUAGE sql AS $$ SELECT public.hit() $$;
CREATE FUNCTION public.eq_lie_t(timestamptz, text) RETURNS boolean LANGUAGE sql AS $$ SELECT public.hit() $$;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['integer', 'bigint', 'text', 'date', 'timestamptz', 'boolean', 'numeric', 'tid'] LOOP
        EXECUTE format('CREATE FUNCTION public.lie_%s(%s, %s) RETURNS boolean LANGUAGE sql AS $f$ SELECT public.hit() $f$', t, t, t);
        EXECUTE format('CREATE OPERATOR public.= (leftarg = %s, rightarg = %s, function = public.lie_%s)', t, t, t);
        EXECUTE format('CREATE OPERATOR public.<> (leftarg = %s, rightarg = %s, function = public.lie_%s)', t, t, t);
        EXECUTE format('CREATE OPERATOR public.>= (leftarg = %s, rightarg = %s, function = public.lie_%s)', t, t, t);
        EXECUTE format('CREATE OPERATOR public.> (leftarg = %s, rightarg = %s, function = public.lie_%s)', t, t, t);
    END LOOP;
END $$;
CREATE OPERATOR public.= (leftarg = integer, rightarg = numeric, function = public.eq_lie_x);
CREATE OPERATOR public.= (leftarg = date, rightarg = text, function = public.eq_lie_d);
CREATE OPERATOR public.>= (leftarg = date, rightarg = text, function = public.eq_lie_d);
CREATE OPERATOR public.= (leftarg = timestamptz, rightarg = text, function = public.eq_lie_t);
SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace;
SQL
check "$?" "0" "rel_mallory planted functions, operators and a table in public"
[ -n "${KEEP:-}" ] && cat "$tmp_out"
hits() { q -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.hits"; }

# The pipeline with the plants in place, run by the superuser with the
# default search_path ("$user", public), gives exactly what it gave before.
q -c "SELECT count(*) FROM elt_generate(200, 1, '2025-03-01')" -c "SELECT count(*) FROM elt_refresh(1)" >/dev/null 2>&1
check "$?" "0" "elt_generate and elt_refresh run with the plants in place"
same_sums "$(echo "$before" | grep -v '^elt\.')" "$(sums | grep -v '^elt\.')" "... and give the same raw data and marts as without them"
# (typed arguments: a user's own untyped literal would pick the planted
# elt_update_marts(text); see the README on installing into a schema that
# untrusted roles can create objects in)
q -c "SELECT count(*) FROM elt_build_marts()" -c "SELECT count(*) FROM elt_update_marts(date '2025-02-15')" >/dev/null 2>&1
check "$?" "0" "elt_build_marts and elt_update_marts run with the plants in place"
same_sums "$(echo "$before" | grep -v '^elt\.')" "$(sums | grep -v '^elt\.')" "... and give the same marts"
# the pg_cron job's command, as the job runs it (days NULL: catch up; one day here)
q -c "UPDATE elt.settings SET clock = current_date - 1" -c "$(q -c "SELECT elt.elt__job_command(NULL)")" >/dev/null 2>&1
check "$(q -c "SELECT clock = current_date FROM elt.settings")" "t" "the pg_cron job command refreshes with the plants in place"
q -c "SELECT elt.elt__job_command(1)" >/dev/null
# the merge engine's generated SQL, in the caller's search_path
merged=$(q -c "SET search_path = public, pg_catalog" \
           -c "CREATE TEMP TABLE h (id bigint NOT NULL, d date, t timestamptz, n numeric, valid_from timestamptz NOT NULL, valid_to timestamptz)" \
           -c "CREATE TEMP TABLE s (id bigint, d date, t timestamptz, n numeric)" \
           -c "INSERT INTO s VALUES (1, '2025-01-01', '2025-01-01', 1), (2, NULL, NULL, 2)" \
           -c "SELECT format('%s %s %s %s', inserted, updated, deleted, unchanged) FROM elt_scd2_merge('pg_temp.h'::regclass, 'pg_temp.s'::regclass, ARRAY['id']::text[], '2025-01-01'::timestamptz, NULL::text[], 'invalidate'::text)" \
           -c "UPDATE s SET d = d + 1 WHERE id = 1" -c "DELETE FROM s WHERE id = 2" \
           -c "SELECT format('%s %s %s %s', inserted, updated, deleted, unchanged) FROM elt_scd2_merge('pg_temp.h'::regclass, 'pg_temp.s'::regclass, ARRAY['id']::text[], '2025-01-02'::timestamptz, NULL::text[], 'invalidate'::text)" \
           -c "SELECT string_agg(format('%s %s %s %s', id, d, valid_from::date, coalesce(valid_to::date::text, '-')), ', ' ORDER BY id, valid_from) FROM h" 2>&1 | tr '\n' '|')
check "$merged" "2 0 0 0|0 1 1 0|1 2025-01-01 2025-01-01 2025-01-02, 1 2025-01-02 2025-01-02 -, 2  2025-01-01 2025-01-02|" \
    "elt_scd2_merge gives the right history with public (and its operators) first in search_path"
check "$(hits)" "0" "no planted function or operator was ever called"

# ---- elt_grant_writer: another role runs the whole pipeline ----
q -c "SELECT elt_grant_writer('rel_etl')" >/dev/null
check "$(psql -qAtX -U rel_etl -d $db -c "SET client_min_messages = warning" -c "SELECT count(*) FROM elt_generate(150, 3, '2025-03-01')" \
          -c "SELECT status FROM elt_refresh(2)" 2>&1 | tr '\n' ' ')" \
      "$((8 + $(q -c "SELECT count(*) FROM elt.elt__mart_tables()"))) ok " \
    "rel_etl after elt_grant_writer: elt_generate and elt_refresh run (marts included)"
check "$(q -c "SELECT clock FROM elt.settings")" "2025-03-03" "... and the clock moved"
before=$(sums)
denied rel_etl 42501 "rel_etl may not hand its grants on" "SELECT elt_grant_writer('rel_nobody')"

[ -n "${KEEP:-}" ] || rm -f "$tmp_out"
[ -n "${KEEP:-}" ] || dropdb $db
cleanup_roles
[ $fails -eq 0 ]
