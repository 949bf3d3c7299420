"""Tests for canvasedit.config: defaults, TOML round trip, validation, one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from canvasedit import config
from canvasedit.config import (
    ConfigError,
    EditorSettings,
    ModelSettings,
    Settings,
    load_settings,
    save_settings,
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANVASEDIT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_defaults() -> None:
    settings = Settings()
    assert settings.sampler == {}  # every sampler setting follows the active model family's recipe
    assert settings.editor == EditorSettings(
        hole_length=32, soft_wrap_prose=True, theme="monokai", max_file_bytes=5_000_000
    )
    assert settings.model == ModelSettings(active="", device="auto")
    assert settings.keys == {}


def test_missing_file_gives_defaults() -> None:
    assert load_settings() == Settings()


def test_round_trip_through_the_default_path(home: Path) -> None:
    settings = Settings(
        sampler={"steps": 64, "algorithm": "margin", "temperature": 0.7, "top_k": 50, "threshold": 0.9, "seed": 7},
        editor=EditorSettings(soft_wrap_prose=False, theme="dracula"),
        model=ModelSettings(active="llada-8b", device="cuda:1"),
        keys={"fill": "ctrl+g", "ui.grow": "alt+up"},
    )
    written = save_settings(settings)
    assert written == home / "config" / "config.toml"
    assert load_settings() == settings
    assert [p.name for p in written.parent.iterdir()] == ["config.toml"]  # no temp file left


def test_partial_file_fills_in_defaults_and_ignores_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sampler]\nsteps = 8\ntemperature = 1\nfuture_option = "x"\n'
        "[editor]\nsoft_wrap_prose = false\n"
        "[plugins]\nanything = [1, 2]\n"
    )
    settings = load_settings(path)
    assert settings.sampler == {"steps": 8, "temperature": 1.0}
    assert isinstance(settings.sampler["temperature"], float)  # written as an integer, read as a number
    assert settings.editor == EditorSettings(soft_wrap_prose=False)
    assert settings.model == ModelSettings()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[sampler]\nsteps = "32"', "sampler.steps must be an integer, found a string ('32')"),
        ("[sampler]\nseed = 123456789012345678901234567890", "sampler.seed must be an integer in [0, 2^63)"),
        ("[sampler]\ntemperature = nan", "sampler.temperature must be a finite number >= 0"),
        ('[sampler]\nschedule = "fast"', "sampler.schedule must be one of block, timestep"),
        ("[sampler]\nsteps = 32.0", "sampler.steps must be an integer, found a number (32.0)"),
        ("[sampler]\ntop_k = true", "sampler.top_k must be an integer, found a boolean (True)"),
        ('[sampler]\ntemperature = "hot"', "sampler.temperature must be a number, found a string ('hot')"),
        ("[editor]\nsoft_wrap_prose = 1", "editor.soft_wrap_prose must be true or false, found an integer (1)"),
        ("[model]\nactive = 3", "model.active must be a string, found an integer (3)"),
        ("sampler = 3", "[sampler] must be a table of settings, found an integer (3)"),
        ("[keys]\nfill = 1", "keys.fill must be a string"),
        ("keys = [1]", "[keys] must be a table"),
    ],
)
def test_wrong_types_name_key_expected_type_and_file(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        (Settings, {"sampler": {"steps": 0}}, "sampler.steps must be an integer in [1, 1000000], found an integer (0)"),
        (Settings, {"sampler": {"block_length": -1}}, "sampler.block_length must be an integer >= 0"),
        (
            Settings,
            {"sampler": {"algorithm": "greedy"}},
            "sampler.algorithm must be one of low_confidence, margin, entropy, random, origin",
        ),
        (Settings, {"sampler": {"temperature": -0.1}}, "sampler.temperature must be a finite number >= 0"),
        (Settings, {"sampler": {"top_k": -1}}, "sampler.top_k"),
        (Settings, {"sampler": {"top_p": 0.0}}, "sampler.top_p must be a number in (0, 1]"),
        (Settings, {"sampler": {"threshold": 1.5}}, "sampler.threshold must be a number in [0, 1]"),
        (Settings, {"sampler": {"revise_below": -0.5}}, "sampler.revise_below"),
        (Settings, {"sampler": {"seed": -1}}, "sampler.seed"),
        (EditorSettings, {"hole_length": 0}, "editor.hole_length"),
        (EditorSettings, {"theme": " "}, "editor.theme must be a theme name"),
        (EditorSettings, {"max_file_bytes": 0}, "editor.max_file_bytes"),
        (ModelSettings, {"device": "gpu"}, "model.device must be auto, cpu, cuda or cuda:N, found a string ('gpu')"),
    ],
)
def test_out_of_range_values_are_refused(section: type, values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        section(**values)
    assert message in str(info.value)


def test_replace_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="sampler.steps"):
        dataclasses.replace(Settings(), sampler={"steps": 0})


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().editor = EditorSettings()  # type: ignore[misc]


def test_edge_values_are_accepted() -> None:
    Settings(sampler={"threshold": 1.0, "revise_below": 1.0, "top_p": 1.0, "temperature": 0, "block_length": 0})
    ModelSettings(device="cuda:0")
    ModelSettings(device="cpu")


def test_non_utf8_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"[editor]\ntheme = \"\xff\xfe\"\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_settings(path)
    assert "\n" not in str(info.value)


def test_sampler_layers_resolve_recipe_then_config_then_flags() -> None:
    from canvasedit.params import Remasking, SamplerParams, Schedule

    recipe = {"schedule": "timestep", "algorithm": "entropy", "steps": 64}
    settings = Settings(sampler={"steps": 16, "temperature": 0.2})
    p = SamplerParams.layered(recipe, settings.sampler, {"steps": None, "temperature": 0.0, "seed": 3})
    assert p.schedule is Schedule.TIMESTEP and p.algorithm is Remasking.ENTROPY  # from the recipe
    assert p.steps == 16  # config.toml over the recipe; an unset flag (None) falls through
    assert p.temperature == 0.0 and p.seed == 3  # flags over config.toml
    assert SamplerParams.layered().steps == 32 and SamplerParams.layered().schedule is Schedule.BLOCK


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[sampler\nsteps = ")
    with pytest.raises(ConfigError, match="is not valid TOML") as info:
        load_settings(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(), path)
    before = path.read_bytes()

    def fail(src: object, dst: object) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr("canvasedit.document.os.replace", fail)
    with pytest.raises(ConfigError, match="cannot write settings"):
        save_settings(Settings(sampler={"steps": 99}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_algorithms_match_the_documented_set() -> None:
    from canvasedit.params import ALGORITHMS

    assert ALGORITHMS == ("low_confidence", "margin", "entropy", "random", "origin")
    assert set(config.SAMPLER_KEYS) >= {"steps", "block_length", "algorithm", "schedule", "threshold"}
