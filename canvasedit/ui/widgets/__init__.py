"""Reusable widgets of the editor: the canvas (TextArea with holes, the pass overlay and proposals), the
status bar, the passes panel and the find bar."""

from canvasedit.ui.widgets.canvas import CanvasArea
from canvasedit.ui.widgets.find import FindBar
from canvasedit.ui.widgets.passes import PassesPanel
from canvasedit.ui.widgets.status import StatusBar

__all__ = ["CanvasArea", "FindBar", "PassesPanel", "StatusBar"]
