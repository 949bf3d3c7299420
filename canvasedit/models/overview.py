"""One row per model for ``models list`` and the models screen: the entry, its state here, its fit.

    rows = [describe(entry, fit.machine(), store.measurements()) for entry in catalog.entries().values()]

A row is a plain dict (it is also the JSON of ``canvasedit models list --json``): the catalog
fields, ``runs`` (its family is registered here), ``effective_recipe`` (the family's recipe with the
entry's over it), ``status`` ("bundled", "local", "missing", "pulled", "partial", "not pulled"),
``revision`` (the catalog's) beside ``commit`` (the one in the cache, which the entry loads and
``verify`` checks) and ``pulled_revision`` (what that pull asked for), bytes on disk and in
unfinished downloads, the path, the estimated ``fit`` on this machine and what was ``measured``
here, if anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canvasedit.models.catalog import CatalogEntry, bundled_path
from canvasedit.models.errors import ModelError


def describe(entry: CatalogEntry, machine: Any, measured: dict[str, Any]) -> dict[str, Any]:
    """One row of ``models list``: the entry, its local state, its fit here, what was measured."""
    from canvasedit.models import download, fit, registry, store

    row: dict[str, Any] = {
        "name": entry.name, "family": entry.family, "kind": entry.kind, "repo": entry.repo,
        "revision": entry.revision, "pinned": entry.pinned, "params": entry.params, "context": entry.context,
        "licence": entry.licence, "uses": list(entry.uses), "sees_suffix": entry.sees_suffix,
        "description": entry.description, "recipe": dict(entry.recipe), "verified": entry.verified,
        "user": entry.user, "download_bytes": entry.download_bytes,
        "quants": [{"name": q.name, "file": q.filename, "bytes": q.size} for q in entry.quants],
    }
    try:
        spec = registry.family(entry.family)
        row["runs"] = entry.kind != "gguf" or spec.gguf is not None
        row["effective_recipe"] = {**spec.recipe, **entry.recipe}  # what the engine uses while it is active
    except ModelError:
        row["runs"] = False
        row["effective_recipe"] = dict(entry.recipe)
    row["commit"] = row["pulled_revision"] = None
    status, disk, path, partial = "not pulled", 0, None, 0
    if entry.kind == "bundled":
        status, path = "bundled", str(bundled_path(entry.name))
        disk = sum(p.stat().st_size for p in bundled_path(entry.name).iterdir() if p.is_file())
    elif entry.kind == "folder":
        status, path = ("local" if Path(entry.path or "").expanduser().exists() else "missing"), entry.path
    elif entry.repo is not None:
        manifest = store.find_manifest(entry)
        partial = download.partial_bytes(entry)
        if manifest is not None and manifest.files:
            present = [f for f in manifest.files if (manifest.snapshot / f.path).exists()]
            disk = sum(f.size for f in present)
            if entry.kind == "gguf":  # each quantization is a whole model: one failed pull spoils no other
                status = "pulled" if any(f.path.lower().endswith(".gguf") for f in present) else "partial"
            else:
                status = "pulled" if manifest.complete and len(present) == len(manifest.files) else "partial"
            path, row["commit"], row["pulled_revision"] = str(manifest.snapshot), manifest.commit, manifest.revision
            row["pulled_files"] = [f.path for f in present]
        if partial and status != "pulled":
            status = "partial"
    row.update(status=status, disk_bytes=disk, partial_bytes=partial, path=path)
    gguf = next((q for q in entry.quants if q.filename in row.get("pulled_files", [])), None) or (
        entry.quants[0] if entry.quants else None)
    verdict = fit.judge(entry, machine, gguf.size if gguf else None, gguf.name if gguf else None)
    row["fit"] = {"label": verdict.label, "device": verdict.device, "need_bytes": verdict.need,
                  "have_bytes": verdict.have, "estimated": True, "quant": gguf.name if gguf else None}
    row["measured"] = measured.get(entry.name)
    return row
