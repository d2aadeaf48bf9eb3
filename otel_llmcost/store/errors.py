"""What can go wrong opening or writing the store, each with a message that says how to fix it."""

from __future__ import annotations

INSTALL_HINT = "pip install 'otel-llmcost[store]'"


class StoreError(Exception):
    """Base of the store's errors; the message is meant for the user, not a traceback."""


class StoreURLError(StoreError, ValueError):
    """The ClickHouse URL is malformed or of an unsupported kind."""


class StoreBusy(StoreError):
    """Another process holds the embedded store (chDB allows one process per data directory)."""


class StoreDependencyMissing(StoreError, ImportError):
    """chDB or clickhouse-connect is not installed."""


class BadPayload(StoreError, ValueError):
    """Bytes that are not a serialized OTLP ExportTraceServiceRequest."""
