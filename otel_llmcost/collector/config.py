"""The collector's settings, with the defaults the CLI shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 2**20
REQUEST_DRAIN_SECONDS = 5.0  # on shutdown, requests in flight get this long to finish


@dataclass(frozen=True)
class CollectorConfig:
    queue_dir: Path
    clickhouse_url: str | None = None  # None: OTEL_LLMCOST_CLICKHOUSE_URL, else the embedded store
    host: str = "127.0.0.1"  # loopback: exposing the receiver is an explicit choice
    http_port: int | None = 4318  # None: no OTLP/HTTP receiver
    grpc_port: int | None = 4317  # None: no OTLP/gRPC receiver
    token: str | None = None  # bearer token every request must carry
    queue_max_bytes: int = 512 * MIB
    max_request_bytes: int = 16 * MIB
    batch_spans: int = 8192  # spans per ClickHouse insert
    batch_max_bytes: int = 64 * MIB
    flush_interval: float = 1.0  # seconds a partial batch may wait
    shutdown_timeout: float = 30.0  # seconds to flush the queue on SIGTERM
    log_interval: float = 10.0  # seconds between progress lines
    spool_interval: float = 2.0  # seconds between spool drains (the store's spool, embedded or a server's)
    grpc_workers: int = 4

    @property
    def inflight_max_bytes(self) -> int:
        """Request bodies held in memory at once: beyond this, new requests get 429 instead of RAM."""
        return 4 * self.max_request_bytes
