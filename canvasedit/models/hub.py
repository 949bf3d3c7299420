"""The hub side of a pull: which files a model repository has, with the hashes the hub published.

    plan = plan(entry)               # Plan: commit, files (size, blob hash, LFS or not), bytes already cached
    files, quant = select_files(entry, info.siblings, "Q4_K_M")
    facts = inspect_repo("org/name") # family (checked by the registry), kind, GGUF quantizations, for `models add`

Everything goes through huggingface-hub (``HfApi.model_info(files_metadata=True)``); its errors
become one-line ``ModelError``s (``HubErrors``): a gated repository says how to log in, a missing
one or a missing file says which, an unreachable endpoint says to check the network or to set
``HF_HUB_OFFLINE``. ``HF_ENDPOINT`` is read on every call, so a test can point the client at a
stand-in hub.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canvasedit.models import store
from canvasedit.models.catalog import COMMIT, CatalogEntry, GGUFQuant
from canvasedit.models.errors import ModelError, ModelNotFound, UnsupportedArchitecture

CONFIG_FILES = frozenset({
    "config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
    "tokenizer.model", "chat_template.jinja", "chat_template.json",
})
"""Small files a model folder needs besides its weights (``tokenizer.model`` is sentencepiece, not a pickle)."""


class DownloadError(ModelError, OSError):
    """The hub could not be reached, or answered something other than the model's files."""


class GatedModel(DownloadError, PermissionError):
    """The repository is gated or private and this machine is not logged in with access to it."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    blob: str
    lfs: bool


@dataclass
class Plan:
    """What a pull will fetch: the files, their sizes, what the cache already holds."""

    entry: CatalogEntry
    repo: str
    revision: str
    commit: str
    files: list[RemoteFile]
    quant: GGUFQuant | None
    have: dict[str, int] = field(default_factory=dict)
    """Bytes already in the cache per file (complete blobs and resumable partials)."""
    params: int = 0

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def to_fetch(self) -> int:
        return sum(f.size - self.have.get(f.path, 0) for f in self.files)


# ---------------------------------------------------------------------------------------- the hub


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def offline() -> bool:
    """huggingface-hub's offline switch (``HF_HUB_OFFLINE=1`` when it was imported)."""
    from huggingface_hub import constants

    return constants.is_offline_mode()


class HubErrors:
    """Turn huggingface-hub and transport errors into one-line ``ModelError``s."""

    def __init__(self, repo: str, revision: str = "main", path: str = "") -> None:
        self.repo, self.revision, self.path = repo, revision, path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, ModelError):
            return False
        import httpx2
        from huggingface_hub import errors as hf

        ep, repo = endpoint(), self.repo
        if isinstance(exc, hf.GatedRepoError):
            raise GatedModel(f"{repo} is gated: accept its terms at {ep}/{repo}, then log in with "
                             "`hf auth login` (or set HF_TOKEN) and pull again") from None
        if isinstance(exc, hf.RevisionNotFoundError):
            raise ModelNotFound(f"{repo} has no revision {self.revision!r} on {ep}") from None
        if isinstance(exc, hf.RemoteEntryNotFoundError):
            raise ModelNotFound(f"{repo}@{self.revision} has no file {self.path or '(unknown)'} on {ep}") from None
        if isinstance(exc, hf.RepositoryNotFoundError):
            raise ModelNotFound(f"no repository {repo} on {ep} (a private one needs `hf auth login` or HF_TOKEN)") from None
        if isinstance(exc, hf.OfflineModeIsEnabled):
            raise DownloadError(f"HF_HUB_OFFLINE is set, so {repo} cannot be fetched; unset it to download") from None
        if isinstance(exc, hf.HfHubHTTPError):
            status = exc.response.status_code if exc.response is not None else "?"
            if status in (401, 403):
                raise GatedModel(f"{ep} refused access to {repo} ({status}); log in with `hf auth login` "
                                 "(or set HF_TOKEN) with a token that can read it") from None
            raise DownloadError(f"{ep} answered {status} for {repo}{'/' + self.path if self.path else ''}") from None
        if isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError)):
            raise DownloadError(f"cannot reach {ep} ({type(exc).__name__}: {exc}); check the network or HF_ENDPOINT, "
                                "or set HF_HUB_OFFLINE=1 to use downloaded models") from None
        return False


def listing(repo: str, revision: str) -> Any:
    from huggingface_hub import HfApi

    with HubErrors(repo, revision):
        return HfApi(endpoint=endpoint()).model_info(repo, revision=revision, files_metadata=True)


def select_files(entry: CatalogEntry, siblings: list[Any], quant: str | None) -> tuple[list[RemoteFile], GGUFQuant | None]:
    """The files a pull fetches from a listing: config, tokenizer and safetensors, or one GGUF file."""
    listed = {s.rfilename: s for s in siblings}
    repo = entry.repo or "?"

    def remote(name: str) -> RemoteFile:
        s = listed[name]
        if s.lfs is not None:
            return RemoteFile(name, int(s.lfs.size), str(s.lfs.sha256), True)
        if s.size is None or not s.blob_id:
            raise DownloadError(f"the hub listed {name} of {repo} without its size and hash; cannot verify it")
        return RemoteFile(name, int(s.size), str(s.blob_id), False)

    top = [n for n in listed if "/" not in n]
    ggufs = [n for n in top if n.lower().endswith(".gguf")]
    if entry.kind == "gguf" or (quant is not None and ggufs):
        choice = entry.quant(quant) if entry.quants and entry.quants[0].filename else None
        if choice is None:
            key = "".join(c for c in (quant or "").lower() if c.isalnum())
            matches = [g for g in ggufs if key and key in "".join(c for c in g.lower() if c.isalnum())]
            if not matches:
                have = ", ".join(ggufs) or "none"
                raise ModelNotFound(f"{repo} has no GGUF file for quantization {quant!r}; its GGUF files: {have}")
            choice = GGUFQuant(quant or matches[0], matches[0], 0)
        if choice.filename not in listed:
            raise ModelNotFound(f"{repo}@{entry.revision} has no file {choice.filename}")
        return [remote(choice.filename)], choice
    if quant is not None:
        raise ModelNotFound(f"{repo} has no GGUF files, so --quant {quant} does not apply")
    missing = [f for f in entry.files if f not in listed]
    if missing:
        raise ModelNotFound(f"{repo}@{entry.revision} lacks {', '.join(missing)} (expected by the catalog)")
    names = [n for n in top if n in CONFIG_FILES or n.endswith(".safetensors")]
    if not any(n.endswith(".safetensors") for n in names):
        raise ModelNotFound(f"{repo} has no safetensors or GGUF weights; CanvasEdit never loads pickle (.bin) files")
    if "config.json" not in names:
        raise ModelNotFound(f"{repo} has no config.json")
    return [remote(n) for n in sorted(names)], None


