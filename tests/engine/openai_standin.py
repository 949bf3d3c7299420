"""A stand-in for an OpenAI-compatible server and Inception's Mercury API, for the remote engine's tests.

It answers in their streaming shapes (server-sent events of ``text_completion`` chunks, then
``data: [DONE]``): ``/v1/completions`` streams appended deltas, as vLLM and SGLang do;
``/v1/fim/completions`` with ``diffusing: true`` streams whole drafts that each replace the last,
as Mercury does. Every request body is kept in ``requests``. Plain stdlib, so it shares no code
with the server under test.

    with OpenAIStandIn(answers=["return a + b"]) as standin:
        engine = RemoteEngine(standin.url, kind="openai")
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "standin-dllm"


def drafts(answer: str) -> list[str]:
    """Mercury-like drafts of ``answer``: noisy first, each one closer, the last exact."""
    n = len(answer)
    return ["#" * n, answer[: n // 2] + "#" * (n - n // 2), answer]


class OpenAIStandIn:
    def __init__(self, answers: list[str], busy: bool = False, api_key: str | None = None) -> None:
        self.answers = list(answers)
        """What each completion answers, in order (one per hole)."""
        self.busy = busy
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if standin.api_key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {standin.api_key}":
                    return True
                self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
                return False

            def do_GET(self) -> None:
                standin.paths.append(self.path)
                if not self._authorized():
                    return
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"Not found: {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                standin.paths.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                standin.requests.append(body)
                if not self._authorized():
                    return
                if standin.busy:
                    self._json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                               {"Retry-After": "7"})
                    return
                if self.path not in ("/v1/completions", "/v1/fim/completions"):
                    self._json(404, {"error": {"message": f"Not found: {self.path}"}})
                    return
                answer = standin.answers.pop(0)
                if body.get("diffusing"):
                    texts = drafts(answer)  # each chunk the whole draft so far
                else:
                    third = max(1, len(answer) // 3)
                    texts = [answer[:third], answer[third : 2 * third], answer[2 * third :]]  # appended deltas
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for i, text in enumerate(texts):
                    chunk = {"id": "cmpl-1", "object": "text_completion", "model": MODEL,
                             "choices": [{"index": 0, "text": text, "finish_reason": "stop" if i == len(texts) - 1
                                          else None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                usage = {"id": "cmpl-1", "object": "text_completion", "model": MODEL, "choices": [],
                         "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}
                self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OpenAIStandIn:  # noqa: PYI034
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
