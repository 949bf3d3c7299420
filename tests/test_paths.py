"""Tests for canvasedit.paths: CANVASEDIT_HOME redirects every directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from canvasedit import paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANVASEDIT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_home_redirects_every_directory(home: Path) -> None:
    assert paths.config_dir() == home / "config"
    assert paths.data_dir() == home / "data"
    assert paths.cache_dir() == home / "cache"
    assert paths.state_dir() == home / "state"
    assert paths.config_file() == home / "config" / "config.toml"


def test_without_home_the_platform_directories_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANVASEDIT_HOME", raising=False)
    for directory in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.state_dir()):
        assert "canvasedit" in directory.parts
    assert paths.config_file().name == "config.toml"


def test_empty_home_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASEDIT_HOME", "")
    assert paths.config_dir().name == "canvasedit"