def plan(entry: CatalogEntry, quant: str | None = None, revision: str | None = None) -> Plan:
    """Ask the hub what a pull of ``entry`` means now (network); nothing is written."""
    if entry.repo is None:
        raise ModelError(f"{entry.name} is not a hub model; nothing to pull")
    rev = revision or entry.revision
    info = listing(entry.repo, rev)
    commit = info.sha or ""
    if not COMMIT.fullmatch(commit):
        raise DownloadError(f"{endpoint()} gave no commit for {entry.repo}@{rev}; is HF_ENDPOINT a hub?")
    files, choice = select_files(entry, info.siblings or [], quant)
    params = entry.params or int(getattr(info.safetensors, "total", 0) or 0)
    if not params and choice is None:  # bf16 weights: two bytes a parameter
        params = sum(f.size for f in files if f.path.endswith(".safetensors")) // 2
    out = Plan(entry, entry.repo, rev, commit, files, choice, params=params)
    folder = store.repo_folder(entry.repo)
    for f in files:
        blob = folder / "blobs" / f.blob
        if blob.exists():
            out.have[f.path] = f.size
        else:
            partials = [p.stat().st_size for p in store.partials(folder, f.blob)]
            out.have[f.path] = min(max(partials, default=0), f.size)
    return out


def inspect_repo(repo: str, revision: str = "main") -> dict[str, Any]:
    """What ``models add`` records about a hub repository: its family (checked by the registry) and kind."""
    from canvasedit.models import registry
    from canvasedit.models.loading import read_json_object

    info = listing(repo, revision)
    names = [s.rfilename for s in info.siblings or []]
    params = int(getattr(info.safetensors, "total", 0) or 0)
    if not any(n.endswith(".safetensors") for n in names) and any(n.lower().endswith(".gguf") for n in names):
        arch = (info.gguf or {}).get("architecture") if isinstance(info.gguf, dict) else None
        if not arch:
            raise UnsupportedArchitecture(f"{repo} holds GGUF files but the hub names no architecture for them")
        spec = registry.resolve_gguf(str(arch))
        quants = gguf_quants(info.siblings or [])
        if not quants:
            raise ModelNotFound(f"{repo} holds GGUF files only in subfolders; CanvasEdit pulls top-level .gguf files")
        return {"family": spec.name, "kind": "gguf", "params": int((info.gguf or {}).get("total", 0) or 0),
                "quants": quants}
    if "config.json" not in names:
        raise ModelNotFound(f"{repo} has no config.json, so its family cannot be checked")
    from huggingface_hub import hf_hub_download

    with HubErrors(repo, revision, "config.json"):
        local = hf_hub_download(repo, "config.json", revision=info.sha, cache_dir=str(store.hub_cache()),
                                endpoint=endpoint())
    spec = registry.resolve(read_json_object(Path(local)))
    return {"family": spec.name, "kind": "safetensors", "params": params, "quants": []}


_QUANT_NAME = re.compile(r"(?:^|[-_.])((?:I?Q[0-9][0-9A-Z_]*)|BF16|F16|F32)$", re.IGNORECASE)
QUANT_PREFERENCE = ("Q4_K_M", "Q5_K_M", "Q4_K_S", "Q6_K", "Q8_0")
"""Quantizations offered first when a GGUF repository has them: llama.cpp's usual size/quality choices."""


def quant_name(filename: str) -> str:
    """The quantization a GGUF file name ends with ("model-Q4_K_M.gguf" → "Q4_K_M"), else its stem."""
    stem = filename.rsplit("/", 1)[-1]
    stem = stem[: -len(".gguf")] if stem.lower().endswith(".gguf") else stem
    found = _QUANT_NAME.search(stem)
    return found.group(1).upper() if found else stem


def gguf_quants(siblings: list[Any]) -> list[GGUFQuant]:
    """The top-level GGUF files of a listing as quantizations with their exact sizes, the usual choice first."""
    out = []
    for s in siblings:
        name = s.rfilename
        if "/" in name or not name.lower().endswith(".gguf"):
            continue
        size = int(s.lfs.size) if s.lfs is not None else int(s.size or 0)
        out.append(GGUFQuant(quant_name(name), name, size))
    names = [q.name for q in out]
    out = [q if names.count(q.name) == 1 else GGUFQuant(q.filename[: -len(".gguf")], q.filename, q.size) for q in out]

    def rank(q: GGUFQuant) -> tuple[int, int]:
        key = q.name.replace("_", "")
        preferred = [p.replace("_", "") for p in QUANT_PREFERENCE]
        return (preferred.index(key) if key in preferred else len(preferred), q.size)

    return sorted(out, key=rank)
