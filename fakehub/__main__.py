"""`python -m fakehub serve ...`: see fakehub.cli."""

from fakehub.cli import main

raise SystemExit(main())
