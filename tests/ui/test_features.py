"""The editor's diffusion features driven by their keys: revise with an instruction, the suspicion heatmap,
fill again longer / shorter, the length-search setting, and outlines expanded as one pending change."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from textual.widgets import Input

from canvasedit.config import EditorSettings, Settings
from canvasedit.engine.score import TokenScore
from canvasedit.models.catalog import bundled_path
from canvasedit.ui.holes import MARKED, PENDING, HoleMark
from canvasedit.ui.screens.editor_features import again_longer, again_shorter, score_chunks
from canvasedit.ui.screens.prompt import PromptScreen
from canvasedit.ui.widgets.heatmap import MARKED_STYLE, Heatmap, touched
from tests.tiny import make_llada_real_layout
from tests.ui.conftest import SAMPLE, PacedBackend, ScriptedBackend, wait_until

HEADER_ID = 126346
"""``<|start_header_id|>`` of the LLaDA-8B-Instruct chat template: in the canvas only when the template built it."""


@pytest.fixture(scope="module")
def bundled_backend():
    from canvasedit.engine.backends.native import NativeBackend

    return NativeBackend.load(bundled_path(), device="cpu")


@pytest.fixture(scope="module")
def instruct_backend(tmp_path_factory):
    from canvasedit.engine.backends.native import NativeBackend

    return NativeBackend.load(make_llada_real_layout(tmp_path_factory.mktemp("instruct") / "model"), device="cpu")


class RecordingBackend(PacedBackend):
    """Remembers every canvas a fill opened a session on."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.canvases: list[list[int]] = []

    def open_session(self, ids, params=None, window=None):
        self.canvases.append(ids.flatten().tolist())
        return self._inner.open_session(ids, params, window)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


# -- lengths -------------------------------------------------------------------------------------------------


def test_again_lengths_move_by_half_and_by_one_token_at_least() -> None:
    assert [again_longer(n) for n in (1, 2, 8, 24)] == [2, 3, 12, 36]
    assert [again_shorter(n) for n in (1, 2, 3, 12, 36)] == [1, 1, 2, 8, 24]


def test_score_chunks_cover_the_range_at_line_ends() -> None:
    text = "".join(f"line {i}\n" for i in range(400))
    chunks = score_chunks(text, 5, len(text) - 3, size=500)
    assert chunks[0][0] == 5 and chunks[-1][1] == len(text) - 3
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(chunks))  # no gap, no overlap
    assert all(text[b - 1] == "\n" for _, b in chunks[:-1]) and len(chunks) > 3


# -- instructions ---------------------------------------------------------------------------------------------


async def test_instruct_rewrites_the_selection_as_a_pending_result_and_fills_again_with_the_instruction(
    make_app, sample_path: Path, instruct_backend
) -> None:
    backend = RecordingBackend(instruct_backend)
    app = make_app(sample_path, backend=backend, steps=4)
    start = SAMPLE.index("    result = width * height")
    end = start + len("    result = width * height")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        canvas.select_offsets(start, end)
        await pilot.press("alt+i")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), what="the instruction prompt")
        app.screen.query_one(Input).value = "add type hints"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the instruction's answer")
        assert HEADER_ID in backend.canvases[0]  # the prompt came from the model's chat template
        assert "add type hints" in instruct_backend.decode(backend.canvases[0])
        assert "result = width * height" in instruct_backend.decode(backend.canvases[0])  # the selection, in the prompt
        [slot] = canvas.holes.in_state(PENDING)
        assert slot.start == start and canvas.text[: start] == SAMPLE[:start]
        assert canvas.text[slot.end :] == SAMPLE[end:]  # only the selection was replaced
        assert screen.pending is not None and screen.pending.trace  # passes were streamed
        await pilot.press("tab")
        await pilot.press("ctrl+z")  # one undo step takes it back and marks the selection again
        assert canvas.text == SAMPLE
        [again] = canvas.holes.in_state(MARKED)
        canvas.move_cursor(canvas.location_of(again.start))
        asked = len(backend.canvases)
        await pilot.press("ctrl+r")  # filled again: the same instruction, not a plain fill
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the second answer")
        assert HEADER_ID in backend.canvases[asked]
        await pilot.press("escape")
        assert canvas.text == SAMPLE


