"""``zkedge selftest``: is this board's native build right, how fast is it, how hot is it?

Runs known-answer vectors through the Python API (field, group, encodings, point checks, MSM,
NTT; a subset of ``tests/vectors/kat.json`` is embedded so it works from an installed wheel,
``--vectors`` runs a whole file), reports :func:`zkedge.native_info`, times a short MSM
(points/s) and reads the load probe (temperature, Raspberry Pi throttling). Exit code 0 means
PASS: every known answer matched. Warnings (a 32-bit-limb build on a 64-bit CPU, throttling, a
hot SoC) are reported but do not fail the test.

Library use::

    report = run_selftest()
    print(format_report(report))
    assert report.ok
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BenchResult",
    "CheckResult",
    "LoadInfo",
    "SelfTestReport",
    "format_report",
    "main",
    "register",
    "run_selftest",
]

# Raspberry Pi firmware throttle bits that mean "slowed down now" (under-voltage, frequency
# capped, throttled, soft temperature limit); the worker's probe uses the same mask.
_PI_THROTTLED_NOW = 0x1 | 0x2 | 0x4 | 0x8
_PI_THROTTLE_FILE = "/sys/devices/platform/soc/soc:firmware/get_throttled"
HOT_C = 80.0


@dataclass
class CheckResult:
    """One section of known answers: how many matched, and the first few mismatches."""

    name: str
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def record(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            if len(self.failures) < 5:
                self.failures.append(what)


@dataclass
class BenchResult:
    """A short native MSM benchmark (BN254 G1)."""

    points: int
    threads: int
    seconds: float  # best of the repetitions
    points_per_sec: float
    repetitions: int


@dataclass
class LoadInfo:
    """Load probe readings; ``None`` where the board does not expose them."""

    source: str  # "zkedge.fleet.worker.probe" or "sysfs"
    temperature_c: float | None
    throttle_bits: int | None
    throttled: bool | None
    load_average: float | None
    mem_total_bytes: int | None
    mem_available_bytes: int | None


@dataclass
class SelfTestReport:
    """Everything ``zkedge selftest`` found out."""

    ok: bool
    machine: str
    python: str
    zkedge_version: str
    native: dict[str, Any]
    vectors: str
    checks: list[CheckResult]
    bench: BenchResult | None
    load: LoadInfo
    warnings: list[str]
    errors: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for c, cd in zip(self.checks, d["checks"], strict=True):
            cd["ok"] = c.ok
        return d


# ---------------------------------------------------------------------------- known answers
def load_vectors(path: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The KAT document (``zkedge-kat/1``) and where it came from."""
    if path is not None:
        p = Path(path)
        return json.loads(p.read_text()), str(p)
    from zkedge._selftest_kat import KAT_JSON

    return json.loads(KAT_JSON), "embedded subset of tests/vectors/kat.json"


def _int(h: str) -> int:
    return int(h, 16)


def _fe(v: Any) -> Any:
    return (_int(v[0]), _int(v[1])) if isinstance(v, list) else _int(v)


def _run_section(name: str, items: Iterator[tuple[str, Callable[[], bool]]]) -> CheckResult:
    """Run (label, thunk) pairs; a thunk returns True on a match; exceptions count as failures."""
    res = CheckResult(name)
    t0 = time.perf_counter()
    for label, thunk in items:
        try:
            ok = thunk()
        except Exception as exc:  # a crash in one vector must not hide the others
            res.record(False, f"{label}: {type(exc).__name__}: {exc}")
            continue
        res.record(ok, label)
    res.seconds = time.perf_counter() - t0
    return res


def _field_items(doc: dict[str, Any]) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge import field as F

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("field", [])):
            op = getattr(F, v["op"])
            a = _fe(v["a"])
            b = _fe(v["b"]) if "b" in v else None
            want = _fe(v["out"])
            args = (cname, v["field"], a) if b is None else (cname, v["field"], a, b)

            def thunk(op: Any = op, args: tuple[Any, ...] = args, want: Any = want) -> bool:
                return bool(op(*args) == want)

            yield f"{cname} {v['field']} {v['op']} #{i}", thunk


