"""User settings: dataclasses with defaults, read from and written to ``config.toml``.

    settings = load_settings()                    # paths.config_file(), or defaults if missing
    settings = replace(settings, sampler=replace(settings.sampler, steps=64))  # validated again
    save_settings(settings)                       # atomic write, creates the folder

The file has one table per section; every key is optional and falls back to its default:

    [sampler]            # each key overrides the active model family's recipe; leave it out to follow it
    steps = 32
    algorithm = "low_confidence"

    [editor]
    theme = "monokai"

    [model]
    device = "auto"
    threads = 0          # CPU threads; 0 = automatic

    [keys]
    "fill" = "ctrl+g"

    [engine]             # fill on a server instead of a local model (canvasedit serve, vLLM, SGLang, Mercury)
    url = "http://gpu-box:8765"
    api_key = ""

    [models.my-coder]    # one table per model added with `canvasedit models add`
    repo = "org/name"
    family = "a2d"

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
from canvasedit.params import ParamsError, SamplerParams, check_layer

SAMPLER_KEYS = tuple(f.name for f in dataclasses.fields(SamplerParams))

_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")


class ConfigError(ValueError):
    """``config.toml`` is not valid TOML, or a setting has the wrong type or an out-of-range value."""


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
    vim: bool = False
    """Vim-like modal keys in the editor (normal / insert / visual; ``m`` in visual masks)."""
    suspicion_threshold: float = 0.01
    """The heatmap marks tokens the model finds less likely than this, in place (as ``canvasedit score``)."""
    length_search: bool = False
    """Fill each hole at several lengths around its own and keep the fill the model scores best (slower)."""
    scrollbar: bool = False
    """A vertical scrollbar beside the text. Off by default: redrawing it is a quarter of what scrolling
    a page costs, and the status bar shows the cursor's line of the total."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "hole_length", self.hole_length >= 1, "an integer >= 1")
        _require(self, "revise_fraction", 0.0 < self.revise_fraction <= 1.0, "a number in (0, 1]")
        _require(self, "suspicion_threshold", 0.0 < self.suspicion_threshold < 1.0, "a probability in (0, 1)")
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
    threads: int = 0
    """CPU threads for PyTorch and llama.cpp; 0 = chosen for this machine (``canvasedit doctor`` shows it)."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "device", _DEVICE.fullmatch(self.device) is not None, "auto, cpu, cuda or cuda:N")
        _require(self, "threads", 0 <= self.threads <= 1024, "an integer in [0, 1024] (0 = automatic)")


@dataclass(frozen=True)
class EngineSettings:
    """Where fills run: here (no url) or on a server (``canvasedit.engine.remote``)."""

    SECTION: ClassVar[str] = "engine"
    url: str = ""
    """A server to fill on (``http://HOST:PORT``); empty = the local model."""
    api_key: str = ""
    """Sent as ``Authorization: Bearer KEY`` when set."""
    kind: str = "auto"
    """canvasedit, openai, mercury, or auto (asks the server; ``*.inceptionlabs.ai`` is Mercury)."""
    model: str = ""
    """The model to ask an OpenAI-compatible server for; empty = the first it lists."""

    def __post_init__(self) -> None:
        _check_types(self)
        _require(self, "url", not self.url or re.match(r"https?://[^/\s]+", self.url) is not None,
                 "empty or a URL such as http://HOST:PORT")
        _require(self, "kind", self.kind in ("auto", "canvasedit", "openai", "mercury"),
                 "auto, canvasedit, openai or mercury")


@dataclass(frozen=True)
class Settings:
    """Everything in ``config.toml``."""

    sampler: dict[str, Any] = field(default_factory=dict)
    """Sampler settings the user chose (``canvasedit.params`` names); each one overrides the active
    model family's recipe, and a setting left out follows the recipe."""
    editor: EditorSettings = field(default_factory=EditorSettings)
    """Editor behaviour and appearance."""
    model: ModelSettings = field(default_factory=ModelSettings)
    """Model choice and device."""
    keys: dict[str, str] = field(default_factory=dict)
    """User key overrides: binding id (such as ``fill``) → key string (such as ``ctrl+g``)."""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The user's own catalog entries (``canvasedit models add``): name → ``[models.NAME]`` table."""
    engine: EngineSettings = field(default_factory=EngineSettings)
    """A remote engine to fill on instead of the local model."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "sampler", check_layer(self.sampler))
        except ParamsError as exc:
            raise ConfigError(f"sampler.{exc}") from None
        for binding, key in self.keys.items():
            if not isinstance(binding, str) or not isinstance(key, str):
                raise ConfigError(f"keys.{binding} must be a string such as \"ctrl+g\", found {_describe(key)}")
        for name, table in self.models.items():
            _check_model_table(name, table)


_SECTIONS = (EditorSettings, ModelSettings, EngineSettings)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from ``path`` (default ``paths.config_file()``); a missing file gives defaults."""
    path = Path(path) if path is not None else paths.config_file()
    if path.exists() and not path.is_file():  # a FIFO would block the read forever, a folder fails obscurely
        raise ConfigError(f"{path} is not a regular file; replace it with a TOML file or remove it")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or delete it to use the defaults") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; fix it or delete it to use the defaults") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
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
    sampler = {key: value for key, value in _table(data, "sampler").items() if key in SAMPLER_KEYS}
    keys = _table(data, "keys")
    return Settings(**sections, sampler=sampler, keys=dict(keys), models=dict(_table(data, "models")))


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


_MODEL_KEYS = {"repo": str, "path": str, "revision": str, "family": str, "quant": str, "file": str, "kind": str,
               "description": str, "params": int, "context": int, "recipe": dict}


def _check_model_table(name: str, table: Any) -> None:
    """A ``[models.NAME]`` entry: a hub ``repo`` or a local ``path``, and a ``family``; recipe keys checked."""
    if not isinstance(table, dict):
        raise ConfigError(f"models.{name} must be a table, found {_describe(table)}")
    for key, value in table.items():
        kind = _MODEL_KEYS.get(key)
        if kind is not None and (type(value) is not kind):
            raise ConfigError(f"models.{name}.{key} must be {_KIND_NAMES[kind]}, found {_describe(value)}")
    if ("repo" in table) == ("path" in table):
        raise ConfigError(f"models.{name} needs exactly one of repo (a hub repository) or path (a local folder)")
    if not table.get("family"):
        raise ConfigError(f"models.{name} needs a family, such as \"llada\" (canvasedit models add fills it in)")
    try:
        check_layer(table.get("recipe", {}))
    except ParamsError as exc:
        raise ConfigError(f"models.{name}.recipe.{exc}") from None


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
