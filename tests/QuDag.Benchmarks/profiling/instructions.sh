#!/usr/bin/env bash
# Instructions per operation of both ends of one diagnostic mode, counted by valgrind (callgrind): the figure that does
# not move when other processes share the cores (no hardware counters in this VM, so perf cannot count them).
#   BENCH=libp2p tests/QuDag.Benchmarks/profiling/instructions.sh /tmp/ping loop ping 1 ours noise
#   BENCH=libp2p SIZE=4 tests/QuDag.Benchmarks/profiling/instructions.sh /tmp/bulk loop bulk-send 1 ours noise
# Runs the mode and its CHILD under callgrind with instrumentation (and so counting) off, switches it on for both at
# the gate, and counts until they exit. A run of a loop mode dials, works and closes, so the mode runs twice: with runs
# of SIZE operations (default 100: round trips, MiB or dials) and of 4 x SIZE, and the figure is the difference per
# operation, what one more operation costs (the dial and the close cancel out). The JIT compiler's own instructions are
# left out (what it compiles late differs between runs), and it runs untiered so the warm-up compiles nearly everything; the thread pool does not spin (a spinning worker would count
# instructions that depend on timing). OUT.<role>.<size> keeps callgrind's files for callgrind_annotate.
# Under valgrind a run takes about 100x longer: a ping run of 400 round trips takes about a minute.
set -euo pipefail
out=$1
shift
source "$(dirname "$0")/common.sh"
size=${SIZE:-100}

# count <size>: prints "<role> <instructions> <ops>" per process
count() {
    local n=$1 dir gate log app pids
    shift
    dir=$(mktemp -d)
    gate=$dir/gate
    log=$dir/log
    : > "$log"
    (cd "$dir" && QUDAG_PROFILE_GATE=$gate QUDAG_LOOP_RUNS=1 QUDAG_LOOP_SIZE=$n QUDAG_TIMEOUT_SECONDS=600 \
        DOTNET_TieredCompilation=0 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 DOTNET_EnableWriteXorExecute=0 \
        valgrind --tool=callgrind --trace-children=yes --smc-check=all --instr-atstart=no \
        --callgrind-out-file="$dir/callgrind.out.%p" dotnet "$dll" "$@" > "$log" 2>&1) &
    app=$!
    wait_for_gate "$log" "$app" 1 || return 1
    pids=$(awk '/^(GATE|CHILD) /{print $2}' "$log")
    (cd "$dir" && callgrind_control -i on $pids > /dev/null)
    touch "$gate"
    wait "$app" || true
    for pid in $pids; do # the child writes its counts as it exits, after the mode has stopped it
        for _ in $(seq 120); do kill -0 "$pid" 2> /dev/null || break; sleep 1; done
    done
    grep -v '^==' "$log" | grep -E '^(loop|allocated)' >&2 || true
    local ops role total
    ops=$(awk '/^OPS /{print $2; exit}' "$log")
    for pid in $pids; do
        role=$(awk -v p="$pid" '$2 == p {print $1; exit}' "$log")
        # Everything but the JIT compiler itself (what it compiled late differs between two runs).
        total=$(callgrind_annotate --threshold=100 "$dir/callgrind.out.$pid" 2> /dev/null | awk '
            /PROGRAM TOTALS/ { gsub(",", "", $1); all = $1 }
            /libclrjit\.so/ { gsub(",", "", $1); jit += $1 }
            END { printf "%.0f", all - jit }' || true)
        echo "$role ${total:-0} $ops"
        cp "$dir/callgrind.out.$pid" "$out.$role.$n" 2> /dev/null || true
    done
    rm -rf "$dir"
}

small=$(count "$size" "$@")
large=$(count $((4 * size)) "$@")
for role in GATE CHILD; do
    read -r _ i1 o1 < <(grep "^$role " <<< "$small")
    read -r _ i2 o2 < <(grep "^$role " <<< "$large")
    awk -v r="$role" -v i1="$i1" -v i2="$i2" -v o1="$o1" -v o2="$o2" \
        'BEGIN{printf "%s: %.0f instructions per operation (%.0f over %d operations, %.0f over %d)\n", r, (i2 - i1) / (o2 - o1), i2, o2, i1, o1}'
done
