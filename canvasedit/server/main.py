"""``canvasedit serve``: the engine as an HTTP server for editors, scripts and other CanvasEdits.

    canvasedit serve                                  the active model on http://127.0.0.1:8765
    canvasedit serve --model path/to/model --port 8080 --device cuda
    canvasedit serve --host 0.0.0.0 --api-key KEY     any address but loopback needs a key (or CANVASEDIT_API_KEY)
    canvasedit serve --port 0                         a free port; the address is logged on stderr

Logs go to stderr, one line per request (``--json-log``: one JSON object per line). Exit codes as
the CLI's: 2 for bad input (a model that does not load, an address that cannot be bound).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import socket
import sys
import time
from typing import Any

API_KEY_ENV = "CANVASEDIT_API_KEY"
DEFAULT_PORT = 8765


class ServeError(ValueError):
    """A ``canvasedit serve`` setting that cannot work (no key on a public address, a port in use)."""


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser_class(prog="canvasedit serve", description="Serve the engine over HTTP (OpenAI, llama.cpp, Ollama "
                                                          "and CanvasEdit's own /v1/fill).")
    p.add_argument("--model", default=None, help="model folder, .gguf file or catalog name (default: the active one)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free one)")
    p.add_argument("--api-key", default=None,
                   help=f"require this key on every request (Authorization: Bearer KEY); default ${API_KEY_ENV}")
    p.add_argument("--max-body-bytes", type=int, default=4_000_000, help="largest request body (default 4 MB)")
    p.add_argument("--max-tokens", type=int, default=2048, help="most tokens one request may fill (default 2048)")
    p.add_argument("--default-tokens", type=int, default=32,
                   help="tokens of a completion or insertion that does not say (default 32)")
    p.add_argument("--queue", type=int, default=4, help="fills that may wait for the model; more get 429 (default 4)")
    p.add_argument("--queue-timeout", type=float, default=60.0,
                   help="seconds a fill waits for the model before it gets 429 (default 60)")
    p.add_argument("--json-log", action="store_true", help="log one JSON object per line")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return p


class JsonLog(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": round(record.created, 3), "level": record.levelname.lower(),
                               "logger": record.name, "message": record.getMessage()}
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(json_log: bool, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLog() if json_log else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("canvasedit.server", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_args(args: argparse.Namespace) -> str | None:
    """The API key to require; raises ``ServeError`` for settings that cannot work."""
    key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    if key is not None and not key.strip():
        raise ServeError("--api-key must not be empty")
    if key is None and not is_loopback(args.host):
        raise ServeError(f"listening on {args.host} (not loopback) needs an API key: pass --api-key KEY "
                         f"or set {API_KEY_ENV}")
    for name in ("max_body_bytes", "max_tokens", "default_tokens"):
        if getattr(args, name) < 1:
            raise ServeError(f"--{name.replace('_', '-')} must be at least 1")
    if args.queue < 0 or args.queue_timeout <= 0:
        raise ServeError("--queue must be >= 0 and --queue-timeout > 0")
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port must be in 0-65535, found {args.port}")
    return key


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; a port in use or an unknown address is a ``ServeError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> None:
    """Load the model, bind, and serve until interrupted (raises the CLI's one-line errors first)."""
    import uvicorn

    from canvasedit.config import load_settings
    from canvasedit.engine.service import EngineService
    from canvasedit.runtime import apply_threads
    from canvasedit.server.app import ServerOptions, build_app

    key = check_args(args)
    setup_logging(args.json_log, args.log_level)
    log = logging.getLogger("canvasedit.server")
    settings = load_settings()
    sock = bind(args.host, args.port)  # a port in use fails before the model loads, not after
    try:
        apply_threads(settings.model.threads)
        service = EngineService(max_waiting=args.queue)
        start = time.perf_counter()
        backend = service.load(args.model or settings.model.active or None,
                               device=args.device or settings.model.device)
    except BaseException:
        sock.close()
        raise
    log.info("loaded %s (%s on %s) in %.1fs", backend.model_name, backend.name, backend.device,
             time.perf_counter() - start, extra={"fields": {"model": backend.model_name, "device": backend.device}})
    options = ServerOptions(api_key=key, max_body_bytes=args.max_body_bytes, max_tokens=args.max_tokens,
                            default_tokens=args.default_tokens, queue_timeout=args.queue_timeout,
                            sampler=settings.sampler)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    log.info("serving %s on http://%s:%d (OpenAI /v1, llama.cpp /infill, Ollama /api, CanvasEdit /v1/fill)%s",
             backend.model_name, shown, port, "; API key required" if key else "",
             extra={"fields": {"url": f"http://{shown}:{port}", "model": backend.model_name}})
    config = uvicorn.Config(build_app(service, options), log_config=None, access_log=False,
                            timeout_graceful_shutdown=5, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        service.close()


def main(argv: list[str], parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> None:
    """Parse, check the settings as usage errors (``parser.error``: the CLI's parser makes them one line), serve."""
    parser = build_parser(parser_class)
    args = parser.parse_args(argv)
    try:
        check_args(args)
    except ServeError as exc:
        parser.error(str(exc))
    serve(args)
