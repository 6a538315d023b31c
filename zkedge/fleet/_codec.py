"""Protobuf encoding of betterproto messages, compiled from their field metadata.

betterproto 2.0.0b7 encodes and parses field by field through generic machinery: a
``__getattribute__`` per read, a ``warnings.catch_warnings`` per default value, a ``BytesIO``
per varint, copies of every nested message and ``bytes`` field. On a fleet that is paid for
every task order and every report, on the coordinator's event loop and on the boards, and it
is most of the cost of a small message (see docs/perf-log.md).

This module reads each message class's betterproto metadata once (``_Plan``) and then encodes
and parses with plain loops over the instance's ``__dict__``. It gives exactly the bytes
betterproto gives and builds the messages betterproto builds: field order, proto3 defaults left
out, packed repeated scalars, oneof members, unknown fields kept. Large ``bytes`` fields are
not copied on the way out: :func:`encode_parts` hands them out as buffers of their own, which
the fleet's HTTP/2 send path writes without joining; on the way in each ``bytes`` field is
copied once, from the received buffer. A class with a field kind this module does not compile
(maps, enums, proto3 ``optional``, wrappers, timestamps) goes through betterproto.

Decoding is stricter than betterproto's: a field sent with another wire type than its declared
one, a field running past the end and a malformed varint or string are ``ValueError``, so a
decoded message always holds its declared Python types.

:class:`FastProtoCodec` plugs this into grpclib (``Server(codec=...)``, ``Channel(codec=...)``).
Pure functions, no I/O: the asyncio side lives in :mod:`zkedge.fleet.rpc`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import betterproto
from grpclib.encoding.proto import ProtoCodec

__all__ = [
    "THRESHOLD",
    "FastProtoCodec",
    "Parts",
    "check_types",
    "decode",
    "encode",
    "encode_parts",
]

# bytes fields of at least this size leave encode_parts as buffers of their own
THRESHOLD = 1 << 16

M = TypeVar("M", bound=betterproto.Message)

_PLACEHOLDER: Any = betterproto.PLACEHOLDER
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5

# Field kinds. Varint kinds first (a packed repeated field of them is a run of varints).
_BOOL, _UINT, _INT32, _INT64, _SINT, _F32, _F64, _STR, _BYTES, _MSG = range(10)
_KINDS: dict[str, tuple[int, int, str]] = {  # proto type -> (kind, wire type, struct format)
    betterproto.TYPE_BOOL: (_BOOL, _VARINT, ""),
    betterproto.TYPE_UINT32: (_UINT, _VARINT, ""),
    betterproto.TYPE_UINT64: (_UINT, _VARINT, ""),
    betterproto.TYPE_INT32: (_INT32, _VARINT, ""),
    betterproto.TYPE_INT64: (_INT64, _VARINT, ""),
    betterproto.TYPE_SINT32: (_SINT, _VARINT, ""),
    betterproto.TYPE_SINT64: (_SINT, _VARINT, ""),
    betterproto.TYPE_FLOAT: (_F32, _FIXED32, "<f"),
    betterproto.TYPE_FIXED32: (_F32, _FIXED32, "<I"),
    betterproto.TYPE_SFIXED32: (_F32, _FIXED32, "<i"),
    betterproto.TYPE_DOUBLE: (_F64, _FIXED64, "<d"),
    betterproto.TYPE_FIXED64: (_F64, _FIXED64, "<Q"),
    betterproto.TYPE_SFIXED64: (_F64, _FIXED64, "<q"),
    betterproto.TYPE_STRING: (_STR, _LEN, ""),
    betterproto.TYPE_BYTES: (_BYTES, _LEN, ""),
    betterproto.TYPE_MESSAGE: (_MSG, _LEN, ""),
}
_BYTE = [bytes([i]) for i in range(128)]


def _varint(n: int) -> bytes:
    """n as a protobuf varint (a negative n as its 64-bit two's complement, as betterproto)."""
    if 0 <= n < 0x80:
        return _BYTE[n]
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(buf: memoryview, i: int, end: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= end or shift > 63:
            raise ValueError("malformed protobuf: truncated or overlong varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


class _Field:
    __slots__ = (
        "default",
        "fmt",
        "group",
        "key",
        "kind",
        "name",
        "number",
        "repeated",
        "sub",
        "wire",
    )

    def __init__(self, cls: type[betterproto.Message], name: str, fm: Any) -> None:
        meta: Any = cls._betterproto  # type: ignore[arg-type]  # betterproto types it per subclass
        self.name, self.number, self.group = name, fm.number, fm.group
        self.kind, self.wire, self.fmt = _KINDS[fm.proto_type]
        self.default: Callable[[], Any] = meta.default_gen[name]
        self.repeated = self.default is list
        self.sub: type[betterproto.Message] | None = None
        if self.kind == _MSG:
            self.sub = meta.cls_by_field[name]
        wire = _LEN if self.repeated and self.kind < _STR else self.wire  # packed
        self.key = _varint(self.number << 3 | wire)


class _Plan:
    """A message class's fields as this module reads and writes them."""

    __slots__ = ("blank", "by_number", "fields", "groups", "lists")

    def __init__(self, fields: list[_Field]) -> None:
        self.fields = fields
        self.by_number = {f.number: f for f in fields}
        self.groups = {f.group: None for f in fields if f.group is not None}
        # What a parsed message holds before its fields are read: a scalar's default itself
        # (betterproto leaves a placeholder, and makes the default on every read of it, under
        # ``warnings.catch_warnings``); a placeholder for a message (made when first read) and
        # for a oneof member (reading one that is not set is an AttributeError).
        self.blank: dict[str, Any] = {
            f.name: _PLACEHOLDER if f.kind == _MSG or f.group or f.repeated else f.default()
            for f in fields
        }
        self.blank["_serialized_on_wire"] = True
        self.blank["_unknown_fields"] = b""
        self.lists = [f.name for f in fields if f.repeated]  # each gets a list of its own


@cache
def _plan(cls: type[betterproto.Message]) -> _Plan | None:
    """cls's plan, or None if it uses something this module leaves to betterproto."""
    meta: Any = cls._betterproto  # type: ignore[arg-type]
    fields = []
    for name, fm in meta.meta_by_field_name.items():
        if fm.proto_type not in _KINDS or fm.optional or fm.wraps or fm.map_types:
            return None
        f = _Field(cls, name, fm)
        if f.kind == _MSG and not (
            isinstance(f.sub, type) and issubclass(f.sub, betterproto.Message)
        ):
            return None  # datetime, timedelta
        fields.append(f)
    return _Plan(fields)


# --- encoding -------------------------------------------------------------------------------


def _scalar(f: _Field, v: Any) -> bytes:
    """A non-repeated scalar field's value bytes (after its key)."""
    k = f.kind
    if k <= _INT64:
        return _varint(int(v))
    if k == _SINT:
        return _varint(v << 1 if v >= 0 else (v << 1) ^ ~0)
    return struct.pack(f.fmt, v)


def _emit(msg: betterproto.Message, out: list[bytes | memoryview], threshold: int) -> None:
    """Append msg's encoding to out, as pieces (large bytes values as themselves)."""
    plan = _plan(type(msg))
    if plan is None:
        out.append(bytes(msg))
        return
    d = msg.__dict__
    current = d.get("_group_current") or {}
    for f in plan.fields:
        v = d.get(f.name, _PLACEHOLDER)
        if f.group is not None:
            if current.get(f.group) != f.name:
                continue
            if v is _PLACEHOLDER:
                v = f.default()
            forced = True  # the selected member of a oneof goes out even when it is a default
        elif v is _PLACEHOLDER:
            continue
        else:
            forced = False
        if f.repeated:
            if v:
                _emit_repeated(f, v, out, threshold)
            continue
        k = f.kind
        if k == _MSG:
            _emit_message(f.key, v, out, forced, threshold)
        elif k == _STR:
            if v or forced:
                b = v.encode()
                out.append(f.key + _varint(len(b)) + b)
        elif k == _BYTES:
            if len(v) or forced:
                _emit_len(f.key, v, out, threshold)
        elif v or forced:
            out.append(f.key + _scalar(f, v))
    unknown = d.get("_unknown_fields")
    if unknown:
        out.append(unknown)


def _emit_repeated(f: _Field, v: list[Any], out: list[bytes | memoryview], threshold: int) -> None:
    k = f.kind
    if k < _STR:  # packed
        if k <= _SINT:
            payload = b"".join([_scalar(f, x) for x in v])
        else:
            payload = struct.pack(f"<{len(v)}{f.fmt[1]}", *v)
        out.append(f.key + _varint(len(payload)) + payload)
    elif k == _MSG:
        for x in v:
            _emit_message(f.key, x, out, True, threshold)
    else:
        for x in v:
            _emit_len(f.key, x.encode() if k == _STR else x, out, threshold)


def _emit_len(
    key: bytes, v: bytes | memoryview, out: list[bytes | memoryview], threshold: int
) -> None:
    n = len(v)
    if n >= threshold:
        out.append(key + _varint(n))
        out.append(v)
    else:
        out.append(key + _varint(n) + v)


def _emit_message(
    key: bytes, v: Any, out: list[bytes | memoryview], forced: bool, threshold: int
) -> None:
    if not isinstance(v, betterproto.Message):
        raise TypeError(f"expected a message, got {type(v).__name__}")
    sub: list[bytes | memoryview] = []
    _emit(v, sub, threshold)
    size = sum(map(len, sub))
    # betterproto's rule: a message equal to its default goes out only if it was set or
    # received; a message with any field that encodes is not equal to its default
    if size or forced or v.__dict__.get("_serialized_on_wire"):
        out.append(key + _varint(size))
        out += sub


def encode_parts(msg: betterproto.Message, threshold: int = THRESHOLD) -> list[bytes | memoryview]:
    """``bytes(msg)`` as a list of buffers whose concatenation it is: every bytes field of at
    least ``threshold`` bytes is one of them, uncopied (a sender that writes buffers one after
    another, the fleet's HTTP/2 send path in :mod:`zkedge.fleet.rpc`, never joins them); the
    pieces between are joined."""
    pieces: list[bytes | memoryview] = []
    _emit(msg, pieces, threshold)
    parts: list[bytes | memoryview] = []
    run: list[bytes | memoryview] = []
    for p in pieces:
        if len(p) >= threshold:
            if run:
                parts.append(b"".join(run))
                run = []
            parts.append(p)
        else:
            run.append(p)
    if run or not parts:
        parts.append(b"".join(run))
    return parts


def encode(msg: betterproto.Message) -> bytes:
    """``bytes(msg)``, each large field copied once."""
    pieces: list[bytes | memoryview] = []
    _emit(msg, pieces, THRESHOLD)
    return b"".join(pieces)


# --- decoding -------------------------------------------------------------------------------


def _header(buf: memoryview, i: int, end: int) -> tuple[int, int, int, int, int]:
    """(number, wire type, varint value, value start, end) of the field at buf[i]."""
    key = buf[i]
    if key < 0x80:
        i += 1
    else:
        key, i = _read_varint(buf, i, end)
    number, wire = key >> 3, key & 7
    if number == 0:
        raise ValueError("malformed protobuf: field number 0")
    v = 0
    if wire == _VARINT:
        if i < end and buf[i] < 0x80:
            v, i = buf[i], i + 1
        else:
            v, i = _read_varint(buf, i, end)
        vs = i
    elif wire == _LEN:
        size, vs = _read_varint(buf, i, end)
        i = vs + size
    elif wire == _FIXED64:
        vs, i = i, i + 8
    elif wire == _FIXED32:
        vs, i = i, i + 4
    else:
        raise ValueError(f"malformed protobuf: unsupported wire type {wire}")
    if i > end:
        raise ValueError("malformed protobuf: a field runs past the end of the message")
    return number, wire, v, vs, i


def _load(cls: type[M], buf: memoryview, i: int, end: int) -> M:
    """The message of type cls in buf[i:end]."""
    plan = _plan(cls)
    if plan is None:
        return _parse(cls, bytes(buf[i:end]))
    msg = cls.__new__(cls)
    d = msg.__dict__
    d.update(plan.blank)
    current = dict(plan.groups)
    d["_group_current"] = current
    unknown: list[bytes] = []
    by_number = plan.by_number
    while i < end:
        start = i
        number, wire, v, vs, i = _header(buf, i, end)
        f = by_number.get(number)
        if f is None:
            unknown.append(bytes(buf[start:i]))
            continue
        if f.repeated and wire == _LEN and f.kind < _STR:  # packed: betterproto replaces
            d[f.name] = _packed(f, buf, vs, i)
            continue
        v = _value(f, wire, v, buf, vs, i)
        if f.repeated:
            have = d[f.name]
            if have is _PLACEHOLDER:
                d[f.name] = [v]
            else:
                have.append(v)
            continue
        if f.group is not None:
            was = current[f.group]
            if was is not None and was != f.name:
                d[was] = _PLACEHOLDER
            current[f.group] = f.name
        d[f.name] = v
    for name in plan.lists:
        if d[name] is _PLACEHOLDER:
            d[name] = []
    if unknown:
        d["_unknown_fields"] = b"".join(unknown)
    return msg


def _value(f: _Field, wire: int, v: int, buf: memoryview, vs: int, ve: int) -> Any:
    """Field f's value from the wire: v if a varint, else buf[vs:ve]."""
    if wire != f.wire:
        raise ValueError(
            f"malformed protobuf: field {f.number} ({f.name}) has wire type {wire}, not {f.wire}"
        )
    k = f.kind
    if k == _STR:
        return str(buf[vs:ve], "utf-8")
    if k == _BYTES:
        return bytes(buf[vs:ve])
    if k == _MSG:
        assert f.sub is not None
        return _load(f.sub, buf, vs, ve)
    if k <= _SINT:
        return _from_varint(k, v)
    return struct.unpack_from(f.fmt, buf, vs)[0]


def _from_varint(k: int, v: int) -> Any:
    if k == _BOOL:
        return v > 0
    if k == _INT32:
        v &= 0xFFFFFFFF
        return (v ^ 0x80000000) - 0x80000000
    if k == _INT64:
        v &= 0xFFFFFFFFFFFFFFFF
        return (v ^ 0x8000000000000000) - 0x8000000000000000
    if k == _SINT:
        return (v >> 1) ^ -(v & 1)
    return v


def _packed(f: _Field, buf: memoryview, i: int, end: int) -> list[Any]:
    k = f.kind
    if k <= _SINT:
        out = []
        while i < end:
            v, i = _read_varint(buf, i, end)
            out.append(_from_varint(k, v))
        return out
    width = 4 if k == _F32 else 8
    if (end - i) % width:
        raise ValueError(f"malformed protobuf: packed field {f.name} is cut short")
    return list(struct.unpack_from(f"<{(end - i) // width}{f.fmt[1]}", buf, i))


# What betterproto's parser raises on malformed input (EOFError on a truncated varint, struct
# errors on a short fixed-width field, UnicodeDecodeError on a bad string, ...).
_PARSE_ERRORS = (EOFError, ValueError, TypeError, IndexError, KeyError, struct.error, OverflowError)


def _parse(cls: type[M], data: bytes) -> M:
    try:
        msg = cls().parse(data)
        check_types(msg)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"malformed {cls.__name__}: {exc}") from None
    return msg


def decode(data: bytes | memoryview, cls: type[M]) -> M:
    """``cls().parse(data)``, each bytes field copied once. Malformed input raises
    ``ValueError``, whatever part of it is malformed; the message's fields hold their declared
    types."""
    buf = memoryview(data).cast("B")
    try:
        return _load(cls, buf, 0, len(buf))
    except (IndexError, struct.error) as exc:  # defensive: reads are bounds-checked above
        raise ValueError(f"malformed {cls.__name__}: {exc}") from None


_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    betterproto.TYPE_STRING: str,
    betterproto.TYPE_BYTES: (bytes, bytearray, memoryview),
    betterproto.TYPE_BOOL: bool,
    betterproto.TYPE_DOUBLE: float,
    betterproto.TYPE_FLOAT: float,
    **{
        t: int
        for t in (
            betterproto.TYPE_INT32,
            betterproto.TYPE_INT64,
            betterproto.TYPE_UINT32,
            betterproto.TYPE_UINT64,
            betterproto.TYPE_SINT32,
            betterproto.TYPE_SINT64,
            betterproto.TYPE_FIXED32,
            betterproto.TYPE_FIXED64,
            betterproto.TYPE_SFIXED32,
            betterproto.TYPE_SFIXED64,
            betterproto.TYPE_ENUM,
        )
    },
}


def check_types(msg: betterproto.Message) -> None:
    """Raise ``TypeError`` unless every field of msg (and of its message fields) holds its
    declared Python type. betterproto decodes a field sent with another wire type into a value
    of the wrong type (a varint into a string field gives an int) instead of failing; what
    :func:`decode` builds itself always passes."""
    meta: Any = getattr(msg, "_betterproto")  # noqa: B009  (betterproto's private metadata)
    for name, fm in meta.meta_by_field_name.items():
        # read past betterproto's __getattribute__ (slow, and it fills in defaults): an unset
        # field holds betterproto's placeholder and has its default, of the right type
        value = object.__getattribute__(msg, name)
        if value is _PLACEHOLDER or (value is None and fm.optional):
            continue
        repeated = meta.default_gen[name] is list
        if isinstance(value, list) != repeated:
            raise TypeError(f"field {name}: {'repeated' if repeated else 'single'} field")
        for v in value if repeated else [value]:
            if fm.proto_type == betterproto.TYPE_MESSAGE:
                if not isinstance(v, betterproto.Message):
                    raise TypeError(f"field {name}: expected a message, got {type(v).__name__}")
                check_types(v)
            else:
                kind = _PY_TYPES.get(fm.proto_type)
                if kind is not None and not isinstance(v, kind):
                    raise TypeError(
                        f"field {name}: expected {fm.proto_type}, got {type(v).__name__}"
                    )


class Parts:
    """A message's bytes as the buffers they are made of (:func:`encode_parts`), not joined.

    grpclib puts the 5-byte gRPC prefix before an encoded message with ``prefix + message``:
    ``bytes.__add__`` does not take a ``Parts`` (it is no buffer), so Python asks
    ``Parts.__radd__``, which prepends the prefix as one more part instead of copying the
    message. The fleet's HTTP/2 send path (:func:`zkedge.fleet.rpc.install_bulk_send`) then
    writes the parts to the socket frame by frame; :meth:`join` is the plain bytes for any
    other consumer."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        self.parts = parts
        self.size = sum(len(p) for p in parts)

    def __len__(self) -> int:
        return self.size

    def __radd__(self, prefix: object) -> Parts:
        if not isinstance(prefix, bytes):
            return NotImplemented
        return Parts([prefix, *self.parts])

    def join(self) -> bytes:
        """The bytes, joined (one copy)."""
        return b"".join(self.parts)


class FastProtoCodec(ProtoCodec):
    """grpclib's protobuf codec using :func:`encode` / :func:`decode` for betterproto messages.
    A message with a large bytes field is encoded as :class:`Parts` when ``parts`` is set
    (the fleet's channels and servers, whose send path writes them)."""

    def __init__(self, *, parts: bool = False) -> None:
        self.parts = parts

    def encode(self, message: Any, message_type: Any) -> bytes:
        if not isinstance(message, message_type):
            raise TypeError(f"Message must be of type {message_type!r}, not {type(message)!r}")
        if isinstance(message, betterproto.Message):
            if self.parts:
                parts = encode_parts(message)
                if len(parts) > 1:
                    return Parts(parts)  # type: ignore[return-value]  # grpclib adds a prefix
                return bytes(parts[0])
            return encode(message)
        return super().encode(message, message_type)

    def decode(self, data: bytes, message_type: Any) -> Any:
        if isinstance(message_type, type) and issubclass(message_type, betterproto.Message):
            return decode(data, message_type)
        return super().decode(data, message_type)
