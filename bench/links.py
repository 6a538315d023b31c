#!/usr/bin/env python3
"""Groth16 on a zkedge fleet over emulated board links (network namespaces, veth, tbf, delay).

One network namespace for the coordinator and one per worker; each worker's link is a veth
pair with private addresses (10.200.N.1 coordinator side, 10.200.N.2 worker side). A link
setting ``RATE:DELAY`` puts ``tbf`` (the rate, ``--queue-ms`` of queue) on both ends of every
veth and holds each packet DELAY at the receiving end's ingress (an ``NFQUEUE`` rule and a
small C delay line compiled here against libnetfilter_queue), so the round trip is 2 * DELAY
(``ping -U`` shows it; plain ``ping`` takes its receive time stamp before the delay, and shows
DELAY). With ``--router`` each link runs through a forwarding namespace of its own that holds
the rate limit instead, as a switch or access point would: there the queue builds as it does
on a real link, while a rate limit on the sending end is kept nearly empty by TCP small queues
(the socket holds the backlog). ``--cc`` picks TCP's congestion control in every namespace
(default: the host's; the table's footer names it).

For every setting a fresh coordinator and fresh workers (``--threads 1``, empty caches; with
``--seed-zkeys`` each holding the circuit's zkey) run, once every worker has measured its
link: one cold proof, then ``--proofs`` warm ones, each on a fresh witness, each followed by
a local ``zkedge prove --threads 2`` of the same witness on this host. The client runs in the
coordinator's namespace (over its loopback), so the veth byte counters see only
coordinator-worker traffic.

Each proof's line names its shape (split or whole). Per setting it prints fleet / local
time (median, min-max of the warm proofs); the
coordinator's proof and MSM job times (its log), the busier worker's compute time and the
busiest link direction's bytes at the nominal rate, which together say where a fleet proof's
time goes; MB on the links per cold and per warm proof (both directions, all links, from the
veth counters in /sys/class/net/IF/statistics); tasks computed to the end by more than one
worker, and attempts called back after reaching a worker because another had the task (both
from the workers' debug logs); the longest heartbeat gap per worker seen during fleet
proofs (``zkedge_heartbeat_age_seconds`` on the coordinator's /metrics, sampled every 0.2 s);
and workers declared suspect or dead (the coordinator's log).

    sudo .venv/bin/python bench/links.py                        # default settings, 3 warm proofs
    sudo .venv/bin/python bench/links.py --links 20mbit:5ms,unshaped --proofs 5 --keep-going

Needs root, ``ip``, ``tc``, ``iptables``, a C compiler and libnetfilter-queue-dev; without them
it prints one line and exits 0. Everything it creates (namespaces, veths, qdiscs, rules,
processes, temporary files) is removed on every exit, Ctrl-C included; namespaces of a run that
was killed outright (``zkl-PID-*``, PID gone) are removed by the next run.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ZKEDGE = [PY, "-m", "zkedge"]
DEFAULT_LINKS = "unshaped,1gbit:0.5ms,100mbit:1ms,50mbit:3ms,20mbit:5ms"
DEFAULT_CIRCUIT = ROOT / "build" / "groth16-bench" / "chain16-fast"
PORT, HTTP_PORT = 50051, 9464
SAMPLE_S = 0.2  # heartbeat-age sampling period

DELAYLINE_C = r"""
#define _GNU_SOURCE
/* Delay line: holds every packet of NFQUEUE queue Q for D microseconds, then accepts it, in
   arrival order. Usage: delayline QUEUE DELAY_US. Prints "ready" once bound; SIGTERM stops it
   (what it still holds is accepted first). */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define RING (1u << 18)

