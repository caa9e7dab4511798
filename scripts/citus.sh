#!/usr/bin/env bash
# A throwaway Citus cluster on this machine: a coordinator and N workers,
# each a cluster of scripts/cluster.sh with citus preloaded before pg_cron,
# listening on 127.0.0.1 with trust authentication.
#   citus.sh start BASEDIR PORT NWORKERS DB   coordinator on PORT, workers on
#                                             PORT+1 .. PORT+NWORKERS; creates
#                                             DB and extension citus on each and
#                                             registers the workers (elt is not
#                                             created: CREATE EXTENSION elt on
#                                             the coordinator propagates)
#   citus.sh stop  BASEDIR                    stops every node under BASEDIR
#   citus.sh available                        exit 0 if Citus is installed in
#                                             the PostgreSQL in use
# Citus itself is installed from Citus's own packages (or a source build):
# this script only starts servers.  ELT_PG_ROOT and ELT_PG_OPTS as for cluster.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PGBIN=${ELT_PG_ROOT:-}/usr/lib/postgresql/15/bin

cmd=${1:?usage: citus.sh start|stop|available ...}
case "$cmd" in
available)
    libdir=$("$PGBIN/pg_config" --pkglibdir)
    sharedir=$("$PGBIN/pg_config" --sharedir)
    # (pg_config reports the directories next to its own binary, so a
    # private root's copy)
    [ -f "$libdir/citus.so" ] && [ -f "$sharedir/extension/citus.control" ]
    ;;
start)
    base=${2:?basedir}; port=${3:?port}; nworkers=${4:?nworkers}; db=${5:?db}
    mkdir -p "$base"
    chmod 755 "$base"
    opts="-c shared_preload_libraries=citus,pg_cron -c max_connections=200 ${ELT_PG_OPTS:-}"
    for i in $(seq 0 "$nworkers"); do
        ELT_PG_OPTS="$opts" "$here/cluster.sh" start "$base/node$i" $((port + i)) "$db"
        psql -qAtX -h 127.0.0.1 -p $((port + i)) -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT format('CREATE DATABASE %I', '$db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
SQL
        psql -qAtX -h 127.0.0.1 -p $((port + i)) -U postgres -d "$db" -v ON_ERROR_STOP=1 \
            -c 'CREATE EXTENSION IF NOT EXISTS citus' >/dev/null
    done
    psql -qAtX -h 127.0.0.1 -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 \
        -c "SELECT citus_set_coordinator_host('127.0.0.1', $port)" >/dev/null
    for i in $(seq 1 "$nworkers"); do
        psql -qAtX -h 127.0.0.1 -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 \
            -c "SELECT citus_add_node('127.0.0.1', $((port + i))) WHERE NOT EXISTS (SELECT FROM pg_dist_node WHERE nodeport = $((port + i)))" >/dev/null
    done
    ;;
stop)
    base=${2:?basedir}
    for d in "$base"/node*; do
        [ -d "$d" ] && "$here/cluster.sh" stop "$d"
    done
    ;;
*)
    echo "usage: citus.sh start BASEDIR PORT NWORKERS DB | stop BASEDIR | available" >&2; exit 2;;
esac
