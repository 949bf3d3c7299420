"""What only a diffusion editor does, as editor keys: instructions, the suspicion heatmap, hole lengths, outlines.

``FeatureCommands`` is mixed into ``EditorScreen`` before ``HoleCommands``; each ``action_*`` is
one key of the README's table (ids ``instruct``, ``heatmap``, ``suspects_to_holes``,
``again_longer``, ``again_shorter``, ``outline``):

* **Instruct** (alt+i) asks for an instruction and rewrites the selection through the model's
  chat template (``engine.instruct``); offered only on a model that has one.
* **Heatmap** (alt+h) scores the selection, else the document (``EngineService.score``, in a
  thread worker, a chunk of lines at a time so Esc stops it between chunks), and shades the
  tokens the model finds unlikely over the rows (``widgets.heatmap``); alt+m turns the marked
  tokens into holes; Esc clears it. An edit keeps it: the scores after the edit move with their
  tokens, and the tokens the edit touched lose theirs.
* **Again longer / shorter** (alt+l / alt+k) fill the result under the cursor again with its
  hole 1.5 times longer or shorter (at least one token either way); the status line shows the
  result's tokens and the length it was given. With ``[editor] length_search`` every fill tries
  several lengths (``engine.lengths``) and the status line says which one won, with its score.
* **Outline** (alt+o) writes a body for every outline item of the document or the selection in
  one joint fill (``engine.outline``).

On a remote engine (``engine.remote``) each of these runs on the CanvasEdit server, which has
the same calls. Every fill here goes through ``FillControl.start_fill``: this mixin only decides, in
``make_run``, which engine run fills the slots, so each result is a pending change like any fill
(Tab / Esc / alt+a / alt+r / ctrl+r, one undo step, passes streamed). Slots remember how they
were made (``_Recipe``), so ctrl+r or alt+l on an instruction's result asks the model again
with the same instruction, and on an outline body writes that body again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.worker import get_current_worker

from canvasedit.engine import EngineError, FillResult, SamplerParams, StepEvent
from canvasedit.engine.instruct import answer_length, has_chat_template
from canvasedit.engine.lengths import LengthSearch
from canvasedit.engine.outline import NOTHING_TO_EXPAND, NoOutline, OutlineItem, outline_items
from canvasedit.models.catalog import CATALOG
from canvasedit.ui.filetypes import file_type
from canvasedit.ui.holes import MARKED, PENDING, HoleMark, Slot, edit_region
from canvasedit.ui.messages import ScoreFailed, ScoreFinished
from canvasedit.ui.screens.prompt import PromptScreen
from canvasedit.ui.widgets.heatmap import Heatmap

if TYPE_CHECKING:
    from textual.widgets import TextArea

    from canvasedit.document import Document
    from canvasedit.ui.messages import FillFinished

FEATURE_BINDINGS = [
    Binding("alt+i", "instruct", "Instruct", show=False, id="instruct"),
    Binding("alt+h", "heatmap", "Heatmap", show=False, id="heatmap"),
    Binding("alt+m", "suspects_to_holes", "Suspects to holes", show=False, id="suspects_to_holes"),
    Binding("alt+l", "again_longer", "Again longer", show=False, id="again_longer"),
    Binding("alt+k", "again_shorter", "Again shorter", show=False, id="again_shorter"),
    Binding("alt+o", "outline", "Expand outline", show=False, id="outline"),
]

FEATURE_EXPLANATIONS = {
    "instruct": "Rewrite the selection as an instruction says (instruct models, through their chat template)",
    "heatmap": "Shade the tokens the model finds unlikely in the selection, else the document; Esc clears",
    "suspects_to_holes": "Turn the tokens the heatmap marks into holes",
    "again_longer": "Fill the result under the cursor again with its hole 1.5x longer",
    "again_shorter": "Fill the result under the cursor again with its hole 1.5x shorter",
    "outline": "Write a body for every outline item (bullet, empty heading, docstring-only def) as one change",
}

AGAIN_FACTOR = 1.5
"""alt+l / alt+k multiply / divide the result's hole length by this (and move it by one token at least)."""
SCORE_CHUNK_CHARS = 2_000
"""The heatmap scores whole lines about this many characters at a time, checking for Esc in between."""


def again_longer(n: int) -> int:
    """The length alt+l fills again with: 1.5 times ``n``, at least one token more."""
    return max(n + 1, round(n * AGAIN_FACTOR))


