"""Shared helpers for the circom toolbox tests: fixture paths and the pinned snarkjs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.circom_paths import Run

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parent / "fixtures" / "node_modules"
SNARKJS = NODE_MODULES / "snarkjs" / "build" / "cli.cjs"


def _need(path: Path, what: str) -> None:
    if path.exists() and shutil.which("node") is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} missing in CI: run `make node`")
    pytest.skip(f"{what} not installed: run `make node`")


@pytest.fixture(scope="session")
def snarkjs() -> Run:
    """Run the pinned snarkjs CLI (120 s at most); returns the completed process."""
    _need(SNARKJS, "snarkjs")

    def run(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", str(SNARKJS), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def node() -> Run:
    """Run a node script with tests/fixtures/node_modules on its path (120 s at most)."""
    _need(NODE_MODULES / "solc", "solc and @ethereumjs/evm")

    def run(*args: str | os.PathLike[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", *map(str, args)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        )

    return run


@pytest.fixture(autouse=True)
def _wasm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled modules go to a temporary cache, not the user's."""
    monkeypatch.setenv("ZKEDGE_WASM_CACHE", str(tmp_path_factory.getbasetemp() / "wasm-cache"))
