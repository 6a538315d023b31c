"""The local Groth16 prover, following snarkjs 0.7.6's ``groth16Prove`` step by step.

1. A, B on the domain from zkey section 4 against the witness; C = A*B pointwise (native
   ``zkey_eval_ab``).
2. Each of A, B, C: inverse NTT, multiply coefficient i by g^i with g ffjavascript's primitive
   2n-th root of unity, forward NTT: evaluations on the odd coset g*w^k (one native call,
   ``fr_coset_evals``).
3. h = A*B - C there (native ``fr_mul_sub``); section 9 (pointsH) already holds the bases that
   turn these evaluations into [h(tau) t(tau) / delta], so no division by Z is needed.
4. MSMs (native Pippenger; zero scalars cost nothing, and circom witnesses are full of 0 and 1):
   A, B1, C (private signals), H in G1 and B in G2.
5. Blinding with fresh r, s from ``os.urandom``:
   pi_a = A + alpha + r delta1, pi_b = B + beta2 + s delta2, B1' = B1 + beta1 + s delta1,
   pi_c = C + H + s pi_a + r B1' - r s delta1.

The roots of unity must be ffjavascript's (w[s] = nqr^t for nqr its smallest quadratic
non-residue, 5 on both curves, then squared down): pointsH is laid out for them.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping

from zkedge.curves import Curve, G1Affine, G2Affine, Point
from zkedge.groth16._binfile import FormatError, Source
from zkedge.groth16._progress import Progress
from zkedge.groth16.plan import MSM_NAMES, ProofPlan, plan_proof
from zkedge.groth16.proofjson import proof_to_json, public_to_json
from zkedge.groth16.wtns import Witness, read_wtns
from zkedge.groth16.zkey import PointSet, Zkey, ZkeyHeader, read_zkey
from zkedge.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Any, TypeVar, cast

    # zkedge.msm loads the native core: imported where it runs
    from zkedge.groth16.windows import WindowFile
    from zkedge.msm import MsmStop

    T = TypeVar("T")
else:
    from zkedge.record import cast

__all__ = [
    "ProofResult",
    "compute_h",
    "ffjs_root",
    "finish_proof",
    "load_inputs",
    "msm_partials",
    "prove",
    "prove_points",
    "public_signals",
]


class ProofResult(Record):
    """A proof as points, its public signals and the time of each step."""

    __slots__ = ("a", "b", "c", "curve", "public", "times")
    curve: Curve
    a: G1Affine | None
    b: G2Affine | None
    c: G1Affine | None
    public: list[int]
    times: dict[str, float]

    def __init__(
        self,
        curve: Curve,
        a: G1Affine | None,
        b: G2Affine | None,
        c: G1Affine | None,
        public: list[int],
        times: dict[str, float],
    ) -> None:
        self.curve = curve
        self.a = a
        self.b = b
        self.c = c
        self.public = public
        self.times = times

    def to_json(self) -> tuple[dict[str, Any], list[str]]:
        """(proof.json, public.json) objects exactly as snarkjs writes them."""
        return proof_to_json(self.curve, self.a, self.b, self.c), public_to_json(self.public)


def _ffjs_nqr(curve: Curve) -> int:
    r = curve.r
    q = 2
    while pow(q, (r - 1) // 2, r) == 1:
        q += 1
    return q


@functools.cache
def ffjs_root(curve: Curve, power: int) -> int:
    """ffjavascript's primitive 2^power-th root of unity in Fr (``Fr.w[power]``); kept per
    curve and power (two 254-bit exponentiations in Python: each NTT of a proof asks)."""
    s = curve.fr_two_adicity
    if not 0 <= power <= s:
        raise ValueError(f"{curve.name}: no 2^{power}-th root of unity in Fr")
    w = pow(_ffjs_nqr(curve), (curve.r - 1) >> s, curve.r)
    return pow(w, 1 << (s - power), curve.r)


def coset_shift(curve: Curve, power: int) -> int:
    """The coset generator snarkjs uses for a 2^power domain: Fr.w[power+1], or nqr^2 at the
    maximal power."""
    if power == curve.fr_two_adicity:
        return pow(_ffjs_nqr(curve), 2, curve.r)
    return ffjs_root(curve, power + 1)


def load_inputs(zkey: Zkey | Source, witness: Witness | Source) -> tuple[Zkey, Witness]:
    """Read (if needed) and cross-check a zkey and a witness."""
    zk = zkey if isinstance(zkey, Zkey) else read_zkey(zkey)
    wit = witness if isinstance(witness, Witness) else read_wtns(witness)
    if wit.curve.name != zk.curve.name:
        raise FormatError(
            wit.name, f"witness is for {wit.curve.name}, proving key {zk.name} for {zk.curve.name}"
        )
    if wit.n != zk.header.n_vars:
        raise FormatError(
            wit.name, f"witness has {wit.n} values, the circuit ({zk.name}) {zk.header.n_vars}"
        )
    return zk, wit


def public_signals(zk: Zkey | ZkeyHeader, wit: Witness) -> list[int]:
    """Witness values 1..nPublic: outputs, then public inputs."""
    h = zk.header if isinstance(zk, Zkey) else zk
    return [wit.value(i) for i in range(1, h.n_public + 1)]


def _coset_evals(curve: Curve, evals: bytes, power: int, threads: int | None) -> bytes:
    """Evaluations on the domain -> evaluations on snarkjs's odd coset, same order: an inverse
    NTT scaled by 1/n, coefficient i multiplied by g^i, a forward NTT, in one native call, with
    ffjavascript's roots (``zkedge.ntt.ntt`` derives its own, which differ on BLS12-381)."""
    from zkedge.ntt import coset_evals

    omega = ffjs_root(curve, power)
    return coset_evals(curve, evals, omega, coset_shift(curve, power), threads=threads)


