"""The family registry: which family a ``config.json`` (or a GGUF file) belongs to.

Each family module declares one ``SPEC`` (``canvasedit.models.spec.FamilySpec``); ``FAMILY_MODULES``
lists them in the order they are asked, so a more specific spec (LLaDA-MoE) comes before a more
general one that shares its keys. Modules are imported on first use, so importing the registry
costs nothing. Add a row here *and* a tiny real-layout fixture in ``tests/families.py`` for every
new family; built-in families are rows like any other, so the shape leaves room for plugins.

    spec = resolve(json.load(open("config.json")))      # or UnsupportedArchitecture naming every family
    spec = resolve_named("a2d-bd3lm", config)           # the family a catalog entry names, checked
    spec = resolve_gguf("dream")
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

from canvasedit.models.errors import UnsupportedArchitecture
from canvasedit.models.spec import FamilySpec, architectures

FAMILY_MODULES: tuple[str, ...] = (
    "canvasedit.models.llada_moe",  # before llada: both say model_type "llada"
    "canvasedit.models.llada",
    "canvasedit.models.dream",
    "canvasedit.models.a2d",
    "canvasedit.models.modernbert",
    "canvasedit.models.blockdiff",
)


@functools.cache
def families() -> tuple[FamilySpec, ...]:
    """Every registered family's spec, in the order ``resolve`` asks them.

    A module declares ``SPEC``, or ``SPECS`` when one file holds close relatives (A2D and Open-dCoder).
    """
    out: list[FamilySpec] = []
    for name in FAMILY_MODULES:
        module = importlib.import_module(name)
        out.extend(getattr(module, "SPECS", None) or (module.SPEC,))
    return tuple(out)


def family(name: str) -> FamilySpec:
    """The spec of a family by its short name ("dream")."""
    for spec in families():
        if spec.name == name:
            return spec
    raise UnsupportedArchitecture(f"unknown model family {name!r}; known: {', '.join(s.name for s in families())}")


def supported() -> str:
    """One line naming every family with a hub repository that holds it, for error messages."""
    return "; ".join(f"{s.title} ({s.repos[0]})" if s.repos else s.title for s in families())


def resolve(config: Mapping[str, Any]) -> FamilySpec:
    """The family of a ``config.json``, asked of each spec in turn (never decided by folder name)."""
    for spec in families():
        if spec.detect and spec.matches(config):
            return spec
    names = architectures(config)
    found = ", ".join(names) if names else "no 'architectures' entry"
    model_type = config.get("model_type")
    if isinstance(model_type, str):
        found += f" (model_type {model_type!r})"
    raise UnsupportedArchitecture(f"unsupported model architecture: found {found}; CanvasEdit runs {supported()}")


def resolve_named(name: str, config: Mapping[str, Any]) -> FamilySpec:
    """Family ``name`` (a catalog or config.toml entry's), checked against the ``config.json`` it is to read."""
    spec = family(name)
    if not spec.matches(config):
        found = resolve(config).title
        raise UnsupportedArchitecture(f"the model is listed as {spec.title} but its config.json is a {found} model's")
    return spec


def resolve_gguf(arch: str) -> FamilySpec:
    """The family of a GGUF file's ``general.architecture`` ("llada")."""
    for spec in families():
        if spec.gguf is not None and spec.gguf.arch == arch:
            return spec
    runs = sorted(s.gguf.arch for s in families() if s.gguf)
    raise UnsupportedArchitecture(
        f"unsupported GGUF architecture {arch!r}; the GGUF backend runs diffusion models of: {', '.join(runs)}"
    )
