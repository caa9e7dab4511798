#!/usr/bin/env bash
# elt on Citus (issue 17): a coordinator and two workers of its own, on free
# local ports, started with scripts/citus.sh: elt_distribute places the
# tables, elt_generate loads every shard on its worker, elt_refresh merges
# into the distributed tables, and every table has the same checksum as on
# a single node given the same arguments; every mart builder gives a
# single node's rows, built whole (elt_build_marts), from the refreshed days
# on (elt_update_marts) and by elt_refresh itself; elt_generate with
# build_marts in the same call gives a single node's marts, and fails
# without a trace; a plain DROP EXTENSION elt leaves nothing on any node.
# Where Citus is not installed in the PostgreSQL under test (CI), one SKIP
# line and exit 0.  Needs the suite's server (PGHOST/PGPORT/PGUSER) only to
# ask whether Citus is installed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

if [ "$(psql -qAtX -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'citus'" 2>/dev/null)" != "1" ] \
   || ! "$root/scripts/citus.sh" available; then
    echo "ok 1 - # SKIP citus is not installed"
    exit 0
fi

# three free consecutive ports, below the kernel's ephemeral range: a port
# in that range can be the local end of one of the suite's own client
# connections (or its TIME_WAIT), which no connect test sees but which makes
# the server's bind fail; a start that still fails to bind tries the next ports
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
first=25700
[ "$ephemeral_low" -gt $((first + 1000)) ] || first=$((ephemeral_low - 1200))

work=$(mktemp -d /tmp/elt-t-citus.XXXXXX)
chmod 755 "$work"
cleanup() { for c in "$work"/c*; do [ -d "$c" ] && "$root/scripts/citus.sh" stop "$c" >/dev/null 2>&1; done; rm -rf "$work"; }
trap cleanup EXIT

export PGHOST=127.0.0.1 PGUSER=postgres
db=elt_t_citus
single=elt_t_citus_single
base=""
tries=0
for b in $(seq "$first" 10 $((first + 990))); do
    busy $b || busy $((b + 1)) || busy $((b + 2)) && continue
    tries=$((tries + 1))
    if ELT_PG_OPTS="-c fsync=off" "$root/scripts/citus.sh" start "$work/c$b" "$b" 2 "$db" >"$work/start.log" 2>&1; then
        base=$b; break
    fi
    "$root/scripts/citus.sh" stop "$work/c$b" >/dev/null 2>&1
    grep -q 'Address already in use' "$work/start.log" && [ $tries -lt 3 ] || break
done
if [ -n "$base" ]; then
    ok "a coordinator and 2 workers start (ports $base-$((base + 2)))"
else
    notok "a coordinator and 2 workers start"; sed 's/^/#   /' "$work/start.log" 2>/dev/null; exit 1
fi
export PGPORT=$base
check "$(q -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND shouldhaveshards")" "2" \
      "two workers are registered"
createdb "$single"
psql -qAtX -d "$single" -c "CREATE EXTENSION elt" >/dev/null
q -c "CREATE EXTENSION elt" >/dev/null

sqlstate() { q -c "\set VERBOSITY verbose" -c "$1" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}' | grep -o '[0-9A-Z]\{5\}$' | head -1; }

# --- without Citus in the database: refused, and the single-node path ---
check "$(psql -qAtX -d "$single" -c "\set VERBOSITY verbose" -c "SELECT elt_distribute()" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}' | grep -o '[0-9A-Z]\{5\}$')" \
      "0A000" "elt_distribute in a database without extension citus raises 0A000"
check "$(sqlstate "SELECT elt_distribute(0)")" "22023" "elt_distribute(shard_count => 0) raises 22023"

