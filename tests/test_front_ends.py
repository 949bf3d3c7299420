"""Every front end fills through the engine service, and each says when a model does not see the text
after a hole.

* The editor (``canvasedit/ui``) and the CLI (``canvasedit/cli*.py``) never open a backend or build a
  fill of their own: an AST walk over their sources finds no import of the engine's backend opener
  or run builders, and no call of them through a module.
* A block-diffusion model (SDAR, Fast-dLLM v2; ``backend.layout.sees_suffix`` False) is named as such
  in the editor's status bar and in one stderr line of ``canvasedit fill``; a bidirectional one is not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from canvasedit.cli import main

ROOT = Path(__file__).resolve().parents[1] / "canvasedit"
RUNNERS = {"open_backend", "fill", "FillRun", "instruct", "search_lengths", "expand", "score", "denoise",
           "NativeBackend", "GGUFBackend"}
"""What builds or runs a fill on a backend: the engine service's business (``engine/service.py``)."""
NOTE = "does not see the text after a hole"


def front_end_files() -> list[Path]:
    return sorted([*ROOT.glob("cli*.py"), *(ROOT / "ui").rglob("*.py")])


def direct_engine_use(path: Path) -> list[str]:
    """``file:line name`` for each import of a runner from ``canvasedit.engine`` and each ``x.runner(…)`` on a
    module imported from it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("canvasedit.engine"):
            if (node.module or "").startswith("canvasedit.engine.backends"):
                found.append(f"{path.name}:{node.lineno} import from {node.module}")
            for alias in node.names:
                if alias.name in RUNNERS:
                    found.append(f"{path.name}:{node.lineno} {alias.name} from {node.module}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("canvasedit.engine"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS:
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in modules:
                found.append(f"{path.name}:{node.lineno} {owner.id}.{node.func.attr}()")
    return found


def test_no_front_end_opens_a_backend_or_runs_a_fill_itself():
    files = front_end_files()
    assert len(files) > 10 and any(p.name == "editor_fill.py" for p in files)
    offenders = [hit for path in files for hit in direct_engine_use(path)]
    assert offenders == [], "front ends must go through EngineService: " + "; ".join(offenders)


def test_the_walk_finds_a_direct_fill(tmp_path):
    # the check itself can fail: a file that builds its own fill is named
    bad = tmp_path / "bad.py"
    bad.write_text("from canvasedit.engine import fill\nimport canvasedit.engine as e\ne.open_backend('x')\n")
    assert direct_engine_use(bad) == ["bad.py:1 fill from canvasedit.engine", "bad.py:3 e.open_backend()"]


# -- block-diffusion models say they do not see the suffix -------------------------------------------------------


@pytest.fixture(scope="module")
def sdar_dir(tmp_path_factory) -> Path:
    from tests.families import make_sdar

    return make_sdar(tmp_path_factory.mktemp("sdar") / "model")


SOURCE = "def area(r):\n    return 3.14 * r * r\n"


@pytest.mark.usefixtures("reference_kernels")
def test_canvasedit_fill_notes_once_that_a_block_diffusion_model_reads_only_the_text_before(
        capsys, tmp_path, sdar_dir, tiny_model_dir):
    path = tmp_path / "area.py"
    path.write_text(SOURCE, encoding="utf-8")
    assert main(["fill", str(path), "--hole", "2:12-2:12:4", "--model", str(sdar_dir), "--steps", "2"]) == 0
    out, err = capsys.readouterr()
    assert err.count(NOTE) == 1 and err.startswith("canvasedit: note: ")
    assert out.startswith("def area(r):\n    return ") and out.endswith("3.14 * r * r\n")
    assert main(["fill", str(path), "--hole", "2:12-2:12:4", "--model", str(tiny_model_dir), "--steps", "2"]) == 0
    assert NOTE not in capsys.readouterr().err


@pytest.mark.usefixtures("reference_kernels")
async def test_the_status_bar_says_a_block_diffusion_model_does_not_see_after_the_hole(sdar_dir, tiny_backend):
    from canvasedit.engine.backends.native import NativeBackend
    from canvasedit.ui.app import CanvasEditApp
    from canvasedit.ui.widgets.status import NO_SUFFIX

    sdar = NativeBackend.load(sdar_dir, device="cpu")
    assert sdar.layout.sees_suffix is False and tiny_backend.layout.sees_suffix is True
    for backend, blind in ((sdar, True), (tiny_backend, False)):
        app = CanvasEditApp(backend=backend, cursor_blink=False)
        async with app.run_test(size=(160, 24)) as pilot:
            await pilot.pause()
            model = app.screen.status.part("model")
            assert model.startswith(f"{backend.model_name}") and (f"· {NO_SUFFIX}" in model) is blind
