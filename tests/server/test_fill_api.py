"""CanvasEdit's own ``/v1/fill``: several holes and revisions, step deltas streamed as SSE."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from canvasedit.engine import Hole
from canvasedit.engine.remote import _start as remote_start
from canvasedit.engine.remote import _step as remote_step
from canvasedit.engine.service import pieces_json, result_json
from canvasedit.engine.view import FillView, replay

TEXT = "def area(r):\n    return 3.14 * r * r\n\n\ndef perimeter(r):\n    return \n"


def post(url: str, path: str, body, headers=None) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            out.append((lines.get("event", "message"), json.loads(lines["data"])))
    return out


HOLES = [{"start": len(TEXT) - 1, "length": 5}, {"range": "2:12-2:16"}, {"start": 0, "end": 12, "revise": 0.5}]


def engine_holes():
    pi = TEXT.index("3.14")  # the range 2:12-2:16
    return [Hole(len(TEXT) - 1, len(TEXT) - 1, 5), Hole(pi, pi + 4), Hole(0, 12, revise=0.5)]


def test_a_fill_of_several_holes_and_a_revision_is_the_engines_result(served):
    status, _, data = post(served.url, "/v1/fill", {"text": TEXT, "holes": HOLES, "sampler": {"steps": 4}})
    assert status == 200
    answer = json.loads(data)
    local = served.service.fill(TEXT, engine_holes(), {"steps": 4}).wait()
    expected = result_json(local, served.service.backend)
    assert {k: v for k, v in answer.items() if k not in ("id", "elapsed_s", "tokens_per_s")} == \
        {k: v for k, v in expected.items() if k not in ("elapsed_s", "tokens_per_s")}
    assert [h["kind"] for h in answer["holes"]] == ["revise", "replace", "insert"]  # document order


def test_the_stream_sends_start_deltas_and_result_and_the_deltas_fold_to_every_pass(served):
    status, headers, data = post(served.url, "/v1/fill",
                                 {"text": TEXT, "holes": HOLES, "sampler": {"steps": 4}, "stream": True})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    stream = events(data)
    kinds = [k for k, _ in stream]
    assert kinds[0] == "start" and kinds[-1] == "result" and set(kinds[1:-1]) == {"step"}
    start = stream[0][1]
    assert [h["kind"] for h in start["holes"]] == ["revise", "replace", "insert"]
    assert start["holes"][2]["tokens"] == 5 and start["model"] == served.service.backend.model_name
    steps = [m for k, m in stream if k == "step"]
    assert "pieces" in steps[0] and all("pieces" not in s for s in steps[1:])  # one snapshot, then deltas
    view = FillView(remote_start(start))
    local = served.service.fill(TEXT, engine_holes(), {"steps": 4}).wait()
    here = list(replay(local.start, local.trace))
    folded = [view.apply(remote_step(s)) for s in steps]
    assert [list(e.holes) for e in folded] == [s["holes"] for s in steps] == [list(e.holes) for e in here]
    assert [[p.state for h in e.pieces for p in h] for e in folded] == [[p.state for h in e.pieces for p in h] for e in here]
    assert steps[0]["pieces"] == pieces_json(here[0])  # the snapshot a client without the start folds onto
    assert any(p.state == "kept" for p in here[0].pieces[0])  # the revised range starts with kept tokens
    assert stream[-1][1]["text"] == local.text


def test_with_trace_the_answer_carries_every_step(served):
    _, _, data = post(served.url, "/v1/fill", {"text": TEXT, "holes": HOLES[:1], "sampler": {"steps": 3},
                                               "trace": True})
    trace = json.loads(data)["trace"]
    assert [t["step"] for t in trace] == [1, 2, 3] and {"committed", "remasked", "resized"} <= set(trace[0])


@pytest.mark.parametrize("body, message", [
    ({"holes": [{"start": 1}]}, "text is required"),
    ({"text": TEXT}, "holes must be a non-empty array"),
    ({"text": TEXT, "holes": [{"start": 999}]}, "lies outside the document"),
    ({"text": TEXT, "holes": [{"start": 1, "end": 5}, {"start": 3, "end": 8}]}, "overlap"),
    ({"text": TEXT, "holes": [{"range": "9:1-9:2"}]}, "holes[0].range"),
    ({"text": TEXT, "holes": [{"start": "a"}]}, "holes[0].start must be an integer"),
    ({"text": TEXT, "holes": [{"start": 1, "length": 0}]}, "holes[0].length must be at least 1"),
    ({"text": TEXT, "holes": [{"start": 1, "length": 5000}]}, "at most 2048"),
    ({"text": TEXT, "holes": [{"start": 1}], "sampler": {"algorithm": "best"}}, "algorithm must be one of"),
    ({"text": TEXT, "holes": [{"start": 1}], "model": "other"}, "not served here"),
])
def test_bad_fills_are_one_line_json_errors(served, body, message):
    status, headers, data = post(served.url, "/v1/fill", body)
    error = json.loads(data)["error"]
    assert status in (400, 404) and headers["content-type"] == "application/json"
    assert message in error["message"] and "\n" not in error["message"] and error["code"] == status


def test_a_body_that_is_not_json_or_too_large(served):
    status, _, data = post(served.url, "/v1/fill", b"{not json")
    assert status == 400 and "not valid JSON" in json.loads(data)["error"]["message"]
    status, _, data = post(served.url, "/v1/fill", b"[1, 2]")
    assert status == 400 and "JSON object" in json.loads(data)["error"]["message"]
    status, _, data = post(served.url, "/v1/fill", b" " * 4_000_001)
    assert status == 413 and "at most 4000000" in json.loads(data)["error"]["message"]
