"""The editor's diffusion features on a remote engine: ``/v1/instruct``, ``/v1/expand``, ``/v1/lengths`` and
``/v1/score`` through a live server, each handle of ``RemoteEngine`` answering as the in-process service does."""

from __future__ import annotations

import json

import pytest

from canvasedit.engine import Hole
from canvasedit.engine.instruct import has_chat_template
from canvasedit.engine.remote import RemoteEngine, RemoteError
from canvasedit.engine.service import EngineService
from canvasedit.engine.view import replay
from canvasedit.server import ServerOptions
from tests.engine.openai_standin import OpenAIStandIn
from tests.server.live import LiveServer
from tests.server.test_fill_api import post

TEXT = "def area(r):\n    return 3.14 * r * r\n\n\ndef perimeter(r):\n    return \n"
SELECTION = (TEXT.index("return 3.14"), TEXT.index(" * r * r"))
OUTLINE = "# Plan\n\n- buy milk\n- write code\n"
STEPS = {"steps": 4}


@pytest.fixture(scope="module")
def remote(served) -> RemoteEngine:
    engine = RemoteEngine(served.url)
    engine.load(None)
    return engine


def same_fill(remote_result, local_result) -> None:
    assert remote_result.text == local_result.text and remote_result.holes == local_result.holes
    assert remote_result.params == local_result.params and remote_result.steps == local_result.steps
    assert remote_result.tokens_committed == local_result.tokens_committed
    assert [e.holes for e in replay(remote_result.start, remote_result.trace)] == \
        [e.holes for e in replay(local_result.start, local_result.trace)]


def test_instruct_on_the_server_is_the_services_and_the_chat_template_comes_with_the_model(served, remote):
    assert remote.backend.chat_template == served.service.backend.tokenizer.chat_template
    assert has_chat_template(remote.backend)  # so the editor offers instructions on this remote model
    a, b = SELECTION
    handle = remote.instruct(TEXT, a, b, "make it shorter", STEPS, length=6)
    shown = [p.holes for p in handle.passes()]
    local = served.service.instruct(TEXT, a, b, "make it shorter", STEPS, length=6).wait()
    same_fill(handle.result, local)
    assert shown == [e.holes for e in replay(local.start, local.trace)]  # every pass drawn as the engine drew it
    assert handle.result.text[:a] == TEXT[:a] and handle.result.text.endswith(TEXT[b:])


def test_expand_on_the_server_is_the_services_with_its_items(served, remote):
    handle = remote.expand(OUTLINE, "markdown", STEPS, length=5)
    result = handle.wait()
    local = served.service.expand(OUTLINE, "markdown", STEPS, length=5)
    same_fill(result, local.wait())
    assert handle.items == local.run.items and [i.title for i in handle.items] == ["buy milk", "write code"]
    assert [(h.original_start, h.original_end) for h in result.holes] == [(i.start, i.end) for i in handle.items]


def test_the_length_search_on_the_server_is_the_services_candidate_by_candidate(served, remote):
    holes = [Hole(len(TEXT) - 1, len(TEXT) - 1, 4)]
    handle = remote.search_lengths(TEXT, holes, STEPS)
    steps = list(handle.events())
    local = served.service.search_lengths(TEXT, holes, STEPS)
    local_steps = list(local.events())
    search, here = handle.run, local.run
    assert (search.requested, search.plans) == (here.requested, here.plans)
    for k in range(len(here.plans)):  # candidates run in lockstep threads: their steps interleave freely
        mine = [s.event for s in steps if s.candidate == k]
        theirs = [s.event for s in local_steps if s.candidate == k]
        assert [[(c.offset, c.token) for c in e.committed] for e in mine] == \
            [[(c.offset, c.token) for c in e.committed] for e in theirs]
        assert {s.lengths for s in steps if s.candidate == k} == {here.plans[k]}
        assert search.runs[k].start == here.runs[k].start
    assert [(c.index, c.lengths, c.free, c.score, c.hole_scores) for c in search.candidates] == \
        [(c.index, c.lengths, c.free, c.score, c.hole_scores) for c in here.candidates]
    for mine, theirs in zip(search.candidates, here.candidates):
        same_fill(mine.result, theirs.result)
    assert search.best.index == here.best.index and handle.result is search.best.result
    assert handle.result.text == local.result.text


def test_scores_on_the_server_are_the_services_token_for_token(served, remote):
    whole = remote.score(TEXT)
    assert whole.tokens == served.service.score(TEXT).tokens and whole.passes > 0  # probabilities unrounded
    a, b = SELECTION
    part = remote.score(TEXT, a, b, passes=2, extend=1)
    local = served.service.score(TEXT, a, b, passes=2, extend=1)
    assert part.tokens == local.tokens and (part.start, part.end, part.passes) == (a, b, local.passes)


