"""The denoising loop and the fill API, on a mock backend with controlled logits."""

import pytest
import torch

from canvasedit.engine import BadHole, Hole, SamplerParams, Schedule, fill
from canvasedit.engine.sampling import Remasking
from canvasedit.engine.view import passes
from tests.engine.mock import MockBackend

TEXT = "x = 1\ny = 2\n"


def backend_with_targets(word: str, start: int, strengths: list[float] | None = None) -> MockBackend:
    b = MockBackend()
    for i, c in enumerate(word):
        b.targets[start + i] = b.index[c]
        b.strength[start + i] = strengths[i] if strengths else 2.0 + i
    return b


def test_every_masked_position_ends_committed_and_text_is_spliced():
    b = backend_with_targets("hello", len("x = "))
    run = fill(TEXT, [Hole(4, 5, length=5)], b, SamplerParams(steps=5))
    events = list(passes(run))
    assert run.result is not None
    assert run.result.text == "x = hello\ny = 2\n"
    assert [len(e.committed) for e in events] == [1, 1, 1, 1, 1]
    assert "░" not in events[-1].holes[0] and events[0].holes[0].count("░") == 4
    hole = run.result.holes[0]
    assert (hole.start, hole.end, hole.text) == (4, 9, "hello")


def test_schedule_counts_per_step_follow_llada():
    b = backend_with_targets("abcdefghij", 4)
    run = fill(TEXT, [Hole(4, 5, length=10)], b, SamplerParams(steps=4))
    assert [len(e.committed) for e in run] == [3, 3, 2, 2]
    assert run.result.nfe == 4


def test_timestep_schedule_counts_follow_dream():
    b = backend_with_targets("abcdefghijklmnop", 4)
    run = fill(TEXT, [Hole(4, 5, length=16)], b, SamplerParams(steps=8, schedule=Schedule.TIMESTEP))
    assert [len(e.committed) for e in run] == [1, 2, 2, 2, 2, 2, 2, 3]


def test_most_confident_positions_commit_first():
    b = backend_with_targets("abcd", 4, strengths=[1.0, 5.0, 3.0, 4.0])
    run = fill(TEXT, [Hole(4, 5, length=4)], b, SamplerParams(steps=4))
    order = [e.committed[0].offset for e in run]
    assert order == [1, 3, 2, 0]


def test_threshold_commits_every_confident_position():
    b = backend_with_targets("abcdefgh", 4, strengths=[9, 9, 9, 9, 9, 9, 0.5, 0.5])
    run = fill(TEXT, [Hole(4, 5, length=8)], b, SamplerParams(steps=8, threshold=0.2))
    counts = [len(e.committed) for e in run]
    assert counts[0] >= 6 and sum(counts) == 8 and len(counts) < 8


def test_with_a_threshold_the_total_shown_shrinks_to_the_steps_that_can_still_run():
    b = backend_with_targets("abcdefgh", 4, strengths=[9, 9, 9, 9, 9, 9, 0.5, 0.5])
    events = list(fill(TEXT, [Hole(4, 5, length=8)], b, SamplerParams(steps=8, threshold=0.2)))
    totals = [e.total_steps for e in events]
    assert totals[0] < 8  # after the first step's six commits, at most two masks and two steps are left
    assert totals == sorted(totals, reverse=True) and all(e.step <= e.total_steps for e in events)
    assert totals[-1] == events[-1].step == len(events)  # it ends where the fill really ended
    plain = list(fill(TEXT, [Hole(4, 5, length=8)], backend_with_targets("abcdefgh", 4), SamplerParams(steps=8)))
    assert {e.total_steps for e in plain} == {8} and len(plain) == 8  # without a threshold it was true already


def test_blocks_fill_left_to_right():
    b = backend_with_targets("abcdefgh", 4, strengths=[1, 1, 1, 1, 9, 9, 9, 9])
    run = fill(TEXT, [Hole(4, 5, length=8)], b, SamplerParams(steps=8, block_length=4))
    offsets = [c.offset for e in run for c in e.committed]
    assert offsets[:4] == sorted(offsets[:4]) or set(offsets[:4]) == {0, 1, 2, 3}
    assert set(offsets[:4]) == {0, 1, 2, 3} and set(offsets[4:]) == {4, 5, 6, 7}


