"""The remote engine against a live ``canvasedit serve`` and a stand-in in the OpenAI / Mercury streaming shapes."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from canvasedit.cli import main
from canvasedit.engine import Hole
from canvasedit.engine.errors import BadHole
from canvasedit.engine.remote import RemoteEngine, RemoteError, RemoteUnavailable, connect
from canvasedit.engine.service import EngineService, ServiceBusy, result_json
from canvasedit.engine.view import replay
from canvasedit.server import ServerOptions
from tests.engine.mock import MockBackend
from tests.engine.openai_standin import MODEL, OpenAIStandIn, drafts
from tests.server.live import LiveServer
from tests.server.test_limits import Slow, body, raw_request, wait_for

pytestmark = pytest.mark.usefixtures("reference_kernels")  # HTTP is under test, not the Triton kernel

TEXT = "def area(r):\n    return 3.14 * r * r\n\n\ndef perimeter(r):\n    return \n"


def holes():
    pi = TEXT.index("3.14")
    return [Hole(len(TEXT) - 1, len(TEXT) - 1, 5), Hole(pi, pi + 4), Hole(0, 12, revise=0.5)]


@pytest.fixture(scope="module")
def live(tiny_backend):
    with LiveServer(EngineService(backend=tiny_backend)) as server:
        yield server


def test_a_canvasedit_server_streams_every_pass_of_the_fill(live):
    engine = RemoteEngine(live.url)
    backend = engine.load(None)
    assert (backend.kind, backend.model_name, backend.device) == ("canvasedit", live.service.backend.model_name, "cpu")
    assert backend.recipe == dict(live.service.backend.recipe) and "remote cpu @ 127.0.0.1:" in backend.describe()
    assert engine.params({"steps": 5}) == live.service.params({"steps": 5})
    handle = engine.fill(TEXT, holes(), {"steps": 4}, {"seed": None})
    events = list(handle.passes())
    local = live.service.fill(TEXT, holes(), {"steps": 4}).wait()
    here = list(replay(local.start, local.trace))
    # the deltas folded here give each pass exactly as the engine drew it there
    assert [e.holes for e in events] == [e.holes for e in here]
    assert [e.holes for e in replay(handle.result.start, handle.result.trace)] == [e.holes for e in here]
    def drawn(event):  # confidences travel rounded to 4 places
        return [[(p.text, p.state, None if p.confidence is None else round(p.confidence, 4)) for p in hole]
                for hole in event.pieces]

    assert [drawn(e) for e in events] == [drawn(e) for e in here]
    assert [[(c.hole, c.offset, c.token, c.text) for c in e.committed] for e in events] == \
        [[(c.hole, c.offset, c.token, c.text) for c in e.committed] for e in local.trace]
    result = handle.result
    assert result.text == local.text and result.holes == local.holes and result.params == local.params
    assert result.tokens_committed == local.tokens_committed and result.nfe == local.nfe
    assert result_json(result, backend)["model"] == backend.model_name


def test_cancel_closes_the_stream_and_the_server_stops_the_fill():
    slow = Slow(delay=0.1)
    service = EngineService(backend=slow)
    with LiveServer(service) as server:
        handle = connect(server.url).fill("x = 1\n", [Hole(4, 4, 40)], {"steps": 40})
        seen = 0
        for _ in handle.events():
            seen += 1
            handle.cancel()
        assert seen == 1 and handle.cancelled and handle.result is None
        assert service.wait_idle(3) and slow.passes < 20


def test_cancel_from_another_thread_while_the_stream_waits():
    slow = Slow(delay=0.3)
    with LiveServer(EngineService(backend=slow)) as server:
        handle = connect(server.url).fill("x = 1\n", [Hole(4, 4, 20)], {"steps": 20})
        threading.Timer(0.5, handle.cancel).start()
        events = list(handle)
        assert len(events) < 5 and handle.cancelled


def test_a_busy_server_is_service_busy():
    slow = Slow(delay=0.15)
    with LiveServer(EngineService(backend=slow, max_waiting=0)) as server:
        first = raw_request(server.port, body(20))
        assert wait_for(lambda: slow.passes > 0)
        with pytest.raises(ServiceBusy, match="busy") as caught:
            connect(server.url).fill("x = 1\n", [Hole(4, 4, 2)], {"steps": 2}).wait()
        assert caught.value.retry_after >= 1
        first.close()


def test_server_errors_come_back_as_one_line(live, tiny_backend):
    with pytest.raises(RemoteError, match="not served here"):
        connect(live.url, model="another-model").fill(TEXT, [Hole(0, 0, 2)]).wait()
    with pytest.raises(BadHole, match="overlap"):  # checked here, before any request
        connect(live.url).fill(TEXT, [Hole(0, 5), Hole(3, 8)])
    with LiveServer(EngineService(backend=tiny_backend), ServerOptions(api_key="k")) as server:
        with pytest.raises(RemoteError, match="api_key"):
            connect(server.url)
        assert connect(server.url, api_key="k").fill(TEXT, [Hole(0, 0, 2)], {"steps": 1}).wait().text
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    with pytest.raises(RemoteUnavailable, match="cannot reach"):
        connect(f"http://127.0.0.1:{free}")


def test_an_openai_server_fills_hole_after_hole_from_its_appended_deltas():
    with OpenAIStandIn(answers=["return 2 * 3.14 * r", "3.1416"]) as standin:
        engine = RemoteEngine(standin.url + "/v1")
        backend = engine.load(None)
        assert (backend.kind, backend.model_name) == ("openai", MODEL)
        pi = TEXT.index("3.14")
        handle = engine.fill(TEXT, [Hole(len(TEXT) - 1, len(TEXT) - 1, 12), Hole(pi, pi + 4)], {"temperature": 0.5})
        events = list(handle.passes())
        result = handle.result
    first, second = standin.requests
    assert (first["prompt"], first["suffix"]) == (TEXT[:pi], TEXT[pi + 4:])  # holes in document order
    assert first["max_tokens"] == 2 and first["stream"] is True and first["temperature"] == 0.5  # 4 chars / 3
    assert "diffusing" not in first and first["model"] == MODEL
    assert second["prompt"] == TEXT[:pi] + "return 2 * 3.14 * r" + TEXT[pi + 4:-1] and second["suffix"] == "\n"
    assert second["max_tokens"] == 12
    assert [e.holes[0] for e in events[:3]] == ["return", "return 2 * 3", "return 2 * 3.14 * r"]
    assert events[0].holes[1].count("░") == 12 and events[-1].holes == ("return 2 * 3.14 * r", "3.1416")
    assert result.text == TEXT[:pi] + "return 2 * 3.14 * r" + TEXT[pi + 4:-1] + "3.1416\n"
    assert [h.text for h in result.holes] == ["return 2 * 3.14 * r", "3.1416"]
    assert result.text[result.holes[1].start:result.holes[1].end] == "3.1416" and result.tokens_committed == 10
    assert standin.paths[:2] == ["/v1/engine", "/v1/models"]


def test_mercury_streams_whole_drafts_that_each_replace_the_last():
    with OpenAIStandIn(answers=["return 2 * 3.14 * r"]) as standin:
        engine = RemoteEngine(standin.url, kind="mercury", api_key=None, model="mercury-coder")
        handle = engine.fill(TEXT, [Hole(len(TEXT) - 1, len(TEXT) - 1, 16)])
        states = [e.holes[0] for e in handle.passes()]
    request = standin.requests[0]
    assert standin.paths == ["/v1/fim/completions"] and request["diffusing"] is True
    assert request["model"] == "mercury-coder" and request["max_tokens"] == 16
    assert states == drafts("return 2 * 3.14 * r")
    assert handle.result.text == TEXT[:-1] + "return 2 * 3.14 * r\n"


def test_an_openai_server_refuses_revisions_and_says_when_busy():
    with OpenAIStandIn(answers=[], busy=True) as standin:
        engine = connect(standin.url)
        with pytest.raises(BadHole, match="needs a canvasedit serve"):
            engine.fill(TEXT, [Hole(0, 12, revise=0.3)])
        with pytest.raises(ServiceBusy) as caught:
            engine.fill(TEXT, [Hole(0, 0, 3)]).wait()
        assert caught.value.retry_after == 7
    with OpenAIStandIn(answers=[], api_key="right") as standin, pytest.raises(RemoteError, match="refused"):
        connect(standin.url, api_key="wrong")


def test_canvasedit_serve_is_also_an_openai_server(live):
    engine = RemoteEngine(live.url, kind="openai")
    result = engine.fill(TEXT, [Hole(len(TEXT) - 1, len(TEXT) - 1, 6)], {"seed": 0}).wait()
    local = live.service.fill(TEXT, [Hole(len(TEXT) - 1, len(TEXT) - 1, 6)]).wait()
    assert result.text == local.text


def test_canvasedit_fill_engine_url(capsys, tmp_path, live):
    source = tmp_path / "shapes.py"
    source.write_text(TEXT, encoding="utf-8")
    assert main(["fill", str(source), "--hole", "6:12-6:12:5", "--steps", "3", "--engine", live.url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    local = live.service.fill(TEXT, [Hole(len(TEXT) - 1, len(TEXT) - 1, 5)], {"steps": 3}).wait()
    assert out["text"] == local.text and out["backend"] == "remote" and out["model"] == live.service.backend.model_name
    assert main(["fill", str(source), "--hole", "6:12-6:12:5", "--engine", live.url, "--in-place", "--stream"]) == 0
    assert "step 1/" in capsys.readouterr().err and source.read_text(encoding="utf-8") != TEXT


def test_canvasedit_fill_engine_from_config_and_its_errors(capsys, tmp_path, live, canvasedit_home):
    source = tmp_path / "shapes.py"
    source.write_text(TEXT, encoding="utf-8")
    canvasedit_home.mkdir(parents=True, exist_ok=True)
    from canvasedit import paths

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(f'[engine]\nurl = "{live.url}"\n', encoding="utf-8")
    assert main(["fill", str(source), "--hole", "6:12-6:12:3", "--steps", "2"]) == 0
    assert capsys.readouterr().out.startswith(TEXT[:-1])
    assert main(["fill", str(source), "--revise", "2:5-2:11", "--instruct", "shorter"]) == 2
    assert "leave out --engine" in capsys.readouterr().err
    assert main(["fill", str(source), "--hole", "6:12-6:12:3", "--engine", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the engine at http://127.0.0.1:9" in err and len(err.splitlines()) == 1
    assert source.read_text(encoding="utf-8") == TEXT


def test_a_mock_backend_server_is_remote_too():
    with LiveServer(EngineService(backend=MockBackend())) as server:
        result = connect(server.url).fill("x = 1\n", [Hole(4, 4, 3)], {"steps": 3}).wait()
    assert result.text == "x = aaa1\n" and result.steps == 3


def test_engine_settings_in_config_toml_are_checked():
    from canvasedit.config import ConfigError, settings_from_dict

    engine = settings_from_dict({"engine": {"url": "https://api.inceptionlabs.ai/v1", "kind": "mercury"}}).engine
    assert (engine.url, engine.kind, engine.api_key, engine.model) == ("https://api.inceptionlabs.ai/v1", "mercury", "", "")
    with pytest.raises(ConfigError, match="engine.url must be empty or a URL"):
        settings_from_dict({"engine": {"url": "gpu-box:8765"}})
    with pytest.raises(ConfigError, match="engine.kind must be auto, canvasedit, openai or mercury"):
        settings_from_dict({"engine": {"kind": "triton"}})
    with pytest.raises(ConfigError, match="engine.api_key must be a string"):
        settings_from_dict({"engine": {"api_key": 42}})
