"""What keeps the server safe to share: the API key, one fill at a time with a bounded queue, a client
that leaves cancelling its fill, and JSON errors for anything else."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import openai
import pytest
from openai import OpenAI

from canvasedit.engine import Hole
from canvasedit.engine.service import EngineService, ServiceBusy
from canvasedit.server import ServerOptions
from tests.engine.mock import MockBackend
from tests.server.live import LiveServer

TEXT = "x = 1\ny = 2\n"


class Slow(MockBackend):
    """A mock model whose every forward pass takes ``delay`` seconds, counting them."""

    def __init__(self, delay: float = 0.1):
        super().__init__()
        self.delay = delay
        self.passes = 0

    def logits(self, ids, rows=None):
        self.passes += 1
        time.sleep(self.delay)
        return super().logits(ids, rows)


def body(steps: int, stream: bool = False) -> bytes:
    return json.dumps({"text": TEXT, "holes": [{"start": 4, "length": steps}], "sampler": {"steps": steps},
                       "stream": stream}).encode()


def raw_request(port: int, payload: bytes, path: str = "/v1/fill") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    sock.sendall(head + payload)
    return sock


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_an_api_key_is_required_on_every_request_when_set():
    service = EngineService(backend=MockBackend())
    with LiveServer(service, ServerOptions(api_key="s3cret")) as server:
        with pytest.raises(openai.AuthenticationError, match="API key"):
            OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0).models.list()
        good = OpenAI(base_url=server.url + "/v1", api_key="s3cret", max_retries=0)
        assert good.models.list().data[0].id == "mock"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/health", headers={"X-API-Key": "s3cret"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["model"] == "mock"
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 401 and json.loads(response.read())["error"]["type"] == "authentication_error"


def test_a_full_queue_is_429_with_retry_after():
    slow = Slow(delay=0.15)
    service = EngineService(backend=slow, max_waiting=0)
    with LiveServer(service, ServerOptions(queue_timeout=0.2)) as server:
        first = raw_request(server.port, body(20))  # holds the model for ~3 s
        assert wait_for(lambda: slow.passes > 0)
        client = OpenAI(base_url=server.url + "/v1", api_key="-", max_retries=0)
        with pytest.raises(openai.RateLimitError, match="waiting") as caught:
            client.completions.create(model="mock", prompt="x = ", max_tokens=2)
        assert int(caught.value.response.headers["retry-after"]) >= 1
        first.close()


def test_a_waiting_fill_that_times_out_is_429():
    slow = Slow(delay=0.15)
    service = EngineService(backend=slow, max_waiting=2)
    with LiveServer(service, ServerOptions(queue_timeout=0.1)) as server:
        first = raw_request(server.port, body(20))
        assert wait_for(lambda: slow.passes > 0)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/v1/fill", body=body(2), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 429 and "busy" in json.loads(response.read())["error"]["message"]
        first.close()


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_disconnects_cancels_its_fill(stream):
    slow = Slow(delay=0.1)
    service = EngineService(backend=slow)
    with LiveServer(service) as server:
        sock = raw_request(server.port, body(40, stream=stream))
        if stream:
            seen = b""
            while b"event: step" not in seen:  # the stream has begun: headers, start, a first step
                chunk = sock.recv(65536)
                assert chunk, "the server closed the stream"
                seen += chunk
        else:
            assert wait_for(lambda: slow.passes >= 2)
        sock.close()
        # the fill stops within a pass or two and the model is free again, long before 40 passes
        handle = service.fill(TEXT, [Hole(4, 4, 1)], {"steps": 1})
        assert handle.wait(timeout=3).text.startswith("x = a")
        assert slow.passes < 20


def free(service: EngineService) -> bool:
    try:
        return service.fill(TEXT, [Hole(4, 4, 1)], {"steps": 1}).wait(timeout=0.05) is not None
    except ServiceBusy:
        return False


def test_a_fill_cancelled_while_it_waits_never_runs():
    slow = Slow(delay=0.1)
    service = EngineService(backend=slow)
    with LiveServer(service) as server:
        first = raw_request(server.port, body(30))
        assert wait_for(lambda: slow.passes > 0)
        queued = json.dumps({"text": "z = 9\n", "holes": [{"start": 4, "length": 2}]}).encode()
        waiting = raw_request(server.port, queued)
        time.sleep(0.5)  # the second request waits behind the first
        waiting.close()
        time.sleep(0.5)  # its client is gone before the model is free
        first.close()
        assert wait_for(lambda: free(service))
        z = slow.index["z"]
        assert not any((ids == z).any() for ids in slow.calls)  # the queued fill computed nothing


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/v2/nothing", 404, "no such endpoint"),
    ("GET", "/v1/fill", 405, "not allowed"),
    ("GET", "/api/nothing", 404, "no such endpoint"),
])
def test_unknown_routes_answer_json(method, path, status, message):
    with LiveServer(EngineService(backend=MockBackend())) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(method, path)
        response = conn.getresponse()
        data = json.loads(response.read())
        error = data["error"] if isinstance(data["error"], str) else data["error"]["message"]
        assert response.status == status and message in error


def test_a_model_error_mid_stream_is_an_error_event():
    class Broken(MockBackend):
        def logits(self, ids, rows=None):
            return super().logits(ids, rows) * float("nan")

    with LiveServer(EngineService(backend=Broken())) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/v1/fill", body=body(3, stream=True), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())  # the first pass fails before anything was sent: a plain 500
        assert response.status == 500 and "NaN or infinity" in data["error"]["message"]


def test_the_server_keeps_serving_while_a_fill_runs():
    slow = Slow(delay=0.1)
    with LiveServer(EngineService(backend=slow)) as server:
        done = []
        threading.Thread(target=lambda: done.append(raw_request(server.port, body(10)).recv(100)), daemon=True).start()
        assert wait_for(lambda: slow.passes > 0)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        start = time.perf_counter()
        conn.request("GET", "/v1/models")
        assert conn.getresponse().status == 200 and time.perf_counter() - start < 0.5
