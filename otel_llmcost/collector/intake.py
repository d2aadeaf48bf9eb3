"""What both receivers do with a request: authenticate, bound memory, validate, queue durably.

The receivers only translate: HTTP and gRPC each map a :class:`Refusal` to their own status.
"""

from __future__ import annotations

import enum
import hmac
import logging
import threading

from otel_llmcost.collector.otlp import BadRequest, decode
from otel_llmcost.collector.queue import DiskQueue, QueueFull
from otel_llmcost.collector.stats import Stats

logger = logging.getLogger("otel_llmcost.collector")

# Retry-After when the queue is full: short while ClickHouse drains it, longer while it is down.
RETRY_AFTER_DRAINING = 1
RETRY_AFTER_STORE_DOWN = 10


class Reason(enum.Enum):
    """Why a request was refused: (HTTP status, google.rpc.Code)."""

    BAD_REQUEST = (400, 3)  # INVALID_ARGUMENT
    UNAUTHENTICATED = (401, 16)
    TOO_LARGE = (413, 8)  # RESOURCE_EXHAUSTED
    UNSUPPORTED = (415, 3)
    BUSY = (429, 8)  # RESOURCE_EXHAUSTED, retryable with RetryInfo
    STOPPING = (503, 14)  # UNAVAILABLE
    FAILED = (500, 13)  # INTERNAL: could not write the queue

    @property
    def http_status(self) -> int:
        return self.value[0]

    @property
    def grpc_code(self) -> int:
        return self.value[1]


class Refusal(Exception):
    def __init__(self, reason: Reason, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class Intake:
    def __init__(self, queue: DiskQueue, stats: Stats, *, token: str | None, inflight_max_bytes: int) -> None:
        self._queue = queue
        self._stats = stats
        self._expected_auth = f"Bearer {token}".encode() if token else None
        self._inflight_max = inflight_max_bytes
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.stopping = False

    def check_auth(self, authorization: str | None) -> None:
        if self._expected_auth is None:
            return
        if authorization is None or not hmac.compare_digest(authorization.encode(), self._expected_auth):
            self.refuse(Reason.UNAUTHENTICATED, "missing or wrong bearer token: send 'Authorization: Bearer <token>'")

    def reserve(self, size: int) -> None:
        """Claim memory for a body about to be read; refuse (retryably) rather than exceed the bound."""
        if self.stopping:
            self.refuse(Reason.STOPPING, "collector is shutting down; retry against the restarted collector", 5)
        if not self._queue.has_room():  # refuse before reading a body that could not be queued
            self._queue_full()
        with self._inflight_lock:
            if self._inflight and self._inflight + size > self._inflight_max:
                busy = True
            else:
                busy = False
                self._inflight += size
        if busy:
            self.refuse(Reason.BUSY, "too many requests in flight; retry later", RETRY_AFTER_DRAINING)

    def release(self, size: int) -> None:
        with self._inflight_lock:
            self._inflight -= size

    def hold(self, size: int) -> Reservation:
        return Reservation(self, size)

    def submit(self, body: bytes, content_type: str) -> int:
        """Validate a request body and queue it durably; returns its span count. Blocking (fsync)."""
        try:
            payload, spans = decode(body, content_type)
        except BadRequest as exc:
            self.refuse(Reason.BAD_REQUEST, str(exc))
        self.enqueue(payload, spans)
        return spans

    def enqueue(self, payload: bytes, spans: int) -> None:
        if spans:  # an empty export is valid and needs nothing stored
            try:
                self._queue.append(payload, spans)
            except QueueFull:
                self._queue_full()
            except OSError as exc:
                logger.error("Could not write the queue in %s: %s", self._queue.directory, exc)
                self.refuse(Reason.FAILED, f"could not store the request ({exc.strerror}); retry later", 5)
        self._stats.received(spans)

    def _queue_full(self) -> None:
        retry = RETRY_AFTER_DRAINING if self._stats.clickhouse_ok else RETRY_AFTER_STORE_DOWN
        self.refuse(Reason.BUSY, "queue is full while ClickHouse catches up; retry later", retry)

    def refuse_too_large(self, limit: int) -> None:
        self.refuse(
            Reason.TOO_LARGE,
            f"request body exceeds the {limit} byte limit (after decompression); "
            "send smaller batches or raise --max-request-mb",
        )

    def refuse(self, reason: Reason, message: str, retry_after: int | None = None) -> None:
        self._stats.refused(reason.name)
        logger.debug("Refused a request (%s): %s", reason.value[0], message)
        raise Refusal(reason, message, retry_after)


class Reservation:
    """Memory claimed for one request body; it grows while a compressed body inflates."""

    def __init__(self, intake: Intake, size: int) -> None:
        intake.reserve(size)
        self._intake = intake
        self.size = size

    def grow_to(self, size: int) -> None:
        if size > self.size:
            self._intake.reserve(size - self.size)
            self.size = size

    def release(self) -> None:
        self._intake.release(self.size)
        self.size = 0
