"""The collector's view of the store: connect, insert an OTLP batch idempotently, drain the spool.

All ClickHouse work (rows, schema, dedup, spool format, the embedded store's lock) is the store's;
this only holds the client. Only the writer thread calls it: chDB is used from one thread.
"""

from __future__ import annotations

from otel_llmcost.store import spool
from otel_llmcost.store.connection import open_store, parse_url, resolve_url
from otel_llmcost.store.errors import BadPayload
from otel_llmcost.store.ingest import insert_otlp

__all__ = ["BadPayload", "StoreSink"]


class StoreSink:
    def __init__(self, url: str | None) -> None:
        self._target = parse_url(resolve_url(url))  # a malformed URL fails here, at startup
        self._url = url
        self._client = None

    @property
    def embedded(self) -> bool:
        return self._target.embedded

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        """Open the store: schema applied, spool drained, and for chDB the store lock held until close."""
        self._client = open_store(self._url)

    def insert(self, payload: bytes, token: str) -> int:
        return insert_otlp(self._client, payload, dedup_token=token)

    def drain_spool(self) -> int:
        """Ingest what instrumented apps wrote to the spool; only the embedded store has one."""
        return spool.drain(self._client) if self.embedded else 0

    def ping(self) -> None:
        self._client.command("SELECT 1")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        """The URL without its password, for logs and /health."""
        return self._target.describe()