static uint32_t ids[RING];
static int64_t due[RING];
static uint32_t head, tail; /* held packets: [head, tail) */
static int64_t delay_ns;
static volatile sig_atomic_t stop;
static unsigned long long held, passed, overruns;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data) {
    (void)msg;
    (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (ph == NULL)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    if (tail - head >= RING) { /* ring full: let it through now rather than lose it */
        passed++;
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    }
    ids[tail % RING] = id;
    due[tail % RING] = now_ns() + delay_ns;
    tail++;
    held++;
    return 0;
}

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s QUEUE DELAY_US\n", argv[0]);
        return 2;
    }
    delay_ns = (int64_t)atoll(argv[2]) * 1000;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct nfq_handle *h = nfq_open();
    if (h == NULL) {
        perror("nfq_open");
        return 1;
    }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)atoi(argv[1]), on_packet, NULL);
    if (qh == NULL || nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
        perror("nfq_create_queue");
        return 1;
    }
    nfq_set_queue_maxlen(qh, RING);
    /* whole GSO packets, not their segments: far fewer packets to hold on a fast veth */
    nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
    nfnl_rcvbufsiz(nfq_nfnlh(h), 32 << 20);
    int fd = nfq_fd(h);
    static char buf[65536];
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        int64_t now = now_ns();
        while (head != tail && due[head % RING] <= now) {
            nfq_set_verdict(qh, ids[head % RING], NF_ACCEPT, 0, NULL);
            head++;
        }
        struct timespec wait = {0, 100000000}; /* idle: look at the stop flag now and then */
        if (head != tail) {
            int64_t left = due[head % RING] - now;
            if (left < 0)
                left = 0;
            wait.tv_sec = (time_t)(left / 1000000000);
            wait.tv_nsec = (long)(left % 1000000000);
        }
        struct pollfd p = {fd, POLLIN, 0};
        int r = ppoll(&p, 1, &wait, NULL);
        if (r < 0 && errno != EINTR) {
            perror("ppoll");
            break;
        }
        while (r > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) {
                if (errno != ENOBUFS) /* ENOBUFS: the kernel dropped messages; go on */
                    break;
                overruns++;
                continue;
            }
            nfq_handle_packet(h, buf, (int)n);
        }
    }
    while (head != tail) {
        nfq_set_verdict(qh, ids[head % RING], NF_ACCEPT, 0, NULL);
        head++;
    }
    nfq_destroy_queue(qh);
    nfq_close(h);
    fprintf(stderr, "delayline: %llu packets held, %llu passed at once, %llu overruns\n", held,
            passed, overruns);
    return 0;
}
"""

# Runs in the coordinator's namespace: samples the heartbeat ages from /metrics; one JSON line
# per sample, {"t": unix time, "age": {worker: seconds}}.
POLLER = r"""
import json, re, sys, time, urllib.request
url, period = sys.argv[1], float(sys.argv[2])
pat = re.compile(r'^zkedge_heartbeat_age_seconds\{worker="([^"]+)"\} (\S+)$', re.M)
sent = re.compile(r'^zkedge_sent_bytes_total\{kind="([^"]+)"\} (\S+)$', re.M)
while True:
    t = time.time()
    try:
        text = urllib.request.urlopen(url, timeout=2).read().decode()
        ages = {w: float(v) for w, v in pat.findall(text)}
        kinds = {k: float(v) for k, v in sent.findall(text)}
        print(json.dumps({"t": t, "age": ages, "sent": kinds}), flush=True)
    except OSError:
        pass
    time.sleep(max(0.0, period - (time.time() - t)))
