"""A real ``canvasedit serve`` app on 127.0.0.1 in a thread (uvicorn on a free port), for tests.

    with LiveServer(EngineService(backend=backend)) as server:
        OpenAI(base_url=server.url + "/v1", api_key="-").models.list()
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from canvasedit.engine.service import EngineService
from canvasedit.server import ServerOptions, build_app


class LiveServer:
    def __init__(self, service: EngineService, options: ServerOptions | None = None) -> None:
        self.service = service
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(service, options), log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:  # noqa: PYI034
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        # a fill whose client left is cancelled within a pass; the next test must not run beside it
        # (Triton's interpreter, which the tests use, patches modules while a kernel runs)
        assert self.service.wait_idle(10), "a fill was still running 10 s after the server stopped"
