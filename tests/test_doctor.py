"""``canvasedit doctor`` and ``canvasedit.runtime``: the machine report, threads, extras, version."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from canvasedit import runtime
from canvasedit.cli import main


def doctor(capsys, *args):
    code = main(["doctor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write_config(home: Path, text: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text)


def test_json_report_covers_the_machine(capsys, canvasedit_home):
    code, out, err = doctor(capsys, "--json", "--no-load")
    assert code == 0, err
    report = json.loads(out)
    assert report["problems"] == []
    assert report["canvasedit"]["version"] == runtime.version()
    assert report["torch"]["version"].startswith("2.") and isinstance(report["torch"]["cuda_available"], bool)
    assert report["threads"]["chosen"] == runtime.choose_threads(0)[0] == report["torch"]["threads"]
    assert report["threads"]["cores"] == runtime.available_cores()
    assert report["memory"]["total"] > report["memory"]["available"] > 0
    assert report["disk"]["free"] > 0
    assert report["folders"]["state"]["path"] == str(canvasedit_home / "state")
    assert report["config"] == {"path": str(canvasedit_home / "config" / "config.toml"), "exists": False, "valid": True}
    assert report["model"]["path"].endswith("canvasedit-tiny") and "loads" not in report["model"]
    assert report["kernels"]["runs"] in ("Triton on CUDA", "PyTorch reference")
    assert report["llama_cpp"]["version"] and "AVX" in report["llama_cpp"]["system_info"]


def test_the_active_model_is_loaded_and_timed(capsys, canvasedit_home, tiny_model_dir):
    write_config(canvasedit_home, f'[model]\nactive = "{tiny_model_dir}"\ndevice = "cpu"\n')
    code, out, _ = doctor(capsys, "--json")
    model = json.loads(out)["model"]
    assert code == 0 and model["loads"] is True and model["backend"] == "native" and model["runs_on"] == "cpu"
    assert model["load_s"] > 0 and model["context"] > 0


def test_text_report_has_a_line_per_topic(capsys, canvasedit_home, tiny_model_dir):
    write_config(canvasedit_home, f'[model]\nactive = "{tiny_model_dir}"\n')
    code, out, _ = doctor(capsys)
    labels = [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")]
    for topic in ("canvasedit", "platform", "torch", "triton", "llama-cpp", "threads", "memory", "disk", "config",
                  "data", "cache", "state", "model"):
        assert topic in labels, out
    assert "loads in" in out and out.rstrip().endswith("no problems found") and code == 0


def test_a_broken_config_and_a_missing_model_are_problems_and_exit_2(capsys, canvasedit_home, tmp_path):
    write_config(canvasedit_home, "[model\n")
    code, out, _ = doctor(capsys, "--no-load")
    assert code == 2 and "not valid TOML" in out and "1 problem(s)" in out
    write_config(canvasedit_home, f'[model]\nactive = "{tmp_path / "gone"}"\n')
    code, out, _ = doctor(capsys, "--json")
    report = json.loads(out)
    assert code == 2 and report["model"]["error"].startswith("ModelNotFound")
    assert any(p.startswith("model:") and "does not exist" in p for p in report["problems"])
    assert report["torch"]["version"]  # the other probes still ran


def test_a_model_that_does_not_load_is_a_problem(capsys, canvasedit_home, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    write_config(canvasedit_home, f'[model]\nactive = "{broken}"\n')
    code, out, _ = doctor(capsys, "--json")
    assert code == 2 and any("not valid JSON" in p for p in json.loads(out)["problems"])


# --- runtime: threads -------------------------------------------------------------------------

def test_threads_come_from_the_setting_then_omp_num_threads_then_half_the_cores(monkeypatch):
    monkeypatch.setattr(runtime, "_set_by_us", None)
    monkeypatch.setattr(runtime, "available_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert runtime.choose_threads(0) == (4, "automatic: half of 8 cores")
    monkeypatch.setattr(runtime, "available_cores", lambda: 1)
    assert runtime.choose_threads(0)[0] == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runtime.choose_threads(0) == (3, "OMP_NUM_THREADS")
    assert runtime.choose_threads(5) == (5, "config.toml [model] threads")


def test_apply_threads_sets_torch_and_the_environment(monkeypatch):
    import torch

    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "_set_by_us", None)
    try:
        assert runtime.apply_threads(2) == 2
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
        assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
        # The value it exported is not mistaken for the user's on the next call.
        monkeypatch.setattr(runtime, "available_cores", lambda: 2)
        assert runtime.apply_threads(0) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_user_wait_policy_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    runtime.apply_threads(1)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_threads_setting_reaches_a_fill(tmp_path, canvasedit_home, tiny_model_dir):
    import subprocess

    write_config(canvasedit_home, "[model]\nthreads = 2\n")
    probe = ("import sys, torch; from canvasedit.cli import main; code = main(sys.argv[1:]); "
             "print(torch.get_num_threads(), file=sys.stderr); raise SystemExit(code)")
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", probe, "fill", str(source), "--hole", "1:1-1:1:2", "--steps", "1",
                           "--model", str(tiny_model_dir)], capture_output=True, text=True, env=env, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "2"


def test_threads_setting_is_validated():
    from canvasedit.config import ConfigError, settings_from_dict

    assert settings_from_dict({"model": {"threads": 3}}).model.threads == 3
    for bad in (-1, 5000, "4", 2.5, True):
        with pytest.raises(ConfigError, match="model.threads"):
            settings_from_dict({"model": {"threads": bad}})


# --- runtime: extras and version --------------------------------------------------------------

def test_missing_extra_names_the_extra_and_the_install_command(monkeypatch):
    exc = ModuleNotFoundError("No module named 'gguf'", name="gguf")
    assert runtime.missing_extra(exc) == ("GGUF files need the optional package 'gguf', which is not installed: "
                                          "pip install 'canvasedit[gguf]'")
    assert "canvasedit[kernels]" in runtime.missing_extra(ModuleNotFoundError(name="triton.language"))
    assert runtime.missing_extra(ModuleNotFoundError(name="numpy")) is None
    assert runtime.missing_extra(ValueError("gguf")) is None
    monkeypatch.setattr(sys, "prefix", "/home/u/.local/share/pipx/venvs/canvasedit")
    assert runtime.install_command("gguf") == "pipx install --force 'canvasedit[gguf]'"
    monkeypatch.setattr(sys, "prefix", "/home/u/.local/share/uv/tools/canvasedit")
    assert runtime.install_command("gguf") == "uv tool install --reinstall 'canvasedit[gguf]'"


def test_version_is_the_installed_metadata():
    from importlib import metadata

    assert runtime.version() == metadata.version("canvasedit")
