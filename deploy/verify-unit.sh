#!/usr/bin/env bash
# Checks deploy/holdup.service with `systemd-analyze verify` and fails on any
# message, warning included. ExecStart points at an installed path that does
# not exist on a build machine, so a copy of the unit is verified with
# ExecStart rewritten to a stand-in executable in a temp directory.
#
#   deploy/verify-unit.sh [UNIT]     (needs Debian package: systemd)
set -euo pipefail
unit=${1:-"$(dirname "$0")/holdup.service"}
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify-unit: systemd-analyze not found (apt-get install systemd)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$tmp/holdup"
chmod 0755 "$tmp/holdup"
grep -q '^ExecStart=/usr/local/bin/holdup ' "$unit" || {
  echo "verify-unit: $unit: expected ExecStart=/usr/local/bin/holdup …" >&2
  exit 1
}
sed "s#^ExecStart=/usr/local/bin/holdup #ExecStart=$tmp/holdup #" "$unit" >"$tmp/holdup.service"
out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./holdup.service 2>&1) || {
  echo "verify-unit: systemd-analyze verify failed:" >&2
  echo "$out" >&2
  exit 1
}
if [ -n "$out" ]; then
  echo "verify-unit: systemd-analyze verify printed (treated as failure):" >&2
  echo "$out" >&2
  exit 1
fi
echo "verify-unit: $unit ok"
