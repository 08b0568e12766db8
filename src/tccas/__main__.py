"""``python -m tccas`` is the ``tccas`` command."""

import sys

from tccas.cli import main

sys.exit(main())