# --- elt_distribute ---
out=$(q -c "SET client_min_messages = warning" -c "SELECT string_agg(table_name || ' ' || placement, ', ' ORDER BY table_name) FROM elt_distribute(4)" 2>&1)
check "$(echo "$out" | grep -c 'elt_raw.users distributed')" "1" "elt_distribute(4) distributes elt_raw.users"
# every elt_raw and elt_mart table: distributed by user_id and colocated with
# elt_raw.users exactly when it has a user_id column, else a reference table
placed() {
    q -c "SELECT string_agg(format('%s %s', c.oid::regclass,
                                   CASE WHEN p.partmethod = 'h' AND p.colocationid = u.colocationid
                                                AND column_to_column_name(c.oid, p.partkey) = 'user_id' THEN 'distributed'
                                           WHEN p.partmethod = 'n' THEN 'reference' ELSE 'other' END), ', ' ORDER BY c.oid::regclass::text)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid
          CROSS JOIN (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'elt_raw.users'::regclass) u
          WHERE n.nspname IN ('elt_raw', 'elt_mart') AND c.relkind = 'r'"
}
wanted() {
    q -c "SELECT string_agg(format('%s %s', c.oid::regclass,
                                   CASE WHEN EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id')
                                        THEN 'distributed' ELSE 'reference' END), ', ' ORDER BY c.oid::regclass::text)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('elt_raw', 'elt_mart') AND c.relkind = 'r'"
}
check "$(placed)" "$(wanted)" "tables with a user_id distributed by it and colocated with elt_raw.users, the others reference tables"
check "$(q -c "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text IN ('elt_raw.users', 'elt_raw.usage', 'elt_mart.fct_mrr_monthly', 'elt_raw.plans', 'elt_mart.dim_date')")" \
      "5" "among them users, usage, fct_mrr_monthly, plans and dim_date"
check "$(q -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'elt_raw.usage'::regclass")" "4" "shard_count => 4 gives 4 shards"
check "$(q -c "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'elt_raw.subscriptions'::regclass AND contype = 'p'")" \
      "PRIMARY KEY (subscription_id, valid_from, user_id)" "the primary key of subscriptions gains user_id"
check "$(q -c "SELECT count(*) FROM pg_constraint WHERE conrelid = 'elt_raw.users'::regclass AND contype = 'f'")" "3" \
      "the keys of users to the lookups are kept"
before=$(placed)
q -c "SET client_min_messages = warning" -c "SELECT count(*) FROM elt_distribute()" >/dev/null 2>&1 \
    && check "$(placed)" "$before" "elt_distribute again changes nothing" || notok "elt_distribute runs again"
check "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'elt'"; for p in 1 2; do psql -qAtX -p $((base + p)) -d "$db" -c "SELECT count(*) FROM pg_extension WHERE extname = 'elt'"; done)" \
      "$(printf '1\n1\n1')" "elt exists on the coordinator and both workers"

# --- generate: every shard loaded on its worker, the same rows as one node ---
install_checksums "$db"
install_checksums "$single"
gen="SELECT count(*) FROM elt_generate(1500, 7, '2025-05-31', build_marts => false)"
q -c "$gen" >/dev/null 2>"$work/gen.err" && ok "elt_generate on the coordinator" || { notok "elt_generate on the coordinator"; sed 's/^/#   /' "$work/gen.err"; }
psql -qAtX -d "$single" -c "$gen" >/dev/null 2>&1
# (elt.shard_groups is the Citus driver: empty on a single node)
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_generate every table has the checksum of a single node"
check "$(q -c "SELECT count(*) > 0 FROM elt_raw.usage")" "t" "usage was generated"
# every row sits in the shard its user_id hashes to, and shards are on both workers
check "$(q -c "SELECT count(*) FROM run_command_on_shards('elt_raw.usage',
                  \$\$SELECT coalesce(min(worker_hash(user_id)) || ' ' || max(worker_hash(user_id)), 'empty') FROM %s\$\$) r
               JOIN pg_dist_shard s USING (shardid)
               WHERE NOT r.success OR (r.result <> 'empty' AND (split_part(r.result, ' ', 1)::int < s.shardminvalue::int
                                                            OR split_part(r.result, ' ', 2)::int > s.shardmaxvalue::int))")" \
      "0" "every usage row is in the shard of its user_id"
check "$(q -c "SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid) WHERE s.logicalrelid = 'elt_raw.users'::regclass")" \
      "2" "the shards of users are on both workers"
check "$(q -c "SELECT sum(result::bigint) FROM run_command_on_shards('elt_raw.users', 'SELECT count(*) FROM %s')") $(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_raw.users")" \
      "$(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_raw.users") $(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_raw.users")" \
      "the shards hold every user once"

# --- refresh: SCD2 merges into distributed tables ---
check "$(q -c "SET client_min_messages = warning" -c "SELECT status FROM elt_refresh(4)" 2>&1)" "ok" "elt_refresh(4) on the coordinator"
psql -qAtX -d "$single" -c "SELECT status FROM elt_refresh(4)" >/dev/null
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_refresh every table has the checksum of a single node"
check "$(q -c "SELECT count(*) FROM (SELECT user_id FROM elt_raw.users WHERE valid_to IS NULL GROUP BY 1 HAVING count(*) > 1) d")" \
      "0" "one current version per user after the refresh"