"""

TASK_LINE = re.compile(r"^task (\S+) attempt (\d+) (done: \d+ points in ([\d.]+) s|stopped early)")
JOB_LINE = re.compile(r"^job \S+ \(([^)]*)\) done: \d+ points in ([\d.]+) s")
PROOF_LINE = re.compile(r"^proof job \S+ (?:\((\w+)\) )?done in ([\d.]+) s")


class Skip(Exception):
    """The host cannot run this benchmark (not root, a tool missing)."""


def log(msg: str) -> None:
    """A progress line on stderr."""
    print(f"[links] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Link:
    """One link setting: rate in bit/s (None: unshaped) and one-way delay in ms."""

    label: str
    rate: int | None
    delay_ms: float


def parse_links(text: str) -> list[Link]:
    """``unshaped,1gbit:0.5ms,20mbit:5ms`` -> Links (rate units kbit/mbit/gbit, delay ms/us)."""
    out = []
    for item in (s.strip().lower() for s in text.split(",") if s.strip()):
        if item in ("unshaped", "none"):
            out.append(Link("unshaped", None, 0.0))
            continue
        m = re.fullmatch(r"([\d.]+)(kbit|mbit|gbit)(?::([\d.]+)(ms|us))?", item)
        if m is None:
            raise argparse.ArgumentTypeError(f"bad link {item!r}: want e.g. 20mbit:5ms")
        rate = int(float(m[1]) * {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9}[m[2]])
        delay = float(m[3] or 0) / (1000 if m[4] == "us" else 1)
        out.append(Link(item, rate, delay))
    return out


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the bench dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def sh(cmd: list[str], timeout: float = 30, check: bool = True) -> str:
    """Run a command (bounded in time); its stdout; raises with its stderr on failure."""
    p = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_die_with_parent,
    )
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip() or p.returncode}")
    return p.stdout


class Lab:
    """Namespaces, veths, shaping and processes of one run; :meth:`close` removes them all.

    ``router``: each link runs through a namespace of its own that forwards between the two
    veth pairs and holds the rate limit, as a switch or access point would; otherwise the
    rate limit sits on the link's two ends."""

    def __init__(
        self, workers: int, tmp: Path, router: bool = False, cc: str | None = None
    ) -> None:
        self.tag = f"zkl-{os.getpid()}"
        self.coord_ns = f"{self.tag}-c"
        self.worker_ns = [f"{self.tag}-w{i}" for i in range(workers)]
        self.router_ns = [f"{self.tag}-r{i}" for i in range(workers)] if router else []
        self.cc = cc
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.delaylines: list[subprocess.Popen[bytes]] = []
        self.rules: list[tuple[str, str]] = []  # (namespace, interface) with an NFQUEUE rule
        self.made: list[str] = []  # namespaces created

    def ends(self) -> Iterator[tuple[str, str]]:
        """(namespace, interface) of the coordinator's and the workers' link ends."""
        for i, ns in enumerate(self.worker_ns):
            yield self.coord_ns, f"zkc{i}"
            yield ns, f"zkw{i}"

    def rate_ends(self) -> Iterator[tuple[str, str]]:
        """(namespace, interface) of every rate limit: the routers' sides, or the ends."""
        if not self.router_ns:
            yield from self.ends()
        for i, ns in enumerate(self.router_ns):
            yield ns, f"zkrc{i}"  # towards the coordinator: upstream
            yield ns, f"zkrw{i}"  # towards the worker: downstream

    def worker_addr(self, i: int) -> str:
        """The coordinator's address on worker i's link."""
        return f"10.200.{i + 1}.1"

    def congestion_control(self) -> str:
        """TCP's congestion control in the coordinator's namespace."""
        key = "net.ipv4.tcp_congestion_control"
        return sh(["ip", "netns", "exec", self.coord_ns, "sysctl", "-n", key]).strip()

    def _veth(self, ns_a: str, a: str, addr_a: str, ns_b: str, b: str, addr_b: str) -> None:
        sh(f"ip link add {a} netns {ns_a} type veth peer name {b} netns {ns_b}".split())
        for ns, dev, addr in ((ns_a, a, addr_a), (ns_b, b, addr_b)):
            sh(f"ip -n {ns} addr add {addr}/24 dev {dev}".split())
            sh(f"ip -n {ns} link set {dev} up".split())

    def up(self) -> None:
        """Create the namespaces and links."""
        for ns in [self.coord_ns, *self.worker_ns, *self.router_ns]:
            sh(["ip", "netns", "add", ns])
            self.made.append(ns)
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            if self.cc:  # one of net.ipv4.tcp_allowed_congestion_control (EPERM otherwise)
                key = "net.ipv4.tcp_congestion_control"
                sh(f"ip netns exec {ns} sysctl -qw {key}={self.cc}".split())
        for i, ns in enumerate(self.worker_ns):
            n, c = i + 1, self.coord_ns
            if not self.router_ns:
                self._veth(c, f"zkc{i}", f"10.200.{n}.1", ns, f"zkw{i}", f"10.200.{n}.2")
                continue
            r = self.router_ns[i]
            self._veth(c, f"zkc{i}", f"10.200.{n}.1", r, f"zkrc{i}", f"10.200.{n}.254")
            self._veth(r, f"zkrw{i}", f"10.201.{n}.254", ns, f"zkw{i}", f"10.201.{n}.2")
            sh(f"ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1".split())
            sh(f"ip -n {c} route add 10.201.{n}.0/24 via 10.200.{n}.254".split())
            sh(f"ip -n {ns} route add default via 10.201.{n}.254".split())

    def shape(self, link: Link, delayline: Path, queue_ms: float) -> None:
        """Apply a link setting: the rate both ways, the delay at each end's ingress."""
        if link.rate is not None:
            burst = 128 * 1024 if link.rate > 100_000_000 else 16 * 1024
            for ns, dev in self.rate_ends():
                sh(
                    f"ip netns exec {ns} tc qdisc replace dev {dev} root tbf rate {link.rate}bit "
                    f"burst {burst} latency {queue_ms}ms".split()
                )
        if link.delay_ms > 0:
            for ns in [self.coord_ns, *self.worker_ns]:
                out = self.tmp / f"delayline-{ns}.log"
                p = self.start(ns, [str(delayline), "0", str(round(link.delay_ms * 1000))], out)
                self.delaylines.append(p)
                wait_for(lambda out=out: "ready" in out.read_text(), 10, f"delay line in {ns}", p)
            for ns, dev in self.ends():
                sh(
                    f"ip netns exec {ns} iptables -t mangle -A PREROUTING -i {dev} "
                    "-j NFQUEUE --queue-num 0".split()
                )
                self.rules.append((ns, dev))

    def unshape(self) -> None:
        """Undo :meth:`shape`: rules first (no packet is left queued to a stopped program)."""
        while self.rules:
            ns, dev = self.rules.pop()
            sh(
                f"ip netns exec {ns} iptables -t mangle -D PREROUTING -i {dev} "
                "-j NFQUEUE --queue-num 0".split(),
                check=False,
            )
        while self.delaylines:
            self.stop(self.delaylines.pop())
        for ns, dev in self.rate_ends():
            sh(f"ip netns exec {ns} tc qdisc del dev {dev} root".split(), check=False)

    def start(self, ns: str, cmd: list[str], out: Path) -> subprocess.Popen[bytes]:
        """A process in namespace ns, output to out; stopped by :meth:`close` at the latest."""
        with open(out, "ab") as f:
            p = subprocess.Popen(
                ["ip", "netns", "exec", ns, *cmd],
                stdout=f,
                stderr=f,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                process_group=0,  # Ctrl-C reaches the bench alone, which stops them in order
                preexec_fn=_die_with_parent,
            )
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes], grace: float = 5) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def counters(self) -> list[tuple[int, int]]:
        """Per link: bytes sent down (coordinator to worker) and up so far."""
        paths = [
            f"/sys/class/net/zkc{i}/statistics/{d}_bytes"
            for i in range(len(self.worker_ns))
            for d in ("tx", "rx")
        ]
        vals = [int(v) for v in sh(["ip", "netns", "exec", self.coord_ns, "cat", *paths]).split()]
        return list(zip(vals[0::2], vals[1::2], strict=True))

    def close(self) -> None:
        """Remove everything: processes, rules, delay lines, qdiscs, links, namespaces."""
        for p in list(self.procs):
            try:
                self.stop(p)
            except Exception as exc:  # go on: the namespaces must still go
                log(f"cleanup: {exc}")
        self.rules.clear()  # deleted with their namespaces
        self.delaylines.clear()
        for ns in reversed(self.made):
            remove_namespace(ns)
        self.made.clear()


