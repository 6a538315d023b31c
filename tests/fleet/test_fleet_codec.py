"""The fleet's protobuf codec (zkedge.fleet._codec) against betterproto, on valid and broken
input; the bounded frame repr (zkedge.fleet.rpc) against hyperframe's; the allocator setting
(zkedge.fleet.alloc).

Google's protobuf reads what the codec writes in test_fleet_interop_grpcio.py."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import betterproto
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkedge.fleet import _codec, rpc
from zkedge.fleet.proto.coordinator.v1 import (
    BasesChunk,
    JobUpdate,
    ReportCompletionRequest,
    SubmitMsmRequest,
    TaskAssignment,
    TaskCancel,
    TaskMessage,
    WorkerShare,
)


@dataclass(eq=False, repr=False)
class Outer(betterproto.Message):
    """Not in our contract: a message field with large bytes inside, next to other fields and
    a large bytes field of its own, to exercise the general path of zkedge.fleet._codec."""

    name: str = betterproto.string_field(1)
    inner: TaskAssignment = betterproto.message_field(2)  # noqa: RUF009 - betterproto style
    tail: bytes = betterproto.bytes_field(3)
    more: list[bytes] = betterproto.bytes_field(4)  # noqa: RUF009 - betterproto style
    n: int = betterproto.uint64_field(5)


u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
text = st.text(max_size=12)
blob = st.binary(max_size=80)

assignments = st.builds(
    TaskAssignment,
    task_id=text,
    attempt=u32,
    job_id=text,
    curve=text,
    group=text,
    table_hash=text,
    table_n=u64,
    start=u64,
    count=u64,
    scalars=blob,
    expected_seconds=st.floats(allow_nan=False),
    scalars_hash=text,
)
messages = st.one_of(
    st.builds(TaskMessage, assign=assignments),
    st.builds(TaskMessage, cancel=st.builds(TaskCancel, task_id=text, attempt=u32)),
    st.builds(TaskMessage),
    st.builds(
        BasesChunk,
        table_hash=text,
        curve=text,
        table_n=u64,
        start=u64,
        count=u64,
        data=blob,
        sha256=text,
    ),
    st.builds(SubmitMsmRequest, curve=text, group=text, bases=blob, scalars=blob, table_hash=text),
    st.builds(
        ReportCompletionRequest, worker_id=text, result=blob, compute_seconds=st.floats(0, 9)
    ),
    st.builds(
        Outer,
        name=text,
        inner=assignments,
        tail=blob,
        more=st.lists(blob, max_size=2),
        n=u64,
    ),
    st.builds(Outer, name=text, tail=blob),
    st.builds(
        JobUpdate,
        job_id=text,
        results=st.lists(blob, max_size=3),
        shares=st.lists(st.builds(WorkerShare, worker_id=text, points=u64), max_size=2),
    ),
)


@given(msg=messages, threshold=st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_round_trip_matches_betterproto(msg: betterproto.Message, threshold: int) -> None:
    cls = type(msg)
    before = bytes(msg)
    enc = _codec.encode(msg, threshold)
    assert bytes(msg) == before  # the emptied fields were put back
    assert cls().parse(enc) == msg  # betterproto reads what we write
    assert _codec.decode(enc, cls, threshold) == msg
    assert _codec.decode(before, cls, threshold) == msg  # and we read what betterproto writes
    assert len(enc) == len(before)  # the same fields, perhaps in another order


def test_large_task_at_the_default_threshold() -> None:
    scalars = os.urandom(_codec.THRESHOLD + 5)
    msg = TaskMessage(
        assign=TaskAssignment(task_id="t", count=7, scalars=scalars, scalars_hash="h")
    )
    enc = _codec.encode(msg)
    assert enc != bytes(msg)  # the fast path ran: scalars (10) moved after scalars_hash (12)
    back = _codec.decode(enc, TaskMessage)
    assert back == msg and type(back.assign.scalars) is bytes
    assert betterproto.which_one_of(back, "kind")[0] == "assign"
    chunk = BasesChunk(table_hash="h", data=scalars, sha256="s")
    assert _codec.decode(_codec.encode(chunk), BasesChunk) == chunk


def _mutate(data: bytes, kind: str, where: float, byte: int, extra: bytes) -> bytes:
    i = int(where * len(data))
    if kind == "cut":
        return data[:i]
    if kind == "flip" and data:
        i = min(i, len(data) - 1)
        return data[:i] + bytes([byte]) + data[i + 1 :]
    return data[:i] + extra + data[i:]


@given(
    msg=messages,
    kind=st.sampled_from(["cut", "flip", "insert"]),
    where=st.floats(0, 1),
    byte=st.integers(0, 255),
    extra=st.binary(min_size=1, max_size=6),
)
@settings(max_examples=400, deadline=None)
def test_broken_input_is_a_value_error_or_what_betterproto_reads(
    msg: betterproto.Message, kind: str, where: float, byte: int, extra: bytes
) -> None:
    cls = type(msg)
    wire = _mutate(_codec.encode(msg, 1), kind, where, byte, extra)
    try:
        ours = _codec.decode(wire, cls, 1)
    except ValueError:
        return  # what the server turns into INVALID_ARGUMENT (rpc._Adapter)
    assert cls().parse(wire) == ours  # stricter than betterproto is fine, different is not


def test_malformed_big_message_errors() -> None:
    good = _codec.encode(TaskMessage(assign=TaskAssignment(scalars=b"x" * 100)), 1)
    with pytest.raises(ValueError, match="runs past the end"):
        _codec.decode(good[:-1], TaskMessage, 1)
    with pytest.raises(ValueError, match="wire type"):
        _codec.decode(b"\x0b" + b"\x00" * 200, TaskMessage, 1)  # field 1, wire type 3
    with pytest.raises(ValueError, match="varint"):
        _codec.decode(b"\x0a" + b"\xff" * 200, TaskMessage, 1)


def test_a_later_oneof_member_wins() -> None:
    assign = _codec.encode(TaskMessage(assign=TaskAssignment(scalars=b"s" * 50)), 1)
    cancel = bytes(TaskMessage(cancel=TaskCancel(task_id="c")))
    for wire in (assign + cancel, cancel + assign):
        assert _codec.decode(wire, TaskMessage, 1) == TaskMessage().parse(wire)


def test_codec_type_check() -> None:
    codec = _codec.FastProtoCodec()
    with pytest.raises(TypeError):
        codec.encode(TaskCancel(), TaskMessage)
    msg = TaskMessage(cancel=TaskCancel(task_id="x"))
    assert codec.decode(codec.encode(msg, TaskMessage), TaskMessage) == msg


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 12, 40, 1 << 20])
def test_frame_repr_is_hyperframes_text(n: int) -> None:
    data = os.urandom(n)
    assert rpc.STOCK_RAW_DATA_REPR is not None, "hyperframe.frame._raw_data_repr is gone"
    assert rpc._raw_data_repr(data) == rpc.STOCK_RAW_DATA_REPR(data)
    assert rpc._raw_data_repr(memoryview(data)) == rpc.STOCK_RAW_DATA_REPR(data)


def test_private_names_zkedge_patches_still_exist() -> None:
    # zkedge.fleet.rpc patches hyperframe's payload repr and subclasses grpclib's protocol,
    # channel and server through private names; a release without them must fail here, clearly.
    import grpclib.client
    import grpclib.protocol
    import grpclib.server
    import hyperframe.frame

    assert rpc.STOCK_RAW_DATA_REPR is not None, "hyperframe.frame._raw_data_repr is gone"
    rpc.install_frame_repr()
    assert hyperframe.frame._raw_data_repr is rpc._raw_data_repr
    assert callable(getattr(grpclib.client.Channel, "_protocol_factory", None))
    assert callable(getattr(grpclib.server.Server, "_protocol_factory", None))
    assert hasattr(grpclib.protocol.H2Protocol, "connection_made")


def test_retain_freed_memory_on_glibc() -> None:
    # In a child: the setting is process-wide and the suite's own memory should not change.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from zkedge.fleet.alloc import retain_freed_memory as r; print(r())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    import platform

    expect = "True" if platform.libc_ver()[0] == "glibc" else "False"
    assert out == expect


def test_nested_and_own_large_fields_next_to_small_ones() -> None:
    msg = Outer(
        name="x",
        inner=TaskAssignment(task_id="t", scalars=b"s" * 50, scalars_hash="h"),
        tail=b"t" * 60,
        more=[b"m"],
        n=3,
    )
    enc = _codec.encode(msg, 10)
    assert enc != bytes(msg) and len(enc) == len(bytes(msg))  # fields moved, none lost
    assert _codec.decode(enc, Outer, 10) == msg == Outer().parse(enc)
    assert _codec.decode(bytes(msg), Outer, 10) == msg


def test_a_message_field_given_twice_is_merged_as_betterproto_does() -> None:
    # protobuf merges two occurrences of a message field; the first one here is malformed
    # (field 6 as a fixed64 cut short), so betterproto fails on the whole, and so must we
    good = _codec.encode(TaskMessage(assign=TaskAssignment(scalars=b"s" * 50)), 1)
    wire = b"\x0a\x01" + b"1" + good
    with pytest.raises(Exception):  # noqa: B017  (betterproto raises a KeyError here)
        TaskMessage().parse(wire)
    with pytest.raises(ValueError):
        _codec.decode(wire, TaskMessage, 1)
