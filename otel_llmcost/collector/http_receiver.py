"""OTLP/HTTP: POST /v1/traces (protobuf or JSON, optionally gzip) and GET /health, served by aiohttp."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from otel_llmcost.collector.intake import Intake, Reason, Refusal
from otel_llmcost.collector.otlp import JSON, PROTOBUF, status_body, success_body

TRACES_PATH = "/v1/traces"
HEALTH_PATH = "/health"
# Content-Encoding -> zlib wbits. We decompress ourselves (not aiohttp) to refuse truncated streams.
ENCODINGS = {"": None, "identity": None, "gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def build_app(intake: Intake, health: Callable[[], dict[str, Any]], max_request_bytes: int) -> web.Application:
    app = web.Application(client_max_size=max_request_bytes)
    receiver = _TracesReceiver(intake, max_request_bytes)
    app.router.add_post(TRACES_PATH, receiver.handle)
    app.router.add_get(HEALTH_PATH, lambda request: _health(health))
    return app


async def _health(health: Callable[[], dict[str, Any]]) -> web.Response:
    return web.json_response(health())


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
        # Compressed or chunked bodies may grow up to the limit once read.
        reserved = declared if declared is not None and ENCODINGS[encoding] is None else self._max
        self._intake.reserve(reserved)
        try:
            body = await self._read(request)
            await asyncio.get_running_loop().run_in_executor(None, self._submit, body, encoding, content_type)
        finally:
            self._intake.release(reserved)

    async def _read(self, request: web.Request) -> bytes:
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._intake.refuse_too_large(self._max)
        except RequestPayloadError as exc:  # e.g. a chunked body cut short
            self._intake.refuse(Reason.BAD_REQUEST, f"could not read the request body: {exc}")

    def _submit(self, body: bytes, encoding: str, content_type: str) -> None:
        wbits = ENCODINGS[encoding]
        if wbits is not None:
            body = self._decompress(body, wbits, encoding)
        self._intake.submit(body, content_type)

    def _decompress(self, body: bytes, wbits: int, encoding: str) -> bytes:
        """Inflate up to the size limit; a truncated or corrupt stream is refused, not half-read."""
        parts, size = [], 0
        while body:  # gzip allows several members back to back
            inflater = zlib.decompressobj(wbits)
            try:
                part = inflater.decompress(body, self._max + 1 - size)
            except zlib.error as exc:
                self._intake.refuse(Reason.BAD_REQUEST, f"body is not valid {encoding} ({exc})")
            size += len(part)
            if size > self._max:
                self._intake.refuse_too_large(self._max)
            if not inflater.eof:
                self._intake.refuse(Reason.BAD_REQUEST, f"{encoding} body is truncated")
            parts.append(part)
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
