"""Every store test gets its own data directory (embedded chDB store + spool) and closes its client,
because chDB opens one data directory per process at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # store_helpers

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import clear_overrides


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(sc.ENV_DATA_DIR, str(tmp_path / "data"))
    for name in (sc.ENV_CLICKHOUSE_URL, sc.ENV_PRICING_FILE):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator:
    from otel_llmcost.store.connection import open_store

    client = open_store()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _no_leftover_prices() -> Iterator[None]:
    yield
    clear_overrides()
