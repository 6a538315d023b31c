"""Fr NTT against a plain Python (gmpy2) reference: forward, inverse, cosets, both curves."""

from __future__ import annotations

import random

import gmpy2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import CURVE_IDS, CURVES, FAST

from zkedge import _lib, ntt
from zkedge._lib import ffi, lib
from zkedge.curves import Curve

params = pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)


def omega(c: Curve, n: int) -> int:
    """g^((r-1)/n) for the curve's Fr generator (computed here, not via zkedge)."""
    return pow(c.fr_generator, (c.r - 1) // n, c.r)


def dft(vals: list[int], w: int, r: int) -> list[int]:
    """Naive O(n^2) evaluation: out[k] = sum_i vals[i] * w^(ik)."""
    n = len(vals)
    return [sum(v * pow(w, i * k, r) for i, v in enumerate(vals)) % r for k in range(n)]


def fft(vals: list[int], w: int, r: int) -> list[int]:
    """Recursive radix-2 FFT over gmpy2 integers (the fast reference for larger n)."""
    mr = gmpy2.mpz(r)

    def rec(a: list[gmpy2.mpz], w: gmpy2.mpz) -> list[gmpy2.mpz]:
        n = len(a)
        if n == 1:
            return a
        even, odd = rec(a[0::2], w * w % mr), rec(a[1::2], w * w % mr)
        out = [gmpy2.mpz(0)] * n
        t = gmpy2.mpz(1)
        for k in range(n // 2):
            x = odd[k] * t % mr
            out[k] = (even[k] + x) % mr
            out[k + n // 2] = (even[k] - x) % mr
            t = t * w % mr
        return out

    return [int(x) for x in rec([gmpy2.mpz(v) for v in vals], gmpy2.mpz(w))]


def forward_ref(vals: list[int], c: Curve, coset: int | None) -> list[int]:
    n, r = len(vals), c.r
    g = 1 if coset is None else coset % r
    shifted = [v * pow(g, i, r) % r for i, v in enumerate(vals)]
    return (dft if n <= 32 else fft)(shifted, omega(c, n), r)


@params
def test_root_of_unity(c: Curve) -> None:
    for log_n in (0, 1, 3, 10, c.fr_two_adicity):
        n = 1 << log_n
        w = c.root_of_unity(n)
        assert w == omega(c, n)
        assert pow(w, n, c.r) == 1
        if n > 1:
            assert pow(w, n // 2, c.r) == c.r - 1
    with pytest.raises(ValueError):
        c.root_of_unity(1 << (c.fr_two_adicity + 1))
    for bad in (0, 3, -4):
        with pytest.raises(ValueError):
            c.root_of_unity(bad)


@params
@FAST
@given(data=st.data())
def test_ntt_random(c: Curve, data: st.DataObject) -> None:
    log_n = data.draw(st.integers(0, 6), "log_n")
    n = 1 << log_n
    vals = data.draw(st.lists(st.integers(0, c.r - 1), min_size=n, max_size=n), "vals")
    coset = data.draw(st.one_of(st.none(), st.integers(1, c.r - 1)), "coset")
    ev = ntt.ntt(c, vals, coset=coset)
    assert ev == forward_ref(vals, c, coset)
    assert ntt.ntt(c, ev, inverse=True, coset=coset) == vals


@params
@pytest.mark.parametrize("log_n", [7, 10])
def test_ntt_large(c: Curve, log_n: int) -> None:
    n = 1 << log_n
    rng = random.Random(log_n)
    vals = [rng.randrange(c.r) for _ in range(n)]
    vals[0], vals[1], vals[-1] = 0, c.r - 1, 1
    for coset in (None, c.fr_generator, rng.randrange(2, c.r)):
        ev = ntt.ntt(c, vals, coset=coset, threads=2)
        assert ev == forward_ref(vals, c, coset)
        back = ntt.ntt(c, ev, inverse=True, coset=coset, threads=1)
        assert back == vals


@params
def test_ntt_threaded_sizes(c: Curve) -> None:
    """n >= 4096 runs the butterfly stages on several threads: same answer as one thread."""
    n = 1 << 12
    rng = random.Random(12)
    vals = [rng.randrange(c.r) for _ in range(n)]
    b = b"".join(v.to_bytes(32, "little") for v in vals)
    one = ntt.ntt(c, b, threads=1)
    assert ntt.ntt(c, b, threads=2) == one == ntt.ntt(c, b, threads=3)
    assert [int.from_bytes(one[i : i + 32], "little") for i in range(0, len(one), 32)] == fft(
        vals, omega(c, n), c.r
    )
    assert ntt.ntt(c, one, inverse=True) == b


@params
def test_ntt_bytes_and_ints(c: Curve) -> None:
    vals = [5, 0, c.r - 1, 7, 1, 2, 3, 4]
    b = b"".join(v.to_bytes(32, "little") for v in vals)
    out_b = ntt.ntt(c, b, coset=3)
    assert isinstance(out_b, bytes)
    out_i = ntt.ntt(c, vals, coset=3)
    assert out_b == b"".join(v.to_bytes(32, "little") for v in out_i)
    assert ntt.ntt(c, bytearray(b)) == ntt.ntt(c, memoryview(b)) == ntt.ntt(c, b)
    # ints are reduced mod r (negative ones too); bytes must already be below r
    assert ntt.ntt(c, [v + c.r for v in vals]) == ntt.ntt(c, vals)
    assert ntt.ntt(c, [v - c.r for v in vals]) == ntt.ntt(c, vals)
    with pytest.raises(ValueError):
        ntt.ntt(c, c.r.to_bytes(32, "little") + b[32:])
    # n = 1 is the identity; a coset equal to 1 is the plain transform
    assert ntt.ntt(c, [42]) == [42] == ntt.ntt(c, [42], inverse=True, coset=5)
    assert ntt.ntt(c, vals, coset=1) == ntt.ntt(c, vals)
    assert ntt.ntt(c, vals, coset=c.r + 3) == ntt.ntt(c, vals, coset=3)


@params
def test_ntt_threaded_blocks_and_cosets(c: Curve) -> None:
    """2^15 points: thread-local early stages on blocks, then shared stages; with a coset, any
    thread count gives the one-thread answer, the inverse undoes it, and a value >= r raises."""
    n = 1 << 15
    rng = random.Random(15)
    b = b"".join(rng.randrange(c.r).to_bytes(32, "little") for _ in range(n))
    g = c.fr_generator
    one = ntt.ntt(c, b, coset=g, threads=1)
    assert ntt.ntt(c, b, coset=g, threads=2) == one == ntt.ntt(c, b, coset=g, threads=3)
    assert ntt.ntt(c, one, inverse=True, coset=g, threads=2) == b
    bad = b[: 32 * (n - 1)] + c.r.to_bytes(32, "little")
    with pytest.raises(ValueError):
        ntt.ntt(c, bad, threads=2)


@params
def test_ntt_bad_sizes(c: Curve) -> None:
    for n in (0, 3, 5, 6, 12):
        with pytest.raises(ValueError, match="power of two"):
            ntt.ntt(c, list(range(n)))
        with pytest.raises(ValueError):
            ntt.ntt(c, bytes(32 * n))
    for nbytes in (1, 31, 33, 65):
        with pytest.raises(ValueError):
            ntt.ntt(c, bytes(nbytes))
    for coset in (0, c.r, -c.r):
        with pytest.raises(ValueError, match="coset"):
            ntt.ntt(c, [1, 2], coset=coset)


def coset_ref(evals: list[int], c: Curve, w: int, g: int) -> list[int]:
    """Evaluations at w^i -> at g w^i: interpolate (inverse FFT / n), times g^i, evaluate."""
    n, r = len(evals), c.r
    ninv = pow(n, -1, r)
    coefs = [x * ninv % r for x in fft(evals, pow(w, -1, r), r)]
    return fft([x * pow(g, i, r) % r for i, x in enumerate(coefs)], w, r)


def _pack(vals: list[int]) -> bytes:
    return b"".join(v.to_bytes(32, "little") for v in vals)


def _unpack(b: bytes) -> list[int]:
    return [int.from_bytes(b[i : i + 32], "little") for i in range(0, len(b), 32)]


@params
@FAST
@given(data=st.data())
def test_coset_evals_random(c: Curve, data: st.DataObject) -> None:
    log_n = data.draw(st.integers(0, 7), "log_n")
    n = 1 << log_n
    vals = data.draw(st.lists(st.integers(0, c.r - 1), min_size=n, max_size=n), "vals")
    g = data.draw(st.integers(1, c.r - 1), "shift")
    w = omega(c, n)
    out = _lib.fr_coset_evals(c, _pack(vals), w, g, 1)
    assert _unpack(out) == coset_ref(vals, c, w, g)


@params
@pytest.mark.parametrize("log_n", [12, 15])
def test_coset_evals_threads(c: Curve, log_n: int) -> None:
    """2^12: one block on one thread, two blocks on two; 2^15: one and two global stages each
    way around the in-cache blocks. Any thread count gives the reference."""
    n = 1 << log_n
    rng = random.Random(log_n)
    vals = [rng.randrange(c.r) for _ in range(n)]
    vals[0], vals[1], vals[-1] = 0, c.r - 1, 1
    w, g = omega(c, n), rng.randrange(2, c.r)
    want = _pack(coset_ref(vals, c, w, g))
    for t in (1, 2, 3):
        assert _lib.fr_coset_evals(c, _pack(vals), w, g, t) == want
    # the prover's use: the same as the two-transform composition with ffjavascript's roots
    from zkedge.groth16.prover import coset_shift, ffjs_root

    fw, fg = ffjs_root(c, log_n), coset_shift(c, log_n)
    coefs = _lib.fr_ntt(c, _pack(vals), pow(fw, -1, c.r), None, pow(n, -1, c.r), 1)
    assert _lib.fr_coset_evals(c, _pack(vals), fw, fg, 2) == _lib.fr_ntt(c, coefs, fw, fg, None, 1)


@params
@pytest.mark.parametrize("log_n", [0, 3, 12])
def test_coset_evals_rejects_values(c: Curve, log_n: int) -> None:
    """A value >= r: ZK_ERANGE, the first bad index reported, the data untouched; bad values in
    both halves (the first stage reads i and i + n/2 together) on every thread count."""
    n = 1 << log_n
    rng = random.Random(100 + log_n)
    vals = [rng.randrange(c.r) for _ in range(n)]
    w, g = _pack([omega(c, n)]), _pack([5])
    spots = [[0]] if n == 1 else [[n - 1], [n // 2 + 1, 5 % n], [3 % n, n // 2]]
    for where in spots:
        bad = list(vals)
        for k, i in enumerate(where):
            bad[i] = c.r + k if k % 2 == 0 else 2**256 - 1
        for t in (1, 2, 3):
            buf = bytearray(_pack(bad))
            idx = ffi.new("size_t *", 0)
            rc = lib.zk_fr_coset_evals(c.native_id, ffi.from_buffer(buf), 32 * n, n, w, g, t, idx)
            assert rc == lib.ZK_ERANGE
            assert idx[0] == min(where)
            assert bytes(buf) == _pack(bad)
            with pytest.raises(ValueError, match=f"value {min(where)}:"):
                _lib.fr_coset_evals(c, _pack(bad), omega(c, n), 5, t)


@params
def test_coset_evals_bad_arguments(c: Curve) -> None:
    n = 8
    good = _pack(list(range(n)))
    w, g, big = _pack([omega(c, n)]), _pack([5]), c.r.to_bytes(32, "little")
    buf = bytearray(good)
    d = ffi.from_buffer(buf)
    nb = ffi.NULL
    assert lib.zk_fr_coset_evals(c.native_id, d, 32 * n, n, w, g, 1, nb) == lib.ZK_OK
    before = bytes(buf)
    for args, code in [
        ((c.native_id, d, 32 * n - 1, n, w, g, 1, nb), lib.ZK_ELEN),
        ((c.native_id, d, 32 * n, n // 2, w, g, 1, nb), lib.ZK_ELEN),
        ((c.native_id, d, 32 * 6, 6, w, g, 1, nb), lib.ZK_EINVAL),
        ((c.native_id, d, 0, 0, w, g, 1, nb), lib.ZK_EINVAL),
        ((c.native_id, ffi.NULL, 32 * n, n, w, g, 1, nb), lib.ZK_ELEN),
        ((c.native_id, d, 32 * n, n, ffi.NULL, g, 1, nb), lib.ZK_ELEN),
        ((c.native_id, d, 32 * n, n, w, ffi.NULL, 1, nb), lib.ZK_ELEN),
        ((2, d, 32 * n, n, w, g, 1, nb), lib.ZK_EINVAL),
        ((c.native_id, d, 32 * n, n, big, g, 1, nb), lib.ZK_ERANGE),
        ((c.native_id, d, 32 * n, n, w, big, 1, nb), lib.ZK_ERANGE),
        ((c.native_id, d, 2**64 - 32, 2**59, w, g, 1, nb), lib.ZK_ELEN),
    ]:
        assert lib.zk_fr_coset_evals(*args) == code
        assert bytes(buf) == before
    for data in (b"", bytes(31), bytes(33), bytes(32 * 3), bytes(32 * 12)):
        with pytest.raises(ValueError):
            _lib.fr_coset_evals(c, data, omega(c, 4), 5, 1)
    with pytest.raises(ValueError, match="coset evaluation"):
        _lib.fr_coset_evals(c, good, omega(c, n), c.r, 1)
