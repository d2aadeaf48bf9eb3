"""``python -m otel_llmcost.cli``: the ``otel-llmcost`` command without its script on PATH."""

from otel_llmcost.cli.main import main

main()
