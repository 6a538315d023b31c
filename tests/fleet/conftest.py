"""Fixtures for fleet tests (helpers live in fleet_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Path of a fresh SQLite store for the coordinator under test."""
    return tmp_path / "jobs.sqlite"
