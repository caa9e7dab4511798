#!/usr/bin/env bash
# Upgrade from every released version: installs 0.1.0 from its frozen script
# (src/upgrade/elt--0.1.0.sql, shipped with the extension), generates and
# refreshes data, grants a reader, creates a view of the user's own, then runs
# ALTER EXTENSION elt UPDATE and checks: the version, the data (every table,
# row for row), the grants and the view survived; the extension's catalog
# (functions with bodies, settings and grants; tables, columns, constraints,
# indexes, comments; dump configuration) equals a fresh install's; a refresh
# continues the upgraded data, and data of another model version is refused
# with 55000.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
old=elt_t_upgrade_old
new=elt_t_upgrade_new
db=$old

for d in $old $new; do dropdb --if-exists $d >/dev/null 2>&1; done
psql -qAtX -d postgres -c "DROP ROLE IF EXISTS elt_t_upgrade_bi" >/dev/null 2>&1
psql -qAtX -d postgres -c "CREATE ROLE elt_t_upgrade_bi LOGIN" >/dev/null
createdb $old
createdb $new

# The catalog of the extension as sorted text lines, comparable across databases.
catalog() {
    psql -qAtX -d "$1" -v ON_ERROR_STOP=1 <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'elt'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (
    SELECT c.oid, c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart'))
SELECT line FROM (
    SELECT 'member ' || pg_describe_object(classid, objid, 0) AS line FROM members
    UNION ALL
    SELECT format('function %s returns %s; lang %s; %s %s %s %s rows %s cost %s; config %s; acl %s; body %s; comment %s',
                  p.oid::regprocedure, pg_get_function_result(p.oid), l.lanname, p.provolatile,
                  p.proisstrict, p.prosecdef, p.proparallel, p.prorows, p.procost, p.proconfig,
                  p.proacl, md5(coalesce(p.prosrc, '') || coalesce(p.probin, '') || coalesce(pg_get_function_sqlbody(p.oid), '')),
                  md5(coalesce(obj_description(p.oid, 'pg_proc'), '')))
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT format('function %s defaults %s', p.oid::regprocedure, pg_get_function_arguments(p.oid))
    FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT format('relation %s kind %s options %s acl %s persistence %s comment %s', r.name, c.relkind,
                  c.reloptions, c.relacl, c.relpersistence, md5(coalesce(obj_description(c.oid, 'pg_class'), '')))
    FROM rels r JOIN pg_class c ON c.oid = r.oid
    UNION ALL
    SELECT format('column %s.%s #%s %s notnull %s default %s identity %s generated %s collation %s acl %s comment %s',
                  r.name, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attcollation,
                  a.attacl, md5(coalesce(col_description(r.oid, a.attnum), '')))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s %s: %s', r.name, co.conname, pg_get_constraintdef(co.oid))
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('trigger %s %s', r.name, pg_get_triggerdef(t.oid)) FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT format('schema %s owner-acl %s comment %s', n.nspname, n.nspacl, md5(coalesce(obj_description(n.oid, 'pg_namespace'), '')))
    FROM pg_namespace n WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart')
    UNION ALL
    SELECT format('event trigger %s on %s enabled %s tags %s fn %s', e.evtname, e.evtevent, e.evtenabled, e.evttags, e.evtfoid::regproc)
    FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
    UNION ALL
    SELECT format('dump config %s %s', c.conf::regclass, c.cond)
    FROM pg_extension x, ext, unnest(x.extconfig, x.extcondition) AS c(conf, cond) WHERE x.oid = ext.oid
) s ORDER BY line COLLATE "C";
SQL
}

# --- 0.1.0 with data, a grant and a view of the user's own ---
q -c "CREATE EXTENSION elt VERSION '0.1.0'" >/dev/null
check "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'elt'")" "0.1.0" "0.1.0 installs from its frozen script"
q -c "SELECT count(*) FROM elt_generate(300, 5, '2025-05-30')" -c "SELECT count(*) FROM elt_refresh(2)" >/dev/null 2>&1
q -c "SELECT elt_grant_reader('elt_t_upgrade_bi')" >/dev/null
q -c "CREATE VIEW public.my_mrr AS SELECT month_start, sum(mrr) AS mrr FROM elt_mart.fct_mrr_monthly GROUP BY 1" >/dev/null
install_checksums $old
# elt.settings gains a column: its old columns are compared on their own
settings="SELECT seed, users, start_date, clock, marts_built, generated_at, refreshed_at FROM elt.settings"
before=$(sums $old true | grep -v '^elt.settings ')
before_settings=$(q -c "$settings")
before_view=$(q -c "SELECT md5(string_agg(format('%s %s', month_start, mrr), ',' ORDER BY month_start)) FROM public.my_mrr")
check "$(q -c "SELECT count(*) > 0 FROM elt_mart.fct_usage_daily")" "t" "0.1.0 generated and refreshed data"

