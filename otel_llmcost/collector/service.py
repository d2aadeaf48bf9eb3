"""The collector process: receivers, queue and writer wired together, and an orderly stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from otel_llmcost.collector import grpc_receiver, http_receiver
from otel_llmcost.collector.config import REQUEST_DRAIN_SECONDS, CollectorConfig
from otel_llmcost.collector.intake import Intake
from otel_llmcost.collector.queue import DiskQueue
from otel_llmcost.collector.sink import StoreSink
from otel_llmcost.collector.stats import ProgressLog, Stats
from otel_llmcost.collector.writer import Writer

logger = logging.getLogger("otel_llmcost.collector")


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.sink = StoreSink(config.clickhouse_url)
        self.queue = DiskQueue(config.queue_dir, config.queue_max_bytes)
        self.intake = Intake(self.queue, self.stats, token=config.token, inflight_max_bytes=config.inflight_max_bytes)
        self.writer = Writer(self.queue, self.sink, self.stats, config)
        self._started = time.time()

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT, then flush the queue (bounded by the shutdown timeout)."""
        try:
            asyncio.run(self._serve())
        finally:
            try:
                self.writer.stop(self.config.shutdown_timeout)
            except KeyboardInterrupt:  # a second Ctrl-C: stop flushing; the queue is safe on disk
                logger.warning("Flush interrupted")
            self._report_leftover()
            self.queue.close()

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runner, grpc_server = await self._start_receivers()
        self.writer.start()
        progress = asyncio.create_task(self._log_progress())
        try:
            await stop.wait()
            logger.info("Stopping: no new requests; flushing the queue (up to %.0fs)", self.config.shutdown_timeout)
        finally:
            self.intake.stopping = True
            progress.cancel()
            if grpc_server is not None:
                await loop.run_in_executor(None, lambda: grpc_server.stop(REQUEST_DRAIN_SECONDS).wait())
            if runner is not None:
                await runner.cleanup()

    async def _start_receivers(self) -> tuple[web.AppRunner | None, Any]:
        config = self.config
        runner = grpc_server = None
        if config.http_port is not None:
            runner, port = await http_receiver.start_server(
                self.intake, self.health, config.host, config.http_port, max_request_bytes=config.max_request_bytes
            )
            logger.info("OTLP/HTTP on http://%s:%d%s", config.host, port, http_receiver.TRACES_PATH)
        if config.grpc_port is not None:
            try:
                grpc_server, port = grpc_receiver.start_server(
                    self.intake,
                    config.host,
                    config.grpc_port,
                    max_request_bytes=config.max_request_bytes,
                    workers=config.grpc_workers,
                )
            except OSError:
                if runner is not None:
                    await runner.cleanup()
                raise
            logger.info("OTLP/gRPC on %s:%d", config.host, port)
        return runner, grpc_server

    async def _log_progress(self) -> None:
        progress = ProgressLog(self.stats)
        while True:
            await asyncio.sleep(self.config.log_interval)
            progress.tick(self.queue.depth())

    def health(self) -> dict[str, Any]:
        stats, depth = self.stats, self.queue.depth()
        return {
            "status": "ok" if stats.clickhouse_ok else "degraded",
            "uptime_seconds": round(time.time() - self._started, 1),
            "queue": {
                "requests": depth.requests,
                "spans": depth.spans,
                "bytes": depth.bytes,
                "max_bytes": self.queue.max_bytes,
                "dir": str(self.queue.directory),
            },
            "received": {"requests": stats.received_requests, "spans": stats.received_spans},
            "inserted": {
                "spans": stats.inserted_spans,
                "batches": stats.inserted_batches,
                "spool_rows": stats.spool_rows,
            },
            "rejected": dict(stats.rejected),
            "last_insert": _iso(stats.last_insert),
            "clickhouse": {
                "url": self.sink.describe(),
                "reachable": stats.clickhouse_ok,
                "error": stats.clickhouse_error,
            },
        }

    def _report_leftover(self) -> None:
        depth = self.queue.depth()
        if depth.requests:
            logger.warning(
                "Stopped with %d requests (%d spans) still queued in %s; they are inserted on the next start",
                depth.requests,
                depth.spans,
                self.queue.directory,
            )
        else:
            logger.info("Stopped; queue empty (%d spans inserted)", self.stats.inserted_spans)


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat()
