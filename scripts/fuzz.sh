#!/usr/bin/env bash
# Fuzzes every reader of untrusted files (IDX, NPY, CSV, safetensors) with libFuzzer under
# AddressSanitizer and UndefinedBehaviorSanitizer, for a bounded time each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=20]
#
# Builds with clang++ into build/fuzz (override: DESCENT_FUZZ_BUILD_DIR), seeds each target
# with a small valid corpus in a temporary directory, and exits non-zero if any target
# finds a crash, a sanitizer error, an exception other than descent::Error, or an
# allocation above 1 GiB (a reader trusting a lying header). Reproducers are kept in
# build/fuzz/findings/.
set -euo pipefail

seconds="${1:-20}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${DESCENT_FUZZ_BUILD_DIR:-$root/build/fuzz}"
jobs="${JOBS:-2}"
targets=(idx npy csv safetensors)

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found; install it with 'sudo apt install clang libclang-rt-14-dev'" >&2
  exit 2
fi

sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" \
  -DDESCENT_FUZZ=ON -DDESCENT_BUILD_TESTS=OFF -DDESCENT_BUILD_BENCH=OFF -DDESCENT_NATIVE=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_seed_corpus "${targets[@]/#/fuzz_}"

corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
"$build/fuzz/fuzz_seed_corpus" "$corpus"
findings="$build/findings"
mkdir -p "$findings"

failed=()
for t in "${targets[@]}"; do
  echo "== fuzz_$t for ${seconds}s"
  if ! "$build/fuzz/fuzz_$t" "$corpus/$t" -max_total_time="$seconds" -max_len=8192 \
       -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$findings/${t}-" 2>"$build/fuzz_$t.log"; then
    failed+=("$t")
    tail -n 40 "$build/fuzz_$t.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^Done" "$build/fuzz_$t.log" || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]} (reproducers in $findings; logs $build/fuzz_<target>.log)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds}s each without findings"
