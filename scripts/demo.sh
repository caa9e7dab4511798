#!/usr/bin/env bash
# The main job for a newcomer: installs what is missing, builds and installs
# elt, starts (or reuses) a local cluster whose data lives in .demo/ under the
# project, creates pg_cron and elt in database "elt_demo", runs the pipeline,
# and prints how to connect.
#   scripts/demo.sh          set up / refresh the demo
#   scripts/demo.sh stop     stop the demo cluster
#   ELT_DEMO_PORT            port (default 5455)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
port=${ELT_DEMO_PORT:-5455}
datadir="$top/.demo/pgdata"
db=elt_demo

if [ "${1:-}" = "stop" ]; then
    scripts/cluster.sh stop "$datadir"
    echo "demo cluster stopped (data kept in $datadir; rm -rf .demo to discard)"
    exit 0
fi

scripts/deps.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "== building and installing elt"
make -s && $SUDO make -s install

echo "== starting the demo cluster on port $port ($datadir)"
mkdir -p "$top/.demo"
chmod 755 "$top/.demo"
scripts/cluster.sh start "$datadir" "$port" "$db"

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql -qAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || createdb "$db"
# A fresh elt each time, so a rebuilt extension is what runs; its jobs first.
psql -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
DO \$\$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'elt') THEN PERFORM elt_unschedule(); END IF; END \$\$;
DROP EXTENSION IF EXISTS elt CASCADE;
CREATE EXTENSION elt;
SQL

echo "== running the pipeline"
if [ -f scripts/demo.sql ]; then
    psql -v ON_ERROR_STOP=1 -d "$db" -f scripts/demo.sql
else
    psql -v ON_ERROR_STOP=1 -d "$db" -c "SELECT * FROM elt_plans()"
fi

cat <<INFO

== the demo warehouse is up
  host      127.0.0.1
  port      $port
  database  $db
  user      postgres   (no password: trust authentication on 127.0.0.1 only)

  psql:     psql -h 127.0.0.1 -p $port -U postgres $db
  URL:      postgresql://postgres@127.0.0.1:$port/$db
  stop:     scripts/demo.sh stop

pg_cron now refreshes one simulated day every minute (a time-lapse): watch
  psql -h 127.0.0.1 -p $port -U postgres $db -c 'SELECT * FROM elt_status()'
and stop it with
  psql -h 127.0.0.1 -p $port -U postgres $db -c 'SELECT elt_unschedule()'
INFO
