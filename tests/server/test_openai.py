"""OpenAI's API on ``canvasedit serve``, driven by the official ``openai`` package against a live server."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from canvasedit.engine import Hole
from canvasedit.engine.fill import MASK_GLYPH
from canvasedit.engine.instruct import chat_prompt_ids
from canvasedit.engine.service import EngineService
from canvasedit.engine.view import replay

PROMPT = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"
STEPS = {"sampler": {"steps": 3}}


@pytest.fixture(scope="module")
def client(served) -> OpenAI:
    return OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=30)


def local_fill(service: EngineService, text: str, at: int, tokens: int, steps: int = 3):
    return service.fill(text, [Hole(at, at, tokens)], {"steps": steps}).wait()


def test_models_lists_the_served_model(client, served):
    models = client.models.list()
    assert [m.id for m in models.data] == [served.service.backend.model_name]
    assert client.models.retrieve(served.service.backend.model_name).owned_by == "canvasedit"


def test_completion_fills_between_prompt_and_suffix(client, served):
    model = served.service.backend.model_name
    answer = client.completions.create(model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=6, extra_body=STEPS)
    expected = local_fill(served.service, PROMPT + SUFFIX, len(PROMPT), 6)
    assert answer.choices[0].text == expected.holes[0].text
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.usage.completion_tokens == len(expected.holes[0].tokens)
    assert answer.usage.prompt_tokens > 5


def test_streamed_completion_sends_the_finished_text(client, served):
    model = served.service.backend.model_name
    whole = client.completions.create(model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=6, extra_body=STEPS)
    chunks = list(client.completions.create(model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=6, stream=True,
                                            extra_body=STEPS))
    assert "".join(c.choices[0].text for c in chunks) == whole.choices[0].text
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert all(MASK_GLYPH not in c.choices[0].text for c in chunks)


def test_diffusing_streams_every_intermediate_state(client, served):
    model = served.service.backend.model_name
    chunks = list(client.completions.create(model=model, prompt=PROMPT, suffix=SUFFIX, max_tokens=6, stream=True,
                                            extra_body={"diffusing": True, "sampler": {"steps": 3}}))
    states = [c.choices[0].text for c in chunks]
    expected = local_fill(served.service, PROMPT + SUFFIX, len(PROMPT), 6)
    assert states[:3] == [e.holes[0] for e in replay(expected.start, expected.trace)]  # one chunk per step, each the whole draft
    assert states[0].count(MASK_GLYPH) > states[1].count(MASK_GLYPH) > 0
    assert states[3] == expected.holes[0].text and states[4] == ""  # then the answer, then finish_reason
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_chat_completion_answers_after_the_chat_template(client, served):
    model = served.service.backend.model_name
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
    answer = client.chat.completions.create(model=model, messages=messages, max_tokens=5, extra_body=STEPS)
    expected = served.service.chat(messages, 5, {"steps": 3}).wait()
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == expected.holes[0].text
    # the template's <|pad|> / <|endoftext|> are single special tokens, not their characters
    backend = served.service.backend
    prompt = backend.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert answer.usage.prompt_tokens == len(chat_prompt_ids(backend, messages)) < len(backend.encode(prompt))


def test_chat_streams_diffusing_drafts_as_deltas_of_the_whole_text(client, served):
    model = served.service.backend.model_name
    messages = [{"role": "user", "content": "Count to three."}]
    chunks = list(client.chat.completions.create(model=model, messages=messages, max_tokens=4, stream=True,
                                                 extra_body={"diffusing": True, "sampler": {"steps": 2}},
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    expected = served.service.chat(messages, 4, {"steps": 2}).wait()
    assert contents[-1] == expected.holes[0].text and MASK_GLYPH in contents[0]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(expected.holes[0].tokens)


def test_chat_without_a_template_is_a_clear_400(tiny_backend):
    from tests.server.live import LiveServer

    with LiveServer(EngineService(backend=tiny_backend)) as server:
        plain = OpenAI(base_url=server.url + "/v1", api_key="-", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="no chat template"):
            plain.chat.completions.create(model=tiny_backend.model_name, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"model": "gpt-4"}, openai.NotFoundError, "not served here"),
    ({"n": 2}, openai.BadRequestError, "n must be 1"),
    ({"max_tokens": 100_000}, openai.BadRequestError, "at most 2048"),
    ({"extra_body": {"sampler": {"steps": 0}}}, openai.BadRequestError, "steps must be"),
    ({"extra_body": {"sampler": {"nonsense": 1}}}, openai.BadRequestError, "unknown sampler setting"),
    ({"temperature": -1}, openai.BadRequestError, "temperature must be"),
])
def test_bad_completion_requests_are_json_errors(client, served, kwargs, error, message):
    args = {"model": served.service.backend.model_name, "prompt": PROMPT, "max_tokens": 4, **kwargs}
    with pytest.raises(error, match=message) as caught:
        client.completions.create(**args)
    assert caught.value.body["message"]  # the OpenAI error envelope, parsed by the client