def _group_items(doc: dict[str, Any]) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge import ec

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("group", [])):
            g, op = v["group"], v["op"]

            def thunk(cname: str = cname, g: str = g, op: str = op, v: Any = v) -> bool:
                a = ec.decode(cname, g, bytes.fromhex(v["a"]), "be")
                if op == "add":
                    b = ec.decode(cname, g, bytes.fromhex(v["b"]), "be")
                    res = ec.add(cname, g, a, b)
                    ok_mixed = ec.add_mixed(cname, g, a, b) == res
                elif op == "dbl":
                    res, ok_mixed = ec.double(cname, g, a), True
                elif op == "neg":
                    res, ok_mixed = ec.neg(cname, g, a), True
                elif op == "mul":
                    res, ok_mixed = ec.mul(cname, g, a, _int(v["k"])), True
                else:
                    raise ValueError(f"unknown group op {op!r}")
                return ok_mixed and ec.encode(cname, g, res, "be").hex() == v["out"]

            yield f"{cname} {g} {op} #{i} ({v.get('note', '')})", thunk


def _encode_items(doc: dict[str, Any]) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge import ec

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("encode", [])):

            def thunk(cname: str = cname, v: Any = v) -> bool:
                be, mont = bytes.fromhex(v["be"]), bytes.fromhex(v["mont"])
                return (
                    ec.convert(cname, v["group"], be, "be", "mont") == mont
                    and ec.convert(cname, v["group"], mont, "mont", "be") == be
                )

            yield f"{cname} {v['group']} encode #{i}", thunk


def _check_items(doc: dict[str, Any]) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge import ec

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("check", [])):
            for level in ("curve", "subgroup"):

                def thunk(cname: str = cname, v: Any = v, level: str = level) -> bool:
                    try:
                        ec.decode(cname, v["group"], bytes.fromhex(v["be"]), "be", check=level)
                    except ValueError:
                        return bool(v[level] != "ok")
                    return bool(v[level] == "ok")

                yield f"{cname} {v['group']} check {level} #{i} ({v.get('note', '')})", thunk


def _msm_items(
    doc: dict[str, Any], threads: int | None
) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge import ec
    from zkedge.msm import BaseTable, msm

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("msm", [])):

            def thunk(cname: str = cname, v: Any = v) -> bool:
                g = v["group"]
                bases = b"".join(bytes.fromhex(b) for b in v["bases"])
                table = BaseTable.from_bytes(cname, g, bases, encoding="be", check="subgroup")
                scalars = [_int(s) for s in v["scalars"]]
                got = msm(table, scalars, threads=threads)
                ok: bool = ec.encode(cname, g, got, "be").hex() == v["out"]
                n = len(scalars)
                if ok and n >= 2:  # two ranges summed: what the fleet does across boards
                    k = n // 2
                    lo = msm(table, scalars[:k], start=0, count=k, threads=1)
                    hi = msm(table, scalars[k:], start=k, count=n - k, threads=threads)
                    both = ec.add(cname, g, lo, hi)
                    ok = ec.encode(cname, g, both, "be").hex() == v["out"]
                return ok

            yield f"{cname} {v['group']} msm n={v['n']} #{i} ({v.get('note', '')})", thunk


def _ntt_items(
    doc: dict[str, Any], threads: int | None
) -> Iterator[tuple[str, Callable[[], bool]]]:
    from zkedge.ntt import ntt

    for cname, c in doc["curves"].items():
        for i, v in enumerate(c.get("ntt", [])):

            def thunk(cname: str = cname, v: Any = v) -> bool:
                vals = [_int(x) for x in v["in"]]
                coset = _int(v["coset"]) if v.get("coset") else None
                got = ntt(cname, vals, inverse=bool(v["inverse"]), coset=coset, threads=threads)
                return got == [_int(x) for x in v["out"]]

            kind = "inverse" if v["inverse"] else "forward"
            yield f"{cname} ntt n={v['n']} {kind} coset={bool(v.get('coset'))} #{i}", thunk


def run_known_answers(doc: dict[str, Any], threads: int | None = None) -> list[CheckResult]:
    """Every section of a ``zkedge-kat/1`` document through the Python API."""
    if doc.get("schema") != "zkedge-kat/1":
        raise ValueError(f"unsupported KAT schema {doc.get('schema')!r}")
    return [
        _run_section("field", _field_items(doc)),
        _run_section("group", _group_items(doc)),
        _run_section("encode", _encode_items(doc)),
        _run_section("check", _check_items(doc)),
        _run_section("msm", _msm_items(doc, threads)),
        _run_section("ntt", _ntt_items(doc, threads)),
    ]


