#!/usr/bin/env bash
# Refresh benchmark (issue 16): elt_refresh(1) for 100k users against
# elt_generate of the same population directly at the new date, on two
# kinds of day: the first of a month (the month before is final, the new
# month's MRR rows are written for the first time) and a day in the middle
# of a month (the current month's MRR rows are measured on a new day).
# Goals: a day at most 1.0 s, and at most 1/40 of the generate.
set -euo pipefail
users=${ELT_BENCH_REFRESH_USERS:-100000}
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
timed() {
    q -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}
q -c "SELECT count(*) FROM elt_generate($users, 42, '2025-06-30')" >/dev/null
t1=$(timed "PERFORM elt_refresh(1)")
rows1=$(q -c "SELECT rows FROM elt.run_log ORDER BY run_id DESC LIMIT 1")
t2=$(timed "PERFORM elt_refresh(1)")
rows2=$(q -c "SELECT rows FROM elt.run_log ORDER BY run_id DESC LIMIT 1")
tg=$(timed "PERFORM elt_generate($users, 42, '2025-07-01', '2024-07-01')")
awk -v a="$t1" -v b="$t2" -v g="$tg" -v u="$users" -v r1="$rows1" -v r2="$rows2" 'BEGIN {
    printf "refresh: %d users, one day: 2025-07-01 (first of a month) %.2f s (%s)\n", u, a, r1
    printf "refresh: %d users, one day: 2025-07-02 (mid-month) %.2f s (%s)\n", u, b, r2
    m = a > b ? a : b
    printf "refresh: elt_generate at the new date %.2f s; ratio to the slower day %.1fx (goals: a day <= 1.0 s, ratio >= 40)\n", g, g / m }'
