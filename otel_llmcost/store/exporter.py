"""Span exporters into the store, and the export an instrumented program gets when it configured none.

``SpoolSpanExporter`` (embedded mode) appends each batch to the spool and never touches
chDB, so this module imports no ClickHouse code at import time. ``ClickHouseSpanExporter``
(server mode) inserts each batch directly, retrying passing failures with backoff inside its
timeout, and spools the batch when the server is down or refuses it, so a batch is never
dropped and the program never waits on a dead server; the next ``otel-llmcost`` command run
with the same server URL ingests that server's spool (``spool.dir_for``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import random
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
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
EXIT_TIMEOUT = 2.0  # seconds an export may spend on the server while the program exits
DOWN_PAUSE = 30.0  # seconds batches go straight to the spool after the server failed one
# The flush timeout of a multiprocessing child's exit (the SDK 1.45 BatchSpanProcessor does not honour it;
# what bounds the exit is that its export then tries a server once, for EXIT_TIMEOUT)
CHILD_EXIT_FLUSH = 5.0
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 4.0
PAUSE_STEP = 0.1  # how often a backoff pause looks whether the program is exiting


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """Spans as a serialized OTLP ExportTraceServiceRequest: what the spool and the collector hold."""
    return encode_spans(spans).SerializeToString()


def _spool_failed(spool_dir: Path, error: Exception) -> None:
    """Said once per directory: every batch fails alike, and a line per batch would flood the program's log."""
    from otel_llmcost.instrumentation.core import log_once

    log_once(
        f"spool {spool_dir}",
        "otel-llmcost: cannot write spans to the spool %s (%s), so they are lost. Free space on its disk, "
        "or set %s to a writable directory.",
        spool_dir,
        error,
        sc.ENV_DATA_DIR,
    )


