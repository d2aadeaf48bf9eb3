import pytest

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import clear_overrides


@pytest.fixture(autouse=True)
def catalog_prices_only(monkeypatch):
    """Every test starts from the shipped catalog: no override file, no set_price leftovers."""
    monkeypatch.delenv(sc.ENV_PRICING_FILE, raising=False)
    clear_overrides()
    yield
    monkeypatch.delenv(sc.ENV_PRICING_FILE, raising=False)
    clear_overrides()
