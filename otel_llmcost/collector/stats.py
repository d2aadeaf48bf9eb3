"""Counters the collector keeps for its health endpoint and its periodic progress log."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from otel_llmcost.collector.queue import Depth

logger = logging.getLogger("otel_llmcost.collector")


@dataclass
class Stats:
    received_requests: int = 0
    received_spans: int = 0
    inserted_spans: int = 0
    inserted_batches: int = 0
    spool_rows: int = 0
    last_insert: float | None = None  # unix time of the last successful insert
    clickhouse_ok: bool | None = None  # None until the first attempt
    clickhouse_error: str | None = None
    rejected: Counter = field(default_factory=Counter)  # reason -> requests
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def received(self, spans: int) -> None:
        with self._lock:
            self.received_requests += 1
            self.received_spans += spans

    def refused(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def inserted(self, spans: int) -> None:
        with self._lock:
            self.inserted_spans += spans
            self.inserted_batches += 1
            self.last_insert = time.time()
            self.clickhouse_ok, self.clickhouse_error = True, None

    def spooled(self, rows: int) -> None:
        with self._lock:
            self.spool_rows += rows

    def store_state(self, ok: bool, error: str | None = None) -> None:
        with self._lock:
            self.clickhouse_ok, self.clickhouse_error = ok, error


class ProgressLog:
    """Logs throughput and queue depth every interval, and stays quiet while nothing moves."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._last_time = time.monotonic()
        self._last_received = 0
        self._last_inserted = 0

    def tick(self, depth: Depth) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-9)
        received, inserted = self._stats.received_spans, self._stats.inserted_spans
        if received == self._last_received and inserted == self._last_inserted and not depth.requests:
            self._last_time = now
            return
        logger.info(
            "received %d spans (%.0f/s), inserted %d spans (%.0f/s); queue: %d requests, %d spans, %.1f MiB",
            received - self._last_received,
            (received - self._last_received) / elapsed,
            inserted - self._last_inserted,
            (inserted - self._last_inserted) / elapsed,
            depth.requests,
            depth.spans,
            depth.bytes / 2**20,
        )
        self._last_time, self._last_received, self._last_inserted = now, received, inserted
