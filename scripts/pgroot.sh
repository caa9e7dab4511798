#!/usr/bin/env bash
# Makes a private copy of the PostgreSQL 15 installation under ROOT, so that
# several checkouts on one machine can each `make install DESTDIR=ROOT` and
# run their own server without replacing each other's elt.  PostgreSQL finds
# its share and lib directories relative to its binaries, so the copy works.
#   pgroot.sh ROOT
set -euo pipefail
root=${1:?usage: pgroot.sh ROOT}
[ -x "$root/usr/lib/postgresql/15/bin/postgres" ] && exit 0
mkdir -p "$root/usr/lib" "$root/usr/share"
cp -a /usr/lib/postgresql "$root/usr/lib/"
cp -a /usr/share/postgresql "$root/usr/share/"
