"""OTLP/HTTP: POST /v1/traces (protobuf or JSON, optionally gzip) and GET /health, served by aiohttp."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from otel_llmcost.collector.config import REQUEST_DRAIN_SECONDS
from otel_llmcost.collector.intake import Intake, Reason, Refusal, Reservation
from otel_llmcost.collector.otlp import JSON, PROTOBUF, status_body, success_body

TRACES_PATH = "/v1/traces"
HEALTH_PATH = "/health"
# Content-Encoding -> zlib wbits. We decompress ourselves (not aiohttp) to refuse truncated streams.
ENCODINGS = {"": None, "identity": None, "gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
INFLATE_GUESS = 8  # OTLP protobuf inflates ~5-10x; the claim grows if a body inflates more
INFLATE_STEP = 2**20


async def start_server(
    intake: Intake, health: Callable[[], dict[str, Any]], host: str, port: int, *, max_request_bytes: int
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (``cleanup()`` stops it) and the bound port. OSError names a taken port."""
    app = web.Application(client_max_size=max_request_bytes)
    receiver = _TracesReceiver(intake, max_request_bytes)
    app.router.add_post(TRACES_PATH, receiver.handle)

    async def report_health(request: web.Request) -> web.Response:
        return web.json_response(health())

    app.router.add_get(HEALTH_PATH, report_health)
    # The receiver decompresses bodies itself, to refuse truncated gzip (aiohttp would pass it on).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=REQUEST_DRAIN_SECONDS, auto_decompress=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(f"cannot listen for OTLP/HTTP on {host}:{port}: {exc.strerror}") from None
    return runner, runner.addresses[0][1]


class _TracesReceiver:
    def __init__(self, intake: Intake, max_request_bytes: int) -> None:
        self._intake = intake
        self._max = max_request_bytes

    async def handle(self, request: web.Request) -> web.Response:
        content_type = request.content_type
        answer_type = content_type if content_type in (PROTOBUF, JSON) else JSON
        try:
            await self._accept(request, content_type)
        except Refusal as refusal:
            return _refusal_response(refusal, answer_type)
        return web.Response(body=success_body(content_type), content_type=content_type)

    async def _accept(self, request: web.Request, content_type: str) -> None:
        self._intake.check_auth(request.headers.get("Authorization"))
        if content_type not in (PROTOBUF, JSON):
            self._intake.refuse(
                Reason.UNSUPPORTED, f"Content-Type must be {PROTOBUF} or {JSON}, got {content_type or 'none'}"
            )
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ENCODINGS:
            self._intake.refuse(Reason.UNSUPPORTED, f"Content-Encoding {encoding!r} is not supported; use gzip or none")
        declared = request.content_length
        if declared is not None and declared > self._max:
            self._intake.refuse_too_large(self._max)
        reservation = self._intake.hold(self._expected_size(declared, encoding))
        try:
            body = await self._read(request)
            await asyncio.get_running_loop().run_in_executor(
                None, self._submit, body, encoding, content_type, reservation
            )
        finally:
            reservation.release()

    def _expected_size(self, declared: int | None, encoding: str) -> int:
        """Memory to claim before reading: the body, and for compressed ones a guess at the inflated size."""
        if declared is None:  # chunked: anything up to the limit
            return self._max
        if ENCODINGS[encoding] is None:
            return declared
        return min(self._max, declared * (1 + INFLATE_GUESS))

    async def _read(self, request: web.Request) -> bytes:
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._intake.refuse_too_large(self._max)
        except RequestPayloadError as exc:  # e.g. a chunked body cut short
            self._intake.refuse(Reason.BAD_REQUEST, f"could not read the request body: {exc}")

    def _submit(self, body: bytes, encoding: str, content_type: str, reservation: Reservation) -> None:
        wbits = ENCODINGS[encoding]
        if wbits is not None:
            body = self._decompress(body, wbits, encoding, reservation)
        self._intake.submit(body, content_type)

    def _decompress(self, body: bytes, wbits: int, encoding: str, reservation: Reservation) -> bytes:
        """Inflate in steps, claiming memory as it grows and stopping at the size limit.

        A truncated or corrupt stream is refused, never queued half-read.
        """
        compressed, parts, size = len(body), [], 0
        while body:  # gzip allows several members back to back
            inflater = zlib.decompressobj(wbits)
            pending = body
            while not inflater.eof:
                try:
                    part = inflater.decompress(pending, INFLATE_STEP)
                except zlib.error as exc:
                    self._intake.refuse(Reason.BAD_REQUEST, f"body is not valid {encoding} ({exc})")
                pending = inflater.unconsumed_tail
                if not part and not pending:  # input used up before the end of the stream
                    break
                size += len(part)
                if size > self._max:
                    self._intake.refuse_too_large(self._max)
                reservation.grow_to(compressed + size)
                parts.append(part)
            if not inflater.eof:
                self._intake.refuse(Reason.BAD_REQUEST, f"{encoding} body is truncated")
            body = inflater.unused_data
        return b"".join(parts)


def _refusal_response(refusal: Refusal, content_type: str) -> web.Response:
    headers = {}
    if refusal.retry_after is not None:
        headers["Retry-After"] = str(refusal.retry_after)
    if refusal.reason is Reason.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(
        status=refusal.reason.http_status,
        body=status_body(content_type, refusal.reason.grpc_code, refusal.message),
        content_type=content_type,
        headers=headers,
    )
