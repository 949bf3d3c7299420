#!/usr/bin/env bash
# Installs the built wheel the way users do — `pipx install` and `uv tool install`, each into a
# throw-away home — and runs packaging/smoke.sh on each installed command, with timings.
#
#   make install-check                     # or: bash packaging/install-check.sh dist/canvasedit-*.whl [EXTRAS]
#   make install-check EXTRAS=gguf         # also the GGUF backend (compiles llama.cpp, ~7 min on 2 cores)
#
# Dependencies come from PyPI. The default Linux torch on PyPI is the multi-GB CUDA build, so both
# installs are constrained to the torch of $PYTHON's environment (TORCH_CONSTRAINT overrides it),
# found through PIP_FIND_LINKS (a local CPU wheel on CI machines): a torch that cannot be found
# fails the install in seconds instead of downloading gigabytes.
set -euo pipefail
wheel="$(realpath "$1")"
extras="${2:-}"
python="${PYTHON:-python3}"
here="$(cd "$(dirname "$0")" && pwd)"
spec="$wheel"
[ -n "$extras" ] && spec="canvasedit[$extras] @ file://$wheel"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

links=()
[ -n "${PIP_FIND_LINKS:-}" ] && links=(--find-links "$PIP_FIND_LINKS")
echo "${TORCH_CONSTRAINT:-torch==$("$python" -c 'import torch; print(torch.__version__)')}" > "$work/constraints.txt"
constraints=(-c "$work/constraints.txt")
echo "torch constrained to $(cat "$work/constraints.txt")"

echo "== pipx install $spec"
export PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx/bin" PIPX_MAN_DIR="$work/pipx/man"
start=$SECONDS
# The pip backend: pipx would use uv when it finds one, and uv reads neither pip.conf nor PIP_* settings.
pipx install --backend pip --python "$python" --pip-args="${constraints[*]} ${links[*]}" "$spec" \
  > "$work/pipx.log" 2>&1 || { tail -20 "$work/pipx.log"; exit 1; }
echo "pipx install: $((SECONDS - start)) s"
bash "$here/smoke.sh" "$PIPX_BIN_DIR/canvasedit"

echo "== uv tool install $spec"
export UV_TOOL_DIR="$work/uv/tools" UV_TOOL_BIN_DIR="$work/uv/bin"
start=$SECONDS
uv tool install --python "$python" "${links[@]}" "${constraints[@]}" "$spec" > "$work/uv.log" 2>&1 || {
  tail -20 "$work/uv.log"; exit 1; }
echo "uv tool install: $((SECONDS - start)) s"
bash "$here/smoke.sh" "$UV_TOOL_BIN_DIR/canvasedit"