BAD = [
    ("/v1/instruct", {"text": TEXT, "start": 0, "end": 5}, "instruction is required"),
    ("/v1/instruct", {"text": TEXT, "start": 0, "end": 999, "instruction": "shorter"}, "lies outside the document"),
    ("/v1/instruct", {"text": TEXT, "instruction": "shorter"}, "needs start (a character offset) or range"),
    ("/v1/instruct", {"text": TEXT, "range": "1:1-9:9", "instruction": "shorter"}, "range:"),
    ("/v1/instruct", {"text": TEXT, "start": 0, "instruction": "shorter", "length": 5000}, "at most 2048"),
    ("/v1/instruct", {"text": TEXT, "start": 0, "instruction": "x", "length": 0}, "length must be at least 1"),
    ("/v1/expand", {"text": "x = 1\n", "language": "python"}, "nothing to expand"),
    ("/v1/expand", {"text": OUTLINE, "language": "rust"}, "not from rust"),
    ("/v1/expand", {"text": OUTLINE, "items": [{"start": 0, "end": 99, "prefix": "\n"}]}, "lies outside"),
    ("/v1/expand", {"text": OUTLINE, "items": [{"start": 0, "end": 6}, {"start": 3, "end": 9}]}, "overlap"),
    ("/v1/expand", {"text": OUTLINE, "items": ["- buy milk"]}, "items[0] must be an object"),
    ("/v1/score", {"text": TEXT, "start": 9, "end": 2}, "lies outside the document"),
    ("/v1/score", {"text": TEXT, "passes": 0}, "passes must be at least 1"),
    ("/v1/score", {"text": 3}, "text must be a string"),
    ("/v1/score", {"holes": []}, "text is required"),
    ("/v1/lengths", {"text": TEXT, "holes": [{"start": 0, "end": 12, "revise": 0.5}]}, "not a partial revision"),
    ("/v1/lengths", {"text": TEXT, "holes": []}, "holes must be a non-empty array"),
    ("/v1/lengths", {"text": TEXT, "holes": [{"start": 0, "length": 2000}]}, "does not fit"),
    ("/v1/lengths", {"text": TEXT, "holes": [{"start": 0}], "sampler": {"steps": "many"}}, "sampler setting"),
]


@pytest.mark.parametrize(("path", "body", "message"), BAD, ids=[f"{p}-{m}" for p, _, m in BAD])
def test_a_bad_request_is_a_400_with_one_line_of_json(served, path, body, message):
    status, headers, data = post(served.url, path, body)
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(data)["error"]
    assert message in error["message"] and "\n" not in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"] == 400
    assert served.service.wait_idle(1)  # nothing was left running


def test_the_servers_token_limit_holds_for_every_feature(chat_backend):
    with LiveServer(EngineService(backend=chat_backend), ServerOptions(max_tokens=8)) as server:
        for path, body in [("/v1/instruct", {"text": TEXT, "start": 0, "end": 30, "instruction": "shorter"}),
                           ("/v1/expand", {"text": OUTLINE, "length": 5}),  # two bodies of 5
                           ("/v1/lengths", {"text": TEXT, "holes": [{"start": 0, "length": 5}]})]:  # budget 10
            status, _, data = post(server.url, path, {**body, "sampler": STEPS})
            assert status == 400 and "fills at most 8 per request" in json.loads(data)["error"]["message"], path
        status, _, data = post(server.url, "/v1/expand", {"text": OUTLINE, "length": 4, "sampler": STEPS})
        assert status == 200 and len(json.loads(data)["items"]) == 2


def test_a_model_without_a_chat_template_refuses_instructions_there_and_here(tiny_backend):
    with LiveServer(EngineService(backend=tiny_backend)) as server:
        status, _, data = post(server.url, "/v1/instruct", {"text": TEXT, "start": 0, "instruction": "shorter"})
        assert status == 400 and "has no chat template" in json.loads(data)["error"]["message"]
        engine = RemoteEngine(server.url)
        assert not has_chat_template(engine.load(None))
        with pytest.raises(RemoteError, match="has no chat template"):
            engine.instruct(TEXT, 0, 5, "shorter").wait()


def test_an_openai_server_has_none_of_the_diffusion_calls():
    with OpenAIStandIn(answers=[]) as standin:
        engine = RemoteEngine(standin.url)
        engine.load(None)
        for call in (lambda: engine.instruct(TEXT, 0, 5, "shorter"), lambda: engine.expand(OUTLINE, None),
                     lambda: engine.search_lengths(TEXT, [Hole(0, 0, 2)]), lambda: engine.score(TEXT)):
            with pytest.raises(RemoteError, match="needs a canvasedit serve engine"):
                call()
        assert standin.requests == []  # refused here, before any request
