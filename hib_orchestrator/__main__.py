"""``python -m hib_orchestrator`` is ``hib``."""

import sys

from hib_orchestrator.cli import main

sys.exit(main())
