"""The layering rule, checked on the source: ui → engine → models → kernels, the server a front end beside
the ui (never importing it), and Textual only in ui."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "canvasedit"

FORBIDDEN = {
    "kernels": ("canvasedit.", "textual"),
    "models": ("canvasedit.engine", "canvasedit.ui", "canvasedit.cli", "canvasedit.server", "textual"),
    "engine": ("canvasedit.ui", "canvasedit.cli", "canvasedit.server", "textual"),
    # the HTTP server is a front end like the CLI: engine, models, config and document, never the editor
    "server": ("canvasedit.ui", "canvasedit.cli", "textual"),
    "": ("canvasedit.ui", "canvasedit.server", "textual"),  # top-level modules such as document.py, config.py
}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        layer = rel.parts[0] if len(rel.parts) > 1 else ""
        if layer in FORBIDDEN and path.name not in ("cli.py", "__main__.py"):
            yield pytest.param(path, layer, id=str(rel))


@pytest.mark.parametrize("path, layer", list(modules()))
def test_module_respects_layering(path, layer):
    bad = sorted(n for n in imports(path) if any(n == f.rstrip(".") or n.startswith(f) for f in FORBIDDEN[layer]))
    if layer == "kernels":
        bad = [n for n in bad if not n.startswith("canvasedit.kernels")]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}, which its layer ({layer or 'top level'}) may not"


def test_rule_has_teeth(tmp_path):
    fake = tmp_path / "x.py"
    fake.write_text("from canvasedit.ui.app import run_editor\nimport textual\n")
    assert {"canvasedit.ui.app", "textual"} <= imports(fake)


def test_llama_cpp_is_imported_only_by_the_gguf_backend():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if any(n == "llama_cpp" or n.startswith("llama_cpp.") for n in imports(p)))
    assert users == ["engine/backends/gguf.py"]
