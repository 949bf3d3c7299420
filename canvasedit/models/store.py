"""What CanvasEdit knows about the models it pulled: manifests, verification stamps, measurements.

Model files live in the Hugging Face cache (``hub_cache()``: ``HF_HUB_CACHE``, else
``$CANVASEDIT_HOME/hub`` in tests, else ``HF_HOME/hub``, else huggingface-hub's default), in its
standard ``models--org--name/{blobs,snapshots,refs}`` layout, so other tools share them. Beside
that, in ``paths.data_dir()/models``, CanvasEdit keeps per ``repo@commit`` a *manifest*: every file
it fetched with its size and the hash the hub published (LFS sha256, or the git blob id of small
files), and a *stamp* per file taken once its bytes were hashed and found right::

    manifest = load_manifest("GSAI-ML/LLaDA-8B-Instruct", commit)
    check(manifest)          # cheap: stat() per file; hashes again only a file whose stamp changed

A stamp is (size, mtime_ns, ctime_ns, inode): writing to a file, or resetting its mtime with
``touch -d``, changes its ctime, so a corrupted or replaced file is hashed again at load and
rejected with ``CorruptModel``, while an untouched 16 GB model loads after a few ``stat`` calls.
The stamp cannot see a change made behind the filesystem's back (bit rot on the disk):
``canvasedit models verify`` hashes everything again.

``pulls.json`` holds, per catalog entry, the commit its last complete pull got: an unpinned entry
(``main``) keeps meaning that commit, for loading, ``info`` and ``verify``, until it is pulled again,
even when another tool moves ``refs/main`` in the shared cache.
``measurements.json`` holds the peak memory and speed measured on this machine per model.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvasedit import paths
from canvasedit.document import DocumentError, atomic_write
from canvasedit.models.errors import ModelError, ModelNotFound

if TYPE_CHECKING:
    from canvasedit.models.catalog import CatalogEntry

HASH_CHUNK = 8 << 20


class CorruptModel(ModelError, ValueError):
    """A model file's bytes no longer match the hash the hub published for them."""


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, read from the environment on every call."""
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get(paths.HOME_ENV):
        return Path(env[paths.HOME_ENV]).expanduser() / "hub"
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(repo: str) -> Path:
    """``<cache>/models--org--name``: huggingface-hub's folder for a model repository."""
    return hub_cache() / ("models--" + repo.replace("/", "--"))


def commit_of(repo: str, revision: str) -> str | None:
    """The commit a revision names in the local cache (itself if a hash, else ``refs/<revision>``)."""
    from canvasedit.models.catalog import COMMIT

    if COMMIT.fullmatch(revision):
        return revision
    ref = repo_folder(repo) / "refs" / revision
    try:
        text = ref.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if COMMIT.fullmatch(text) else None


def partials(folder: Path, blob: str) -> list[Path]:
    """Unfinished copies of a blob: ours (``<blob>.incomplete``) and huggingface-hub's (``<blob>.<id>.incomplete``)."""
    blobs = folder / "blobs"
    return sorted(p for p in blobs.glob(f"{blob}*.incomplete") if p.name.split(".")[0] == blob)



# ---------------------------------------------------------------------------------------- manifests


@dataclass
class FileRecord:
    """One file of a pulled model, as the hub described it."""

    path: str
    """Path inside the repository ("model-00001-of-00006.safetensors")."""
    size: int
    blob: str
    """Its blob name in the cache: the LFS sha256, or the git blob id for a small file."""
    lfs: bool
    """True when ``blob`` is a sha256 of the bytes; False when it is git's sha1 of ``blob <size>\\0<bytes>``."""
    stamp: list[int] | None = None
    """(size, mtime_ns, ctime_ns, inode) of the blob when its hash was last found right."""


@dataclass
class Manifest:
    """What CanvasEdit pulled of one ``repo@commit`` (one file per row, every GGUF quantization pulled)."""

    repo: str
    commit: str
    revision: str
    """The revision asked for ("main"), so an offline lookup can follow it."""
    name: str
    """Catalog entry the pull was made for (its recipe applies when the folder is loaded)."""
    files: list[FileRecord] = field(default_factory=list)
    complete: bool = False
    """Every file of ``files`` is in the snapshot and was verified."""
    pulled_at: float = 0.0

    @property
    def snapshot(self) -> Path:
        return repo_folder(self.repo) / "snapshots" / self.commit

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def _manifest_dir(repo: str) -> Path:
    return paths.data_dir() / "models" / "manifests" / ("models--" + repo.replace("/", "--"))


def manifest_path(repo: str, commit: str) -> Path:
    return _manifest_dir(repo) / f"{commit}.json"


def load_manifest(repo: str, commit: str) -> Manifest | None:
    try:
        data = json.loads(manifest_path(repo, commit).read_text(encoding="utf-8"))
        files = [FileRecord(**f) for f in data.pop("files")]
        return Manifest(**data, files=files)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ModelError(f"{manifest_path(repo, commit)} is unreadable ({exc}); delete it and pull the model again") from exc


