"""The OTLP/HTTP receiver in-process, in front of a real queue: what a request leaves in the queue."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import httpx
from collector_harness import request_of

from otel_llmcost.collector.http_receiver import start_server
from otel_llmcost.collector.intake import Intake
from otel_llmcost.collector.queue import DiskQueue
from otel_llmcost.collector.stats import Stats

MIB = 2**20


def _exchange(tmp_path, requests: list[tuple[bytes, dict[str, str]]], *, max_request_bytes: int = 16 * MIB):
    """Serve on a free port, send the requests in turn; returns the answers and the queued payloads."""
    queue = DiskQueue(tmp_path / "queue", 2**30)
    intake = Intake(queue, Stats(), token=None, inflight_max_bytes=4 * max_request_bytes)

    async def run() -> list[httpx.Response]:
        runner, port = await start_server(intake, dict, "127.0.0.1", 0, max_request_bytes=max_request_bytes)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                return [await client.post("/v1/traces", content=body, headers=headers) for body, headers in requests]
        finally:
            await runner.cleanup()

    answers = asyncio.run(run())
    queued = []
    while (batch := queue.next_batch(max_spans=1, max_bytes=1)) is not None:
        queued.append(queue.read(batch))
        queue.complete(batch)
    queue.close()
    return answers, queued


PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_large_gzip_and_deflate_bodies_inflate_to_exactly_what_was_sent(tmp_path):
    large = request_of(20_000)  # several MiB: inflated in many steps
    assert len(large) > 3 * MIB
    members = gzip.compress(large[: len(large) // 2]) + gzip.compress(large[len(large) // 2 :])

    answers, queued = _exchange(
        tmp_path,
        [
            (gzip.compress(large), {**PROTOBUF, "Content-Encoding": "gzip"}),
            (members, {**PROTOBUF, "Content-Encoding": "gzip"}),  # two gzip members back to back
            (zlib.compress(large), {**PROTOBUF, "Content-Encoding": "deflate"}),
        ],
    )

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert queued == [large, large, large]


def test_an_inflating_body_is_refused_once_past_the_limit(tmp_path):
    answers, queued = _exchange(
        tmp_path,
        [(gzip.compress(b"\x00" * 3 * MIB), {**PROTOBUF, "Content-Encoding": "gzip"})],
        max_request_bytes=MIB,
    )

    assert answers[0].status_code == 413
    assert queued == []


def test_empty_exports_are_answered_and_not_queued(tmp_path):
    answers, queued = _exchange(tmp_path, [(b"", PROTOBUF), (b"{}", {"Content-Type": "application/json"})])

    assert [(answer.status_code, answer.content) for answer in answers] == [(200, b""), (200, b"{}")]
    assert queued == []
