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
    assert json.loads(capsys.readouterr().out) == {"name": NAME, "freed_bytes": total, "files": 4, "forgotten": False}
    assert not store.repo_folder(REPO).exists()
    assert (store.repo_folder("test-org/other") / "snapshots" / other / "model.safetensors").read_bytes() == b"w" * 1000
    assert cli("rm", NAME) == 2
    assert "is not downloaded" in capsys.readouterr().err


def disk_bytes(folder: Path) -> int:
    """Bytes the regular files under ``folder`` hold on disk (a hard-linked file counted once)."""
    sizes = {}
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            sizes[(st.st_dev, st.st_ino)] = st.st_size
    return sum(sizes.values())


@pytest.fixture
def no_symlinks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache as huggingface-hub writes it where symlinks are off (Windows, HF_HUB_DISABLE_SYMLINKS=1)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_SYMLINKS", True)


def test_rm_in_a_cache_without_symlinks_deletes_the_snapshot_files_and_blobs(served, hub, no_symlinks, capsys):
    report = download.pull(entry())
    files = sorted(p for p in report.path.iterdir())
    assert files and not any(p.is_symlink() for p in files)  # real files in the snapshot
    assert resolve_model(NAME) == report.path  # verified by hash, not through a link
    folder = store.repo_folder(REPO)
    on_disk = disk_bytes(folder / "blobs") + disk_bytes(folder / "snapshots")
    assert on_disk > report.total  # the snapshot copies beside the blobs
    assert cli("rm", NAME, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"name": NAME, "freed_bytes": on_disk, "files": len(files),
                                                   "forgotten": False}
    assert not folder.exists() and store.manifests(REPO) == []


@pytest.mark.parametrize("symlinks", [True, False], ids=["symlinks", "real-files"])
def test_rm_keeps_what_another_model_of_the_repository_uses(served, hub, tiny_model_dir, monkeypatch, capsys,
                                                            symlinks):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_SYMLINKS", not symlinks)
    pinned = entry(name="tiny-pinned", revision=served)
    save_settings(Settings(models={NAME: {"repo": REPO, "family": "llada", "params": 60_000},
                                   "tiny-pinned": {"repo": REPO, "family": "llada", "revision": served}}))
    download.pull(pinned)
    changed = b'{"model_max_length": 512}'
    moved = hub.add_repo(REPO, tiny_model_dir, files={"tokenizer_config.json": changed})  # main moves on
    assert download.pull(entry()).commit == moved
    folder = store.repo_folder(REPO)
    weights = folder / "blobs" / hub.repos[REPO].files[WEIGHTS].sha256  # the same bytes in both commits
    only_new = folder / "blobs" / hub.repos[REPO].files["tokenizer_config.json"].git_oid
    assert weights.exists() and only_new.exists()
    assert cli("rm", NAME) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "kept the commit tiny-pinned uses (same repository)" in out
    assert not (folder / "snapshots" / moved).exists() and not only_new.exists()
    assert weights.exists()
    assert resolve_model("tiny-pinned") == folder / "snapshots" / served  # still whole and verified
    assert download.verify(pinned) == (4, [])
    assert cli("rm", "tiny-pinned") == 0
    assert not folder.exists()


def test_rm_of_a_local_folder_entry_forgets_it_and_never_touches_the_folder(tiny_model_dir, tmp_path, capsys):
    import shutil

    from canvasedit import paths

    mine = shutil.copytree(tiny_model_dir, tmp_path / "my-model")
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    save_settings(Settings(models={"mine": {"path": str(mine), "family": "llada"},
                                   "other": {"repo": "org/other", "family": "llada"}}))
    assert cli("use", "mine") == 0 and load_settings().model.active == "mine"
    capsys.readouterr()
    assert cli("rm", "mine", "--quant", "Q8_0") == 2  # nothing to choose in a folder: refused, nothing changed
    assert capsys.readouterr().err.count("\n") == 1 and load_settings().models.keys() == {"mine", "other"}
    assert cli("rm", "mine") == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert f"forgot the entry mine in config.toml; the files at {mine} are untouched" in out
    assert "the active model is canvasedit-tiny again" in out
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    settings = load_settings()
    assert settings.models == {"other": {"repo": "org/other", "family": "llada"}} and settings.model.active == ""
    assert [p.name for p in paths.config_file().parent.iterdir() if p.name != "config.toml"] == []  # no temp file
    assert cli("rm", "mine") == 2
    assert "no catalog entry named 'mine'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ revisions


