"""The persistent queue between acknowledging a request and inserting it into ClickHouse.

Layout of the queue directory:

- ``segments/<run>-<seq>-<spans>.pb``: one acknowledged request (serialized ExportTraceServiceRequest),
  written to ``tmp/`` first, fsynced, then renamed, so a segment is either whole or absent.
  ``<run>`` is the start time of the process that wrote it: ids never repeat across restarts,
  so neither do the dedup tokens made from them.
- ``batches/<first>.batch``: the segments one insert carries, written (atomically) before the insert.
  After a crash the same segments are inserted again under the same dedup token, which ClickHouse
  drops if the first attempt had landed: exactly once. Segments are deleted only after the insert
  succeeded, and the manifest only after the segment deletions are durable.
- ``rejected/``: segments ClickHouse could not read (disk corruption), kept for inspection.
- ``queue.lock``: an flock, so two collectors never share a queue.

Protobuf concatenation merges repeated fields, so a batch payload is simply the segments' bytes joined.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("otel_llmcost.collector")

SEGMENT_SUFFIX = ".pb"
BATCH_SUFFIX = ".batch"


class QueueFull(Exception):
    """Appending would take the queue past its size limit."""


class QueueLocked(Exception):
    """Another process holds the queue directory."""


@dataclass(frozen=True)
class Segment:
    name: str  # "<run>-<seq>-<spans>" without the suffix
    spans: int
    size: int
    queued: float = field(default=0.0, compare=False)  # time.monotonic() when acknowledged; 0 if from a past run

    @classmethod
    def from_name(cls, name: str, size: int) -> Segment:
        return cls(name=name, spans=int(name.rsplit("-", 1)[1]), size=size)


@dataclass(frozen=True)
class Batch:
    segments: tuple[Segment, ...]

    @property
    def token(self) -> str:
        """The insert's dedup token: a function of the segment ids only, so every retry repeats it."""
        first, last = self.segments[0].name, self.segments[-1].name
        return f"otel-llmcost-collector:{first}:{last}:{len(self.segments)}"

    @property
    def spans(self) -> int:
        return sum(segment.spans for segment in self.segments)

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)


@dataclass(frozen=True)
class Depth:
    requests: int
    spans: int
    bytes: int


