# Sourced by the profiling scripts here: the repository root, the benchmark program to run, and the wait for a mode to
# reach its gate (QUDAG_PROFILE_GATE: the mode prints "GATE <pid>" and waits for the gate file before its measured phase).
# BENCH=libp2p profiles the libp2p benchmarks (tests/QuDag.Benchmarks.Libp2p); the default is groups 1-6.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [[ "${BENCH:-}" == libp2p ]]; then
    dll=$root/tests/QuDag.Benchmarks.Libp2p/bin/Release/net10.0/QuDag.Benchmarks.Libp2p.dll
else
    dll=$root/tests/QuDag.Benchmarks/bin/Release/net10.0/QuDag.Benchmarks.dll
fi

# wait_for_gate LOG PID [PERIOD]: until LOG has the mode's GATE line; if PID ends first, prints LOG (valgrind's own
# "==" lines left out) and fails.
wait_for_gate() {
    until grep -q '^GATE ' "$1"; do
        kill -0 "$2" 2> /dev/null || { grep -v '^==' "$1" >&2; return 1; }
        sleep "${3:-0.2}"
    done
}

# measure GATE LOG APP RECORDER...: opens the gate a second after the recorders attached, waits until the mode prints
# its "OPS n" line (the end of its measured phase) or ends, then stops the recorders (SIGINT: they write what they
# have) and waits for them and the mode.
measure() {
    local gate=$1 log=$2 app=$3
    shift 3
    sleep 1
    touch "$gate"
    until grep -q '^OPS ' "$log"; do
        kill -0 "$app" 2> /dev/null || break
        sleep 0.1
    done
    for r in "$@"; do kill -INT "$r" 2> /dev/null || true; done
    wait "$@" 2> /dev/null || true
    wait "$app" || true
}
