"""A worker's Prometheus metrics (``zkedge worker --http HOST:PORT`` serves them at
``/metrics``), in a registry of its own so several workers in one process keep them apart."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["TASK_BUCKETS", "WorkerMetrics"]

TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
"""Buckets of ``zkedge_worker_task_seconds`` (tasks aim at about 2 s on a board)."""


class WorkerMetrics:
    """Counters of one worker: points, tasks by outcome, task time, sessions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.points = Counter(
            "zkedge_worker_msm_points",
            "Points of the MSM tasks this worker completed",
            registry=self.registry,
        )
        self.task_seconds = Histogram(
            "zkedge_worker_task_seconds",
            "Compute time of completed tasks (native MSM)",
            buckets=TASK_BUCKETS,
            registry=self.registry,
        )
        self.tasks = Counter(
            "zkedge_worker_tasks",
            "Tasks by outcome (done, failed, stopped, handed_back)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("done", "failed", "stopped", "handed_back"):
            self.tasks.labels(outcome)
        self.sessions = Counter(
            "zkedge_worker_sessions",
            "Registrations with the coordinator (first and re-registrations)",
            registry=self.registry,
        )
        self.prefetched = Counter(
            "zkedge_worker_prefetched_bytes",
            "Base bytes fetched ahead of tasks while idle",
            registry=self.registry,
        )
        self.registered = Gauge(
            "zkedge_worker_registered",
            "1 while a session with the coordinator is up, else 0",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)
