#!/usr/bin/env bash
# elt_distribute where Citus is absent (every machine, CI included): in a
# database without extension citus it raises 0A000 with a hint on how to
# install Citus, and changes nothing; a bad shard_count is 22023; the
# single-node paths stay in use (elt.elt__distributed() is false).
# Runs against the suite's server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=elt_t_citus_absent
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1' EXIT

q -c "CREATE EXTENSION elt" -c "SELECT count(*) FROM elt_generate(200, 3, '2025-04-30', build_marts => false)" >/dev/null
install_checksums
before=$(sums "$db" true)
out=$(q -c "\set VERBOSITY verbose" -c "SELECT elt_distribute()" 2>&1)
check "$(echo "$out" | grep -o 'ERROR: *[0-9A-Z]\{5\}' | grep -o '[0-9A-Z]\{5\}$')" "0A000" "elt_distribute without Citus raises 0A000"
check "$(echo "$out" | grep -c '^HINT: *Install Citus from its packages')" "1" "its hint says how to install Citus"
check "$(q -c "\set VERBOSITY verbose" -c "SELECT elt_distribute(0)" 2>&1 | grep -o 'ERROR: *[0-9A-Z]\{5\}' | grep -o '[0-9A-Z]\{5\}$')" "22023" \
      "elt_distribute(shard_count => 0) raises 22023"
same_sums "$before" "$(sums "$db" true)" "the refused calls changed nothing"
check "$(q -c "SELECT elt.elt__distributed()")" "f" "without Citus the warehouse is not distributed"
check "$(q -c "SELECT count(*) FROM elt.shard_groups")" "0" "the Citus driver table stays empty"
# every elt_raw and elt_mart table is placed once: distributed exactly when it has a user_id
check "$(q -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('elt_raw', 'elt_mart') AND c.relkind = 'r'
                  AND (SELECT count(*) FROM elt.elt__citus_tables() t WHERE t.tab = c.oid
                         AND t.placement = CASE WHEN EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id')
                                                THEN 'distributed' ELSE 'reference' END) <> 1") $(q -c "SELECT count(*) FROM elt.elt__citus_tables() WHERE tab::text IN ('elt_raw.users', 'elt_raw.usage', 'elt_mart.fct_mrr_monthly') AND placement = 'distributed'")" \
      "0 3" "elt_distribute would distribute every table with a user_id and make the others reference tables"
[ "$fails" -eq 0 ]
