#!/usr/bin/env bash
# SCD2 merge benchmark (run through scripts/bench.sh scd2; PGHOST, PGPORT,
# PGDATABASE are set).  A history table of N keys (10 % with an older closed
# version) gets the next snapshot: 2 % of keys changed, 0.5 % new, 0.2 % gone.
# Three identical copies (same columns, same indexes) are merged by
#   elt  elt_scd2_merge(target, snapshot, '{id}', as_of)
#   dbt  the SQL dbt-postgres runs for a `check` snapshot (check_cols=all,
#        hard deletes invalidated): temp staging table from the insertions /
#        updates / deletes CTEs with md5 dbt_scd_id, UPDATE ... FROM staging
#        on dbt_scd_id, INSERT of the 'insert' rows;
#   dlt  the SQL dlt runs for write_disposition scd2 (gen_scd2_sql and
#        gen_scd2_retire_sql of dlt/destinations/sql_jobs.py, root table, no
#        merge_key): UPDATE retiring current rows whose row hash (_dlt_id) is
#        NOT IN the staging table's hashes, INSERT of staging rows whose hash
#        is NOT IN the current hashes.  The staging table with its row hashes
#        is built before timing (dlt computes them in Python).
# dbt's snapshot time and delete time are pinned to the same as_of, so all
# three must produce the same versions; that is checked on every round.
#
# Bounded: each baseline statement runs under statement_timeout
# (ELT_BENCH_SCD2_LIMIT seconds, default 60).  A baseline that times out is
# rolled back, reported as "> LIMIT s" and its ratio as ">= LIMIT/elt", and
# not run again in later rounds (nor compared).  On PostgreSQL's defaults
# this is what happens to dlt: its NOT IN (SELECT ...) over a million
# 32-byte hashes does not fit work_mem (4MB, hash_mem 8MB), so the planner
# cannot hash the subquery and rescans it for every row: quadratic.
# ELT_BENCH_SCD2_KEYS (default 1000000), ELT_BENCH_SCD2_ROUNDS (default 5).
set -euo pipefail
N=${ELT_BENCH_SCD2_KEYS:-1000000}
ROUNDS=${ELT_BENCH_SCD2_ROUNDS:-5}
LIMIT=${ELT_BENCH_SCD2_LIMIT:-60}
T0='2024-06-01 00:00:00+00'
T1='2024-06-02 00:00:00+00'

q() { PGOPTIONS='-c client_min_messages=warning' psql -qX -v ON_ERROR_STOP=1 -At "$@"; }

echo "scd2: setting up $N keys"
q -v n="$N" -v t0="$T0" <<'SQL'
SET TimeZone = 'UTC';
DROP TABLE IF EXISTS b_hist, b_snap, b_dlt_stage CASCADE;
-- the history: every key current since t0, 10 % with an older version
CREATE TABLE b_hist AS
SELECT i::bigint AS id, 'user_' || i AS a,
       CASE WHEN i % 97 = 0 THEN NULL ELSE (i % 1000)::int END AS b,
       round((i % 10007) * 1.37, 2) AS c, date '2020-01-01' + (i % 2000)::int AS d,
       :'t0'::timestamptz AS valid_from, NULL::timestamptz AS valid_to
FROM generate_series(1, :n) i
UNION ALL
SELECT i, 'user_' || i || '_old', (i % 1000)::int, round((i % 10007) * 1.37, 2),
       date '2020-01-01' + (i % 2000)::int,
       :'t0'::timestamptz - interval '30 days', :'t0'::timestamptz
FROM generate_series(3, :n, 10) i;
-- the next snapshot: 0.2 % gone, 2 % changed (text, int, NULL<->value), 0.5 % new
CREATE TABLE b_snap AS
SELECT id,
       CASE WHEN id % 100 = 52 THEN a || 'x' ELSE a END AS a,
       CASE WHEN id % 100 = 2 THEN coalesce(b + 1, 7)
            WHEN id % 200 = 102 THEN NULL ELSE b END AS b,
       c, d
