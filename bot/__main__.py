"""Entry point: `python -m bot [run|migrate|import|invite] ...`."""

import sys

from bot.cli import main

sys.exit(main())
