"""Span exporters into the store, and the export an instrumented program gets when it configured none.

``SpoolSpanExporter`` (embedded mode) appends each batch to the spool and never touches
chDB, so this module imports no ClickHouse code at import time. ``ClickHouseSpanExporter``
(server mode) inserts each batch directly, retrying with backoff inside its timeout, and
falls back to the spool when the server stays down, so a batch is never dropped; the next
``otel-llmcost`` command (or the collector) ingests the spool.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_llmcost import semconv as sc
from otel_llmcost.store import spool

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

logger = logging.getLogger("otel_llmcost.store")

DEFAULT_TIMEOUT = 10.0  # seconds one export may spend retrying before it spools the batch
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 4.0


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """Spans as a serialized OTLP ExportTraceServiceRequest: what the spool and the collector hold."""
    return encode_spans(spans).SerializeToString()


class SpoolSpanExporter(SpanExporter):
    """Writes each batch to the embedded store's spool (``$OTEL_LLMCOST_DATA_DIR/spool``)."""

    def __init__(self, spool_dir: str | os.PathLike[str] | None = None) -> None:
        self.spool_dir = spool.resolve_dir(spool_dir)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            spool.write_batch(encode(spans), self.spool_dir)
        except Exception:
            logger.exception("Could not write %d spans to the spool %s", len(spans), self.spool_dir)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is already on disk


class ClickHouseSpanExporter(SpanExporter):
    """Inserts each batch into a ClickHouse server, idempotently; spools it if the server stays down.

    One dedup token per batch makes every retry safe. Retries back off exponentially with
    jitter and stop at ``timeout`` seconds per export; memory holds one batch at a time.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        spool_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from otel_llmcost.store.connection import parse_url, resolve_url

        self.url = resolve_url(url)
        self.target = parse_url(self.url)  # a bad URL fails here, at setup, not in the export thread
        self.timeout = timeout
        self.spool_dir = spool.resolve_dir(spool_dir)
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        payload = encode(spans)
        with self._lock:
            if not self._shutdown and self._insert_with_retries(payload, uuid.uuid4().hex):
                return SpanExportResult.SUCCESS
        return self._spool(payload, len(spans))

    def _insert_with_retries(self, payload: bytes, token: str) -> bool:
        deadline = time.monotonic() + self.timeout
        backoff = FIRST_BACKOFF
        while True:
            error = self._try_insert(payload, token, deadline)
            if error is None:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "ClickHouse at %s did not take a batch within %.1fs (%s); spooling it to %s",
                    self.target.describe(),
                    self.timeout,
                    error,
                    self.spool_dir,
                )
                return False
            time.sleep(min(backoff * random.uniform(0.5, 1.5), remaining))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _try_insert(self, payload: bytes, token: str, deadline: float) -> Exception | None:
        from otel_llmcost.store.ingest import insert_otlp

        try:
            if self._client is None:
                self._client = self._open(max(deadline - time.monotonic(), 0.1))
            insert_otlp(self._client, payload, dedup_token=token)
        except Exception as exc:  # noqa: BLE001 (any failure: reconnect and retry with the same token)
            self._drop_client()
            return exc
        return None

    def _open(self, timeout: float) -> Client:
        from otel_llmcost.store.connection import open_store

        return open_store(self.url, timeout=timeout, drain_spool=False)

    def _spool(self, payload: bytes, count: int) -> SpanExportResult:
        try:
            spool.write_batch(payload, self.spool_dir)
        except Exception:
            logger.exception(
                "Could not spool %d spans to %s after ClickHouse failed: they are lost", count, self.spool_dir
            )
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                logger.debug("closing a failed ClickHouse client", exc_info=True)

    def shutdown(self) -> None:
        with self._lock:
            self._shutdown = True
            self._drop_client()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # exports are synchronous


@dataclass(frozen=True)
class DefaultExport:
    """What ``configure_default_export`` did: ``installed`` our exporter, ``configured`` the user's
    OTel settings, or ``skipped`` and why."""

    action: str
    detail: str
    exporter: SpanExporter | None = None

    def __str__(self) -> str:
        return f"{self.action}: {self.detail}"


_configure_lock = threading.Lock()
_USER_EXPORT_SETTINGS = (
    sc.ENV_OTEL_EXPORTER_OTLP_ENDPOINT,
    sc.ENV_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    sc.ENV_OTEL_TRACES_EXPORTER,
)


def configure_default_export(**exporter_options: Any) -> DefaultExport:
    """Send spans to the store when the program set up no tracing of its own.

    Skips when a tracer provider is already set. When an OTel exporter setting is present
    the user's choice wins: it is applied with the SDK's configurator (as opentelemetry-distro
    would) if nothing applied it yet. Otherwise installs an SDK TracerProvider (resource from
    OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES) with a BatchSpanProcessor over
    ClickHouseSpanExporter when OTEL_LLMCOST_CLICKHOUSE_URL is an http(s) URL, else over
    SpoolSpanExporter; the provider flushes at exit.
    """
    with _configure_lock:
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return DefaultExport("skipped", "a tracer provider is already set")
        configured = [name for name in _USER_EXPORT_SETTINGS if os.environ.get(name, "").strip()]
        if configured:
            return _apply_otel_settings(configured)
        exporter = _default_exporter(**exporter_options)
        provider = TracerProvider()  # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        where = exporter.target.describe() if isinstance(exporter, ClickHouseSpanExporter) else exporter.spool_dir
        return DefaultExport("installed", f"{type(exporter).__name__} -> {where}", exporter)


def _apply_otel_settings(configured: list[str]) -> DefaultExport:
    """The user configured OpenTelemetry's export but no distro applied it (``opentelemetry-instrument``
    without ``opentelemetry-distro`` reads no OTEL_* exporter setting): apply it with the SDK's own
    configurator, as the distro would, instead of silently dropping spans."""
    try:
        from opentelemetry.sdk._configuration import _get_exporter_entry_point, _OTelSDKConfigurator

        # The distro's default exporter: an OTLP endpoint alone means OTLP (gRPC or the configured protocol).
        traces = [] if os.environ.get(sc.ENV_OTEL_TRACES_EXPORTER, "").strip() else ["otlp"]
        _OTelSDKConfigurator().configure(trace_exporter_names=[_get_exporter_entry_point(n, "traces") for n in traces])
    except Exception as exc:  # noqa: BLE001 (setting up telemetry must never break the program)
        logger.warning("Could not apply the OpenTelemetry export settings %s: %s", ", ".join(configured), exc)
        return DefaultExport("skipped", f"{', '.join(configured)} is set but could not be applied: {exc}")
    return DefaultExport("configured", f"OpenTelemetry's SDK export from {', '.join(configured)}")


def _default_exporter(**options: Any) -> SpanExporter:
    url = os.environ.get(sc.ENV_CLICKHOUSE_URL, "").strip()
    if url.lower().startswith(("http://", "https://")):
        return ClickHouseSpanExporter(url, **options)
    return SpoolSpanExporter(**{key: value for key, value in options.items() if key == "spool_dir"})
