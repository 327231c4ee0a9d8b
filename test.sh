#!/usr/bin/env bash
# The one test command, on a fresh machine too: installs what the tests drive when it is missing (Debian's
# prometheus, chromium and tmux for the telemetry tests; js-libp2p 3.x with its own Node 22 from npm for the interop
# tests; pwsh 7.6.9 as a local dotnet tool), then runs every xunit suite (dotnet test QuDag.PS.sln) and every
# Pester suite in real pwsh. Every suite restores the NuGet packages it needs itself; the first run builds. Fails
# when either fails; both always run. Pester writes TestResults/pester.xml (NUnit) and ends with a line
# "Pester: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A log written to a file or by CI carries no colour codes: NO_COLOR for pwsh ($PSStyle), Pester, npm and the rest
# that honour it, and MSBuild's terminal logger off.
if [ ! -t 1 ] || [ -n "${CI:-}" ]; then export NO_COLOR=1 MSBUILDTERMINALLOGGER=off; fi
missing=()
for pair in prometheus:prometheus promtool:prometheus chromium:chromium tmux:tmux; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $(printf '%s\n' "${missing[@]}" | sort -u)
fi
if [ ! -d tests/interop/node_modules/libp2p ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
  tests/interop/npm-ci.sh   # npm ci under the Node 22 the lock file pins
fi
dotnet tool restore >/dev/null
exec dotnet pwsh -NoProfile -NonInteractive -File ./build.ps1 -Task Test "$@"