# --- the mart builders on Citus: the rows of a single node ---
# (elt_build_marts runs every builder, dimensions first; elt_update_marts
# every builder from a day on; the same calls on the single node)
err=$(q -c "SET client_min_messages = warning" -c "SELECT count(*) FROM elt_build_marts()" 2>&1 >/dev/null)
check "$err" "" "elt_build_marts (every builder) runs on the coordinator"
psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_build_marts()" >/dev/null
check "$(q -c "SELECT count(*) FROM elt_mart.fct_mrr_monthly") $(q -c "SELECT count(*) FROM elt_mart.fct_kpi_daily") $(q -c "SELECT count(*) FROM elt_mart.fct_saas_metrics_monthly")" \
      "$(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_mart.fct_mrr_monthly") $(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_mart.fct_kpi_daily") $(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_mart.fct_saas_metrics_monthly")" \
      "fct_mrr_monthly, fct_kpi_daily and fct_saas_metrics_monthly have the rows of a single node"
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_build_marts every table (elt_mart included) has the checksum of a single node"
since=$(q -c "SELECT clock + 1 FROM elt.settings")
check "$(q -c "SET client_min_messages = warning" -c "SELECT status FROM elt_refresh(2)" 2>&1)" "ok" "elt_refresh(2) on the coordinator"
psql -qAtX -d "$single" -c "SELECT status FROM elt_refresh(2)" >/dev/null
err=$(q -c "SET client_min_messages = warning" -c "SELECT count(*) FROM elt_update_marts('$since')" 2>&1 >/dev/null)
check "$err" "" "elt_update_marts from the refreshed days on ($since) runs on the coordinator"
psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_update_marts('$since')" >/dev/null
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_refresh(2) and elt_update_marts every table has the checksum of a single node"
check "$(q -c "SELECT count(*) FROM elt_mart.fct_kpi_daily WHERE date >= '$since'") $(q -c "SELECT count(*) FROM elt_mart.fct_usage_daily WHERE usage_date >= '$since'")" \
      "2 $(psql -qAtX -d "$single" -c "SELECT count(*) FROM elt_mart.fct_usage_daily WHERE usage_date >= '$since'")" \
      "the refreshed days are in fct_kpi_daily and fct_usage_daily"
# elt_refresh updates elt_mart itself once it was built (marts_built, set by
# the elt_build_marts above): the same as a single node across a month end
# (the monthly builders' incremental path)
check "$(q -c "SELECT marts_built FROM elt.settings")" "t" "elt_build_marts recorded that elt_refresh keeps elt_mart up to date"
check "$(q -c "SET client_min_messages = warning" -c "SELECT status FROM elt_refresh(30)" 2>&1)" "ok" "elt_refresh(30) with the mart updates on the coordinator"
psql -qAtX -d "$single" -c "SELECT status FROM elt_refresh(30)" >/dev/null
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_refresh(30) (marts updated by it, across a month end) every table has the checksum of a single node"

# --- a failed elt_generate leaves every node as it was ---
# (a constraint of the user's own on elt.run_log that elt_generate's last
# statement violates, after every shard was loaded on its worker: the
# workers' loads must roll back with it)
# fails_whole TABLE CHECK CALL WHAT1 WHAT2: CALL fails (23514) on a NOT VALID
# CHECK constraint added to TABLE, and every table's checksum is unchanged;
# the same failed call on the single node uses up the same run_log ids
fails_whole() {
    local before add="ALTER TABLE $1 ADD CONSTRAINT t_citus_fail CHECK ($2) NOT VALID" drop="ALTER TABLE $1 DROP CONSTRAINT t_citus_fail"
    before=$(sums "$db" false true)
    q -c "$add" >/dev/null
    check "$(sqlstate "$3")" "23514" "$4"
    q -c "$drop" >/dev/null
    psql -qAtX -d "$single" -c "$add" -c "$3" >/dev/null 2>&1
    psql -qAtX -d "$single" -c "$drop" >/dev/null
    same_sums "$before" "$(sums "$db" false true)" "$5"
}
fails_whole elt.run_log "kind <> 'generate'" "SELECT count(*) FROM elt_generate(1600, 8, '2025-06-30', build_marts => false)" \
    "elt_generate(build_marts => false) failing after the load raises the error" \
    "the failed call changed nothing (the shards' loads rolled back on every worker)"

