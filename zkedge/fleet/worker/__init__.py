"""The fleet worker: registers with a coordinator, heartbeats, runs MSM range tasks natively.

Run it with ``zkedge worker --coordinator HOST:PORT`` or embed it::

    worker = await nursery.start(Worker(WorkerConfig(coordinator="gw.local:50051")).run)
"""

from zkedge.fleet.worker.cache import BaseCache as BaseCache
from zkedge.fleet.worker.client import Backoff as Backoff
from zkedge.fleet.worker.client import Worker as Worker
from zkedge.fleet.worker.client import WorkerConfig as WorkerConfig
from zkedge.fleet.worker.probe import Probe as Probe

__all__ = ["Backoff", "BaseCache", "Probe", "Worker", "WorkerConfig"]
