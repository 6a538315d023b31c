"""``python -m zkedge``: the same as the ``zkedge`` command."""

import sys

from zkedge.cli import main

sys.exit(main())
