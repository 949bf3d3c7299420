"""What the HTTP server adds to a fill: the same fill run in-process, through /v1/fill, streamed, and remote.

    python benchmarks/server_overhead.py [--model M] [--steps 16] [--tokens 32] [--repeat 5]

Prints the median wall time of each way (the bundled model on this machine's CPU by default), and
the streamed bytes per step. A benchmark prints numbers; it is never a timed test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import threading
import time

import uvicorn

from canvasedit.engine import Hole
from canvasedit.engine.remote import connect
from canvasedit.engine.service import EngineService
from canvasedit.server import ServerOptions, build_app

TEXT = "import math\n\n\ndef area(radius):\n    return \n\n\ndef perimeter(radius):\n    return 2 * math.pi * radius\n"


def serve(service: EngineService) -> tuple[uvicorn.Server, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_app(service, ServerOptions()), log_config=None, access_log=False,
                                           lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, sock.getsockname()[1]


def post(port: int, body: dict) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/v1/fill", body=json.dumps(body), headers={"Content-Type": "application/json"})
    data = conn.getresponse().read()
    conn.close()
    return data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    from canvasedit.runtime import apply_threads

    apply_threads(0)  # the threads the CLI and the server use
    service = EngineService()
    backend = service.load(args.model, device=args.device)
    at = TEXT.index("return \n") + len("return ")
    holes = [Hole(at, at, args.tokens)]
    layer = {"steps": args.steps}
    body = {"text": TEXT, "holes": [{"start": at, "length": args.tokens}], "sampler": layer}
    server, port = serve(service)
    remote = connect(f"http://127.0.0.1:{port}")
    streamed: list[int] = []

    def stream() -> None:
        streamed.append(len(post(port, {**body, "stream": True})))

    ways = {
        "in-process": lambda: service.fill(TEXT, holes, layer).wait(),
        "POST /v1/fill": lambda: post(port, body),
        "POST /v1/fill, streamed": stream,
        "remote engine (folded)": lambda: remote.fill(TEXT, holes, layer).wait(),
    }
    for way in ways.values():  # warm up each path once
        way()
    print(f"model {backend.model_name} on {backend.device}, {args.tokens}-token hole, {args.steps} steps, "
          f"median of {args.repeat}")
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):  # round robin, so a busy machine slows every way alike
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["in-process"])
    for name, seen in times.items():
        median = statistics.median(seen)
        print(f"{name:26s} {median * 1000:8.1f} ms   {median / base:5.2f}x   (min {min(seen) * 1000:.1f} ms)")
    print(f"streamed bytes per step: {statistics.median(streamed) / args.steps:.0f}")
    server.should_exit = True


if __name__ == "__main__":
    main()
