"""The ``otel-llmcost`` command line (``main``); its commands live one family per module."""

from __future__ import annotations

import sys


def main() -> None:
    """The ``otel-llmcost`` command. A core install (``pip install otel-llmcost``: spans only) has no
    click: say which extra the command line needs instead of a traceback."""
    try:
        from otel_llmcost.cli.main import main as run
    except ImportError as exc:
        if exc.name != "click":
            raise
        sys.exit(
            "otel-llmcost: the command line needs the cli extra (click is not installed). Install it with "
            "pip install 'otel-llmcost[cli]', or 'otel-llmcost[store,cli]' for report, alerts and demo."
        )
    run()
