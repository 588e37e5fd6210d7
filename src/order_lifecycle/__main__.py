"""``python -m order_lifecycle``: the same as the ``order-lifecycle`` command."""

import sys

from .cli import main

sys.exit(main())
