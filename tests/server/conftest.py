"""Fixtures for the server tests: a tiny model with a chat template served live on 127.0.0.1 in a thread,
and the real ``canvasedit serve`` command on the bundled model in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from canvasedit.engine.service import EngineService
from tests.server.live import LiveServer
from tests.tiny import make_tiny_llada

# <|pad|> and <|endoftext|> are the tiny tokenizer's special tokens: a prompt rendered from this
# template only reads right if they become those tokens, not their characters.
CHAT_TEMPLATE = ("{% for m in messages %}<|pad|>{{ m['role'] }}\n{{ m['content'] }}<|endoftext|>{% endfor %}"
                 "{% if add_generation_prompt %}<|pad|>assistant\n{% endif %}")


@pytest.fixture(autouse=True)
def _plain_kernels(reference_kernels):
    """The server tests are about HTTP: the confidence op's plain PyTorch path keeps them quick (the
    Triton kernel has its own tests, and its CPU interpreter takes about a second per step)."""


@pytest.fixture(scope="session")
def chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_tiny_llada(tmp_path_factory.mktemp("tiny-chat"))
    config = folder / "tokenizer_config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data["chat_template"] = CHAT_TEMPLATE
    config.write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def chat_backend(chat_model_dir: Path):
    from canvasedit.engine.backends.native import NativeBackend

    return NativeBackend.load(chat_model_dir, device="cpu")


@pytest.fixture(scope="module")
def served(chat_backend):
    """A live server on the chat-capable tiny model, and the service behind it."""
    with LiveServer(EngineService(backend=chat_backend)) as server:
        yield server


class ServeProcess:
    """``canvasedit serve`` in a subprocess: its URL and every line it logged (JSON, one per line)."""

    def __init__(self, proc: subprocess.Popen, url: str, lines: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.lines = lines

    def logs(self) -> list[dict]:
        return [json.loads(line) for line in list(self.lines)]


@pytest.fixture(scope="session")
def serve_process(tmp_path_factory: pytest.TempPathFactory):
    """The real command on the bundled model, on a free port of 127.0.0.1, logging JSON to stderr."""
    env = {**os.environ, "CANVASEDIT_HOME": str(tmp_path_factory.mktemp("serve-home")), "HF_HUB_OFFLINE": "1",
           "CANVASEDIT_KERNELS": "reference"}
    proc = subprocess.Popen([sys.executable, "-m", "canvasedit", "serve", "--port", "0", "--json-log"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    lines: list[str] = []
    ready = threading.Event()
    found: dict[str, str] = {}

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if '"url"' in line and not ready.is_set():
                found["url"] = json.loads(line)["url"]
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(120) or "url" not in found:
        proc.kill()
        raise RuntimeError("canvasedit serve did not start: " + " | ".join(lines[-5:]))
    yield ServeProcess(proc, found["url"], lines)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 128 + signal.SIGTERM  # SIGTERM stops it as the CLI promises
