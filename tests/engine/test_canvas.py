"""Canvas layout and the byte-exactness of everything outside the holes, on a real tokenizer."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvasedit.engine import ContextTooLong, Hole, SamplerParams, fill
from canvasedit.engine.canvas import build_canvas

ALPHABET = st.sampled_from(list("ab xyz\t\n\r(){}:=_é日ß😀'\"#") + ["\r\n", "    ", "def ", "return "])


@st.composite
def document_and_holes(draw):
    text = "".join(draw(st.lists(ALPHABET, min_size=1, max_size=60)))
    n = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), min_size=2 * n, max_size=2 * n)))
    holes = []
    for i in range(n):
        a, b = cuts[2 * i], cuts[2 * i + 1]
        if holes and (a < holes[-1].end or (a == b == holes[-1].start == holes[-1].end)):
            continue
        holes.append(Hole(a, b, length=draw(st.integers(1, 6))))
    return text, holes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document_and_holes())
def test_text_outside_holes_is_byte_identical(tiny_backend, case):
    text, holes = case
    result = fill(text, holes, tiny_backend, SamplerParams(steps=2)).run()
    new = result.text
    prev_old = prev_new = 0
    for hole, filled in zip(sorted(holes, key=lambda h: h.start), result.holes):
        assert new[prev_new : filled.start] == text[prev_old : hole.start]
        assert new[filled.start : filled.end] == filled.text
        prev_old, prev_new = hole.end, filled.end
    assert new[prev_new:] == text[prev_old:]
    # Byte-exact, CRLF and lone CR included: the segments are spliced, never re-decoded.
    assert new[prev_new:].encode("utf-8", "surrogatepass") == text[prev_old:].encode("utf-8", "surrogatepass")


def test_replacement_length_defaults_to_range_token_count(tiny_backend):
    text = "def add(a, b):\n    return a + b\n"
    canvas = build_canvas(text, [Hole(4, 7)], tiny_backend.encode, 256, tiny_backend.mask_id)
    assert canvas.spans[0].length == len(tiny_backend.encode("add"))
    insertion = build_canvas(text, [Hole(4, 4)], tiny_backend.encode, 256, tiny_backend.mask_id)
    assert insertion.spans[0].length == 32


def test_long_document_keeps_a_centred_window(tiny_backend):
    text = "x = 1\n" * 2000
    at = len(text) // 2
    canvas = build_canvas(text, [Hole(at, at, length=16)], tiny_backend.encode, 256, tiny_backend.mask_id)
    assert len(canvas.ids) == 256
    left, right = canvas.context
    assert abs(left - right) <= 1 and left + right == 240
    at_start = build_canvas(text, [Hole(0, 0, length=16)], tiny_backend.encode, 256, tiny_backend.mask_id)
    assert at_start.context == (0, 240)  # what the start cannot use goes to the end


def test_holes_longer_than_the_context_are_refused(tiny_backend):
    with pytest.raises(ContextTooLong, match="256"):
        fill("abc", [Hole(1, 1, length=300)], tiny_backend)
    far = "a" + "word " * 400 + "b"
    with pytest.raises(ContextTooLong):
        fill(far, [Hole(0, 1), Hole(len(far) - 1, len(far))], tiny_backend)
