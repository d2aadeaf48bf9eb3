"""The writer thread: drains the queue into ClickHouse in batches, retrying while the store is down.

A batch leaves the queue only after ClickHouse took it; a retry (in this process or after a crash)
carries the same dedup token, so nothing is lost and nothing doubles.

The writer converts requests (OTLP -> columns, Python) as they arrive, up to the next batch, and
serializes a claimed batch (Native format), while its inserter thread inserts the previous batch
(ClickHouse's work, which releases the GIL), so the two overlap: at most about two batches of rows
are alive, and at most one insert is in flight.
Batches are completed in the order they are claimed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from queue import SimpleQueue
from typing import Any

from otel_llmcost.collector.config import CollectorConfig
from otel_llmcost.collector.otlp import BadRequest, parse_protobuf
from otel_llmcost.collector.queue import Batch, DiskQueue
from otel_llmcost.collector.sink import BadPayload, NativeRows, StoreSink
from otel_llmcost.collector.stats import Stats

logger = logging.getLogger("otel_llmcost.collector")

BACKOFF_FIRST = 0.25
BACKOFF_MAX = 30.0
PING_INTERVAL = 5.0  # seconds between reachability checks while idle, for /health
SPOOL_RETRY_PAUSE = 30.0  # seconds between spool drains while they fail (the store is down)


@dataclass(frozen=True)
class _Insert:
    batch: Batch
    done: Future


class _Inserter:
    """One daemon thread that runs inserts handed to it, one at a time (a daemon, as the writer is:
    an insert still running never holds up the process's exit; its batch stays queued on disk)."""

    def __init__(self, on_done: Callable[[], None]) -> None:
        self._jobs: SimpleQueue[tuple[Future, Callable[[], Any]] | None] = SimpleQueue()
        self._on_done = on_done
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], Any]) -> Future:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="otlp-inserter", daemon=True)
            self._thread.start()
        done: Future = Future()
        self._jobs.put((done, job))
        return done

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            done, job = item
            try:
                done.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - handed to the writer, which logs it and retries
                done.set_exception(exc)
            self._on_done()


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
        self._spool_failing = False
        self._last_ping = 0.0
        self._inflight: _Insert | None = None  # the insert the inserter thread is running
        # Requests of the next batch converted before it is claimed (None: not OTLP), by segment name.
        self._ahead: dict[str, dict[str, list[Any]] | None] = {}
        self._inserter = _Inserter(on_done=queue.wake)
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
            try:
                if self._inflight is not None:
                    self._finish()  # an insert cannot be abandoned half-way: see it through
            finally:
                self._inserter.close()
                self._sink.close()

    def _finished(self) -> bool:
        if not self._stop.is_set():
            return False
        return time.monotonic() >= self._deadline or self._queue.depth().requests == 0

    def _step(self) -> None:
        if not self._sink.connected and not self._connect():
            self._pause()
            return
        inflight = self._inflight
        if inflight is None:
            self._drain_spool()
        if not self._stop.is_set() and not self._wait(inflight):
            if inflight is not None and inflight.done.done():
                if not self._finish():
                    self._pause()
                return
            if self._convert_ahead():
                return
            if inflight is None:
                self._ping()
                return
        batch = self._queue.next_batch(
            self._config.batch_spans, self._config.batch_max_bytes, busy=None if inflight is None else inflight.batch
        )
        if batch is None:
            if inflight is None:
                self._ping()
            elif not self._finish():
                self._pause()
            return
        try:
            rows = self._prepare(batch)  # while the previous batch is being inserted
        except BaseException:
            if inflight is not None:
                self._finish()
            raise
        landed = None
        if inflight is not None:
            landed = self._await()
            if landed is None:
                # The batch just converted stays claimed: it is retried after the failed one, in order.
                self._pause()
                return
        if rows is not None:
            self._inflight = _Insert(batch, self._inserter.submit(lambda: self._sink.insert_encoded(rows, batch.token)))
        if landed is not None:
            self._complete(landed)  # the next insert is under way: the deletions and fsyncs overlap it

    def _wait(self, inflight: _Insert | None) -> bool:
        """Wait until a batch is ready (True), or there is something else to do (False): a request of the
        next batch to convert ahead, the insert in flight ended, stopping, or (idle) a flush interval passed."""
        config, stopping = self._config, self._stop.is_set
        if inflight is None:
            return self._queue.wait(
                config.batch_spans,
                config.flush_interval,
                timeout=config.flush_interval,
                until=lambda: stopping() or self._can_convert_ahead(),
            )
        return self._queue.wait(
            config.batch_spans,
            # A partial batch could not go before this insert ends: it is taken now only if no request
            # came for a flush interval, so it would not grow anyway.
            config.flush_interval,
            quiet=config.flush_interval,
            busy=inflight.batch,
            until=lambda: inflight.done.done() or stopping() or self._can_convert_ahead(),
        )

    def _can_convert_ahead(self) -> bool:
        return any(segment.name not in self._ahead for segment in self._queue.upcoming(self._config.batch_spans))

    def _convert_ahead(self) -> bool:
        """Convert one request of the next batch before the batch is complete (at most a batch's worth is
        held converted ahead); False if there is none to convert."""
        for segment in self._queue.upcoming(self._config.batch_spans):
            if segment.name in self._ahead:
                continue
            try:
                self._ahead[segment.name] = self._sink.prepare(self._queue.read_segment(segment))
            except BadPayload:
                self._ahead[segment.name] = None  # converted again, and set aside, when its batch is claimed
            return True
        return False

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

    def _prepare(self, batch: Batch) -> NativeRows | None:
        """The batch's rows, encoded; None if it held unreadable requests (set aside; the rest is claimed again)."""
        try:
            parts = []
            for segment in batch.segments:
                columns = self._ahead.pop(segment.name, None)
                if columns is None:
                    columns = self._sink.prepare(self._queue.read_segment(segment))
                parts.append(columns)
        except BadPayload as exc:
            for segment in batch.segments:
                self._ahead.pop(segment.name, None)
            self._reject(batch, exc)
            return None
        return self._sink.encode(parts)

    def _finish(self) -> bool:
        """Wait for the insert in flight; if it landed, the batch leaves the queue. False if it failed."""
        landed = self._await()
        if landed is None:
            return False
        self._complete(landed)
        return True

    def _await(self) -> Batch | None:
        """Wait for the insert in flight; its batch if it landed, else None (the store is marked down)."""
        inflight, self._inflight = self._inflight, None
        assert inflight is not None
        try:
            inflight.done.result()
        except Exception as exc:
            self._store_down(f"insert of {inflight.batch.spans} spans failed: {exc}")
            return None
        return inflight.batch

    def _complete(self, batch: Batch) -> None:
        self._queue.complete(batch)
        self._stats.inserted(batch.spans)
        self._failures = 0

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
        pause = SPOOL_RETRY_PAUSE if self._spool_failing else self._config.spool_interval
        if time.monotonic() - self._last_spool < pause:
            return
        self._last_spool = time.monotonic()
        try:
            rows = self._sink.drain_spool()
        except Exception as exc:
            if not self._spool_failing:  # once per outage, not every few seconds: the files wait on disk
                logger.warning("Could not ingest the spool (%s); trying again every %.0fs", exc, SPOOL_RETRY_PAUSE)
            self._spool_failing = True
            return
        self._spool_failing = False
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
