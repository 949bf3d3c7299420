"""The editor's side of crash recovery: journal the buffer while it has unsaved changes, offer it back.

``RecoveryControl`` is mixed into ``EditorScreen``; the journal itself is ``ui.recovery``. A
snapshot is written every ``JOURNAL_SECONDS`` while the buffer is dirty and changed since the
last one, and at once when the terminal loses focus (``journal_now``, called by the app). A save
(``saved``), a clean quit or an explicit discard removes it (``forget_journal``). Opening a file
whose journal outlived its editor shows ``RecoverScreen``: the diff against the file, recover,
discard, or decide later.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from canvasedit.ui.holes import MARKED, HoleMark
from canvasedit.ui.recovery import Journal, Snapshot, untitled_journals, write_quietly, writer_alive
from canvasedit.ui.screens.recover import RecoverScreen

if TYPE_CHECKING:
    from canvasedit.document import Document
    from canvasedit.ui.widgets import CanvasArea

JOURNAL_SECONDS = 3.0
"""How often a dirty buffer is journalled."""


class RecoveryControl:
    """Journal and recovery for the editor screen."""

    if TYPE_CHECKING:
        canvas: CanvasArea
        document: Document
        dirty: bool
        shown: str

        def notify(self, message: str, *, severity: str = "information", **kwargs: object) -> None: ...
        def set_interval(self, interval: float, callback: object) -> object: ...
        def set_summary(self, text: str) -> None: ...
        def _update_dirty(self) -> None: ...
        @property
        def app(self) -> object: ...

    _journal: Journal | None = None
    _journalled: int | None = None
    _journal_error = False

    def start_journal(self) -> None:
        """Begin journalling the current document (and offer what an earlier session left)."""
        self._journal = Journal.for_path(self.document.path)
        self._journalled = None
        self.offer_recovery()

    def journal_now(self) -> None:
        """Write a snapshot if the buffer has unsaved changes not journalled yet."""
        journal = self._journal
        if journal is None or not self.dirty:
            return
        version = self.canvas.version
        if version == self._journalled:
            return
        marks = self.canvas.committed_marks()
        state = self.document.disk_state
        snapshot = Snapshot(
            path=str(journal.path) if journal.path else None,
            text=self.canvas.committed_text(),
            holes=tuple((m.start, m.end, m.length, m.revise) for m in marks),
            cursor=self.canvas.cursor_location,
            base_sha256=state.sha256 if state is not None else "",
        )
        problem = write_quietly(journal, snapshot)
        if problem is None:
            self._journalled = version
        elif not self._journal_error:
            self._journal_error = True  # say it once, not every few seconds
            self.notify(f"cannot keep a recovery copy: {problem}", severity="warning")

    def forget_journal(self) -> None:
        """The buffer's unsaved changes are saved or discarded: no recovery copy is needed."""
        if self._journal is not None:
            self._journal.remove()
        self._journalled = None

    def saved(self) -> None:
        """After a save: the journal is obsolete, and a save-as moves it to the new path."""
        self.forget_journal()
        self._journal = Journal.for_path(self.document.path)

    # ------------------------------------------------------------------ recovery

    def offer_recovery(self) -> None:
        """Offer the journal an earlier editor left for this file (or an untitled buffer)."""
        if self.document.path is None:
            found = untitled_journals()
            journal = found[0] if found else None
        else:
            journal = Journal.for_path(self.document.path)
        snapshot = journal.read() if journal is not None else None
        if journal is None or snapshot is None:
            return
        if snapshot.text == self.shown:
            journal.remove()  # nothing was lost
            return
        if writer_alive(snapshot):
            self.notify(
                f"{self.document.path} is open in another CanvasEdit (process {snapshot.pid}); "
                "its unsaved changes are that editor's",
                severity="warning",
                timeout=8,
            )
            return
        name = self.document.path.name if self.document.path else "untitled"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot.written))
        note = f"journalled {when}"
        state = self.document.disk_state
        if state is not None and snapshot.base_sha256 and state.sha256 != snapshot.base_sha256:
            note += " · the file changed on disk since: recovering puts these changes over the new version"
        self.app.push_screen(  # type: ignore[attr-defined]
            RecoverScreen(name, snapshot.diff(self.shown, name), note),
            lambda answer: self._recovered(answer, journal, snapshot),
        )

    def _recovered(self, answer: str | None, journal: Journal, snapshot: Snapshot) -> None:
        if answer == "discard":
            journal.remove()
            return
        if answer != "recover":
            return  # later: the journal stays for the next time the file is opened
        self.canvas.load_text(snapshot.text)
        text_length = len(snapshot.text)
        for start, end, length, revise in snapshot.holes:
            if 0 <= start <= end <= text_length:
                mark = HoleMark(start, end, length, revise)
                if not self.canvas.holes.overlapping(mark):
                    self.canvas.holes.add(mark, MARKED)
        self.canvas.refresh_holes()
        row, column = snapshot.cursor
        if row < self.canvas.document.line_count:
            self.canvas.move_cursor((row, min(column, len(self.canvas.document[row]))), center=True)
        if journal.path is None:
            journal.remove()  # an untitled buffer's copy belongs to this session's journal now
        self._update_dirty()
        self._journalled = None
        self.journal_now()
        self.set_summary("unsaved changes recovered; save to keep them")