FROM b_hist WHERE valid_to IS NULL AND id % 500 <> 1
UNION ALL
SELECT i, 'user_' || i, (i % 1000)::int, round((i % 10007) * 1.37, 2), date '2020-01-01' + (i % 2000)::int
FROM generate_series(:n + 1, :n + :n / 200) i;
ALTER TABLE b_snap ADD PRIMARY KEY (id);
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CREATE VIEW b_snap_view AS SELECT * FROM b_snap;
-- dlt's staging table: the load with its row hash (_dlt_id) per row
CREATE TABLE b_dlt_stage AS
SELECT id, a, b, c, d, 'load_2'::text AS _dlt_load_id,
       md5(concat_ws('|', id, a, b, c, d)) AS _dlt_id
FROM b_snap;
VACUUM ANALYZE b_hist; VACUUM ANALYZE b_snap; VACUUM ANALYZE b_dlt_stage;
SQL

# Fresh copies of the history for one round, same indexes on each.
make_copies() {
    q -v t1="$T1" >/dev/null <<'SQL'
SET TimeZone = 'UTC';
DROP TABLE IF EXISTS b_elt, b_elt2, b_dbt, b_dlt;
CREATE TABLE b_elt (id bigint NOT NULL, a text, b int, c numeric, d date,
                    valid_from timestamptz NOT NULL, valid_to timestamptz);
INSERT INTO b_elt SELECT * FROM b_hist;
ALTER TABLE b_elt ADD PRIMARY KEY (id, valid_from);
CREATE UNIQUE INDEX b_elt_current ON b_elt (id) WHERE valid_to IS NULL;
-- the same again, for the merge from a view (built the same way: indexes
-- after the data, so that they have the same shape)
CREATE TABLE b_elt2 (LIKE b_elt);
INSERT INTO b_elt2 SELECT * FROM b_hist;
ALTER TABLE b_elt2 ADD PRIMARY KEY (id, valid_from);
CREATE UNIQUE INDEX b_elt2_current ON b_elt2 (id) WHERE valid_to IS NULL;

CREATE TABLE b_dbt (id bigint NOT NULL, a text, b int, c numeric, d date,
                    dbt_scd_id text, dbt_updated_at timestamptz,
                    dbt_valid_from timestamptz NOT NULL, dbt_valid_to timestamptz);
INSERT INTO b_dbt SELECT id, a, b, c, d,
    md5(coalesce(cast(id as varchar), '') || '|' || coalesce(cast(valid_from as varchar), '')),
    valid_from, valid_from, valid_to FROM b_hist;
ALTER TABLE b_dbt ADD PRIMARY KEY (id, dbt_valid_from);
CREATE UNIQUE INDEX b_dbt_current ON b_dbt (id) WHERE dbt_valid_to IS NULL;

CREATE TABLE b_dlt (id bigint NOT NULL, a text, b int, c numeric, d date,
                    _dlt_load_id text, _dlt_id text,
                    _dlt_valid_from timestamptz NOT NULL, _dlt_valid_to timestamptz);
INSERT INTO b_dlt SELECT id, a, b, c, d, 'load_1', md5(concat_ws('|', id, a, b, c, d)),
    valid_from, valid_to FROM b_hist;
ALTER TABLE b_dlt ADD PRIMARY KEY (id, _dlt_valid_from);
CREATE UNIQUE INDEX b_dlt_current ON b_dlt (id) WHERE _dlt_valid_to IS NULL;
VACUUM ANALYZE b_elt; VACUUM ANALYZE b_elt2; VACUUM ANALYZE b_dbt; VACUUM ANALYZE b_dlt;
CHECKPOINT;
-- indexes are written around shared buffers: warm every table and index
-- alike, as they would be in a pipeline that merges every day
SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
WHERE c.relname IN ('b_snap', 'b_snap_pkey', 'b_dlt_stage')
   OR c.relname LIKE 'b_elt%' OR c.relname LIKE 'b_dbt%' OR c.relname LIKE 'b_dlt%';
SQL
}

