# lib.sh: what test.sh and bench.sh share (sourced, from the project root).

# elt_setup NAME: sets SUDO, root, work and datadir; takes the install lock.
# Installing replaces the elt of the PostgreSQL installation used, so runs
# sharing one are serialised; ELT_PG_ROOT selects a private copy instead
# (scripts/pgroot.sh), so several checkouts can run at once.
elt_setup() {
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    work=$(mktemp -d "/tmp/elt-$1.XXXXXX")
    chmod 755 "$work"
    datadir="$work/pgdata"
    root=${ELT_PG_ROOT:-}
    [ -z "$root" ] || scripts/pgroot.sh "$root"
    elt_lock
}

# elt_lock: the install lock (fd 9) for the installation in use ($root).
elt_lock() {
    exec 9>"/tmp/elt-test$(echo "${root:-}" | tr / _).lock"
    flock 9
}

# elt_install: a clean build, installed into the installation in use.
elt_install() {
    make -s clean && make -s && $SUDO make -s install DESTDIR="$root"
}

# elt_timed_peak STATEMENT WORKDIR: runs STATEMENT (a PERFORM) in a DO block
# of a new session (PG* env) and prints "SECONDS KB": its time measured in
# the server and the backend's peak private memory (RssAnon, sampled every
# 0.5 s).  Used by the benchmarks' big runs.
elt_timed_peak() {
    local out="$2/peak.out" pidf="$2/peak.pid" job peak=0 pid kb
    rm -f "$out" "$pidf"
    (
        psql -qAtX -v ON_ERROR_STOP=1 >"$out" 2>&1 <<SQL
SET client_min_messages = notice;
SELECT pg_backend_pid() \\g $pidf
DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN $1; RAISE NOTICE 'secs=%', extract(epoch FROM clock_timestamp() - t); END \$\$;
SQL
    ) &
    job=$!
    while kill -0 $job 2>/dev/null; do
        if [ -s "$pidf" ]; then
            pid=$(tr -dc 0-9 < "$pidf")
            kb=$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
            [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        fi
        sleep 0.5
    done
    wait $job || { cat "$out" >&2; return 1; }
    echo "$(sed -n 's/.*secs=//p' "$out") $peak"
}
