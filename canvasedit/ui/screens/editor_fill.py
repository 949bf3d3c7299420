"""The fill half of the editor screen: run a fill in a thread, stream its passes, accept or reject.

``FillControl`` is mixed into ``EditorScreen`` and keeps the fill's state machine in one place:

    idle ──fill/revise──▶ filling ──FillFinished──▶ pending ──Tab──▶ idle (one replace(), one undo step)
                             │ Esc (cancel between passes)      │ Esc (reject) / ctrl+r (run again)
                             ▼                                  ▼
                           idle (text untouched)              idle / filling

The engine runs in ``@work(thread=True, exclusive=True)``; it checks the worker's cancel flag and
``FillRun.cancel()`` between passes and only posts messages (``messages.py``). Each fill has an id,
so late messages from a cancelled fill are ignored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from canvasedit.engine import EngineError, FillResult, FillRun, SamplerParams, StepEvent, fill
from canvasedit.ui.messages import FillCancelled, FillFailed, FillFinished, FillStep

if TYPE_CHECKING:
    from canvasedit.config import Settings
    from canvasedit.engine import Backend
    from canvasedit.ui.widgets import CanvasArea, PassesPanel, StatusBar

REGENERATE_TEMPERATURE = 0.8
"""Temperature for "regenerate" when the configured one is 0: at 0 every seed gives the same text."""


def committed_tokens(event: StepEvent) -> int:
    """Tokens the model has written so far in this fill (kept tokens of a revision excluded)."""
    return sum(1 for hole in event.pieces for piece in hole if piece.state in ("new", "done"))


class FillControl:
    """Fill actions and message handlers for the editor screen."""

    if TYPE_CHECKING:
        fill_state: str
        backend: Backend | None
        canvas: CanvasArea
        passes: PassesPanel
        status: StatusBar
        settings: Settings

        def notify(self, message: str, *, severity: str = "information", **kwargs: object) -> None: ...
        def post_message(self, message: object) -> bool: ...
        def set_class(self, add: bool, *names: str) -> object: ...
        def refresh_bindings(self) -> None: ...
        def key_for(self, binding_id: str) -> str: ...

    def _init_fill(self) -> None:
        self.pending: FillResult | None = None
        """The finished fill waiting for accept or reject."""
        self.steps_drawn = 0
        """Passes drawn on the canvas in the current fill (fewer than the trace when frames were coalesced)."""
        self._fill_serial = 0
        self._active_fill: int | None = None
        self._run: FillRun | None = None
        self._last_params: SamplerParams | None = None

    # ------------------------------------------------------------------ starting

    def start_fill(self, params: SamplerParams | None = None) -> bool:
        """Fill every hole of the canvas jointly; False (with a notification) when it cannot start."""
        if self.backend is None:
            self.notify("No model is loaded, so holes cannot be filled yet (see the status bar).", severity="warning")
            return False
        if not self.canvas.holes:
            self.notify("There are no holes to fill.", severity="warning")
            return False
        try:
            params = params or SamplerParams.layered(self.backend.recipe, self.settings.sampler)
            run = fill(self.canvas.text, self.canvas.holes.to_engine(), self.backend, params)
        except EngineError as exc:
            self.notify(str(exc), title="Cannot fill", severity="error")
            return False
        self._fill_serial += 1
        self._active_fill = self._fill_serial
        self._run = run
        self._last_params = params
        self.pending = None
        self.steps_drawn = 0
        self.fill_state = "filling"
        self.passes.start([mark.kind for mark in self.canvas.holes])
        self.status.set_progress(f"filling {len(self.canvas.holes)} hole(s)… {self.key_for('reject')} cancels")
        self._fill_worker(run, self._fill_serial)
        return True

    @work(thread=True, exclusive=True, group="fill", exit_on_error=False)
    def _fill_worker(self, run: FillRun, fill_id: int) -> None:
        worker = get_current_worker()
        try:
            for event in run:
                if worker.is_cancelled:
                    run.cancel()
                    break
                self.post_message(FillStep(fill_id, event))
        except EngineError as exc:
            self.post_message(FillFailed(fill_id, str(exc)))
            return
        except Exception as exc:  # a model or torch failure: report it; the document is untouched
            self.post_message(FillFailed(fill_id, f"the model failed: {type(exc).__name__}: {exc}"))
            return
        if run.result is None:
            self.post_message(FillCancelled(fill_id))
        else:
            self.post_message(FillFinished(fill_id, run.result))

    # ------------------------------------------------------------------ messages

    def on_fill_step(self, message: FillStep) -> None:
        if message.fill_id != self._active_fill:
            return
        event = message.event
        self.steps_drawn += 1
        self.canvas.show_pass(event)
        self.passes.follow(event)
        speed = committed_tokens(event) / event.elapsed if event.elapsed > 0 else 0.0
        self.status.set_progress(
            f"step {event.step}/{event.total_steps} · NFE {event.nfe} · {speed:.0f} tok/s · "
            f"{self.key_for('reject')} stops"
        )

    def on_fill_finished(self, message: FillFinished) -> None:
        if message.fill_id != self._active_fill:
            return
        result = message.result
        self._active_fill = None
        self._run = None
        self.pending = result
        self.fill_state = "pending"
        self.canvas.show_result(result)
        self.passes.load(result.trace)
        self.status.set_progress(
            f"{self.key_for('accept')} accept · {self.key_for('reject')} reject · {self.key_for('regenerate')} again · "
            f"{result.steps} steps · NFE {result.nfe} · {result.tokens_per_second:.0f} tok/s"
        )

    def on_fill_cancelled(self, message: FillCancelled) -> None:
        # The screen already went back to idle when Esc was pressed; this only confirms it.
        if message.fill_id == self._active_fill:
            self._end_fill("fill cancelled; the text is unchanged")

    def on_fill_failed(self, message: FillFailed) -> None:
        if message.fill_id != self._active_fill:
            return
        self.notify(message.error, title="Fill failed", severity="error")
        self._end_fill("fill failed; the text is unchanged")

    def watch_fill_state(self, state: str) -> None:
        self.canvas.locked = state != "idle"
        self.status.fill_state = state
        self.set_class(state == "filling", "-filling")
        self.set_class(state == "pending", "-pending")
        self.refresh_bindings()

    # ------------------------------------------------------------------ ending

    def cancel_fill(self) -> bool:
        """Stop a running fill before its next pass; the document stays exactly as it was."""
        if self.fill_state != "filling":
            return False
        if self._run is not None:
            self._run.cancel()
        self.workers.cancel_group(self, "fill")  # type: ignore[attr-defined]
        self._end_fill("fill cancelled; the text is unchanged")
        return True

    def reject_fill(self) -> bool:
        """Drop the pending result; the holes stay for another try."""
        if self.fill_state != "pending":
            return False
        self._end_fill("result rejected; the holes are still marked")
        return True

    def accept_fill(self) -> bool:
        """Write the pending result into the document as one undoable edit."""
        result = self.pending
        if self.fill_state != "pending" or result is None:
            return False
        self._end_fill(f"accepted · {self.key_for('undo')} undoes it")
        try:
            self.canvas.apply_result(result)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
        return True

    def regenerate_fill(self) -> bool:
        """Run the pending fill again with the next seed (sampling, so the text can change)."""
        if self.fill_state != "pending" or self._last_params is None:
            return False
        params = self._last_params
        params = replace(params, seed=params.seed + 1, temperature=params.temperature or REGENERATE_TEMPERATURE)
        self._end_fill("")
        if self.start_fill(params):
            self.notify(f"seed {params.seed} · temperature {params.temperature:g}", title="Regenerating", timeout=2)
        return True

    def _end_fill(self, summary: str) -> None:
        self._active_fill = None
        self._run = None
        self.pending = None
        self.canvas.clear_overlay()
        self.fill_state = "idle"
        if summary:
            self.status.set_progress(summary)
