"""Headless Chromium for tests of the status page (Debian's ``chromium`` package; ``make test``
installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a quiet, offline, throw-away browser run (plus ``--user-data-dir``)."""


def chromium_or_skip() -> str:
    """The chromium executable, or skip the test saying how to get it."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.skip("chromium is not installed (apt-get install chromium; `make test` does it)")


def command(browser: str, profile: Path, url: str, *extra: str) -> list[str]:
    """A headless chromium run on ``url`` with a fresh profile directory."""
    return [browser, *FLAGS, f"--user-data-dir={profile}", *extra, url]