# ---------------------------------------------------------------------------- benchmark
def msm_benchmark(
    points: int = 4096,
    threads: int | None = None,
    min_seconds: float = 0.5,
    max_repetitions: int = 5,
) -> BenchResult:
    """Best-of-k time of a BN254 G1 MSM over ``points`` distinct bases with random scalars."""
    if points < 1:
        raise ValueError("points must be >= 1")
    from zkedge import BN254, ec
    from zkedge.msm import BaseTable, msm

    g = ec.generator(BN254, "G1")
    # distinct bases k*G for k = 1..n through the native group law (mixed additions are cheap)
    pts = [g]
    for _ in range(points - 1):
        pts.append(ec.add(BN254, "G1", pts[-1], g))
    table = BaseTable.from_points(BN254, "G1", pts)
    scalars = b"".join(
        (int.from_bytes(secrets.token_bytes(32), "little") % BN254.r).to_bytes(32, "little")
        for _ in range(points)
    )
    used = threads or int(_native_info().get("threads", 1))
    msm(table, scalars, threads=threads)  # warm-up: allocations, page faults
    best, reps, spent = float("inf"), 0, 0.0
    while reps < max_repetitions and (reps == 0 or spent < min_seconds):
        t0 = time.perf_counter()
        msm(table, scalars, threads=threads)
        dt = time.perf_counter() - t0
        best, spent, reps = min(best, dt), spent + dt, reps + 1
    return BenchResult(points, used, best, points / max(best, 1e-9), reps)


# ---------------------------------------------------------------------------- load probe
def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None


def read_load() -> LoadInfo:
    """Temperature, throttling, load and memory: the worker's probe if importable, else sysfs."""
    try:
        from zkedge.fleet.worker.probe import Probe

        probe = Probe()
        total, avail = probe.memory()
        temp = probe.temperature()
        thr = probe.throttle()
        return LoadInfo(
            "zkedge.fleet.worker.probe",
            temp,
            thr.bits if thr is not None else None,
            thr.throttled if thr is not None else None,
            probe.load_avg(),
            total or None,
            avail or None,
        )
    except ImportError:
        pass
    temps = []
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*")):
        text = _read(str(zone / "temp"))
        if text and text.strip().lstrip("-").isdigit():
            temps.append(int(text) / 1000.0)
    bits: int | None = None
    text = _read(_PI_THROTTLE_FILE)
    if text and text.strip():
        try:
            bits = int(text.strip(), 16)
        except ValueError:
            bits = None
    load = _read("/proc/loadavg")
    mem: dict[str, int] = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            mem[key] = int(parts[0]) * 1024
    return LoadInfo(
        "sysfs",
        max(temps) if temps else None,
        bits,
        bool(bits & _PI_THROTTLED_NOW) if bits is not None else None,
        float(load.split()[0]) if load else None,
        mem.get("MemTotal"),
        mem.get("MemAvailable"),
    )


# ---------------------------------------------------------------------------- the run
def _native_info() -> dict[str, Any]:
    from zkedge import native_info

    return native_info()


def _expected_limb_bits(machine: str) -> int:
    """64 on 64-bit CPUs (where the compiler has unsigned __int128), 32 on armv6/armv7."""
    m = machine.lower()
    if m.startswith(("armv6", "armv7", "armv8l", "arm", "i386", "i686")) and m != "arm64":
        return 32
    return 64


def run_selftest(
    *,
    vectors: str | Path | None = None,
    bench_points: int = 4096,
    threads: int | None = None,
    bench: bool = True,
) -> SelfTestReport:
    """Run the whole self-test; never raises for a wrong answer (see ``report.ok``)."""
    if threads is not None and threads < 1:
        raise ValueError("threads must be >= 1")
    t0 = time.perf_counter()
    warnings: list[str] = []
    errors: list[str] = []
    machine = platform.machine()
    try:
        from importlib.metadata import version

        zver = version("zkedge")
    except Exception:
        zver = "unknown"
    native: dict[str, Any] = {}
    checks: list[CheckResult] = []
    result_bench: BenchResult | None = None
    source = "-"
    try:
        native = _native_info()
    except Exception as exc:  # the compiled module is missing or broken: that is the finding
        errors.append(f"native core did not load: {type(exc).__name__}: {exc}")
    if native:
        limb = int(native.get("limb_bits", 0))
        forced = os.environ.get("ZKEDGE_NATIVE", "") == "32"
        want = 32 if forced else _expected_limb_bits(machine)
        if limb != want:
            warnings.append(
                f"native core uses {limb}-bit limbs; {want}-bit expected on {machine}"
                + (" (slower)" if limb < want else "")
            )
        try:
            doc, source = load_vectors(vectors)
            checks = run_known_answers(doc, threads)
        except Exception as exc:
            errors.append(f"known answers could not run: {type(exc).__name__}: {exc}")
        if bench and not errors:
            try:
                result_bench = msm_benchmark(bench_points, threads)
            except Exception as exc:
                errors.append(f"MSM benchmark failed: {type(exc).__name__}: {exc}")
    load = read_load()
    if load.throttled:
        warnings.append(f"board is throttled now (get_throttled=0x{load.throttle_bits or 0:x})")
    elif load.throttle_bits:
        warnings.append(f"board was throttled since boot (get_throttled=0x{load.throttle_bits:x})")
    if load.temperature_c is not None and load.temperature_c >= HOT_C:
        warnings.append(f"SoC temperature {load.temperature_c:.1f} °C (>= {HOT_C:.0f} °C)")
    ok = not errors and bool(checks) and all(c.ok for c in checks)
    return SelfTestReport(
        ok=ok,
        machine=machine,
        python=platform.python_version(),
        zkedge_version=zver,
        native=native,
        vectors=source,
        checks=checks,
        bench=result_bench,
        load=load,
        warnings=warnings,
        errors=errors,
        seconds=time.perf_counter() - t0,
    )


