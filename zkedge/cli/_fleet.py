"""CLI subcommands of the fleet: ``coordinator``, ``worker``, ``msm``, ``status``, ``jobs``,
``cancel``, ``prune``.

``zkedge.cli`` calls :func:`register` on its subparsers; every subcommand sets ``func`` (taking
the parsed namespace, returning an exit code). ``python -m zkedge.cli._fleet ...`` runs them
standalone. The shared token may come from ``--token`` or the ``ZKEDGE_TOKEN`` environment
variable (preferred: it does not show in ``ps``).
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from zkedge.cli._common import (
    CliError,
    add_client_flags,
    add_token,
    client_tls,
    hostport_arg,
    standalone,
)
from zkedge.fleet.common import FleetError, JobFailed
from zkedge.fleet.worker.config_file import ConfigError, add_config_argument, apply_config

if TYPE_CHECKING:  # the gRPC client is imported where a command connects
    from zkedge.fleet.client import CoordinatorClient

__all__ = ["main", "register"]

# Freed heap a worker keeps (zkedge.fleet.alloc): enough for the buffers of a 4 MiB task (16 MiB
# gives the same delivery time as 64; docs/perf-log.md) at a modest cost in resident memory.
KEEP_FREED_MB_WORKER = 16


def _add_keep_freed(p: argparse.ArgumentParser, default: int) -> None:
    p.add_argument(
        "--keep-freed-mb",
        type=int,
        default=default,
        help=f"freed heap glibc keeps for reuse, MiB (default {default}): task-sized buffers "
        "are then reused, not page-faulted in afresh; 0 leaves malloc's defaults "
        "(see zkedge.fleet.alloc)",
    )


def register(subparsers: Any) -> None:
    """Add the fleet subcommands to an ``argparse`` subparsers object."""
    p = subparsers.add_parser("coordinator", help="run the fleet coordinator (gRPC server)")
    p.add_argument("--bind", default="127.0.0.1:50051", help="HOST:PORT to listen on")
    p.add_argument("--store", default="jobs.sqlite", help="SQLite file for jobs (':memory:')")
    add_token(p)
    p.add_argument("--tls-cert", type=Path, help="server certificate (enables TLS)")
    p.add_argument("--tls-key", type=Path, help="server key")
    p.add_argument("--tls-client-ca", type=Path, help="require client certs signed by this CA")
    p.add_argument("--heartbeat-interval", type=float, default=5.0, help="seconds (default 5)")
    p.add_argument("--target-seconds", type=float, default=2.0, help="task size target time")
    p.add_argument("--block-points", type=int, default=4096, help="base block size in points")
    p.add_argument(
        "--window-min-points",
        type=int,
        help="one-MSM jobs of at least this many points are split by windows when every "
        "worker can take them (default: SizingPolicy's, 32768; 0: always by points)",
    )
    p.add_argument(
        "--table-memory-mb",
        type=int,
        default=1024,
        help="base tables kept in memory, MiB (the rest is read back from --store when needed)",
    )
    p.add_argument(
        "--max-connections-per-peer",
        type=int,
        default=64,
        help="connections one address may hold open (default 64; a load test from one host "
        "needs more)",
    )
    p.add_argument(
        "--max-submit-mb",
        type=int,
        default=512,
        help="largest SubmitMsm request, MiB (default 512: it carries a base table)",
    )
    p.add_argument(
        "--watch-grace",
        type=float,
        default=30.0,
        help="seconds a job submitted without --detach may go unwatched before it is cancelled",
    )
    p.add_argument(
        "--no-worker-timeout",
        type=float,
        default=60.0,
        help="seconds a job may wait with no worker able to take it before it fails",
    )
    p.add_argument(
        "--forget-dead-after",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="a dead worker leaves the registry (and `zkedge status`) this long after it was "
        "declared dead (default 600)",
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve /metrics (Prometheus), /healthz, /api/status and a status page on HOST:PORT",
    )
    p.add_argument(
        "--proof-shape",
        choices=["auto", "split", "whole"],
        default="auto",
        help="how submitted proofs run: auto (whole proofs on one worker each while more "
        "proofs wait than workers idle, else split into MSM ranges), or always one shape",
    )
    _add_keep_freed(p, 64)
    p.set_defaults(func=cmd_coordinator)

    p = subparsers.add_parser("worker", help="run a fleet worker on this board")
    p.add_argument("--coordinator", help="coordinator HOST:PORT (or `coordinator` in --config)")
    p.add_argument("--id", dest="worker_id", help="worker id (default: hostname)")
    p.add_argument("--threads", type=int, help="threads per MSM (default: usable CPUs)")
    p.add_argument("--cache-dir", type=Path, help="base point cache directory")
    p.add_argument("--cache-mb", type=int, default=1024, help="cache bound in MiB")
    p.add_argument("--cache-memory-mb", type=int, default=64, help="in-memory cache layer, MiB")
    p.add_argument(
        "--scalar-cache-mb",
        type=int,
        default=32,
        help="recent task scalars kept in memory, MiB (a slice several tasks share travels once)",
    )
    p.add_argument("--drain-grace", type=float, default=30.0, help="seconds to finish on SIGTERM")
    _add_keep_freed(p, KEEP_FREED_MB_WORKER)
    p.add_argument("--no-benchmark", action="store_true", help="skip the startup micro-benchmark")
    p.add_argument(
        "--no-proof-tasks",
        action="store_true",
        help="take no whole-proof tasks (only MSM ranges; no zkey is fetched or kept)",
    )
    p.add_argument("--debug-task-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--backoff-initial", type=float, default=0.5, help=argparse.SUPPRESS)
    p.add_argument(
        "--http", metavar="HOST:PORT", help="serve /metrics (Prometheus) and /healthz on HOST:PORT"
    )
    add_client_flags(p)
    add_config_argument(p)  # last: --config PATH (TOML), flags given win over the file
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser("msm", help="run an MSM on the fleet from files")
    p.add_argument("--coordinator", required=True, help="coordinator HOST:PORT")
    p.add_argument("--curve", default="bn254")
    p.add_argument("--group", default="G1", choices=["G1", "G2"])
    p.add_argument("--bases", type=Path, required=True, help="file of base points")
    p.add_argument("--bases-encoding", default="mont", choices=["mont", "be"])
    p.add_argument("--scalars", type=Path, required=True, help="file of 32-byte LE scalars")
    p.add_argument(
        "--detach",
        action="store_true",
        help="print the job id and exit; the job runs on without a watcher (else the "
        "coordinator cancels it once this client has been gone for its grace period)",
    )
    add_client_flags(p)
    p.set_defaults(func=cmd_msm)

    p = subparsers.add_parser("jobs", help="list the coordinator's jobs")
    p.add_argument("--coordinator", required=True, help="coordinator HOST:PORT")
    p.add_argument("--running", action="store_true", help="only jobs still running")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_client_flags(p)
    p.set_defaults(func=cmd_jobs)

    p = subparsers.add_parser("cancel", help="cancel a job (its tasks stop on the workers)")
    p.add_argument("job_id", metavar="JOB", help="job id (from `zkedge jobs`)")
    p.add_argument("--coordinator", required=True, help="coordinator HOST:PORT")
    p.add_argument("--reason", default="cancelled with zkedge cancel", help="recorded as its error")
    add_client_flags(p)
    p.set_defaults(func=cmd_cancel)

    p = subparsers.add_parser(
        "prune", help="delete old finished jobs (and unused base tables) from a store file"
    )
    p.add_argument("--store", required=True, type=Path, help="the coordinator's SQLite file")
    p.add_argument(
        "--keep-jobs", type=int, default=100, help="finished jobs to keep, newest (default 100)"
    )
    p.add_argument(
        "--tables",
        action="store_true",
        help="also delete base tables no kept job names (stop the coordinator first)",
    )
    p.add_argument(
        "--vacuum", action="store_true", help="shrink the file afterwards (coordinator stopped)"
    )
    p.set_defaults(func=cmd_prune)

    p = subparsers.add_parser("status", help="show workers, load, shares and tasks")
    p.add_argument("--coordinator", required=True, help="coordinator HOST:PORT")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_client_flags(p)
    p.set_defaults(func=cmd_status)


async def _until_signal(cancel: trio.CancelScope, on_first: Any = None) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            if on_first is not None:
                on_first()
                on_first = None
                continue
            cancel.cancel()
            return


def _quiet_gc() -> None:
    """Move what start-up allocated out of the collector's sight and collect the young
    generation less often: a coordinator holds per-connection HTTP/2 state for every worker,
    and full collections over it stall every RPC in flight."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _store_arg(value: str) -> Path | None:
    """``--store``: None for ':memory:', else a file path whose directory exists."""
    if value == ":memory:":
        return None
    path = Path(value)
    if path.is_dir():
        raise CliError(f"--store {value}: is a directory, not a file", 2)
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"--store {value}: directory {parent} does not exist", 2)
    return path