async def test_instruct_on_a_model_without_a_chat_template_says_which_models_can(make_app, sample_path: Path) -> None:
    app = make_app(sample_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("alt+i")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        [message] = [m for m in notes(app) if "chat template" in m]
        assert "instruct models can (" in message and "\n" not in message


# -- the heatmap ----------------------------------------------------------------------------------------------

PLANTED = SAMPLE.replace("    return result", "    return while")
PLANT_AT = PLANTED.index("    return while") + len("    return")  # " while" is one token, its space included


async def heatmap_of(make_app, path: Path, text: str, backend):
    path.write_text(text, encoding="utf-8")
    settings = Settings(editor=EditorSettings(suspicion_threshold=1e-4))
    app = make_app(path, backend=PacedBackend(backend), settings=settings)
    return app


async def test_the_heatmap_marks_a_planted_token_over_the_text_and_makes_it_a_hole(
    make_app, tmp_path: Path, bundled_backend
) -> None:
    clean = await heatmap_of(make_app, tmp_path / "clean.py", SAMPLE, bundled_backend)
    async with clean.run_test(size=(100, 30)) as pilot:
        screen = clean.screen
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: screen.heatmap is not None, what="the clean document's scores")
        here = SAMPLE.index("    return result") + len("    return")
        assert not [t for t in screen.heatmap.marked if t.start < here + 7 and t.end > here]  # " result" is fine

    app = await heatmap_of(make_app, tmp_path / "planted.py", PLANTED, bundled_backend)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: screen.heatmap is not None, what="the planted document's scores")
        marked = [t for t in screen.heatmap.marked if t.start == PLANT_AT]
        assert [t.text for t in marked] == [" while"]
        assert canvas.text == PLANTED  # an overlay: nothing written
        row, col = canvas.location_of(PLANT_AT)
        line = canvas.get_line(row)
        assert any(span.style == MARKED_STYLE and span.start <= col and span.end >= col + 6 for span in line.spans)
        assert "heatmap:" in screen.status.part("progress")
        await pilot.press("alt+m")
        assert screen.heatmap is None
        assert not any(span.style == MARKED_STYLE for span in canvas.get_line(row).spans)  # the shading is gone
        holes = [s for s in canvas.holes.in_state(MARKED) if s.start == PLANT_AT]
        assert [(s.end, s.mark.length) for s in holes] == [(PLANT_AT + len(" while"), 1)]
        assert all(any(s.start <= t.start and t.end <= s.end for s in canvas.holes.slots) for t in marked)


async def test_escape_stops_the_scoring_and_clears_the_heatmap(make_app, tmp_path: Path, bundled_backend) -> None:
    long_text = SAMPLE * 12  # several chunks
    path = tmp_path / "long.py"
    path.write_text(long_text, encoding="utf-8")
    slow = PacedBackend(bundled_backend, delay=0.4)
    app = make_app(path, backend=slow)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: slow.calls >= 1, what="the first scoring pass")
        await pilot.press("escape")
        assert "scoring stopped" in screen.status.part("progress")
        calls = slow.calls
        await pilot.pause(1.5)
        assert screen.heatmap is None
        assert slow.calls - calls <= 4  # at most the rest of the chunk that was running

        slow.delay = 0.0
        canvas = screen.canvas
        canvas.select_offsets(0, len(SAMPLE))
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: screen.heatmap is not None, what="the selection's scores")
        assert max(t.end for t in screen.heatmap.tokens) <= len(SAMPLE) + 1  # only the selection was scored
        await pilot.press("escape")
        assert screen.heatmap is None and canvas.text == long_text  # Esc cleared it, the text is untouched


def scored(start: int, end: int, p: float = 0.0) -> TokenScore:
    return TokenScore(0, start, end, 1, "t", p, 2, "b", 0.5)


def test_an_edit_moves_the_scores_after_it_and_drops_the_ones_it_touched() -> None:
    tokens = [scored(0, 3), scored(3, 7), scored(7, 8), scored(8, 12), scored(12, 15)]
    heat = Heatmap(tokens, 0.01, lambda offset: (0, offset))
    typed = heat.carried(5, 5, 6, lambda offset: (0, offset))  # a character typed inside 3-7
    assert [(t.start, t.end) for t in typed.tokens] == [(0, 3), (8, 9), (9, 13), (13, 16)]
    at_edge = heat.carried(7, 7, 9, lambda offset: (0, offset))  # typed where 3-7 meets 7-8: both touched
    assert [(t.start, t.end) for t in at_edge.tokens] == [(0, 3), (10, 14), (14, 17)]
    cut = heat.carried(4, 9, 4, lambda offset: (0, offset))  # 4-9 deleted: 3-7, 7-8 and 8-12 touched
    assert [(t.start, t.end) for t in cut.tokens] == [(0, 3), (7, 10)]
    assert not touched(scored(0, 3), 4, 4) and touched(scored(0, 3), 3, 3) and touched(scored(5, 9), 0, 6)


