#!/usr/bin/env bash
# Installs the Debian 12 packages descent needs (build, tests, peers for comparison tests,
# the Fashion-MNIST data set, gnuplot for plots). Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  # toolchain and build
  build-essential cmake ninja-build pkg-config git ccache
  # libraries (DESIGN.md: Debian packages only)
  libopenblas-dev libxsmm-dev libdnnl-dev libeigen3-dev libglpk-dev zlib1g-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (libFuzzer) with clang
  clang libclang-rt-14-dev
  # data and plots
  dataset-fashion-mnist gnuplot-nox
  # peers that comparison tests and benchmarks run against
  python3 python3-numpy python3-scipy python3-torch python3-pot python3-cmaes python3-optuna python3-sklearn python3-statsmodels
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run as root (or with sudo): apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