def test_several_holes_are_denoised_jointly_in_one_canvas():
    b = MockBackend()
    run = fill(TEXT, [Hole(0, 1, length=3), Hole(10, 11, length=3)], b, SamplerParams(steps=3))
    events = list(passes(run))
    assert len(b.calls) == 3  # one forward per step covers both holes
    assert all(len(e.holes) == 2 for e in events)
    assert {c.hole for e in events for c in e.committed} == {0, 1}
    assert all((call == b.mask_id).sum() > 0 for call in b.calls)


def test_end_tokens_inside_a_hole_are_trimmed():
    b = MockBackend()
    for pos in range(4, 10):
        b.targets[pos] = 0 if pos >= 7 else b.index["z"]
    run = fill(TEXT, [Hole(4, 5, length=6)], b, SamplerParams(steps=6))
    assert run.run().holes[0].text == "zzz"


def test_determinism_at_temperature_zero_and_with_a_seed():
    def text(params):
        b = MockBackend()
        return fill(TEXT, [Hole(4, 5, length=6)], b, params).run().text

    assert text(SamplerParams(steps=3)) == text(SamplerParams(steps=3))
    hot = SamplerParams(steps=3, temperature=5.0, algorithm=Remasking.RANDOM, seed=11)
    assert text(hot) == text(hot)


def test_revision_remasks_tokens_that_lost_confidence():
    b = backend_with_targets("abcd", 4, strengths=[6, 5, 4, 3])
    run = fill(TEXT, [Hole(4, 5, length=4)], b, SamplerParams(steps=4, revise_below=0.5, max_revisions=1))
    # After its first step, position 0's token "a" is no longer the mock's favourite: revision masks it.
    b.targets[4] = b.index["q"]
    events = list(run)
    assert any(e.remasked for e in events)
    assert run.result.holes[0].text.startswith("q") and len(run.result.holes[0].tokens) == 4


def test_cancel_stops_between_steps_and_leaves_no_result():
    b = MockBackend()
    run = fill(TEXT, [Hole(4, 5, length=8)], b, SamplerParams(steps=8))
    for event in run:
        run.cancel()
    assert run.cancelled and run.result is None and len(b.calls) == 1


def test_closing_the_stream_is_a_cancel():
    run = fill(TEXT, [Hole(4, 5, length=8)], MockBackend(), SamplerParams(steps=8))
    stream = iter(run)
    next(stream)
    stream.close()
    assert run.cancelled and run.result is None


def test_partial_revision_keeps_most_tokens():
    b = MockBackend()
    for pos in range(12):
        b.targets[pos] = b.encode(TEXT)[pos]  # the model likes the text as it is...
        b.strength[pos] = 5.0
    b.targets[2] = b.index["!"] if "!" in b.index else b.index["q"]  # ...except at "=" of line 1
    run = fill(TEXT, [Hole(0, 5, revise=0.2)], b, SamplerParams(steps=2))
    result = run.run()
    assert result.text.endswith("\ny = 2\n") and result.text[:5] == "x q 1"
    assert result.nfe == 4 + 1  # scoring passes, then one step


def test_bad_holes_raise_at_once():
    b = MockBackend()
    with pytest.raises(BadHole):
        fill(TEXT, [Hole(3, 40)], b)
    with pytest.raises(BadHole):
        fill(TEXT, [Hole(0, 4), Hole(2, 6)], b)
    with pytest.raises(BadHole):
        fill(TEXT, [Hole(2, 2, length=0)], b)
    with pytest.raises(BadHole):
        fill(TEXT, [], b)


def test_generator_is_seeded_per_call():
    b = MockBackend()
    p = SamplerParams(steps=4, temperature=1.0, seed=1)
    r1 = fill(TEXT, [Hole(4, 5, length=8)], b, p).run().text
    torch.manual_seed(999)  # global RNG state must not matter
    r2 = fill(TEXT, [Hole(4, 5, length=8)], b, p).run().text
    assert r1 == r2


