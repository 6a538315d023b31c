"""Fuzz the binary readers: truncated or mutated files must raise FormatError, nothing else."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.g16_paths import fixture_dir

from zkedge.groth16 import FormatError, read_r1cs, read_wtns, read_zkey
from zkedge.groth16.zkey import PointSet

BLS = fixture_dir("bls12381")  # the smallest files: quick to re-read many times
ZKEY = (BLS / "circuit.zkey").read_bytes()
WTNS = (BLS / "witness.wtns").read_bytes()
R1CS = (BLS / "circuit.r1cs").read_bytes()

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_format_errors(reader: Callable[[bytes], object], data: bytes) -> None:
    try:
        reader(data)
    except FormatError:
        pass


def mutations(base: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, byte flips (biased to the headers), splices and garbage."""
    n = len(base)
    trunc = st.integers(0, n - 1).map(lambda k: base[:k])
    head = st.integers(0, min(n - 1, 400))
    anywhere = st.integers(0, n - 1)

    def flip(pos_vals: list[tuple[int, int]]) -> bytes:
        b = bytearray(base)
        for p, v in pos_vals:
            b[p] ^= v or 1
        return bytes(b)

    flips = st.lists(
        st.tuples(st.one_of(head, anywhere), st.integers(0, 255)), min_size=1, max_size=8
    ).map(flip)
    splice = st.tuples(anywhere, st.binary(max_size=64)).map(
        lambda t: base[: t[0]] + t[1] + base[t[0] :]
    )
    garbage = st.binary(max_size=200)
    return st.one_of(trunc, flips, splice, garbage)


@SETTINGS
@given(mutations(ZKEY))
def test_fuzz_zkey(data: bytes) -> None:
    _only_format_errors(read_zkey, data)


@SETTINGS
@given(mutations(WTNS))
def test_fuzz_wtns(data: bytes) -> None:
    _only_format_errors(read_wtns, data)


@SETTINGS
@given(mutations(R1CS))
def test_fuzz_r1cs(data: bytes) -> None:
    _only_format_errors(read_r1cs, data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(ZKEY) - 1), st.integers(1, 255))
def test_fuzz_zkey_single_flip_in_header(pos: int, val: int) -> None:
    b = bytearray(ZKEY)
    b[pos % 1200] ^= val
    _only_format_errors(read_zkey, bytes(b))


def _outcome(src: object) -> tuple[str, list[bytes]]:
    """What reading and loading a zkey gives: the error message, or the tables' bytes."""
    try:
        zk = read_zkey(src)  # type: ignore[arg-type]
        zk.load_tables()
        return "", [bytes(zk.table(w)._data) for w in ("A", "B1", "B2", "C", "H")]
    except FormatError as e:
        return str(e).split(": ", 1)[1], []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(ZKEY))
def test_zkey_from_a_file_reads_as_from_bytes(data: bytes) -> None:
    """A path is read section by section (point sections become tables in place, checked
    there); bytes are parsed as one buffer and copied into tables. Same errors, same tables."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".zkey")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        assert _outcome(path) == _outcome(data)
    finally:
        os.unlink(path)


def test_zkey_tables_from_a_file_are_the_mapped_sections() -> None:
    """A zkey read from a path is mapped: a point section at an 8-byte aligned offset is its
    table (no copy); one at another offset (snarkjs leaves B1 and C at 4 mod 8 in BN254 zkeys)
    is copied. Either way the table holds the section's bytes."""
    import mmap

    from zkedge._lib import ffi

    for path in (BLS / "circuit.zkey", fixture_dir("bn128") / "circuit.zkey"):
        zk = read_zkey(path)
        raw: dict[PointSet, memoryview] = {w: zk.raw[w] for w in ("A", "B1", "B2", "C", "H")}
        zk.load_tables()
        in_place = 0
        for w, view in raw.items():
            assert isinstance(view.obj, mmap.mmap)
            data = zk.table(w)._data
            if int(ffi.cast("uintptr_t", ffi.from_buffer(view))) % 8 == 0:
                assert isinstance(data, memoryview) and data.obj is view.obj  # no copy
                in_place += 1
            assert bytes(data) == bytes(view)
        assert in_place >= 3
        assert isinstance(zk.coefs.obj, mmap.mmap)  # section 4 is not copied either
    copied = read_zkey(ZKEY)
    copied.load_tables()
    zk = read_zkey(BLS / "circuit.zkey")
    for w in raw:
        assert bytes(copied.table(w)._data) == bytes(zk.table(w)._data)


def test_evicted_sections_are_read_again() -> None:
    """A proof gives back the mapped pages of section 4 and of each table once used; a second
    proof with the same Zkey pages them in again and gets the same points."""
    from zkedge.groth16 import prove_points

    for name in ("bn128", "bls12381"):
        d = fixture_dir(name)
        zk, wit = read_zkey(d / "circuit.zkey"), read_wtns(d / "witness.wtns")
        first = prove_points(zk, wit, rs=(3, 5))
        zk.evict("coefs")
        for w in ("A", "B1", "B2", "C", "H"):
            zk.evict(w)
        again = prove_points(zk, wit, rs=(3, 5))
        assert (again.a, again.b, again.c) == (first.a, first.b, first.c)