def remove_namespace(ns: str) -> None:
    """Kill what still runs in ns (started by this bench) and delete it with its links."""
    for pid in sh(["ip", "netns", "pids", ns], check=False).split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    sh(["ip", "netns", "del", ns], check=False)


def remove_stale() -> None:
    """Namespaces and temporary directories of an earlier run killed outright (PID gone)."""
    for line in sh(["ip", "netns", "list"], check=False).splitlines():
        m = re.match(r"(zkl-(\d+)-\S+)", line)
        if m and not Path(f"/proc/{m[2]}").exists():
            log(f"removing {m[1]} left by a killed run")
            remove_namespace(m[1])
    for d in Path(tempfile.gettempdir()).glob("zkedge-links-*-*"):
        m = re.match(r"zkedge-links-(\d+)-", d.name)
        if m and d.is_dir() and not Path(f"/proc/{m[1]}").exists():
            shutil.rmtree(d, ignore_errors=True)


def wait_for(
    ok: Any, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``ok()`` until true; raise after ``timeout`` s or when ``proc`` has exited."""
    end = time.monotonic() + timeout
    while not ok():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: exited with {proc.returncode}")
        if time.monotonic() > end:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(0.1)


def check_host() -> None:
    """Raise Skip unless this host can run the bench."""
    if os.geteuid() != 0:
        raise Skip("needs root (network namespaces, tc, iptables)")
    for tool in ("ip", "tc", "iptables", "cc"):
        if shutil.which(tool) is None:
            raise Skip(f"needs root and {tool!r} (iproute2, iptables, a C compiler)")


def build_delayline(tmp: Path) -> Path:
    """Compile the delay line; Skip without libnetfilter-queue-dev."""
    src, exe = tmp / "delayline.c", tmp / "delayline"
    src.write_text(DELAYLINE_C)
    p = subprocess.run(
        ["cc", "-O2", "-o", str(exe), str(src), "-lnetfilter_queue", "-lnfnetlink"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if p.returncode:
        raise Skip("needs libnetfilter-queue-dev to build its delay line")
    return exe


class LogTail:
    """New complete JSON log lines of a file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path, self.pos = path, 0

    def read(self) -> list[dict[str, Any]]:
        """Parsed lines appended since the last call (non-JSON lines skipped)."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.pos += end
        out = []
        for line in data[:end].splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


@dataclass
class Proof:
    """One fleet proof and its local twin."""

    cold: bool
    fleet_s: float
    local_s: float
    start: float = 0.0  # unix time
    end: float = 0.0
    links: list[list[int]] = field(default_factory=list)  # per link: [bytes down, bytes up]
    proof_s: float = 0.0  # the coordinator's proof job (read, H, MSMs, check)
    shape: str = ""  # the proof job's shape ("split" or "whole")
    jobs_s: float = 0.0  # the coordinator's MSM jobs, submit to done
    compute_s: dict[str, float] = field(default_factory=dict)  # per worker, summed task times
    copies: int = 0  # tasks computed to the end more than once (beyond the first)
    stopped: int = 0  # attempts called back after they reached a worker (another won)
    hb_gap: dict[str, float] = field(default_factory=dict)

    def bytes(self) -> int:
        """Bytes on all links, both directions."""
        return sum(map(sum, self.links))


class Fleet:
    """A coordinator, its workers and the heartbeat sampler for one link setting."""

    def __init__(
        self,
        lab: Lab,
        tmp: Path,
        heartbeat: float | None,
        extra: list[str] | None = None,
        seed_zkey: Path | None = None,
    ) -> None:
        self.lab, self.tmp = lab, tmp
        if seed_zkey is not None:  # each worker starts holding it (as boards flashed with it)
            digest = hashlib.sha256(seed_zkey.read_bytes()).hexdigest()
            for i in range(len(lab.worker_ns)):
                held = tmp / f"cache-w{i}-zkeys"
                held.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(seed_zkey, held / f"{digest}.zkey")
        ns = lab.coord_ns
        cmd = [
            *ZKEDGE,
            "coordinator",
            "--bind",
            f"0.0.0.0:{PORT}",
            "--store",
            str(tmp / "jobs.sqlite"),
            "--http",
            f"127.0.0.1:{HTTP_PORT}",
            "--log-format",
            "json",
        ]
        if heartbeat is not None:
            cmd += ["--heartbeat-interval", str(heartbeat)]
        cmd += extra or []
        self.coord = lab.start(ns, cmd, tmp / "coordinator.log")
        self.coord_log = LogTail(tmp / "coordinator.log")
        self.worker_logs = []
        for i, wns in enumerate(lab.worker_ns):
            lab.start(
                wns,
                [
                    *ZKEDGE,
                    "worker",
                    "--coordinator",
                    f"{lab.worker_addr(i)}:{PORT}",
                    "--id",
                    f"w{i}",
                    "--threads",
                    "1",
                    "--cache-dir",
                    str(tmp / f"cache-w{i}"),
                    "--drain-grace",
                    "1",
                    "--log-level",
                    "debug",
                    "--log-format",
                    "json",
                ],
                tmp / f"worker-w{i}.log",
            )
            self.worker_logs.append(LogTail(tmp / f"worker-w{i}.log"))
        self.samples = tmp / "heartbeats.jsonl"
        lab.start(
            ns,
            [PY, "-c", POLLER, f"http://127.0.0.1:{HTTP_PORT}/metrics", str(SAMPLE_S)],
            self.samples,
        )
        wait_for(self.ready, 180, "workers registering", self.coord)

    def ready(self) -> bool:
        """Every worker registered, active, with its task stream open and its link measured
        (MeasureLink, right after registering: a fleet that has been up knows its links)."""
        p = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.lab.coord_ns,
                *ZKEDGE,
                "status",
                "--coordinator",
                f"127.0.0.1:{PORT}",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            cwd=ROOT,
        )
        if p.returncode:
            time.sleep(0.5)
            return False
        ws = json.loads(p.stdout).get("workers", [])
        n = sum(
            1
            for w in ws
            if w.get("state") == "active"
            and w.get("streamOpen")
            and w.get("loadReport", {}).get("recvBytesPerSec", 0) > 0
        )
        return n == len(self.lab.worker_ns)

    def events(self) -> dict[str, int]:
        """Worker state changes and lost attempts in the coordinator's log so far."""
        text = (self.tmp / "coordinator.log").read_text(errors="replace")
        return {
            "suspect": len(re.findall(r"worker \S+ suspect", text)),
            "dead": len(re.findall(r"worker \S+ dead", text)),
            "timed_out": len(re.findall(r"timed out", text)),
            "lost": len(re.findall(r"worker \S+ lost", text)),
        }

    def account(self, proof: Proof) -> None:
        """Log lines since the previous call: job times, compute, speculative copies."""
        for rec in self.coord_log.read():
            msg = rec.get("message", "")
            if m := JOB_LINE.match(msg):
                proof.jobs_s += float(m[2])
            elif m := PROOF_LINE.match(msg):
                proof.proof_s += float(m[2])
                proof.shape = m[1] or proof.shape
        done: dict[str, set[int]] = {}
        stopped = 0
        for i, tail in enumerate(self.worker_logs):
            for rec in tail.read():
                m = TASK_LINE.match(rec.get("message", ""))
                if m is None:
                    continue
                if m[4] is None:  # stopped early: the coordinator called it back
                    stopped += 1
                    continue
                done.setdefault(m[1], set()).add(int(m[2]))
                w = f"w{i}"
                proof.compute_s[w] = proof.compute_s.get(w, 0.0) + float(m[4])
        proof.copies = sum(len(a) - 1 for a in done.values())
        proof.stopped = stopped

    def heartbeat_gaps(self, start: float, end: float) -> dict[str, float]:
        """Longest time since a heartbeat per worker, sampled between start and end."""
        gaps: dict[str, float] = {}
        if not self.samples.exists():
            return gaps
        for line in self.samples.read_text().splitlines():
            try:
                s = json.loads(line)
            except ValueError:
                continue
            if start <= s["t"] <= end:
                for w, age in s["age"].items():
                    gaps[w] = max(gaps.get(w, 0.0), age)
        return gaps


def fresh_witness(wasm: Path, out: Path, rng: random.Random) -> None:
    """A witness of the chain circuit for new random inputs."""
    inp = out.with_suffix(".json")
    inp.write_text(json.dumps({"x": str(rng.randrange(1, 2**31)), "y": str(rng.getrandbits(64))}))
    sh([*ZKEDGE, "wtns", "calculate", str(wasm), str(inp), str(out)], timeout=120)


def timed(cmd: list[str], timeout: float) -> float:
    """Wall seconds of a command that must succeed within timeout."""
    t = time.monotonic()
    p = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        preexec_fn=_die_with_parent,
    )
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd[:6])}...: {(p.stderr or p.stdout).strip()[-500:]}")
    return time.monotonic() - t