def _fmt_opt(v: float | None, fmt: str, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{fmt}}{unit}"


def format_report(r: SelfTestReport) -> str:
    """The human-readable report, ending with ``RESULT: PASS`` or ``RESULT: FAIL``."""
    lines = [
        "zkedge selftest",
        f"  machine      {r.machine}, Python {r.python}, zkedge {r.zkedge_version}",
    ]
    if r.native:
        n = r.native
        lines.append(
            f"  native       {n.get('limb_bits')}-bit limbs, {n.get('threads')} threads, "
            f"{n.get('compiler')} ({n.get('module')}), asm: {n.get('asm', 'none')}"
        )
    lines.append(f"  vectors      {r.vectors}")
    for c in r.checks:
        status = "ok  " if c.ok else "FAIL"
        lines.append(
            f"  [{status}] {c.name:<7} {c.passed:4d} passed, {c.failed:3d} failed"
            f"  ({c.seconds:.2f} s)"
        )
        lines.extend(f"           - {f}" for f in c.failures)
    if r.bench is not None:
        b = r.bench
        lines.append(
            f"  msm bench    BN254 G1, {b.points} points, {b.threads} threads: "
            f"{b.points_per_sec:,.0f} points/s (best of {b.repetitions}: {b.seconds * 1e3:.1f} ms)"
        )
    ld = r.load
    thr = "n/a" if ld.throttle_bits is None else f"0x{ld.throttle_bits:x}"
    if ld.throttled is not None:
        thr += " (throttled now)" if ld.throttled else " (not throttled)"
    mem = "n/a"
    if ld.mem_total_bytes is not None:
        avail = (ld.mem_available_bytes or 0) >> 20
        mem = f"{avail} MiB available of {ld.mem_total_bytes >> 20} MiB"
    lines.append(
        f"  load         temp {_fmt_opt(ld.temperature_c, '.1f', ' °C')}, throttle {thr}, "
        f"loadavg {_fmt_opt(ld.load_average, '.2f')}, {mem}  [{ld.source}]"
    )
    lines.extend(f"  warning: {w}" for w in r.warnings)
    lines.extend(f"  error: {e}" for e in r.errors)
    total_p = sum(c.passed for c in r.checks)
    total_f = sum(c.failed for c in r.checks)
    lines.append(f"{total_p} passed, {total_f} failed")
    lines.append(f"RESULT: {'PASS' if r.ok else 'FAIL'}  ({r.seconds:.1f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- CLI
def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vectors", type=Path, help="a zkedge-kat/1 JSON file (default: embedded)")
    p.add_argument("--bench-points", type=int, default=4096, help="MSM benchmark size")
    p.add_argument("--threads", type=int, help="threads for the native calls (default: all)")
    p.add_argument("--no-bench", action="store_true", help="skip the MSM benchmark")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_selftest(args: argparse.Namespace) -> int:
    """``zkedge selftest``: exit 0 on PASS, 1 on FAIL."""
    report = run_selftest(
        vectors=args.vectors,
        bench_points=args.bench_points,
        threads=args.threads,
        bench=not args.no_bench,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report))
    return 0 if report.ok else 1


def register(subparsers: Any) -> None:
    """Add ``selftest`` to an ``argparse`` subparsers object (``zkedge.cli`` calls this)."""
    p = subparsers.add_parser(
        "selftest", help="check the native build against known answers, benchmark, read the probe"
    )
    _add_arguments(p)
    p.set_defaults(func=cmd_selftest)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m zkedge.selftest``."""
    ap = argparse.ArgumentParser(prog="zkedge selftest", description=__doc__.splitlines()[0])
    _add_arguments(ap)
    return cmd_selftest(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
