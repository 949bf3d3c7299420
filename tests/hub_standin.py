"""A stand-in for the Hugging Face hub on 127.0.0.1, for tests that download through the real client.

It answers the requests huggingface-hub 2.4.0 makes, with the headers it reads:

* ``GET /api/models/{repo}/revision/{rev}?blobs=true`` — ``HfApi.model_info``: the commit (``sha``)
  and every file with its size, git blob id and, for LFS files, ``lfs.sha256``;
* ``GET /api/models/{repo}/tree/{rev}`` — ``HfApi.list_repo_tree``;
* ``HEAD|GET /{repo}/resolve/{rev}/{file}`` — ``X-Repo-Commit``, ``ETag`` (the sha256 for LFS files,
  the git blob id otherwise, as the hub sends them), ``Content-Length``, and ``Range`` → 206;
* errors as the hub words them: 401 + ``X-Error-Code: RepoNotFound`` / ``GatedRepo``,
  404 + ``RevisionNotFound`` / ``EntryNotFound``.

Faults are injected per file: ``drop[(repo, file)] = n`` closes the connection after n body bytes
(once), ``corrupt.add((repo, file))`` flips one byte of every body, ``stall[(repo, file)] = n``
sends n bytes and then waits for ``release`` (a process under test can be killed meanwhile).
``requests`` logs every request (method, path, Range header, body bytes sent)::

    with HubStandIn() as hub:
        commit = hub.add_repo("org/tiny", folder)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")


@dataclass
class RepoFile:
    data: bytes
    lfs: bool

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @functools.cached_property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Repo:
    name: str
    commit: str
    files: dict[str, RepoFile]
    gated: bool = False
    extra: dict = field(default_factory=dict)
    """More ``model_info`` fields (``safetensors``, ``gguf``)."""


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    range: str | None
    status: int
    sent: int
    """Body bytes written."""


class HubStandIn:
    GOOD_TOKEN = "hf_standin_token"
    """The one token the stand-in accepts for gated repositories."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.drop: dict[tuple[str, str], int] = {}
        self.corrupt: set[tuple[str, str]] = set()
        self.stall: dict[tuple[str, str], int] = {}
        self.release = threading.Event()
        self.requests: list[Logged] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def add_repo(self, name: str, folder: Path | None = None, files: dict[str, bytes] | None = None,
                 gated: bool = False, **extra) -> str:
        """Serve the files of ``folder`` (and ``files``) as repository ``name``; returns its commit."""
        content: dict[str, bytes] = {}
        if folder is not None:
            content.update({p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                            if p.is_file()})
        content.update(files or {})
        listing = "".join(f"{k}:{hashlib.sha256(v).hexdigest()}\n" for k, v in sorted(content.items()))
        commit = hashlib.sha1(f"{name}\n{listing}".encode()).hexdigest()
        params = sum(_safetensors_params(v) for k, v in content.items() if k.endswith(".safetensors"))
        if params and "safetensors" not in extra:  # the hub's own parameter count, as model_info reports it
            extra["safetensors"] = {"parameters": {"F32": params}, "total": params}
        self.repos[name] = Repo(name, commit, {k: RepoFile(v, k.endswith(LFS_SUFFIXES)) for k, v in content.items()},
                                gated=gated, extra=extra)
        return commit

    def bodies(self, path_part: str, method: str = "GET") -> list[Logged]:
        """Logged requests whose path contains ``path_part``."""
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def log(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append(entry)


def _safetensors_params(data: bytes) -> int:
    """Parameters in a safetensors file, from its JSON header (0 for anything else)."""
    if len(data) < 8:
        return 0
    size = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError:
        return 0
    total = 0
    for key, tensor in header.items():
        if key != "__metadata__":
            n = 1
            for dim in tensor["shape"]:
                n *= dim
            total += n
    return total


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<kind>revision|tree)/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._route(head=False)

        def do_HEAD(self) -> None:
            self._route(head=True)

        # ---------------------------------------------------------------- routing

        def _route(self, head: bool) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            m = _API.match(path)
            if m is not None and not head:
                return self._api(m, parse_qs(url.query))
            m = _RESOLVE.match(path)
            if m is not None:
                return self._resolve(m, head)
            self._error(404, "RepoNotFound", "not a hub route")

        def _repo(self, name: str, rev: str) -> Repo | None:
            repo = hub.repos.get(name)
            if repo is None:
                self._error(401, "RepoNotFound", "Repository not found")
                return None
            if rev not in ("main", repo.commit):
                self._error(404, "RevisionNotFound", "Invalid rev id", commit=None)
                return None
            return repo

        def _api(self, m: re.Match, query: dict) -> None:
            repo = self._repo(m["repo"], unquote(m["rev"]))
            if repo is None:
                return
            if m["kind"] == "tree":
                body = [{"type": "file", "oid": f.git_oid, "size": len(f.data), "path": name,
                         **({"lfs": {"oid": f.sha256, "size": len(f.data), "pointerSize": 134}} if f.lfs else {})}
                        for name, f in sorted(repo.files.items())]
            else:
                blobs = query.get("blobs") == ["True"] or query.get("blobs") == ["true"]
                siblings = []
                for name, f in sorted(repo.files.items()):
                    row: dict = {"rfilename": name}
                    if blobs:
                        row.update(size=len(f.data), blobId=f.git_oid)
                        if f.lfs:
                            row["lfs"] = {"size": len(f.data), "sha256": f.sha256, "pointerSize": 134}
                    siblings.append(row)
                body = {"_id": repo.commit[:24], "id": repo.name, "modelId": repo.name, "sha": repo.commit,
                        "private": False, "disabled": False, "gated": "manual" if repo.gated else False,
                        "tags": [], "siblings": siblings, **repo.extra}
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, repo.name, m.group(0))

        def _resolve(self, m: re.Match, head: bool) -> None:
            repo = self._repo(m["repo"], unquote(m["rev"]))
            if repo is None:
                return
            name = m["path"]
            if repo.gated and self.headers.get("Authorization") != f"Bearer {HubStandIn.GOOD_TOKEN}":
                return self._error(401, "GatedRepo", "Access to model is restricted", commit=repo.commit)
            f = repo.files.get(name)
            if f is None:
                return self._error(404, "EntryNotFound", "Entry not found", commit=repo.commit)
            data = f.data
            key = (repo.name, name)
            if key in hub.corrupt and not head:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{f.etag}"', "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            if f.lfs:
                headers.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(len(f.data))})
            status, start = 200, 0
            asked = self.headers.get("Range")
            if asked and not head:
                r = _RANGE.match(asked)
                start = int(r.group(1)) if r else 0
                if start >= len(data):
                    headers["Content-Range"] = f"bytes */{len(data)}"
                    return self._send(416, b"", headers, repo.name, self.path, head)
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            if head:
                return self._send(200, body, headers, repo.name, self.path, head=True)
            limit = hub.drop.pop(key, None)
            stall = hub.stall.get(key)
            if stall is not None and start < stall:
                return self._partial(status, body, headers, stall - start, wait=True)
            if limit is not None:
                return self._partial(status, body, headers, limit, wait=False)
            self._send(status, body, headers, repo.name, self.path)

        # ---------------------------------------------------------------- writing

        def _send(self, status: int, body: bytes, headers: dict, repo: str, path: str, head: bool = False) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            hub.log(Logged("HEAD" if head else "GET", self.path, self.headers.get("Range"), status,
                           0 if head else len(body)))

        def _partial(self, status: int, body: bytes, headers: dict, n: int, wait: bool) -> None:
            """Promise the whole body, send ``n`` bytes, then (after ``release`` when ``wait``) hang up."""
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:n])
            self.wfile.flush()
            hub.log(Logged("GET", self.path, self.headers.get("Range"), status, n))
            if wait:
                hub.release.wait(60)
            self.close_connection = True

        def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
            body = json.dumps({"error": message}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if self.command != "HEAD" else 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            hub.log(Logged(self.command, self.path, self.headers.get("Range"), status, 0))

    return Handler
