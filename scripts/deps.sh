#!/usr/bin/env bash
# Installs the Debian packages elt needs to build and test, if missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(make gcc postgresql-15 postgresql-client-15 postgresql-server-dev-15
      postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
      chromium)    # chromium, node and npm: the dashboard (scripts/dashboard.sh) and its test
# A node from elsewhere (nodesource, nvm) brings its own npm: Debian's would conflict.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