# Seconds taken by the statements on stdin (one session, one transaction),
# after a checkpoint (not timed);
# with an argument, each statement may take that many seconds, after which
# the transaction is rolled back and "timeout" printed.
timed() {
    local out
    # no tool pays for the dirty buffers of the one before it
    q -c 'CHECKPOINT' >/dev/null
    if out=$({ echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
      echo "\\o /dev/null"
      echo "BEGIN;"
      [ -z "${1:-}" ] || echo "SET LOCAL statement_timeout = '${1}s';"
      cat
      echo "COMMIT;"
      echo "\\o"
      echo "SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);"
    } | q -v t1="$T1" 2>&1); then
        echo "$out" | tail -n 1     # the time (a WARNING may come before it)
    elif [ -n "${1:-}" ] && echo "$out" | grep -q 'statement timeout'; then
        echo timeout
    else
        echo "$out" >&2
        return 1
    fi
}

run_elt() {
    timed <<'SQL'
SELECT * FROM elt_scd2_merge('b_elt', 'b_snap', '{id}', :'t1');
SQL
}

# The same merge from a source without a key index (a view): no ordered
# input, so a hash join instead of the merge join of two index scans.
run_elt_hash() {
    timed <<'SQL'
SELECT * FROM elt_scd2_merge('b_elt2', 'b_snap_view', '{id}', :'t1');
SQL
}

# dbt-postgres: snapshot_staging_table (check strategy, check_cols='all',
# hard_deletes='invalidate') into a temp table, then snapshot_merge_sql.
run_dbt() {
    timed "$LIMIT" <<'SQL'
create temporary table "b_dbt__dbt_tmp" as (
    with snapshot_query as (
        select * from b_snap
    ),
    snapshotted_data as (
        select *, id as dbt_unique_key
        from b_dbt
        where dbt_valid_to is null
    ),
    insertions_source_data as (
        select *,
            id as dbt_unique_key,
            :'t1'::timestamptz as dbt_updated_at,
            :'t1'::timestamptz as dbt_valid_from,
            coalesce(nullif(:'t1'::timestamptz, :'t1'::timestamptz), null) as dbt_valid_to,
            md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(:'t1'::timestamptz as varchar ), '')) as dbt_scd_id
        from snapshot_query
    ),
    updates_source_data as (
        select *,
            id as dbt_unique_key,
            :'t1'::timestamptz as dbt_updated_at,
            :'t1'::timestamptz as dbt_valid_from,
            :'t1'::timestamptz as dbt_valid_to
        from snapshot_query
    ),
    deletes_source_data as (
        select *, id as dbt_unique_key
        from snapshot_query
    ),
    insertions as (
        select 'insert' as dbt_change_type, source_data.*
        from insertions_source_data as source_data
        left outer join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where snapshotted_data.dbt_unique_key is null
           or (snapshotted_data.dbt_unique_key is not null
               and (snapshotted_data.a != source_data.a
                    or ((snapshotted_data.a is null) and not (source_data.a is null))
                    or ((not snapshotted_data.a is null) and (source_data.a is null))
                    or snapshotted_data.b != source_data.b
                    or ((snapshotted_data.b is null) and not (source_data.b is null))
                    or ((not snapshotted_data.b is null) and (source_data.b is null))
                    or snapshotted_data.c != source_data.c
                    or ((snapshotted_data.c is null) and not (source_data.c is null))
                    or ((not snapshotted_data.c is null) and (source_data.c is null))
                    or snapshotted_data.d != source_data.d
                    or ((snapshotted_data.d is null) and not (source_data.d is null))
                    or ((not snapshotted_data.d is null) and (source_data.d is null))))
    ),
    updates as (
        select 'update' as dbt_change_type, source_data.*, snapshotted_data.dbt_scd_id
        from updates_source_data as source_data
        join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where (snapshotted_data.a != source_data.a
               or ((snapshotted_data.a is null) and not (source_data.a is null))
               or ((not snapshotted_data.a is null) and (source_data.a is null))
               or snapshotted_data.b != source_data.b
               or ((snapshotted_data.b is null) and not (source_data.b is null))
               or ((not snapshotted_data.b is null) and (source_data.b is null))
               or snapshotted_data.c != source_data.c
               or ((snapshotted_data.c is null) and not (source_data.c is null))
               or ((not snapshotted_data.c is null) and (source_data.c is null))
               or snapshotted_data.d != source_data.d
               or ((snapshotted_data.d is null) and not (source_data.d is null))
               or ((not snapshotted_data.d is null) and (source_data.d is null)))
    ),
    deletes as (
        select 'delete' as dbt_change_type, source_data.*,
            :'t1'::timestamptz as dbt_valid_from,
            :'t1'::timestamptz as dbt_updated_at,
            :'t1'::timestamptz as dbt_valid_to,
            snapshotted_data.dbt_scd_id
        from snapshotted_data
        left join deletes_source_data as source_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where source_data.dbt_unique_key is null
    )
    select * from insertions
    union all
    select * from updates
    union all
    select * from deletes
);
update b_dbt
set dbt_valid_to = DBT_INTERNAL_SOURCE.dbt_valid_to
from "b_dbt__dbt_tmp" as DBT_INTERNAL_SOURCE
where DBT_INTERNAL_SOURCE.dbt_scd_id::text = b_dbt.dbt_scd_id::text
  and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)
  and b_dbt.dbt_valid_to is null;
