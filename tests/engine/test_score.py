"""Suspicion scores: each token's probability with it masked, in a bounded number of batched passes,
windowed for long texts; a planted wrong token is found by the bundled model."""

import itertools
import math

import pytest
import torch

from canvasedit.engine import BadHole, Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.score import _windows, align_tokens, holes_for, score
from canvasedit.models.catalog import bundled_path
from tests.engine.mock import VOCAB, MockBackend
from tests.families import make_dream, make_sdar

CODE = '''def area(radius):
    """Area of a circle."""
    return math.pi * radius ** 2


def perimeter(radius):
    return 2 * math.pi * radius
'''


@pytest.fixture(scope="module")
def bundled():
    return NativeBackend.load(bundled_path(), device="cpu")


def test_tokens_are_placed_in_the_text_even_when_a_character_is_split(bundled):
    text = "naïve café — 日本語 🙂 x = 1\n"
    ids, spans = align_tokens(text, bundled)
    assert ids == bundled.encode(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a <= b for a, b in spans) and all(s2[0] >= s1[0] for s1, s2 in itertools.pairwise(spans))
    assert len(ids) > len(set(spans))  # some character is split over several byte-level tokens
    distinct = sorted(set(spans))
    assert "".join(text[a:b] for a, b in distinct) == text


def test_each_token_is_masked_in_exactly_one_pass_and_the_passes_go_as_one_batch():
    backend = MockBackend()
    text = "abcdefghij"
    result = score(text, backend, passes=4)
    assert result.passes == 4 and len(backend.calls) == 1
    batch = backend.calls[0]  # (4, T): one masked copy per pass
    assert batch.shape == (4, len(text))
    masked = batch == backend.mask_id
    assert masked.sum(0).tolist() == [1] * len(text)  # every token masked once
    assert masked.nonzero()[:, 1].tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 3, 7]  # pass g: every index = g mod 4
    assert [t.text for t in result.tokens] == list(text)


def test_probabilities_are_the_softmax_of_the_masked_rows():
    backend = MockBackend()
    text = "abcab"
    backend.targets = {1: backend.index["b"], 3: backend.index["z"]}  # position 3 holds 'a', the model wants 'z'
    backend.strength = {1: 6.0, 3: 6.0}
    result = score(text, backend)
    V = len(VOCAB)
    strong = math.exp(6.0) / (math.exp(6.0) + V - 1)
    weak = 1 / (math.exp(6.0) + V - 1)
    assert result.tokens[1].probability == pytest.approx(strong, rel=1e-5)
    assert result.tokens[3].probability == pytest.approx(weak, rel=1e-5)
    assert result.tokens[3].best_text == "z" and result.tokens[3].best_probability == pytest.approx(strong, rel=1e-5)
    assert [t.start for t in result.below(0.01)] == [3]


class CopyPrevious(MockBackend):
    """Each masked row favours the token just before it in the canvas: scores that depend on context."""

    def logits(self, ids, rows=None):
        self.calls.append(ids.clone())
        B, T = ids.shape
        rows = torch.arange(T) if rows is None else rows
        out = torch.zeros(B, len(rows), len(VOCAB))
        for r, pos in enumerate(rows.tolist()):
            if pos > 0:
                out[torch.arange(B), r, ids[:, pos - 1]] = 5.0
        return out


def test_long_texts_are_scored_in_windows_that_fit_and_every_token_once():
    backend = CopyPrevious()
    text = "the quick brown fox jumps over the lazy dog " * 4
    whole = score(text, backend)
    assert whole.windows == 1
    backend.calls.clear()
    windowed = score(text, backend, window=24)
    assert windowed.windows > 1 and all(c.shape[1] <= 24 for c in backend.calls)
    assert [t.index for t in windowed.tokens] == list(range(len(text)))
    # Each token is scored where the window holds its left neighbour too, so it scores as in the whole text.
    assert [t.probability for t in windowed.tokens] == pytest.approx([t.probability for t in whole.tokens])


