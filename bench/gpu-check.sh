#!/usr/bin/env bash
# GPU check for the PSCL trainer: short AMP training (with an fp32 baseline), a 2-process torchrun
# and the ONNX export, printing images/s as JSON lines. Without CUDA it runs the tiny configuration
# on CPU and says so. Options go to bench/gpu_check.py (--config, --steps, --batch-size,
# --resolution, --work). PYTHON picks the interpreter (default: python3 with torch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import torch, torchvision, PIL, numpy' 2>/dev/null; then
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then python=/usr/bin/python3; else
    echo "gpu-check: $python cannot import torch/torchvision/PIL/numpy; set PYTHON=/path/to/python" >&2; exit 2
  fi
fi
exec "$python" "$root/bench/gpu_check.py" "$@"
