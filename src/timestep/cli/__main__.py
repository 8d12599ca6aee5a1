"""``python -m timestep.cli``."""

import sys

from . import main

sys.exit(main())