# --- the upgrade ---
out=$(q -c "ALTER EXTENSION elt UPDATE" 2>&1)
check "$?" "0" "ALTER EXTENSION elt UPDATE succeeds ($out)"
check "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'elt'")" "0.2.0" "the extension is at 0.2.0"
# (elt.shard_groups is new in 0.2.0, and empty without Citus)
same_sums "$before" "$(sums $old true | grep -v '^elt.settings ' | grep -v '^elt.shard_groups ')" "every table's rows survive the upgrade"
check "$(q -c "$settings")" "$before_settings" "the settings survive the upgrade"
check "$(q -c "SELECT model_version FROM elt.settings")" "1" "data of 0.1.0 is recorded as model version 1"
check "$(q -c "SELECT md5(string_agg(format('%s %s', month_start, mrr), ',' ORDER BY month_start)) FROM public.my_mrr")" \
      "$before_view" "a view of the user's own over the marts survives"
check "$(psql -qAtX -d $old -U elt_t_upgrade_bi -c "SELECT count(*) > 0 FROM elt_mart.dim_user" 2>&1)" "t" \
      "a reader granted in 0.1.0 still reads the marts"

# --- the catalog equals a fresh install's ---
# (elt_grant_reader of 0.2.0 also grants what elt_status reads: granted again)
q -c "SELECT elt_grant_reader('elt_t_upgrade_bi')" >/dev/null
psql -qAtX -d $new -v ON_ERROR_STOP=1 -c "CREATE EXTENSION elt" -c "SELECT elt_grant_reader('elt_t_upgrade_bi')" >/dev/null
upgraded=$(catalog $old)
fresh=$(catalog $new)
check "$(echo "$fresh" | grep -c '^function ')" "$(echo "$upgraded" | grep -c '^function ')" "as many function lines as a fresh install"
if [ -n "$fresh" ] && [ "$upgraded" = "$fresh" ]; then
    ok "the upgraded catalog equals a fresh install's ($(echo "$fresh" | wc -l) lines)"
else
    notok "the upgraded catalog equals a fresh install's"
    diff <(echo "$fresh") <(echo "$upgraded") | head -40 | sed 's/^/#   /'
fi

# --- the upgraded data keeps working ---
# 0.2.0 simulates with model version 2: data of 0.1.0 (model 1) is not continued
got=$(q -c "\set VERBOSITY verbose" -c "SELECT * FROM elt_refresh(1)" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}' | grep -o '[0-9A-Z]\{5\}$')
check "$got" "55000" "a refresh of data from another model version stops with 55000"
check "$(q -c "SELECT clock FROM elt.settings")" "$(echo "$before_settings" | cut -d"|" -f4)" "the refused refresh left the clock where it was"
q -c "SELECT count(*) FROM elt_generate(30, 5, '2025-05-30', build_marts => false)" >/dev/null
check "$(q -c "SELECT status FROM elt_refresh(1)" 2>&1)" "ok" "elt_refresh continues data generated again by 0.2.0"

# --- a refresh job scheduled by 0.1.0 gets the command of 0.2.0 ---
# (pg_cron schedules from database "postgres" in the suite's cluster)
db=postgres
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" \
  -c "DROP EXTENSION IF EXISTS elt CASCADE" -c "CREATE EXTENSION elt VERSION '0.1.0'" >/dev/null
q -c "SELECT count(*) FROM elt_generate(30, 5, '2025-05-30', build_marts => false)" -c "SELECT elt_schedule('0 * * * *', 3)" >/dev/null 2>&1
check "$(q -c "SELECT command LIKE '%to_regprocedure(%' FROM cron.job WHERE jobname = 'elt-refresh'")" "t" \
      "0.1.0 scheduled its job with the old command"
q -c "ALTER EXTENSION elt UPDATE" >/dev/null
check "$(q -c "SELECT command = elt.elt__job_command(3) FROM cron.job WHERE jobname = 'elt-refresh'")" "t" \
      "after the upgrade the job runs the command of 0.2.0, with the same days"
q -c "SET client_min_messages = warning" -c "DROP EXTENSION elt" >/dev/null
check "$(q -c "SELECT count(*) FROM cron.job")" "0" "DROP EXTENSION of the upgraded elt removes its jobs"
q -c "DROP EXTENSION pg_cron" >/dev/null

for d in $old $new; do dropdb --if-exists $d >/dev/null 2>&1; done
psql -qAtX -d postgres -c "DROP ROLE IF EXISTS elt_t_upgrade_bi" >/dev/null 2>&1
[ "$fails" -eq 0 ]
