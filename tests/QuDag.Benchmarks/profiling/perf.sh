#!/usr/bin/env bash
# True CPU samples of one diagnostic mode and of everything else on the machine, with perf (Debian's linux-perf):
#   tests/QuDag.Benchmarks/profiling/perf.sh OUT.data <mode> [args...]        e.g.  perf.sh /tmp/c.data cmdlets 1000 remote cmdlet 1
# Complements profile.sh: dotnet-trace samples threads whether they run or not and cannot tell a blocking recv from
# work; perf samples what is on a CPU (cpu-clock, no hardware counters in this VM), native and kernel code included,
# in every process (the peer child processes too). JIT-compiled frames are named through perf maps
# (DOTNET_PerfMapEnabled, inherited by the children). Like profile.sh, the mode waits at QUDAG_PROFILE_GATE before its
# measured phase; perf runs from the gate to the process's exit. Prints the CPU per process (pid) and the top symbols
# of each of the busiest processes; the raw data stays in OUT.data for `perf report -i OUT.data`. CALLGRAPH=dwarf unwinds
# through native libraries built without frame pointers (OpenSSL), at a higher cost per sample (use FREQ=199).
set -euo pipefail
out=$1
shift
source "$(dirname "$0")/common.sh"
gate=$(mktemp -u)
log=$out.app.log
QUDAG_PROFILE_GATE=$gate DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet "$dll" "$@" > "$log" 2>&1 &
app=$!
wait_for_gate "$log" "$app" || exit 1
perf record -a --call-graph ${CALLGRAPH:-fp} -F ${FREQ:-999} -e cpu-clock -o "$out" > "$out.perf.log" 2>&1 &
perf=$!
sleep 1
touch "$gate"
wait "$app" || true
kill -INT "$perf"
wait "$perf" || true
rm -f "$gate"
cat "$log"
echo "== CPU samples per process (all CPUs; the mode's processes are named in its output) =="
perf report -i "$out" --no-children --sort pid --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -12
for pid in $(perf report -i "$out" --no-children --sort pid --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -${PIDS:-3} |
        sed -E 's/.* ([0-9]+):.*/\1/'); do
    echo "== top symbols of pid $pid (share of all samples) =="
    perf report -i "$out" --no-children --pid "$pid" --sort dso,sym --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -${TOP:-25}
done
