"""The model catalog: named models CanvasEdit knows, and how a name or a path becomes a model folder.

The bundled default, ``canvasedit-tiny``, ships inside the package (``models/bundled/``) so that a
fresh install fills holes offline. Downloadable entries (the model manager's list) are added here
as rows with their Hugging Face repository ids.

    path = resolve_model(None)                  # the bundled default
    path = resolve_model("~/models/LLaDA-8B")   # any local folder in the HF layout
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from canvasedit.models.errors import ModelNotFound

DEFAULT_MODEL = "canvasedit-tiny"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    family: str
    repo_id: str | None
    """Hugging Face repository, or None for a model bundled with CanvasEdit."""
    description: str


CATALOG: dict[str, CatalogEntry] = {
    DEFAULT_MODEL: CatalogEntry(
        DEFAULT_MODEL, "llada", None,
        "Bundled 6.9M-parameter LLaDA-architecture demo model (Python and English); fills short holes offline.",
    ),
    "llada-8b-instruct": CatalogEntry(
        "llada-8b-instruct", "llada", "GSAI-ML/LLaDA-8B-Instruct", "LLaDA 8B Instruct (bf16, ~16 GB)."
    ),
    "llada-8b-base": CatalogEntry("llada-8b-base", "llada", "GSAI-ML/LLaDA-8B-Base", "LLaDA 8B Base (bf16, ~16 GB)."),
}


def bundled_path(name: str = DEFAULT_MODEL) -> Path:
    return Path(str(resources.files("canvasedit.models") / "bundled" / name))


def resolve_model(spec: str | Path | None) -> Path:
    """A model folder for a catalog name, a path, or None (the default)."""
    if spec is None or str(spec) == "" or str(spec) == DEFAULT_MODEL:
        path = bundled_path()
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"the bundled model is missing from {path}; reinstall CanvasEdit or pass --model PATH")
        return path
    text = str(spec)
    entry = CATALOG.get(text)
    if entry is not None and entry.repo_id is None:
        return bundled_path(entry.name)
    path = Path(text).expanduser()
    if path.exists():
        return path
    if entry is not None:
        raise ModelNotFound(
            f"model {text!r} ({entry.repo_id}) is not downloaded; download it to a folder and pass --model PATH"
        )
    if "/" in text or text.startswith((".", "~")):
        raise ModelNotFound(f"model folder {path} does not exist")
    raise ModelNotFound(f"no model folder at {path} and no catalog entry named {text!r} (see: canvasedit models)")