async def test_an_edit_keeps_the_heatmap_moving_the_marks_after_it_and_dropping_the_touched_token(
    make_app, tmp_path: Path, bundled_backend
) -> None:
    path = tmp_path / "planted.py"
    path.write_text(PLANTED, encoding="utf-8")
    # At p < 0.06 the bundled model marks " return" (p ≈ 0.057) and the planted " while" after it, among others.
    settings = Settings(editor=EditorSettings(suspicion_threshold=0.06))
    app = make_app(path, backend=PacedBackend(bundled_backend), settings=settings)
    returned = PLANT_AT - len(" return")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: screen.heatmap is not None, what="the planted document's scores")
        before = screen.heatmap
        assert [t.text for t in before.marked if t.start in (returned, PLANT_AT)] == [" return", " while"]
        canvas.move_cursor(canvas.location_of(returned + 3))  # " re|turn"
        await pilot.press("x")
        await pilot.pause()
        heat = screen.heatmap
        assert heat is not None and canvas.text == PLANTED[: returned + 3] + "x" + PLANTED[returned + 3 :]
        assert [t.text for t in heat.marked if t.text == " while"] == [" while"]
        [moved] = [t for t in heat.marked if t.text == " while"]
        assert (moved.start, moved.end) == (PLANT_AT + 1, PLANT_AT + 1 + len(" while"))
        assert not [t for t in heat.tokens if t.start < returned + 4 and t.end > returned]  # " return": no score now
        assert len(heat.tokens) == len(before.tokens) - 1  # only the touched token lost its score
        assert [t for t in heat.tokens if t.end <= returned] == [t for t in before.tokens if t.end <= returned]
        row, col = canvas.location_of(moved.start)
        line = canvas.get_line(row)  # the shading is drawn over the token where it is now
        assert any(span.style == MARKED_STYLE and span.start <= col and span.end >= col + 6 for span in line.spans)
        rcol = canvas.location_of(returned)[1]
        assert not any(span.style == MARKED_STYLE and span.start < rcol + 8 and span.end > rcol for span in line.spans)


# -- hole lengths after a fill --------------------------------------------------------------------------------


async def test_fill_again_longer_then_shorter_regenerates_the_result_with_its_length_times_one_and_a_half(
    make_app, sample_path: Path
) -> None:
    at = SAMPLE.index("def area")
    app = make_app(sample_path, backend=ScriptedBackend(["# a note\n"]), steps=8)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        canvas.add_hole(HoleMark(at, at, length=8))
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        canvas.move_cursor(canvas.location_of(at))
        await pilot.pause()
        assert "8 tok of ⟨8⟩" in screen.status.part("position")  # what it wrote, what it was given
        await pilot.press("alt+l")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the longer fill")
        [slot] = canvas.holes.in_state(PENDING)
        assert slot.proposal.mark.length == 12 and screen.attempt == 1
        assert canvas.text.count("# a note") == 1  # the first result was replaced, not added to
        canvas.move_cursor(canvas.location_of(slot.start))
        await pilot.press("alt+k")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the shorter fill")
        [slot] = canvas.holes.in_state(PENDING)
        assert slot.proposal.mark.length == 8
        await pilot.press("escape")
        assert canvas.text == SAMPLE


async def test_the_length_search_setting_shows_the_chosen_length_and_score(make_app, sample_path: Path) -> None:
    at = SAMPLE.index("def area")
    settings = Settings(sampler={"steps": 4}, editor=EditorSettings(length_search=True))
    app = make_app(sample_path, settings=settings)
    async with app.run_test(size=(160, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        canvas.add_hole(HoleMark(at, at, length=8))
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the length search")
        await pilot.pause()
        progress = screen.status.part("progress")
        assert "length search kept ⟨" in progress and "of 6 candidates (asked ⟨8⟩) · score -" in progress
        await pilot.press("escape")
        assert canvas.text == SAMPLE


# -- outlines -------------------------------------------------------------------------------------------------

OUTLINE = "# Plan\n\n- buy milk\n- write code\n"


async def test_the_outline_is_one_pending_change_accepted_or_rejected_per_body(make_app, tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text(OUTLINE, encoding="utf-8")
    app = make_app(path, backend=ScriptedBackend(["Milk from the shop.", "Tests first."]), steps=24)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await pilot.press("alt+o")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the outline's bodies")
        assert canvas.text == "# Plan\n\n- buy milk\n\n  Milk from the shop.\n- write code\n\n  Tests first.\n"
        first, second = canvas.holes.in_state(PENDING)
        assert first.proposal.fill_id == second.proposal.fill_id  # one fill, one change
        canvas.move_cursor(canvas.location_of(first.start))
        await pilot.press("alt+a")
        canvas.move_cursor(canvas.location_of(canvas.holes.in_state(PENDING)[0].start))
        await pilot.press("alt+r")
        assert canvas.text == "# Plan\n\n- buy milk\n\n  Milk from the shop.\n- write code\n"


async def test_an_outline_in_the_selection_only_and_none_found_says_so(make_app, tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text(OUTLINE, encoding="utf-8")
    app = make_app(path, backend=ScriptedBackend(["Tests first."]), steps=16)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        second = OUTLINE.index("- write code")
        canvas.select_offsets(second, len(OUTLINE))
        await pilot.press("alt+o")
        await wait_until(pilot, lambda: screen.fill_state == "pending")
        await pilot.press("tab")
        assert canvas.text == OUTLINE.replace("- write code\n", "- write code\n\n  Tests first.\n")
        canvas.select_offsets(0, len("# Plan"))
        await pilot.press("alt+o")
        await pilot.pause()
        assert screen.fill_state == "idle"
        assert any(m.startswith("nothing to expand") and m.endswith("in the selection") for m in notes(app))
