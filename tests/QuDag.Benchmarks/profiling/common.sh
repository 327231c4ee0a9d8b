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