def cmd_coordinator(args: argparse.Namespace) -> int:
    """``zkedge coordinator``: serve until SIGTERM/SIGINT."""
    from zkedge.fleet.alloc import retain_freed_memory
    from zkedge.fleet.coordinator import Coordinator, SizingPolicy, TlsConfig
    from zkedge.fleet.coordinator.store import StoreError

    hostport_arg("--bind", args.bind)
    if args.http is not None:
        hostport_arg("--http", args.http)
    store = _store_arg(args.store)
    if args.forget_dead_after < 0:
        raise CliError("--forget-dead-after must be >= 0 seconds", 2)
    if args.keep_freed_mb > 0:  # every task's scalars pass through fresh buffers otherwise
        retain_freed_memory(args.keep_freed_mb << 20)
    tls = None
    if args.tls_cert or args.tls_key:
        tls = TlsConfig(cert=args.tls_cert, key=args.tls_key, client_ca=args.tls_client_ca)
    windows = {}
    if args.window_min_points is not None:
        if args.window_min_points < 0:
            raise CliError(f"--window-min-points: {args.window_min_points} is below 0", 2)
        windows["window_min_points"] = args.window_min_points
    policy = SizingPolicy(
        target_seconds=args.target_seconds,
        block_points=args.block_points,
        min_points=max(args.block_points, 4096),
        **windows,
    )
    coord = Coordinator(
        args.bind,
        store=store,
        token=args.token,
        tls=tls,
        policy=policy,
        heartbeat_interval=args.heartbeat_interval,
        table_memory=args.table_memory_mb << 20,
        max_message={"submit_msm": args.max_submit_mb << 20},
        max_connections_per_peer=args.max_connections_per_peer,
        watch_grace=args.watch_grace,
        no_worker_timeout=args.no_worker_timeout,
        forget_dead_after=args.forget_dead_after,
        http=args.http,
        proof_shape=None if args.proof_shape == "auto" else args.proof_shape,
    )

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            c = await nursery.start(coord.serve)
            _quiet_gc()
            print(f"coordinator listening on {c.host}:{c.port}", flush=True)
            if c.http_port is not None:
                print(f"status page on http://{c.http_host}:{c.http_port}/", flush=True)
            nursery.start_soon(_until_signal, nursery.cancel_scope, nursery.cancel_scope.cancel)

    try:
        trio.run(run)
    except* StoreError as group:
        raise CliError(f"--store {args.store}: {group.exceptions[0]}") from None
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """``zkedge worker``: run until SIGTERM (drain: finish or hand back, then exit)."""
    from zkedge.fleet.alloc import retain_freed_memory
    from zkedge.fleet.worker import Worker, WorkerConfig

    try:
        apply_config(args)
    except ConfigError as exc:
        raise CliError(str(exc), 2) from None
    hostport_arg("--coordinator", args.coordinator)
    if args.http is not None:
        hostport_arg("--http", args.http)
    if args.keep_freed_mb > 0:  # every task's scalars arrive through fresh buffers otherwise
        retain_freed_memory(args.keep_freed_mb << 20)
    cfg = WorkerConfig(
        coordinator=args.coordinator,
        worker_id=args.worker_id,
        threads=args.threads,
        cache_dir=args.cache_dir,
        cache_bytes=args.cache_mb << 20,
        cache_memory_bytes=args.cache_memory_mb << 20,
        scalar_cache_bytes=args.scalar_cache_mb << 20,
        token=args.token,
        tls=client_tls(args),
        drain_grace=args.drain_grace,
        benchmark=not args.no_benchmark,
        proof_tasks=not args.no_proof_tasks,
        task_delay=args.debug_task_delay,
        backoff_initial=args.backoff_initial,
        http=args.http,
    )
    worker = Worker(cfg)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_until_signal, nursery.cancel_scope, worker.stop)
            await worker.run()
            nursery.cancel_scope.cancel()

    trio.run(run)
    return 0