def random_below(q: int) -> int:
    """Uniform in [0, q) from ``os.urandom`` by rejection, as ``secrets.randbelow`` draws it
    (whose import loads hmac and OpenSSL: about 20 ms of a small proof's start-up)."""
    bits = q.bit_length()
    while True:
        v = int.from_bytes(os.urandom((bits + 7) // 8), "little") & ((1 << bits) - 1)
        if v < q:
            return v


def _started(fn: Callable[[], T]) -> Callable[[], T]:
    """Run ``fn`` in a new thread; the returned call waits for it and gives its result or
    raises its exception (a thread without importing concurrent.futures and logging)."""
    box: list[T] = []
    err: list[BaseException] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as e:  # handed to the waiting thread
            err.append(e)

    t = threading.Thread(target=run, name="zkedge-ntt")
    t.start()

    def result() -> T:
        t.join()
        if err:
            raise err[0]
        return box[0]

    return result


def compute_h(
    zk: Zkey, wit: Witness, *, threads: int | None = None, progress: Progress | None = None
) -> bytes:
    """The H scalars (domain_size * 32 bytes LE): A*B - C on snarkjs's coset."""
    from zkedge import field
    from zkedge.msm import available_cores

    curve = zk.curve
    h = zk.header
    n = h.domain_size
    prog = progress or Progress("", 1.0, enabled=False)
    with prog.step("eval ABC", 0.02 * n):
        try:
            a, b, c = field.zkey_eval_ab(
                curve, zk.coefs, zk.n_coefs, wit.data, h.n_vars, n, threads=threads
            )
        except ValueError as e:
            raise FormatError(zk.name, f"section 4 (coefficients): {e}") from None
    nt = threads or available_cores()
    if nt >= 2 and n >= 1024:
        # A and B side by side, half the threads each, then C with all of them: one NTT's
        # threads share its stages and wait at their ends (3 NTTs of 2^16 at 2 threads took
        # about 80 ms in sequence)
        with prog.step("ntt A+B", 0.2 * n):
            fa = _started(lambda: _coset_evals(curve, a, h.power, nt // 2))
            eb = _coset_evals(curve, b, h.power, nt - nt // 2)
            ea = fa()
        with prog.step("ntt C", 0.1 * n):
            ec = _coset_evals(curve, c, h.power, nt)
    else:
        out = []
        for name, ev in (("ntt A", a), ("ntt B", b), ("ntt C", c)):
            with prog.step(name, 0.1 * n):
                out.append(_coset_evals(curve, ev, h.power, threads))
        ea, eb, ec = out
    with prog.step("A*B-C", 0.01 * n):
        return field.fr_mul_sub(curve, ea, eb, ec, threads=threads)


def msm_partials(
    zk: Zkey,
    scalars: Mapping[str, bytes],
    plan: ProofPlan,
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    stop: MsmStop | None = None,
    windows: WindowFile | None = None,
) -> dict[PointSet, Point]:
    """Run every task of ``plan`` locally and add the partial sums per MSM.

    ``scalars`` maps "witness" and "h" to their full LE byte vectors. Setting ``stop`` (from
    another thread) makes it raise :class:`zkedge.msm.MsmCancelled` within about 256 points.
    The point sets ``windows`` has blocks for run as fixed-base MSMs over them.
    """
    from zkedge import ec
    from zkedge.msm import msm, msm_fixed

    prog = progress or Progress("", 1.0, enabled=False)
    sums: dict[PointSet, Point] = {}
    last = {t.msm: i for i, t in enumerate(plan.tasks)}
    for i, t in enumerate(plan.tasks):
        with prog.step(f"msm {t.msm}", t.cost):
            fixed = windows.fixed(t.msm) if windows is not None else None
            if fixed is not None:
                part = msm_fixed(
                    fixed,
                    t.scalar_slice(scalars[t.source]),
                    start=t.start,
                    count=t.count,
                    threads=threads,
                    stop=stop,
                )
            else:
                part = msm(
                    zk.table(t.msm),
                    t.scalar_slice(scalars[t.source]),
                    start=t.start,
                    count=t.count,
                    threads=threads,
                    stop=stop,
                )
            if last[t.msm] == i:  # done with these bases: their mapped pages go back
                zk.evict(t.msm)
        prev = sums.get(t.msm)
        sums[t.msm] = part if prev is None else ec.add(zk.curve, t.group, prev, part)
    for name in MSM_NAMES:
        sums.setdefault(name, None)
    return sums


def finish_proof(
    header: ZkeyHeader, sums: Mapping[PointSet, Point], r: int, s: int
) -> tuple[G1Affine | None, G2Affine | None, G1Affine | None]:
    """Add alpha, beta, delta and the blinding r, s to the five MSM sums: (pi_a, pi_b, pi_c)."""
    from zkedge import ec

    curve = header.curve
    q = curve.r
    r, s = r % q, s % q

    def add1(*pts: Point) -> Point:
        acc: Point = None
        for p in pts:
            acc = ec.add(curve, "G1", acc, p)
        return acc

    d1 = header.delta1
    pi_a = add1(sums["A"], header.alpha1, ec.mul(curve, "G1", d1, r))
    pi_b = ec.add(
        curve,
        "G2",
        ec.add(curve, "G2", sums["B2"], header.beta2),
        ec.mul(curve, "G2", header.delta2, s),
    )
    b1 = add1(sums["B1"], header.beta1, ec.mul(curve, "G1", d1, s))
    pi_c = add1(
        sums["C"],
        sums["H"],
        ec.mul(curve, "G1", pi_a, s),
        ec.mul(curve, "G1", b1, r),
        ec.mul(curve, "G1", d1, (-r * s) % q),
    )
    return (
        cast(G1Affine | None, pi_a),
        cast(G2Affine | None, pi_b),
        cast(G1Affine | None, pi_c),
    )


def prove_points(
    zkey: Zkey | Source,
    witness: Witness | Source,
    *,
    threads: int | None = None,
    progress: bool | Progress = False,
    rs: tuple[int, int] | None = None,
    plan: ProofPlan | None = None,
    stop: MsmStop | None = None,
    windows: str | os.PathLike[str] | WindowFile | None = None,
) -> ProofResult:
    """Prove locally; the result as points with step times. ``rs`` fixes the blinding (tests
    only: a reused r, s leaks the witness). Setting ``stop`` from another thread ends the
    proof with :class:`zkedge.msm.MsmCancelled`: at once in an MSM (most of the time),
    after the step in hand otherwise. ``windows``: a window file for this zkey
    (:mod:`zkedge.groth16.windows`; its point sets' MSMs run fixed-base, about a fifth faster;
    its points are not checked, so check the proof)."""
    from zkedge.msm import MsmCancelled

    def check() -> None:
        if stop is not None and stop.is_set():
            raise MsmCancelled("proof stopped")

    check()
    zk, wit = load_inputs(zkey, witness)
    if windows is not None:
        from zkedge.groth16.windows import WindowFile

        windows = windows.bind(zk) if isinstance(windows, WindowFile) else WindowFile(windows, zk)
    # a file cut short under its mapping explains any failure, and spoils any result
    with _FilesChecked(zk, windows):
        h = zk.header
        plan = plan or plan_proof(h)
        if isinstance(progress, Progress):
            prog = progress
        else:
            weight = 0.33 * h.domain_size + plan.total_cost + 1.0
            prog = Progress("zkedge prove", weight, enabled=progress)
        check()
        # H first, then each table as its MSM comes (checked then, its mapped pages given back
        # after): peak memory is the larger phase, not the sum of the NTT buffers and the bases
        hvec = compute_h(zk, wit, threads=threads, progress=prog)
        zk.evict("coefs")
        check()
        sums = msm_partials(
            zk,
            {"witness": wit.data, "h": hvec},
            plan,
            threads=threads,
            progress=prog,
            stop=stop,
            windows=windows,
        )
        zk.load_tables()  # every table now cached on zk; the file's other bytes are released
        if rs is None:
            r, s = random_below(h.curve.r), random_below(h.curve.r)
        else:
            r, s = rs
        with prog.step("blind", 1.0):
            a, b, c = finish_proof(h, sums, r, s)
        prog.close()
        return ProofResult(h.curve, a, b, c, public_signals(zk, wit), dict(prog.times))


class _FilesChecked:
    """Around a proof: FormatError if the zkey's or the window file's mapping read past its
    file's end (the file was truncated while the proof read it), on success or on an error
    (an interrupt or cancellation passes as it is)."""

    def __init__(self, zk: Zkey, windows: WindowFile | None) -> None:
        self.zk, self.windows = zk, windows

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and not issubclass(kind, Exception):
            return
        self.zk.check_intact()
        if self.windows is not None:
            self.windows.guard.check()


def prove(
    zkey: Zkey | Source,
    witness: Witness | Source,
    *,
    threads: int | None = None,
    progress: bool = False,
    stop: MsmStop | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A Groth16 proof of ``witness`` under ``zkey`` (paths, bytes or parsed objects):
    ``(proof, public_signals)`` exactly as snarkjs's JSON. ``threads`` None: all cores.
    ``stop``: an :class:`zkedge.msm.MsmStop` another thread may set to abandon the proof
    (:class:`zkedge.msm.MsmCancelled`)."""
    return prove_points(zkey, witness, threads=threads, progress=progress, stop=stop).to_json()
