"""What a board is and how loaded it is, read from the OS (Linux ``/proc`` and ``/sys``).

Every reading tolerates missing files (containers, non-Pi boards, macOS dev boxes): it is then
reported as absent/zero rather than failing. ``root`` lets tests point the probe at a fake tree.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from zkedge.fleet.proto.coordinator.v1 import LoadReport, NodeInfo

__all__ = ["Probe", "ThrottleState", "micro_benchmark"]

# Raspberry Pi get_throttled bits that mean "slowed down right now".
_PI_NOW = 0x1 | 0x2 | 0x4 | 0x8  # under-voltage, arm freq capped, throttled, soft temp limit
PI_THROTTLE_FILE = "sys/devices/platform/soc/soc:firmware/get_throttled"


@dataclass(frozen=True)
class ThrottleState:
    """Raspberry Pi throttling flags (``bits`` as reported by the firmware)."""

    bits: int

    @property
    def throttled(self) -> bool:
        """Slowed down right now (under-voltage, capped, throttled or soft temp limit)."""
        return bool(self.bits & _PI_NOW)


class Probe:
    """Reads node facts and load; keeps the previous CPU sample to report utilisation deltas."""

    def __init__(self, root: str | Path = "/", cpus: set[int] | None = None) -> None:
        self.root = Path(root)
        if cpus is None:
            try:
                cpus = set(os.sched_getaffinity(0))
            except (AttributeError, OSError):
                cpus = set(range(os.cpu_count() or 1))
        self.cpus = cpus
        self._last_cpu: tuple[int, int] | None = None  # (busy, total) jiffies over our CPUs
        self._last_own: tuple[float, float] | None = None  # (process cpu s, wall s)
        self._use_vcgencmd = root == "/" and shutil.which("vcgencmd") is not None

    def _read(self, rel: str) -> str | None:
        try:
            return (self.root / rel).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    # ------------------------------------------------------------------ readings
    def load_avg(self) -> float:
        """1-minute load average (0 if unreadable)."""
        text = self._read("proc/loadavg")
        try:
            return float(text.split()[0]) if text else 0.0
        except (ValueError, IndexError):
            return 0.0

    def memory(self) -> tuple[int, int]:
        """(MemTotal, MemAvailable) in bytes (0 if unreadable)."""
        text = self._read("proc/meminfo") or ""
        vals: dict[str, int] = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                vals[key] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
        return vals.get("MemTotal", 0), vals.get("MemAvailable", vals.get("MemFree", 0))

    def temperature(self) -> float | None:
        """Hottest thermal zone in °C, or None if there is none."""
        base = self.root / "sys/class/thermal"
        temps = []
        try:
            zones = sorted(base.glob("thermal_zone*"))
        except OSError:
            return None
        for z in zones:
            text = self._read(str((z / "temp").relative_to(self.root)))
            try:
                if text is not None:
                    temps.append(int(text.strip()) / 1000.0)
            except ValueError:
                continue
        return max(temps) if temps else None

    def throttle(self) -> ThrottleState | None:
        """Raspberry Pi throttle flags from sysfs or ``vcgencmd get_throttled``; None elsewhere."""
        text = self._read(PI_THROTTLE_FILE)
        if text is None and self._use_vcgencmd:
            try:
                out = subprocess.run(
                    ["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=2
                )
                text = out.stdout.partition("=")[2]
            except (OSError, subprocess.SubprocessError):
                text = None
        if not text or not text.strip():
            return None
        try:
            return ThrottleState(int(text.strip(), 16))
        except ValueError:
            return None

    def cpu_utilization(self) -> tuple[float, float]:
        """(busy share of our CPUs, our process's share of them) since the previous call."""
        text = self._read("proc/stat") or ""
        busy = total = 0
        for line in text.splitlines():
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            try:
                idx = int(name[3:])
                nums = [int(x) for x in fields]
            except ValueError:
                continue
            if idx not in self.cpus or len(nums) < 4:
                continue
            idle = nums[3] + (nums[4] if len(nums) > 4 else 0)  # idle + iowait
            tot = sum(nums[:8])
            busy += tot - idle
            total += tot
        times = os.times()
        own = (times.user + times.system, time.monotonic())
        util = own_util = 0.0
        if self._last_cpu is not None and total > self._last_cpu[1]:
            util = (busy - self._last_cpu[0]) / (total - self._last_cpu[1])
        if self._last_own is not None and own[1] > self._last_own[1]:
            own_util = (own[0] - self._last_own[0]) / (
                (own[1] - self._last_own[1]) * len(self.cpus)
            )
        self._last_cpu, self._last_own = (busy, total), own
        util = min(1.0, max(0.0, util))
        return util, min(util, max(0.0, own_util))

    # ------------------------------------------------------------------ reports
    def load_report(
        self,
        tasks_in_flight: int = 0,
        recent_pps: float = 0.0,
        rtt: float = 0.0,
        recv_rate: float = 0.0,
    ) -> LoadReport:
        """A heartbeat's load report (``rtt``, ``recv_rate``: the link as the worker measured
        it, see :class:`zkedge.fleet.worker.client.LinkMeter`)."""
        util, own = self.cpu_utilization()
        _, avail = self.memory()
        temp = self.temperature()
        thr = self.throttle()
        return LoadReport(
            load_average=self.load_avg(),
            cpu_utilization=util,
            own_cpu_utilization=own,
            mem_available_bytes=avail,
            soc_temperature_c=temp if temp is not None else 0.0,
            has_temperature=temp is not None,
            throttled=thr.throttled if thr is not None else False,
            has_throttle_flag=thr is not None,
            throttle_bits=thr.bits if thr is not None else 0,
            tasks_in_flight=tasks_in_flight,
            recent_points_per_sec=recent_pps,
            rtt_seconds=min(rtt, 3600.0),
            recv_bytes_per_sec=min(recv_rate, 1e12),
        )

    def node_info(self, threads: int, bench_pps: float) -> NodeInfo:
        """Registration facts about this node."""
        total, _ = self.memory()
        try:
            from zkedge import native_info

            info = native_info()
            build = f"limb{info.get('limb_bits')} {info.get('compiler', '')}".strip()
        except Exception:  # the facts are informative only
            build = "unknown"
        try:
            from importlib.metadata import version

            ver = version("zkedge")
        except Exception:
            ver = "0"
        return NodeInfo(
            hostname=socket.gethostname(),
            arch=platform.machine(),
            cores=len(self.cpus),
            memory_bytes=total,
            curves=["bn254", "bls12_381"],
            native_build=build,
            bench_points_per_sec=bench_pps,
            threads=threads,
            version=ver,
        )


def micro_benchmark(threads: int, n: int, curve: str = "bn254") -> float:
    """Points/s of one native G1 MSM of ``n`` points with ``threads`` threads (blocking).

    Bases are consecutive multiples of the generator (distinct, cheap to make), scalars random:
    the cost of Pippenger does not depend on which points are summed.
    """
    from zkedge import ec
    from zkedge.curves import get_curve
    from zkedge.msm import BaseTable, msm

    c = get_curve(curve)
    g = ec.generator(c, "G1")
    pts = []
    acc = g
    for _ in range(n):
        pts.append(acc)
        acc = ec.add(c, "G1", acc, g)
    table = BaseTable.from_points(c, "G1", pts)
    scalars = b"".join(
        (int.from_bytes(secrets.token_bytes(32), "little") % c.r).to_bytes(32, "little")
        for _ in range(n)
    )
    msm(table, scalars, threads=threads)  # warm up (allocations, page faults)
    t0 = time.perf_counter()
    msm(table, scalars, threads=threads)
    return n / max(time.perf_counter() - t0, 1e-9)