class SpoolSpanExporter(SpanExporter):
    """Writes each batch to the embedded store's spool (``$OTEL_LLMCOST_DATA_DIR/spool`` by default)."""

    def __init__(self, spool_dir: str | os.PathLike[str] | None = None) -> None:
        self.spool_dir = spool.resolve_dir(spool_dir)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            spool.write_batch(encode(spans), self.spool_dir)
        except Exception as exc:  # noqa: BLE001 (a full or read-only disk must not break the program)
            _spool_failed(self.spool_dir, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is already on disk


class StoreSpanExporter(SpanExporter):
    """The store's export by name, for ``OTEL_TRACES_EXPORTER=otel_llmcost`` (alone, or beside ``otlp``):
    ClickHouseSpanExporter for a server URL in OTEL_LLMCOST_CLICKHOUSE_URL, else the spool. With
    opentelemetry-distro installed, whose default is OTLP, this is how spans reach the store."""

    def __init__(self) -> None:
        self.exporter = _default_exporter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export(spans)

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class ClickHouseSpanExporter(SpanExporter):
    """Inserts each batch into a ClickHouse server, idempotently; spools it while the server is down.

    One dedup token per batch makes every retry safe, and the batch's spool file carries the same
    token, so a batch the server took before its answer was lost is not doubled when the spool is
    drained. Only failures that may pass in seconds (a connection dropped mid-request, 503) are
    retried, backing off with jitter, for at most ``timeout`` seconds; a server that cannot be
    reached or that refuses the batch (authentication, privileges, a 4xx) gets it spooled at once.
    After a failure the server counts as down for ``DOWN_PAUSE`` seconds: batches go straight to the
    spool, so no batch waits on a dead server and the span processor's queue never overflows; then
    the next batch tries the server again. While the program exits (or after ``shutdown``) an export
    spends at most ``EXIT_TIMEOUT`` seconds on the server and never retries, so exit is not held up.
    Memory holds one batch at a time.
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
        # this server's own spool: only a command (or collector) storing into this server ingests it
        self.spool_dir = Path(spool_dir) if spool_dir is not None else spool.dir_for(self.target)
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._down = False  # the last batch failed: spool until _retry_at
        self._retry_at = 0.0
        _load_client_code()
        # A child forked while an export held the lock would wait for it forever (the thread holding it
        # is not in the child), and its client's connections are the parent's: it starts afresh.
        after_fork = weakref.WeakMethod(self._after_fork_in_child)
        os.register_at_fork(after_in_child=lambda: (method := after_fork()) is not None and method())

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._client = None  # the parent's, not closed here: closing would close the parent's sockets
        # (a server the parent found down stays down for the child until the pause ends)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        payload = encode(spans)
        token = spool.new_name()  # the dedup token, and the spool file's name if it comes to that
        with self._lock:
            if self._server_may_take_it() and self._insert_with_retries(payload, token):
                return SpanExportResult.SUCCESS
        return self._spool(payload, token)

    def _server_may_take_it(self) -> bool:
        return not self._closed.is_set() and (not self._down or time.monotonic() >= self._retry_at)

    def _exiting(self) -> bool:
        """Shut down, or the program is exiting: the span processor drains its queue from ``atexit``,
        after the main thread has finished."""
        return self._closed.is_set() or not threading.main_thread().is_alive() or _process_exiting.is_set()

    def _insert_with_retries(self, payload: bytes, token: str) -> bool:
        timeout = min(self.timeout, EXIT_TIMEOUT) if self._exiting() else self.timeout
        deadline = time.monotonic() + timeout
        backoff = FIRST_BACKOFF
        while True:
            error = self._try_insert(payload, token, deadline)
            if error is None:
                if self._down:
                    self._down = False
                    logger.info("ClickHouse at %s takes batches again", self.target.describe())
                return True
            if _unreachable(error):
                return self._gave_up("cannot be reached", error)
            if _refused(error):
                return self._gave_up(
                    f"refused a batch; check the user, password and database in {sc.ENV_CLICKHOUSE_URL}", error
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._exiting():
                return self._gave_up(f"did not take a batch within {timeout:.1f}s", error)
            self._pause(min(backoff * random.uniform(0.5, 1.5), remaining))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _gave_up(self, what: str, error: Exception) -> bool:
        """The server is down for ``DOWN_PAUSE`` seconds; said once per outage, not once per batch."""
        if not self._down:
            logger.warning(
                "ClickHouse at %s %s (%s); spooling batches to %s and trying the server again every %.0fs",
                self.target.describe(),
                what,
                error,
                self.spool_dir,
                DOWN_PAUSE,
            )
        self._down = True
        self._retry_at = time.monotonic() + DOWN_PAUSE
        return False

    def _pause(self, seconds: float) -> None:
        """Back off before a retry, cut short when the exporter shuts down or the program exits."""
        end = time.monotonic() + seconds
        while not self._exiting():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, PAUSE_STEP))

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

    def _spool(self, payload: bytes, name: str) -> SpanExportResult:
        try:
            spool.write_batch(payload, self.spool_dir, name=name)
        except Exception as exc:  # noqa: BLE001 (a full or read-only disk must not break the program)
            _spool_failed(self.spool_dir, exc)
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
        self._closed.set()  # an export still retrying stops at its next pause and spools its batch
        if self._lock.acquire(timeout=EXIT_TIMEOUT):  # never wait out an insert in flight
            try:
                self._drop_client()
            finally:
                self._lock.release()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # exports are synchronous


def _load_client_code() -> None:
    """Import the client at setup, not in the first export: that import takes longer than a burst of
    spans takes to fill the span processor's queue, which then drops spans."""
    try:
        import clickhouse_connect.driver  # noqa: F401

        from otel_llmcost.store import ingest, reprice, schema  # noqa: F401
    except ImportError:
        pass  # the first export says what is missing, and spools the batch


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _unreachable(error: Exception) -> bool:
    """No connection could be made: refused, unknown host, connect timeout (urllib3's NewConnectionError
    and NameResolutionError are ConnectTimeoutErrors). Retrying in a second would find the same."""
    try:
        from urllib3.exceptions import ConnectTimeoutError
    except ImportError:
        return False
    return any(isinstance(cause, (ConnectTimeoutError, ConnectionRefusedError)) for cause in _causes(error))


def _refused(error: Exception) -> bool:
    """The server answered with an error clickhouse-connect does not retry itself (it retries 429, 503
    and 504, then raises OperationalError): authentication, privileges, a 404 from a proxy. Or the
    client library is missing. Sending the same batch again cannot help."""
    from otel_llmcost.store.errors import StoreDependencyMissing

    try:
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
    except ImportError:
        return isinstance(error, StoreDependencyMissing)
    return any(
        isinstance(cause, StoreDependencyMissing)
        or (isinstance(cause, DatabaseError) and not isinstance(cause, OperationalError))
        for cause in _causes(error)
    )


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
_settings_failed: DefaultExport | None = None  # the user's export settings could not be applied (said once)
# The settings that say where traces go: with any of them, the user's OpenTelemetry export wins.
_USER_EXPORT_SETTINGS = (
    sc.ENV_OTEL_EXPORTER_OTLP_ENDPOINT,
    sc.ENV_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    sc.ENV_OTEL_EXPORTER_OTLP_PROTOCOL,  # OTLP to the protocol's default endpoint
    sc.ENV_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    sc.ENV_OTEL_TRACES_EXPORTER,
)


def configure_default_export(**exporter_options: Any) -> DefaultExport:
    """Send spans to the store when the program set up no tracing of its own.

    Skips when a tracer provider is already set. When an OTel exporter setting is present
    the user's choice wins: it is applied with the SDK's configurator (as opentelemetry-distro
    would) if nothing applied it yet. Otherwise installs an SDK TracerProvider (resource from
    OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES) with a BatchSpanProcessor over
    ClickHouseSpanExporter when OTEL_LLMCOST_CLICKHOUSE_URL is an http(s) URL, else over
    SpoolSpanExporter (also, with a warning, when that URL is malformed); the provider flushes at exit.
    """
    global _settings_failed
    with _configure_lock:
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return DefaultExport("skipped", "a tracer provider is already set")
        configured = [name for name in _USER_EXPORT_SETTINGS if os.environ.get(name, "").strip()]
        if configured:
            if _settings_failed is not None:  # said once: each instrumented SDK asks again
                return _settings_failed
            result = _apply_otel_settings(configured)
            if result.action == "skipped":
                _settings_failed = result
            return result
        exporter = _default_exporter(**exporter_options)
        provider = TracerProvider()  # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _flush_in_forked_processes(provider)
        where = exporter.target.describe() if isinstance(exporter, ClickHouseSpanExporter) else exporter.spool_dir
        metrics_to = _configure_metrics_only(provider.resource)
        return DefaultExport("installed", f"{type(exporter).__name__} -> {where}{metrics_to}", exporter)


def _flush_in_forked_processes(provider: Any) -> None:
    """A multiprocessing child (start methods fork and forkserver, and the workers of a Pool closed and
    joined) leaves through ``os._exit``, which runs no ``atexit`` hook: the provider's flush at exit never
    ran, and the child's last spans were lost. multiprocessing runs exit finalizers of its own first: the
    flush becomes one in each such child (forked from here, or set up in it, as a forkserver's child
    that imports the program's main module does), registered after multiprocessing clears those it
    inherited. Never raises."""
    if not isinstance(provider, TracerProvider):
        return
    weak_provider = weakref.ref(provider)

    def register() -> None:
        util = sys.modules.get("multiprocessing.util")  # loaded in every multiprocessing child
        live = weak_provider()
        if util is None or live is None:
            return
        try:
            util.register_after_fork(live, _flush_at_exit_of_this_process)
        except Exception:  # noqa: BLE001 (setting up telemetry must never break the program)
            logger.debug("could not register the span flush of a multiprocessing child", exc_info=True)

    register()  # a child set up while multiprocessing prepared it (forkserver, spawn: they import __main__)
    os.register_at_fork(after_in_child=register)  # a child forked from here


_flush_registered_in: int | None = None  # the process whose exit flushes (one flush per process)
_process_exiting = threading.Event()  # a multiprocessing child's exit: exports try the server once, briefly


def _flush_at_exit_of_this_process(provider: TracerProvider) -> None:
    global _flush_registered_in
    if _flush_registered_in == os.getpid():
        return
    _flush_registered_in = os.getpid()
    from multiprocessing import util

    util.Finalize(provider, _flush, args=(weakref.ref(provider),), exitpriority=0)


def _flush(weak_provider: weakref.ReferenceType[TracerProvider]) -> None:
    _process_exiting.set()
    provider = weak_provider()
    if provider is not None:
        provider.force_flush(timeout_millis=int(CHILD_EXIT_FLUSH * 1000))


def _apply_otel_settings(configured: list[str]) -> DefaultExport:
    """The user configured OpenTelemetry's export but no distro applied it (``opentelemetry-instrument``
    without ``opentelemetry-distro`` reads no OTEL_* exporter setting): apply it with the SDK's own
    configurator, as the distro would, instead of silently dropping spans."""
    try:
        from opentelemetry.sdk._configuration import _get_exporter_entry_point, _OTelSDKConfigurator

        # The distro's default exporter: an OTLP endpoint alone means OTLP (gRPC or the configured protocol),
        # for the metrics too (token usage, durations), unless OTEL_METRICS_EXPORTER names others or none.
        traces = [] if _set(sc.ENV_OTEL_TRACES_EXPORTER) else ["otlp"]
        endpoint = _set(sc.ENV_OTEL_EXPORTER_OTLP_ENDPOINT) or _set(sc.ENV_OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)
        metrics = ["otlp"] if endpoint and not _set(sc.ENV_OTEL_METRICS_EXPORTER) else []
        _OTelSDKConfigurator().configure(
            trace_exporter_names=[_get_exporter_entry_point(name, "traces") for name in traces],
            metric_exporter_names=[_get_exporter_entry_point(name, "metrics") for name in metrics],
        )
    except Exception as exc:  # noqa: BLE001 (setting up telemetry must never break the program)
        logger.warning(
            "otel-llmcost: could not apply the OpenTelemetry export settings %s: %s. %s Until then this "
            "program's spans are not exported.",
            ", ".join(configured),
            exc,
            _export_fix(exc),
        )
        return DefaultExport("skipped", f"{', '.join(configured)} is set but could not be applied: {exc}")
    _flush_in_forked_processes(trace.get_tracer_provider())
    return DefaultExport("configured", f"OpenTelemetry's SDK export from {', '.join(configured)}")


def _configure_metrics_only(resource: Any) -> str:
    """Metrics export settings without any for traces (``OTEL_METRICS_EXPORTER=console``, an OTLP metrics
    endpoint): the traces go to the store, and the metrics where the settings say, as the distro would
    send them. Returns what was set up, for ``DefaultExport``'s detail ("" for nothing)."""
    names = [name.strip() for name in os.environ.get(sc.ENV_OTEL_METRICS_EXPORTER, "").split(",") if name.strip()]
    if not names and _set(sc.ENV_OTEL_EXPORTER_OTLP_METRICS_ENDPOINT):
        names = ["otlp"]
    names = [name for name in names if name != "none"]
    if not names:
        return ""
    from opentelemetry import metrics
    from opentelemetry.metrics import _internal as metrics_api

    proxy = getattr(metrics_api, "_ProxyMeterProvider", None)  # the API's stand-in until one is set
    if proxy is None or not isinstance(metrics.get_meter_provider(), proxy):
        return ""  # the program (or a distro) set one up
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

        group = "opentelemetry_metrics_exporter"
        readers = []
        for name in names:
            if name == "otlp":  # as the SDK reads it: the OTLP exporter of the configured protocol (gRPC by default)
                protocol = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") or os.environ.get(
                    sc.ENV_OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"
                )
                name = "otlp_proto_http" if protocol.strip().startswith("http") else "otlp_proto_grpc"
            found = importlib.metadata.entry_points(group=group, name=name)
            if not found:
                known = ", ".join(sorted({entry.name for entry in importlib.metadata.entry_points(group=group)}))
                raise ValueError(f"no metrics exporter {name!r}; {sc.ENV_OTEL_METRICS_EXPORTER} takes one of: {known}")
            exporter = next(iter(found)).load()
            reader = exporter() if issubclass(exporter, MetricReader) else PeriodicExportingMetricReader(exporter())
            readers.append(reader)
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    except Exception as exc:  # noqa: BLE001 (setting up telemetry must never break the program)
        logger.warning(
            "otel-llmcost: could not apply the OpenTelemetry metrics export settings (%s=%s): %s. %s Until then "
            "this program's metrics are not exported; its spans go to the store.",
            sc.ENV_OTEL_METRICS_EXPORTER,
            ",".join(names),
            exc,
            _export_fix(exc) if "otlp" in str(exc) else "",
        )
        return ""
    return f"; metrics -> {', '.join(names)}"


