import pytest
import spenddata


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    client = spenddata.open_seeded(tmp_path_factory.getbasetemp() / "llmcost-seeded")
    yield client
    client.close()
