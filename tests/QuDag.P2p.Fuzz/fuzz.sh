#!/usr/bin/env bash
# Coverage-guided fuzzing of one of QuDag.P2p's decoders with libFuzzer and SharpFuzz (see README.md).
#   tests/QuDag.P2p.Fuzz/fuzz.sh TARGET [SECONDS] [libFuzzer flags...]      default 60 s
#   tests/QuDag.P2p.Fuzz/fuzz.sh --list                                     the targets
# Builds the target, instruments QuDag.P2p.dll (only the target's namespaces) with the sharpfuzz tool, builds the
# libfuzzer-dotnet driver with clang, then runs libFuzzer over corpus/TARGET for SECONDS.
# New inputs go to out/TARGET/corpus (corpus/ is only read); crashes go to out/TARGET/crashes/.
# Needs: the .NET 10 SDK, clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bin="$here/out/bin"

build() {
  rm -rf "$bin"
  dotnet publish "$here/QuDag.P2p.Fuzz.csproj" -c Release -o "$bin" --nologo -v quiet
}

[[ $# -gt 0 ]] || { echo "usage: $0 TARGET [SECONDS] [libFuzzer flags...] | --list" >&2; exit 2; }
if [[ "$1" == "--list" ]]; then
  [[ -x "$bin/QuDag.P2p.Fuzz" ]] || build
  "$bin/QuDag.P2p.Fuzz" --list
  exit 0
fi
target="$1"; shift
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
[[ -d "$here/corpus/$target" ]] || { echo "unknown target '$target' (no corpus/$target); try --list" >&2; exit 2; }

clang=""
for c in clang clang-14 clang-15 clang-16 clang-17 clang-18 clang-19; do
  if command -v "$c" >/dev/null; then clang="$c"; break; fi
done
[[ -n "$clang" ]] || { echo "clang is required (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

echo "== build and instrument for $target"
build
(cd "$root" && dotnet tool restore >/dev/null)
# Only the target's namespaces: their edges are the coverage libFuzzer steers by.
read -r -a prefixes <<< "$("$bin/QuDag.P2p.Fuzz" --list | awk -v t="$target" '$1 == t { $1 = ""; print }')"
(cd "$root" && dotnet tool run sharpfuzz "$bin/QuDag.P2p.dll" "${prefixes[@]}")

echo "== build the libFuzzer driver with $clang"
"$clang" -O2 -fsanitize=fuzzer "$here/driver/libfuzzer-dotnet.c" -o "$here/out/libfuzzer-dotnet"

echo "== fuzz $target for ${seconds}s"
out="$here/out/$target"
mkdir -p "$out/corpus" "$out/crashes"
cd "$out"
exec "$here/out/libfuzzer-dotnet" --target_path="$bin/QuDag.P2p.Fuzz" --target_arg="$target" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$out/crashes/" -print_final_stats=1 \
  "$@" "$out/corpus" "$here/corpus/$target"
