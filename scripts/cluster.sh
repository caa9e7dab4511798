#!/usr/bin/env bash
# A throwaway or local PostgreSQL 15 cluster with pg_cron preloaded.
#   cluster.sh start DATADIR PORT [CRON_DB]   initdb if needed, then start
#   cluster.sh stop  DATADIR
# The server refuses to run as root, so as root it runs as 'postgres'.
# It listens on 127.0.0.1 only, with trust authentication for local users.
# ELT_PG_OPTS adds server options (e.g. "-c fsync=off" for tests).
set -euo pipefail

# ELT_PG_ROOT: a private copy of the installation (see pgroot.sh).
PGBIN=${ELT_PG_ROOT:-}/usr/lib/postgresql/15/bin

as_owner() {
    # from /: the caller's directory may be one postgres cannot enter
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

cmd=${1:?usage: cluster.sh start|stop DATADIR [PORT] [CRON_DB]}
datadir=${2:?datadir}
case "$cmd" in
start)
    port=${3:?port}
    crondb=${4:-postgres}
    mkdir -p "$datadir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$datadir"
    chmod 700 "$datadir"
    if [ ! -f "$datadir/PG_VERSION" ]; then
        as_owner "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >> "$datadir/postgresql.conf" <<CONF
# added by elt scripts/cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_preload_libraries = 'pg_cron'
cron.database_name = '$crondb'
cron.use_background_workers = on
max_worker_processes = 32
timezone = 'UTC'
log_min_messages = warning
CONF
    fi
    if as_owner "$PGBIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
        exit 0
    fi
    # the port is given at each start (not written into postgresql.conf), so
    # a changed port takes effect on the next start
    if ! as_owner "$PGBIN/pg_ctl" -D "$datadir" -l "$datadir/server.log" -o "-p $port ${ELT_PG_OPTS:-}" -w -t 60 start >/dev/null; then
        echo "cluster.sh: the server in $datadir did not start on port $port; the end of its log ($datadir/server.log):" >&2
        tail -n 15 "$datadir/server.log" >&2 2>/dev/null || true
        exit 1
    fi
    ;;
stop)
    if [ -f "$datadir/postmaster.pid" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null || true
    fi
    ;;
*)
    echo "usage: cluster.sh start|stop DATADIR [PORT] [CRON_DB]" >&2; exit 2;;
esac
