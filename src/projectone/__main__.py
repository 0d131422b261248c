"""``python -m projectone``: the same as the ``projectone`` command."""

from projectone.entrypoints.cli import main

raise SystemExit(main())
