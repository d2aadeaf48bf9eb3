"""Shared test setup. tiktoken cannot download here: its encoding files sit in ../shared/tiktoken."""

import os
from pathlib import Path

os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(__file__).resolve().parents[1].parent / "shared" / "tiktoken"))


import pytest  # noqa: E402


@pytest.fixture
def unloaded_tokenizer(tmp_path, monkeypatch):
    """o200k_base not loaded yet for this test: OTEL_LLMCOST_TIKTOKEN_DIR names links to the encoding files
    in a directory new to the process. Returns ``wait(seconds)``: True once it loaded, False if it did not
    in time (polling, as a provider that takes its time to answer would leave it)."""
    import time

    from otel_llmcost import semconv as sc
    from otel_llmcost import tokens

    directory = tmp_path / "tiktoken"
    directory.mkdir()
    for file in Path(os.environ[sc.ENV_TIKTOKEN_CACHE_DIR]).iterdir():
        (directory / file.name).symlink_to(file)
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(directory))
    key = ("o200k_base", str(directory))

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while key not in tokens._loaded and time.monotonic() < deadline:
            time.sleep(0.01)
        return key in tokens._loaded

    return wait
