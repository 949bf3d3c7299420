"""Test-wide setup: offline hub, an isolated CANVASEDIT_HOME, and the tiny model fixtures."""

from __future__ import annotations

import os

# Before transformers / huggingface_hub are imported anywhere: never wait on the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# The tests run tiny models: one thread is faster for them than two, and it keeps OpenMP's
# spin-waiting from fighting any other process for the cores.
torch.set_num_threads(1)

from tests.tiny import make_tiny_llada  # noqa: E402


@pytest.fixture(autouse=True)
def canvasedit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "canvasedit-home"
    monkeypatch.setenv("CANVASEDIT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llada(tmp_path_factory.mktemp("tiny-llada"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir: Path):
    from canvasedit.engine.backends.native import NativeBackend

    return NativeBackend.load(tiny_model_dir, device="cpu")


@pytest.fixture
def reference_kernels(monkeypatch: pytest.MonkeyPatch):
    """The plain-PyTorch confidence op instead of the Triton kernel (slow in the CPU interpreter on wide vocabularies)."""
    from canvasedit import kernels

    monkeypatch.setenv("CANVASEDIT_KERNELS", "reference")
    kernels.kernel_choice.cache_clear()
    yield
    kernels.kernel_choice.cache_clear()