def run_setting(
    lab: Lab, link: Link, args: argparse.Namespace, delayline: Path, rng: random.Random
) -> dict[str, Any]:
    """One link setting: shape, fresh fleet, cold + warm proofs interleaved with local ones."""
    tmp = Path(tempfile.mkdtemp(prefix="setting-", dir=lab.tmp))
    zkey, wtns = args.circuit / "circuit.zkey", tmp / "witness.wtns"
    in_coord = ["ip", "netns", "exec", lab.coord_ns]
    fleet_cmd = [*in_coord, *ZKEDGE, "prove", "--coordinator", f"127.0.0.1:{PORT}"]
    local_cmd = [*ZKEDGE, "prove", "--threads", str(args.local_threads), "--quiet"]
    files = [str(zkey), str(wtns), str(tmp / "proof.json"), str(tmp / "public.json")]
    proofs: list[Proof] = []
    lab.shape(link, delayline, args.queue_ms)
    try:
        fleet = Fleet(
            lab,
            tmp,
            args.heartbeat_interval,
            args.coordinator_arg,
            zkey if args.seed_zkeys else None,
        )
        fleet.account(Proof(True, 0, 0))  # registration lines
        for k in range(1 + args.proofs):
            fresh_witness(args.wasm, wtns, rng)
            before = lab.counters()
            start = time.time()
            fleet_s = timed([*fleet_cmd, *files], args.proof_timeout)
            end = time.time()
            after = lab.counters()
            local_s = timed([*local_cmd, *files], args.proof_timeout)
            pr = Proof(k == 0, fleet_s, local_s, start=start, end=end)
            pr.links = [[a[0] - b[0], a[1] - b[1]] for a, b in zip(after, before, strict=True)]
            fleet.account(pr)  # lines up to now: the proof's tasks, its cancelled copies
            pr.hb_gap = fleet.heartbeat_gaps(start, end)
            proofs.append(pr)
            log(
                f"{link.label}: {'cold' if pr.cold else 'warm'} fleet {fleet_s:.2f} s "
                f"({pr.shape or '?'}), local "
                f"{local_s:.2f} s, {pr.bytes() / 1e6:.1f} MB, {pr.copies} copies, "
                f"{pr.stopped} stopped, "
                f"heartbeat gap {max(pr.hb_gap.values(), default=0):.1f} s"
            )
        events = fleet.events()
    finally:
        try:
            for p in list(reversed(lab.procs)):  # sampler, workers, then the coordinator
                if p not in lab.delaylines:
                    lab.stop(p)
        finally:
            lab.unshape()
            if args.logs is not None:
                keep = args.logs / link.label.replace(":", "-")
                keep.mkdir(parents=True, exist_ok=True)
                for f in [*tmp.glob("*.log"), *tmp.glob("*.jsonl")]:
                    shutil.copy(f, keep)
    return {
        "link": link.label,
        "rate": link.rate,
        "delay_ms": link.delay_ms,
        "queue_ms": args.queue_ms,
        "router": args.router,
        "cc": lab.congestion_control(),
        "events": events,
        "proofs": [{**vars(p), "bytes": p.bytes()} for p in proofs],
    }


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summary(res: dict[str, Any]) -> dict[str, Any]:
    """Table values of one setting: warm proofs as median (min-max), the cold one alone."""
    proofs = res["proofs"]
    warm = [p for p in proofs if not p["cold"]]
    cold = next((p for p in proofs if p["cold"]), None)
    nan = float("nan")

    def spread(xs: list[float], f: str = ".2f") -> str:
        return f"{_med(xs):{f}} ({min(xs):{f}}-{max(xs):{f}})" if xs else "-"

    def wire(p: dict[str, Any]) -> float:  # the busiest link direction at the nominal rate
        return max(max(d, u) for d, u in p["links"]) * 8 / res["rate"] if res["rate"] else nan

    gaps: dict[str, float] = {}
    for p in proofs:
        for w, g in p["hb_gap"].items():
            gaps[w] = max(gaps.get(w, 0.0), g)
    return {
        "link": res["link"],
        "fleet": _med([p["fleet_s"] for p in warm]),
        "local": _med([p["local_s"] for p in warm]),
        "ratio": spread([p["fleet_s"] / p["local_s"] for p in warm]),
        "proof": _med([p["proof_s"] for p in warm]),
        "msm": _med([p["jobs_s"] for p in warm]),
        "compute": _med([max(p["compute_s"].values(), default=0.0) for p in warm]),
        "wire": _med([wire(p) for p in warm]),
        "cold_s": cold["fleet_s"] if cold else nan,
        "cold_mb": cold["bytes"] / 1e6 if cold else nan,
        "warm_mb": spread([p["bytes"] / 1e6 for p in warm], ".1f"),
        "copies": f"{cold['copies'] if cold else 0}/{sum(p['copies'] for p in warm)}",
        "stopped": f"{cold['stopped'] if cold else 0}/{sum(p['stopped'] for p in warm)}",
        "gaps": "/".join(f"{gaps[w]:.1f}" for w in sorted(gaps)) or "-",
        "events": "{suspect}/{dead}".format(**res["events"]),
    }


