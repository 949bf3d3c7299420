#!/usr/bin/env bash
# Smoke test of an installed or packaged `canvasedit` command: --version, doctor, and a headless fill
# on the bundled model, each timed. Used by `make app-smoke` (the PyInstaller app) and
# packaging/install-check.sh (pipx and uv tool installs).
#
#   bash packaging/smoke.sh build/app/canvasedit/canvasedit
set -euo pipefail
exe="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CANVASEDIT_HOME="$work/home" HF_HUB_OFFLINE=1
seconds() { python3 -c 'import time; print(f"{time.time():.3f}")'; }

t0=$(seconds)
version="$("$exe" --version)"
t1=$(seconds)
echo "$version  ($(python3 -c "print(f'{$t1 - $t0:.2f}')") s)"
expected="canvasedit $(sed -n 's/^version = "\(.*\)"/\1/p' "$here/pyproject.toml")"
[ "$version" = "$expected" ] || { echo "expected '$expected'" >&2; exit 1; }

"$exe" doctor --no-load > "$work/doctor.txt" || { cat "$work/doctor.txt"; exit 1; }
grep -q "^threads" "$work/doctor.txt"

cp "$here/samples/example.py" "$work/example.py"
t0=$(seconds)
"$exe" fill "$work/example.py" --hole 30:1-30:1:24 --steps 8 --json > "$work/fill.json"
t1=$(seconds)
python3 - "$work/fill.json" "$work/example.py" "$here/samples/example.py" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["holes"] and result["holes"][0]["kind"] == "insert", result
assert result["holes"][0]["tokens"] > 0, "the bundled model wrote nothing into the hole"
assert open(sys.argv[2], "rb").read() == open(sys.argv[3], "rb").read(), "fill without -o changed the file"
print(f"fill: {result['holes'][0]['tokens']} tokens in {result['elapsed_s']:.2f} s on {result['device']} "
      f"({result['model']}, {result['backend']})")
PY
echo "fill command: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s including start-up and model load"

set +e
"$exe" fill "$work/missing.py" --hole 1:1-1:1 2> "$work/err.txt"
code=$?
set -e
[ "$code" = 2 ] && [ "$(wc -l < "$work/err.txt")" = 1 ] || { echo "bad input: exit $code" >&2; cat "$work/err.txt"; exit 1; }
echo "smoke test passed: $exe"
