"""The adapter tests again, against the previous major of each SDK.

Each SDK major is installed once into ``.cache/sdk-<name>-<major>`` (without its
dependencies, which the newer major installed already, plus the few it no longer needs)
and imported first by a pytest subprocess running the same test modules.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

OPENAI_TESTS = (
    "tests/instrumentation/test_openai_chat.py",
    "tests/instrumentation/test_openai_streams.py",
    "tests/instrumentation/test_openai_responses.py",
    "tests/instrumentation/test_openai_safety.py",
    "tests/instrumentation/test_openai_fast_chat.py",
)


@pytest.mark.parametrize("major", [2, 1])
def test_openai_older_majors(older_sdk, tests_with_sdk, major):
    # openai 1.x and 2.x use httpx (3.x moved to httpx2) and still need distro and tqdm.
    sdk = older_sdk("openai", major, extra=("distro>=1.7,<2", "tqdm>4"))
    assert _version_seen(sdk, "openai").startswith(f"{major}."), "the subprocess must import the older major"
    result = tests_with_sdk(sdk, *OPENAI_TESTS)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


ANTHROPIC_TESTS = (
    "tests/instrumentation/test_anthropic_messages.py",
    "tests/instrumentation/test_anthropic_streams.py",
    "tests/instrumentation/test_anthropic_safety.py",
    "tests/instrumentation/test_anthropic_fast_messages.py",
)


@pytest.mark.parametrize("major", [1, 0])
def test_anthropic_older_majors(older_sdk, tests_with_sdk, major):
    # anthropic 1.x already has httpx2 and spans of its own (replaced like 2.x's); 0.x has neither
    # (httpx, no spans) and still needs distro.
    sdk = older_sdk("anthropic", major, extra=("distro>=1.7,<2",))
    assert _version_seen(sdk, "anthropic").startswith(f"{major}."), "the subprocess must import the older major"
    result = tests_with_sdk(sdk, *ANTHROPIC_TESTS)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


@pytest.mark.parametrize(
    ("name", "release", "extra"),
    [
        ("openai", "1.40.0", ("distro>=1.7,<2", "tqdm>4")),  # the oldest the instrumentor accepts
        ("openai", "1.66.0", ("distro>=1.7,<2", "tqdm>4")),  # the first with the Responses API
        ("anthropic", "0.60.0", ("distro>=1.7,<2",)),  # the oldest the instrumentor accepts
    ],
)
def test_the_oldest_releases(older_sdk, tests_with_sdk, name, release, extra):
    # The whole adapter tests need features these releases lack; this module holds what they do differently.
    sdk = older_sdk(name, release, extra=extra)
    assert _version_seen(sdk, name) == release, "the subprocess must import that release"
    result = tests_with_sdk(sdk, "tests/instrumentation/test_oldest_releases.py")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"[12][0-9] passed", summary) and "failed" not in summary, summary


def _version_seen(sdk_dir, module):
    code = f"import {module}; print({module}.__version__)"
    env = {**os.environ, "PYTHONPATH": str(sdk_dir)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
