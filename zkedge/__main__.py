"""``python -m zkedge``: the same as the ``zkedge`` command."""

import sys

from .cli import main

sys.exit(main())
