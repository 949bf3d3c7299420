"""Entry script of the PyInstaller app: the same ``canvasedit`` command as the installed one."""

from canvasedit.cli import main

raise SystemExit(main())
