#!/usr/bin/env bash
# Coverage-guided fuzzing of the frame decoder with libFuzzer and SharpFuzz (see README.md).
#   tests/QuDag.Fuzz/fuzz.sh [SECONDS] [libFuzzer flags...]      default 60 s
# Builds the target, instruments QuDag.Network.dll (Frame and Hello) with the sharpfuzz tool, builds
# the libfuzzer-dotnet driver with clang, then runs libFuzzer over corpus/ for SECONDS.
# New inputs go to out/corpus (corpus/ is only read); crashes go to out/crashes/.
# Needs: the .NET 10 SDK, clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
out="$here/out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

clang=""
for c in clang clang-14 clang-15 clang-16 clang-17 clang-18 clang-19; do
  if command -v "$c" >/dev/null; then clang="$c"; break; fi
done
[[ -n "$clang" ]] || { echo "clang is required (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

echo "== build and instrument"
rm -rf "$out/bin"
dotnet publish "$here/QuDag.Fuzz.csproj" -c Release -o "$out/bin" --nologo -v quiet
(cd "$root" && dotnet tool restore >/dev/null)
# Only the decoder's types: their edges are the coverage libFuzzer steers by.
(cd "$root" && dotnet tool run sharpfuzz "$out/bin/QuDag.Network.dll" QuDag.Network.Frame QuDag.Network.Hello)

echo "== build the libFuzzer driver with $clang"
"$clang" -O2 -fsanitize=fuzzer "$here/driver/libfuzzer-dotnet.c" -o "$out/libfuzzer-dotnet"

echo "== fuzz for ${seconds}s"
mkdir -p "$out/corpus" "$out/crashes"
cd "$out"
exec ./libfuzzer-dotnet --target_path="$out/bin/QuDag.Fuzz" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
  -dict="$here/frames.dict" -artifact_prefix="$out/crashes/" -print_final_stats=1 \
  "$@" "$out/corpus" "$here/corpus"
