"""The fill half of the editor screen: fills in a thread, passes streamed, results to accept or reject.

``FillControl`` is mixed into ``EditorScreen``. Each hole moves through states (``holes.Slot``):

    marked ──fill / revise──▶ filling ──FillFinished──▶ pending ──Tab / alt+a / ctrl+→ word──▶ done
      ▲                          │ Esc: cancelled         │ Esc / alt+r: rejected, the original text back
      └──────────────────────────┴────────────────────────┘ ctrl+r: rejected and filled again, next seed

Typing never waits: while a fill runs the user keeps editing and the holes follow; an edit inside
a hole being filled drops that hole from the fill (its result is not written), and editing inside
a proposal takes it over as it stands. A finished fill's text is written into the document as
one undo step, so the preview is exactly what accepting keeps; undoing an accepted fill marks
its holes again. Rejections count: the next fill of the same holes, or ctrl+r, uses the next seed
(and samples, when the temperature is 0), so it does not hand back the same text.

Fills go through the app's engine (``EngineService``, or ``RemoteEngine`` for a server):
``engine.fill(...)`` hands back a handle whose ``events()`` the worker iterates in
``@work(thread=True, exclusive=True)``, folding each step's deltas into every hole's text
(``view.FillView``) before posting it; ``handle.cancel()`` stops it between passes. The worker only
posts messages (``messages.py``). Each fill has an id, so late messages from a cancelled fill are ignored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import get_current_worker

from canvasedit.engine import EngineError, FillResult, SamplerParams
from canvasedit.engine.view import FillView, PassView
from canvasedit.syntax import syntax_tree_for
from canvasedit.ui.holes import FILLING, MARKED, PENDING, Proposal, Slot, changed_ranges
from canvasedit.ui.messages import FillCancelled, FillFailed, FillFinished, FillStep, HolesChanged

if TYPE_CHECKING:
    from canvasedit.config import Settings
    from canvasedit.engine import Backend
    from canvasedit.ui.widgets import CanvasArea, PassesPanel, StatusBar

REGENERATE_TEMPERATURE = 0.8
"""Temperature for a new attempt when the configured one is 0: at 0 every seed gives the same text."""


def committed_tokens(shown: PassView) -> int:
    """Tokens the model has written so far in this fill (kept tokens of a revision excluded)."""
    return shown.written


def plural(n: int, word: str) -> str:
    """``1 hole``, ``2 holes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class FillControl:
    """Fill actions and message handlers for the editor screen."""

    if TYPE_CHECKING:
        fill_state: str
        backend: Backend | None
        canvas: CanvasArea
        passes: PassesPanel
        status: StatusBar
        settings: Settings
        canvasedit_app: Any

        def notify(self, message: str, *, severity: str = "information", **kwargs: object) -> None: ...
        def post_message(self, message: object) -> bool: ...
        def set_class(self, add: bool, *names: str) -> object: ...
        def refresh_bindings(self) -> None: ...
        def key_for(self, binding_id: str) -> str: ...
        def first_fill_notice(self) -> None: ...

    def _init_fill(self) -> None:
        self.pending: FillResult | None = None
        """The last finished fill while any of its proposals wait for accept or reject."""
        self.steps_drawn = 0
        """Passes drawn on the canvas in the current fill (fewer than the trace when frames were coalesced)."""
        self.attempt = 0
        """Rejections and regenerations since the last accept: the next fill uses seed + attempt."""
        self.last_rejected: list[tuple[int, str, Proposal]] = []
        """``(slot id, text, proposal)`` of the last rejected results, which alt+z writes back."""
        self._fill_serial = 0
        self._active_fill: int | None = None
        self._fill_slots: tuple[int, ...] = ()
        self._run: Any = None
        """The running fill's handle (``handle.cancel()`` stops it)."""
        self._progress = ""
        self._summary = ("", 0)

    # ------------------------------------------------------------------ starting

    @property
    def engine(self) -> Any:
        """The app's engine service (or remote engine): every fill of the editor goes through it."""
        return self.canvasedit_app.engine

    def fill_params(self, attempt: int | None = None) -> SamplerParams:
        """What the next fill uses: the family's recipe ← ``[sampler]``, seed moved on by ``attempt``."""
        assert self.backend is not None
        params = self.engine.params(self.settings.sampler)
        attempt = self.attempt if attempt is None else attempt
        if attempt:
            params = replace(params, seed=params.seed + attempt, temperature=params.temperature or REGENERATE_TEMPERATURE)
        return params

    def start_fill(self, params: SamplerParams | None = None, slots: list[Slot] | None = None) -> bool:
        """Fill the marked holes (or ``slots``) jointly; False (with a notification) when it cannot start."""
        if self.backend is None:
            self.notify("No model is loaded, so holes cannot be filled yet (see the status bar).", severity="warning")
            return False
        if self._active_fill is not None:
            self.notify(f"A fill is running: {self.key_for('reject')} cancels it.", severity="warning", timeout=3)
            return False
        slots = self.canvas.holes.in_state(MARKED) if slots is None else slots
        if not slots:
            self.notify("There are no holes to fill.", severity="warning")
            return False
        try:
            params = params or self.fill_params()
            run = self.make_run(slots, params)
        except EngineError as exc:
            self.notify(str(exc), title="Cannot fill", severity="error")
            return False
        self._fill_serial += 1
        self._active_fill = self._fill_serial
        self._fill_slots = tuple(slot.id for slot in slots)
        self._run = run
        self.steps_drawn = 0
        self.canvas.set_state(slots, FILLING)
        self.passes.start([slot.mark.kind for slot in slots])
        self._progress = f"filling {plural(len(slots), 'hole')}… {self.key_for('reject')} cancels · typing goes on"
        self._refresh_state()
        if params.seed or params.temperature:
            self.notify(f"seed {params.seed} · temperature {params.temperature:g}", title="Filling", timeout=2)
        self._fill_worker(run, self._fill_serial)
        return True

    def make_run(self, slots: list[Slot], params: SamplerParams) -> Any:
        """The fill of ``slots``, the one place it is built (a hook for fills that build their own): a handle
        of the engine (``events()``, ``cancel()``, ``result``, ``start``), or a run with that face."""
        return self.engine.fill(self.canvas.text, [slot.mark for slot in slots], params=params)

    @work(thread=True, exclusive=True, group="fill", exit_on_error=False)
    def _fill_worker(self, run: Any, fill_id: int) -> None:
        worker = get_current_worker()
        view: FillView | None = None
        events = run.events() if hasattr(run, "events") else iter(run)  # a handle, or a run with its face
        try:
            for event in events:
                if worker.is_cancelled:
                    run.cancel()
                    break
                if view is None:
                    view = FillView(run.start)  # set once the first event is out
                self.post_message(FillStep(fill_id, view.apply(event)))
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
        shown = message.event
        self.steps_drawn += 1
        self.canvas.show_pass(shown, self._fill_slots)
        self.passes.follow(shown)
        speed = committed_tokens(shown) / shown.elapsed if shown.elapsed > 0 else 0.0
        self._progress = (
            f"step {shown.step}/{shown.total_steps} · NFE {shown.nfe} · {speed:.0f} tok/s · "
            f"{self.key_for('reject')} stops"
        )
        self._show_progress()

    def on_fill_finished(self, message: FillFinished) -> None:
        if message.fill_id != self._active_fill:
            return
        result = message.result
        slots = self._fill_slots
        writes = []
        for hole in result.holes:
            slot = self.canvas.holes.by_id(slots[hole.index])
            if slot is None or slot.state != FILLING:
                continue  # edited while the fill ran: its text is not what the model saw
            original = self.canvas.text[slot.start : slot.end]
            changes = changed_ranges(original, hole.text) if hole.kind == "revise" else None
            writes.append((slot, hole.text, Proposal(original, slot.mark, message.fill_id, hole.index, changes=changes)))
        self._end_run()
        self._progress = ""
        if writes:
            before = self.canvas.text
            self.canvas.write_proposals(writes, message.fill_id)
            self._flag_parse_errors(before, message.fill_id)
            self.pending = result
            self.passes.load(result)
        self.set_summary(f"{result.steps} steps · NFE {result.nfe} · {result.tokens_per_second:.0f} tok/s")
        self._refresh_state()
        dropped = len(result.holes) - len(writes)
        if dropped:
            self.notify(
                f"{plural(dropped, 'hole')} changed while the fill ran; {'its' if dropped == 1 else 'their'} "
                "result was not written",
                severity="warning",
            )
        if writes:
            self.first_fill_notice()

    def on_fill_cancelled(self, message: FillCancelled) -> None:
        # The screen already went back to idle when Esc was pressed; this only confirms it.
        if message.fill_id == self._active_fill:
            self._stop_run("fill cancelled; the text is unchanged")

    def on_fill_failed(self, message: FillFailed) -> None:
        if message.fill_id != self._active_fill:
            return
        self.notify(message.error, title="Fill failed", severity="error")
        self._stop_run("fill failed; the text is unchanged")

    def fill_holes_changed(self, message: HolesChanged) -> None:
        """What an edit did to the fill cycle: holes dropped from a running fill, proposals taken over."""
        if message.reason == "undo-fill":
            self.set_summary("fill undone; its holes are marked again")
        elif PENDING in message.removed and not message.reason:
            self.set_summary("you edited a result, so it is kept as it stands")
        if FILLING in message.removed and self._active_fill is not None:
            if not self.canvas.holes.in_state(FILLING):
                self.cancel_fill("every hole of the fill was edited; fill stopped")
            else:
                self.set_summary("an edited hole leaves the running fill; the others go on")
        if self.pending is not None and not self.canvas.holes.in_state(PENDING):
            self.pending = None
        self._refresh_state()

    def _flag_parse_errors(self, before: str, fill_id: int) -> None:
        """Mark the proposals after which the file no longer parses where it did before.

        Each proposal is judged on its own — the text before the fill with only that result in
        it — so one broken hole does not taint the others through an error node spanning both.
        """
        language = self.canvas.syntax_language
        old = syntax_tree_for(before, language)
        if old is None:
            return
        for slot in self.canvas.holes.in_state(PENDING):
            proposal = slot.proposal
            if proposal is None or proposal.fill_id != fill_id:
                continue
            mark, text = proposal.mark, self.canvas.text[slot.start : slot.end]
            alone = old.edited(mark.start, mark.end, text)  # incremental: a few ms, not a fresh parse
            if not alone.has_errors:
                continue
            new_here = alone.has_error_in(mark.start, mark.start + len(text)) and not old.has_error_in(mark.start, mark.end)
            if not old.has_errors or new_here:
                self.canvas.set_proposal(slot, replace(proposal, parse_error=True))

    # ------------------------------------------------------------------ state and status

    def watch_fill_state(self, state: str) -> None:
        self.status.fill_state = state
        self.set_class(state == "filling", "-filling")
        self.set_class(state == "pending", "-pending")
        self.refresh_bindings()

    def _refresh_state(self) -> None:
        pending = bool(self.canvas.holes.in_state(PENDING))
        self.fill_state = "filling" if self._active_fill is not None else "pending" if pending else "idle"
        self._show_progress()

    def set_summary(self, text: str) -> None:
        """A short note about what just happened; it goes away with the next edit."""
        self._summary = (text, self.canvas.version)
        self._show_progress()

    def text_changed_for_fill(self) -> None:
        """The text changed: a note about an earlier action no longer applies."""
        if self._summary[0] and self._summary[1] != self.canvas.version:
            self._summary = ("", 0)
            self._show_progress()

    def _show_progress(self) -> None:
        parts = []
        if self._progress:
            parts.append(self._progress)
        pending = self.canvas.holes.in_state(PENDING)
        if pending:
            flagged = sum(1 for s in pending if s.proposal is not None and s.proposal.parse_error)
            waiting = f"{plural(len(pending), 'result')} waiting"
            if flagged:
                waiting += f" (⚠ {flagged} does not parse)"
            parts.append(
                f"{waiting} · {self.key_for('accept')} accept · {self.key_for('reject')} reject · "
                f"{self.key_for('accept_hole')}/{self.key_for('reject_hole')} this hole · "
                f"{self.key_for('accept_word')} word · {self.key_for('regenerate')} again"
            )
        if self._summary[0]:
            parts.append(self._summary[0])
        self.status.set_progress(" · ".join(parts))

    # ------------------------------------------------------------------ ending

    def cancel_fill(self, summary: str = "fill cancelled; the text is unchanged") -> bool:
        """Stop a running fill before its next pass; the document stays exactly as it was."""
        if self._active_fill is None:
            return False
        if self._run is not None:
            self._run.cancel()
        self.workers.cancel_group(self, "fill")  # type: ignore[attr-defined]
        self._stop_run(summary)
        return True

    def _stop_run(self, summary: str) -> None:
        self._end_run()
        self._progress = ""
        self.set_summary(summary)
        self._refresh_state()

    def _end_run(self) -> None:
        self._active_fill = None
        self._run = None
        filling = self.canvas.holes.in_state(FILLING)
        self.canvas.clear_overlay()
        self.canvas.set_state(filling, MARKED)

    def _pending_slot(self, at_cursor_only: bool = False) -> Slot | None:
        """The proposal under the cursor, else the first one after it, else the first one."""
        slot = self.canvas.slot_at_cursor(PENDING)
        if slot is not None or at_cursor_only:
            return slot
        pending = self.canvas.holes.in_state(PENDING)
        cursor = self.canvas.offset_of(self.canvas.cursor_location)
        return next((s for s in pending if s.start >= cursor), pending[0] if pending else None)

    def reject_fill(self, slots: list[Slot] | None = None) -> bool:
        """Put the original text back in place of the proposals (all, or ``slots``); the holes stay marked."""
        pending = self.canvas.holes.in_state(PENDING) if slots is None else slots
        if not pending:
            return False
        remembered = [(s.id, self.canvas.text[s.start : s.end], s.proposal) for s in pending if s.proposal is not None]
        fills = {proposal.fill_id for _, _, proposal in remembered}
        if slots is None and len(fills) == 1 and self.canvas.take_back_fill(fills.pop()):
            # Undone from the history, as if the result had never been written; the holes the
            # undo marked again are new slots, found by their marks.
            by_mark = {s.mark: s.id for s in self.canvas.holes.in_state(MARKED)}
            remembered = [(by_mark[p.mark], text, p) for _, text, p in remembered if p.mark in by_mark]
        else:
            self.canvas.reject_proposals(pending)  # each slot keeps its id, marked again
        self.last_rejected = remembered
        self.attempt += 1
        n = len(remembered)
        self.set_summary(
            f"{plural(n, 'result')} rejected; the holes are still marked · {self.key_for('fill')} fills them "
            f"with a new seed · {self.key_for('recall')} brings {'it' if n == 1 else 'them'} back"
        )
        self._refresh_state()
        return True

    def accept_fill(self, slots: list[Slot] | None = None) -> bool:
        """Keep the proposals (all, or ``slots``) as the document's text."""
        pending = self.canvas.holes.in_state(PENDING) if slots is None else slots
        if not pending:
            return False
        self.canvas.accept_proposals(pending)
        if not self.canvas.holes.in_state(PENDING):
            self.attempt = 0
            self.pending = None
        self.set_summary(f"accepted · {self.key_for('undo')} undoes it")
        self._refresh_state()
        return True

    def accept_part(self, unit: str) -> bool:
        """Accept the next word or line of the proposal under (or after) the cursor."""
        slot = self._pending_slot()
        if slot is None:
            return False
        self.canvas.accept_part(slot, unit)
        if slot in self.canvas.holes.slots:
            self.canvas.move_cursor(self.canvas.location_of(slot.start))
        else:
            self.canvas.move_cursor(self.canvas.location_of(slot.end))
        self._refresh_state()
        return True

    def regenerate_fill(self) -> bool:
        """Fill again with the next seed: the proposal under the cursor, else every proposal, else the marked holes."""
        if self._active_fill is not None:
            self.notify(f"A fill is running: {self.key_for('reject')} cancels it.", severity="warning", timeout=3)
            return True
        slot = self._pending_slot(at_cursor_only=True)
        targets = [slot] if slot is not None else self.canvas.holes.in_state(PENDING)
        if targets:
            self.canvas.reject_proposals(targets)
            ids = {s.id for s in targets}
            again = [s for s in self.canvas.holes.in_state(MARKED) if s.id in ids]
        else:
            again = self.canvas.holes.in_state(MARKED)
        if not again:
            return False
        self.attempt += 1
        self.start_fill(slots=again)
        return True

    def recall_rejected(self) -> bool:
        """Write the last rejected results back as proposals, where their holes are still marked."""
        writes = []
        for slot_id, text, proposal in self.last_rejected:
            slot = self.canvas.holes.by_id(slot_id)
            if slot is not None and slot.state == MARKED:
                writes.append((slot, text, replace(proposal, mark=slot.mark, original=self.canvas.text[slot.start : slot.end])))
        if not writes:
            return False
        self.last_rejected = []
        self.canvas.write_proposals(writes, writes[0][2].fill_id)
        self.set_summary("the last rejected result is back")
        self._refresh_state()
        return True
