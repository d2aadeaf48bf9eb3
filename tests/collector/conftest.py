"""Fixtures: collectors in subprocesses, each with its own embedded store and queue under tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from collector_harness import CollectorProcess

from otel_llmcost import semconv as sc


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'store' / 'chdb'}"


@pytest.fixture
def start_collector(tmp_path: Path, store_url: str) -> Iterator[Callable[..., CollectorProcess]]:
    """Start a collector; every one started is killed at teardown if the test left it running."""
    started: list[CollectorProcess] = []

    def start(*args: str, url: str | None = None, env: dict[str, str] | None = None) -> CollectorProcess:
        collector = CollectorProcess(
            store_url=url or store_url,
            queue_dir=tmp_path / "queue",
            log_path=tmp_path / "collector.log",
            args=args,
            env={sc.ENV_DATA_DIR: str(tmp_path / "data"), **(env or {})},
        )
        started.append(collector)
        return collector.start()

    yield start
    for collector in started:
        if collector.process is not None and collector.process.poll() is None:
            collector.kill()
