"""The fleet's protobuf codec (zkedge.fleet._codec) against betterproto, on valid and broken
input; the bounded frame repr (zkedge.fleet.rpc) against hyperframe's; the allocator setting
(zkedge.fleet.alloc).

Google's protobuf reads what the codec writes in test_fleet_interop_grpcio.py."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import betterproto
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.messages import CONTRACT, message_of

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


class Colour(betterproto.Enum):
    RED = 0
    BLUE = 1


@dataclass(eq=False, repr=False)
class Kinds(betterproto.Message):
    """Not in our contract: the field kinds it does not use."""

    i32: int = betterproto.int32_field(1)
    i64: int = betterproto.int64_field(2)
    s32: int = betterproto.sint32_field(3)
    s64: int = betterproto.sint64_field(4)
    f32: float = betterproto.float_field(5)
    fx32: int = betterproto.fixed32_field(6)
    sfx64: int = betterproto.sfixed64_field(7)
    doubles: list[float] = betterproto.double_field(8)  # noqa: RUF009 - betterproto style
    signed: list[int] = betterproto.sint64_field(9)  # noqa: RUF009 - betterproto style
    flags: list[bool] = betterproto.bool_field(10)  # noqa: RUF009 - betterproto style
    shares: list[WorkerShare] = betterproto.message_field(11)  # noqa: RUF009 - betterproto style
    num: int = betterproto.uint64_field(12, group="pick")
    word: str = betterproto.string_field(13, group="pick")
    raw: bytes = betterproto.bytes_field(14, group="pick")
    fixed: list[int] = betterproto.fixed32_field(15)  # noqa: RUF009 - betterproto style


@dataclass(eq=False, repr=False)
class WithEnum(betterproto.Message):
    """An enum field: this class goes through betterproto, and so does its message field."""

    colour: Colour = betterproto.enum_field(1)  # noqa: RUF009 - betterproto style
    inner: Kinds = betterproto.message_field(2)  # noqa: RUF009 - betterproto style


@dataclass(eq=False, repr=False)
class Narrow(betterproto.Message):
    """No fields: every field of any message is unknown to it."""


LOCAL: list[type[betterproto.Message]] = [Kinds, WithEnum]


def contract_message(cls: type[betterproto.Message]) -> st.SearchStrategy[Any]:
    return message_of(cls)


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


def _groups(msg: betterproto.Message) -> dict[str, str]:
    meta: Any = getattr(msg, "_betterproto")  # noqa: B009  (betterproto's private metadata)
    return {g: betterproto.which_one_of(msg, g)[0] for g in meta.oneof_field_by_group}


def _same(ours: betterproto.Message, ref: betterproto.Message) -> None:
    """ours is what betterproto built: the same fields, oneof members and bytes."""
    assert type(ours) is type(ref)
    assert ours == ref
    assert bytes(ours) == bytes(ref)  # unknown fields and messages sent empty included
    assert _groups(ours) == _groups(ref)


@given(msg=messages, threshold=st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_round_trip_matches_betterproto(msg: betterproto.Message, threshold: int) -> None:
    cls = type(msg)
    before = bytes(msg)
    assert _codec.encode(msg) == before
    parts = _codec.encode_parts(msg, threshold)
    assert b"".join(parts) == before
    assert all(len(p) >= threshold for p in parts if type(p) is not bytes)  # values, uncopied
    _same(_codec.decode(before, cls), cls().parse(before))


@given(msg=st.one_of(*(contract_message(cls) for cls in CONTRACT + LOCAL)))
@settings(max_examples=600, deadline=None)
def test_every_message_type_encodes_and_decodes_as_betterproto(msg: betterproto.Message) -> None:
    """Every message of the contract, and local ones with the field kinds it does not use
    (signed and fixed-width numbers, floats, oneofs of scalars, an enum that falls back)."""
    cls = type(msg)
    wire = bytes(msg)
    assert _codec.encode(msg) == wire
    ours = _codec.decode(wire, cls)
    _same(ours, cls().parse(wire))
    _codec.check_types(ours)
    # a narrower type reads the others as unknown fields, kept and written back
    narrow = Narrow().parse(wire)
    _same(_codec.decode(wire, Narrow), narrow)
    assert _codec.encode(narrow) == bytes(narrow)


def test_large_task_at_the_default_threshold() -> None:
    scalars = os.urandom(_codec.THRESHOLD + 5)
    msg = TaskMessage(
        assign=TaskAssignment(task_id="t", count=7, scalars=scalars, scalars_hash="h")
    )
    parts = _codec.encode_parts(msg)
    assert len(parts) == 3 and parts[1] is scalars  # the scalars leave uncopied
    assert b"".join(parts) == bytes(msg)
    back = _codec.decode(_codec.encode(msg), TaskMessage)
    assert back == msg and type(back.assign.scalars) is bytes
    assert betterproto.which_one_of(back, "kind")[0] == "assign"
    view = memoryview(scalars)[1:]  # a view goes out as itself too
    msg = TaskMessage(assign=TaskAssignment(task_id="t", scalars=view))  # type: ignore[arg-type]
    assert _codec.encode_parts(msg)[1] is view
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
    msg=st.one_of(messages, *(contract_message(cls) for cls in CONTRACT + LOCAL)),
    kind=st.sampled_from(["cut", "flip", "insert"]),
    where=st.floats(0, 1),
    byte=st.integers(0, 255),
    extra=st.binary(min_size=1, max_size=6),
)
@settings(max_examples=600, deadline=None)
def test_broken_input_is_a_value_error_or_what_betterproto_reads(
    msg: betterproto.Message, kind: str, where: float, byte: int, extra: bytes
) -> None:
    cls = type(msg)
    wire = _mutate(bytes(msg), kind, where, byte, extra)
    try:
        ours = _codec.decode(wire, cls)
    except ValueError:
        return  # what the server turns into INVALID_ARGUMENT (rpc._Adapter)
    _same(ours, cls().parse(wire))  # stricter than betterproto is fine, different is not
    _codec.check_types(ours)


def test_malformed_input_errors() -> None:
    good = _codec.encode(TaskMessage(assign=TaskAssignment(scalars=b"x" * 100)))
    with pytest.raises(ValueError, match="runs past the end"):
        _codec.decode(good[:-1], TaskMessage)
    with pytest.raises(ValueError, match="wire type"):
        _codec.decode(b"\x0b" + b"\x00" * 200, TaskMessage)  # field 1, wire type 3
    with pytest.raises(ValueError, match="varint"):
        _codec.decode(b"\x0a" + b"\xff" * 200, TaskMessage)
    with pytest.raises(ValueError, match="wire type 0, not 2"):
        _codec.decode(b"\x08\x00", TaskCancel)  # task_id (a string) sent as a varint
    with pytest.raises(ValueError, match="utf-8"):
        _codec.decode(b"\x0a\x01\xff", TaskCancel)
    with pytest.raises(ValueError, match="field number 0"):
        _codec.decode(b"\x02\x00", TaskCancel)


def test_a_later_oneof_member_wins() -> None:
    assign = _codec.encode(TaskMessage(assign=TaskAssignment(scalars=b"s" * 50)))
    cancel = bytes(TaskMessage(cancel=TaskCancel(task_id="c")))
    for wire in (assign + cancel, cancel + assign):
        _same(_codec.decode(wire, TaskMessage), TaskMessage().parse(wire))


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
    assert callable(getattr(grpclib.client.Stream, "_maybe_raise", None))


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
