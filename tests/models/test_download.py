"""Pulls through the real huggingface-hub client against a stand-in hub on 127.0.0.1.

Every test serves a tiny real-format model (``tests/tiny.py``) from ``tests/hub_standin.py`` and
points the client at it with ``HF_ENDPOINT``; the conftest's offline switch is turned off here.
The cache is ``$CANVASEDIT_HOME/hub`` (a fresh folder per test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import huggingface_hub.constants
import pytest

from canvasedit.cli import main as cli_main
from canvasedit.config import Settings, load_settings, save_settings
from canvasedit.models import download, fit, store
from canvasedit.models.catalog import CatalogEntry, GGUFQuant, resolve_model
from canvasedit.models.errors import ModelNotFound
from tests.hub_standin import HubStandIn

REPO = "test-org/tiny-llada"
NAME = "tiny-llada"
WEIGHTS = "model.safetensors"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    with HubStandIn() as standin:
        monkeypatch.setenv("HF_ENDPOINT", standin.url)
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HF_TOKEN", "HF_HOME"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(download, "RETRY_WAIT", 0.0)
        yield standin


@pytest.fixture
def served(hub: HubStandIn, tiny_model_dir: Path) -> str:
    """The tiny model served as REPO and registered as the user entry NAME; returns its commit."""
    commit = hub.add_repo(REPO, tiny_model_dir)
    save_settings(Settings(models={NAME: {"repo": REPO, "family": "llada", "params": 60_000}}))
    return commit


def entry(**changes) -> CatalogEntry:
    """The tiny model's catalog entry, as ``models add`` would make it."""
    fields = {"name": NAME, "family": "llada", "repo": REPO, "params": 60_000, "hidden": 64, "vocab": 320,
              "context": 512, "user": True}
    return CatalogEntry(**{**fields, **changes})


def weights_size(folder: Path) -> int:
    return (folder / WEIGHTS).stat().st_size


def cli(*argv: str) -> int:
    return cli_main(["models", *argv])


# ------------------------------------------------------------------------------------ pulling


def test_pull_lands_in_the_hf_cache_layout_verified_and_loads(served, hub, tiny_model_dir):
    report = download.pull(entry())
    folder = store.repo_folder(REPO)
    assert report.commit == served and report.fetched == report.total
    assert (folder / "refs" / "main").read_text() == served
    link = folder / "snapshots" / served / WEIGHTS
    assert link.is_symlink()
    sha = hub.repos[REPO].files[WEIGHTS].sha256
    assert link.resolve() == (folder / "blobs" / sha).resolve()
    for name in ("config.json", WEIGHTS, "tokenizer.json", "tokenizer_config.json"):
        assert (report.path / name).read_bytes() == (tiny_model_dir / name).read_bytes()
    assert not list((folder / "blobs").glob("*.incomplete"))
    assert resolve_model(NAME) == report.path
    from canvasedit.engine import open_backend

    backend = open_backend(resolve_model(NAME), device="cpu")
    assert backend.model_name == NAME  # the entry's name, not the snapshot's commit hash
    backend.close()


def test_pull_again_downloads_no_body(served, hub):
    download.pull(entry())
    hub.requests.clear()
    again = download.pull(entry())
    assert again.fetched == 0
    assert hub.bodies("/resolve/") == []  # no GET of any file
    assert [r.path.split("?")[0] for r in hub.requests] == [f"/api/models/{REPO}/revision/main"]


