"""`python -m ui.cli …`: the same as `dxa …` (ui/jobs.py starts upload jobs this way)."""

import sys

from ui.cli import main

sys.exit(main())
