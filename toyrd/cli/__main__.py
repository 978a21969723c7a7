"""``python -m toyrd.cli``: the ``toyrd`` command."""

import sys

from toyrd.cli import main

sys.exit(main())
