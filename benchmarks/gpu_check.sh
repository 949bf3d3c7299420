#!/usr/bin/env bash
# One prepared GPU check (a few minutes on one H100/H200-class card): the Triton kernels compiled for
# real and tested against their references, the fused kernel's bandwidth, and the engine benchmark on a
# ~1B random LLaDA-layout model in bf16 (exact vs dual cache, committed tokens/s filling 256 tokens).
# Run from the repository root with the venv built by `make test`:  bash benchmarks/gpu_check.sh
set -uo pipefail
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "== kernels compiled (no TRITON_INTERPRET) against their references"
env -u TRITON_INTERPRET "$PY" -m pytest -q tests/kernels 2>&1 | tail -3
echo "== fused confidence kernel bandwidth"
for v in 126464 152064; do "$PY" benchmarks/kernel_bandwidth.py --rows 256 --vocab "$v" --dtype bfloat16 --peak "${PEAK_GBS:-4800}"; done
echo "== engine: 1B random bf16 model, 256-token hole"
"$PY" -m canvasedit bench --device cuda --models 1b --sizes 512,4096 --holes 256 --steps 256
"$PY" -m canvasedit bench --device cuda --models 1b --sizes 512 --holes 256 --steps 256 --parallel 0.9
