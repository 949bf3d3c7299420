"""The passes panel: every denoising pass of the last fill, replayed one at a time.

    panel = PassesPanel()
    panel.follow(event)          # while a fill runs: show the newest pass
    panel.load(result.trace)     # afterwards: ←/→ step through the passes, home/end jump

Unlike the canvas overlay, the panel shows each hole's text with its real line breaks, so a
multi-line fill reads naturally here. It replays ``FillResult.trace``, which holds every pass even
when the canvas skipped some to keep up.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from canvasedit.engine import StepEvent
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
        self._trace: list[StepEvent] = []
        self._kinds: tuple[str, ...] = ()

    @property
    def trace(self) -> Sequence[StepEvent]:
        """The passes the panel can show."""
        return self._trace

    def compose(self) -> ComposeResult:
        yield Static("no fill yet", id="passes-header")
        yield Static("", id="passes-body")

    def start(self, kinds: Sequence[str]) -> None:
        """Forget the last fill; ``kinds`` names each hole (insert, replace, revise)."""
        self._trace = []
        self._kinds = tuple(kinds)
        self.index = -1
        self._draw()

    def follow(self, event: StepEvent) -> None:
        """Show a pass of the running fill as it arrives."""
        self._trace.append(event)
        self.index = len(self._trace) - 1

    def load(self, trace: Sequence[StepEvent]) -> None:
        """Replace what was followed live with the complete trace, showing the last pass."""
        self._trace = list(trace)
        self.index = len(self._trace) - 1
        self._draw()

    def action_step(self, delta: int) -> None:
        """Show the previous (-1) or next (+1) pass."""
        if self._trace:
            self.index = max(0, min(len(self._trace) - 1, self.index + delta))

    def action_jump(self, index: int) -> None:
        """Show the first (0) or last (-1) pass."""
        if self._trace:
            self.index = index % len(self._trace)

    def watch_index(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        header = self.query_one("#passes-header", Static)
        body = self.query_one("#passes-body", Static)
        if not self._trace or self.index < 0:
            header.update("no fill yet" if not self._kinds else "waiting for the first pass…")
            body.update("")
            return
        event = self._trace[self.index]
        header.update(
            f"pass {self.index + 1}/{len(self._trace)} · step {event.step}/{event.total_steps} · "
            f"+{len(event.committed)} tokens · NFE {event.nfe}  (←/→)"
        )
        text = Text()
        for i, pieces in enumerate(event.pieces):
            kind = self._kinds[i] if i < len(self._kinds) else "hole"
            text.append(f"hole {i + 1} · {kind}\n", style="bold")
            for piece in pieces:
                style = self.get_component_rich_style(f"passes--{piece_state(piece)}", partial=True)
                text.append(visible(piece.text), style)
            text.append("\n\n")
        body.update(text)
