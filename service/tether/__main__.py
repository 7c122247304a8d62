"""``python -m tether`` runs tetherd, the same as the ``tetherd`` command."""

from .cli.tetherd import main

raise SystemExit(main())