COLUMNS = [  # (title, width, summary key, format)
    ("link", 13, "link", ""),
    ("fleet s", 7, "fleet", ".2f"),
    ("local s", 7, "local", ".2f"),
    ("fleet/local", 17, "ratio", ""),
    ("proof s", 7, "proof", ".2f"),
    ("MSM s", 5, "msm", ".2f"),
    ("busy s", 6, "compute", ".2f"),
    ("wire s", 6, "wire", ".2f"),
    ("cold s", 6, "cold_s", ".1f"),
    ("MB cold", 7, "cold_mb", ".1f"),
    ("MB warm", 16, "warm_mb", ""),
    ("copies", 6, "copies", ""),
    ("stopped", 7, "stopped", ""),
    ("hb gap s", 9, "gaps", ""),
    ("susp/dead", 9, "events", ""),
]


def print_table(results: list[dict[str, Any]], argv: list[str]) -> None:
    """One row per setting; the columns are explained below the table."""
    head = " ".join(f"{t:>{w}}" for t, w, _, _ in COLUMNS)
    print(head)
    print("-" * len(head))
    for res in results:
        s = summary(res)
        cells = [f"{s[k]:>{w}{f}}" if s[k] == s[k] else f"{'-':>{w}}" for _, w, k, f in COLUMNS]
        print(" ".join(cells), flush=True)  # (NaN != NaN: no value, e.g. no rate)
    print(
        "\nwarm proofs: median (min-max). fleet s: `zkedge prove --coordinator` wall time; local "
        "s: `zkedge prove --threads N` of the same witness; proof s / MSM s: the coordinator's "
        "proof job and its MSM jobs (its log); busy s: the busier worker's MSM compute time; "
        "wire s: the busiest link direction's bytes at the nominal rate; cold: the first proof "
        "of fresh processes; MB: veth bytes, both directions, all links; copies: tasks computed "
        "to the end twice, cold/warm; stopped: attempts called back after reaching a worker "
        "(another worker had it), cold/warm; hb gap: longest time without a heartbeat per "
        "worker during fleet proofs; susp/dead: workers declared so."
    )
    setup = {(r["cc"], r["router"], r["queue_ms"]) for r in results}
    for cc, router, queue in sorted(setup):
        where = "in a router namespace per link" if router else "on both ends of each link"
        print(f"TCP congestion control {cc}; rate limit {where}, {queue:g} ms queue")
    print(f"command: bench/links.py {' '.join(argv)}")


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C does (cleanup included)."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while cleaning up."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    """Parse options, check the host, run every link setting, print the table."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--links",
        type=parse_links,
        default=parse_links(DEFAULT_LINKS),
        help=f"RATE:DELAY settings, comma-separated (default {DEFAULT_LINKS})",
    )
    ap.add_argument("--proofs", type=int, default=3, help="warm proofs per setting (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="worker namespaces (default 2)")
    ap.add_argument("--keep-going", action="store_true", help="go on after a failed setting")
    ap.add_argument(
        "--circuit",
        type=Path,
        default=DEFAULT_CIRCUIT,
        help="dir with circuit.zkey (bench/groth16.py --sizes 16 --setup fast)",
    )
    ap.add_argument("--wasm", type=Path, help="the circuit's wasm (default: circom's output)")
    ap.add_argument("--local-threads", type=int, default=2, help="threads of the local prove")
    ap.add_argument("--proof-timeout", type=float, default=900, help="seconds per proof")
    ap.add_argument("--heartbeat-interval", type=float, help="coordinator's (default its own)")
    ap.add_argument(
        "--coordinator-arg",
        action="append",
        default=[],
        help="one more argument for `zkedge coordinator` (repeat it), e.g. --proof-shape=whole",
    )
    ap.add_argument(
        "--queue-ms",
        type=float,
        default=100,
        help="tbf queue: longest wait of a packet for the rate, ms (default 100)",
    )
    ap.add_argument(
        "--cc",
        help="TCP congestion control in every namespace, one the host allows in namespaces "
        "(net.ipv4.tcp_allowed_congestion_control); default: the host's",
    )
    ap.add_argument(
        "--router",
        action="store_true",
        help="each link through a forwarding namespace that holds the rate limit (and its queue)",
    )
    ap.add_argument("--json", type=Path, help="also write every measurement here")
    ap.add_argument("--logs", type=Path, help="keep each setting's process logs under this dir")
    ap.add_argument("--seed", type=int, default=2026, help="witness inputs")
    ap.add_argument(
        "--seed-zkeys",
        action="store_true",
        help="workers start holding the circuit's zkey (whole proofs fetch nothing)",
    )
    args = ap.parse_args(argv)
    if args.wasm is None:
        args.wasm = ROOT / "build/fixtures/circom" / args.circuit.name / "chain_js/chain.wasm"
    try:
        check_host()
    except Skip as exc:
        print(f"skipped: {exc}")
        return 0
    for f in (args.circuit / "circuit.zkey", args.wasm):
        if not f.is_file():
            print(
                f"{f}: missing (make it with: .venv/bin/python bench/groth16.py --sizes 16 "
                "--repeat 1 --setup fast --no-snarkjs --fleet 0)",
                file=sys.stderr,
            )
            return 2
    rng = random.Random(args.seed)
    results: list[dict[str, Any]] = []
    failed, code = 0, 1
    failures: list[str] = []
    with (
        exit_on_signals(),
        tempfile.TemporaryDirectory(prefix=f"zkedge-links-{os.getpid()}-") as tmpdir,
    ):
        tmp = Path(tmpdir)
        lab = Lab(args.workers, tmp, router=args.router, cc=args.cc)
        try:
            try:
                delayline = build_delayline(tmp)
            except Skip as exc:
                print(f"skipped: {exc}")
                return 0
            remove_stale()
            try:
                lab.up()
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"error: cannot build the links: {exc}", file=sys.stderr)
                return 1
            for link in args.links:
                log(f"setting {link.label}")
                try:
                    results.append(run_setting(lab, link, args, delayline, rng))
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    failed += 1
                    failures.append(link.label)
                    log(f"{link.label} failed: {exc}")
                    if not args.keep_going:
                        break
        except (KeyboardInterrupt, SystemExit) as exc:
            log("interrupted: cleaning up")
            code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
            failed = failed or 1
        finally:
            with uninterrupted():
                lab.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if results:
        print_table(results, argv)
    if failures:
        print(f"failed: {', '.join(failures)} (see the messages above)")
    return code if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
