"""The passes panel: every denoising pass of the last fill, replayed one at a time.

    panel = PassesPanel()
    panel.follow(shown)          # while a fill runs: show the newest pass (a view.PassView)
    panel.load(result)           # afterwards: ←/→ step through the passes, home/end jump

Unlike the canvas overlay, the panel shows each hole's text with its real line breaks, so a
multi-line fill reads naturally here. It replays ``FillResult.trace``, which holds every step's
deltas even when the canvas skipped some passes to keep up: the pass shown is folded from
``result.start`` (``view.FillView``), going on from the one shown before when stepping forward.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from canvasedit.engine import FillResult, StepEvent
from canvasedit.engine.view import FillView, PassView
from canvasedit.ui.overlay import piece_state, visible


class PassesPanel(VerticalScroll, can_focus=True):
    """A side panel that replays the passes of a fill."""

    DEFAULT_CSS = """
    PassesPanel > .passes--masked { color: $text-muted; }
    PassesPanel > .passes--new { color: $text; background: $error 60%; text-style: bold; }
    PassesPanel > .passes--done { color: $text; }
    PassesPanel > .passes--low { color: $text-muted; text-style: italic; }
    PassesPanel > .passes--kept { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"passes--masked", "passes--new", "passes--done", "passes--low", "passes--kept"}

    BINDINGS = [
        Binding("left,k", "step(-1)", "Previous pass", show=False),
        Binding("right,j", "step(1)", "Next pass", show=False),
        Binding("home", "jump(0)", "First pass", show=False),
        Binding("end", "jump(-1)", "Last pass", show=False),
    ]

    index: reactive[int] = reactive(-1)
    """Which pass is shown (-1: none yet)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._trace: Sequence[StepEvent] = ()
        self._result: FillResult | None = None
        self._live: PassView | None = None
        self._followed = 0
        self._folded: tuple[int, FillView, PassView] | None = None
        """(index, view, pass) of the last pass folded from the result, to go on from."""
        self._kinds: tuple[str, ...] = ()
        self._stale = False
        """Whether what the panel holds changed while it was hidden (it is drawn when shown)."""

    @property
    def trace(self) -> Sequence[StepEvent]:
        """The steps the panel can show (while a fill runs: none yet, only the newest pass)."""
        return self._trace

    @property
    def count(self) -> int:
        """Passes the panel can show."""
        return len(self._trace) if self._result is not None else self._followed

    def compose(self) -> ComposeResult:
        yield Static("no fill yet", id="passes-header")
        yield Static("", id="passes-body")

    def start(self, kinds: Sequence[str]) -> None:
        """Forget the last fill; ``kinds`` names each hole (insert, replace, revise)."""
        self._trace = ()
        self._result = None
        self._live = None
        self._followed = 0
        self._folded = None
        self._kinds = tuple(kinds)
        self.index = -1
        self._draw()

    def follow(self, shown: PassView) -> None:
        """Show a pass of the running fill as it arrives."""
        self._live = shown
        self._followed += 1
        self.index = self._followed - 1

    def load(self, result: FillResult) -> None:
        """Replace what was followed live with the fill's complete trace, showing the last pass."""
        self._result = result if result.start is not None else None
        self._trace = result.trace if self._result is not None else ()
        self._live = None
        self._folded = None
        self.index = len(self._trace) - 1
        self._draw()

    def action_step(self, delta: int) -> None:
        """Show the previous (-1) or next (+1) pass."""
        if self._result is not None and self._trace:
            self.index = max(0, min(len(self._trace) - 1, self.index + delta))

    def action_jump(self, index: int) -> None:
        """Show the first (0) or last (-1) pass."""
        if self._result is not None and self._trace:
            self.index = index % len(self._trace)

    def pass_at(self, index: int) -> PassView:
        """Pass ``index`` of the loaded result, folded from its start (or on from the last one folded)."""
        assert self._result is not None and self._result.start is not None
        if self._folded is not None and self._folded[0] <= index:
            at, view, shown = self._folded
        else:
            at, view, shown = -1, FillView(self._result.start), None
        for i in range(at + 1, index + 1):
            shown = view.apply(self._trace[i])
        assert shown is not None
        self._folded = (index, view, shown)
        return shown

    def watch_index(self) -> None:
        self._draw()

    def on_show(self) -> None:
        if self._stale:
            self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        if not self.display:
            # Hidden (F3 shows it): a Static's update lays out the whole screen, which on every pass
            # of a fill is most of what a pass costs the editor. Drawn when shown instead.
            self._stale = True
            return
        self._stale = False
        header = self.query_one("#passes-header", Static)
        body = self.query_one("#passes-body", Static)
        if self.count == 0 or self.index < 0:
            header.update("no fill yet" if not self._kinds else "waiting for the first pass…")
            body.update("")
            return
        shown = self._live if self._result is None and self._live is not None else self.pass_at(self.index)
        header.update(
            f"pass {self.index + 1}/{self.count} · step {shown.step}/{shown.total_steps} · "
            f"+{len(shown.committed)} tokens · NFE {shown.nfe}  (←/→)"
        )
        text = Text()
        for i, pieces in enumerate(shown.pieces):
            kind = self._kinds[i] if i < len(self._kinds) else "hole"
            text.append(f"hole {i + 1} · {kind}\n", style="bold")
            for piece in pieces:
                style = self.get_component_rich_style(f"passes--{piece_state(piece)}", partial=True)
                text.append(visible(piece.text), style)
            text.append("\n\n")
        body.update(text)
