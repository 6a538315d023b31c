"""The zkeys a worker holds for whole-proof tasks: files on disk by content hash, the most
recent one parsed in memory.

A zkey is fetched from the coordinator (``FetchZkey``) into ``<hash>.part``, resumed from what
that file holds after a broken download, checked against its name (the sha256 of the file) and
renamed to ``<hash>.zkey``. At most ``keep`` files stay (least recently used leave; recency is
the file's mtime, so it survives restarts). The parsed zkey keeps its native base tables, so
back-to-back proofs of one circuit read nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:  # the groth16 reader loads the native core: imported where a proof runs
    from zkedge.groth16.zkey import Zkey

__all__ = ["ZkeyStore"]

#: Fetches bytes of a zkey from an offset, calling ``write(offset, data)`` per chunk.
Fetch = Callable[[str, int, Callable[[int, bytes], None]], Awaitable[None]]


def _is_hash(h: str) -> bool:
    return len(h) == 64 and all(ch in "0123456789abcdef" for ch in h)


class ZkeyStore:
    """Zkey files by sha256 in ``directory`` (at most ``keep``), and the last one parsed."""

    def __init__(self, directory: str | Path, keep: int = 2) -> None:
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.dir = Path(directory)
        self.keep = keep
        self._parsed: tuple[str, Zkey] | None = None
        self.fetched_bytes = 0

    def hashes(self) -> list[str]:
        """The zkeys held, most recent first (what RegisterWorker reports)."""
        if not self.dir.is_dir():
            return []
        files = [p for p in self.dir.glob("*.zkey") if _is_hash(p.stem)]
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.stem for p in files]

    def path(self, digest: str) -> Path:
        """Where the zkey named ``digest`` is (or will be) kept."""
        if not _is_hash(digest):
            raise ValueError(f"not a zkey hash: {digest[:80]!r}")
        return self.dir / f"{digest}.zkey"

    async def get(self, digest: str, size: int, fetch: Fetch) -> Zkey:
        """The parsed zkey, fetched first when it is not held. Raises ValueError for a file
        that does not match its hash or size, FormatError for one that is not a zkey."""
        if self._parsed is not None and self._parsed[0] == digest:
            os.utime(self.path(digest))
            return self._parsed[1]
        path = self.path(digest)
        if not path.exists():
            await self._download(digest, size, fetch)
        else:
            os.utime(path)
        from zkedge.groth16 import read_zkey

        def parse() -> Zkey:
            zk = read_zkey(path)
            zk.load_tables()
            return zk

        self._parsed = None  # one parsed zkey at a time: release the last before parsing
        zk = await trio.to_thread.run_sync(parse)
        self._parsed = (digest, zk)
        return zk

    async def _download(self, digest: str, size: int, fetch: Fetch) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        part = self.dir / f"{digest}.part"
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        with open(part, "ab") as f:

            def write(offset: int, data: bytes) -> None:
                if offset != f.tell():
                    raise ValueError(f"zkey chunk at {offset}, expected {f.tell()}")
                f.write(data)
                self.fetched_bytes += len(data)

            if have < size:
                await fetch(digest, have, write)
        if part.stat().st_size != size:
            part.unlink()
            raise ValueError(f"zkey {digest[:16]} is not {size} bytes")
        got = await trio.to_thread.run_sync(_sha256_file, part)
        if got != digest:
            part.unlink()
            raise ValueError(f"zkey {digest[:16]} has sha256 {got[:16]}: not the file named")
        part.replace(self.path(digest))
        self._evict()

    def _evict(self) -> None:
        for old in self.hashes()[self.keep :]:
            self.path(old).unlink(missing_ok=True)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
