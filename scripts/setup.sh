#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian machine, beyond `npm ci`: Python with
# Debian's PyTorch for the trainer (and OpenBLAS, without which torch falls back to the reference
# BLAS), then code-server + chromium for the extension (scripts/e2e-setup.sh). Idempotent and
# quick when everything is there. `npm test` and `npm run demo` run it when something is missing
# (set PSCL_NO_SETUP=1 to stop them); .ci/run runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_pkgs=(python3 python3-torch python3-torchvision python3-numpy python3-pil python3-pytest libopenblas0-pthread)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages ${missing[*]}: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
scripts/e2e-setup.sh