def moved_on(hub: HubStandIn, tiny_model_dir: Path) -> str:
    """Serve a new main of REPO (one small file differs) and let another tool fetch it into the cache."""
    commit = hub.add_repo(REPO, tiny_model_dir, files={"tokenizer_config.json": b'{"model_max_length": 512}'})
    huggingface_hub.hf_hub_download(REPO, "config.json", cache_dir=str(store.hub_cache()), endpoint=hub.url)
    assert (store.repo_folder(REPO) / "refs" / "main").read_text() == commit
    return commit


def test_an_unpinned_pull_keeps_the_commit_it_got_for_info_load_and_verify(served, hub, tiny_model_dir, capsys):
    assert cli("pull", NAME, "--revision", "main") == 0
    capsys.readouterr()
    assert cli("info", NAME) == 0
    assert f"  commit      {served} in the cache, pulled as main" in capsys.readouterr().out
    moved = moved_on(hub, tiny_model_dir)
    assert moved != served
    assert cli("info", NAME, "--json") == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["commit"], row["pulled_revision"], row["status"]) == (served, "main", "pulled")
    assert resolve_model(NAME) == store.repo_folder(REPO) / "snapshots" / served
    assert cli("verify", NAME, "--json") == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["commits"] == {NAME: served} and checked["checked_files"] == 4 and checked["problems"] == []
    blob = (store.repo_folder(REPO) / "snapshots" / served / "tokenizer.json").resolve()
    blob.write_bytes(blob.read_bytes() + b" ")
    assert cli("verify", NAME) == 2
    assert "tokenizer.json of tiny-llada is corrupted" in capsys.readouterr().err
    blob.write_bytes(blob.read_bytes()[:-1])
    assert cli("pull", NAME, "--json") == 0  # pulled again: the entry now means the new main
    assert json.loads(capsys.readouterr().out)["commit"] == moved
    assert cli("info", NAME, "--json") == 0 and json.loads(capsys.readouterr().out)["commit"] == moved


def test_list_and_info_show_the_pinned_revision_beside_the_cached_commit(served, hub, tiny_model_dir, capsys):
    save_settings(Settings(models={NAME: {"repo": REPO, "family": "llada", "params": 60_000, "revision": served}}))
    assert cli("pull", NAME) == 0
    capsys.readouterr()

    def listed() -> str:
        assert cli("list") == 0
        return next(line for line in capsys.readouterr().out.splitlines() if f" {NAME} " in line)

    assert f"{served[:8]} {served[:8]} " in listed()
    moved = moved_on(hub, tiny_model_dir)
    assert cli("pull", NAME, "--revision", "main") == 0
    capsys.readouterr()
    assert f"{served[:8]} {moved[:8]}* " in listed()
    assert cli("info", NAME) == 0
    assert (f"  commit      {moved} in the cache, pulled as main; not the catalog's pinned {served[:8]}"
            in capsys.readouterr().out)
    assert cli("list", "--json") == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["models"] if r["name"] == NAME)
    assert (row["revision"], row["pinned"], row["commit"]) == (served, True, moved)


# ------------------------------------------------------------------------------------ GGUF repositories