async def _with_client(args: argparse.Namespace, fn: Any) -> Any:
    from zkedge.fleet.client import ConnectionLost, open_coordinator

    hostport_arg("--coordinator", args.coordinator)
    try:
        async with open_coordinator(args.coordinator, token=args.token, tls=client_tls(args)) as c:
            return await fn(c)
    except ConnectionLost as exc:
        raise CliError(f"cannot reach the coordinator at {args.coordinator}: {exc}") from None


def cmd_msm(args: argparse.Namespace) -> int:
    """``zkedge msm``: submit bases+scalars, wait, print the result and each worker's share."""
    from zkedge.curves import get_curve

    try:
        curve = get_curve(args.curve)
    except ValueError as exc:
        raise CliError(f"--curve: {exc}", 2) from None
    hostport_arg("--coordinator", args.coordinator)
    bases = args.bases.read_bytes()
    if args.bases_encoding == "be":
        from zkedge import ec

        bases = ec.convert(curve, args.group, bases, "be", "mont")
    scalars = args.scalars.read_bytes()

    async def go(client: CoordinatorClient) -> Any:
        def on_update(u: Any) -> None:
            print(f"  {u.state}: {u.points_done}/{u.points_total} points", file=sys.stderr)

        if args.detach:
            return await client.submit_msm(
                curve.name, args.group, scalars, bases=bases, detach=True
            )
        return await client.msm(
            curve.name, args.group, scalars, bases=lambda: bases, on_update=on_update
        )

    try:
        out = trio.run(_with_client, args, go)
    except JobFailed as exc:
        raise CliError(f"job failed: {exc}") from None
    if args.detach:
        print(out)  # the job id: `zkedge jobs`, `zkedge cancel JOB`
        return 0
    u = out.update
    half = len(out.result) // 2
    print(f"result.x = 0x{out.result[:half].hex()}")
    print(f"result.y = 0x{out.result[half:].hex()}")
    print(f"{'worker':<24}{'points':>12}{'share':>9}{'tasks':>7}{'compute s':>11}")
    for s in u.shares:
        share = s.points / u.points_total if u.points_total else 0
        print(f"{s.worker_id:<24}{s.points:>12}{share:>9.1%}{s.tasks:>7}{s.compute_seconds:>11.2f}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """``zkedge prune``: delete old finished jobs (and, asked, unused tables) from a store."""
    from zkedge.fleet.coordinator.store import Store, StoreError

    if not args.store.is_file():
        print(f"error: no store file {args.store}", file=sys.stderr)
        return 2
    if args.keep_jobs < 0:
        print("error: --keep-jobs must be >= 0", file=sys.stderr)
        return 2
    before = args.store.stat().st_size
    try:
        store = Store(args.store)
    except StoreError as exc:
        print(f"error: {args.store}: {exc}", file=sys.stderr)
        return 1
    try:
        jobs, tables = store.prune(args.keep_jobs, tables=args.tables)
        if args.vacuum:
            store.vacuum()
    except StoreError as exc:
        print(f"error: {args.store}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    after = args.store.stat().st_size
    print(
        f"deleted {jobs} finished job(s) and {tables} base table(s); "
        f"{args.store}: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """``zkedge status``: workers, their load and capacity, jobs and tasks."""

    async def go(client: CoordinatorClient) -> Any:
        return await client.status()

    st = trio.run(_with_client, args, go)
    if args.json:
        from zkedge.fleet.client import status_json

        print(json.dumps(status_json(st), indent=2))
        return 0
    print(
        f"{'worker':<20}{'state':<12}{'cores':>6}{'load':>6}{'cpu':>6}{'temp':>6}"
        f"{'thr':>4}{'cap pt/s':>11}{'tasks':>6}{'points':>10}{'hb s':>6}"
    )
    for w in st.workers:
        temp = f"{w.load_report.soc_temperature_c:.0f}" if w.load_report.has_temperature else "-"
        thr = (
            ("yes" if w.load_report.throttled else "no") if w.load_report.has_throttle_flag else "-"
        )
        print(
            f"{w.worker_id:<20}{w.state:<12}{w.node.cores:>6}{w.load_report.load_average:>6.2f}"
            f"{w.load_report.cpu_utilization:>6.0%}{temp:>6}{thr:>4}{w.capacity_points_per_sec:>11.0f}"
            f"{w.tasks_in_flight:>6}{w.points_done:>10}{w.seconds_since_heartbeat:>6.1f}"
        )
    print(f"tasks: {st.tasks_running} running, {st.tasks_pending} pending")
    for j in st.jobs:
        shares = ", ".join(f"{s.worker_id}={s.points}" for s in j.shares)
        print(f"job {j.job_id} {j.state} {j.points_done}/{j.points_total} [{shares}] {j.error}")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """``zkedge jobs``: the coordinator's running and recently finished jobs."""

    async def go(client: CoordinatorClient) -> Any:
        return await client.list_jobs(running_only=args.running)

    try:
        jobs = trio.run(_with_client, args, go)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([j.to_dict() for j in jobs], indent=2))
        return 0
    print(f"{'job':<18}{'state':<11}{'label':<15}{'points':>21}  error")
    for j in jobs:
        pts = f"{j.points_done}/{j.points_total}"
        print(f"{j.job_id:<18}{j.state:<11}{j.label:<15}{pts:>21}  {j.error}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """``zkedge cancel JOB``: end a running job; its attempts stop on the workers."""

    async def go(client: CoordinatorClient) -> Any:
        return await client.cancel_job(args.job_id, args.reason)

    try:
        reply = trio.run(_with_client, args, go)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if reply.cancelled:
        print(f"job {reply.job_id} cancelled")
    else:
        print(f"job {reply.job_id} had already ended: {reply.state}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (``python -m zkedge.cli._fleet``)."""
    return standalone(register, argv)


if __name__ == "__main__":
    sys.exit(main())
