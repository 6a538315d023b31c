"""Test helpers: take an iden3 container apart and put it back together, modified."""

from __future__ import annotations

import struct


def split(data: bytes) -> tuple[bytes, int, list[tuple[int, bytes]]]:
    """(magic, version, [(section id, payload)]) of a well-formed container."""
    magic = data[:4]
    version, n = struct.unpack_from("<II", data, 4)
    pos = 12
    secs = []
    for _ in range(n):
        sid, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        secs.append((sid, data[pos : pos + size]))
        pos += size
    return magic, version, secs


def join(magic: bytes, version: int, secs: list[tuple[int, bytes]]) -> bytes:
    """The container bytes of (magic, version, sections)."""
    out = [magic, struct.pack("<II", version, len(secs))]
    for sid, payload in secs:
        out.append(struct.pack("<IQ", sid, len(payload)))
        out.append(payload)
    return b"".join(out)


def replace(data: bytes, sid: int, payload: bytes) -> bytes:
    """Section ``sid`` replaced by ``payload``."""
    magic, version, secs = split(data)
    return join(magic, version, [(s, payload if s == sid else p) for s, p in secs])


def drop(data: bytes, sid: int) -> bytes:
    """Section ``sid`` removed."""
    magic, version, secs = split(data)
    return join(magic, version, [(s, p) for s, p in secs if s != sid])


def duplicate(data: bytes, sid: int) -> bytes:
    """Section ``sid`` present twice."""
    magic, version, secs = split(data)
    extra = [(s, p) for s, p in secs if s == sid]
    return join(magic, version, secs + extra)


def section(data: bytes, sid: int) -> bytes:
    """The payload of section ``sid``."""
    return next(p for s, p in split(data)[2] if s == sid)
