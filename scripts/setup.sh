#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a trained model: installs every
# package descent needs, builds the release preset, and runs the main job, `descent train`
# with its defaults (an MLP on Fashion-MNIST, writing runs/mlp-seed0/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
run_dir=runs/mlp-seed0
if [ -f "$run_dir/checkpoint.safetensors" ] && [ ! -f "$run_dir/model.safetensors" ]; then
  exec build/release/apps/descent/descent train --resume "$run_dir"   # an interrupted earlier run
fi
rm -rf "$run_dir"
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} exec build/release/apps/descent/descent train --out "$run_dir"