def save_manifest(manifest: Manifest) -> None:
    target = manifest_path(manifest.repo, manifest.commit)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(target, json.dumps(asdict(manifest), indent=1).encode("utf-8"))
    except (OSError, DocumentError) as exc:
        raise ModelError(f"cannot record the download in {target}: {exc}") from exc


def manifests(repo: str | None = None) -> list[Manifest]:
    """Every manifest (of one repository), newest first."""
    root = paths.data_dir() / "models" / "manifests"
    folders = [_manifest_dir(repo)] if repo else sorted(p for p in root.glob("models--*") if p.is_dir())
    out = []
    for folder in folders:
        repo_of_folder = folder.name[len("models--"):].replace("--", "/")
        for file in folder.glob("*.json"):
            found = load_manifest(repo_of_folder, file.stem)  # an unreadable one is a one-line ModelError
            if found is not None:
                out.append(found)
    return sorted(out, key=lambda m: m.pulled_at, reverse=True)


def delete_manifest(manifest: Manifest) -> None:
    manifest_path(manifest.repo, manifest.commit).unlink(missing_ok=True)


def find_manifest(entry: CatalogEntry, revision: str | None = None) -> Manifest | None:
    """The manifest of the commit an entry uses here (its last pull, pinned hash, cached ref, or newest pull).

    With no ``revision`` asked, the commit the entry's last complete pull got wins: a branch that
    moved since (another tool fetched a newer ``main``) does not change the model the user has.
    Nothing recorded and nothing pulled at the entry's own revision: the newest complete pull made
    for the entry (with ``--revision``) stands for it.
    """
    assert entry.repo is not None
    if revision is None:
        got = pulled_commit(entry)
        found = load_manifest(entry.repo, got) if got is not None else None
        if found is not None:
            return found
    rev = revision or entry.revision
    commit = commit_of(entry.repo, rev)
    if commit is not None:
        return load_manifest(entry.repo, commit)
    pulled = manifests(entry.repo)
    same = [m for m in pulled if m.revision == rev]
    if same or revision is not None:
        return same[0] if same else None
    # Pulled with --revision: the newest complete pull made for this entry is the model the user has
    # (another entry's pull of the same repository is that entry's, even once this one is removed).
    own = [m for m in pulled if m.name == entry.name]
    complete = [m for m in own if m.complete]
    return complete[0] if complete else (own[0] if own else None)


# ---------------------------------------------------------------------------------------- pulls


def _pulls_file() -> Path:
    return paths.data_dir() / "models" / "pulls.json"


