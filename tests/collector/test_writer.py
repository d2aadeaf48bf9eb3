"""The writer against a real embedded store whose inserts fail: retried until they land, exactly once."""

from __future__ import annotations

import time

from collector_harness import query, request_of

from otel_llmcost import semconv as sc
from otel_llmcost.collector.config import CollectorConfig
from otel_llmcost.collector.queue import DiskQueue
from otel_llmcost.collector.sink import NativeRows, StoreSink
from otel_llmcost.collector.stats import Stats
from otel_llmcost.collector.writer import Writer
from otel_llmcost.store import spool
from otel_llmcost.store.connection import parse_url


class FlakySink(StoreSink):
    """Fails the first inserts: before ClickHouse saw them, or after it stored them (a lost answer)."""

    def __init__(
        self, url: str, *, fail_before: int = 0, fail_after: int = 0, fail_at: dict[int, str] | None = None
    ) -> None:
        super().__init__(url)
        self.fail_before, self.fail_after = fail_before, fail_after
        self.fail_at = fail_at or {}  # insert call number -> "before" | "after"
        self.tokens: list[str] = []

    def insert_encoded(self, rows: NativeRows, token: str) -> int:
        call = len(self.tokens)
        self.tokens.append(token)
        if self.fail_before or self.fail_at.get(call) == "before":
            self.fail_before = max(self.fail_before - 1, 0)
            raise ConnectionError("ClickHouse is down")
        spans = super().insert_encoded(rows, token)
        if self.fail_after or self.fail_at.get(call) == "after":
            self.fail_after = max(self.fail_after - 1, 0)
            raise TimeoutError("the answer was lost")
        return spans


def _drain(tmp_path, sink: FlakySink, requests: int, batch_spans: int = 1000) -> Stats:
    config = CollectorConfig(queue_dir=tmp_path / "queue", batch_spans=batch_spans, flush_interval=0.05)
    queue = DiskQueue(config.queue_dir, config.queue_max_bytes)
    for _ in range(requests):
        queue.append(request_of(10), spans=10)
    stats = Stats()
    writer = Writer(queue, sink, stats, config)
    writer.start()
    writer.stop(timeout=60)  # flushes until the queue is empty (or the bound passes)
    assert queue.depth().requests == 0
    queue.close()
    return stats


def test_failed_inserts_are_retried_until_they_land(tmp_path, store_url):
    sink = FlakySink(store_url, fail_before=2)

    stats = _drain(tmp_path, sink, requests=3)

    assert stats.inserted_spans == 30
    assert len(sink.tokens) == 3 and len(set(sink.tokens)) == 1  # the same batch, the same token
    assert query(store_url, "SELECT count(), uniqExact(SpanId) FROM otel.otel_traces") == [(30, 30)]


def test_a_retry_of_an_insert_that_had_landed_is_dropped_by_its_token(tmp_path, store_url):
    sink = FlakySink(store_url, fail_after=1)

    _drain(tmp_path, sink, requests=3)

    assert len(sink.tokens) == 2 and len(set(sink.tokens)) == 1
    assert query(store_url, "SELECT count(), uniqExact(SpanId) FROM otel.otel_traces") == [(30, 30)]
    assert query(store_url, "SELECT count() FROM otel.llm_calls") == [(30,)]


def test_batches_converted_while_another_is_inserted_land_once_in_order(tmp_path, store_url):
    # Batches of 2 requests: the writer converts one while the inserter thread inserts the one before.
    # The second insert fails before ClickHouse sees it; the fourth fails after it landed.
    sink = FlakySink(store_url, fail_at={1: "before", 3: "after"})

    stats = _drain(tmp_path, sink, requests=7, batch_spans=20)

    assert stats.inserted_spans == 70
    first, second, third, fourth = dict.fromkeys(sink.tokens)
    # a failed batch is retried, under its token, before the batch converted meanwhile goes in
    assert sink.tokens == [first, second, second, third, third, fourth]
    assert query(store_url, "SELECT count(), uniqExact(SpanId) FROM otel.otel_traces") == [(70, 70)]
    assert query(store_url, "SELECT count() FROM otel.llm_calls") == [(70,)]


def test_the_collector_of_a_server_ingests_what_apps_spooled_for_that_server(tmp_path, store_url, monkeypatch):
    # Apps exporting straight to the server spool their batches on this machine while it is down; the
    # collector storing into that server takes them in as it runs, not only when someone runs a command.
    monkeypatch.setenv(sc.ENV_DATA_DIR, str(tmp_path / "data"))
    server = parse_url("http://ch.example:8123/otel")
    sink = StoreSink(store_url)
    sink._target = server  # the server's part, played by the embedded store
    spooled = spool.write_batch(request_of(4), spool.dir_for(server))
    config = CollectorConfig(queue_dir=tmp_path / "queue", flush_interval=0.05, spool_interval=0.05)
    queue = DiskQueue(config.queue_dir, config.queue_max_bytes)
    stats = Stats()
    writer = Writer(queue, sink, stats, config)
    writer.start()
    deadline = time.monotonic() + 30
    while spooled.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.stop(timeout=30)
    queue.close()

    assert not spooled.exists()
    assert stats.spool_rows == 4
    assert query(store_url, "SELECT count() FROM otel.llm_calls") == [(4,)]


class DownSpoolSink(StoreSink):
    """A store whose spool drains fail (the server is down); counts the tries."""

    tries = 0

    def drain_spool(self) -> int:
        self.tries += 1
        raise ConnectionRefusedError(111, "Connection refused")


def test_a_failing_spool_drain_is_said_once_and_tried_again_after_a_pause(tmp_path, store_url, caplog):
    # During an outage the spool is where apps' batches wait: one warning, not one every 2 seconds.
    sink = DownSpoolSink(store_url)
    config = CollectorConfig(queue_dir=tmp_path / "queue", flush_interval=0.05, spool_interval=0.05)
    queue = DiskQueue(config.queue_dir, config.queue_max_bytes)
    writer = Writer(queue, sink, Stats(), config)
    with caplog.at_level("WARNING", logger="otel_llmcost"):
        writer.start()
        time.sleep(1.5)  # thirty drain intervals
        writer.stop(timeout=30)
    queue.close()

    assert sink.tries == 1  # the next try waits SPOOL_RETRY_PAUSE (30 s)
    assert [record.getMessage() for record in caplog.records if "spool" in record.getMessage()] == [
        "Could not ingest the spool ([Errno 111] Connection refused); trying again every 30s"
    ]
