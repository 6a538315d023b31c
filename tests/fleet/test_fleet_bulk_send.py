"""The fleet's bulk send path (``rpc.install_bulk_send``): a message with a large bytes field
goes out as its own buffers, frame by frame, with h2 only accounting for the frames. Messages
of every size around the frame size and the flow-control window arrive whole, in order, both
ways (a server's stream and a client's request, which ends the stream)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import trio
from support.fleet import TOKEN, TaskStreamService

from zkedge.fleet import _codec, rpc
from zkedge.fleet.proto.coordinator.v1 import (
    CoordinatorServiceBase,
    ReceiveTasksRequest,
    SubmitMsmRequest,
    TaskAssignment,
    TaskMessage,
)

MIB = 1 << 20
SIZES = [_codec.THRESHOLD, MIB - 1, MIB, MIB + 1, 3 * MIB + 7, 2 * _codec.THRESHOLD + 5]


def payload(i: int, size: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (size // 32) + os.urandom(size % 32)


def tasks() -> list[TaskMessage]:
    return [
        TaskMessage(assign=TaskAssignment(task_id=f"t{i}", count=i, scalars=payload(i, n)))
        for i, n in enumerate(SIZES)
    ]


async def start(nursery: trio.Nursery, messages: list[TaskMessage]) -> int:
    port: int = await nursery.start(
        lambda task_status: rpc.serve_grpc(
            CoordinatorServiceBase,
            TaskStreamService(messages),
            "127.0.0.1",
            0,
            token=TOKEN,
            limits={"submit_msm": 16 * MIB},
            task_status=task_status,
        )
    )
    return port


def test_large_messages_encode_as_parts_that_join_to_their_bytes() -> None:
    codec = _codec.FastProtoCodec(parts=True)
    for msg in tasks():
        enc = codec.encode(msg, TaskMessage)
        assert isinstance(enc, _codec.Parts)
        assert enc.join() == bytes(msg) and len(enc) == len(bytes(msg))
        framed = b"\0" + len(enc).to_bytes(4, "big") + enc
        assert isinstance(framed, _codec.Parts) and framed.join()[5:] == bytes(msg)
    small = TaskMessage(assign=TaskAssignment(task_id="s", scalars=b"x" * 100))
    assert codec.encode(small, TaskMessage) == bytes(small)


async def test_a_stream_of_large_messages_arrives_whole_and_in_order(
    nursery: trio.Nursery,
) -> None:
    sent = tasks()
    with trio.fail_after(60):
        port = await start(nursery, sent)
        async with rpc.open_client(
            CoordinatorServiceBase, "127.0.0.1", port, token=TOKEN
        ) as client:
            got = await client.collect("receive_tasks", ReceiveTasksRequest(worker_id="w"))
            # a read takes a frame's worth, not asyncio's 256 KiB (private: grpclib's protocol)
            protocol: Any = client._channel._protocol
            assert protocol.connection._transport.max_size == rpc.READ_BYTES == rpc.MAX_FRAME_SIZE
            # a large request: the client's own message ends its stream
            bases, scalars = payload(100, 5 * MIB + 3), payload(101, 2 * MIB)
            reply = await client.call(
                "submit_msm", SubmitMsmRequest(curve="bn254", bases=bases, scalars=scalars)
            )
    assert [m.assign.task_id for m in got] == [m.assign.task_id for m in sent]
    assert all(g.assign.scalars == s.assign.scalars for g, s in zip(got, sent, strict=True))
    assert reply.job_id == hashlib.sha256(bases + b"|" + scalars).hexdigest()


async def test_without_h2_internals_messages_are_joined(
    nursery: trio.Nursery, monkeypatch: Any
) -> None:
    """Where the h2 internals the bulk path uses are missing, install_bulk_send leaves large
    messages to grpclib's own framing, joined: they still arrive."""
    monkeypatch.setattr(rpc, "ConnectionInputs", object())  # as if h2 had no SEND_DATA input
    sent = tasks()[:3]
    with trio.fail_after(60):
        port = await start(nursery, sent)
        assert rpc._BULK_SEND is False
        async with rpc.open_client(
            CoordinatorServiceBase, "127.0.0.1", port, token=TOKEN
        ) as client:
            got = await client.collect("receive_tasks", ReceiveTasksRequest(worker_id="w"))
    assert [g.assign.scalars for g in got] == [s.assign.scalars for s in sent]
    monkeypatch.undo()
    rpc.install_bulk_send()
    assert rpc._BULK_SEND is True
