#!/usr/bin/env bash
# Profiles one diagnostic mode with dotnet-trace (the repo's local tool, .config/dotnet-tools.json):
#   tests/QuDag.Benchmarks/profile.sh OUT.nettrace <mode> [args...]     e.g.  profile.sh /tmp/m.nettrace loop messages 10 64
# Build first: dotnet build -c Release tests/QuDag.Benchmarks. The mode runs with QUDAG_PROFILE_GATE set, so it waits
# before its measured phase; dotnet-trace attaches to it then (sample profiler: every managed thread, ~1 kHz), the gate
# opens, and the trace runs until the process exits. Then trace-top prints the top frames, waits set apart.
set -euo pipefail
out=$1
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
dll=$root/tests/QuDag.Benchmarks/bin/Release/net10.0/QuDag.Benchmarks.dll
gate=$(mktemp -u)
log=$out.app.log
QUDAG_PROFILE_GATE=$gate dotnet "$dll" "$@" > "$log" 2>&1 &
app=$!
until grep -q '^GATE ' "$log"; do
    kill -0 "$app" 2> /dev/null || { cat "$log"; exit 1; }
    sleep 0.2
done
pid=$(awk '/^GATE /{print $2; exit}' "$log")
(cd "$root" && dotnet dotnet-trace collect -p "$pid" --profile dotnet-sampled-thread-time -o "$out" < /dev/null > "$out.collect.log" 2>&1) &
tracer=$!
until grep -q '^Output File' "$out.collect.log" 2> /dev/null; do
    kill -0 "$tracer" 2> /dev/null || { cat "$out.collect.log"; exit 1; }
    sleep 0.1
done
sleep 1 # the session is live once the file is named; give its first buffers a moment
touch "$gate"
wait "$app" || true
wait "$tracer" || true
rm -f "$gate"
cat "$log"
dotnet "$dll" trace-top "$out" "${TOP:-25}"
