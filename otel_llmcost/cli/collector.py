"""``otel-llmcost collector``: an OTLP receiver (HTTP + gRPC) with a durable queue in front of ClickHouse."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import click

from otel_llmcost.collector.config import MIB, CollectorConfig
from otel_llmcost.collector.queue import QueueLocked
from otel_llmcost.collector.service import Collector
from otel_llmcost.semconv import ENV_CLICKHOUSE_URL, ENV_COLLECTOR_TOKEN
from otel_llmcost.store.connection import data_dir
from otel_llmcost.store.errors import StoreError

logger = logging.getLogger("otel_llmcost.collector")
DEFAULTS = CollectorConfig(queue_dir=Path())


@click.command()
@click.option(
    "--clickhouse-url",
    metavar="URL",
    help=f"chdb:///path or http(s)://user:pass@host:8123/db. Default: ${ENV_CLICKHOUSE_URL}, else the embedded store.",
)
@click.option("--host", default=DEFAULTS.host, show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option(
    "--http-port",
    type=click.IntRange(0, 65535),
    default=DEFAULTS.http_port,
    show_default=True,
    help="OTLP/HTTP port; 0 turns it off.",
)
@click.option(
    "--grpc-port",
    type=click.IntRange(0, 65535),
    default=DEFAULTS.grpc_port,
    show_default=True,
    help="OTLP/gRPC port; 0 turns it off.",
)
@click.option(
    "--queue-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Durable queue between acknowledgement and insert. Default: <data dir>/collector-queue.",
)
@click.option(
    "--queue-max-mb",
    type=click.IntRange(1),
    default=DEFAULTS.queue_max_bytes // MIB,
    show_default=True,
    help="Queue size beyond which requests get 429 / RESOURCE_EXHAUSTED.",
)
@click.option(
    "--max-request-mb",
    type=click.IntRange(1),
    default=DEFAULTS.max_request_bytes // MIB,
    show_default=True,
    help="Largest request body (after decompression); larger ones get 413.",
)
@click.option(
    "--token", envvar=ENV_COLLECTOR_TOKEN, help=f"Bearer token every request must carry (or ${ENV_COLLECTOR_TOKEN})."
)
@click.option(
    "--batch-spans",
    type=click.IntRange(1),
    default=DEFAULTS.batch_spans,
    show_default=True,
    help="Spans per ClickHouse insert.",
)
@click.option(
    "--flush-interval",
    type=click.FloatRange(0.01),
    default=DEFAULTS.flush_interval,
    show_default=True,
    help="Seconds a partial batch waits before it is inserted.",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=DEFAULTS.shutdown_timeout,
    show_default=True,
    help="Seconds to flush the queue on SIGTERM/SIGINT; the rest waits on disk.",
)
@click.option(
    "--log-interval",
    type=click.FloatRange(0.1),
    default=DEFAULTS.log_interval,
    show_default=True,
    help="Seconds between throughput lines in the log.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def collector(
    clickhouse_url: str | None,
    host: str,
    http_port: int,
    grpc_port: int,
    queue_dir: Path | None,
    queue_max_mb: int,
    max_request_mb: int,
    token: str | None,
    batch_spans: int,
    flush_interval: float,
    shutdown_timeout: float,
    log_interval: float,
    verbose: bool,
) -> None:
    """Receive OTLP traces (HTTP /v1/traces and gRPC) and write them to ClickHouse.

    Every acknowledged request is on disk first (fsynced), so a ClickHouse outage, a restart
    or a kill -9 loses nothing, and retries never double a span. SIGTERM/SIGINT flushes and exits.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not http_port and not grpc_port:
        raise click.UsageError("--http-port and --grpc-port are both 0: nothing would listen.")
    if token is None and not _is_loopback(host):
        logger.warning("Listening on %s without --token: anyone who can reach it can write spans", host)
    config = CollectorConfig(
        queue_dir=queue_dir or data_dir() / "collector-queue",
        clickhouse_url=clickhouse_url,
        host=host,
        http_port=http_port or None,
        grpc_port=grpc_port or None,
        token=token,
        queue_max_bytes=queue_max_mb * MIB,
        max_request_bytes=max_request_mb * MIB,
        batch_spans=batch_spans,
        flush_interval=flush_interval,
        shutdown_timeout=shutdown_timeout,
        log_interval=log_interval,
    )
    try:
        Collector(config).run()
    except (QueueLocked, StoreError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
