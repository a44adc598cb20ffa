"""Test-wide settings, and the headless browser the browser tests share.

Hypothesis: each property test sets its own example budget. Under CI the
examples are drawn from a fixed seed (``derandomize``), so a run is repeatable
and a red build is always the same red build; locally they are random, to keep
finding new cases. No example database is written into the tree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("dev", database=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# -- headless Chromium (Debian's, no browser download) -------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def skip_or_fail(reason: str) -> NoReturn:
    """Skip locally; under CI (where .ci/run installs everything) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must run this test")
    pytest.skip(reason)


def find_chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium driven by playwright, closed after the test."""
    executable = find_chromium()
    if executable is None:
        skip_or_fail("chromium not found (apt-get install chromium; .ci/run does)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()
