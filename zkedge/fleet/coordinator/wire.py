"""Conversions between wire messages and the coordinator's domain types, used by the service
layer only: the registry, scheduler and dispatcher never see a protobuf message."""

from __future__ import annotations

from typing import cast

from zkedge.fleet.coordinator.model import (
    Assignment,
    Cancellation,
    LoadSample,
    NodeFacts,
    Order,
    ProveOrder,
)
from zkedge.fleet.proto.coordinator.v1 import (
    LoadReport,
    NodeInfo,
    ProveAssignment,
    TaskAssignment,
    TaskCancel,
    TaskMessage,
)

__all__ = ["load_report", "load_sample", "node_facts", "node_info", "task_message"]


def node_facts(node: NodeInfo) -> NodeFacts:
    """The domain view of a registration's node facts (validated by the caller)."""
    return NodeFacts(
        hostname=node.hostname,
        arch=node.arch,
        cores=node.cores,
        memory_bytes=node.memory_bytes,
        curves=tuple(c.lower() for c in node.curves),
        native_build=node.native_build,
        bench_points_per_sec=node.bench_points_per_sec,
        threads=node.threads,
        version=node.version,
        scalar_cache_bytes=node.scalar_cache_bytes,
        max_receive_bytes=node.max_receive_bytes,
        proof_tasks=node.proof_tasks,
        packed_scalars=node.packed_scalars,
        window_tasks=node.window_tasks,
    )


def node_info(facts: NodeFacts) -> NodeInfo:
    """The wire form of node facts (for ``GetStatus``)."""
    return NodeInfo(
        hostname=facts.hostname,
        arch=facts.arch,
        cores=facts.cores,
        memory_bytes=facts.memory_bytes,
        curves=list(facts.curves),
        native_build=facts.native_build,
        bench_points_per_sec=facts.bench_points_per_sec,
        threads=facts.threads,
        version=facts.version,
        scalar_cache_bytes=facts.scalar_cache_bytes,
        max_receive_bytes=facts.max_receive_bytes,
        proof_tasks=facts.proof_tasks,
        packed_scalars=facts.packed_scalars,
        window_tasks=facts.window_tasks,
    )


def load_sample(load: LoadReport) -> LoadSample:
    """The domain view of a heartbeat's load report (validated by the caller)."""
    return LoadSample(
        load_average=load.load_average,
        cpu_utilization=load.cpu_utilization,
        own_cpu_utilization=load.own_cpu_utilization,
        mem_available_bytes=load.mem_available_bytes,
        temperature_c=load.soc_temperature_c if load.has_temperature else None,
        throttled=load.throttled if load.has_throttle_flag else None,
        throttle_bits=load.throttle_bits,
        tasks_in_flight=load.tasks_in_flight,
        recent_points_per_sec=load.recent_points_per_sec,
        rtt_seconds=load.rtt_seconds,
        recv_bytes_per_sec=load.recv_bytes_per_sec,
    )


def load_report(sample: LoadSample | None) -> LoadReport:
    """The wire form of a load sample (an empty report for none)."""
    if sample is None:
        return LoadReport()
    return LoadReport(
        load_average=sample.load_average,
        cpu_utilization=sample.cpu_utilization,
        own_cpu_utilization=sample.own_cpu_utilization,
        mem_available_bytes=sample.mem_available_bytes,
        soc_temperature_c=sample.temperature_c or 0.0,
        has_temperature=sample.temperature_c is not None,
        throttled=bool(sample.throttled),
        has_throttle_flag=sample.throttled is not None,
        throttle_bits=sample.throttle_bits,
        tasks_in_flight=sample.tasks_in_flight,
        recent_points_per_sec=sample.recent_points_per_sec,
        rtt_seconds=sample.rtt_seconds,
        recv_bytes_per_sec=sample.recv_bytes_per_sec,
    )


def task_message(order: Order) -> TaskMessage:
    """The ``ReceiveTasks`` message for an order."""
    if isinstance(order, Cancellation):
        return TaskMessage(cancel=TaskCancel(task_id=order.task_id, attempt=order.attempt))
    if isinstance(order, ProveOrder):
        return TaskMessage(
            prove=ProveAssignment(
                task_id=order.task_id,
                attempt=order.attempt,
                job_id=order.job_id,
                curve=order.curve,
                zkey_hash=order.zkey_hash,
                zkey_bytes=order.zkey_bytes,
                witness=b"" if order.packed else order.witness,
                packed_witness=order.witness if order.packed else b"",
                expected_seconds=order.expected_seconds,
            )
        )
    assert isinstance(order, Assignment)
    # A window task's values are a view of the buffer its MSM's values were made in: the
    # fleet's codec (zkedge.fleet._codec) writes a large bytes field from any buffer, and
    # betterproto encodes a memoryview as bytes, so the view goes out uncopied.
    data = cast(bytes, order.scalars)
    return TaskMessage(
        assign=TaskAssignment(
            task_id=order.task_id,
            attempt=order.attempt,
            job_id=order.job_id,
            curve=order.curve,
            group=order.group,
            table_hash=order.table_hash,
            table_n=order.table_n,
            start=order.start,
            count=order.count,
            scalars=b"" if order.packed else data,
            packed_scalars=data if order.packed else b"",
            expected_seconds=order.expected_seconds,
            scalars_hash=order.scalars_hash,
            window_lo=order.window_lo,
            window_widths=list(order.window_widths),
        )
    )