def again_shorter(n: int) -> int:
    """The length alt+k fills again with: ``n`` / 1.5, at least one token fewer, never below 1."""
    return max(1, min(n - 1, round(n / AGAIN_FACTOR)))


def instruct_models() -> list[str]:
    """Catalog names of the models that follow instructions, for the message on a model that does not."""
    return [name for name, entry in CATALOG.items() if "instruct" in entry.uses]


def score_chunks(text: str, start: int, end: int, size: int = SCORE_CHUNK_CHARS) -> list[tuple[int, int]]:
    """``[start, end)`` cut at line ends into ranges of about ``size`` characters (a line longer stays whole)."""
    out = []
    a = start
    while a < end:
        b = min(end, a + size)
        if b < end:
            newline = text.rfind("\n", a, b)
            b = newline + 1 if newline >= a else (text.find("\n", b, end) + 1 or end)
        out.append((a, b))
        a = b
    return out


@dataclass
class _Recipe:
    """How a slot was made, so filling it again asks the model the same question."""

    mark: HoleMark
    """The hole as marked (a hole an undo marks again is found by it)."""
    kind: str
    """``instruct`` or ``outline``."""
    instruction: str = ""
    item: OutlineItem | None = None


class _SearchHandle:
    """A length search's handle with a plain fill's face: its ``events()`` are one candidate's steps (the
    one at the requested lengths), its ``start`` that candidate's, and its result the best candidate's."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.search: LengthSearch = handle.run

    @property
    def shown(self) -> int:
        """The candidate drawn: a remote search knows its plans once its first step is out, so asked each time."""
        search = self.search
        return search.plans.index(search.requested) if search.requested in search.plans else 0

    @property
    def start(self) -> Any:
        return self.search.runs[self.shown].start

    @property
    def result(self) -> FillResult | None:
        return self.handle.result

    def cancel(self) -> None:
        self.handle.cancel()

    def events(self) -> Iterator[StepEvent]:
        shown = None
        for step in self.handle.events():
            shown = self.shown if shown is None else shown
            if step.candidate == shown:
                yield step.event

    def summary(self) -> str:
        """Which length won and its score, for the status line."""
        search = self.search
        best = search.best
        assert best is not None
        lengths = "/".join(str(n) for n in best.lengths)
        chosen = f"free ⟨≤{lengths}⟩" if best.free else f"⟨{lengths}⟩"
        asked = "/".join(str(n) for n in search.requested)
        return f"length search kept {chosen} of {len(search.candidates)} candidates (asked ⟨{asked}⟩) · score {best.score:.2f}"


class FeatureCommands:
    """Instruction, heatmap, hole-length and outline actions for the editor screen."""

    if TYPE_CHECKING:
        from canvasedit.config import Settings
        from canvasedit.engine import Backend
        from canvasedit.ui.widgets import CanvasArea

        backend: Backend | None
        canvas: CanvasArea
        settings: Settings
        document: Document
        hole_length: int
        attempt: int
        app: Any
        canvasedit_app: Any
        engine: Any
        fill_state: str

        def notify(self, message: str, *, severity: str = "information", **kwargs: object) -> None: ...
        def post_message(self, message: object) -> bool: ...
        def key_for(self, binding_id: str) -> str: ...
        def set_summary(self, text: str) -> None: ...
        def start_fill(self, params: SamplerParams | None = None, slots: list[Slot] | None = None) -> bool: ...
        def call_next(self, callback: Any, *args: Any) -> None: ...
        def _can_start(self) -> bool: ...
        def _model_available(self, verb: str) -> bool: ...
        def _busy(self, mark: HoleMark) -> bool: ...
        def _pending_slot(self, at_cursor_only: bool = False) -> Slot | None: ...
        @property
        def workers(self) -> Any: ...

    def _init_fill(self) -> None:
        super()._init_fill()  # type: ignore[misc]
        self._recipes: dict[int, _Recipe] = {}
        """How the instruction and outline slots were made, by slot id."""
        self.heatmap: Heatmap | None = None
        """The heatmap shown over the text, if any."""
        self._heat_text = ""
        """The text the heatmap lies over: an edit is found by comparing it with the canvas's."""
        self._score_serial = 0
        self._scoring: tuple[int, int] | None = None  # (score id, text version) while a scoring runs
        self._search: _SearchHandle | None = None

    # ------------------------------------------------------------------ which run fills the slots

    def make_run(self, slots: list[Slot], params: SamplerParams) -> Any:
        """Instruction and outline slots get their own runs; plain holes a fill, or a length search when on."""
        self.cancel_scoring()  # one thing at a time on the model
        text = self.canvas.text
        recipes = [self._recipe_for(slot) for slot in slots]
        if recipes and all(r is not None and r.kind == "outline" for r in recipes):
            items = [replace(r.item, start=s.start, end=s.end, length=s.mark.length or r.item.length)  # type: ignore[union-attr,type-var]
                     for r, s in zip(recipes, slots)]
            return self._engine_feature("expand", "expand outlines")(text, None, params=params, items=items)
        if len(slots) == 1 and recipes[0] is not None and recipes[0].kind == "instruct":
            slot = slots[0]
            return self._engine_feature("instruct", "follow instructions")(
                text, slot.start, slot.end, recipes[0].instruction, params=params, length=slot.mark.length)
        for slot, recipe in zip(slots, recipes):  # filled as plain holes: from now on they are
            if recipe is not None:
                self._recipes.pop(slot.id, None)
        marks = [slot.mark for slot in slots]
        if self.settings.editor.length_search and all(m.revise is None for m in marks):
            search = self._engine_feature("search_lengths", "search hole lengths")(text, marks, params=params)
            self._search = _SearchHandle(search)
            return self._search
        return self.engine.fill(text, marks, params=params)

    def _engine_feature(self, name: str, what: str) -> Any:
        """The engine's handle maker ``name``; a remote engine that has none says so in one line."""
        maker = getattr(self.engine, name, None)
        if maker is None:
            raise EngineError(f"the remote engine cannot {what}: that needs a local model (empty [engine] url)")
        return maker

    def _recipe_for(self, slot: Slot) -> _Recipe | None:
        recipe = self._recipes.get(slot.id)
        if recipe is None:  # an undo marks a hole again as a new slot: find its recipe by the mark
            found = next(((k, r) for k, r in self._recipes.items() if r.mark == slot.mark), None)
            if found is not None:
                recipe = self._recipes.pop(found[0])
                self._recipes[slot.id] = recipe
        return recipe

    def _new_slot(self, mark: HoleMark) -> Slot:
        self.canvas.add_hole(mark)
        return next(s for s in self.canvas.holes.slots if s.mark is mark)

    def on_fill_finished(self, message: FillFinished) -> None:
        # Runs before FillControl's handler (which writes the result and its summary): say afterwards
        # which length the search kept.
        search, self._search = self._search, None
        if search is not None and search.result is message.result:  # the search's best candidate
            self.call_next(self.set_summary, search.summary())

    # ------------------------------------------------------------------ instructions

    def action_instruct(self) -> None:
        """Ask for an instruction and rewrite the selection (or write at the cursor) as it says."""
        if not self._can_start() or not self._model_available("follow an instruction"):
            return
        assert self.backend is not None
        if not has_chat_template(self.backend):
            names = ", ".join(instruct_models()[:3])
            self.notify(f"{self.backend.model_name} has no chat template, so it cannot follow instructions; "
                        f"instruct models can ({names} …; {self.key_for('models')} switches)",
                        severity="warning", timeout=8)
            return
        start, end = self.canvas.selection_offsets()
        if self._busy(HoleMark(start, end)):
            return
        what = "the selection" if start != end else "new text at the cursor"
        self.app.push_screen(
            PromptScreen(f"Instruction for {what}", placeholder="e.g. add type hints, make it formal"),
            partial(self._instruct, start, end),
        )

    def _instruct(self, start: int, end: int, instruction: str | None) -> None:
        if not instruction or self.backend is None:
            return
        if self._busy(HoleMark(start, end)) or not self._can_start():
            return
        # A remote model's tokenizer is on the server, which gives the answer its default room itself.
        length = answer_length(self.backend, self.canvas.text[start:end]) if hasattr(self.backend, "encode") else None
        mark = HoleMark(start, end, length=length)
        slot = self._new_slot(mark)
        self._recipes[slot.id] = _Recipe(mark, "instruct", instruction=instruction)
        if not self.start_fill(slots=[slot]):
            self._recipes.pop(slot.id, None)
            self.canvas.remove_hole(slot)  # the text and the holes stay as they were

    # ------------------------------------------------------------------ outlines

    def action_outline(self) -> None:
        """Write a body for every outline item of the document (or the selection), all in one fill."""
        if not self._can_start() or not self._model_available("expand an outline"):
            return
        text = self.canvas.text
        try:
            items = outline_items(text, file_type(self.document.path).language, self.hole_length)
        except NoOutline as exc:
            self.notify(str(exc), severity="warning", timeout=5)
            return
        start, end = self.canvas.selection_offsets()
        if start != end:
            items = [i for i in items if start <= i.start and i.end <= end]
        if not items:
            self.notify(NOTHING_TO_EXPAND + (" in the selection" if start != end else ""), severity="warning")
            return
        if any(self._busy(HoleMark(i.start, i.end)) for i in items):
            return
        slots = []
        for item in items:
            mark = HoleMark(item.start, item.end, length=item.length)
            slot = self._new_slot(mark)
            self._recipes[slot.id] = _Recipe(mark, "outline", item=item)
            slots.append(slot)
        if not self.start_fill(slots=slots):
            for slot in slots:
                self._recipes.pop(slot.id, None)
                self.canvas.remove_hole(slot)

    # ------------------------------------------------------------------ hole lengths after a fill

    def action_again_longer(self) -> None:
        """Fill the result under the cursor again with a 1.5x longer hole."""
        self._fill_again(again_longer)

    def action_again_shorter(self) -> None:
        """Fill the result under the cursor again with a 1.5x shorter hole."""
        self._fill_again(again_shorter)

    def _fill_again(self, step: Any) -> None:
        if not self._can_start() or not self._model_available("fill again"):
            return
        slot = self._pending_slot()
        if slot is None or slot.proposal is None:
            self.notify(f"No result is waiting: {self.key_for('hole_longer')} / {self.key_for('hole_shorter')} "
                        "resize a hole before it is filled.", severity="warning", timeout=4)
            return
        mark = slot.proposal.mark
        if mark.revise is not None:
            self.notify(f"A revision keeps its length: {self.key_for('regenerate')} fills it again.",
                        severity="warning", timeout=4)
            return
        n = self._asked_length(slot)
        new = step(n)
        if new == n:
            self.notify(f"The hole is already {n} token long.", severity="warning", timeout=3)
            return
        recipe = self._recipe_for(slot)
        self.canvas.reject_proposals([slot])
        resized = self.canvas.resize_hole(slot.mark, new)
        if recipe is not None:
            recipe.mark = resized
        self.attempt += 1
        self.start_fill(slots=[slot])
        self.notify(f"filling again with ⟨{new}⟩ tokens (was ⟨{n}⟩)", timeout=2)

    def _asked_length(self, slot: Slot) -> int:
        """The length a result's hole was given (a range's own token count when it had none)."""
        assert slot.proposal is not None
        mark = slot.proposal.mark
        if mark.length is not None:
            return mark.length
        counter = self.canvas.token_counter
        return (counter(slot.proposal.original) if counter else 0) or self.hole_length

    def length_note(self) -> str:
        """For the status line on a result: its tokens and the length it was given, and the keys that change it."""
        slot = self.canvas.slot_at_cursor(PENDING)
        if slot is None or slot.proposal is None or slot.proposal.mark.revise is not None:
            return ""
        counter = self.canvas.token_counter
        wrote = f"{counter(self.canvas.text[slot.start : slot.end])} tok" if counter else "result"
        return (f" · {wrote} of ⟨{self._asked_length(slot)}⟩ · {self.key_for('again_longer')}/"
                f"{self.key_for('again_shorter')} again longer/shorter")

    # ------------------------------------------------------------------ the heatmap

    def action_heatmap(self) -> None:
        """Score the selection (else the document) and shade the tokens the model finds unlikely."""
        if self._scoring is not None:
            self.notify(f"Scoring is running: {self.key_for('reject')} stops it.", severity="warning", timeout=3)
            return
        if not self._can_start() or not self._model_available("score the text"):
            return
        if getattr(self.engine, "score", None) is None:
            self.notify("The remote engine cannot score text in place: the heatmap needs a local model.",
                        severity="warning", timeout=5)
            return
        text = self.canvas.text
        start, end = self.canvas.selection_offsets()
        if start == end:
            start, end = 0, len(text)
        if not text[start:end].strip():
            self.notify("There is no text to score.", severity="warning", timeout=3)
            return
        self.clear_heatmap()
        self._score_serial += 1
        self._scoring = (self._score_serial, self.canvas.version)
        what = "the selection" if (start, end) != (0, len(text)) else "the document"
        self.set_summary(f"scoring {what}… {self.key_for('reject')} stops")
        self._score_worker(text, start, end, self._score_serial)

    @work(thread=True, exclusive=True, group="score", exit_on_error=False)
    def _score_worker(self, text: str, start: int, end: int, score_id: int) -> None:
        worker = get_current_worker()
        begun = time.perf_counter()
        engine = self.engine  # scoring holds the model like a fill, so the two take turns
        tokens: dict[int, Any] = {}
        passes = 0
        try:
            for a, b in score_chunks(text, start, end):
                if worker.is_cancelled:
                    return  # the screen already said so when Esc was pressed
                result = engine.score(text, a, b)
                passes += result.passes
                for t in result.tokens:
                    tokens.setdefault(t.index, t)  # a token across a chunk's edge is scored once
        except EngineError as exc:
            self.post_message(ScoreFailed(score_id, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001  a model or torch failure: report it; nothing is shaded
            self.post_message(ScoreFailed(score_id, f"the model failed: {type(exc).__name__}: {exc}"))
            return
        ordered = tuple(tokens[i] for i in sorted(tokens))
        self.post_message(ScoreFinished(score_id, ordered, passes, time.perf_counter() - begun))

    def on_score_finished(self, message: ScoreFinished) -> None:
        if self._scoring is None or message.score_id != self._scoring[0]:
            return
        version = self._scoring[1]
        self._scoring = None
        if version != self.canvas.version:
            self.set_summary(f"the text changed while it was scored; {self.key_for('heatmap')} scores it again")
            return
        threshold = self.settings.editor.suspicion_threshold
        self.heatmap = Heatmap(message.tokens, threshold, self.canvas.location_of)
        self._heat_text = self.canvas.text
        self.canvas.set_shading(self.heatmap.shade)
        marked = len(self.heatmap.marked)
        self.set_summary(
            f"heatmap: {marked} of {len(message.tokens)} tokens below p={threshold:g} "
            f"({message.passes} passes, {message.seconds:.1f} s) · {self.key_for('suspects_to_holes')} makes them "
            f"holes · {self.key_for('reject')} clears"
        )

    def on_score_failed(self, message: ScoreFailed) -> None:
        if self._scoring is None or message.score_id != self._scoring[0]:
            return
        self._scoring = None
        self.notify(message.error, title="Scoring failed", severity="error")
        self.set_summary("scoring failed; nothing is shaded")

    def action_suspects_to_holes(self) -> None:
        """Turn the tokens the heatmap marks into holes (a fill then rewrites them)."""
        heat = self.heatmap
        if heat is None:
            self.notify(f"No heatmap: {self.key_for('heatmap')} scores the text first.", severity="warning", timeout=3)
            return
        holes = [h for h in heat.holes() if not any(s.state != MARKED for s in self.canvas.holes.overlapping(h))]
        self.clear_heatmap()
        if not holes:
            self.set_summary(f"no token is below p={heat.threshold:g}: nothing to mark")
            return
        for hole in holes:
            self.canvas.add_hole(hole)
        n = len(holes)
        self.set_summary(f"{n} hole{'s' if n != 1 else ''} from the heatmap · {self.key_for('fill')} fills them")

    def cancel_scoring(self) -> bool:
        """Stop a running scoring before its next chunk; True if one was running."""
        if self._scoring is None:
            return False
        self._scoring = None
        self.workers.cancel_group(self, "score")
        self.set_summary("scoring stopped; nothing is shaded")
        return True

    def clear_heatmap(self) -> bool:
        """Stop shading; True if a heatmap was shown."""
        if self.heatmap is None:
            return False
        self.heatmap = None
        self.canvas.set_shading(None)
        return True

    def escape_features(self) -> bool:
        """What Esc does here first: stop a scoring, else clear the heatmap."""
        return self.cancel_scoring() or self.clear_heatmap()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.carry_heatmap()

    def carry_heatmap(self) -> None:
        """Keep the heatmap over an edit: the scores after it move, the tokens it touched lose theirs.

        The edit is found by comparing texts (``holes.edit_region``), so typing, a result written
        in, an undo and several edits between two redraws are all carried the same way.
        """
        if self.heatmap is None:
            return
        before, after = self._heat_text, self.canvas.text
        if before == after:
            return
        self.heatmap = self.heatmap.carried(*edit_region(before, after), self.canvas.location_of)
        self._heat_text = after
        if not self.heatmap.tokens:
            self.clear_heatmap()
            return
        self.canvas.set_shading(self.heatmap.shade)

