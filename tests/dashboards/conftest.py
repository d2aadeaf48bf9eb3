import sys
from pathlib import Path

import pytest
import spenddata

# The generator is the repository's top-level `dashboards` package (not installed): make it
# importable. A regular package wins over this test folder's namespace of the same name.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    client = spenddata.open_seeded(tmp_path_factory.getbasetemp() / "llmcost-seeded")
    yield client
    client.close()
