"""The editor on a remote engine, with real keys: a hole filled by the real ``canvasedit serve`` on the
bundled model, and by a stand-in in the OpenAI streaming shape; the status bar names the engine.

The server tests' fixtures start the engines (``serve_process``: the command in a subprocess), and
the editor reaches them as a user's would, through ``[engine] url`` or ``--engine URL``.
"""

from __future__ import annotations

from pathlib import Path

from canvasedit.config import EngineSettings, Settings
from canvasedit.document import load_document
from canvasedit.engine import Hole
from canvasedit.engine.service import EngineService
from canvasedit.ui.app import CanvasEditApp
from canvasedit.ui.messages import FillStep
from canvasedit.ui.screens.editor import EditorScreen
from tests.engine.openai_standin import MODEL, OpenAIStandIn
from tests.ui.conftest import SAMPLE, wait_until

# "    return result" is row 6 of the sample; the hole goes at its end.
END_OF_RETURN = SAMPLE.index("return result") + len("return result")


def sample(tmp_path: Path) -> Path:
    path = tmp_path / "shapes.py"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


async def fill_at_end_of_return(app: CanvasEditApp, pilot, steps: list[FillStep]) -> EditorScreen:
    screen = app.screen
    assert isinstance(screen, EditorScreen)
    await wait_until(pilot, lambda: screen.backend is not None, what="the remote engine to answer")
    await pilot.press(*["down"] * 6, "end", "ctrl+b", "ctrl+g")
    await wait_until(pilot, lambda: screen.fill_state == "pending", what="the remote fill")
    assert steps and all(s.fill_id == steps[0].fill_id for s in steps)
    return screen


async def test_the_editor_fills_a_hole_through_canvasedit_serve_on_the_bundled_model(serve_process, tmp_path):
    steps: list[FillStep] = []
    settings = Settings(sampler={"steps": 4})
    app = CanvasEditApp(load_document(sample(tmp_path)), settings=settings, engine_url=serve_process.url,
                        cursor_blink=False)
    async with app.run_test(size=(120, 30), message_hook=lambda m: isinstance(m, FillStep) and steps.append(m)) \
            as pilot:
        screen = await fill_at_end_of_return(app, pilot, steps)
        backend = screen.backend
        assert screen.status.part("model") == f"remote: {serve_process.url} · {backend.model_name}"
        assert backend.model_name == "canvasedit-tiny" and screen.canvas.token_counter is None
        result = screen.pending
        # the same fill on the same model here: the server's passes and result are the engine's own
        local = EngineService()
        local.record_measurements = False
        local.load(None, "cpu")
        want = local.fill(SAMPLE, [Hole(END_OF_RETURN, END_OF_RETURN, 32)], params=result.params).wait()
        assert result.text == want.text and screen.canvas.text == want.text
        assert len(screen.passes.trace) == result.steps == want.steps
        assert screen.passes.pass_at(result.steps - 1).holes == (want.holes[0].text,)
        assert steps[-1].event.holes[0] == want.holes[0].text  # the last pass drawn is the result
        await pilot.press("tab")
        assert screen.canvas.committed_text() == want.text


async def test_the_editor_fills_a_hole_through_an_openai_compatible_server(tmp_path):
    steps: list[FillStep] = []
    with OpenAIStandIn(answers=["\n    return 2 * result"]) as standin:
        settings = Settings(sampler={"steps": 4}, engine=EngineSettings(url=standin.url))
        app = CanvasEditApp(load_document(sample(tmp_path)), settings=settings, cursor_blink=False)
        async with app.run_test(size=(120, 30), message_hook=lambda m: isinstance(m, FillStep) and steps.append(m)) \
                as pilot:
            screen = await fill_at_end_of_return(app, pilot, steps)
            assert screen.status.part("model") == f"remote: {standin.url} · {MODEL}"
            want = SAMPLE[:END_OF_RETURN] + "\n    return 2 * result" + SAMPLE[END_OF_RETURN:]
            assert screen.canvas.text == want and screen.canvas.committed_text() == SAMPLE
            # the text arrived in three appended deltas (the canvas may have drawn only the last); the
            # passes panel replays each with the hole's text so far
            assert [screen.passes.pass_at(i).holes[0] for i in range(screen.passes.count)] == \
                ["\n    re", "\n    return 2 ", "\n    return 2 * result"]  # the stand-in's thirds
            assert steps[-1].event.holes[0] == "\n    return 2 * result"
            await pilot.press("escape")  # rejected: the text is as it was
            assert screen.canvas.text == SAMPLE
    request = standin.requests[0]
    assert (request["prompt"], request["suffix"]) == (SAMPLE[:END_OF_RETURN], SAMPLE[END_OF_RETURN:])
    assert request["max_tokens"] == 32 and request["stream"] is True


async def test_the_heatmap_instructions_and_the_length_search_run_on_a_remote_canvasedit_engine(served, tmp_path):
    from textual.widgets import Input

    from canvasedit.config import EditorSettings
    from canvasedit.ui.holes import HoleMark
    from canvasedit.ui.screens.prompt import PromptScreen

    settings = Settings(sampler={"steps": 4}, editor=EditorSettings(suspicion_threshold=0.5, length_search=True))
    app = CanvasEditApp(load_document(sample(tmp_path)), settings=settings, engine_url=served.url, cursor_blink=False)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        canvas = screen.canvas
        await wait_until(pilot, lambda: screen.backend is not None, what="the remote engine to answer")
        await pilot.press("alt+h")
        await wait_until(pilot, lambda: screen.heatmap is not None, what="the remote scores")
        assert screen.heatmap.tokens == served.service.score(SAMPLE).tokens and screen.heatmap.marked
        await pilot.press("escape")

        canvas.add_hole(HoleMark(END_OF_RETURN, END_OF_RETURN, length=4))
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the remote length search")
        await pilot.pause()
        best = screen.pending
        local = served.service.search_lengths(SAMPLE, [Hole(END_OF_RETURN, END_OF_RETURN, 4)], params=best.params)
        assert best.text == local.wait().text
        assert f"of {len(local.run.candidates)} candidates (asked ⟨4⟩)" in screen.status.part("progress")
        await pilot.press("escape")  # rejected: the hole stays marked, the text as it was

        start = SAMPLE.index("result = width * height")
        end = start + len("result = width * height")
        canvas.select_offsets(start, end)
        await pilot.press("alt+i")  # offered: the served model has a chat template
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), what="the instruction prompt")
        app.screen.query_one(Input).value = "use a product"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.fill_state == "pending", what="the remote answer")
        answer = screen.pending
        want = served.service.instruct(SAMPLE, start, end, "use a product", params=answer.params).wait()
        # (the canvas is not compared: a random tiny model writes control characters that TextArea reads as line breaks)
        assert answer.text == want.text and len(screen.passes.trace) == want.steps
        await pilot.press("escape")
        assert canvas.text == SAMPLE
