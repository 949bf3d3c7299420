"""Variable-length holes (DreamOn): a committed ``<|expand|>`` becomes two masks, a committed end token
is deleted, so a hole grows or shrinks while it is denoised — against DreamOn's own generator.

``dreamon_generate`` restates the hub ``generation_utils.py`` of Dream-org/DreamOn-v0-7B at
temperature 0 with ``alg="entropy"`` and ``number_transfer_tokens=1``: canvas
``[bos] prefix masks suffix [eos]``; each step one forward pass, logits shifted, the most certain
masked position (Σ p·log(p + 1e-10)) takes its argmax; then every end token committed this step is
deleted and every ``<|expand|>`` becomes two masks (right to left), while the budget lasts.
"""

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.view import passes
from tests.engine.mock import MockBackend
from tests.families import make_dream

EXPAND, EOS, MASK = 151667, 151643, 151666


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def dreamon(tmp_path_factory):
    backend = NativeBackend.load(make_dream(tmp_path_factory.mktemp("dreamon") / "model", "dreamon"), device="cpu")
    with torch.no_grad():  # make expanding and deleting likely enough to happen in a short fill
        backend.model.lm_head.weight[EXPAND] *= 20
        backend.model.lm_head.weight[EOS] *= 12
    return backend


def test_dreamon_is_recognised_with_its_recipe_and_layout(dreamon):
    assert dreamon.expand_id == EXPAND and not dreamon.banned[EXPAND]
    assert dreamon.layout.begin == EOS and dreamon.layout.finish == EOS  # [bos] … [eos]; bos = eos in Dream-v0
    assert dreamon.recipe["algorithm"] == "entropy" and dreamon.recipe["steps"] >= 1000


@torch.no_grad()
def dreamon_generate(model, canvas: torch.Tensor, budget: int):
    x = canvas.clone()[None]
    history = []
    while (x == MASK).any():
        mask_index = x == MASK
        logits = model(x)
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)[mask_index]
        if budget == 0:
            logits[:, EXPAND] -= 1e9
        probs = logits.softmax(-1)
        x0 = probs.argmax(-1)
        confidence = (probs * torch.log(probs + 1e-10)).sum(-1)
        pick = int(confidence.argmax())
        pos = int(mask_index[0].nonzero().flatten()[pick])
        x[0, pos] = x0[pick]
        edit = []
        if int(x[0, pos]) == EOS:
            x = torch.cat([x[:, :pos], x[:, pos + 1 :]], dim=1)
            edit = [(pos, -1)]
        elif int(x[0, pos]) == EXPAND and budget > 0:
            x = torch.cat([x[:, :pos], torch.tensor([[MASK, MASK]]), x[:, pos + 1 :]], dim=1)
            budget -= 1
            edit = [(pos, +1)]
        history.append((pos, edit))
    return x[0], history


@pytest.mark.parametrize("text, at, length", [("def add(a, b):\n    return a + b\n", 19, 4),
                                               ("import os\n\n\nclass Point:\n    pass\n", 11, 5)])
def test_fill_equals_dreamon_generation(dreamon, text, at, length):
    params = SamplerParams.layered(dreamon.recipe, {"expand_budget": 8})
    run = fill(text, [Hole(at, at, length)], dreamon, params)
    events = list(run)
    assert run.canvas.ids[0] == EOS and run.canvas.ids[-1] == EOS
    canvas, history = dreamon_generate(dreamon.model, run.canvas.ids, 8)
    start = run.canvas.spans[0].start
    ours = [(start + e.committed[0].offset, [(start + o, d) for _, o, d in e.resized]) for e in events]
    assert ours == history
    assert all(len(e.committed) == 1 for e in events)
    tail = len(canvas) - (len(run.canvas.ids) - run.canvas.spans[0].stop)
    want = [t for t in canvas[start:tail].tolist() if t != EOS]
    assert list(run.result.holes[0].tokens) == want
    assert run.result.text.startswith(text[:at]) and run.result.text.endswith(text[at:])


def test_some_fill_both_grows_and_shrinks(dreamon):
    text = "def add(a, b):\n    return a + b\n"
    run = fill(text, [Hole(19, 19, 4)], dreamon, SamplerParams.layered(dreamon.recipe, {"expand_budget": 8}))
    edits = [d for e in run for _, _, d in e.resized]
    assert +1 in edits and -1 in edits, "the fixture should make DreamOn both expand and delete"
    assert len(run.result.holes[0].tokens) == 4 + edits.count(+1) - edits.count(-1)


class GrowingMock(MockBackend):
    """``X`` is the expand token; ``table[pos]`` gives each canvas position's logits as {character: value}."""

    def __init__(self, table):
        super().__init__()
        self.expand_id = self.index["X"]
        self.table = table

    def logits(self, ids, rows=None):
        rows = torch.arange(ids.shape[1]) if rows is None else rows
        out = torch.full((ids.shape[0], len(rows), len(self.index)), -5.0)
        for r, pos in enumerate(rows.tolist()):
            for char, value in self.table.get(pos, {"a": 1.0}).items():
                out[:, r, self.index[char]] = value
        return out


def test_grown_hole_keeps_its_events_and_offsets_consistent():
    # canvas "ab" + a 2-token hole (positions 2, 3) + "cd"; the hole grows once, then loses an end token.
    b = GrowingMock({2: {"X": 9.0, "<end>": 3.0}, 3: {"y": 2.0}, 4: {"z": 8.0}})
    run = fill("abcd", [Hole(2, 2, 2)], b, SamplerParams(steps=1000, expand_budget=1))
    events = list(passes(run))
    assert events[0].committed[0].offset == 0 and events[0].resized == ((0, 0, +1),)  # X at offset 0 → 2 masks
    assert events[0].holes[0] == "░░░"  # the hole is 3 long now
    assert events[1].committed[0].offset == 2 and events[1].holes[0] == "░░z"
    # With the budget spent X is banned, so position 2 takes its next best, the end token, which is deleted.
    last = events[-1]
    assert last.committed[0].text == "" and last.resized == ((0, 0, -1),)
    assert last.holes[0] == "yz" and run.result.text == "abyzcd"
    hole = run.result.holes[0]
    assert run.result.text[hole.start : hole.end] == "yz" and len(hole.tokens) == 2
