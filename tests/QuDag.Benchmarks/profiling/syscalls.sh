#!/usr/bin/env bash
# System calls per operation of one diagnostic mode, per process (the mode's and its CHILD listener), with perf stat on
# the kernel's syscall tracepoints: a count that does not move with the machine's load, unlike a wall-clock figure.
#   BENCH=libp2p tests/QuDag.Benchmarks/profiling/syscalls.sh loop ping 4 ours noise
# The mode waits at QUDAG_PROFILE_GATE; perf stat attaches to the GATE and CHILD pids, the gate opens, and counting
# runs until the mode prints its "OPS n" line (the operations of its measured phase: round trips, MiB, dials).
# SYSCALLS overrides the list of system calls counted one by one (the total is always counted).
set -euo pipefail
source "$(dirname "$0")/common.sh"
calls=${SYSCALLS:-recvfrom sendto sendmsg recvmsg ioctl poll epoll_wait epoll_ctl futex sched_yield read write}
events=raw_syscalls:sys_enter
for c in $calls; do events+=",syscalls:sys_enter_$c"; done
gate=$(mktemp -u)
log=$(mktemp)
QUDAG_PROFILE_GATE=$gate dotnet "$dll" "$@" > "$log" 2>&1 &
app=$!
wait_for_gate "$log" "$app" || exit 1
pids=$(awk '/^(GATE|CHILD) /{print $2}' "$log")
stats=()
for pid in $pids; do
    perf stat -x, -e "$events" -p "$pid" -o "$log.$pid" &
    stats+=("$!")
done
measure "$gate" "$log" "$app" "${stats[@]}"
rm -f "$gate"
cat "$log"
ops=$(awk '/^OPS /{print $2; exit}' "$log")
for pid in $pids; do
    role=$(awk -v p="$pid" '$2 == p {print $1; exit}' "$log")
    echo "== $role $pid: system calls per operation ($ops operations) =="
    awk -F, -v ops="$ops" '$3 ~ /sys_enter/ && $1 > 0 {sub(/.*sys_enter_?/, "", $3); printf "  %-12s %8.2f\n", ($3 == "" ? "total" : $3), $1 / ops}' "$log.$pid"
    rm -f "$log.$pid"
done
rm -f "$log"
