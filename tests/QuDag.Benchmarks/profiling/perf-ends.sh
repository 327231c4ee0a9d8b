#!/usr/bin/env bash
# True CPU samples of the two ends of one diagnostic mode (the mode's process and its CHILD listener), each recorded on
# its own, so a share is of that process's CPU and other builds on a shared machine do not dilute it:
#   BENCH=libp2p tests/QuDag.Benchmarks/profiling/perf-ends.sh /tmp/bulk loop bulk-send 6 ours noise
# writes /tmp/bulk.GATE.data and /tmp/bulk.CHILD.data and prints, for each, the CPU by library and the top symbols.
# perf.sh records the whole machine instead (what else ran, and its share). JIT-compiled frames are named through perf
# maps; CALLGRAPH=dwarf unwinds through native libraries without frame pointers (OpenSSL).
set -euo pipefail
out=$1
shift
source "$(dirname "$0")/common.sh"
gate=$(mktemp -u)
log=$out.app.log
QUDAG_PROFILE_GATE=$gate DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet "$dll" "$@" > "$log" 2>&1 &
app=$!
wait_for_gate "$log" "$app" || exit 1
records=()
roles=()
while read -r role pid; do
    perf record -p "$pid" --call-graph "${CALLGRAPH:-fp}" -F "${FREQ:-999}" -e cpu-clock -o "$out.$role.data" > "$out.$role.log" 2>&1 &
    records+=("$!")
    roles+=("$role")
done < <(awk '/^(GATE|CHILD) /{print $1, $2}' "$log")
measure "$gate" "$log" "$app" "${records[@]}"
rm -f "$gate"
cat "$log"
for role in "${roles[@]}"; do
    echo "== $role: CPU by library =="
    perf report -i "$out.$role.data" --no-children --sort dso --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -10
    echo "== $role: top symbols =="
    perf report -i "$out.$role.data" --no-children --sort dso,sym --stdio -g none 2> /dev/null | grep -E '^ +[0-9]' | head -"${TOP:-30}"
done
