"""Shared test setup. tiktoken cannot download here: its encoding files sit in ../shared/tiktoken."""

import os
from pathlib import Path

os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(__file__).resolve().parents[1].parent / "shared" / "tiktoken"))
