"""Fixtures for the server tests: a tiny model with a chat template, served live on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canvasedit.engine.service import EngineService
from tests.server.live import LiveServer
from tests.tiny import make_tiny_llada

# <|pad|> and <|endoftext|> are the tiny tokenizer's special tokens: a prompt rendered from this
# template only reads right if they become those tokens, not their characters.
CHAT_TEMPLATE = ("{% for m in messages %}<|pad|>{{ m['role'] }}\n{{ m['content'] }}<|endoftext|>{% endfor %}"
                 "{% if add_generation_prompt %}<|pad|>assistant\n{% endif %}")


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
