"""What pyproject.toml promises matches the source: the Python floor and the package data."""

import ast
import sys
import tomllib
from pathlib import Path

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
