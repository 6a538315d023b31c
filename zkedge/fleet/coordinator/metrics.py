"""The coordinator's Prometheus metrics and its recent-jobs record (``/metrics``, status page).

Every :class:`CoordinatorMetrics` has its own ``prometheus_client.CollectorRegistry``, so
several coordinators in one process (tests, an application running two fleets) keep their
counts apart. Counters and the job-duration histogram are updated by the scheduler's
observers; gauges (workers by state, heartbeat ages, queue lengths) are read from the registry
and scheduler when scraped.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from zkedge.fleet.coordinator.registry import STATES

if TYPE_CHECKING:
    from zkedge.fleet.coordinator.model import Job
    from zkedge.fleet.coordinator.registry import Registry
    from zkedge.fleet.coordinator.scheduler import Scheduler

__all__ = ["JOB_BUCKETS", "TASK_OUTCOMES", "CoordinatorMetrics", "JobTime"]

TASK_OUTCOMES = ("done", "failed", "handed_back", "lost", "timed_out", "cancelled")
"""Values of ``zkedge_tasks_total{outcome}``: how a task attempt ended."""
JOB_OUTCOMES = ("done", "failed", "cancelled")
JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Buckets of ``zkedge_job_duration_seconds`` (a fleet proof takes seconds to minutes)."""


@dataclass(frozen=True)
class JobTime:
    """A finished job, as the status page charts it."""

    job_id: str
    kind: str
    outcome: str
    seconds: float
    points: int
    ended: float  # Unix time


class _Live(Collector):
    """Gauges read at scrape time from the running coordinator's registry and scheduler."""

    def __init__(self, parts: Callable[[], tuple[Registry, Scheduler] | None]) -> None:
        self._parts = parts

    def collect(self) -> Iterator[Metric]:
        parts = self._parts()
        workers = GaugeMetricFamily("zkedge_workers", "Workers by state", labels=["state"])
        age = GaugeMetricFamily(
            "zkedge_heartbeat_age_seconds",
            "Seconds since a worker's last heartbeat",
            labels=["worker"],
        )
        capacity = GaugeMetricFamily(
            "zkedge_worker_capacity_points_per_second",
            "Estimated MSM throughput of a worker now (nominal task size)",
            labels=["worker"],
        )
        pending = GaugeMetricFamily("zkedge_tasks_pending", "Task ranges waiting for a worker")
        running = GaugeMetricFamily("zkedge_tasks_running", "Task attempts sent to workers")
        jobs = GaugeMetricFamily("zkedge_jobs_running", "Jobs not finished")
        sent = CounterMetricFamily(
            "zkedge_sent_bytes",
            "Bytes sent to workers: task scalars, whole-proof witnesses, bases, zkeys, link probes",
            labels=["kind"],
        )
        saved = CounterMetricFamily(
            "zkedge_scalar_bytes_saved",
            "Task scalars left out because the worker held them (sent once)",
        )
        copies = CounterMetricFamily(
            "zkedge_speculative_copies", "Speculative copies of straggling attempts started"
        )
        packing = CounterMetricFamily(
            "zkedge_packing_saved_bytes",
            "Bytes of task scalars and witnesses that packing kept off the wire",
        )
        if parts is not None:
            reg, sched = parts
            now = trio.current_time()
            counts = dict.fromkeys(STATES, 0)
            for w in reg.workers.values():
                counts[w.state] = counts.get(w.state, 0) + 1
                age.add_metric([w.worker_id], max(0.0, now - w.last_heartbeat))
                capacity.add_metric([w.worker_id], w.capacity_pps(reg.policy))
            for state, n in counts.items():
                workers.add_metric([state], n)
            pending.add_metric([], len(sched.pending))
            running.add_metric([], sum(len(w.inflight) for w in reg.workers.values()))
            jobs.add_metric([], len(sched.running))
            d = sched.dispatcher
            for kind, n in d.bytes_sent.items():
                sent.add_metric([kind], n)
            saved.add_metric([], d.scalar_bytes_saved)
            copies.add_metric([], d.speculative_copies)
            packing.add_metric([], d.packing_saved)
        yield from (workers, age, capacity, pending, running, jobs, sent, saved, copies, packing)


class CoordinatorMetrics:
    """One coordinator's metrics registry and recent job times."""

    def __init__(
        self, parts: Callable[[], tuple[Registry, Scheduler] | None], recent: int = 60
    ) -> None:
        self.registry = CollectorRegistry()
        self.tasks = Counter(
            "zkedge_tasks", "Task attempts by how they ended", ["outcome"], registry=self.registry
        )
        for outcome in TASK_OUTCOMES:
            self.tasks.labels(outcome)
        self.jobs = Counter(
            "zkedge_jobs",
            "Finished jobs by kind (label: msm, groth16, ...) and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "zkedge_job_duration_seconds",
            "Time from submit to end of finished jobs",
            ["kind"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Live(parts))
        self.recent: collections.deque[JobTime] = collections.deque(maxlen=recent)

    def task(self, outcome: str) -> None:
        """Count a task attempt's end."""
        self.tasks.labels(outcome).inc()

    def job_end(self, job: Job) -> None:
        """Count a finished job and remember its time."""
        seconds = max(0.0, (job.ended_at or job.submitted_at) - job.submitted_at)
        outcome = job.outcome
        self.jobs.labels(job.label, outcome).inc()
        if outcome == "done":
            self.job_duration.labels(job.label).observe(seconds)
        self.recent.append(
            JobTime(job.id, job.label, outcome, seconds, job.points_total, time.time())
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)
