#!/usr/bin/env bash
# Checks that deploy/holdup.service's SystemCallFilter lets through every
# system call holdup makes. The unit answers a denied call with EPERM
# (SystemCallErrorNumber) instead of killing the process, so a missing call
# would not crash holdup: it would quietly lose what the call does (an IO
# priority, a nice value, a port). The filter's groups are expanded by
# systemd's own tables (systemd-analyze syscall-filter), and holdup's calls
# are traced with strace while `holdup run` goes through an outage on the
# simulated rig: start-up, loss, protection, a control write, the end of
# the hold-up window (final flush, syncfs, the shutdown command), return,
# re-initialisation, replay, the history reaching the master, shutdown.
#
#   deploy/verify-syscalls.sh HOLDUP_BINARY SIM_CONFIG
#   (needs Debian packages: systemd, strace)
#
# Calls the Go runtime makes and gets along without are listed in
# tolerated below with the reason; any other denied call fails the check.
# The trace is the build machine's architecture: the groups name the same
# calls for arm, where holdup runs (systemd keeps the tables per ABI).
set -euo pipefail
bin=${1:?usage: verify-syscalls.sh HOLDUP_BINARY SIM_CONFIG}
cfg=${2:?usage: verify-syscalls.sh HOLDUP_BINARY SIM_CONFIG}
unit="$(dirname "$0")/holdup.service"
for t in systemd-analyze strace; do
  command -v "$t" >/dev/null 2>&1 || { echo "verify-syscalls: $t not found (apt-get install systemd strace)" >&2; exit 1; }
done

# Calls denied under the unit that holdup does not need:
#   prlimit64  the Go runtime raises its RLIMIT_NOFILE soft limit to the
#              hard one at start and ignores a refusal: holdup holds a few
#              dozen descriptors, far below the default soft limit (1024).
declare -A tolerated=([prlimit64]=1)

# expand GROUP-OR-CALL...: the system calls, groups expanded recursively.
declare -A seen_group=()
expand() {
  local x
  for x in "$@"; do
    if [[ $x == @* ]]; then
      [[ -n ${seen_group[$x]:-} ]] && continue
      seen_group[$x]=1
      # shellcheck disable=SC2046
      expand $(systemd-analyze syscall-filter --no-pager "$x" | tail -n +2 | grep -v '^ *#' | tr -d ' ')
    else
      echo "$x"
    fi
  done
}

# The filter as systemd applies it: the allow-lists in order, a "~" line
# removing its calls from what is allowed so far.
declare -A allowed=()
while IFS= read -r line; do
  spec=${line#SystemCallFilter=}
  deny=0
  if [[ $spec == ~* ]]; then deny=1; spec=${spec#\~}; fi
  seen_group=()
  # shellcheck disable=SC2086
  for c in $(expand $spec); do
    if ((deny)); then unset "allowed[$c]"; else allowed[$c]=1; fi
  done
done < <(grep '^SystemCallFilter=' "$unit")
echo "verify-syscalls: the unit allows ${#allowed[@]} calls"

tmp=$(mktemp -d)
trap 'kill "${HOLDUP_PID:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Drive the daemon through an outage over the sim-control protocol.
coproc HOLDUP { exec strace -f -qq -o "$tmp/trace" "$bin" run -config "$cfg" -sim-dir "$tmp/state" -sim-control 2>"$tmp/log"; }
until_line() { # PATTERN: read the daemon's JSON lines until one matches
  local l
  while IFS= read -r -t 60 l <&"${HOLDUP[0]}"; do
    [[ $l == *$1* ]] && return 0
  done
  echo "verify-syscalls: no line with $1 (log: $(tail -5 "$tmp/log"))" >&2
  exit 1
}
say() { echo "$1" >&"${HOLDUP[1]}"; }
until_line '"ev":"ready"'
say loss
until_line '"step":"1-3 '
say "control sim-inverter limit 40"
until_line '"cmd":"control sim-inverter limit 40"'
# The end of the hold-up window: a heavy load drains the simulated supercap
# past the budget: final flush, syncfs, the shutdown command (the sim's
# recording script, traced too: it runs under the same filter), then the
# return reopens the data store.
say "supercap load 20"
until_line '"step":"-- shutdown command run'
say restore
until_line '"step":"2-8 outage history delivered'
say quit
wait "$HOLDUP_PID" || { echo "verify-syscalls: holdup run failed: $(tail -5 "$tmp/log")" >&2; exit 1; }

declare -A used=()
while read -r c; do used[$c]=1; done < <(sed -nE 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' "$tmp/trace" | sort -u)
denied=()
for c in "${!used[@]}"; do
  [[ -n ${allowed[$c]:-} || -n ${tolerated[$c]:-} ]] || denied+=("$c")
done
echo "verify-syscalls: holdup made ${#used[@]} distinct calls through an outage: $(printf '%s\n' "${!used[@]}" | sort | tr '\n' ' ')"
if ((${#denied[@]})); then
  echo "verify-syscalls: $unit denies calls holdup makes: ${denied[*]}" >&2
  exit 1
fi
for c in ioprio_set setpriority; do
  [[ -n ${used[$c]:-} ]] || echo "verify-syscalls: note: holdup made no $c call in this run (the unit allows it for the data store threads and control owners)"
done
echo "verify-syscalls: $unit ok (every call holdup made is allowed)"
