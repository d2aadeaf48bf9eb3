"""The one way commands make a rich Console.

Piped or captured output (CI logs, cron mail, `| less`) has no terminal width; rich would
squeeze tables into 80 columns and cut trace ids and fingerprints. There, use 160 columns
unless COLUMNS says otherwise.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 160


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(highlight=False, stderr=stderr, width=PIPED_WIDTH if piped else None)
