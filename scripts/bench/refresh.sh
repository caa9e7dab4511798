#!/usr/bin/env bash
# Refresh benchmark (issue 5): elt_refresh(1) for 100k users vs elt_generate
# of the same 100k-user population directly at the new date.
set -euo pipefail
users=${ELT_BENCH_REFRESH_USERS:-100000}
q() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
timed() {
    q -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$" 2>&1 \
        | sed -n 's/.*secs=//p'
}
q -c "SELECT count(*) FROM elt_generate($users, 42, '2025-06-30')" >/dev/null
tr=$(timed "PERFORM elt_refresh(1)")
rows=$(q -c "SELECT rows FROM elt.run_log ORDER BY run_id DESC LIMIT 1")
tg=$(timed "PERFORM elt_generate($users, 42, '2025-07-01', '2024-07-01')")
awk -v r="$tr" -v g="$tg" -v u="$users" -v rows="$rows" 'BEGIN {
    printf "refresh: one day for %d users %.2f s (%s); elt_generate at the new date %.2f s; ratio %.1fx (goal >= 20)\n", u, r, rows, g, g/r }'