def test_add_pull_and_load_a_gguf_repository(hub, tiny_model_dir, tmp_path, capsys):
    from canvasedit.models.gguf_file import export_gguf

    q8, f16 = tmp_path / "tiny-Q8_0.gguf", tmp_path / "tiny-F16.gguf"
    export_gguf(tiny_model_dir, q8, "q8_0")
    export_gguf(tiny_model_dir, f16, "f16")
    repo = "test-org/tiny-GGUF"
    hub.add_repo(repo, files={q8.name: q8.read_bytes(), f16.name: f16.read_bytes(), "README.md": b"# tiny"},
                 gguf={"architecture": "llada", "total": 60_000, "context_length": 512})
    assert cli("add", repo) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "added tiny-gguf (llada, GGUF): 2 quantizations"
    assert out[1].split() == ["Q8_0", q8.name, *fit.human_bytes(q8.stat().st_size).split()]
    assert out[2].split() == ["F16", f16.name, *fit.human_bytes(f16.stat().st_size).split()]
    assert out[3] == "next: canvasedit models pull tiny-gguf --quant Q8_0"
    assert load_settings().models["tiny-gguf"]["quants"]["F16"] == {"file": f16.name, "size": f16.stat().st_size}

    hub.requests.clear()
    assert cli("pull", "tiny-gguf", "--quant", "q8_0", "--json") == 0
    pulled = json.loads(capsys.readouterr().out)
    assert [g.path.rsplit("/", 1)[-1] for g in hub.bodies("/resolve/")] == [q8.name]  # that file only
    assert pulled["files"] == 1 and pulled["fetched_bytes"] == q8.stat().st_size and pulled["verified"]
    assert Path(pulled["path"]).read_bytes() == q8.read_bytes()

    hub.corrupt.add((repo, f16.name))  # the sha256 is checked: a flipped byte is refused, nothing kept
    assert cli("pull", "tiny-gguf", "--quant", "F16", "--json") == 2  # --json: no progress bar on stderr
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{f16.name} of {repo} arrived corrupted (sha256" in err
    assert cli("pull", "tiny-gguf", "--quant", "Q2_K") == 2
    assert "tiny-gguf has no quantization 'Q2_K'; it has Q8_0, F16" in capsys.readouterr().err

    source = tmp_path / "area.py"
    source.write_text("def area(w, h):\n    return w * h\n")
    assert cli_main(["fill", str(source), "--hole", "2:12-2:17", "--model", "tiny-gguf:Q8_0", "--steps", "2",
                     "--json"]) == 0
    filled = json.loads(capsys.readouterr().out)
    assert filled["backend"] == "gguf" and filled["text"].startswith("def area(w, h):\n    return ")
    assert cli("list", "--json") == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["models"] if r["name"] == "tiny-gguf")
    assert row["status"] == "pulled" and row["pulled_files"] == [q8.name] and row["commit"] == hub.repos[repo].commit


def test_add_refuses_a_quantization_a_gguf_repository_lacks(hub, tiny_model_dir, tmp_path, capsys):
    from canvasedit.models.gguf_file import export_gguf

    q8 = export_gguf(tiny_model_dir, tmp_path / "tiny-q8_0.gguf", "q8_0").path
    hub.add_repo("test-org/tiny-gguf", files={q8.name: q8.read_bytes()}, gguf={"architecture": "llada"})
    assert cli("add", "test-org/tiny-gguf", "--quant", "Q4_K_M") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no quantization 'Q4_K_M'; it has Q8_0" in err
    assert load_settings().models == {}
    assert cli("add", "test-org/tiny-gguf", "--quant", "q8_0", "--name", "t") == 0
    assert load_settings().models["t"]["quant"] == "Q8_0"


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


@pytest.mark.parametrize("filename, quant", [
    ("tiny-q8_0.gguf", "Q8_0"), ("Model.Q4_K_M.gguf", "Q4_K_M"), ("llada-8b-q4km.gguf", "Q4KM"),
    ("tiny-F16.gguf", "F16"), ("x_bf16.gguf", "BF16"), ("m-IQ4_XS.gguf", "IQ4_XS"), ("weights.gguf", "weights"),
])
def test_a_gguf_file_name_gives_its_quantization(filename, quant):
    from canvasedit.models import hub

    assert hub.quant_name(filename) == quant


def test_an_entry_of_the_bd3lm_variant_loads_its_pull_block_causal(hub, tmp_path):
    """A BD3LM-trained A2D repository has the MDLM conversion's config.json: the entry's family decides."""
    from canvasedit.engine import open_backend
    from tests.families import make_a2d

    folder = make_a2d(tmp_path / "a2d")
    rows = (("bd3lm", "a2d-bd3lm", 32), ("mdlm", "a2d", 0))
    for name, family, _ in rows:
        hub.add_repo(f"test-org/tiny-{name}", folder)
    save_settings(Settings(models={name: {"repo": f"test-org/tiny-{name}", "family": family, "params": 60_000}
                                   for name, family, _ in rows}))
    for name, family, block in rows:
        download.pull(CatalogEntry(name=name, family=family, repo=f"test-org/tiny-{name}", params=60_000, user=True))
        backend = open_backend(resolve_model(name), device="cpu")
        assert (backend.model_name, backend.layout.block_size, backend.layout.sees_suffix) == (name, block, not block)
        backend.close()