class BannedMassBackend(MockBackend):
    """Two masked positions whose order flips if banned rows are dropped before the softmax."""

    def __init__(self, first: int) -> None:
        super().__init__()
        self.first = first
        self.banned[[self.index["y"], self.index["z"]]] = True

    def logits(self, ids, rows=None):
        out = super().logits(ids, rows)
        rows = torch.arange(ids.shape[1]) if rows is None else rows
        a, b, y, z = (self.index[c] for c in "abyz")
        for r, pos in enumerate(rows.tolist()):
            out[:, r] = -9.0
            if pos == self.first:  # most mass on allowed tokens
                out[:, r, [a, b, y]] = torch.tensor([3.0, 2.0, 0.0])
            else:  # more mass on a banned token: its full-softmax confidence is lower
                out[:, r, [a, b, z]] = torch.tensor([3.0, 1.0, 2.2])
        return out


def test_confidence_is_normalised_over_banned_rows_too():
    b = BannedMassBackend(first=5)
    run = fill(TEXT, [Hole(4, 4, length=2)], b, SamplerParams(steps=2))
    events = list(run)
    # Over the full softmax position 5 (p = 0.705) beats position 4 (p = 0.631); renormalised without
    # the banned rows the order would be the other way round (0.731 vs 0.881).
    assert [c.offset for c in events[0].committed] == [1]
    assert events[0].committed[0].confidence == pytest.approx(0.7054, abs=1e-3)
    assert run.result.holes[0].text == "aa"


def test_banned_tokens_are_never_chosen_even_when_most_likely():
    b = MockBackend()
    b.targets = {4: b.index["q"], 5: b.index["r"]}
    b.strength = {4: 9.0, 5: 9.0}
    b.banned[b.index["q"]] = True
    for params in (SamplerParams(steps=2), SamplerParams(steps=2, temperature=1.0, top_k=3)):
        run = fill(TEXT, [Hole(4, 4, length=2)], b, params)
        committed = {c.offset: c.token for e in run for c in e.committed}
        assert committed[0] != b.index["q"] and committed[1] == b.index["r"]


def test_end_tokens_are_dropped_and_an_end_of_turn_closes_the_hole():
    b = backend_with_targets("abXcd", 4)
    b.targets[6] = b.index["<end>"]
    run = fill(TEXT, [Hole(4, 4, length=5)], b, SamplerParams(steps=5))
    events = list(passes(run))
    assert run.result.holes[0].text == "abcd"  # an end / pad token anywhere is dropped
    assert events[-1].holes[0] == "abcd"
    b.end_ids = (b.index["X"],)  # as <|eot_id|> is for LLaDA-Instruct
    b.targets[6] = b.index["X"]
    run = fill(TEXT, [Hole(4, 4, length=5)], b, SamplerParams(steps=5))
    events = list(passes(run))
    assert run.result.holes[0].text == "ab"  # nothing after the end of the turn is written
    assert run.result.text == "x = ab1\ny = 2\n"
    assert events[-1].holes[0] == "ab"


def test_dream_origin_commits_each_mask_by_chance_and_ends_committed():
    b = backend_with_targets("abcdefghijkl", 4)

    def counts(seed):
        params = SamplerParams(steps=6, schedule=Schedule.TIMESTEP, algorithm=Remasking.ORIGIN, seed=seed)
        run = fill(TEXT, [Hole(4, 4, length=12)], b, params)
        out = [len(e.committed) for e in run]
        assert run.result.holes[0].text == "abcdefghijkl"  # every mask ends committed
        return out

    first = counts(5)
    assert sum(first) == 12 and counts(5) == first  # reproducible at a seed
    assert len({tuple(counts(seed)) for seed in range(6)}) > 1  # the count per step is drawn, not scheduled


def test_alg_temp_draws_positions_instead_of_ranking_them():
    b = backend_with_targets("abcdefghij", 4, [2.0 + i for i in range(10)])

    def order(**kw):
        run = fill(TEXT, [Hole(4, 4, length=10)], b, SamplerParams(steps=10, **kw))
        out = tuple(c.offset for e in run for c in e.committed)
        assert run.result.holes[0].text == "abcdefghij"
        return out

    assert order() == tuple(range(9, -1, -1))  # top-k: strongest first
    drawn = {order(alg_temp=5.0, seed=seed) for seed in range(6)}
    assert len(drawn) > 1  # positions are sampled
    assert order(alg_temp=5.0, seed=3) == order(alg_temp=5.0, seed=3)