# --- elt_generate with build_marts (the default) in one call ---
# a call that fails in the mart build (a constraint of the user's own that
# fct_saas_metrics_monthly, the last fact built, violates), after the load
# and most builders: nothing changed on any node
fails_whole elt_mart.fct_saas_metrics_monthly "false" "SELECT count(*) FROM elt_generate(1600, 8, '2025-06-30')" \
    "elt_generate with build_marts failing in its last builder raises the builder's error" \
    "the failed call changed nothing (loaded shards and built marts rolled back)"
# the one call: load and every builder in one transaction, as a single node
gen="SELECT count(*) FROM elt_generate(1500, 7, '2025-05-31')"
err=$(q -c "SET client_min_messages = warning" -c "$gen" 2>&1 >/dev/null)
check "$err" "" "elt_generate with build_marts (the default) runs on a distributed warehouse"
psql -qAtX -d "$single" -c "SET client_min_messages = warning" -c "$gen" >/dev/null
same_sums "$(sums "$single" false true | grep -v '^elt.shard_groups ')" "$(sums "$db" false true | grep -v '^elt.shard_groups ')" \
          "after elt_generate with build_marts every table (elt_mart included) has the checksum of a single node"
check "$(q -c "SELECT marts_built FROM elt.settings") $(q -c "SELECT count(*) > 0 FROM elt_mart.fct_saas_metrics_monthly") $(q -c "SELECT count(*) > 0 FROM elt_mart.fct_usage_daily")" \
      "t t t" "it recorded marts_built and filled the facts"

# --- scheduling from the coordinator (pg_cron runs in this database) ---
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null 2>&1
q -c "SELECT elt_schedule('0 3 * * *', 1)" >/dev/null 2>"$work/cron.err"
check "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'elt-refresh' AND database = current_database()" 2>&1)" "1" \
      "elt_schedule creates the refresh job on the coordinator"
q -c "SELECT elt_unschedule()" >/dev/null 2>&1

# --- DROP EXTENSION elt (no CASCADE): nothing left on any node ---
# (Citus hides shards from pg_class unless asked to show them)
elt_rels() {
    psql -qAtX -p "$1" -d "$db" -c "SET citus.show_shards_for_app_name_prefixes = '*'" \
         -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart')"
}
check "$(psql -qAtX -d "$db" -c "SET citus.show_shards_for_app_name_prefixes = '*'" \
             -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart') AND c.relkind = 'r'
                   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'elt') AND d.deptype = 'e')")" \
      "0" "every table in elt's schemas on the coordinator (Citus's copies of the reference tables too) is a member of elt"
dump=$(pg_dump -h 127.0.0.1 -p "$base" -U postgres -s "$db" 2>&1)
check "$(echo "$dump" | grep -c 'CREATE EXTENSION IF NOT EXISTS elt') $(echo "$dump" | grep -cE 'CREATE TABLE elt(_raw|_mart)?\.')" "1 0" \
      "pg_dump of the coordinator: CREATE EXTENSION elt, no table of elt's schemas (no shard either)"
q -c "CREATE VIEW public.t_citus_dates AS SELECT date FROM elt_mart.dim_date" >/dev/null
check "$(sqlstate "DROP EXTENSION elt")" "2BP01" "DROP EXTENSION elt still refuses while an object of the user's own depends on elt"
q -c "DROP VIEW public.t_citus_dates" >/dev/null
q -c "SET client_min_messages = warning" -c "DROP EXTENSION elt" >/dev/null 2>"$work/drop.err" \
    && ok "DROP EXTENSION elt (without CASCADE) on the coordinator" || { notok "DROP EXTENSION elt"; sed 's/^/#   /' "$work/drop.err"; }
left=""
for p in 0 1 2; do
    left="$left$(elt_rels $((base + p))) "
done
check "$left" "0 0 0 " "no table of elt and no shard is left on any node"
check "$(for p in 0 1 2; do psql -qAtX -p $((base + p)) -d "$db" -c "SELECT count(*) FROM pg_extension WHERE extname = 'elt'"; done | tr '\n' ' ')" \
      "0 0 0 " "elt is gone from every node"
check "$(q -c "SELECT count(*) FROM pg_dist_partition")" "0" "no Citus table is left"

[ "$fails" -eq 0 ]
