"""Length search: candidates around the requested length plus a free longer budget, denoised in lockstep
as one batch per step, each finished document scored in place; the best one is kept. DreamOn's
growing and shrinking holes work inside every candidate."""

import threading

import pytest
import torch

from canvasedit.engine import BadHole, Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.errors import NonFiniteLogits
from canvasedit.engine.lengths import JUNCTION_TOKENS, budget_length, candidate_lengths, search_lengths
from canvasedit.engine.score import score
from tests.engine.mock import MockBackend
from tests.families import make_dream

pytestmark = pytest.mark.usefixtures("reference_kernels")

TEXT = "abc  xyz"
AT = 4  # an insertion between the two spaces


def test_candidate_lengths_and_the_budget():
    assert candidate_lengths(8) == [4, 6, 8, 10, 12]
    assert budget_length(8, candidate_lengths(8)) == 16
    assert candidate_lengths(1) == [1, 2] and budget_length(1, [1, 2]) == 3  # always longer than every candidate


def test_every_candidate_has_its_length_and_the_free_one_its_budget():
    backend = MockBackend()
    search = search_lengths(TEXT, [Hole(AT, AT, length=4)], backend, SamplerParams(steps=4))
    assert search.plans == ((2,), (3,), (4,), (5,), (6,), (8,))
    search.run()
    for run, plan in zip(search.runs, search.plans[:-1]):
        span = run.canvas.spans[0]
        assert span.length == plan[0]
        assert run.canvas.ids.shape == search.runs[-1].canvas.ids.shape  # one shape for every candidate
        assert run.canvas.ids[span.stop : span.start + 8].tolist() == [0] * (8 - plan[0])  # pre-filled pads
    assert search.runs[-1].canvas.spans[0].length == 8


def test_fixed_candidates_write_exactly_their_length_the_free_one_may_end_early():
    backend = MockBackend()
    for p in range(AT, AT + 8):
        backend.targets[p] = 0  # the model wants to end the hole at once
        backend.strength[p] = 5.0 + p
    plain = fill(TEXT, [Hole(AT, AT, length=4)], backend, SamplerParams(steps=4)).run()
    assert plain.holes[0].text == ""
    search = search_lengths(TEXT, [Hole(AT, AT, length=4)], backend, SamplerParams(steps=4))
    search.run()
    for c in search.candidates:
        assert len(c.result.holes[0].tokens) == (0 if c.free else c.lengths[0]), c
    assert search.candidates[-1].free and search.candidates[-1].result.holes[0].text == ""


def test_lockstep_batches_the_candidates_and_gives_what_each_would_alone():
    together = MockBackend()
    together.targets = {AT + 1: together.index["q"], AT + 2: together.index["r"]}
    together.strength = {AT + 1: 4.0, AT + 2: 3.0}
    search = search_lengths(TEXT, [Hole(AT, AT, length=6)], together, SamplerParams(steps=6))
    steps = list(search)
    assert {s.candidate for s in steps} == set(range(len(search.plans)))
    assert search.backend_calls == max(run.result.steps for run in search.runs)  # one call per round
    assert search.backend_calls < search.forward_passes
    assert max(call.shape[0] for call in together.calls) == len(search.plans)  # every candidate in one batch
    for k, plan in enumerate(search.plans):
        alone = MockBackend()
        alone.targets, alone.strength = together.targets, together.strength
        one = search_lengths(TEXT, [Hole(AT, AT, length=6)], alone, SamplerParams(steps=6), lockstep=False)
        assert one.plans == search.plans
        one.run()
        denoising = [c for c in alone.calls if c.shape[0] == 1]  # the scoring passes go 4 to a call
        assert one.backend_calls == one.forward_passes == len(denoising)
        assert one.candidates[k].result.text == search.candidates[k].result.text
        assert one.candidates[k].score == pytest.approx(search.candidates[k].score)


