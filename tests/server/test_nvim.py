"""The Neovim plugin (editors/nvim) in a real headless Neovim, against a real ``canvasedit serve``.

CI installs Debian's neovim (.ci/run); elsewhere a machine without it skips this test and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from canvasedit.engine.fill import MASK_GLYPH
from tests.server.test_fill_api import post

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
DOC = "# café → tea\ndef brew(cups):\n    return cups\n\nlabel = brew(2)\n"

# CI has Neovim (.ci/run installs it), so there a missing nvim fails the test instead of skipping it
pytestmark = pytest.mark.skipif(shutil.which("nvim") is None and not os.environ.get("CI"),
                                reason="needs Neovim (apt-get install neovim)")


def test_the_plugin_masks_fills_draws_every_pass_and_accepts_as_one_undo_step(serve_process, tmp_path):
    doc = tmp_path / "doc.py"
    doc.write_text(DOC, encoding="utf-8")
    out = tmp_path / "out.json"
    env = {"CANVASEDIT_URL": serve_process.url, "CANVASEDIT_TEST_FILE": str(doc), "CANVASEDIT_TEST_OUT": str(out),
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run(
        ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={PLUGIN}",
         "-c", "runtime plugin/canvasedit.lua", "-c", f"luafile {PLUGIN / 'tests' / 'fill_test.lua'}"],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )
    assert out.exists(), f"nvim wrote nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert proc.returncode == 0, seen.get("failure") or proc.stderr[-2000:]
    assert seen["original"] == DOC and seen["holes"] == 2

    # the same fill asked of the server directly, with the holes at the characters the plugin found:
    # line 2's end (after "é" and "→", so a byte offset would be wrong) and the word "label" on line 5
    at = DOC.index("(cups):") + len("(cups):")
    word = DOC.index("label")
    expected = json.loads(post(serve_process.url, "/v1/fill", {
        "text": DOC, "holes": [{"start": at, "length": 6}, {"start": word, "end": word + len("label")}],
        "sampler": {"steps": 4}})[2])
    assert seen["result"] == expected["text"], (repr(seen["result"]), repr(expected["text"]))

    # every pass was drawn as virtual lines, and the drawing is the folded text of that pass
    passes = seen["passes"]
    assert len(passes) == 4
    assert seen["drawn"] == passes
    assert passes[0][0].count(MASK_GLYPH) > passes[-1][0].count(MASK_GLYPH) == 0
    assert [p[0] for p in passes][-1] == expected["holes"][0]["text"]

    # nothing touched the buffer before accepting; accepting is one undo step and undo restores it
    assert seen["before_accept"] == DOC
    assert seen["accepted"] == expected["text"] and seen["holes_after_accept"] == 0
    assert seen["undo_steps"] == 1 and seen["undone"] == DOC

    assert seen["cancel"] == {"passes": 1, "job": False, "proposal": False}
    assert "curl failed" in seen["errors"][0]
