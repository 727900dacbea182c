"""python -m launcher up|demo (the ./betmesh wrapper runs this)."""

from __future__ import annotations

import sys

from launcher.cli import main

sys.exit(main())