class DiskQueue:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._segments_dir = directory / "segments"
        self._batches_dir = directory / "batches"
        self._tmp_dir = directory / "tmp"
        self._rejected_dir = directory / "rejected"
        for path in (self._segments_dir, self._batches_dir, self._tmp_dir, self._rejected_dir):
            path.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(directory / "queue.lock")
        self._run = f"{time.time_ns():020d}"
        self._seq = itertools.count()
        self._state = threading.Condition()
        self._unclaimed: dict[str, Segment] = {}  # oldest first
        self._unclaimed_spans = 0
        self._batches: list[Batch] = []  # claimed by a manifest, not yet inserted
        self._bytes = 0  # every segment on disk, plus appends in progress
        self._recover()

    # --- acknowledging side -------------------------------------------------
    def append(self, payload: bytes, spans: int) -> None:
        """Store one request durably; when this returns, the request may be acknowledged."""
        with self._state:
            if self._bytes + len(payload) > self.max_bytes:
                raise QueueFull(f"queue holds {self._bytes} bytes, limit {self.max_bytes}")
            self._bytes += len(payload)  # reserved now, so concurrent appends cannot overshoot
            name = f"{self._run}-{next(self._seq):010d}-{spans}"
        try:
            _write_durably(
                self._tmp_dir / (name + SEGMENT_SUFFIX), self._segments_dir / (name + SEGMENT_SUFFIX), payload
            )
        except BaseException:
            with self._state:
                self._bytes -= len(payload)
            raise
        with self._state:
            # Insertion order is acknowledgement order, so the first unclaimed segment is the oldest.
            self._unclaimed[name] = Segment(name=name, spans=spans, size=len(payload), queued=time.monotonic())
            self._unclaimed_spans += spans
            self._state.notify_all()

    def has_room(self) -> bool:
        return self._bytes < self.max_bytes

    def depth(self) -> Depth:
        with self._state:
            segments = list(self._unclaimed.values()) + [s for batch in self._batches for s in batch.segments]
            return Depth(requests=len(segments), spans=sum(s.spans for s in segments), bytes=self._bytes)

    # --- inserting side -----------------------------------------------------
    def wait(
        self,
        min_spans: int,
        max_age: float,
        *,
        quiet: float = 0.0,
        timeout: float | None = None,
        busy: Batch | None = None,
        until: Callable[[], bool] | None = None,
    ) -> bool:
        """Block until a batch is ready, ``until()`` holds (checked when woken) or ``timeout`` passes;
        returns whether one is ready. Ready: a claimed batch other than ``busy`` (one being inserted)
        waits, ``min_spans`` are unclaimed, or the oldest unclaimed request has waited ``max_age`` seconds
        and the newest ``quiet`` seconds (no request came since: the partial batch is not growing)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            while True:
                if self._ready(min_spans, max_age, quiet, busy):
                    return True
                if until is not None and until():
                    return False
                now = time.monotonic()
                delay = None if deadline is None else deadline - now
                if delay is not None and delay <= 0:
                    return False
                if self._unclaimed:  # wake up when the partial batch comes of age
                    ripe = self._partial_ripe(max_age, quiet) - now
                    delay = ripe if delay is None else min(delay, ripe)
                self._state.wait(delay)

    def _ready(self, min_spans: int, max_age: float, quiet: float, busy: Batch | None) -> bool:
        if self._unclaimed_spans >= min_spans or any(batch != busy for batch in self._batches):
            return True
        return bool(self._unclaimed) and self._partial_ripe(max_age, quiet) <= time.monotonic()

    def _partial_ripe(self, max_age: float, quiet: float) -> float:
        """When the unclaimed requests (oldest first: insertion order is acknowledgement order) make a batch."""
        oldest = next(iter(self._unclaimed.values())).queued
        if not quiet:
            return oldest + max_age
        newest = next(reversed(self._unclaimed.values())).queued
        return max(oldest + max_age, newest + quiet)

    def wake(self) -> None:
        with self._state:
            self._state.notify_all()

    def next_batch(self, max_spans: int, max_bytes: int, *, busy: Batch | None = None) -> Batch | None:
        """The oldest claimed batch other than ``busy`` (one being inserted), else a new one of the oldest
        segments (at least one), or None."""
        with self._state:
            for batch in self._batches:
                if batch != busy:
                    return batch
            chosen: list[Segment] = []
            for segment in self._unclaimed.values():
                over = sum(s.spans for s in chosen) + segment.spans > max_spans
                if chosen and (over or sum(s.size for s in chosen) + segment.size > max_bytes):
                    break
                chosen.append(segment)
            if not chosen:
                return None
            batch = Batch(tuple(chosen))
            for segment in chosen:
                del self._unclaimed[segment.name]
            self._unclaimed_spans -= batch.spans
            self._batches.append(batch)
        try:
            self._write_manifest(batch)
        except BaseException:
            self._unclaim(batch)
            raise
        return batch

    def upcoming(self, max_spans: int) -> list[Segment]:
        """The unclaimed segments the next new batch would start with (oldest first, up to ``max_spans``
        spans, at least one): they may be read and converted before the batch is claimed."""
        with self._state:
            chosen: list[Segment] = []
            spans = 0
            for segment in self._unclaimed.values():
                spans += segment.spans
                if chosen and spans > max_spans:
                    break
                chosen.append(segment)
            return chosen

    def read(self, batch: Batch) -> bytes:
        return b"".join(self.read_segment(segment) for segment in batch.segments)

    def read_segment(self, segment: Segment) -> bytes:
        return (self._segments_dir / (segment.name + SEGMENT_SUFFIX)).read_bytes()

    def complete(self, batch: Batch) -> None:
        """The batch is in ClickHouse: forget it, segments first, then the manifest."""
        for segment in batch.segments:
            (self._segments_dir / (segment.name + SEGMENT_SUFFIX)).unlink(missing_ok=True)
        _fsync_dir(self._segments_dir)
        self._manifest_path(batch).unlink(missing_ok=True)
        _fsync_dir(self._batches_dir)
        with self._state:
            self._batches.remove(batch)
            self._bytes -= batch.size

    def reject(self, batch: Batch, bad: Iterable[Segment]) -> Batch | None:
        """Move unreadable segments aside; the rest of the batch goes on under a new manifest."""
        bad = set(bad)
        for segment in bad:
            name = segment.name + SEGMENT_SUFFIX
            os.replace(self._segments_dir / name, self._rejected_dir / name)
        _fsync_dir(self._segments_dir)
        self._manifest_path(batch).unlink(missing_ok=True)
        _fsync_dir(self._batches_dir)
        with self._state:
            self._batches.remove(batch)
            self._bytes -= sum(segment.size for segment in bad)
            rest = tuple(segment for segment in batch.segments if segment not in bad)
            if not rest:
                return None
            remaining = Batch(rest)
            self._batches.insert(0, remaining)
        self._write_manifest(remaining)
        return remaining

    def close(self) -> None:
        self._lock_file.close()

    # --- recovery -----------------------------------------------------------
    def _recover(self) -> None:
        for leftover in self._tmp_dir.iterdir():  # never acknowledged: the rename had not happened
            leftover.unlink()
        on_disk = {
            path.name.removesuffix(SEGMENT_SUFFIX): Segment.from_name(
                path.name.removesuffix(SEGMENT_SUFFIX), path.stat().st_size
            )
            for path in self._segments_dir.iterdir()
            if path.name.endswith(SEGMENT_SUFFIX)
        }
        self._bytes = sum(segment.size for segment in on_disk.values())
        for manifest in sorted(self._batches_dir.iterdir()):
            names = self._read_manifest(manifest)
            present = [on_disk.pop(name) for name in names if name in on_disk]
            if names and len(present) == len(names):
                self._batches.append(Batch(tuple(present)))
                continue
            # Some segments are gone, so the insert had succeeded and the cleanup was cut short.
            for segment in present:
                (self._segments_dir / (segment.name + SEGMENT_SUFFIX)).unlink()
                self._bytes -= segment.size
            _fsync_dir(self._segments_dir)
            manifest.unlink()
        _fsync_dir(self._batches_dir)
        self._unclaimed = dict(sorted(on_disk.items()))
        self._unclaimed_spans = sum(segment.spans for segment in self._unclaimed.values())
        if self._batches or self._unclaimed:
            depth = self.depth()
            logger.info(
                "Queue %s: %d requests (%d spans) from an earlier run will be inserted",
                self.directory,
                depth.requests,
                depth.spans,
            )

    def _read_manifest(self, manifest: Path) -> list[str]:
        try:
            return list(json.loads(manifest.read_text())["segments"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Manifests are renamed into place whole, so this is outside damage; its segments go back in line.
            logger.error("Ignoring unreadable batch manifest %s (%s)", manifest, exc)
            return []

    def _write_manifest(self, batch: Batch) -> None:
        body = json.dumps({"token": batch.token, "segments": [segment.name for segment in batch.segments]})
        _write_durably(self._tmp_dir / self._manifest_path(batch).name, self._manifest_path(batch), body.encode())

    def _manifest_path(self, batch: Batch) -> Path:
        return self._batches_dir / (batch.segments[0].name + BATCH_SUFFIX)

    def _unclaim(self, batch: Batch) -> None:
        with self._state:
            self._batches.remove(batch)
            self._unclaimed = {**{s.name: s for s in batch.segments}, **self._unclaimed}
            self._unclaimed_spans += batch.spans


def _write_durably(tmp_path: Path, final_path: Path, payload: bytes) -> None:
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp_path, final_path)
    _fsync_dir(final_path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(path: Path):
    handle = open(path, "a+")  # noqa: SIM115 - held open for the queue's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise QueueLocked(
            f"queue directory {path.parent} is in use by another collector; "
            "stop it or give this one its own --queue-dir"
        ) from None
    return handle
