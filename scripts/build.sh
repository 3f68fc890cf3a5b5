#!/usr/bin/env bash
# Configures and builds one preset (default: release) with Ninja, using every core.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
cmake --preset "$preset" -G Ninja >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@"
