"""The bundled default model, loaded from an *installed* wheel (not the source tree), fills a hole."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "canvasedit" / "models" / "bundled" / "canvasedit-tiny"

SCRIPT = r"""
import json, sys
from pathlib import Path
import canvasedit
from canvasedit.engine import Hole, SamplerParams, fill, open_backend
from canvasedit.models.catalog import resolve_model

site = Path(sys.argv[1]).resolve()
assert Path(canvasedit.__file__).resolve().is_relative_to(site), canvasedit.__file__
path = resolve_model(None)
assert path.resolve().is_relative_to(site), path
backend = open_backend(path, device="cpu")
import json as held_out  # the json package is held out of the model's training data
text = (Path(held_out.__file__).parent / "decoder.py").read_text()
line = "        end = _w(s, end).end()\n"
start = text.index(line) + len("        ")
stop = start + len(line.strip())
n = len(backend.encode(text[start:stop]))
result = fill(text, [Hole(start, stop, length=n)], backend, SamplerParams(steps=n)).run()
hole = result.holes[0]
print(json.dumps({"model": backend.model_name, "hole": hole.text, "tokens": len(hole.tokens), "n": n,
                  "prefix_ok": result.text[:start] == text[:start],
                  "suffix_ok": result.text[hole.end:] == text[stop:]}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not (BUNDLED / "model.safetensors").is_file():
        pytest.fail(f"the bundled model is missing from {BUNDLED}; run training/default_model.py export")
    wheels = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = wheels.glob("canvasedit-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:  # a wheel is installed by unpacking it into site-packages
        zf.extractall(site)
    return site


def test_wheel_ships_the_model_files(installed):
    files = {p.name for p in (installed / "canvasedit" / "models" / "bundled" / "canvasedit-tiny").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} <= files


def test_installed_bundled_model_fills_a_held_out_hole(installed):
    env = {**os.environ, "PYTHONPATH": str(installed), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(installed)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=installed)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["model"] == "canvasedit-tiny"
    assert out["prefix_ok"] and out["suffix_ok"]
    assert 0 < out["tokens"] <= out["n"]