insert into b_dbt ("id", "a", "b", "c", "d", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
select DBT_INTERNAL_SOURCE."id", DBT_INTERNAL_SOURCE."a", DBT_INTERNAL_SOURCE."b",
       DBT_INTERNAL_SOURCE."c", DBT_INTERNAL_SOURCE."d", DBT_INTERNAL_SOURCE."dbt_scd_id",
       DBT_INTERNAL_SOURCE."dbt_updated_at", DBT_INTERNAL_SOURCE."dbt_valid_from",
       DBT_INTERNAL_SOURCE."dbt_valid_to"
from "b_dbt__dbt_tmp" as DBT_INTERNAL_SOURCE
where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text;
SQL
}

# dlt: gen_scd2_sql for a root table without merge_key (retire, then insert).
run_dlt() {
    timed "$LIMIT" <<'SQL'
UPDATE b_dlt SET "_dlt_valid_to" = :'t1'::timestamptz
WHERE "_dlt_valid_to" IS NULL
AND "_dlt_id" NOT IN (SELECT "_dlt_id" FROM b_dlt_stage);
INSERT INTO b_dlt ("id", "a", "b", "c", "d", "_dlt_load_id", "_dlt_id", "_dlt_valid_from", "_dlt_valid_to")
SELECT "id", "a", "b", "c", "d", "_dlt_load_id", "_dlt_id", :'t1'::timestamptz AS "_dlt_valid_from", NULL AS "_dlt_valid_to"
FROM b_dlt_stage AS s
WHERE "_dlt_id" NOT IN (SELECT "_dlt_id" FROM b_dlt WHERE "_dlt_valid_to" IS NULL);
SQL
}

# Versions as sets of (key, tracked columns, valid_from, valid_to): b_elt2
# and each baseline that ran ($1: dbt, $2: dlt, 1 = compare) against b_elt.
same_versions() {
    q -v dbt="$1" -v dlt="$2" <<'SQL'
WITH e AS (SELECT id, a, b, c, d, valid_from, valid_to FROM b_elt),
     e2 AS (SELECT id, a, b, c, d, valid_from, valid_to FROM b_elt2),
     t AS (SELECT id, a, b, c, d, dbt_valid_from, dbt_valid_to FROM b_dbt WHERE :dbt = 1),
     l AS (SELECT id, a, b, c, d, _dlt_valid_from, _dlt_valid_to FROM b_dlt WHERE :dlt = 1)
SELECT CASE WHEN NOT EXISTS (SELECT * FROM e EXCEPT ALL SELECT * FROM e2)
             AND NOT EXISTS (SELECT * FROM e2 EXCEPT ALL SELECT * FROM e)
             AND (:dbt = 0 OR (NOT EXISTS (SELECT * FROM e EXCEPT ALL SELECT * FROM t)
                               AND NOT EXISTS (SELECT * FROM t EXCEPT ALL SELECT * FROM e)))
             AND (:dlt = 0 OR (NOT EXISTS (SELECT * FROM e EXCEPT ALL SELECT * FROM l)
                               AND NOT EXISTS (SELECT * FROM l EXCEPT ALL SELECT * FROM e)))
            THEN 'yes' ELSE 'NO' END;
SQL
}

