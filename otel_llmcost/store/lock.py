"""The embedded store's lock: one process at a time may open a chDB data directory.

chDB corrupts or refuses a data directory that two processes open at once, so whoever opens
it (a CLI command, the collector) first takes an exclusive ``flock`` on ``store.lock`` beside
it and writes its pid and command line there, so the next process can say who holds it.
Within one process the lock is shared: every client on the path counts as one holder.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from pathlib import Path

from otel_llmcost.store.errors import StoreBusy

_guard = threading.Lock()
_held: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, holders in this process)


def acquire(lock_file: Path) -> None:
    """Take the lock for this process, or raise StoreBusy naming the process that has it."""
    lock_file = lock_file.resolve()
    with _guard:
        if lock_file in _held:
            fd, holders = _held[lock_file]
            _held[lock_file] = (fd, holders + 1)
            return
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreBusy(_busy_message(lock_file, holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {' '.join(sys.argv)}\n".encode(), 0)
        _held[lock_file] = (fd, 1)


def release(lock_file: Path) -> None:
    lock_file = lock_file.resolve()
    with _guard:
        if lock_file not in _held:
            return
        fd, holders = _held[lock_file]
        if holders > 1:
            _held[lock_file] = (fd, holders - 1)
            return
        del _held[lock_file]
        os.close(fd)  # closing the descriptor drops the flock


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def _busy_message(lock_file: Path, holder: str) -> str:
    pid, _, command = holder.partition(" ")
    who = f"process {pid} ({command})" if pid else "another process"
    return (
        f"The embedded store in {lock_file.parent} is in use by {who}. chDB lets one process at a time open it: "
        f"stop that process (kill {pid or '<pid>'}) and retry. To read data while a collector runs, point both at "
        "a ClickHouse server instead (OTEL_LLMCOST_CLICKHOUSE_URL=http://user:password@host:8123/otel)."
    )
