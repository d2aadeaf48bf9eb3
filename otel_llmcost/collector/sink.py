"""The collector's view of the store: connect, insert an OTLP batch idempotently, drain the spool.

All ClickHouse work (rows, schema, dedup, spool format, the embedded store's lock) is the store's;
this only holds the client. The writer's thread calls it, and its inserter thread calls
``insert_encoded`` meanwhile; ``prepare`` and ``encode`` do not touch the store.
"""

from __future__ import annotations

from typing import Any

from otel_llmcost.store import spool
from otel_llmcost.store.connection import open_store, parse_url, resolve_url
from otel_llmcost.store.errors import BadPayload
from otel_llmcost.store.ingest import NativeRows, concat_rows, insert_native, insert_types, native_rows, rows_from_otlp

__all__ = ["BadPayload", "NativeRows", "StoreSink"]


class StoreSink:
    def __init__(self, url: str | None) -> None:
        self._target = parse_url(resolve_url(url))  # a malformed URL fails here, at startup
        self._url = url
        self._client = None
        self._types: list[Any] | None = None  # otel_traces' column types, read once per connection

    @property
    def embedded(self) -> bool:
        return self._target.embedded

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        """Open the store: schema applied, spool drained, and for chDB the store lock held until close."""
        client = open_store(self._url)
        try:
            self._types = insert_types(client)
        except BaseException:
            client.close()
            raise
        self._client = client

    def insert(self, payload: bytes, token: str) -> int:
        return self.insert_encoded(self.encode([self.prepare(payload)]), token)

    @staticmethod
    def prepare(payload: bytes) -> dict[str, list[Any]]:
        """A queued request's bytes as columns for ``encode``; BadPayload if they are not OTLP.
        Needs no store, so requests are converted while the previous batch is inserted."""
        return rows_from_otlp(payload)

    def encode(self, parts: list[dict[str, list[Any]]]) -> NativeRows:
        """The columns of a batch's requests (in order) serialized for ``insert_encoded``. Talks to no
        store, so one batch is encoded while the previous one is inserted."""
        if self._types is None:
            raise RuntimeError("encode() needs a connected store")
        return native_rows(self._client, concat_rows(parts), self._types)

    def insert_encoded(self, rows: NativeRows, token: str) -> int:
        """Insert an encoded batch under ``token`` (a retry with it is dropped by ClickHouse)."""
        return insert_native(self._client, rows, dedup_token=token)

    def drain_spool(self) -> int:
        """Ingest what instrumented apps spooled for this store: the embedded store's spool, or the
        batches their exporters kept on this machine while the server was down (``spool.dir_for``)."""
        return spool.drain(self._client, spool.dir_for(self._target))

    def ping(self) -> None:
        self._client.command("SELECT 1")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._types = None

    def describe(self) -> str:
        """The URL without its password, for logs and /health."""
        return self._target.describe()