def pulls() -> dict[str, dict[str, str]]:
    """Entry name → ``repo``, the ``revision`` asked and the ``commit`` got, of its last complete pull."""
    try:
        data = json.loads(_pulls_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{_pulls_file()} is unreadable ({exc}); delete it (pulled models stay) and pull again") from exc
    return data if isinstance(data, dict) else {}


def pulled_commit(entry: CatalogEntry) -> str | None:
    """The commit the last complete pull of ``entry`` got, if it was of the entry's repository."""
    from canvasedit.models.catalog import COMMIT

    row = pulls().get(entry.name)
    if not isinstance(row, dict) or row.get("repo") != entry.repo:
        return None
    commit = row.get("commit")
    return commit if isinstance(commit, str) and COMMIT.fullmatch(commit) else None


def record_pull(name: str, repo: str, revision: str, commit: str) -> None:
    """Remember the commit a pull of ``name`` got, so an unpinned entry keeps meaning that commit."""
    data = pulls()
    data[name] = {"repo": repo, "revision": revision, "commit": commit}
    _save_pulls(data)


def forget_pull(name: str) -> None:
    data = pulls()
    if data.pop(name, None) is not None:
        _save_pulls(data)


def _save_pulls(data: dict[str, dict[str, str]]) -> None:
    target = _pulls_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(target, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
    except (OSError, DocumentError) as exc:
        raise ModelError(f"cannot record the pull in {target}: {exc}") from exc


# ---------------------------------------------------------------------------------------- verification


def stamp(path: Path) -> list[int]:
    st = path.stat()  # follows the snapshot symlink to the blob
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def file_digest(path: Path, lfs: bool, size: int | None = None) -> str:
    """sha256 of the bytes (LFS files), or git's blob sha1 (small files), read in 8 MiB chunks."""
    h = new_hasher(lfs, path.stat().st_size if size is None else size)
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def new_hasher(lfs: bool, size: int) -> Any:
    """A hasher that yields the blob name of a file of ``size`` bytes once fed its bytes."""
    if lfs:
        return hashlib.sha256()
    h = hashlib.sha1(usedforsecurity=False)
    h.update(b"blob %d\0" % size)
    return h


def check(manifest: Manifest, only: Iterable[str] | None = None, full: bool = False, name: str = "") -> list[str]:
    """Make sure every file (of ``only``) is in the snapshot with its published hash.

    Stamped files whose stat() is unchanged are trusted; the others are hashed (all of them when
    ``full``). Fresh stamps are saved. Raises ``ModelNotFound`` for a missing file and
    ``CorruptModel`` for a wrong one; returns the files that were hashed.
    """
    label = name or manifest.name or manifest.repo
    wanted = set(only) if only is not None else None
    hashed: list[str] = []
    changed = False
    for record in manifest.files:
        if wanted is not None and record.path not in wanted:
            continue
        target = manifest.snapshot / record.path
        if not target.exists():
            raise ModelNotFound(f"{label} is incomplete: {record.path} is missing from {manifest.snapshot}; "
                                f"run: canvasedit models pull {label}")
        now = stamp(target)
        if not full and record.stamp == now:
            continue
        hashed.append(record.path)
        digest = file_digest(target, record.lfs, record.size) if now[0] == record.size else None
        if digest != record.blob:
            found = f"its sha256 is {digest[:12]}…" if digest and record.lfs else (
                f"its hash is {digest[:12]}…" if digest else f"it has {now[0]} bytes, not {record.size}")
            raise CorruptModel(
                f"{record.path} of {label} is corrupted: {found}, the hub published {record.blob[:12]}…; "
                f"run `canvasedit models pull {label}` to download it again"
            )
        record.stamp = now
        changed = True
    if changed:
        save_manifest(manifest)
    return hashed


def pulled_path(entry: CatalogEntry, quant: str | None = None, revision: str | None = None) -> Path:
    """The verified snapshot folder (or GGUF file) of a pulled hub entry (at ``revision``, when asked)."""
    manifest = find_manifest(entry, revision)
    hint = f"run: canvasedit models pull {entry.name}" + (f" --quant {quant}" if quant else "")
    if manifest is None or not manifest.files:
        raise ModelNotFound(f"model {entry.name!r} ({entry.repo}) is not downloaded; {hint}")
    if entry.kind == "gguf":
        target = _gguf_choice(entry, quant, [f.path for f in manifest.files if f.path.endswith(".gguf")])
        if target is None:
            raise ModelNotFound(f"model {entry.name!r} has no pulled GGUF file{' for ' + quant if quant else ''}; {hint}")
        check(manifest, only=[target], name=entry.name)
        return manifest.snapshot / target
    if not manifest.complete:
        raise ModelNotFound(f"model {entry.name!r} is only partly downloaded; {hint}")
    check(manifest, name=entry.name)
    return manifest.snapshot


def _gguf_choice(entry: CatalogEntry, quant: str | None, pulled: list[str]) -> str | None:
    """The pulled GGUF file for ``quant``; without one, the first pulled in the entry's order."""
    if quant is not None:
        choice = entry.quant(quant) if entry.quants and entry.quants[0].filename else None
        key = "".join(c for c in quant.lower() if c.isalnum())
        wanted = [choice.filename] if choice else [g for g in pulled if key in "".join(c for c in g.lower() if c.isalnum())]
        return next((g for g in wanted if g in pulled), None)
    order = [q.filename for q in entry.quants]
    ranked = sorted(pulled, key=lambda g: order.index(g) if g in order else len(order))
    return ranked[0] if ranked else None


def _manifest_of_path(path: Path) -> tuple[Manifest, str | None] | None:
    """The manifest of a path inside a pulled snapshot (and the file, for a single file)."""
    resolved = path.expanduser().absolute()
    parts = resolved.parts
    if "snapshots" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("snapshots")
    if i < 1 or i + 1 >= len(parts) or not parts[i - 1].startswith("models--"):
        return None
    repo = parts[i - 1][len("models--"):].replace("--", "/")
    manifest = load_manifest(repo, parts[i + 1])
    if manifest is None:
        return None
    inner = "/".join(parts[i + 2:]) or None
    return manifest, inner


def check_cached_path(path: Path) -> None:
    """Verify a folder or file given by path when it lies in a snapshot CanvasEdit pulled (else nothing)."""
    found = _manifest_of_path(path)
    if found is None:
        return
    manifest, inner = found
    if inner is not None:
        if manifest.file(inner) is not None:
            check(manifest, only=[inner])
        return
    if not manifest.complete:
        raise ModelNotFound(f"{path} is only partly downloaded; run: canvasedit models pull {manifest.name or manifest.repo}")
    check(manifest)


def entry_name_of(path: Path) -> str | None:
    """The catalog entry a pulled snapshot path was pulled for."""
    found = _manifest_of_path(Path(path))
    return found[0].name if found is not None and found[0].name else None


# ---------------------------------------------------------------------------------------- measurements


def _measurements_file() -> Path:
    return paths.data_dir() / "models" / "measurements.json"


def measurements() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(_measurements_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_measurement(name: str, peak_bytes: int, tokens_per_s: float, device: str, backend: str) -> None:
    """Remember what a model used on this machine (``models list`` and the models screen show it)."""
    data = measurements()
    data[name] = {"peak_bytes": int(peak_bytes), "tokens_per_s": round(float(tokens_per_s), 2),
                  "device": device, "backend": backend, "when": time.time()}
    target = _measurements_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(target, json.dumps(data, indent=1).encode("utf-8"))
    except (OSError, DocumentError) as exc:
        raise ModelError(f"cannot record the measurement in {target}: {exc}") from exc
