#!/usr/bin/env bash
# Generation benchmark (issue 3), against database $PGDATABASE with elt installed:
#  - elt_generate at 10k and 100k users: time per user (linearity)
#  - usage rows/s of elt_generate vs COPY FROM a CSV of the identical rows
#    into an identical table (same indexes and foreign key)
#  - vs a hand-written SQL generator (INSERT ... SELECT generate_series with
#    random() and md5()) producing as many rows into an identical table
#  - backend peak private memory (RssAnon, sampled) of elt_generate at 1M users
# Timings are the best of two runs of each contender.
# ELT_BENCH_BIG_USERS overrides the 1M (0 skips it).
set -euo pipefail
work=${ELT_BENCH_WORK:?run through scripts/bench.sh}
big=${ELT_BENCH_BIG_USERS:-1000000}
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
. "$(dirname "$0")/../lib.sh"

# elapsed seconds of one SQL statement, measured inside the server
timed() {
    q -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}

# best of two runs (after RESET_SQL before each): the machine may be shared,
# so every contender gets the same two chances
best2() {
    local a b
    [ -z "${2:-}" ] || q -c "$2" >/dev/null
    a=$(timed "$1")
    [ -z "${2:-}" ] || q -c "$2" >/dev/null
    b=$(timed "$1")
    awk -v a="$a" -v b="$b" 'BEGIN { print (a < b ? a : b) }'
}

# warm-up: a first large load creates WAL segments and relation files that
# later runs (elt's and the baselines') reuse
timed "PERFORM elt_generate(100000, 42, '2025-06-30', build_marts => false)" >/dev/null
t10=$(best2 "PERFORM elt_generate(10000, 42, '2025-06-30', build_marts => false)")
u10=$(q -c "SELECT count(*) FROM elt_raw.usage")
t100=$(best2 "PERFORM elt_generate(100000, 42, '2025-06-30', build_marts => false)")
u100=$(q -c "SELECT count(*) FROM elt_raw.usage")
echo "generate: 10k users ${t10} s (${u10} usage rows), 100k users ${t100} s (${u100} usage rows)"
awk -v a="$t10" -v b="$t100" 'BEGIN { printf "generate: time per user at 100k / at 10k = %.2f (goal <= 1.3)\n", (b/100000)/(a/10000) }'

# COPY baseline: the identical rows, from a server-side CSV, into an identical table
mkdir -p "$work/csv"; chown postgres: "$work/csv" 2>/dev/null || true
q <<SQL
CREATE SCHEMA bench;
CREATE TABLE bench.usage_copy (LIKE elt_raw.usage INCLUDING ALL);
ALTER TABLE bench.usage_copy ADD FOREIGN KEY (plan_id) REFERENCES elt_raw.plans;
CREATE TABLE bench.usage_sql (LIKE elt_raw.usage INCLUDING ALL);
ALTER TABLE bench.usage_sql ADD FOREIGN KEY (plan_id) REFERENCES elt_raw.plans;
COPY elt_raw.usage TO '$work/csv/usage.csv' (FORMAT csv);
CHECKPOINT;
SQL
tcopy=$(best2 "COPY bench.usage_copy FROM '$work/csv/usage.csv' (FORMAT csv)" "TRUNCATE bench.usage_copy")
same=$(q -c "SELECT count(*) = 0 FROM ((TABLE bench.usage_copy EXCEPT ALL TABLE elt_raw.usage) UNION ALL (TABLE elt_raw.usage EXCEPT ALL TABLE bench.usage_copy)) d")
awk -v g="$t100" -v c="$tcopy" -v n="$u100" -v s="$same" 'BEGIN {
    printf "usage rows/s: elt_generate %.0f (whole call: users, subscriptions and usage), COPY FROM csv %.0f (usage only); ratio %.2fx (goal >= 2), identical rows: %s\n", n/g, n/c, c/g, (s=="t"?"yes":"no") }'

tsql=$(best2 "INSERT INTO bench.usage_sql
  SELECT g, (random() * 1e12)::bigint, 1 + (random() * 4)::int,
         ('x' || substr(md5(g::text), 1, 12))::bit(48)::bigint,
         date '2024-07-01' + (random() * 364)::int,
         (random() * 60)::int, (random() * 900)::int, (random() * 700)::int,
         1 + (random() * 120)::int
  FROM generate_series(1, $u100) g" "TRUNCATE bench.usage_sql")
awk -v g="$t100" -v s="$tsql" 'BEGIN { printf "hand-written SQL generator (same row count): %.2f s; elt_generate %.2f s; ratio %.2fx (goal >= 5)\n", s, g, s/g }'
q -c "DROP SCHEMA bench CASCADE"

# memory at $big users: sample the backend's private resident memory
[ "$big" -gt 0 ] || exit 0
res=$(elt_timed_peak "PERFORM elt_generate($big, 42, '2025-06-30', build_marts => false)" "$work")
read -r tbig peak <<< "$res"
ubig=$(q -c "SELECT count(*) FROM elt_raw.usage")
awk -v t="$tbig" -v n="$ubig" -v k="$peak" -v u="$big" 'BEGIN {
    printf "generate: %d users in %.1f s, %d usage rows (%.0f rows/s); backend peak private memory %.0f MB (goal < 256)\n", u, t, n, n/t, k/1024 }'
