"""Where CanvasEdit keeps its files: one user directory per kind, from platformdirs.

    from canvasedit import paths
    paths.config_file()     # ~/.config/canvasedit/config.toml on Linux
    paths.data_dir()        # downloaded models
    paths.cache_dir()       # anything that can be rebuilt
    paths.state_dir()       # crash-recovery copies of unsaved buffers

Set ``CANVASEDIT_HOME`` to redirect all four into one folder (``$CANVASEDIT_HOME/config``,
``.../data``, ``.../cache``, ``.../state``); tests use it so they never touch the real user
directories. The functions only compute paths: callers create the folders they write to.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "canvasedit"
HOME_ENV = "CANVASEDIT_HOME"
"""Environment variable that, when set and non-empty, holds every CanvasEdit directory."""


def _home() -> Path | None:
    # Read on every call, not at import, so a test's monkeypatch.setenv takes effect.
    value = os.environ.get(HOME_ENV, "")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """The folder for ``config.toml`` and other user-edited settings."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The folder for data worth keeping, such as downloaded models."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The folder for files that can be deleted and rebuilt at any time."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The folder for session state, such as crash-recovery copies of unsaved buffers."""
    home = _home()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The user's settings file, ``config_dir() / "config.toml"``."""
    return config_dir() / "config.toml"
