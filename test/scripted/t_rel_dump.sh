#!/usr/bin/env bash
# Dump and restore: pg_dump -Fc of a database with generated and refreshed
# data, pg_restore into a new database: every table of elt, elt_raw and
# elt_mart (and the run log's sequence) is identical, and elt_refresh(1)
# continues from the same clock with the same result as on the original.
# Runs against the suite's throwaway server (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
src=elt_t_dump_src
dst=elt_t_dump_dst
db=$src
work=$(mktemp -d)

for d in $src $dst; do dropdb --if-exists $d >/dev/null 2>&1; done
createdb $src
q -c "CREATE EXTENSION elt" >/dev/null
q -c "SELECT count(*) FROM elt_generate(800, 3, '2025-05-31')" -c "SELECT count(*) FROM elt_refresh(3)" >/dev/null 2>&1
q -c "SELECT count(*) FROM elt_refresh(3)" >/dev/null 2>&1
install_checksums $src
before=$(sums $src true)

pg_dump -Fc -f "$work/elt.dump" $src 2>"$work/dump.err"
check "$?" "0" "pg_dump -Fc succeeds"
createdb $dst
pg_restore -d $dst "$work/elt.dump" >"$work/restore.out" 2>&1
rc=$?
check "$rc" "0" "pg_restore into a new database succeeds"
[ $rc -eq 0 ] || sed 's/^/#   /' "$work/restore.out" | head -20
check "$(wc -l <"$work/restore.out")" "0" "pg_restore prints no warning or error"

after=$(sums $dst true)
same_sums "$before" "$after" "every table of elt, elt_raw and elt_mart, and the run log's sequence, is identical after the restore"
check "$(echo "$after" | grep -c '^elt')" "20" "... all 19 tables and 1 sequence compared (elt.mart_usage_totals included)"
check "$(psql -qAtX -d $dst -c "SELECT count(*) FILTER (WHERE date_key = -1) FROM elt_mart.dim_date") $(psql -qAtX -d $dst -c "SELECT count(*) FILTER (WHERE user_key = -1) FROM elt_mart.dim_user")" "1 1" "the Unknown members exist once"
check "$(psql -qAtX -d $dst -c "SELECT clock FROM elt.settings")" "$(q -c "SELECT clock FROM elt.settings")" "the restored clock is the original's"

# the restored database goes on like the original
a=$(q -c "SELECT clock_before || ' ' || clock_after || ' ' || status FROM elt_refresh(1)" 2>/dev/null)
b=$(psql -qAtX -d $dst -c "SELECT clock_before || ' ' || clock_after || ' ' || status FROM elt_refresh(1)" 2>/dev/null)
check "$b" "2025-06-06 2025-06-07 ok" "elt_refresh(1) on the restored database continues from the same clock"
check "$a" "$b" "... as on the original"
same_sums "$(sums $src true true)" "$(sums $dst true true)" "... and gives the same tables, run log and sequence as refreshing the original"
# new run ids continue after the restored ones (no primary key clash)
check "$(psql -qAtX -d $dst -c "SELECT count(*) = count(DISTINCT run_id) AND max(run_id) = count(*) FROM elt.run_log")" "t" "new runs get fresh run ids"

# a dump of the restored database restores again (no drift across generations)
pg_dump -Fc -f "$work/elt2.dump" $dst 2>/dev/null
dropdb $src; createdb $src
pg_restore -d $src "$work/elt2.dump" >/dev/null 2>&1
check "$?" "0" "a dump of the restored database restores too"
same_sums "$(sums $dst true)" "$(sums $src true)" "... with identical tables"

rm -rf "$work"
dropdb $src; dropdb $dst
[ $fails -eq 0 ]