def _export_fix(error: Exception) -> str:
    """How to fix export settings the SDK's configurator could not apply: the OTLP exporter package the
    protocol needs, or the exporter names this environment has."""
    if "otlp" in str(error):
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        package = f"opentelemetry-exporter-otlp-proto-{'http' if (protocol or 'grpc').startswith('http') else 'grpc'}"
        return f"OTLP export ({protocol or 'grpc'}) needs {package}: pip install {package}."
    names = sorted({entry.name for entry in importlib.metadata.entry_points(group="opentelemetry_traces_exporter")})
    return f"{sc.ENV_OTEL_TRACES_EXPORTER} takes one of: {', '.join(names)}."


def _set(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def _default_exporter(**options: Any) -> SpanExporter:
    """ClickHouseSpanExporter for a server URL, else the spool: for the embedded store, and for a URL
    that cannot be used, so a typo in the setting costs a warning, not the run's spans."""
    from otel_llmcost.store.connection import parse_url
    from otel_llmcost.store.errors import StoreURLError

    spool_dir = options.get("spool_dir")
    url = os.environ.get(sc.ENV_CLICKHOUSE_URL, "").strip()
    if not url:
        return SpoolSpanExporter(spool_dir)
    try:
        target = parse_url(url)
    except StoreURLError as exc:
        spool_exporter = SpoolSpanExporter(spool_dir)
        logger.warning(
            "otel-llmcost: %s cannot be used: %s Fix it; until then spans are spooled to %s, "
            "which the next otel-llmcost command run on the default embedded store (without %s) ingests.",
            sc.ENV_CLICKHOUSE_URL,
            exc,
            spool_exporter.spool_dir,
            sc.ENV_CLICKHOUSE_URL,
        )
        return spool_exporter
    if spool_dir is None:
        spool_dir = spool.dir_for(target)  # the spool of the store the URL names, and no other's
    if target.embedded:
        return SpoolSpanExporter(spool_dir)
    if importlib.util.find_spec("clickhouse_connect") is None:
        logger.warning(
            "otel-llmcost: %s names a ClickHouse server, but clickhouse-connect is not installed: "
            "pip install 'otel-llmcost[store]'. Until then spans are spooled to %s, and the next otel-llmcost "
            "command run with that URL ingests them.",
            sc.ENV_CLICKHOUSE_URL,
            spool_dir,
        )
        return SpoolSpanExporter(spool_dir)
    return ClickHouseSpanExporter(url, **{**options, "spool_dir": spool_dir})
