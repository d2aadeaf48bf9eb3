"""The embedded-mode spool: atomic batches from many processes, drained into the store exactly once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import payload, rows

from otel_llmcost.store import spool
from otel_llmcost.store.connection import open_store

WORKER = Path(__file__).with_name("spool_worker.py")


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_writers_and_a_drainer_store_every_span_exactly_once(data_dir, tmp_path):
    stop = tmp_path / "stop"
    drainer = _worker("drain", str(stop))
    writers = [_worker("write", tag, "40", "5") for tag in ("a", "b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
    stop.touch()
    inserted, errors = drainer.communicate(timeout=300)
    assert drainer.returncode == 0, errors

    assert int(inserted) == 400
    assert spool.pending() == []
    client = open_store()
    try:
        [counts] = rows(
            client,
            "SELECT count() AS spans, uniqExact(SpanAttributes['case']) AS cases, "
            "(SELECT count() FROM llm_calls) AS calls FROM otel_traces",
        )
    finally:
        client.close()
    assert counts == {"spans": 400, "cases": 400, "calls": 400}


def test_batches_are_written_whole_with_sortable_unique_names(data_dir):
    first = spool.write_batch(payload([{"n": 1}]))
    second = spool.write_batch(payload([{"n": 2}]))

    assert first.parent == data_dir / "spool"
    assert first.name < second.name and str(os.getpid()) in first.name
    assert spool.pending() == [first, second]
    assert not [path for path in first.parent.iterdir() if path.name.startswith(".")]  # no temp file left


def test_a_batch_still_being_written_is_not_drained(store, data_dir):
    spool_dir = data_dir / "spool"
    spool_dir.mkdir(parents=True)
    (spool_dir / ".00000000000000000001-1-000000.otlp.tmp").write_bytes(payload([{"n": 1}])[:10])

    assert spool.drain(store) == 0
    assert len(list(spool_dir.iterdir())) == 1


def test_a_corrupt_file_is_quarantined_and_the_rest_go_in(store, data_dir, caplog):
    good_before = spool.write_batch(payload([{"gen_ai.usage.input_tokens": 1}]))
    bad = spool.write_batch(payload([{"gen_ai.usage.input_tokens": 2, "text": "y" * 100}])[:-30])
    good_after = spool.write_batch(payload([{"gen_ai.usage.input_tokens": 3}]))
    progress = []

    with caplog.at_level(logging.WARNING, logger="otel_llmcost.store"):
        inserted = spool.drain(store, progress=lambda done, total: progress.append((done, total)))

    assert inserted == 2
    assert spool.pending() == []
    assert [path.name for path in (data_dir / "spool" / "bad").iterdir()] == [bad.name]
    assert bad.name in caplog.text and "not a serialized OTLP" in caplog.text
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert rows(store, "SELECT sum(InputTokens) AS tokens FROM llm_calls") == [{"tokens": 4}]
    assert not good_before.exists() and not good_after.exists()


def test_a_file_drained_twice_is_stored_once(store, data_dir):
    batch = spool.write_batch(payload([{"gen_ai.usage.input_tokens": 5}] * 2))
    content = batch.read_bytes()
    spool.drain(store)
    batch.write_bytes(content)  # as if the process died after the insert, before deleting the file

    spool.drain(store)

    assert rows(store, "SELECT count() AS calls FROM llm_calls") == [{"calls": 2}]


def test_open_store_drains_the_spool(data_dir):
    spool.write_batch(payload([{"gen_ai.usage.input_tokens": 7}]))

    client = open_store()
    try:
        assert rows(client, "SELECT sum(InputTokens) AS tokens FROM llm_calls") == [{"tokens": 7}]
    finally:
        client.close()


def test_a_failing_drain_does_not_keep_a_command_from_reading(data_dir, monkeypatch, caplog):
    batch = spool.write_batch(payload([{"gen_ai.usage.input_tokens": 7}]))

    def refused(client, spool_dir=None, progress=None):
        raise PermissionError("user 'reader' may not INSERT")

    monkeypatch.setattr(spool, "drain", refused)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.store"):
        client = open_store()
    try:
        assert rows(client, "SELECT count() AS calls FROM llm_calls") == [{"calls": 0}]
    finally:
        client.close()
    assert "may not INSERT" in caplog.text and batch.exists()  # kept for the next command


def test_each_store_has_a_spool_of_its_own(data_dir):
    from otel_llmcost.store.connection import parse_url, resolve_url

    default = spool.dir_for(parse_url(resolve_url()))
    assert default == data_dir / "spool"  # where zero-code programs write, beside the default store
    side_by_side = {spool.dir_for(parse_url(f"chdb:///x/{name}")) for name in ("chdb", "a", "b")}
    assert side_by_side == {Path("/x/spool"), Path("/x/a.spool"), Path("/x/b.spool")}
    urls = ("http://ch:8123", "http://u:pw@ch:8123/otel", "https://ch:8443", "http://ch:8123/llm", "http://[::1]:8123")
    servers = {spool.dir_for(parse_url(url)) for url in urls}
    assert len(servers) == 4  # the first two are one store: database otel by default, whoever logs in
    assert all(path.parent == data_dir / "spool" / "servers" for path in servers)


def test_a_batch_the_disk_cannot_take_leaves_no_part_of_it(data_dir, monkeypatch):
    # A full disk: the write fails; a partial temp file, which nothing lists or removes, must not stay.
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        spool.write_batch(b"x" * 1000)
    assert list((data_dir / "spool").iterdir()) == []