def test_the_best_candidate_has_the_highest_score_as_defined(tiny_backend):
    text = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
    at = text.index("a + b")
    search = search_lengths(text, [Hole(at, at + 5, length=4)], tiny_backend, SamplerParams(steps=4))
    result = search.run()
    assert result is search.best.result
    assert search.best.score == max(c.score for c in search.candidates)
    for c in search.candidates:
        hole = c.result.holes[0]
        again = score(c.result.text, tiny_backend, hole.start, hole.end, extend=JUNCTION_TOKENS)
        mean = sum(t.logprob for t in again.tokens) / len(again.tokens)
        assert c.score == pytest.approx(mean, rel=1e-4)
        assert len(again.tokens) == len(tiny_backend.encode(hole.text)) + 2 * JUNCTION_TOKENS or not hole.text
    assert search.scoring_passes > 0


def test_the_free_candidate_is_the_plain_fill_with_the_budget(tiny_backend):
    text = "x = [1, 2, 3]\ny = sum(x)\n"
    at = text.index("sum(x)")
    params = SamplerParams(steps=6)
    search = search_lengths(text, [Hole(at, at + 6, length=4)], tiny_backend, params)
    search.run()
    free = search.candidates[-1]
    plain = fill(text, [Hole(at, at + 6, length=free.lengths[0])], tiny_backend, params).run()
    assert free.result.holes[0].tokens == plain.holes[0].tokens


def test_several_holes_move_together():
    backend = MockBackend()
    text = "ab  cd  ef"
    search = search_lengths(text, [Hole(3, 3, length=4), Hole(7, 7, length=2)], backend, SamplerParams(steps=2))
    assert search.plans[:3] == ((2, 1), (3, 2), (4, 2)) and search.plans[-1] == (8, 4)
    result = search.run()
    assert len(result.holes) == 2
    assert all(len(c.hole_scores) == 2 for c in search.candidates)


@pytest.fixture(scope="module")
def dreamon(tmp_path_factory):
    backend = NativeBackend.load(make_dream(tmp_path_factory.mktemp("dreamon") / "model", "dreamon"), device="cpu")
    with torch.no_grad():  # make expanding and deleting likely, as tests/engine/test_dreamon.py does
        backend.model.lm_head.weight[151667] *= 20
        backend.model.lm_head.weight[151643] *= 12
    return backend


def test_dreamon_holes_grow_and_shrink_inside_every_candidate(dreamon, reference_kernels):
    text = "def add(a, b):\n    return a + b\n"
    params = SamplerParams.layered(dreamon.recipe, {"expand_budget": 8})
    search = search_lengths(text, [Hole(19, 19, 4)], dreamon, params)
    assert all(run.canvas.spans[0].length == plan[0] for run, plan in zip(search.runs, search.plans))  # no pads
    steps = list(search)
    resized = [d for s in steps for _, _, d in s.event.resized]
    assert +1 in resized and -1 in resized
    for c in search.candidates:
        alone = fill(text, [Hole(19, 19, c.lengths[0])], dreamon, params).run()
        assert c.result.holes[0].tokens == alone.holes[0].tokens
    assert len({len(c.result.holes[0].tokens) for c in search.candidates}) > 1


def test_cancelling_stops_every_candidate():
    backend = MockBackend()
    search = search_lengths(TEXT, [Hole(AT, AT, length=8)], backend, SamplerParams(steps=8))
    before = threading.active_count()
    for _ in search:
        search.cancel()
    assert search.result is None and search.cancelled and search.candidates == ()
    assert threading.active_count() == before


def test_an_error_in_one_candidate_reaches_the_caller():
    class Broken(MockBackend):
        def logits(self, ids, rows=None):
            out = super().logits(ids, rows)
            return out.fill_(float("nan"))

    search = search_lengths(TEXT, [Hole(AT, AT, length=4)], Broken(), SamplerParams(steps=4))
    with pytest.raises(NonFiniteLogits):
        search.run()


def test_a_partial_revision_cannot_be_searched():
    with pytest.raises(BadHole, match="length search"):
        search_lengths(TEXT, [Hole(0, 3, revise=0.5)], MockBackend())


def test_the_service_runs_a_length_search_through_a_handle():
    from canvasedit.engine.service import EngineService

    service = EngineService(backend=MockBackend())
    handle = service.search_lengths(TEXT, [Hole(AT, AT, length=4)], {"steps": 4})
    steps = list(handle.events())
    assert {s.candidate for s in steps} == set(range(6))
    assert handle.result is handle.run.best.result and len(handle.run.candidates) == 6
