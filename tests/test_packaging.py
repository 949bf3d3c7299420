"""Packaging: what pyproject.toml promises, the wheel and sdist as built and installed, and packaging/.

The wheel and sdist are built once per run (``python -m build --no-isolation``) and the wheel is
installed without its dependencies, so these tests stay offline. ``make install-check`` installs it
with ``pipx`` and ``uv tool`` and every dependency, and ``make app-smoke`` builds and tests the
PyInstaller app.
"""

import ast
import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_python_floor_covers_the_standard_library_the_code_imports():
    floor = PYPROJECT["project"]["requires-python"].split("#")[0].strip()
    assert floor.startswith(">=")
    major, minor = (int(x) for x in floor[2:].split(".")[:2])
    # Standard-library modules that appeared late, and the Python that first has them.
    late = {"tomllib": (3, 11)}
    for path in (ROOT / "canvasedit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                if name.split(".")[0] in late:
                    assert (major, minor) >= late[name.split(".")[0]], f"{path.name} imports {name}"
    assert sys.version_info >= (major, minor)


def test_every_package_data_pattern_matches_files():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    for package, patterns in data.items():
        base = ROOT / package.replace(".", "/")
        for pattern in patterns:
            assert any(p.is_file() for p in base.glob(pattern)), f"package-data {pattern!r} matches nothing in {base}"


# --- the wheel and the sdist, built and installed as users do -------------------------------

VERSION = PYPROJECT["project"]["version"]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``python -m build`` of this tree: the wheel and the sdist, as ``make dist`` makes them."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheel, = out.glob("canvasedit-*.whl")
    sdist, = out.glob("canvasedit-*.tar.gz")
    return wheel, sdist


def test_the_wheel_holds_the_package_its_data_and_the_command(dist):
    wheel, _ = dist
    assert wheel.name == f"canvasedit-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(f"canvasedit-{VERSION}.dist-info/METADATA").decode()
        entry_points = z.read(f"canvasedit-{VERSION}.dist-info/entry_points.txt").decode()
    for name in ("canvasedit/cli.py", "canvasedit/ui/canvasedit.tcss", "canvasedit/doctor.py",
                 "canvasedit/models/bundled/canvasedit-tiny/model.safetensors",
                 "canvasedit/models/bundled/canvasedit-tiny/tokenizer.json",
                 "canvasedit/models/bundled/canvasedit-tiny/config.json"):
        assert name in names, name
    assert not any(n.startswith(("tests/", "training/", "benchmarks/")) for n in names)
    assert "canvasedit = canvasedit.cli:main" in entry_points
    assert f"Version: {VERSION}" in meta
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", meta, re.MULTILINE))
    assert {"gguf", "kernels"} <= extras
    assert re.search(r"^Requires-Dist: llama-cpp-python.*extra == \"gguf\"", meta, re.MULTILINE)
    assert re.search(r"^Requires-Dist: triton.*extra == \"kernels\"", meta, re.MULTILINE)


def test_the_sdist_builds_the_same_wheel(dist, tmp_path):
    _, sdist = dist
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
        t.extractall(tmp_path, filter="data")
    for name in ("pyproject.toml", "README.md", "canvasedit/ui/canvasedit.tcss",
                 "canvasedit/models/bundled/canvasedit-tiny/model.safetensors"):
        assert name in names, name
    source = tmp_path / sdist.name.removesuffix(".tar.gz")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "w"), str(source)], capture_output=True, text=True, check=False,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rebuilt, = (tmp_path / "w").glob("*.whl")
    with zipfile.ZipFile(rebuilt) as a, zipfile.ZipFile(dist[0]) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())


