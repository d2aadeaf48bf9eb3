"""The embedded store's spool: instrumented programs append OTLP batches, the store's holder ingests them.

Programs never open chDB (one process per data directory), so their exporter writes each
batch as a serialized ``ExportTraceServiceRequest`` to ``$DATA_DIR/spool/``: first to a
dot-named temp file, then renamed, so a reader only ever sees whole batches. The process that
holds the store (a CLI command, the collector) drains the spool: it inserts each file with the
file name as dedup token and deletes it after the insert succeeded, so a crash between the
two only causes a retry that ClickHouse drops. A file that is not OTLP goes to ``spool/bad/``.

Each store has a spool of its own (``dir_for``), so a batch waiting for one store is only ever
ingested into that one: the embedded store's sits beside its data directory, and a ClickHouse
server's, where its exporter keeps batches while the server is down, under ``spool/servers/``.

This module imports no ClickHouse code: the instrumented program's side stays light.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
import re
from typing import TYPE_CHECKING

from otel_llmcost.store.connection import DEFAULT_DATABASE, StoreURL, data_dir

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

logger = logging.getLogger("otel_llmcost.store")

SUFFIX = ".otlp"
BAD_DIR = "bad"
SERVERS_DIR = "servers"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_counter = itertools.count()


def resolve_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The spool directory: the argument, else ``$OTEL_LLMCOST_DATA_DIR/spool``."""
    return Path(configured) if configured is not None else data_dir() / "spool"


def dir_for(target: StoreURL) -> Path:
    """The spool of the store ``target`` names. An embedded store's sits beside its data directory:
    ``spool`` for one named ``chdb`` (``$OTEL_LLMCOST_DATA_DIR/spool`` for the default store), else
    ``<name>.spool``, so two stores side by side have a spool each; a server's is
    ``$OTEL_LLMCOST_DATA_DIR/spool/servers/<scheme>-<host>-<port>-<database>``."""
    if target.embedded:
        assert target.path is not None
        path = target.path
        return path.parent / ("spool" if path.name == "chdb" else f"{path.name}.spool")
    name = f"{target.scheme}-{target.host}-{target.port}-{target.database or DEFAULT_DATABASE}"
    safe = _UNSAFE.sub("_", name)
    if safe != name:  # an IPv6 address, say: the readable name, and what tells it from another alike
        safe = f"{safe}-{hashlib.blake2b(name.encode(), digest_size=4).hexdigest()}"
    return data_dir() / "spool" / SERVERS_DIR / safe


def new_name() -> str:
    """A spool file name: sorts by time and is unique across processes and threads (time, pid, counter)."""
    return f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}{SUFFIX}"


def write_batch(payload: bytes, spool_dir: str | os.PathLike[str] | None = None, name: str | None = None) -> Path:
    """Append one batch (serialized ExportTraceServiceRequest) to the spool; returns its path.

    ``name`` (from ``new_name``) lets a batch first sent to a server under that name as dedup token
    keep it in the spool: the drain inserts with the file name, so a batch the server did take
    before its answer was lost is dropped as a duplicate instead of doubled.
    """
    directory = resolve_dir(spool_dir)
    directory.mkdir(parents=True, exist_ok=True)
    name = name or new_name()
    temp = directory / f".{name}.tmp"
    try:
        with open(temp, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())  # the rename must never publish a batch the disk does not have yet
        os.replace(temp, directory / name)
    except BaseException:
        try:
            temp.unlink(missing_ok=True)  # a full disk keeps no part of the batch, which nothing would remove
        except OSError:
            pass
        raise
    return directory / name


def pending(spool_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Whole batches waiting, oldest first (temp files of batches being written are not listed)."""
    directory = resolve_dir(spool_dir)
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if path.name.endswith(SUFFIX) and not path.name.startswith("."))


def drain(
    client: Client,
    spool_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Insert every spooled batch into the store and delete it; returns the number of spans inserted.

    ``progress(done, total)`` is called after each file. A file that is not OTLP is moved to
    ``bad/`` with a log line and the rest go on; a store error stops the drain (the files stay
    for the next one) and is raised.
    """
    from otel_llmcost.store.errors import BadPayload
    from otel_llmcost.store.ingest import insert_otlp

    files = pending(spool_dir)
    spans = 0
    for done, path in enumerate(files, start=1):
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            continue  # another drainer (server mode) took it
        try:
            spans += insert_otlp(client, payload, dedup_token=path.name)
        except BadPayload as exc:
            _quarantine(path, exc)
        else:
            path.unlink(missing_ok=True)
        if progress is not None:
            progress(done, len(files))
    return spans


def _quarantine(path: Path, reason: Exception) -> None:
    bad = path.parent / BAD_DIR
    bad.mkdir(exist_ok=True)
    try:
        os.replace(path, bad / path.name)
    except FileNotFoundError:
        return
    logger.warning("Moved the spool file %s to %s: %s", path.name, bad, reason)
