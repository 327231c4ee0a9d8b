#!/usr/bin/env bash
# The xunit suites, run several rounds while `stress` (Debian's) keeps every core busy, failing on any failure in any
# round. A test that waits on time instead of on the event it means passes on an idle machine and fails on a loaded
# one (a CI runner, a laptop that compiles): this finds it before a user does. Run by .ci/run after ./test.sh.
#
#   tests/repeat-under-load.sh [ROUNDS]      # default 2; QUDAG_STRESS_CPUS workers (default: one per core)
#
# Budget: one round of the three suites under `stress --cpu 2` took about 6.5 minutes on the 2-core CI machine kind
# (P2p 193 s, Network 102 s, Telemetry 95 s; about 4.5 unloaded), so 2 rounds (13 minutes) keep .ci/run's whole run
# well inside its 90 minutes. Each round's console log and
# TRX land in TestResults/repeat-under-load/; a failure is printed with its message at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1 MSBUILDTERMINALLOGGER=off
rounds=${1:-2}
cpus=${QUDAG_STRESS_CPUS:-$(nproc)}
suites=(tests/QuDag.P2p.Tests tests/QuDag.Network.Tests tests/QuDag.Telemetry.Tests)
out=TestResults/repeat-under-load
rm -rf "$out" && mkdir -p "$out"

if ! command -v stress >/dev/null; then
  sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq stress
fi

# Built once, before the load starts: the rounds measure the tests, not the compiler.
for suite in "${suites[@]}"; do
  dotnet build "$suite" --nologo -v quiet -clp:ErrorsOnly
done

# In a process group of its own, so the trap ends the workers with their parent; --timeout is the backstop.
setsid stress --cpu "$cpus" --timeout 3600 >/dev/null 2>&1 &
stress_pid=$!
trap 'kill -- "-$stress_pid" 2>/dev/null || true' EXIT

passed=0 failed=0 broken=()
for round in $(seq 1 "$rounds"); do
  for suite in "${suites[@]}"; do
    name=$(basename "$suite")
    log="$out/$name.round$round.log"
    start=$SECONDS
    status=0
    dotnet test "$suite" --no-build --nologo --logger "console;verbosity=normal" \
      --logger "trx;LogFileName=$PWD/$out/$name.round$round.trx" >"$log" 2>&1 || status=$?
    # The console logger's totals: "Total tests: 564", "     Passed: 563", "     Failed: 1".
    summary=$(grep -E '^Total tests: [0-9]+' "$log" | tail -1 || true)
    p=$(sed -nE 's/^ +Passed: +([0-9]+)$/\1/p' "$log" | tail -1)
    f=$(sed -nE 's/^ +Failed: +([0-9]+)$/\1/p' "$log" | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    echo "round $round/$rounds $name: ${summary:+$summary, ${p:-0} passed, ${f:-0} failed}${summary:-no totals (exit $status)} [$((SECONDS - start)) s]"
    if [ "$status" -ne 0 ] || [ -z "$summary" ] || [ "${f:-0}" -ne 0 ]; then
      [ -z "$summary" ] && failed=$((failed + 1))
      broken+=("$log")
    fi
  done
done

for log in "${broken[@]}"; do
  echo "---- $log"
  grep -E -A12 '^ +Failed [A-Za-z]' "$log" || tail -40 "$log"
done
echo "Under load: $passed passed, $failed failed"
[ "${#broken[@]}" -eq 0 ]
