"""The default model's training script end to end at toy scale (corpus → tokenizer → train → export → card), and resume."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "training" / "default_model.py"


def stage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    run, out = tmp_path_factory.mktemp("run"), tmp_path_factory.mktemp("model")
    stage("all", "--run", str(run), "--out", str(out), "--preset", "smoke", "--minutes", "0.05",
          "--max-docs", "24", "--eval-cases", "3", "--device", "cpu")
    return run, out


def test_corpus_is_split_by_file_with_held_out_packages(pipeline):
    run, _ = pipeline
    splits = {name: [json.loads(line)["path"] for line in (run / "corpus" / f"{name}.jsonl").open()]
              for name in ("py_train", "py_test")}
    assert 0 < len(splits["py_train"]) <= 24 and 0 < len(splits["py_test"]) <= 24
    held = ("email", "json", "http", "urllib", "zoneinfo", "tomllib")
    assert all(p.split("/")[1] in held for p in splits["py_test"])
    assert not any(p.split("/")[1] in held for p in splits["py_train"])


def test_export_is_a_model_folder_the_engine_loads_and_fills_with(pipeline):
    from canvasedit.engine import Hole, SamplerParams, fill, open_backend

    run, out = pipeline
    config = json.loads((out / "config.json").read_text())
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert config["architectures"] == ["LLaDAModelLM"] and config["d_model"] == 64
    assert config["canvasedit"]["trained_tokens"] == state["tokens"] > 0
    backend = open_backend(out, device="cpu")
    assert backend.mask_id == 2 and backend.stop_ids == (0, 1)
    text = "def add(a, b):\n    return a + b\n"
    result = fill(text, [Hole(22, 22, length=4)], backend, SamplerParams(steps=4)).run()
    assert result.text.startswith(text[:22]) and result.text.endswith(text[22:])


def test_model_card_holds_measured_numbers(pipeline):
    run, out = pipeline
    card = (out / "README.md").read_text()
    results = json.loads((run / "eval.json").read_text())
    acc = results["masked"]["py_15"]["model_acc"]
    assert f"{100 * acc:.1f}" in card
    assert "held-out" in card.lower()


def test_training_resumes_from_its_checkpoint(pipeline):
    run, _ = pipeline
    before = json.loads((run / "checkpoint" / "state.json").read_text())
    stage("train", "--run", str(run), "--preset", "smoke", "--minutes", "0.1", "--device", "cpu")
    after = json.loads((run / "checkpoint" / "state.json").read_text())
    assert after["step"] > before["step"] and after["tokens"] > before["tokens"]
    assert after["log"][: len(before["log"])] == before["log"]  # the same run, continued
    stage("train", "--run", str(run), "--preset", "smoke", "--minutes", "0.1", "--device", "cpu")
    again = json.loads((run / "checkpoint" / "state.json").read_text())
    assert again["step"] == after["step"]  # its budget is spent: nothing more to do


def test_the_gpu_preset_is_the_bigger_model_the_card_promises():
    sys.path.insert(0, str(ROOT))
    from training.default_model import PRESETS, model_args

    from canvasedit.models.transformer import Transformer

    sizes = {}
    for name in ("cpu", "gpu"):
        import torch

        with torch.device("meta"):
            sizes[name] = sum(p.numel() for p in Transformer(model_args(PRESETS[name])).parameters())
    assert 5e6 <= sizes["cpu"] <= 20e6
    assert 20e6 <= sizes["gpu"] <= 40e6


def test_export_never_defaults_to_the_bundled_model(tmp_path):
    sys.path.insert(0, str(ROOT))
    from training.default_model import parse_args

    args = parse_args(["all", "--run", str(tmp_path / "run")])
    assert args.out == tmp_path / "run" / "model"
    assert "bundled" not in str(args.out)
