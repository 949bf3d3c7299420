"""Reusable widgets of the editor: the canvas (TextArea with holes and the pass overlay), the status bar
and the passes panel."""

from canvasedit.ui.widgets.canvas import CanvasArea
from canvasedit.ui.widgets.passes import PassesPanel
from canvasedit.ui.widgets.status import StatusBar

__all__ = ["CanvasArea", "PassesPanel", "StatusBar"]
