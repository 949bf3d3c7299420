"""The model catalog: named models CanvasEdit knows, and how a name or a path becomes a model on disk.

Three kinds of entry share one ``CatalogEntry`` type:

* the bundled default, ``canvasedit-tiny``, inside the package, so a fresh install fills holes offline;
* built-in hub entries (``catalog_data.ENTRIES``): repository, revision, family, size, licence, uses,
  the files to fetch, the sampler recipe, and what was checked about them;
* the user's own entries, ``[models.NAME]`` tables in ``config.toml`` (``canvasedit models add``):
  a hub repository of a supported family, or a local folder / ``.gguf`` file.

Hub entries live in the Hugging Face cache once pulled (``canvasedit.models.download``); a name
resolves to its snapshot only after every file was verified against the hub's hashes, and a file
changed since then is caught here, at load, with a clear error::

    path = resolve_model(None)                     # the bundled default
    path = resolve_model("qwen2.5-coder-0.5b-mdlm")  # a pulled catalog entry (ModelNotFound if not pulled)
    path = resolve_model("llada-8b-instruct-gguf:Q8_0")  # one quantization of a GGUF entry
    path = resolve_model("~/models/LLaDA-8B")      # any local folder in the HF layout
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from canvasedit.models.errors import ModelNotFound

DEFAULT_MODEL = "canvasedit-tiny"
COMMIT = re.compile(r"[0-9a-f]{40}")
KINDS = ("bundled", "safetensors", "gguf", "folder")


@dataclass(frozen=True)
class GGUFQuant:
    """One quantization of a GGUF repository."""

    name: str
    """What users type after ``--quant`` ("Q4_K_M")."""
    filename: str
    """The file in the repository."""
    size: int
    """Bytes (approximate for built-in rows: the hub's exact size is read at pull time)."""


@dataclass(frozen=True)
class CatalogEntry:
    """One model a user can pull, use, inspect or remove by name."""

    name: str
    family: str
    """The family's registry name ("llada", "dream", "a2d", "llada-moe", "modernbert", "sdar", "fast-dllm")."""
    repo: str | None = None
    """Hugging Face repository; None for the bundled model and local folders."""
    revision: str = "main"
    """A full commit hash when pinned; a branch name ("main") when not."""
    params: int = 0
    """Parameters (all of them, experts included): the memory estimate is params x bytes per weight."""
    context: int = 0
    """Tokens the model was trained to see at once (0 = unknown)."""
    hidden: int = 0
    """Model width, for the activation part of the memory estimate (0 = unknown)."""
    vocab: int = 0
    """LM-head rows, for the logits part of the memory estimate (0 = unknown)."""
    licence: str = "unverified"
    uses: tuple[str, ...] = ()
    """What it is good for: "code infill", "code", "prose", "chat", "instruct"."""
    sees_suffix: bool = True
    """Whether a hole is filled seeing the text after it (bidirectional); block-diffusion models do not."""
    description: str = ""
    recipe: Mapping[str, Any] = field(default_factory=dict)
    """Sampler settings (a ``canvasedit.params`` layer) over the family's recipe while this model is active."""
    files: tuple[str, ...] = ()
    """Files a pull must find in the repository; () = every weight, tokenizer and config file it has."""
    quants: tuple[GGUFQuant, ...] = ()
    """GGUF repositories: the quantizations, the recommended one first."""
    kind: str = "safetensors"
    """"bundled", "safetensors" (a hub folder), "gguf" (a hub GGUF repository) or "folder" (a local path)."""
    path: str | None = None
    """Local folder or ``.gguf`` file of a "folder" entry."""
    download_bytes: int = 0
    """Approximate download size before the hub is asked (0 = unknown)."""
    verified: str = ""
    """What was checked against the real hub files, and what was not."""
    user: bool = False
    """Added by the user (``config.toml``), not built in."""

    @property
    def pinned(self) -> bool:
        return COMMIT.fullmatch(self.revision) is not None

    @property
    def on_hub(self) -> bool:
        return self.repo is not None and self.kind in ("safetensors", "gguf")

    def quant(self, name: str | None) -> GGUFQuant | None:
        """The quantization called ``name`` (case and punctuation ignored), the first one for None."""
        if not self.quants:
            return None
        if name is None:
            return self.quants[0]
        key = _squash(name)
        for q in self.quants:
            if _squash(q.name) == key:
                return q
        known = ", ".join(q.name for q in self.quants)
        raise ModelNotFound(f"{self.name} has no quantization {name!r}; it has {known}")


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


BUNDLED = CatalogEntry(
    name=DEFAULT_MODEL, family="llada", kind="bundled", params=6_900_000, context=512, hidden=256, vocab=4096,
    licence="same as CanvasEdit", uses=("code infill", "prose"), sees_suffix=True,
    description="Bundled 6.9M-parameter LLaDA-architecture demo model (Python and English); fills short holes offline.",
    # Dual-cache fills of up to 32 tokens gave exact's tokens on every held-out case measured
    # (benchmarks/cache_agreement.py: 1.000 with band 32, refresh 8); longer ones fell to 0.75-0.89.
    # Threshold 0.7 agreed 1.000 with one token per step on 36 dual fills and 0.999 on 24 exact ones
    # of 64-128 tokens, with 7-27 % fewer steps.
    recipe={"cache": "auto", "cache_band": 32, "cache_refresh": 8, "threshold": 0.7},
    verified="ships inside the package; trained for CanvasEdit (see its model card)",
)


@functools.cache
def builtin_entries() -> dict[str, CatalogEntry]:
    from canvasedit.models.catalog_data import ENTRIES

    return {BUNDLED.name: BUNDLED, **{e.name: e for e in ENTRIES}}


class _Catalog(Mapping[str, CatalogEntry]):
    """``CATALOG``: the built-in entries as a read-only mapping, loaded on first use."""

    def __getitem__(self, name: str) -> CatalogEntry:
        return builtin_entries()[name]

    def __iter__(self):
        return iter(builtin_entries())

    def __len__(self) -> int:
        return len(builtin_entries())


CATALOG: Mapping[str, CatalogEntry] = _Catalog()


def user_entry(name: str, table: Mapping[str, Any]) -> CatalogEntry:
    """A ``[models.NAME]`` table of config.toml as an entry (the table was validated by ``config``)."""
    path = table.get("path")
    quant = table.get("quant")
    repo = table.get("repo")
    if path is not None:
        kind = "folder"
    elif str(table.get("kind", "")) == "gguf" or quant:
        kind = "gguf"
    else:
        kind = "safetensors"
    quants = _user_quants(name, table) if kind == "gguf" else ()
    return CatalogEntry(
        name=name, family=str(table.get("family", "")), repo=repo, revision=str(table.get("revision", "main")),
        description=str(table.get("description", "")), recipe=dict(table.get("recipe", {})), kind=kind,
        path=path, quants=quants, params=int(table.get("params", 0)), context=int(table.get("context", 0)),
        user=True, verified="added by the user; family checked against the registry when added",
    )


def _user_quants(name: str, table: Mapping[str, Any]) -> tuple[GGUFQuant, ...]:
    """A GGUF entry's quantizations: its ``[models.NAME.quants]`` rows, the one chosen at ``add`` first."""
    from canvasedit.config import ConfigError

    rows = []
    listed = table.get("quants", {})
    if not isinstance(listed, Mapping):
        raise ConfigError(f"models.{name}.quants must be a table of quantizations; add the model again to rewrite it")
    for quant, row in listed.items():
        if not (isinstance(row, Mapping) and isinstance(row.get("file"), str) and type(row.get("size", 0)) is int):
            raise ConfigError(f"models.{name}.quants.{quant} must be a table with file (a string) and size (an "
                              "integer); add the model again to rewrite it")
        rows.append(GGUFQuant(str(quant), row["file"], row.get("size", 0)))
    chosen = table.get("quant")
    if chosen:
        first = next((q for q in rows if _squash(q.name) == _squash(str(chosen))), None)
        if first is None:
            first = GGUFQuant(str(chosen), str(table.get("file", "")), 0)
        else:
            rows.remove(first)
        rows.insert(0, first)
    return tuple(rows)


def entries(settings: Any = None) -> dict[str, CatalogEntry]:
    """Built-in entries, then the user's (``settings.models``; read from config.toml when None)."""
    out = dict(builtin_entries())
    for name, table in _user_tables(settings).items():
        if name not in out:  # a user entry never shadows a built-in one (``models add`` refuses that)
            out[name] = user_entry(name, table)
    return out


def _user_tables(settings: Any) -> Mapping[str, Any]:
    if settings is None:
        from canvasedit.config import load_settings

        settings = load_settings()
    return getattr(settings, "models", {}) or {}


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"name:Q8_0"`` → ``("name", "Q8_0")``; a plain name has no quantization."""
    name, sep, quant = spec.partition(":")
    return (name, quant or None) if sep and "/" not in spec and "\\" not in spec else (spec, None)


def find(spec: str, settings: Any = None) -> tuple[CatalogEntry, str | None] | None:
    """The entry and quantization a ``name[:quant]`` names, or None when no entry has that name."""
    name, quant = split_spec(spec)
    entry = builtin_entries().get(name)
    if entry is None and not _looks_like_path(name):
        entry = entries(settings).get(name)
    return (entry, quant) if entry is not None else None


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "~", "/")) or "\\" in text or text.endswith(".gguf")


def bundled_path(name: str = DEFAULT_MODEL) -> Path:
    return Path(str(resources.files("canvasedit.models") / "bundled" / name))


def resolve_model(spec: str | Path | None, settings: Any = None) -> Path:
    """A model folder (or ``.gguf`` file) for a catalog name, a path, or None (the default).

    A pulled hub entry resolves to its verified snapshot in the Hugging Face cache; one not pulled,
    pulled only in part, or changed on disk since it was verified raises ``ModelError`` saying how to fix it.
    """
    if spec is None or str(spec) in ("", DEFAULT_MODEL):
        path = bundled_path()
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"the bundled model is missing from {path}; reinstall CanvasEdit or pass --model PATH")
        return path
    text = str(spec)
    found = find(text, settings) if not isinstance(spec, Path) else None
    if found is not None:
        return entry_path(*found)
    path = Path(text).expanduser()
    if path.exists():
        from canvasedit.models import store

        store.check_cached_path(path)  # a folder inside the HF cache that CanvasEdit pulled: verified
        return path
    if "/" in text or text.startswith((".", "~")):
        raise ModelNotFound(f"model folder {path} does not exist")
    raise ModelNotFound(f"no model folder at {path} and no catalog entry named {text!r} (see: canvasedit models list)")


def entry_path(entry: CatalogEntry, quant: str | None = None) -> Path:
    """Where an entry's model is on disk, verified; ModelNotFound when it is not there."""
    if entry.kind == "bundled":
        return bundled_path(entry.name)
    if entry.kind == "folder":
        path = Path(entry.path or "").expanduser()
        if not path.exists():
            raise ModelNotFound(f"model {entry.name!r} points at {path}, which does not exist; fix [models.{entry.name}] "
                                "in config.toml or remove it with: canvasedit models rm " + entry.name)
        return path
    from canvasedit.models import store

    return store.pulled_path(entry, quant)


def entry_of(path: Path) -> CatalogEntry | None:
    """The catalog entry a loaded path was pulled for (a snapshot in the HF cache), the bundled
    entry for the bundled model's folder, or None."""
    from canvasedit.models import store

    if Path(path).resolve() == bundled_path().resolve():
        return BUNDLED
    name = store.entry_name_of(path)
    found = find(name) if name is not None else None
    return found[0] if found is not None else None
