"""The fleet coordinator: gRPC service, worker registry, scheduler, sizing policy, SQLite store.

Embed it in a trio app::

    async with trio.open_nursery() as nursery:
        coord = await nursery.start(Coordinator(bind="0.0.0.0:50051", store="jobs.sqlite").serve)
        handle = await coord.submit_msm("bn254", "G1", table, scalars)
        point = await handle.result()
"""

from zkedge.coordinator._coordinator import Coordinator as Coordinator
from zkedge.coordinator._coordinator import JobHandle as JobHandle
from zkedge.coordinator._coordinator import MsmSpec as MsmSpec
from zkedge.coordinator.auth import TlsConfig as TlsConfig
from zkedge.coordinator.scheduler import JobFailed as JobFailed
from zkedge.coordinator.scheduler import PartialResult as PartialResult
from zkedge.coordinator.scheduler import Progress as Progress
from zkedge.coordinator.sizing import SizingPolicy as SizingPolicy

__all__ = [
    "Coordinator",
    "JobFailed",
    "JobHandle",
    "MsmSpec",
    "PartialResult",
    "Progress",
    "SizingPolicy",
    "TlsConfig",
]