@pytest.mark.parametrize("n, lo, hi, room", [(100, 0, 100, 24), (100, 30, 90, 16), (50, 10, 20, 40), (9, 0, 9, 4)])
def test_windows_cover_the_range_once_with_context_on_both_sides(n, lo, hi, room):
    windows = _windows(n, lo, hi, room)
    cores = [(c0, c1) for _, _, c0, c1 in windows]
    assert cores[0][0] == lo and cores[-1][1] == hi and all(a[1] == b[0] for a, b in itertools.pairwise(cores))
    for a, b, c0, c1 in windows:
        assert 0 <= a <= c0 < c1 <= b <= n and b - a <= room
        if len(windows) > 1:
            assert c0 - a >= min(room // 8, c0) and b - c1 >= min(room // 8, n - c1)


def test_scores_match_masking_the_model_directly(tiny_backend):
    text = "def f(x):\n    return x + 1\n"
    result = score(text, tiny_backend, passes=3)
    ids = torch.tensor(tiny_backend.encode(text))
    for t in result.tokens:
        group = torch.arange(t.index % 3, len(ids), 3)
        probe = ids.clone()
        probe[group] = tiny_backend.mask_id
        offset = 1 if tiny_backend.layout.begin is not None else 0
        canvas = torch.cat([torch.tensor([tiny_backend.layout.begin]), probe]) if offset else probe
        probs = tiny_backend.logits(canvas[None])[0, t.index + offset].softmax(-1)
        assert t.probability == pytest.approx(float(probs[ids[t.index]]), rel=1e-4, abs=1e-7)


def test_a_selection_and_its_junctions(bundled):
    start = CODE.index("math.pi * radius **")
    end = start + len("math.pi")
    inside = score(CODE, bundled, start, end)
    assert [t.text for t in inside.tokens] == [" math", ".", "pi"] or "".join(t.text for t in inside.tokens).strip() == "math.pi"
    assert all(t.start < end and t.end > start for t in inside.tokens)
    wider = score(CODE, bundled, start, end, extend=2)
    assert len(wider.tokens) == len(inside.tokens) + 4
    with pytest.raises(BadHole, match="outside the document"):
        score(CODE, bundled, 5, len(CODE) + 1)


WORDS = '''import os


def read_lines(path):
    """Return the lines of the file at path."""
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def count_words(text):
    words = text.split()
    return len(words)
'''


def test_a_planted_wrong_token_is_among_the_least_likely(bundled):
    """The bundled model reads ``return len(words return`` and finds the second ``return`` out of place."""
    planted = WORDS.replace("return len(words)", "return len(words return")
    at = planted.index(" return", planted.index("len(words"))
    result = score(planted, bundled)
    order = sorted(result.tokens, key=lambda t: t.probability)
    rank = next(i for i, t in enumerate(order) if t.start == at) + 1
    assert len(result.tokens) >= 60 and rank <= 3, [(t.text, t.probability) for t in order[:rank]]
    clean = score(WORDS, bundled)
    closing = next(t for t in clean.tokens if t.start == at)  # the ")" that was replaced
    ours = next(t for t in result.tokens if t.start == at)
    assert closing.text == ")" and ours.text == " return"
    assert closing.probability > 100 * ours.probability


def test_marked_tokens_become_holes_that_fill(bundled):
    planted = CODE.replace("return 2 * math.pi", "return 2 while math.pi")
    result = score(planted, bundled)
    holes = result.holes(threshold=1e-3)
    assert holes and all(h.start < h.end for h in holes)
    marked = result.below(1e-3)
    assert sum(h.length for h in holes) == len(marked)
    assert all(any(h.start <= t.start and t.end <= h.end for h in holes) for t in marked)
    filled = fill(planted, holes, bundled, SamplerParams(steps=4)).run()
    assert len(filled.holes) == len(holes)


def test_touching_marks_merge_into_one_hole():
    backend = MockBackend()
    result = score("abcdef", backend)
    tokens = [result.tokens[i] for i in (1, 2, 4)]
    assert holes_for(tokens) == [Hole(1, 3, length=2), Hole(4, 5, length=1)]


def test_a_shifted_family_scores_every_token_from_the_row_before(tmp_path, reference_kernels):
    dream = NativeBackend.load(make_dream(tmp_path / "dream"), device="cpu")
    text = "import os\nprint(os.sep)\n"
    result = score(text, dream)
    assert [t.index for t in result.tokens] == list(range(len(dream.encode(text))))  # BOS makes row 0 readable
    assert all(0.0 <= t.probability <= 1.0 for t in result.tokens)


def test_block_diffusion_scores_never_see_later_blocks(tmp_path, reference_kernels):
    sdar = NativeBackend.load(make_sdar(tmp_path / "sdar", block_size=4), device="cpu")
    a = score("one two three four five six seven eight nine ten", sdar)
    b = score("one two three four five six seven eight eleven twelve", sdar)
    first_block = [t for t in a.tokens if t.index < 3]
    assert first_block and [t.probability for t in first_block] == pytest.approx(
        [t.probability for t in b.tokens if t.index < 3], abs=1e-6)


def test_the_service_scores_while_holding_the_model():
    from canvasedit.engine.service import EngineService

    service = EngineService(backend=MockBackend())
    result = service.score("abcdef", 1, 3, passes=2)
    assert [t.text for t in result.tokens] == ["b", "c"] and result.passes == 2
    assert service.wait_idle(timeout=0)  # the model is free again