def test_the_wheel_installs_into_a_fresh_environment_and_runs_from_there(dist, tmp_path):
    # Offline: uv installs the wheel alone (--no-deps) into a new venv, and the dependencies come
    # from this environment through PYTHONPATH. `make install-check` does the real `pipx install`
    # and `uv tool install`, which download every dependency.
    import sysconfig

    wheel, _ = dist
    uv = str(BIN / "uv")
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(tmp_path / "venv")], check=True, env=env,
                   timeout=120)
    python = tmp_path / "venv" / "bin" / "python"
    proc = subprocess.run([uv, "pip", "install", "-q", "--offline", "--no-deps", "--python", str(python), str(wheel)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run([str(tmp_path / "venv" / "bin" / "canvasedit"), "--version"], capture_output=True,
                         text=True, check=False, timeout=60)
    assert (out.returncode, out.stdout) == (0, f"canvasedit {VERSION}\n"), out.stderr
    # The installed copy (not this source tree) fills a hole with the bundled model it carries.
    sample = tmp_path / "example.py"
    sample.write_bytes((ROOT / "samples" / "example.py").read_bytes())
    probe = ("import sys, canvasedit; assert sys.argv.pop(1) in canvasedit.__file__, canvasedit.__file__; "
             "from canvasedit.cli import main; raise SystemExit(main(sys.argv[1:]))")
    run_env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "HF_HUB_OFFLINE": "1",
               "CANVASEDIT_HOME": str(tmp_path / "home")}
    fill = subprocess.run([str(python), "-c", probe, str(tmp_path / "venv"), "fill", str(sample),
                           "--hole", "30:1-30:1:8", "--steps", "4", "--json"],
                          capture_output=True, text=True, check=False, timeout=600, env=run_env, cwd=tmp_path)
    assert fill.returncode == 0, fill.stderr[-2000:]
    assert json.loads(fill.stdout)["model"] == "canvasedit-tiny"


# --- desktop entry, icon, Homebrew template, PyInstaller spec ---------------------------------

PACKAGING = ROOT / "packaging"


def test_the_desktop_entry_opens_the_editor_in_a_terminal():
    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / "canvasedit.desktop", encoding="utf-8")
    e = entry["Desktop Entry"]
    assert e["Type"] == "Application" and e["Terminal"] == "true"
    assert e["Exec"].split()[0] == "canvasedit" and e["Exec"].split()[1] in ("%f", "%F")
    assert e["Icon"] == "canvasedit" and (PACKAGING / "canvasedit.svg").is_file()
    assert e["Categories"].endswith(";") and "TextEditor" in e["Categories"].split(";")
    assert "text/plain" in e["MimeType"].split(";")
    validate = shutil.which("desktop-file-validate")
    if validate:
        proc = subprocess.run([validate, str(PACKAGING / "canvasedit.desktop")], capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout  # not even a hint


def test_the_icon_is_a_square_svg():
    root = ElementTree.parse(PACKAGING / "canvasedit.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 128 128" and root.get("width") == root.get("height")


def test_install_desktop_writes_the_entry_and_icon_for_the_user(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    script = str(PACKAGING / "install-desktop.sh")
    subprocess.run(["bash", script], check=True, env=env, capture_output=True, timeout=60)
    installed = tmp_path / "applications" / "canvasedit.desktop"
    assert installed.read_text() == (PACKAGING / "canvasedit.desktop").read_text()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "canvasedit.svg").is_file()
    subprocess.run(["bash", script, "--terminal-exec"], check=True, env=env, capture_output=True, timeout=60)
    text = installed.read_text()
    assert "Exec=xdg-terminal-exec canvasedit %f" in text and "Terminal=false" in text
    subprocess.run(["bash", script, "--uninstall"], check=True, env=env, capture_output=True, timeout=60)
    assert not installed.exists()


def test_the_homebrew_template_renders_for_the_sdist(dist):
    _, sdist = dist
    proc = subprocess.run([sys.executable, str(PACKAGING / "homebrew" / "render.py"), str(sdist)],
                          capture_output=True, text=True, check=True, timeout=60)
    formula = proc.stdout
    assert not re.findall(r"@[A-Z0-9_]+@", formula)
    assert f'url "https://files.pythonhosted.org/packages/source/c/canvasedit/{sdist.name}"' in formula
    assert f'sha256 "{hashlib.sha256(sdist.read_bytes()).hexdigest()}"' in formula
    assert "virtualenv_install_with_resources" in formula and f"canvasedit {VERSION}" in formula
    ruby = shutil.which("ruby")
    if ruby:
        check = subprocess.run([ruby, "-c"], input=formula, capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr


def test_the_pyinstaller_spec_collects_what_a_plain_build_misses():
    spec = (PACKAGING / "canvasedit.spec").read_text()
    for needed in ('collect_data_files("canvasedit")', 'collect_data_files("textual")',
                   'collect_submodules("textual.widgets")', 'collect_submodules("canvasedit")',
                   'copy_metadata(dist)', 'startswith("tree_sitter")'):
        assert needed in spec, needed
    compile(spec, "canvasedit.spec", "exec")
