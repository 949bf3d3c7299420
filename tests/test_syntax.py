"""Tests for canvasedit.syntax: language lookup, grow to the enclosing node, shrink back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvasedit import syntax
from canvasedit.syntax import (
    SelectionStack,
    Span,
    SyntaxTree,
    has_grammar,
    language_for_path,
    pygments_lexer_for_path,
    syntax_tree_for,
)

PYTHON = '''import os


class Greeter:
    """Says hello."""

    def greet(self, name):
        if name:
            return "hi " + name.upper()
        return None
'''


def grow_chain(tree: SyntaxTree, start: int, end: int) -> list[Span]:
    """Every span that repeated grow visits, stopping when nothing larger exists."""
    spans = []
    while (span := tree.grow_node(start, end)) is not None:
        assert span.start <= start and end <= span.end and span.range != (start, end), "grow must strictly enlarge"
        spans.append(span)
        start, end = span.range
        assert len(spans) < 50, "grow did not terminate"
    return spans


def test_grow_climbs_from_expression_to_module() -> None:
    tree = syntax_tree_for(PYTHON, "python")
    assert tree is not None and not tree.has_errors
    cursor = PYTHON.index("upper") + 2
    spans = grow_chain(tree, cursor, cursor)
    kinds = [span.kind for span in spans]
    assert kinds == [
        "identifier", "attribute", "call", "binary_operator", "return_statement",
        "if_statement", "block", "function_definition", "block", "class_definition", "module",
    ]
    text = {span.kind: PYTHON[span.start : span.end] for span in spans}  # the last block wins
    assert text["identifier"] == "upper"
    assert text["call"] == "name.upper()"
    assert text["return_statement"] == 'return "hi " + name.upper()'
    function_body, class_body = (PYTHON[s.start : s.end] for s in spans if s.kind == "block")
    assert function_body.startswith("if name:") and function_body.endswith("return None")
    assert class_body.startswith('"""Says hello."""') and class_body.endswith("return None")
    assert text["function_definition"].startswith("def greet")
    assert text["class_definition"].startswith("class Greeter:")
    # Each step is strictly larger than the one before.
    sizes = [span.end - span.start for span in spans]
    assert sizes == sorted(set(sizes))
    # The module spans the whole file here, so nothing is larger.
    assert spans[-1].range == (0, len(PYTHON))
    assert tree.grow(0, len(PYTHON)) == (0, len(PYTHON))


def test_grow_from_a_selection_skips_nodes_equal_to_it() -> None:
    tree = syntax_tree_for(PYTHON, "python")
    assert tree is not None
    start = PYTHON.index("return \"hi")
    end = PYTHON.index("upper()") + len("upper()")
    # The return statement equals its block (the if body): both are skipped.
    span = tree.grow_node(start, end)
    assert span is not None and span.kind == "if_statement"


def test_selection_stack_shrinks_to_each_previous_selection() -> None:
    tree = syntax_tree_for(PYTHON, "python")
    assert tree is not None
    cursor = PYTHON.index("name.upper")
    stack = SelectionStack()
    history = [(cursor, cursor)]
    for _ in range(5):
        history.append(stack.grow(tree, *history[-1]))
    assert len(stack) == 5
    current = history.pop()
    while history:
        current = stack.shrink(current)
        assert current == history.pop()
    assert stack.shrink(current) == current  # nothing left to undo
    assert len(stack) == 0


def test_selection_stack_forgets_after_the_selection_moves() -> None:
    tree = syntax_tree_for(PYTHON, "python")
    assert tree is not None
    stack = SelectionStack()
    grown = stack.grow(tree, 30, 30)
    assert stack.shrink((grown[0], grown[1] + 1)) == (grown[0], grown[1] + 1)
    assert len(stack) == 0


def test_selection_stack_does_not_record_a_grow_that_changes_nothing() -> None:
    tree = syntax_tree_for("x = 1", "python")
    assert tree is not None
    stack = SelectionStack()
    assert stack.grow(tree, 0, 5) == (0, 5)
    assert len(stack) == 0


def test_non_ascii_before_the_cursor_keeps_character_offsets() -> None:
    text = '# «héllo» 日本 😀\nnom_é = "ünï 🎉"\ndef f(ö):\n    return ö + 1\n'
    tree = syntax_tree_for(text, "python")
    assert tree is not None
    cursor = text.index("ö + 1")
    spans = grow_chain(tree, cursor, cursor)
    assert [text[s.start : s.end] for s in spans[:3]] == ["ö", "ö + 1", "return ö + 1"]
    assert spans[-1].range == (0, len(text))
    inside_string = text.index('"ünï') + 1
    spans = grow_chain(tree, inside_string, inside_string + 1)
    assert [(s.kind, text[s.start : s.end]) for s in spans[:3]] == [
        ("string_content", "ünï 🎉"), ("string", '"ünï 🎉"'), ("assignment", 'nom_é = "ünï 🎉"'),
    ]


@pytest.mark.parametrize("checkpoint", [1, 3, 7])
def test_offsets_are_exact_across_conversion_checkpoints(monkeypatch: pytest.MonkeyPatch, checkpoint: int) -> None:
    # A tiny checkpoint interval exercises the block arithmetic that large files rely on.
    monkeypatch.setattr(syntax, "_CHECKPOINT", checkpoint)
    text = "é = '日本😀'\nλ = é + ñx\n"
    tree = syntax_tree_for(text, "python")
    assert tree is not None and not tree.has_errors
    cursor = text.index("ñx") + 1
    spans = grow_chain(tree, cursor, cursor)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [
        ("identifier", "ñx"), ("binary_operator", "é + ñx"), ("assignment", "λ = é + ñx"), ("module", text),
    ]


@given(st.lists(st.sampled_from(["a", "é", "日", "😀", " ", "\n", "=", "1", "(", ")"]), max_size=30).map("".join))
def test_every_grow_step_is_a_strictly_larger_range_inside_the_text(text: str) -> None:
    tree = syntax_tree_for(text, "python")
    assert tree is not None
    for cursor in range(len(text) + 1):
        spans = grow_chain(tree, cursor, cursor)
        assert all(0 <= s.start <= s.end <= len(text) for s in spans)
        if text:
            assert spans[-1].range == (0, len(text))


def test_leading_blank_lines_end_with_the_whole_document() -> None:
    text = "\n\nx = 1\n\n"
    tree = syntax_tree_for(text, "python")
    assert tree is not None
    spans = grow_chain(tree, text.index("1"), text.index("1"))
    assert [s.kind for s in spans][-2:] == ["module", "document"]
    assert spans[-1].range == (0, len(text))


def test_javascript() -> None:
    text = "function add(a, b) {\n  const total = a * b + 1;\n  return total;\n}\n"
    tree = syntax_tree_for(text, "javascript")
    assert tree is not None
    cursor = text.index("b + 1")
    kinds = [s.kind for s in grow_chain(tree, cursor, cursor)]
    assert kinds[:3] == ["identifier", "binary_expression", "binary_expression"]
    for kind in ("lexical_declaration", "statement_block", "function_declaration", "program"):
        assert kind in kinds
    assert kinds.index("statement_block") < kinds.index("function_declaration") < kinds.index("program")


def test_rust() -> None:
    text = "fn main() {\n    let x = vec![1, 2];\n    if x.len() > 1 {\n        println!(\"{}\", x[0]);\n    }\n}\n"
    tree = syntax_tree_for(text, "rust")
    assert tree is not None
    cursor = text.index("len")
    spans = grow_chain(tree, cursor, cursor)
    kinds = [s.kind for s in spans]
    assert kinds[:4] == ["field_identifier", "field_expression", "call_expression", "binary_expression"]
    order = [kinds.index(kind) for kind in ("if_expression", "block", "function_item", "source_file")]
    assert order == sorted(order)
    assert text[spans[2].start : spans[2].end] == "x.len()"


@pytest.mark.parametrize(
    "language",
    sorted(set(syntax._EXTENSIONS.values()) | set(syntax._FILENAMES.values())),
)
def test_every_mapped_language_has_a_grammar(language: str) -> None:
    assert has_grammar(language)
    assert syntax_tree_for("x", language) is not None


def test_unknown_language_has_no_tree() -> None:
    assert syntax_tree_for("x = 1", "cobol") is None
    assert syntax_tree_for("x = 1", None) is None
    assert not has_grammar("typescript")


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.py", "python"), ("stubs/a.pyi", "python"), ("A.PY", "python"),
        ("a.js", "javascript"), ("a.mjs", "javascript"), ("a.cjs", "javascript"), ("a.jsx", "javascript"),
        ("lib.rs", "rust"), ("main.go", "go"), ("a.json", "json"), ("pyproject.toml", "toml"), ("Cargo.lock", "toml"),
        ("a.yaml", "yaml"), ("a.yml", "yaml"), ("README.md", "markdown"), ("index.html", "html"), ("a.css", "css"),
        ("run.sh", "bash"), ("q.sql", "sql"), ("A.java", "java"), ("pom.xml", "xml"),
        ("a.ts", None), ("a.tsx", None), ("a.c", None), ("a.h", None), ("a.cpp", None), ("a.rb", None),
        ("notes.txt", None), ("Makefile", None), ("pattern.regex", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


@pytest.mark.parametrize(
    ("path", "lexer"),
    [
        ("a.ts", "typescript"), ("a.tsx", "tsx"), ("a.c", "c"), ("a.h", "c"),
        ("a.cpp", "cpp"), ("a.hpp", "cpp"), ("a.cc", "cpp"), ("a.rb", "ruby"),
    ],
)
def test_pygments_fallback(path: str, lexer: str) -> None:
    assert pygments_lexer_for_path(path) == lexer


def test_pygments_fallback_unknown() -> None:
    assert pygments_lexer_for_path("data.zzz-unknown") is None


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (0, 0, "import os\n"),  # before everything
        (18, 30, "(a, b"),  # breaks the parse: an error node appears
        (5, 5, "été = 'ü'\n"),  # multi-byte characters: byte columns differ from character ones
        (40, 60, ""),  # a deletion
        (0, 10_000, "x = 1\n"),  # the whole text (clamped)
    ],
)
def test_an_edited_tree_is_the_tree_a_fresh_parse_gives(start: int, end: int, text: str) -> None:
    source = "def f(x):\n    return x + 1  # é\n\n\nclass Point:\n    x: int = 0\n    y: int = 0\n"
    tree = syntax_tree_for(source, "python")
    assert tree is not None
    before = str(tree._tree.root_node)
    edited = tree.edited(start, end, text)
    fresh = syntax_tree_for(edited.text, "python")
    assert edited.text == source[:start] + text + source[min(end, len(source)):]
    assert str(edited._tree.root_node) == str(fresh._tree.root_node)
    assert edited.error_ranges() == fresh.error_ranges() and edited.has_errors == fresh.has_errors
    middle = len(edited.text) // 2
    assert edited.enclosing(middle, middle) == fresh.enclosing(middle, middle)
    assert str(tree._tree.root_node) == before  # the original is untouched