def test_dropped_connection_resumes_where_it_stopped(served, hub, tiny_model_dir):
    hub.drop[(REPO, WEIGHTS)] = 150_000
    report = download.pull(entry())
    gets = hub.bodies(WEIGHTS)
    assert [(g.range, g.sent) for g in gets] == [(None, 150_000), ("bytes=150000-", weights_size(tiny_model_dir) - 150_000)]
    assert report.fetched == report.total  # nothing came twice
    assert (report.path / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes()


def test_a_pull_killed_with_sigkill_resumes_without_fetching_again(served, hub, tiny_model_dir, canvasedit_home):
    size = weights_size(tiny_model_dir)
    hub.stall[(REPO, WEIGHTS)] = 120_000  # send this much, then hang until released
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_HUB_DOWNLOAD_TIMEOUT"] = "60"
    log = canvasedit_home / "pull.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "canvasedit", "models", "pull", NAME], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    partial = store.repo_folder(REPO) / "blobs" / f"{hub.repos[REPO].files[WEIGHTS].sha256}.incomplete"
    deadline = time.monotonic() + 90
    try:
        while not (partial.exists() and partial.stat().st_size == 120_000):
            assert proc.poll() is None and time.monotonic() < deadline, (
                f"the pull never reached the stalled bytes: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        hub.release.set()
    assert proc.returncode == -signal.SIGKILL
    assert partial.stat().st_size == 120_000
    with pytest.raises(ModelNotFound, match="only partly downloaded"):
        resolve_model(NAME)  # a half-written model is never handed to the loader
    del hub.stall[(REPO, WEIGHTS)]
    hub.requests.clear()
    report = download.pull(entry())
    assert [(g.range, g.sent) for g in hub.bodies(WEIGHTS)] == [("bytes=120000-", size - 120_000)]
    assert (report.path / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes()
    assert not partial.exists()


def test_an_orphan_left_by_huggingface_hub_is_adopted(served, hub, tiny_model_dir):
    sha = hub.repos[REPO].files[WEIGHTS].sha256
    blobs = store.repo_folder(REPO) / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.1a2b3c4d.incomplete").write_bytes((tiny_model_dir / WEIGHTS).read_bytes()[:70_000])
    download.pull(entry())
    assert [g.range for g in hub.bodies(WEIGHTS)] == ["bytes=70000-"]
    assert not list(blobs.glob("*.incomplete"))


def test_a_corrupted_body_is_rejected_and_removed(served, hub, tiny_model_dir):
    hub.corrupt.add((REPO, WEIGHTS))
    with pytest.raises(download.CorruptDownload, match="arrived corrupted .*sha256") as err:
        download.pull(entry())
    assert "\n" not in str(err.value)
    folder = store.repo_folder(REPO)
    sha = hub.repos[REPO].files[WEIGHTS].sha256
    assert not (folder / "blobs" / sha).exists() and not list((folder / "blobs").glob("*.incomplete"))
    assert not (folder / "snapshots" / served / WEIGHTS).exists()
    with pytest.raises(ModelNotFound):
        resolve_model(NAME)
    hub.corrupt.clear()
    assert (download.pull(entry()).path / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes()


def test_a_full_disk_is_refused_before_any_byte(served, hub, monkeypatch):
    monkeypatch.setattr(download, "free_disk", lambda path: 1000)
    with pytest.raises(download.NotEnoughDisk, match=r"needs 45\d\.\d kB .* has 1.0 kB free"):
        download.pull(entry())
    assert hub.bodies("/resolve/") == []
    assert not (store.repo_folder(REPO) / "blobs").exists()


def test_not_enough_memory_is_refused_with_the_numbers_unless_forced(served, hub):
    small = fit.Machine(ram_available=200_000_000, ram_total=400_000_000)
    big = entry(params=7_000_000_000, hidden=4096, vocab=126464)
    with pytest.raises(download.ModelDoesNotFit) as err:
        download.pull(big, machine=small)
    message = str(err.value)
    assert "7.00B parameters x 4 bytes = 28.0 GB" in message and "200.0 MB available" in message
    assert "--force" in message and hub.bodies("/resolve/") == []
    assert download.pull(big, machine=small, force=True).fetched > 0


def test_offline_uses_the_cache_and_says_so_when_the_model_is_missing(served, hub, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(download.DownloadError, match="HF_HUB_OFFLINE is set and tiny-llada .* is not in the cache"):
        download.pull(entry())
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    pulled = download.pull(entry())
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    hub.requests.clear()
    again = download.pull(entry())
    assert again.offline and again.path == pulled.path and hub.requests == []
    assert resolve_model(NAME) == pulled.path


def test_missing_repository_revision_and_file_are_one_line_errors(served, hub):
    with pytest.raises(ModelNotFound, match="no repository test-org/absent on http://127.0.0.1") as err:
        download.pull(entry(repo="test-org/absent"))
    assert "\n" not in str(err.value)
    with pytest.raises(ModelNotFound, match="has no revision 'v9'"):
        download.pull(entry(), revision="v9")
    with pytest.raises(ModelNotFound, match=r"lacks chat_template.jinja \(expected by the catalog\)"):
        download.pull(entry(files=("config.json", "chat_template.jinja")))


def test_an_unreachable_hub_is_one_line_and_leaves_a_pulled_model_usable(served, hub, monkeypatch):
    pulled = download.pull(entry())
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(download.DownloadError, match="cannot reach http://127.0.0.1:9 .*HF_HUB_OFFLINE=1"):
        download.pull(entry())
    assert resolve_model(NAME) == pulled.path


def test_a_gated_repository_says_how_to_log_in(hub, tiny_model_dir, monkeypatch):
    hub.add_repo(REPO, tiny_model_dir, gated=True)
    with pytest.raises(download.GatedModel, match=r"is gated: .*hf auth login.*HF_TOKEN") as err:
        download.pull(entry())
    assert "\n" not in str(err.value)
    monkeypatch.setenv("HF_TOKEN", HubStandIn.GOOD_TOKEN)
    assert download.pull(entry()).fetched > 0


def test_pull_with_a_gguf_quantization_fetches_that_file_only(hub, tiny_model_dir, tmp_path):
    from canvasedit.models.gguf_file import export_gguf

    q8, f16 = tmp_path / "tiny-q8_0.gguf", tmp_path / "tiny-f16.gguf"
    export_gguf(tiny_model_dir, q8, "q8_0")
    export_gguf(tiny_model_dir, f16, "f16")
    hub.add_repo("test-org/tiny-gguf", files={q8.name: q8.read_bytes(), f16.name: f16.read_bytes(), "README.md": b"x"})
    gguf = entry(name="tiny-gguf", repo="test-org/tiny-gguf", kind="gguf",
                 quants=(GGUFQuant("F16", f16.name, 0), GGUFQuant("Q8_0", q8.name, 0)))
    report = download.pull(gguf, quant="q8_0")
    assert report.path.name == q8.name and report.path.read_bytes() == q8.read_bytes()
    assert [g.path.rsplit("/", 1)[-1] for g in hub.bodies("/resolve/")] == [q8.name]
    assert store.pulled_path(gguf) == report.path  # the only quantization pulled
    with pytest.raises(ModelNotFound, match="no pulled GGUF file for F16"):
        store.pulled_path(gguf, "F16")


# ------------------------------------------------------------------------------------ load-time checks


def test_a_corrupted_local_file_is_detected_at_load(served, hub):
    path = download.pull(entry()).path
    blob = (path / WEIGHTS).resolve()
    before = blob.stat()
    with open(blob, "r+b") as f:  # flip one byte in place, then put the old mtime back
        f.seek(4096)
        byte = f.read(1)
        f.seek(4096)
        f.write(bytes([byte[0] ^ 1]))
    os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(store.CorruptModel, match=f"{WEIGHTS} of {NAME} is corrupted: its sha256 is .*models pull {NAME}"):
        resolve_model(NAME)


def test_an_untouched_model_loads_without_hashing_again(served, hub):
    download.pull(entry())
    manifest = store.find_manifest(entry())
    assert manifest is not None and manifest.complete
    assert store.check(manifest) == []  # stamps match: nothing is hashed


# ------------------------------------------------------------------------------------ remove


def test_rm_frees_this_models_blobs_only(served, hub, tiny_model_dir, capsys):
    other = hub.add_repo("test-org/other", files={"config.json": b"{}", "model.safetensors": b"w" * 1000})
    download.pull(entry())
    download.pull(entry(name="other", repo="test-org/other"), force=True)
    total = sum(p.stat().st_size for p in tiny_model_dir.iterdir() if p.is_file())
    assert cli("rm", NAME, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"name": NAME, "freed_bytes": total, "files": 4}
    assert not store.repo_folder(REPO).exists()
    assert (store.repo_folder("test-org/other") / "snapshots" / other / "model.safetensors").read_bytes() == b"w" * 1000
    assert cli("rm", NAME) == 2
    assert "is not downloaded" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ the command line


def test_cli_add_pull_use_list_verify(served, hub, capsys, monkeypatch):
    save_settings(Settings())
    assert cli("add", REPO, "--name", NAME) == 0
    assert load_settings().models[NAME]["family"] == "llada"  # checked by the registry from config.json
    capsys.readouterr()
    assert cli("use", NAME) == 2
    assert f"is not downloaded; run: canvasedit models pull {NAME}" in capsys.readouterr().err
    assert cli("pull", NAME, "--json") == 0
    pulled = json.loads(capsys.readouterr().out)
    config = len(hub.repos[REPO].files["config.json"].data)  # `add` fetched it; the pull verified and kept it
    assert pulled["verified"] and pulled["fetched_bytes"] == pulled["bytes"] - config
    assert cli("use", NAME) == 0 and load_settings().model.active == NAME
    capsys.readouterr()
    assert cli("list", "--json") == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows[NAME]["status"] == "pulled" and rows[NAME]["active"] and rows[NAME]["disk_bytes"] == pulled["bytes"]
    assert rows["canvasedit-tiny"]["status"] == "bundled" and not rows["canvasedit-tiny"]["active"]
    assert rows[NAME]["fit"]["label"] in ("fits RAM", "fits GPU")
    assert cli("verify", NAME) == 0
    assert "match the hub's hashes" in capsys.readouterr().out
    blob = (Path(pulled["path"]) / "tokenizer.json").resolve()
    blob.write_bytes(blob.read_bytes() + b" ")
    assert cli("verify") == 2
    assert "tokenizer.json of tiny-llada is corrupted" in capsys.readouterr().err
    assert cli("rm", NAME) == 0 and load_settings().model.active == ""  # back to the bundled model
    assert "the active model is canvasedit-tiny again" in capsys.readouterr().out


def test_cli_refusals_are_one_line_with_exit_2(served, hub, capsys, monkeypatch):
    monkeypatch.setattr(fit, "machine", lambda: fit.Machine(ram_available=1_000, ram_total=1_000))
    save_settings(Settings(models={NAME: {"repo": REPO, "family": "llada", "params": 8_000_000_000}}))
    assert cli("pull", NAME) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs about" in err and "--force" in err
    assert cli("pull", "no-such-model") == 2
    assert "no catalog entry named 'no-such-model'" in capsys.readouterr().err
    hub.add_repo("test-org/not-diffusion", files={"config.json": b'{"architectures": ["GPT2LMHeadModel"]}',
                                                   "model.safetensors": b"x"})
    assert cli("add", "test-org/not-diffusion") == 2
    assert "unsupported model architecture" in capsys.readouterr().err


def test_a_model_pulled_at_another_revision_is_the_one_used(served, hub):
    report = download.pull(entry(), revision=served)  # a commit: no refs/main is written
    assert not (store.repo_folder(REPO) / "refs" / "main").exists()
    assert resolve_model(NAME) == report.path
