"""llama.cpp's /infill, Ollama's /api/generate and the OpenAI routes, called with curl as editors and scripts do."""

from __future__ import annotations

import json
import subprocess

import pytest

from canvasedit.engine import Hole
from canvasedit.engine.service import EngineService
from canvasedit.server import ServerOptions
from tests.server.live import LiveServer

PREFIX = "def add(a, b):\n"
SUFFIX = "\n\nprint(add(1, 2))\n"


def curl(url: str, path: str, body: dict | None = None, *extra: str) -> tuple[int, str]:
    """``curl`` as a subprocess; the HTTP status and the body."""
    cmd = ["curl", "-sS", "-N", "-w", "\n%{http_code}", url + path, *extra]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    text, _, status = proc.stdout.rpartition("\n")
    return int(status), text


def local(served, text: str, at: int, tokens: int, steps: int = 3) -> str:
    return served.service.fill(text, [Hole(at, at, tokens)], {"steps": steps}).wait().holes[0].text


def test_infill_as_llama_vim_calls_it(served):
    body = {"input_prefix": PREFIX, "prompt": "    return ", "input_suffix": SUFFIX, "n_predict": 5,
            "input_extra": [{"filename": "util.py", "text": "import math\n"}], "samplers": ["top_k", "infill"],
            "cache_prompt": True, "t_max_predict_ms": 500, "sampler": {"steps": 3},
            "response_fields": ["content", "timings/predicted_n", "truncated"]}
    status, text = curl(served.url, "/infill", body)
    answer = json.loads(text)
    before = "import math\n" + PREFIX + "    return "
    assert status == 200 and set(answer) == {"content", "timings/predicted_n", "truncated"}
    assert answer["content"] == local(served, before + SUFFIX, len(before), 5)
    assert answer["timings/predicted_n"] <= 5 and answer["truncated"] is False


def test_infill_with_nothing_to_predict_answers_at_once(served):
    status, text = curl(served.url, "/infill", {"input_prefix": "x", "input_suffix": "", "n_predict": 0})
    assert status == 200 and json.loads(text)["content"] == ""


def test_infill_streams_llama_cpp_chunks(served):
    status, text = curl(served.url, "/infill", {"input_prefix": PREFIX, "input_suffix": SUFFIX, "n_predict": 4,
                                                 "stream": True, "sampler": {"steps": 2}})
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert status == 200 and chunks[-1]["stop"] is True and all(not c["stop"] for c in chunks[:-1])
    assert "".join(c["content"] for c in chunks) == local(served, PREFIX + SUFFIX, len(PREFIX), 4, steps=2)


@pytest.mark.parametrize("stream", [True, False])
def test_ollama_generate_with_suffix(served, stream):
    body = {"model": served.service.backend.model_name + ":latest", "prompt": PREFIX, "suffix": SUFFIX,
            "options": {"num_predict": 4, "temperature": 0}, "sampler": {"steps": 2}, "stream": stream}
    status, text = curl(served.url, "/api/generate", body)
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert status == 200 and lines[-1]["done"] is True and lines[-1]["done_reason"] in ("stop", "length")
    assert "".join(line["response"] for line in lines) == local(served, PREFIX + SUFFIX, len(PREFIX), 4, steps=2)
    assert len(lines) == (2 if stream else 1)  # NDJSON by default, one object with "stream": false


def test_ollama_lists_and_describes_the_model_and_its_errors_are_strings(served):
    name = served.service.backend.model_name
    status, text = curl(served.url, "/api/tags")
    assert status == 200 and [m["name"] for m in json.loads(text)["models"]] == [name]
    status, text = curl(served.url, "/api/show", {"model": name})
    assert status == 200 and "insert" in json.loads(text)["capabilities"]
    status, text = curl(served.url, "/api/generate", {"model": "llama3", "prompt": "x"})
    assert status == 404 and "not served here" in json.loads(text)["error"]


def test_openai_routes_with_curl(served):
    status, text = curl(served.url, "/v1/models")
    assert status == 200 and json.loads(text)["data"][0]["id"] == served.service.backend.model_name
    status, text = curl(served.url, "/v1/completions", {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 4,
                                                        "stream": True, "diffusing": True, "sampler": {"steps": 2}})
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert status == 200 and events[-1] == "[DONE]"
    states = [json.loads(e)["choices"][0]["text"] for e in events[:-1]]
    assert len(states) == 4 and states[2] == local(served, PREFIX + SUFFIX, len(PREFIX), 4, steps=2)


def test_curl_with_and_without_the_api_key(tiny_backend):
    with LiveServer(EngineService(backend=tiny_backend), ServerOptions(api_key="k3y")) as server:
        status, text = curl(server.url, "/infill", {"input_prefix": "a", "n_predict": 0})
        assert status == 401 and json.loads(text)["error"]["code"] == 401
        status, _ = curl(server.url, "/infill", {"input_prefix": "a", "n_predict": 0}, "-H", "Authorization: Bearer k3y")
        assert status == 200
