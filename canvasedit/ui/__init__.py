"""The terminal editor: the only part of CanvasEdit that imports Textual.

    from canvasedit.ui.app import run_editor
    run_editor(Path("example.py"))              # what `canvasedit example.py` does

Layout:

* ``app.py`` — ``CanvasEditApp`` (settings, global keys, quit confirmation) and ``run_editor``.
* ``messages.py`` — the dataclass messages workers post (``FillStep`` coalesces).
* ``screens/`` — the editor screen (files and holes in ``editor.py``, the fill cycle in
  ``editor_fill.py``), help, settings, and the confirm / path dialogs.
* ``widgets/`` — the canvas (a TextArea drawing holes and passes as an overlay), the status bar,
  the passes panel.
* ``holes.py``, ``overlay.py``, ``highlight.py``, ``filetypes.py`` — hole bookkeeping, overlay
  layout, the Pygments fallback and per-file display rules, without Textual, tested on their own.
* ``canvasedit.tcss`` — app-level styles.
"""
