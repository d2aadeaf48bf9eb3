"""The durable queue: what survives a restart, and which dedup token a retried batch carries."""

from __future__ import annotations

import time

import pytest

from otel_llmcost.collector.queue import DiskQueue, QueueFull, QueueLocked

MB = 2**20


@pytest.fixture
def queue_dir(tmp_path):
    return tmp_path / "queue"


def test_batches_take_the_oldest_requests_up_to_the_span_limit(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    for index in range(4):
        queue.append(f"req{index}".encode(), spans=3)

    batch = queue.next_batch(max_spans=7, max_bytes=MB)

    assert queue.read(batch) == b"req0req1"
    assert batch.spans == 6
    assert queue.depth().requests == 4  # claimed is still queued until inserted


def test_a_request_larger_than_the_batch_limit_still_goes_alone(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"big", spans=100)
    queue.append(b"small", spans=1)

    batch = queue.next_batch(max_spans=10, max_bytes=MB)

    assert queue.read(batch) == b"big"


def test_completed_batches_leave_the_queue_and_free_their_bytes(queue_dir):
    queue = DiskQueue(queue_dir, 10)
    queue.append(b"12345", spans=1)
    queue.append(b"67890", spans=1)
    with pytest.raises(QueueFull):
        queue.append(b"x", spans=1)

    queue.complete(queue.next_batch(max_spans=1, max_bytes=MB))

    queue.append(b"abcde", spans=1)
    assert queue.depth().bytes == 10
    assert queue.read(queue.next_batch(max_spans=10, max_bytes=MB)) == b"67890abcde"


def test_after_a_crash_the_claimed_batch_is_retried_with_the_same_token(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    for index in range(3):
        queue.append(f"r{index}".encode(), spans=1)
    first = queue.next_batch(max_spans=2, max_bytes=MB)
    queue.close()  # the process dies between claiming and completing

    restarted = DiskQueue(queue_dir, MB)
    restarted.append(b"new", spans=1)
    retried = restarted.next_batch(max_spans=100, max_bytes=MB)

    assert retried.token == first.token
    assert restarted.read(retried) == b"r0r1"
    restarted.complete(retried)
    assert restarted.read(restarted.next_batch(max_spans=100, max_bytes=MB)) == b"r2new"


def test_a_cleanup_cut_short_is_finished_not_reinserted(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"a", spans=1)
    queue.append(b"b", spans=1)
    batch = queue.next_batch(max_spans=2, max_bytes=MB)
    # The insert succeeded and the first segment was deleted, then the process died.
    (queue_dir / "segments" / (batch.segments[0].name + ".pb")).unlink()
    queue.close()

    restarted = DiskQueue(queue_dir, MB)

    assert restarted.depth().requests == 0
    assert restarted.next_batch(max_spans=100, max_bytes=MB) is None
    assert list((queue_dir / "batches").iterdir()) == []


def test_half_written_requests_are_discarded_on_restart(queue_dir):
    DiskQueue(queue_dir, MB).close()
    (queue_dir / "tmp" / "123-0000000000-5.pb").write_bytes(b"partial")

    restarted = DiskQueue(queue_dir, MB)

    assert restarted.depth().requests == 0
    assert list((queue_dir / "tmp").iterdir()) == []


def test_ids_and_tokens_never_repeat_across_runs(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"a", spans=1)
    first = queue.next_batch(max_spans=1, max_bytes=MB)
    queue.complete(first)
    queue.close()

    restarted = DiskQueue(queue_dir, MB)
    restarted.append(b"a", spans=1)

    assert restarted.next_batch(max_spans=1, max_bytes=MB).token != first.token


def test_two_collectors_cannot_share_a_queue(queue_dir):
    running = DiskQueue(queue_dir, MB)
    with pytest.raises(QueueLocked, match="--queue-dir"):
        DiskQueue(queue_dir, MB)
    running.close()


def test_rejected_segments_are_kept_aside_and_the_rest_goes_on(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"good", spans=1)
    queue.append(b"bad", spans=1)
    batch = queue.next_batch(max_spans=2, max_bytes=MB)

    rest = queue.reject(batch, [batch.segments[1]])

    assert queue.read(rest) == b"good"
    assert [path.read_bytes() for path in (queue_dir / "rejected").iterdir()] == [b"bad"]
    queue.complete(rest)
    assert queue.depth().bytes == 0


def test_a_partial_batch_is_ready_once_its_oldest_request_has_waited(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"a", spans=1)

    assert not queue.wait(min_spans=10, max_age=60, timeout=0)
    assert queue.wait(min_spans=10, max_age=0.05, timeout=30)  # returns when the request comes of age
    assert queue.wait(min_spans=1, max_age=60, timeout=0)  # a full batch is ready at once


def test_with_quiet_a_partial_batch_also_waits_until_requests_stop_coming(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"a", spans=1)
    time.sleep(0.06)
    queue.append(b"b", spans=1)

    assert queue.wait(min_spans=10, max_age=0.05, timeout=0)
    assert not queue.wait(min_spans=10, max_age=0.05, quiet=60, timeout=0)
    assert queue.wait(min_spans=10, max_age=0.05, quiet=0.05, timeout=30)


def test_a_batch_being_inserted_is_not_handed_out_again(queue_dir):
    queue = DiskQueue(queue_dir, MB)
    queue.append(b"a", spans=1)
    queue.append(b"b", spans=1)
    first = queue.next_batch(max_spans=1, max_bytes=MB)

    assert queue.next_batch(max_spans=1, max_bytes=MB) == first  # a retry gets the claimed batch
    assert not queue.wait(min_spans=10, max_age=60, busy=first, timeout=0)
    second = queue.next_batch(max_spans=1, max_bytes=MB, busy=first)
    assert queue.read(second) == b"b"
    assert queue.wait(min_spans=10, max_age=60, busy=second, timeout=0)  # the first one still waits
    queue.complete(first)
    queue.complete(second)
    assert queue.depth().requests == 0
