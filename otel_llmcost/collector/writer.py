"""The writer thread: drains the queue into ClickHouse in batches, retrying while the store is down.

A batch leaves the queue only after ClickHouse took it; a retry (in this process or after a crash)
carries the same dedup token, so nothing is lost and nothing doubles.
"""

from __future__ import annotations

import logging
import threading
import time

from otel_llmcost.collector.config import CollectorConfig
from otel_llmcost.collector.otlp import BadRequest, parse_protobuf
from otel_llmcost.collector.queue import Batch, DiskQueue
from otel_llmcost.collector.sink import BadPayload, StoreSink
from otel_llmcost.collector.stats import Stats

logger = logging.getLogger("otel_llmcost.collector")

BACKOFF_FIRST = 0.25
BACKOFF_MAX = 30.0
PING_INTERVAL = 5.0  # seconds between reachability checks while idle, for /health


class Writer:
    def __init__(self, queue: DiskQueue, sink: StoreSink, stats: Stats, config: CollectorConfig) -> None:
        self._queue = queue
        self._sink = sink
        self._stats = stats
        self._config = config
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._failures = 0
        self._last_spool = 0.0
        self._last_ping = 0.0
        self._thread = threading.Thread(target=self._run, name="otlp-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Flush what is queued for at most ``timeout`` seconds, then stop; the rest stays on disk."""
        if not self._thread.is_alive():
            return
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._queue.wake()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._finished():
                try:
                    self._step()
                except Exception:  # a bug here must not end ingestion: log it and go on after a pause
                    logger.exception("Collector writer failed; retrying")
                    self._pause()
        finally:
            self._sink.close()

    def _finished(self) -> bool:
        if not self._stop.is_set():
            return False
        return time.monotonic() >= self._deadline or self._queue.depth().requests == 0

    def _step(self) -> None:
        if not self._sink.connected and not self._connect():
            self._pause()
            return
        self._drain_spool()
        if not self._stop.is_set():
            self._queue.wait(self._config.batch_spans, self._config.flush_interval)
        batch = self._queue.next_batch(self._config.batch_spans, self._config.batch_max_bytes)
        if batch is None:
            self._ping()
        elif self._insert(batch):
            self._failures = 0
        else:
            self._pause()

    def _connect(self) -> bool:
        try:
            self._sink.connect()
        except Exception as exc:
            self._store_down(f"cannot open the store {self._sink.describe()}: {exc}")
            return False
        logger.info("Writing to %s", self._sink.describe())
        self._stats.store_state(True)
        self._failures = 0
        return True

    def _insert(self, batch: Batch) -> bool:
        try:
            self._sink.insert(self._queue.read(batch), batch.token)
        except BadPayload as exc:
            self._reject(batch, exc)
            return True
        except Exception as exc:
            self._store_down(f"insert of {batch.spans} spans failed: {exc}")
            return False
        self._queue.complete(batch)
        self._stats.inserted(batch.spans)
        return True

    def _reject(self, batch: Batch, exc: BadPayload) -> None:
        """Set aside what ClickHouse cannot read (they were valid when queued, so this is disk damage)."""
        bad = [segment for segment in batch.segments if not self._parses(segment)] or list(batch.segments)
        logger.error(
            "The store refused %d queued requests (%s); moved them to %s/rejected",
            len(bad),
            exc,
            self._queue.directory,
        )
        self._queue.reject(batch, bad)

    def _parses(self, segment) -> bool:
        try:
            parse_protobuf(self._queue.read_segment(segment))
        except BadRequest:
            return False
        return True

    def _drain_spool(self) -> None:
        if not self._sink.embedded or time.monotonic() - self._last_spool < self._config.spool_interval:
            return
        self._last_spool = time.monotonic()
        try:
            rows = self._sink.drain_spool()
        except Exception as exc:
            logger.warning("Could not ingest the spool: %s", exc)
            return
        if rows:
            self._stats.spooled(rows)
            logger.info("Ingested %d spans from the spool", rows)

    def _ping(self) -> None:
        if time.monotonic() - self._last_ping < PING_INTERVAL:
            return
        self._last_ping = time.monotonic()
        try:
            self._sink.ping()
        except Exception as exc:
            self._store_down(f"ClickHouse is unreachable: {exc}")
        else:
            self._stats.store_state(True)

    def _store_down(self, message: str) -> None:
        self._failures += 1
        self._stats.store_state(False, message)
        logger.warning("%s; queued data is kept and retried in %.1fs", message, self._backoff())

    def _backoff(self) -> float:
        return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(self._failures - 1, 0))

    def _pause(self) -> None:
        delay = self._backoff()
        if self._stop.is_set():
            time.sleep(max(0.0, min(delay, self._deadline - time.monotonic())))
        else:
            self._stop.wait(delay)
