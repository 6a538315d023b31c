"""The fleet coordinator: gRPC service, worker registry, scheduler, sizing policy, SQLite store.

Embed it in a trio app::

    async with trio.open_nursery() as nursery:
        coord = await nursery.start(Coordinator(bind="0.0.0.0:50051", store="jobs.sqlite").serve)
        handle = await coord.submit_msm("bn254", "G1", table, scalars)
        point = await handle.result()
"""

from zkedge.fleet.common import JobFailed as JobFailed
from zkedge.fleet.common import ProofRejected as ProofRejected
from zkedge.fleet.common import TlsConfig as TlsConfig
from zkedge.fleet.coordinator._coordinator import Coordinator as Coordinator
from zkedge.fleet.coordinator._coordinator import JobHandle as JobHandle
from zkedge.fleet.coordinator._coordinator import MsmSpec as MsmSpec
from zkedge.fleet.coordinator._groth16 import FleetProof as FleetProof
from zkedge.fleet.coordinator._groth16 import prove_groth16 as prove_groth16
from zkedge.fleet.coordinator.model import PartialResult as PartialResult
from zkedge.fleet.coordinator.model import Progress as Progress
from zkedge.fleet.coordinator.sizing import SizingPolicy as SizingPolicy

__all__ = [
    "Coordinator",
    "FleetProof",
    "JobFailed",
    "JobHandle",
    "MsmSpec",
    "PartialResult",
    "Progress",
    "ProofRejected",
    "SizingPolicy",
    "TlsConfig",
    "prove_groth16",
]
