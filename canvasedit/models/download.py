"""Pull models from the Hugging Face hub into its standard cache, verified; remove and re-verify them.

    report = pull(entry, quant=None, progress=print)     # PullReport: bytes fetched, files, snapshot path
    report = remove(entry)                               # RemoveReport: bytes freed
    checked, problems = verify(entry)                    # problems == [] when every file hashes right

The hub is asked through huggingface-hub (``HfApi.model_info`` for the file list with every LFS
file's sha256, ``get_hf_file_metadata`` for each file's location, its session for the bytes,
``hf_hub_download`` to link the snapshot), and the files land in its cache layout, so ``hf cache
ls``, transformers and llama.cpp's ``-hf`` see them too. ``HF_ENDPOINT``, ``HF_TOKEN`` and
``HF_HUB_OFFLINE`` are honoured. Three facts about huggingface-hub 2.4.0 shape the rest:

* it does not hash what it downloads, so a corrupted body would be stored under the true hash:
  every file here is hashed while it streams (sha256 for LFS files, git's blob sha1 for small ones)
  and compared with what the hub published before it gets its blob name;
* it writes to a process-unique ``blobs/<etag>.<uuid>.incomplete`` and so never resumes across
  processes: here the bytes go to ``blobs/<etag>.incomplete``, written unbuffered, which a pull run
  again after a crash or ``kill -9`` continues with an HTTP Range request (it adopts a
  huggingface-hub orphan the same way);
* it resumes a dropped connection only from 10 MiB boundaries: here every chunk that arrived is kept.

Only config, tokenizer, safetensors and GGUF files are fetched (never pickles or Python); free disk
is checked before the first byte, and memory (``fit``) unless ``force``. A file is linked into the
snapshot only once verified, so a half-written file can never be loaded.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from canvasedit.models import catalog, fit, store
from canvasedit.models.catalog import COMMIT, CatalogEntry
from canvasedit.models.errors import ModelError, ModelNotFound, UnsupportedArchitecture
from canvasedit.models.hub import (  # noqa: F401 — the hub's errors are part of this module's interface
    DownloadError,
    GatedModel,
    HubErrors,
    Plan,
    RemoteFile,
    endpoint,
    offline,
    plan,
)

RETRIES = 5
"""Attempts after a dropped connection, each resuming where the last one stopped."""
RETRY_WAIT = 1.0
"""Seconds before the first retry, doubled after each one."""


class NotEnoughDisk(DownloadError):
    """The download would not fit on the cache's disk."""


class CorruptDownload(DownloadError):
    """A downloaded file's hash differs from the one the hub published; it was removed."""


class ModelDoesNotFit(ModelError, ValueError):
    """The model needs more memory than this machine has (``--force`` pulls it anyway)."""


class PullCancelled(ModelError):
    """The pull was cancelled; what arrived so far is kept and the next pull continues from it."""


@dataclass(frozen=True)
class Progress:
    """One progress report of a pull (the CLI draws a bar from it, the models screen a ProgressBar)."""

    phase: str
    """"plan", "download", "verify", "link" or "done"."""
    file: str = ""
    done: int = 0
    """Bytes of the whole pull present so far (resumed bytes count as present)."""
    total: int = 0
    """Bytes of the whole pull."""


@dataclass(frozen=True)
class PullReport:
    name: str
    repo: str
    commit: str
    path: Path
    """The snapshot folder, or the GGUF file."""
    total: int
    fetched: int
    """Bytes that came over the network in this pull."""
    files: int
    offline: bool = False


@dataclass(frozen=True)
class RemoveReport:
    name: str
    freed: int
    """Bytes the disk got back (a symlink, or a file with another hard link, frees none)."""
    files: int
    """Snapshot entries deleted."""
    partials: int
    """Unfinished downloads deleted."""
    kept_for: tuple[str, ...] = ()
    """Other entries of the same repository whose commit was left in place."""


# ---------------------------------------------------------------------------------------- pull


