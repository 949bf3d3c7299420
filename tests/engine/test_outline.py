"""Outlines that expand: which items get a body, where it goes, and one joint fill whose bodies can be
applied together or one by one."""

import pytest

from canvasedit.engine import SamplerParams
from canvasedit.engine.outline import NoOutline, expand, outline_items
from canvasedit.engine.view import passes

PYTHON = '''import os


def read_config(path: str) -> dict:
    """Read the TOML file at path and return its tables."""


def write_config(path, data):
    """Write data to path atomically."""
    ...


class Store:
    def get(self, key): ...

    async def put(self, key, value):
        """Store value under key."""
        raise NotImplementedError("later")

    def drop(self):
        pass


def done():
    """Already written."""
    return 1
'''

MARKDOWN = '''# Plan

- Why diffusion
- How it works
  - masks
  * steps
- Results
  already written here
1. First numbered

## Empty section

## Filled
Some text.

```
- not a bullet inside a fence
```
'''


def test_python_items_are_body_less_functions_with_their_body_range():
    items = outline_items(PYTHON, "python")
    assert [i.title for i in items] == ["read_config", "write_config", "get", "put", "drop"]
    read, write, get, put, drop = items
    at = PYTHON.index('tables."""') + len('tables."""')
    assert (read.start, read.end, read.prefix) == (at, at, "\n    ")  # inserted after the docstring
    dots = PYTHON.index("    ...\n") + 4
    assert (write.start, write.end, write.prefix) == (dots, dots + 3, "")  # the placeholder is replaced
    colon = PYTHON.index("def get(self, key):") + len("def get(self, key):")
    assert (get.start, get.end, get.prefix) == (colon, colon + 4, "\n        ")  # off the def line
    assert PYTHON[put.start : put.end] == 'raise NotImplementedError("later")' and put.prefix == ""
    assert PYTHON[drop.start : drop.end] == "pass"
    assert all(i.kind == "function" and i.length == 32 for i in items)


def test_markdown_items_are_leaf_bullets_and_empty_headings():
    items = outline_items(MARKDOWN, "markdown", length=20)
    assert [(i.kind, i.title) for i in items] == [
        ("bullet", "Why diffusion"), ("bullet", "masks"), ("bullet", "steps"), ("bullet", "First numbered"),
        ("heading", "Empty section"),
    ]
    why = items[0]
    end = MARKDOWN.index("- Why diffusion") + len("- Why diffusion")
    assert (why.start, why.end, why.prefix) == (end, end, "\n\n  ")
    assert items[1].prefix == "\n\n    " and items[3].prefix == "\n\n   "  # under the item's text
    assert items[4].prefix == "\n\n" and all(i.length == 20 for i in items)
    assert outline_items("plain notes\n- one\n- two\n", None)[1].title == "two"  # plain text reads as Markdown


def test_nothing_to_expand_or_an_unreadable_outline_is_refused(tiny_backend):
    with pytest.raises(NoOutline, match="nothing to expand"):
        expand("def f():\n    return 1\n", tiny_backend, language="python")
    with pytest.raises(NoOutline, match="does not parse"):
        outline_items("def f(:\n", "python")
    with pytest.raises(NoOutline, match="not from rust"):
        outline_items("fn main() {}", "rust")


def test_every_body_is_filled_jointly_in_one_canvas(tiny_backend):
    run = expand(PYTHON, tiny_backend, SamplerParams(steps=6), language="python", length=5)
    assert len(run.fill_run.canvas.spans) == 5  # one canvas, every body a hole of it
    events = list(passes(run))
    assert len(events) == 6 and all(len(e.holes) == 5 for e in events)
    result = run.result
    pieces, cursor = [], 0
    for item, hole in zip(run.items, result.holes):
        assert hole.text.startswith(item.prefix) and len(hole.tokens) <= 5
        assert (hole.original_start, hole.original_end) == (item.start, item.end)
        assert result.text[hole.start : hole.end] == hole.text
        pieces += [PYTHON[cursor : item.start], hole.text]
        cursor = item.end
    assert result.text == "".join(pieces) + PYTHON[cursor:]
    assert result.text.endswith('def done():\n    """Already written."""\n    return 1\n')


def test_each_body_can_be_applied_alone(tiny_backend):
    result = expand(MARKDOWN, tiny_backend, SamplerParams(steps=4), length=4).run()
    for hole in result.holes:
        alone = MARKDOWN[: hole.original_start] + hole.text + MARKDOWN[hole.original_end :]
        assert alone[: hole.original_start] == MARKDOWN[: hole.original_start]
        assert alone[hole.original_start + len(hole.text) :] == MARKDOWN[hole.original_end :]
    second = result.holes[1]  # applying one body leaves every other item as it was
    alone = MARKDOWN[: second.original_start] + second.text + MARKDOWN[second.original_end :]
    assert "- Why diffusion\n- How it works" in alone


def test_cancelling_leaves_no_result(tiny_backend):
    run = expand(MARKDOWN, tiny_backend, SamplerParams(steps=4), length=4)
    for _ in run:
        run.cancel()
    assert run.result is None and run.cancelled


def test_the_service_expands_through_a_handle(tiny_backend):
    from canvasedit.engine.service import EngineService, result_json

    service = EngineService(backend=tiny_backend)
    handle = service.expand(MARKDOWN, "markdown", {"steps": 2}, length=3)
    events = list(handle.events())
    assert len(events) == 2 and len(handle.result.holes) == len(handle.run.items) == 5
    assert result_json(handle.result, tiny_backend)["holes"][0]["original_start"] == handle.run.items[0].start
