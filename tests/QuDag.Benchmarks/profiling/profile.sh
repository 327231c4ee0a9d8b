#!/usr/bin/env bash
# Profiles one diagnostic mode with dotnet-trace (the repo's local tool, .config/dotnet-tools.json):
#   tests/QuDag.Benchmarks/profiling/profile.sh OUT.nettrace <mode> [args...]     e.g.  profile.sh /tmp/m.nettrace loop messages 10 64
# Build first: dotnet build -c Release tests/QuDag.Benchmarks (or tests/QuDag.Benchmarks.Libp2p with BENCH=libp2p). The mode runs with QUDAG_PROFILE_GATE set, so it waits
# before its measured phase; dotnet-trace attaches to it then (sample profiler: every managed thread, ~1 kHz), the gate
# opens, and the trace runs until the process exits. Then trace-top prints the top frames, waits set apart.
# TRACE_PROFILE=events traces the thread pool's enqueues, allocation ticks and exceptions with their stacks instead of
# samples, and prints trace-events (who raised them) instead of trace-top. TRACE_EXTRA adds dotnet-trace arguments; with TRACE_EXTRA="--clrevents jit --clreventlevel verbose" trace-jit also
# lists what the JIT compiled meanwhile.
set -euo pipefail
out=$1
shift
source "$(dirname "$0")/common.sh"
gate=$(mktemp -u)
if [[ "${TRACE_PROFILE:-}" == events ]]; then
    # GC (AllocationTick) and Exception keywords of the runtime; FrameworkEventSource's ThreadPool | ThreadTransfer
    # keywords raise ThreadPoolEnqueueWork for every work item queued. Every event carries its managed stack.
    what=(--providers "Microsoft-Windows-DotNETRuntime:0x8001:5,System.Diagnostics.Eventing.FrameworkEventSource:0x12:5")
    report=trace-events
else
    what=(--profile dotnet-sampled-thread-time)
    report=trace-top
fi
log=$out.app.log
QUDAG_PROFILE_GATE=$gate dotnet "$dll" "$@" > "$log" 2>&1 &
app=$!
wait_for_gate "$log" "$app" || exit 1
pid=$(awk '/^GATE /{print $2; exit}' "$log")
(cd "$root" && dotnet dotnet-trace collect -p "$pid" "${what[@]}" ${TRACE_EXTRA:-} -o "$out" < /dev/null > "$out.collect.log" 2>&1) &
tracer=$!
tracers=("$tracer")
logs=("$out.collect.log")
# TRACE_CHILDREN=1: also trace the child processes the mode names on "CHILD pid" lines before its gate (the remote ends).
if [[ "${TRACE_CHILDREN:-}" == 1 ]]; then
    for child in $(awk '/^CHILD /{print $2}' "$log"); do
        (cd "$root" && dotnet dotnet-trace collect -p "$child" "${what[@]}" ${TRACE_EXTRA:-} -o "$out.child$child.nettrace" \
            < /dev/null > "$out.child$child.collect.log" 2>&1) &
        tracers+=($!)
        logs+=("$out.child$child.collect.log")
    done
fi
for i in "${!tracers[@]}"; do
    until grep -q '^Output File' "${logs[$i]}" 2> /dev/null; do
        kill -0 "${tracers[$i]}" 2> /dev/null || { cat "${logs[$i]}"; exit 1; }
        sleep 0.1
    done
done
sleep 1 # the session is live once the file is named; give its first buffers a moment
touch "$gate"
wait "$app" || true
for t in "${tracers[@]}"; do wait "$t" || true; done
rm -f "$gate"
cat "$log"
dotnet "$dll" "$report" "$out" "${TOP:-25}"
for child in "${logs[@]:1}"; do
    dotnet "$dll" "$report" "${child%.collect.log}.nettrace" "${TOP:-25}"
done
if [[ "${TRACE_EXTRA:-}" == *jit* ]]; then dotnet "$dll" trace-jit "$out" "${TOP:-25}"; fi