def pull(
    entry: CatalogEntry,
    quant: str | None = None,
    revision: str | None = None,
    force: bool = False,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    machine: fit.Machine | None = None,
) -> PullReport:
    """Download, verify and link ``entry`` (one quantization of a GGUF entry) into the HF cache."""
    report = progress or (lambda p: None)
    if entry.repo is None or not entry.on_hub:
        raise ModelError(f"{entry.name} is {'bundled with CanvasEdit' if entry.kind == 'bundled' else 'a local folder'}; "
                         "there is nothing to pull")
    if offline():
        return _pull_offline(entry, quant, revision)
    _check_family(entry, force)
    p = plan(entry, quant, revision)
    if not force:
        _check_memory(p, machine or fit.machine())
    _check_disk(p)
    report(Progress("plan", total=p.total, done=p.total - p.to_fetch))
    manifest = store.load_manifest(p.repo, p.commit) or store.Manifest(p.repo, p.commit, p.revision, entry.name)
    manifest.revision, manifest.name, manifest.pulled_at = p.revision, entry.name, time.time()
    for f in p.files:
        if manifest.file(f.path) is None:
            manifest.files.append(store.FileRecord(f.path, f.size, f.blob, f.lfs))
            manifest.complete = False  # a new file: the model is whole again only once it is in place
    store.save_manifest(manifest)  # from here on the partial files belong to a known model (rm finds them)
    folder = store.repo_folder(p.repo)
    tally = _Tally(p.total, report)
    try:
        for f in p.files:
            _place(p, f, folder, manifest, tally, cancel)
        report(Progress("link", done=p.total, total=p.total))
        _link(p, folder)
        store.check(manifest, name=entry.name)  # every linked file still is what was verified
    except OSError as exc:
        if isinstance(exc, ModelError):
            raise
        raise DownloadError(f"pulling {entry.name} failed: {exc.strerror or exc} ({exc.filename or store.hub_cache()}); "
                            "what was downloaded is kept, pull again to continue") from exc
    manifest.complete = True
    store.save_manifest(manifest)
    store.record_pull(entry.name, p.repo, p.revision, p.commit)  # what `info` shows and `verify` checks
    report(Progress("done", done=p.total, total=p.total))
    path = manifest.snapshot / p.files[0].path if p.quant is not None else manifest.snapshot
    return PullReport(entry.name, p.repo, p.commit, path, p.total, tally.fetched, len(p.files))


def _pull_offline(entry: CatalogEntry, quant: str | None, revision: str | None) -> PullReport:
    manifest = store.find_manifest(entry, revision)
    if manifest is None or not manifest.files:
        raise DownloadError(f"HF_HUB_OFFLINE is set and {entry.name} ({entry.repo}) is not in the cache "
                            f"({store.hub_cache()}); unset HF_HUB_OFFLINE to download it")
    path = store.pulled_path(entry, quant, revision)  # verified, or a one-line error saying what is missing
    return PullReport(entry.name, manifest.repo, manifest.commit, path, manifest.bytes, 0, len(manifest.files), True)


def _check_family(entry: CatalogEntry, force: bool) -> None:
    from canvasedit.models import registry

    try:
        spec = registry.family(entry.family)
    except UnsupportedArchitecture:
        if force:
            return
        runs = ", ".join(s.name for s in registry.families())
        raise UnsupportedArchitecture(f"this CanvasEdit cannot run {entry.family!r} models yet (it runs: {runs}); "
                                      f"pass --force to download {entry.name} anyway") from None
    if entry.kind == "gguf" and spec.gguf is None and not force:
        raise UnsupportedArchitecture(f"the GGUF backend cannot run {entry.family!r} models yet; "
                                      f"pass --force to download {entry.name} anyway")


def _check_memory(p: Plan, where: fit.Machine) -> None:
    sized = dataclasses.replace(p.entry, params=p.params)
    gguf = p.files[0].size if p.quant is not None else None
    verdict = fit.judge(sized, where, gguf, p.quant.name if p.quant else None)
    if not verdict.ok:
        hint = " or a smaller quantization (--quant)" if p.quant is not None else ""
        raise ModelDoesNotFit(f"{fit.explain(sized, verdict, where, gguf, p.quant.name if p.quant else None)}; "
                              f"pick a smaller model{hint}, or pass --force to download it anyway")


