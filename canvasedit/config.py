"""User settings: dataclasses with defaults, read from and written to ``config.toml``.

    settings = load_settings()                    # paths.config_file(), or defaults if missing
    settings = replace(settings, sampler=replace(settings.sampler, steps=64))  # validated again
    save_settings(settings)                       # atomic write, creates the folder

The file has one table per section; every key is optional and falls back to its default:

    [sampler]
    steps = 32
    algorithm = "low_confidence"

    [editor]
    theme = "monokai"

    [model]
    device = "auto"

    [keys]
    "fill" = "ctrl+g"

Unknown sections and keys are ignored, so a file written by a newer version still loads. A value
of the wrong type or out of range raises ``ConfigError`` with one line naming the key, what was
expected, what was found and the file. The dataclasses are frozen and validate themselves on
construction, so settings changed in the UI (through ``dataclasses.replace``) are held to the
same rules as the file.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import tomli_w

from canvasedit import paths
from canvasedit.document import DocumentError, atomic_write

ALGORITHMS = ("low_confidence", "margin", "entropy", "random")
"""Remasking strategies the engine implements: which masked positions to commit first."""
_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")


class ConfigError(ValueError):
    """``config.toml`` is not valid TOML, or a setting has the wrong type or an out-of-range value."""


@dataclass(frozen=True)
class SamplerSettings:
    """How the diffusion model fills a hole (the defaults of the engine's sampler)."""

    SECTION: ClassVar[str] = "sampler"
    steps: int = 32
    """Denoising steps per hole; more steps commit fewer tokens each and are slower but better."""
    block_length: int = 0
    """Tokens per semi-autoregressive block, filled left to right; 0 = the whole hole at once."""
    algorithm: str = "low_confidence"
    """Which masked positions to commit each step: low_confidence, margin, entropy or random."""
    temperature: float = 0.0
    """Sampling temperature; 0 picks the most likely token (deterministic)."""
    top_k: int = 0
    """Keep only the k most likely tokens before sampling; 0 = off."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches p; 1 = off."""
    threshold: float = 0.0
    """Commit every position whose confidence exceeds this in one step (parallel decoding); 0 = off."""
    revise_below: float = 0.0
    """Re-mask committed tokens whose confidence falls below this so later steps can revise them; 0 = off."""
    seed: int = 0
    """Seed for the sampler's random generator, so a fill can be reproduced."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "steps", self.steps >= 1, "an integer >= 1")
        _require(self, "block_length", self.block_length >= 0, "an integer >= 0 (0 = whole hole)")
        _require(self, "algorithm", self.algorithm in ALGORITHMS, f"one of {', '.join(ALGORITHMS)}")
        _require(self, "temperature", self.temperature >= 0.0, "a number >= 0")
        _require(self, "top_k", self.top_k >= 0, "an integer >= 0 (0 = off)")
        _require(self, "top_p", 0.0 < self.top_p <= 1.0, "a number in (0, 1]")
        _require(self, "threshold", 0.0 <= self.threshold <= 1.0, "a number in [0, 1] (0 = off)")
        _require(self, "revise_below", 0.0 <= self.revise_below <= 1.0, "a number in [0, 1] (0 = off)")
        _require(self, "seed", self.seed >= 0, "an integer >= 0")


@dataclass(frozen=True)
class EditorSettings:
    """How the editor shows and opens text."""

    SECTION: ClassVar[str] = "editor"
    hole_length: int = 32
    """Tokens in a new insertion hole, before the user resizes it."""
    soft_wrap_prose: bool = True
    """Wrap long lines in prose files (Markdown, plain text); code is never wrapped."""
    theme: str = "monokai"
    """TextArea syntax theme, such as monokai, dracula, github_light or vscode_dark."""
    max_file_bytes: int = 5_000_000
    """Files larger than this are refused when opened, to keep the editor responsive."""
    revise_fraction: float = 0.3
    """Share of a revised selection's tokens that is re-masked and refilled (the least likely ones)."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "hole_length", self.hole_length >= 1, "an integer >= 1")
        _require(self, "revise_fraction", 0.0 < self.revise_fraction <= 1.0, "a number in (0, 1]")
        _require(self, "theme", bool(self.theme.strip()), "a theme name")
        _require(self, "max_file_bytes", self.max_file_bytes >= 1, "an integer >= 1")


@dataclass(frozen=True)
class ModelSettings:
    """Which model fills holes, and where it runs."""

    SECTION: ClassVar[str] = "model"
    active: str = ""
    """A catalog name (``canvasedit models``), a model folder or a ``.gguf`` file; empty = the bundled default."""
    device: str = "auto"
    """auto (CUDA when available, else CPU), cpu, cuda or cuda:N."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "device", _DEVICE.fullmatch(self.device) is not None, "auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class Settings:
    """Everything in ``config.toml``."""

    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    """Defaults for filling holes."""
    editor: EditorSettings = field(default_factory=EditorSettings)
    """Editor behaviour and appearance."""
    model: ModelSettings = field(default_factory=ModelSettings)
    """Model choice and device."""
    keys: dict[str, str] = field(default_factory=dict)
    """User key overrides: binding id (such as ``fill``) → key string (such as ``ctrl+g``)."""

    def __post_init__(self) -> None:
        for binding, key in self.keys.items():
            if not isinstance(binding, str) or not isinstance(key, str):
                raise ConfigError(f"keys.{binding} must be a string such as \"ctrl+g\", found {_describe(key)}")


_SECTIONS = (SamplerSettings, EditorSettings, ModelSettings)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from ``path`` (default ``paths.config_file()``); a missing file gives defaults."""
    path = Path(path) if path is not None else paths.config_file()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or delete it to use the defaults") from exc
    try:
        return settings_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Build ``Settings`` from parsed TOML, ignoring unknown keys; raises ``ConfigError``."""
    sections: dict[str, Any] = {}
    for cls in _SECTIONS:
        table = _table(data, cls.SECTION)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in table.items() if key in known}
        for key, value in values.items():
            # TOML writes 1 and 1.0 differently; a float setting given as an integer is still meant.
            if _field_types(cls)[key] is float and type(value) is int:
                values[key] = float(value)
        sections[cls.SECTION] = cls(**values)
    keys = _table(data, "keys")
    return Settings(**sections, keys=dict(keys))


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``settings`` as TOML to ``path`` (default ``paths.config_file()``) atomically.

    Comments and unknown keys in an existing file are not preserved. Returns the path written.
    """
    path = Path(path) if path is not None else paths.config_file()
    data = tomli_w.dumps(dataclasses.asdict(settings)).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    except (OSError, DocumentError) as exc:
        raise ConfigError(f"cannot write settings to {path}: {exc}") from exc
    return path


def _table(data: dict[str, Any], section: str) -> dict[str, Any]:
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{section}] must be a table of settings, found {_describe(table)}")
    return table


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


@functools.cache
def _field_types(cls: type) -> dict[str, type]:
    # Annotations are strings under `from __future__ import annotations`; resolve them once.
    return typing.get_type_hints(cls)


def _check_types(section: Any) -> None:
    for name, expected in _field_types(type(section)).items():
        if name == "SECTION":
            continue
        value = getattr(section, name)
        ok = type(value) is expected or (expected is float and type(value) is int)
        if not ok:  # bool is a subclass of int, hence `type(...) is` rather than isinstance
            raise ConfigError(
                f"{section.SECTION}.{name} must be {_TYPE_NAMES[expected]}, found {_describe(value)}"
            )


def _require(section: Any, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{section.SECTION}.{name} must be {expected}, found {_describe(getattr(section, name))}")


_KIND_NAMES = {
    bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "a table", list: "an array",
}


def _describe(value: object) -> str:
    """``an integer (3)``, ``a string ('x')``, ``a table``: what was found, for messages."""
    kind = _KIND_NAMES.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} ({value!r})"
