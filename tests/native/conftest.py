"""Native-core tests: make the reference helpers (``native_ref``, and the KAT generator's
field helpers in ``tests/vectors/make_kat.py``) importable."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "vectors"))
