#!/usr/bin/env bash
# The whole test suite: release build + every ctest (unit tests, peer comparisons, the
# quick form of every experiment), then the core and autodiff tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each file reader's fuzz target for a
# bounded time. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

bash scripts/install-deps.sh

echo "== release build and tests"
bash scripts/build.sh release
ctest --preset release -j "$(nproc)" --timeout 900

echo "== sanitizer build (asan + ubsan): core and autodiff"
bash scripts/build.sh asan --target test_core test_autodiff
ctest --preset asan -j "$(nproc)" --timeout 900

if [ -x scripts/fuzz.sh ] || [ -f scripts/fuzz.sh ]; then
  echo "== fuzzing the file readers (bounded)"
  bash scripts/fuzz.sh "${DESCENT_FUZZ_SECONDS:-15}"
fi
echo "== all tests passed"