def free_disk(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free


def _check_disk(p: Plan) -> None:
    cache = store.hub_cache()
    free = free_disk(cache)
    if p.to_fetch > free:
        raise NotEnoughDisk(f"not enough disk space for {p.entry.name}: the download needs {fit.human_bytes(p.to_fetch)} "
                            f"in {cache}, which has {fit.human_bytes(free)} free; free some space or set HF_HUB_CACHE "
                            "to a larger disk")


class _Tally:
    """Bytes present and fetched during a pull; reports progress at most ten times a second."""

    def __init__(self, total: int, report: Callable[[Progress], None]) -> None:
        self.total, self.report = total, report
        self.done = self.fetched = 0
        self._last = 0.0

    def present(self, n: int, file: str) -> None:
        """``n`` bytes of ``file`` found on disk (negative: found wrong and dropped)."""
        self.done += n
        self._tell(file, force=True)

    def arrived(self, n: int, file: str) -> None:
        self.done += n
        self.fetched += n
        self._tell(file)

    def _tell(self, file: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            self.report(Progress("download", file, self.done, self.total))


def _place(p: Plan, f: RemoteFile, folder: Path, manifest: store.Manifest, tally: _Tally,
           cancel: threading.Event | None) -> None:
    """Make ``blobs/<f.blob>`` hold exactly the published bytes of ``f``, fetching what is missing."""
    from huggingface_hub.utils import WeakFileLock

    record = manifest.file(f.path)
    assert record is not None
    blob = folder / "blobs" / f.blob
    lock = store.hub_cache() / ".locks" / folder.name / f"{f.blob}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    blob.parent.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(str(lock)):  # the lock huggingface-hub takes for the same blob
        if blob.exists():
            if record.stamp == store.stamp(blob):
                tally.present(f.size, f.path)
                return
            tally.report(Progress("verify", f.path, tally.done, tally.total))
            if blob.stat().st_size == f.size and store.file_digest(blob, f.lfs, f.size) == f.blob:
                record.stamp = store.stamp(blob)
                store.save_manifest(manifest)
                tally.present(f.size, f.path)
                return
            blob.unlink()  # a wrong blob under the right name (another tool's unverified download): fetch it again
        partial = folder / "blobs" / f"{f.blob}.incomplete"
        _adopt(folder, f, partial)
        _download(p, f, partial, tally, cancel)
        os.chmod(partial, 0o644)
        os.replace(partial, blob)
        record.stamp = store.stamp(blob)
        store.save_manifest(manifest)


def _adopt(folder: Path, f: RemoteFile, partial: Path) -> None:
    """Keep the longest unfinished copy as ``partial`` and delete the others (the lock is held)."""
    copies = [c for c in store.partials(folder, f.blob) if c.stat().st_size <= f.size or c == partial]
    for c in store.partials(folder, f.blob):
        if c not in copies:
            c.unlink()  # longer than the file: not a prefix of it
    if not copies:
        return
    best = max(copies, key=lambda c: c.stat().st_size)
    if best != partial:
        os.replace(best, partial)
    for c in copies:
        if c not in (best, partial) and c.exists():
            c.unlink()


def _download(p: Plan, f: RemoteFile, partial: Path, tally: _Tally, cancel: threading.Event | None) -> None:
    """Fetch the bytes of ``f`` missing from ``partial``, hash all of them, and check the hash."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import get_hf_file_metadata
    from huggingface_hub.utils import build_hf_headers

    url = hf_hub_url(p.repo, f.path, revision=p.commit, endpoint=endpoint())
    with HubErrors(p.repo, p.revision, f.path):
        meta = get_hf_file_metadata(url)
    if meta.etag and meta.etag != f.blob:
        raise DownloadError(f"{f.path} of {p.repo}: the file's ETag {meta.etag[:12]}… differs from the listing's "
                            f"hash {f.blob[:12]}…; the repository changed during the pull, run it again")
    location = meta.location or url
    headers = build_hf_headers()
    headers["Accept-Encoding"] = "identity"  # the bytes as stored, so sizes and Range offsets are exact
    if urlsplit(location).netloc != urlsplit(url).netloc:
        headers.pop("authorization", None)  # a signed CDN address: the token stays with the hub
    hasher = store.new_hasher(f.lfs, f.size)
    partial.touch()
    if partial.stat().st_size > 0:
        with open(partial, "rb") as fh:
            while chunk := fh.read(store.HASH_CHUNK):
                hasher.update(chunk)
        tally.present(partial.stat().st_size, f.path)
    wait = RETRY_WAIT
    for attempt in range(RETRIES + 1):
        try:
            hasher = _stream(location, headers, partial, f, hasher, tally, cancel, p.repo)
            break
        except _Dropped as exc:
            if cancel is not None and cancel.is_set():
                raise PullCancelled(f"pull cancelled; {partial.stat().st_size} of {f.size} bytes of {f.path} are "
                                    "kept and the next pull continues from there") from None
            if attempt == RETRIES:
                raise DownloadError(f"{f.path} of {p.repo}: the connection kept dropping ({exc.cause}); "
                                    f"{partial.stat().st_size} of {f.size} bytes are kept, pull again to continue") from None
            time.sleep(wait)
            wait *= 2
    if hasher.hexdigest() != f.blob:
        partial.unlink()
        kind = "sha256" if f.lfs else "git hash"
        raise CorruptDownload(f"{f.path} of {p.repo} arrived corrupted ({kind} {hasher.hexdigest()[:12]}…, the hub "
                              f"published {f.blob[:12]}…); it was removed, pull again to fetch it anew")


class _Dropped(Exception):
    """The connection broke mid-file; retried from where it stopped."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = f"{type(cause).__name__}: {cause}"


def _stream(url: str, headers: dict[str, str], partial: Path, f: RemoteFile, hasher: Any,
            tally: _Tally, cancel: threading.Event | None, repo: str) -> Any:
    """One GET (with Range when part of the file is there); returns the hasher fed every byte of the file."""
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session, hf_raise_for_status

    start = partial.stat().st_size
    if start >= f.size:
        return hasher
    ask = dict(headers, Range=f"bytes={start}-") if start else headers
    try:
        with get_session().stream("GET", url, headers=ask, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                                  follow_redirects=True) as r:
            if r.status_code == 416:  # the server has fewer bytes than the partial: start over
                partial.write_bytes(b"")
                raise _Dropped(DownloadError("range not satisfiable"))
            with HubErrors(repo, path=f.path):
                hf_raise_for_status(r)
            if start and r.status_code == 200:  # Range ignored: the whole body follows
                partial.write_bytes(b"")
                hasher = store.new_hasher(f.lfs, f.size)
                tally.present(-start, f.path)
                start = 0
            elif start and not r.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
                raise DownloadError(f"{f.path} of {repo}: the server resumed at the wrong offset "
                                    f"({r.headers.get('Content-Range')!r} for bytes {start}-)")
            written = start
            with open(partial, "ab", buffering=0) as out:  # unbuffered: a killed pull keeps every chunk it got
                for chunk in r.iter_bytes():
                    if cancel is not None and cancel.is_set():
                        raise PullCancelled(f"pull cancelled; {written} of {f.size} bytes of {f.path} are kept "
                                            "and the next pull continues from there")
                    written += len(chunk)
                    if written > f.size:
                        partial.unlink()
                        raise CorruptDownload(f"{f.path} of {repo}: the server sent more than the published "
                                              f"{f.size} bytes; the copy was removed")
                    out.write(chunk)
                    hasher.update(chunk)
                    tally.arrived(len(chunk), f.path)
    except httpx2.TransportError as exc:  # dropped, reset or timed out: keep what arrived and resume
        raise _Dropped(exc) from None
    if written < f.size:
        raise _Dropped(ConnectionError(f"body ended after {written} of {f.size} bytes"))
    return hasher


def _link(p: Plan, folder: Path) -> None:
    """Point ``snapshots/<commit>/<file>`` at the verified blobs (and ``refs/<revision>`` at the commit)."""
    from huggingface_hub import hf_hub_download

    for f in p.files:
        with HubErrors(p.repo, p.revision, f.path):
            hf_hub_download(p.repo, f.path, revision=p.commit, cache_dir=str(store.hub_cache()), endpoint=endpoint())
    if not COMMIT.fullmatch(p.revision):
        ref = folder / "refs" / p.revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        from canvasedit.document import atomic_write

        atomic_write(ref, p.commit.encode("ascii"))


# ---------------------------------------------------------------------------------------- remove, verify


def remove(entry: CatalogEntry, quant: str | None = None,
           others: Iterable[CatalogEntry] | None = None) -> RemoveReport:
    """Delete the pulled commits of ``entry`` and the cache blobs nothing else uses.

    Every commit of the repository CanvasEdit pulled goes, except one another catalog entry
    (``others``; default: the whole catalog) uses now. A whole commit goes with its snapshot folder,
    whether its files are symlinks to ``blobs/`` or real files (``HF_HUB_DISABLE_SYMLINKS``, Windows
    without developer mode); a blob stays while a remaining snapshot links to it, shares its inode,
    or a remaining pull lists it. With ``quant``, only that GGUF file goes.
    """
    if entry.repo is None:
        raise ModelError(f"{entry.name} is not a downloaded hub model; nothing to remove")
    found = store.manifests(entry.repo)
    if not found:
        raise ModelNotFound(f"{entry.name} ({entry.repo}) is not downloaded")
    kept = _kept_for(entry, catalog.entries().values() if others is None else others)
    try:
        report = _remove(entry, quant, [m for m in found if m.commit not in kept], kept)
    except OSError as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"cannot remove {entry.name}: {exc.strerror or exc} ({exc.filename})") from exc
    if quant is None:
        store.forget_pull(entry.name)
    return report


def _kept_for(entry: CatalogEntry, others: Iterable[CatalogEntry]) -> dict[str, str]:
    """Commit → name of another entry of the same repository that resolves to it now."""
    kept: dict[str, str] = {}
    for other in others:
        if other.name == entry.name or other.repo != entry.repo or not other.on_hub:
            continue
        manifest = store.find_manifest(other)
        if manifest is not None:
            kept.setdefault(manifest.commit, other.name)
    return kept


def _remove(entry: CatalogEntry, quant: str | None, doomed: list[store.Manifest],
            kept: dict[str, str]) -> RemoveReport:
    assert entry.repo is not None
    folder = store.repo_folder(entry.repo)
    freed = files = partials = 0
    candidates: set[str] = set()
    for manifest in doomed:
        records = _records(entry, quant, manifest)
        candidates.update(r.blob for r in records)
        if quant is None:
            candidates.update(_blobs_linked(manifest.snapshot))
            gone, count = _delete_tree(manifest.snapshot)
            freed, files = freed + gone, files + count
            store.delete_manifest(manifest)
            continue
        for r in records:
            gone, count = _delete_file(manifest.snapshot / r.path)
            freed, files = freed + gone, files + count
        manifest.files = [r for r in manifest.files if r not in records]
        if manifest.files:
            store.save_manifest(manifest)
        else:
            store.delete_manifest(manifest)
        _prune(manifest.snapshot)
    for blob in sorted(candidates):
        path = folder / "blobs" / blob
        if path.exists() and not _in_use(entry.repo, folder, path):
            freed += _delete_file(path)[0]
            (store.hub_cache() / ".locks" / folder.name / f"{blob}.lock").unlink(missing_ok=True)
        for part in store.partials(folder, blob):
            freed += part.stat().st_size
            partials += 1
            part.unlink()
    _prune_repo(folder)
    return RemoveReport(entry.name, freed, files, partials, tuple(sorted(set(kept.values()))))


def _records(entry: CatalogEntry, quant: str | None, manifest: store.Manifest) -> list[store.FileRecord]:
    """The files of ``manifest`` a removal of ``entry`` (one quantization of it) takes."""
    if quant is None:
        return list(manifest.files)
    choice = entry.quant(quant) if entry.quants and entry.quants[0].filename else None
    key = quant.lower().replace("_", "")
    return [r for r in manifest.files if (choice and r.path == choice.filename)
            or (not choice and key in r.path.lower().replace("_", ""))]


def _delete_file(path: Path) -> tuple[int, int]:
    """Unlink one snapshot entry; (bytes freed, 1) — a symlink or a second hard link frees nothing."""
    if not (path.is_symlink() or path.exists()):
        return 0, 0
    st = path.lstat()
    freed = st.st_size if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 else 0
    path.unlink()
    return freed, 1


def _delete_tree(snapshot: Path) -> tuple[int, int]:
    """Delete a snapshot folder, symlinks and real files alike; (bytes freed, files)."""
    if not snapshot.is_dir():
        return 0, 0
    freed = files = 0
    for path in sorted(snapshot.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            gone, count = _delete_file(path)
            freed, files = freed + gone, files + count
    snapshot.rmdir()
    return freed, files


def _blobs_linked(snapshot: Path) -> set[str]:
    """Blob names the symlinks of a snapshot point at (files other tools put there count too)."""
    if not snapshot.is_dir():
        return set()
    return {Path(os.readlink(p)).name for p in snapshot.rglob("*") if p.is_symlink()}


def _in_use(repo: str, folder: Path, blob: Path) -> bool:
    """Whether a remaining snapshot or pull of the repository still needs ``blob``."""
    for path in (folder / "snapshots").rglob("*"):
        if path.is_symlink():
            if Path(os.readlink(path)).name == blob.name:
                return True
        elif path.is_file() and path.samefile(blob):
            return True  # a hard link of the blob
    return any(r.blob == blob.name for m in store.manifests(repo) for r in m.files)


def _prune(snapshot: Path) -> None:
    """Remove empty folders of a snapshot, bottom up, and the snapshot itself when empty."""
    if not snapshot.is_dir():
        return
    for d in sorted((p for p in snapshot.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    if not any(snapshot.iterdir()):
        snapshot.rmdir()


def _prune_repo(folder: Path) -> None:
    """Drop refs to snapshots that are gone; drop the repository folder once nothing is left in it."""
    for ref in (folder / "refs").glob("**/*"):
        if ref.is_file() and not (folder / "snapshots" / ref.read_text(encoding="utf-8").strip()).exists():
            ref.unlink()
    snapshots = folder / "snapshots"
    blobs = folder / "blobs"
    if (not snapshots.exists() or not any(snapshots.iterdir())) and (not blobs.exists() or not any(blobs.iterdir())):
        shutil.rmtree(folder, ignore_errors=True)
        locks = store.hub_cache() / ".locks" / folder.name
        if locks.is_dir() and not any(locks.iterdir()):
            locks.rmdir()


@dataclass(frozen=True)
class Problem:
    name: str
    message: str


def verify(entry: CatalogEntry) -> tuple[int, list[Problem]]:
    """Hash every file of the commit ``entry`` uses again (the one its last pull got); (files checked, problems)."""
    if entry.repo is None:
        return 0, []
    manifest = store.find_manifest(entry)
    if manifest is None:
        return 0, []
    checked, problems = 0, []
    for record in manifest.files:
        try:
            store.check(manifest, only=[record.path], full=True, name=entry.name)
        except ModelError as exc:
            problems.append(Problem(entry.name, str(exc)))
        checked += 1
    folder = store.repo_folder(entry.repo)
    for record in manifest.files:
        for part in store.partials(folder, record.blob):
            problems.append(Problem(entry.name, f"{record.path}: an unfinished download of "
                                    f"{part.stat().st_size} bytes is in the cache; pull to finish it or rm to drop it"))
    return checked, problems


def partial_bytes(entry: CatalogEntry) -> int:
    """Bytes of unfinished downloads of an entry in the cache."""
    if entry.repo is None:
        return 0
    folder = store.repo_folder(entry.repo)
    return sum(part.stat().st_size for m in store.manifests(entry.repo) for r in m.files
               for part in store.partials(folder, r.blob))
