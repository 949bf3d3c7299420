"""Fill in the Homebrew formula template for one release sdist and print the formula.

    python packaging/homebrew/render.py dist/canvasedit-0.1.0.tar.gz [--url URL] > canvasedit.rb

The default URL is the sdist's place on PyPI (``files.pythonhosted.org/packages/source/...``).
Resource blocks are left for ``brew update-python-resources`` to write.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("canvasedit.rb.in")
HOMEPAGE = "https://pypi.org/project/canvasedit/"


def render(sdist: Path, url: str | None = None) -> str:
    match = re.fullmatch(r"canvasedit-(?P<version>[0-9][^/]*)\.tar\.gz", sdist.name)
    if match is None:
        raise SystemExit(f"{sdist.name}: expected an sdist named canvasedit-VERSION.tar.gz")
    version = match.group("version")
    url = url or f"https://files.pythonhosted.org/packages/source/c/canvasedit/{sdist.name}"
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {"VERSION": version, "URL": url, "SHA256": digest, "HOMEPAGE": HOMEPAGE}.items():
        text = text.replace(f"@{key}@", value)
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sdist", type=Path)
    p.add_argument("--url", default=None, help="where the formula downloads the sdist (default: PyPI)")
    args = p.parse_args()
    sys.stdout.write(render(args.sdist, args.url))


if __name__ == "__main__":
    main()
