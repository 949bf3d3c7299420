"""``python -m canvasedit`` is the ``canvasedit`` command."""

from canvasedit.cli import main

raise SystemExit(main())
