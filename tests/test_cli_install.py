"""The ``otel-llmcost`` command on a core install, which has no click (the cli extra brings it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_command_says_which_extra_it_needs_when_click_is_missing():
    # A core install: click cannot be imported (None in sys.modules blocks it, as an absent package would).
    code = "import sys; sys.modules['click'] = None; from otel_llmcost.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "needs the cli extra" in result.stderr and "pip install 'otel-llmcost[cli]'" in result.stderr


def test_the_installed_command_is_that_entry_point_and_runs_with_click():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["otel-llmcost"] == "otel_llmcost.cli:main"
    code = "from otel_llmcost.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pricing" in result.stdout and "demo" in result.stdout
