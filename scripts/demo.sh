#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs elt, starts (or
# reuses) a local cluster, and the first time creates database "elt_demo"
# with pg_cron and a generated warehouse.  Running it again keeps your data
# and your own objects: it only rebuilds elt and updates the extension.
#   scripts/demo.sh             set up, or update and show the status
#   scripts/demo.sh timelapse   pg_cron refreshes one simulated day a minute
#   scripts/demo.sh reset       drop and regenerate the demo database's elt
#   scripts/demo.sh status      elt_status() of the demo database
#   scripts/demo.sh stop        stop the demo cluster (data kept)
#   ELT_DEMO_PORT   port (default 5455; a change takes effect on the next start)
#   ELT_DEMO_USERS  users generated the first time or on reset (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
port=${ELT_DEMO_PORT:-5455}
users=${ELT_DEMO_USERS:-1000}
db=elt_demo
cmd=${1:-up}
case "$cmd" in up|timelapse|reset|status|stop) ;; *)
    echo "usage: scripts/demo.sh [timelapse|reset|status|stop]" >&2; exit 2;;
esac

# The server runs as postgres, which must reach its data directory: a clone
# under /root (not readable by other users) keeps the cluster in /var/tmp.
demo=$top/.demo
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$top"; then
    demo=/var/tmp/elt-demo
    echo "== note: the postgres user cannot read $top (a home directory such as /root);"
    echo "   the demo cluster lives in $demo instead (clone elsewhere, e.g. /opt or /home, to keep it in .demo/)"
fi
datadir="$demo/pgdata"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
running() { [ -f "$datadir/postmaster.pid" ] && pg_isready -q -d postgres 2>/dev/null; }

if [ "$cmd" = stop ]; then
    scripts/cluster.sh stop "$datadir"
    echo "demo cluster stopped (data kept in $datadir; scripts/demo.sh starts it again)"
    exit 0
fi

if [ "$cmd" = up ] || [ "$cmd" = reset ]; then
    scripts/deps.sh
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    . scripts/lib.sh
    echo "== building and installing elt"
    elt_lock    # the same install lock as scripts/test.sh
    make -s && $SUDO make -s install
    flock -u 9
fi

if [ -f "$datadir/postmaster.pid" ] && ! running; then
    echo "== a demo server seems to run in $datadir but does not answer on port $port;" >&2
    echo "   it may use another port: scripts/demo.sh stop, then run again" >&2
    exit 1
fi
if ! running; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "== port $port is already in use by another program." >&2
        echo "   Choose another one, e.g. ELT_DEMO_PORT=5456 scripts/demo.sh" >&2
        exit 1
    fi
    echo "== starting the demo cluster on port $port ($datadir)"
    mkdir -p "$demo"
    chmod 755 "$demo"
    scripts/cluster.sh start "$datadir" "$port" "$db" || {
        echo "== the demo server did not start; its log is $datadir/server.log" >&2; exit 1; }
fi

sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

if [ "$cmd" = status ]; then
    sql -c "SELECT kind, name, status, detail FROM elt_status()"
    exit 0
fi

if [ "$cmd" = reset ]; then
    if psql -XqAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        echo "== reset: dropping extension elt in database $db with everything that depends on it:"
        echo "   its schemas elt, elt_raw, elt_mart and their data, its pg_cron jobs, and these objects of yours:"
        sql -At -c "SELECT '     ' || pg_describe_object('pg_class'::regclass, r.ev_class, 0)
                    FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
                    JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname IN ('elt', 'elt_raw', 'elt_mart') AND r.ev_class <> c.oid
                    GROUP BY 1" || true
        sql -c "SET client_min_messages = warning" \
            -c "DO \$\$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'elt') THEN PERFORM elt_unschedule(); END IF; END \$\$" \
            -c "DROP EXTENSION IF EXISTS elt CASCADE"
    fi
fi

psql -XqAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || createdb "$db"
# The extension is created once and then updated in place, never dropped:
# your views, grants and data stay.
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" \
    -c "CREATE EXTENSION IF NOT EXISTS elt" -c "ALTER EXTENSION elt UPDATE"

if [ "$(sql -At -c "SELECT count(*) FROM elt.settings")" = 0 ]; then
    echo "== first run: generating a year of a $users-user SaaS up to today, and scheduling"
    echo "   an hourly catch-up with pg_cron (elt_schedule(): the warehouse follows the calendar)"
    sql -v users="$users" -f scripts/demo.sql
else
    echo "== the demo database already holds a warehouse: kept as it is (scripts/demo.sh reset regenerates it)"
fi

if [ "$cmd" = timelapse ]; then
    echo "== time-lapse: pg_cron now refreshes one simulated day every minute; the simulated"
    echo "   clock runs ahead of the calendar (1,440 days a day). Back to hourly: scripts/demo.sh, then"
    echo "   psql ... -c \"SELECT elt_schedule()\""
    sql -c "SELECT elt_schedule('* * * * *', days => 1) AS job_id"
fi

sql -c "SELECT kind, name, status, detail FROM elt_status()"

cat <<INFO

== the demo warehouse is up
  host      127.0.0.1
  port      $port
  database  $db
  user      postgres   (no password: trust authentication on 127.0.0.1 only)

  psql:     psql -h 127.0.0.1 -p $port -U postgres $db
  URL:      postgresql://postgres@127.0.0.1:$port/$db
  data:     $datadir (server log: $datadir/server.log)

  scripts/dashboard.sh        build the dashboard of the marts (prints where to open it)
  scripts/demo.sh status      what pg_cron and elt did lately
  scripts/demo.sh timelapse   one simulated day a minute
  scripts/demo.sh reset       regenerate (drops elt's schemas and what depends on them)
  scripts/demo.sh stop        stop the server
INFO