# A baseline that timed out once is not run again: "timeout" stands for it.
run_dbt_once() { if [ "$dbt_out" = 1 ]; then echo timeout; else run_dbt; fi; }
run_dlt_once() { if [ "$dlt_out" = 1 ]; then echo timeout; else run_dlt; fi; }

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
best() { sort -n | head -1; }
elt_t=(); hash_t=(); dbt_t=(); dlt_t=(); same=yes; dbt_out=0; dlt_out=0
for r in $(seq 1 "$ROUNDS"); do
    make_copies
    # rotate the order so that no tool always runs first after the checkpoint
    case $((r % 4)) in
    1) e=$(run_elt); h=$(run_elt_hash); t=$(run_dbt_once); l=$(run_dlt_once) ;;
    2) t=$(run_dbt_once); l=$(run_dlt_once); e=$(run_elt); h=$(run_elt_hash) ;;
    3) l=$(run_dlt_once); e=$(run_elt); t=$(run_dbt_once); h=$(run_elt_hash) ;;
    0) h=$(run_elt_hash); t=$(run_dbt_once); e=$(run_elt); l=$(run_dlt_once) ;;
    esac
    [ "$t" != timeout ] || dbt_out=1
    [ "$l" != timeout ] || dlt_out=1
    s=$(same_versions $((1 - dbt_out)) $((1 - dlt_out)))
    [ "$s" = yes ] || same=no
    echo "scd2: round $r: elt $e s (view source: $h s), dbt ${t/timeout/> $LIMIT} s, dlt ${l/timeout/> $LIMIT} s, same versions: $s"
    elt_t+=("$e"); hash_t+=("$h")
    [ "$t" = timeout ] || dbt_t+=("$t")
    [ "$l" = timeout ] || dlt_t+=("$l")
done
echo "scd2: merge result: $(q -c "SELECT count(*) FILTER (WHERE valid_from = '$T1') || ' versions opened, ' || count(*) FILTER (WHERE valid_to = '$T1') || ' closed, ' || count(*) || ' rows' FROM b_elt")"
[ "$dlt_out" = 0 ] || echo "scd2: dlt timed out after $LIMIT s (statement_timeout) and was not run again; its ratio is a lower bound"
[ "$dbt_out" = 0 ] || echo "scd2: dbt timed out after $LIMIT s (statement_timeout) and was not run again; its ratio is a lower bound"
# The machine may be shared: the best round is the least disturbed one.  A
# baseline that ever timed out counts as LIMIT seconds (a lower bound).
for f in best median; do
    e=$(printf '%s\n' "${elt_t[@]}" | $f)
    h=$(printf '%s\n' "${hash_t[@]}" | $f)
    if [ "$dbt_out" = 1 ]; then t=$LIMIT; else t=$(printf '%s\n' "${dbt_t[@]}" | $f); fi
    if [ "$dlt_out" = 1 ]; then l=$LIMIT; else l=$(printf '%s\n' "${dlt_t[@]}" | $f); fi
    awk -v f="$f" -v e="$e" -v h="$h" -v t="$t" -v l="$l" -v s="$same" -v n="$N" -v r="$ROUNDS" \
        -v tb="$dbt_out" -v lb="$dlt_out" 'BEGIN {
        tp = tb ? ">" : ""; tr = tb ? ">= " : ""
        lp = lb ? ">" : ""; lr = lb ? ">= " : ""
        printf "scd2: %s of %d rounds, %d keys\n", f, r, n
        printf "scd2: elt %.2f s, dbt %s%.2f s (%s%.1fx), dlt %s%.2f s (%s%.1fx), same versions: %s\n",
            e, tp, t, tr, t / e, lp, l, lr, l / e, s
        printf "scd2: elt from a view (hash join) %.2f s: dbt %s%.1fx, dlt %s%.1fx\n", h, tr, t / h, lr, l / h }'
done
