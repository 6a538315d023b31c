"""Every ```python block of README.md and docs/*.md runs as shown.

Each block runs alone in a fresh interpreter (a subprocess with a time limit), in a temporary
directory holding the bundled circuit's ``circuit.zkey``, ``witness.wtns`` and
``verification_key.json`` (tests/fixtures/bn128) and its ``circuit.wasm`` and ``input.json``,
which is where the examples say they run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = ROOT / "tests" / "fixtures" / "bn128"
CIRCUIT_FILES = ("circuit.zkey", "witness.wtns", "verification_key.json")
# the same circuit's witness calculator (circom's wasm) and its input, for the circom examples
WASM = ROOT / "tests" / "circom" / "fixtures" / "pubmix_bn128"
WASM_FILES = ("circuit.wasm", "input.json")
TIMEOUT = 180

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def documents() -> list[Path]:
    """README.md and the hand-written docs."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of each ```python block in a Markdown text."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _FENCE.finditer(text)]


def _examples() -> list[Any]:
    out: list[Any] = []
    for doc in documents():
        for line, code in python_blocks(doc.read_text(encoding="utf-8")):
            name = f"{doc.relative_to(ROOT)}:{line}"
            out.append(pytest.param(code, id=name))
    return out


def test_blocks_found() -> None:
    """The README has examples, and the fence pattern finds them (a renamed fence would
    otherwise leave this test with nothing to run)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(python_blocks(readme)) >= 3
    assert readme.count("```python") == len(python_blocks(readme))


def test_python_blocks_parse() -> None:
    """Each block compiles: a syntax error names its document and line."""
    for doc in documents():
        for line, code in python_blocks(doc.read_text(encoding="utf-8")):
            compile(code, f"{doc.name}:{line}", "exec")


@pytest.mark.parametrize("code", _examples())
def test_example_runs(code: str, tmp_path: Path) -> None:
    for name in CIRCUIT_FILES:
        shutil.copyfile(CIRCUIT / name, tmp_path / name)
    for name in WASM_FILES:
        shutil.copyfile(WASM / name, tmp_path / name)
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=str(tmp_path / "cache"))
    res = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
