"""Hypothesis strategies for betterproto messages, built from each class's own metadata: every
message type of the coordinator's contract, with any subset of its fields set and at most one
member of each oneof."""

from __future__ import annotations

import inspect
from typing import Any

import betterproto
from hypothesis import strategies as st

from zkedge.fleet.proto.coordinator import v1

CONTRACT: list[type[betterproto.Message]] = sorted(
    (
        c
        for _, c in inspect.getmembers(v1, inspect.isclass)
        if issubclass(c, betterproto.Message) and c.__module__ == v1.__name__
    ),
    key=lambda c: c.__name__,
)

_FLOATS = st.floats(width=64)  # NaN, infinities and -0.0 included
_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    betterproto.TYPE_BOOL: st.booleans(),
    betterproto.TYPE_UINT32: st.integers(0, 2**32 - 1),
    betterproto.TYPE_UINT64: st.integers(0, 2**64 - 1),
    betterproto.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    betterproto.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    betterproto.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    betterproto.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    betterproto.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    betterproto.TYPE_FIXED64: st.integers(0, 2**64 - 1),
    betterproto.TYPE_SFIXED32: st.integers(-(2**31), 2**31 - 1),
    betterproto.TYPE_SFIXED64: st.integers(-(2**63), 2**63 - 1),
    betterproto.TYPE_FLOAT: st.floats(width=32),
    betterproto.TYPE_DOUBLE: _FLOATS,
    betterproto.TYPE_STRING: st.text(max_size=12),
    betterproto.TYPE_BYTES: st.binary(max_size=40),
}


def _field(cls: type[betterproto.Message], name: str, depth: int) -> st.SearchStrategy[Any]:
    meta: Any = cls._betterproto  # type: ignore[arg-type]
    fm = meta.meta_by_field_name[name]
    if fm.proto_type == betterproto.TYPE_MESSAGE:
        one = message_of(meta.cls_by_field[name], depth + 1)
    elif fm.proto_type == betterproto.TYPE_ENUM:
        one = st.sampled_from(list(meta.cls_by_field[name]))
    else:
        one = _SCALARS[fm.proto_type]
    if meta.default_gen[name] is list:
        if fm.proto_type in (betterproto.TYPE_FLOAT, betterproto.TYPE_DOUBLE):
            # betterproto's equality takes a NaN for equal to a NaN, but not inside a list
            one = (
                st.floats(width=32, allow_nan=False)
                if fm.proto_type == betterproto.TYPE_FLOAT
                else st.floats(allow_nan=False)
            )
        return st.lists(one, max_size=3)
    return one


def message_of(cls: type[betterproto.Message], depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of type cls: any subset of its fields set (nested messages two levels deep at
    most), and one member or none of each oneof."""
    meta: Any = cls._betterproto  # type: ignore[arg-type]
    if depth > 2:
        return st.just(cls())
    plain = [n for n in meta.meta_by_field_name if n not in meta.oneof_group_by_field]
    groups = [sorted(f.name for f in fs) for fs in meta.oneof_field_by_group.values()]

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        kwargs = {}
        for name in plain:
            if draw(st.booleans()):
                kwargs[name] = draw(_field(cls, name, depth))
        for members in groups:
            pick = draw(st.sampled_from([None, *members]))
            if pick is not None:
                kwargs[pick] = draw(_field(cls, pick, depth))
        return cls(**kwargs)

    return build()
