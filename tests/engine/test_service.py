"""The engine service: model lifecycle, one fill at a time with a bounded queue, cancel, the JSON schema."""

import threading
import time

import pytest

from canvasedit.engine import Hole
from canvasedit.engine.errors import BackendUnavailable
from canvasedit.engine.service import EngineService, ServiceBusy, event_json, result_json
from canvasedit.models.errors import ModelNotFound
from tests.engine.mock import MockBackend

TEXT = "x = 1\ny = 2\n"


class Closable(MockBackend):
    def __init__(self):
        super().__init__()
        self.closed = False

    def close(self):
        self.closed = True


def opener_for(models):
    def opener(name, device):
        if name not in models:
            raise ModelNotFound(f"no model named {name!r}")
        return models[name]
    return opener


def test_load_switch_and_a_failed_load_keeps_the_previous_model():
    a, b = Closable(), Closable()
    service = EngineService(opener_for({"a": a, "b": b}))
    with pytest.raises(BackendUnavailable):
        service.require()
    assert service.load("a") is a and service.backend is a
    with pytest.raises(ModelNotFound):
        service.load("missing")
    assert service.backend is a and not a.closed
    service.load("b")
    assert service.backend is b and a.closed and not b.closed
    service.close()
    assert b.closed and service.backend is None


def test_a_fill_runs_through_a_handle_and_reports_one_json_schema():
    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    handle = service.fill(TEXT, [Hole(4, 4, 3)], {"steps": 3})
    events = list(handle.events())
    assert len(events) == 3 and handle.result is not None
    data = result_json(handle.result, service.backend, with_trace=True)
    assert data["holes"][0]["range"] == "1:5-1:8" and data["text"] == "x = aaa1\ny = 2\n"
    assert data["trace"][0] == event_json(events[0], ["a░░"]) and data["sees_suffix"] is True
    assert [step["holes"] for step in data["trace"]] == [["a░░"], ["aa░"], ["aaa"]]
    assert set(data["trace"][0]) >= {"step", "committed", "remasked", "resized", "holes", "nfe"}


def test_cancel_stops_between_steps_and_leaves_no_result():
    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    handle = service.fill(TEXT, [Hole(4, 4, 6)], {"steps": 6})
    seen = 0
    for _ in handle.events():
        seen += 1
        handle.cancel()
    assert seen == 1 and handle.result is None and handle.cancelled


class Slow(MockBackend):
    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def logits(self, ids, rows=None):
        self.gate.wait(5)
        return super().logits(ids, rows)


def test_one_fill_at_a_time_and_a_full_queue_is_busy():
    slow = Slow()
    service = EngineService(opener_for({"m": slow}), max_waiting=1)
    service.load("m")
    first = service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2})
    done = []
    runner = threading.Thread(target=lambda: done.append(first.wait()))
    runner.start()
    time.sleep(0.2)  # the first fill holds the model
    waiting = service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2})
    waiter = threading.Thread(target=lambda: done.append(waiting.wait()))
    waiter.start()
    time.sleep(0.2)
    third = service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2})
    with pytest.raises(ServiceBusy, match="waiting"):
        third.wait()
    service.max_waiting = 4
    with pytest.raises(ServiceBusy, match="busy"):  # a bounded wait for the model gives up with a clear error
        service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2}).wait(timeout=0.05)
    slow.gate.set()
    runner.join(5)
    waiter.join(5)
    assert len(done) == 2 and all(r.text == "x = aa1\ny = 2\n" for r in done)


def test_a_free_model_runs_a_fill_even_with_no_queue():
    service = EngineService(opener_for({"m": MockBackend()}), max_waiting=0)
    service.load("m")
    assert service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2}).wait().text == "x = aa1\ny = 2\n"


def test_a_fill_cancelled_before_it_starts_computes_nothing():
    backend = MockBackend()
    service = EngineService(opener_for({"m": backend}))
    service.load("m")
    handle = service.fill(TEXT, [Hole(4, 4, 3)], {"steps": 3})
    handle.cancel()
    assert list(handle.events()) == [] and backend.calls == [] and handle.cancelled and handle.result is None


def test_the_result_json_names_its_params_and_token_ids():
    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    data = result_json(service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2, "seed": 7}).wait(), service.backend)
    assert data["params"]["steps"] == 2 and data["params"]["seed"] == 7 and data["params"]["algorithm"] == "low_confidence"
    assert data["holes"][0]["ids"] == [MockBackend().index["a"]] * 2


def test_chat_needs_a_chat_template():
    from canvasedit.engine.instruct import NotInstructModel

    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    with pytest.raises(NotInstructModel, match="no chat template"):
        service.chat([{"role": "user", "content": "hi"}], 4)


def test_pieces_json_is_every_holes_state():
    from canvasedit.engine.service import pieces_json

    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    first = next(iter(service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2}).passes()))
    assert [[p[1] for p in hole] for hole in pieces_json(first)] == [[p.state for p in h] for h in first.pieces]
    assert [[p[1] for p in hole] for hole in pieces_json(first)] == [["new", "masked"]]


def test_wait_idle_waits_for_the_running_fill():
    slow = Slow()
    service = EngineService(opener_for({"m": slow}))
    service.load("m")
    handle = service.fill(TEXT, [Hole(4, 4, 2)], {"steps": 2})
    runner = threading.Thread(target=handle.wait)
    runner.start()
    time.sleep(0.1)
    assert service.wait_idle(timeout=0.05) is False
    slow.gate.set()
    assert service.wait_idle(timeout=5) is True
    runner.join(5)


def test_a_finished_fill_records_the_models_speed_and_memory():
    from canvasedit.models.store import measurements

    service = EngineService(opener_for({"m": MockBackend()}))
    service.load("m")
    service.fill(TEXT, [Hole(4, 4, 3)], {"steps": 3}).wait()
    seen = measurements()["mock"]
    assert seen["tokens_per_s"] > 0 and seen["peak_bytes"] > 10_000_000 and seen["backend"] == "mock"
