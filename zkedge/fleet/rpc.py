"""The one place zkedge touches asyncio: grpclib server and channel plumbing over trio-asyncio.

grpclib is an asyncio library; everything else in zkedge is trio. This module runs grpclib in a
trio-asyncio loop and exposes trio-flavoured entry points:

* :func:`serve_grpc` serves a generated betterproto service, dispatching every RPC to a plain
  trio object (``impl.register_worker(request)`` etc.), checking the shared token first. A
  unary RPC whose handler never waits may instead be implemented as ``<name>_sync(request)``.
  Extra grpclib handlers (:func:`health_service`: the standard ``grpc.health.v1.Health``) run
  on the same port, without the token check.
* :class:`GrpcClient` (from :func:`open_client`) calls unary RPCs and consumes server streams
  from trio code.

Errors cross the boundary as :class:`RpcError` (a gRPC status name plus message) and
:class:`ConnectionLost`, so callers never import grpclib or asyncio.
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import hmac
import inspect
import logging
import math
import os
import re
import ssl as _ssl
import struct
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import betterproto
import grpclib
import grpclib.const
import grpclib.exceptions
import grpclib.protocol
import grpclib.server
import hyperframe.frame
import trio
import trio_asyncio
from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.protocol import H2Protocol
from grpclib.server import Server
from h2.connection import ConnectionInputs, H2Connection
from h2.settings import SettingCodes
from h2.stream import StreamInputs

from zkedge.fleet._codec import FastProtoCodec, Parts
from zkedge.fleet.common import FleetError

__all__ = [
    "ConnectionLost",
    "GrpcClient",
    "RpcError",
    "TrioStream",
    "health_service",
    "install_bulk_send",
    "install_frame_repr",
    "open_client",
    "open_clients",
    "serve_grpc",
]

M = TypeVar("M", bound=betterproto.Message)

log = logging.getLogger("zkedge.fleet.rpc")

DEFAULT_MAX_MESSAGE = 4 << 20
"""Largest request body a server accepts for an RPC without a limit of its own (bytes)."""

# Status names callers may use in RpcError (a subset of grpclib.const.Status).
STATUS_NAMES = frozenset(s.name for s in grpclib.const.Status)


class RpcError(FleetError):
    """A gRPC error status: raised by service implementations, seen by clients."""

    def __init__(self, status: str, message: str = "") -> None:
        if status not in STATUS_NAMES:
            raise ValueError(f"unknown gRPC status {status!r}")
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ConnectionLost(FleetError):
    """The channel to the server could not be opened or broke mid-call. ``tls`` is True when
    TLS failed (a handshake refused, a certificate not trusted, TLS spoken to a plain
    server)."""

    def __init__(self, message: str, *, tls: bool = False) -> None:
        super().__init__(message)
        self.tls = tls


class TrioStream(Protocol):
    """What a server-streaming handler returns: a trio source of messages plus a sync close."""

    async def receive(self) -> betterproto.Message | None:
        """Next message to send; ``None`` ends the stream."""

    def close(self) -> None:
        """Called exactly once when the stream ends for any reason (client gone, server stop)."""


def _unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one leaf exception of a (nested) single-exception group, else None."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        if len(exc.exceptions) != 1:
            return None
        exc = exc.exceptions[0]
    return exc


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _token_ok(metadata: Mapping[str, Any], token: str | None) -> bool:
    if token is None:
        return True
    got = metadata.get("authorization")
    if not isinstance(got, str):
        return False
    return hmac.compare_digest(got.encode(), f"Bearer {token}".encode())


_REFUSED_LOG_EVERY = 10.0  # seconds between two logged token refusals from one address


class _Adapter:
    """A grpclib handler object (``__mapping__``) dispatching to a trio implementation."""

    def __init__(
        self,
        base: type[Any],
        impl: object,
        token: str | None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self._impl = impl
        self._token = token
        self._limits = dict(limits or {})
        self._default_limit = self._limits.pop("*", DEFAULT_MAX_MESSAGE)
        self._refused_logged: dict[str, float] = {}  # address -> when its refusal was logged
        self._mapping: dict[str, grpclib.const.Handler] = {}
        for path, h in base().__mapping__().items():
            name = _snake(path.rsplit("/", 1)[1])
            sync = getattr(impl, f"{name}_sync", None)
            if h.cardinality is grpclib.const.Cardinality.STREAM_STREAM:
                # the one shape served: a reply to each request, from <name>_sync
                func = self._exchange(name, sync) if callable(sync) else _unimplemented(name)
                self._mapping[path] = grpclib.const.Handler(
                    func, h.cardinality, h.request_type, h.reply_type
                )
                continue
            method = getattr(impl, name)
            if h.cardinality is grpclib.const.Cardinality.UNARY_UNARY and callable(sync):
                func = self._unary_sync(name, sync)
            elif h.cardinality is grpclib.const.Cardinality.UNARY_UNARY:
                func = self._unary(name, method)
            elif h.cardinality is grpclib.const.Cardinality.UNARY_STREAM:
                func = self._server_stream(name, method)
            else:  # pragma: no cover - the contract has no such RPCs
                raise TypeError(f"{path}: unsupported cardinality {h.cardinality}")
            self._mapping[path] = grpclib.const.Handler(
                func, h.cardinality, h.request_type, h.reply_type
            )

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        return self._mapping

    async def _recv(
        self, stream: grpclib.server.Stream[Any, Any], name: str, *, more: bool = False
    ) -> Any:
        """The request message, read under its size limit: the 5-byte gRPC prefix first, so a
        declared length over the limit is refused before its body is read (RESOURCE_EXHAUSTED),
        and every malformed body or frame is INVALID_ARGUMENT, never UNKNOWN. ``more``: a later
        message of a stream, whose clean end gives None (the token was checked at its first)."""
        if not more and not _token_ok(stream.metadata or {}, self._token):
            self._log_refusal(stream, name)
            raise grpclib.GRPCError(grpclib.const.Status.UNAUTHENTICATED, "missing or bad token")
        raw = stream._stream  # grpclib's HTTP/2 stream (private: see the version bound)
        try:
            prefix = await raw.recv_data(5)
        except AssertionError:
            prefix = b"?"  # grpclib's short-read check
        if more and not prefix:
            return None
        if len(prefix) != 5:
            raise grpclib.GRPCError(grpclib.const.Status.INVALID_ARGUMENT, "empty request")
        if prefix[0] not in (0, 1):
            raise _bad(f"bad gRPC message flag {prefix[0]}")
        if prefix[0] == 1:
            raise _bad("compressed messages are not accepted (no grpc-encoding is negotiated)")
        length = int.from_bytes(prefix[1:], "big")
        limit = self._limits.get(name, self._default_limit)
        if length > limit:
            raise grpclib.GRPCError(
                grpclib.const.Status.RESOURCE_EXHAUSTED,
                f"request of {length} bytes is over this RPC's limit of {limit} bytes",
            )
        try:
            body = await raw.recv_data(length)
        except AssertionError:
            raise _bad("the stream ended inside a message") from None
        if len(body) != length:
            raise _bad("the stream ended inside a message")
        try:
            request = stream._codec.decode(body, stream._recv_type)  # declared types checked
        except Exception as exc:  # any decoding failure is the client's: never UNKNOWN
            raise _bad(f"undecodable request: {type(exc).__name__}: {exc}") from None
        return request

    def _log_refusal(self, stream: grpclib.server.Stream[Any, Any], name: str) -> None:
        """Log a refused token, at most once per address every few seconds (a worker with
        the wrong token retries with backoff; a flood must not flood the log)."""
        address = _peer_of(stream).address
        now = time.monotonic()
        if now - self._refused_logged.get(address, -math.inf) < _REFUSED_LOG_EVERY:
            return
        if len(self._refused_logged) > 1024:
            self._refused_logged.clear()
        self._refused_logged[address] = now
        log.warning("refused %s from %s: missing or wrong token", name, address or "?")

    @staticmethod
    def _call_args(method: Any) -> Callable[[grpclib.server.Stream[Any, Any]], tuple[Any, ...]]:
        """Extra arguments for a handler: a :class:`Peer` for one that takes ``peer``
        (decided once per handler, not per call)."""
        if "peer" in inspect.signature(method).parameters:
            return lambda stream: (_peer_of(stream),)
        return lambda stream: ()

    def _unary(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        args_of = self._call_args(method)

        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream, name)
            extra = args_of(stream)
            with _as_status(name):
                reply = await trio_asyncio.trio_as_aio(method)(request, *extra)
            await stream.send_message(reply)

        return handle

    def _unary_sync(self, name: str, method: Callable[[Any], Any]) -> Callable[..., Any]:
        """Fast path for handlers that never wait (heartbeats): called in place, without a
        round trip through a new trio task. It still runs on trio's thread inside the trio run,
        so trio's clock and non-blocking channel operations work in it."""

        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream, name)
            with _as_status(name):
                reply = method(request)
            await stream.send_message(reply)

        return handle

    def _exchange(self, name: str, method: Callable[[Any], Any]) -> Callable[..., Any]:
        """A bidirectional stream where each request gets one reply, in order, from a handler
        that never waits (called in place, as :meth:`_unary_sync`). A bad request ends the
        stream with its status."""

        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream, name)
            await stream.send_initial_metadata()
            while request is not None:
                with _as_status(name):
                    reply = method(request)
                await stream.send_message(reply)
                request = await self._recv(stream, name, more=True)

        return handle

    def _server_stream(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        args_of = self._call_args(method)

        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream, name)
            extra = args_of(stream)
            with _as_status(name):
                source: TrioStream = await trio_asyncio.trio_as_aio(method)(request, *extra)
            try:
                await stream.send_initial_metadata()
                while True:
                    with _as_status(name):
                        msg = await trio_asyncio.trio_as_aio(source.receive)()
                    if msg is None:
                        break
                    await stream.send_message(msg)
            finally:
                source.close()

        return handle


@dataclass(frozen=True)
class Peer:
    """Who is calling: the remote address and the names in its verified client certificate
    (empty without mutual TLS)."""

    address: str
    cert_names: frozenset[str]


def _peer_of(stream: grpclib.server.Stream[Any, Any]) -> Peer:
    addr = stream.peer.addr() if stream.peer is not None else None
    names: set[str] = set()
    cert = stream.peer.cert() if stream.peer is not None else None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                names.add(value)
    for kind, value in (cert or {}).get("subjectAltName", ()):
        if kind in ("DNS", "IP Address"):
            names.add(value)
    return Peer(str(addr[0]) if addr else "", frozenset(names))


def _unimplemented(name: str) -> Callable[..., Any]:
    async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
        raise grpclib.GRPCError(grpclib.const.Status.UNIMPLEMENTED, f"{name} is not served here")

    return handle


def _bad(message: str) -> grpclib.GRPCError:
    return grpclib.GRPCError(grpclib.const.Status.INVALID_ARGUMENT, message)


@contextmanager
def _as_status(name: str) -> Iterator[None]:
    """Turn what a handler raises into a gRPC status: :class:`RpcError` as itself, anything
    else as INTERNAL (logged with its traceback), never grpclib's UNKNOWN."""
    try:
        yield
    except RpcError as exc:
        raise grpclib.GRPCError(grpclib.const.Status[exc.status], exc.message) from None
    except grpclib.GRPCError:
        raise
    except Exception as exc:
        log.exception("%s failed", name)
        raise grpclib.GRPCError(
            grpclib.const.Status.INTERNAL, f"internal error in {name}: {type(exc).__name__}"
        ) from None


def _raw_data_repr(data: bytes | memoryview | None) -> str:
    """hyperframe's frame-payload repr, same text, but hexlifying only the 11 bytes it shows.

    h2 formats ``repr(frame)`` for its (no-op) trace log on every frame it receives, and
    hyperframe 6.1 hexlifies the whole payload before cutting it to 20 hex digits: 1.2 ms per
    1 MiB DATA frame here, about 5 ms of a worker's CPU per 4 MiB task."""
    if not data:
        return "None"
    r = binascii.hexlify(bytes(data[:11])).decode("ascii")
    if len(r) > 20:
        r = r[:20] + "..."
    return "<hex:" + r + ">"


STOCK_RAW_DATA_REPR: Callable[[Any], str] | None = getattr(hyperframe.frame, "_raw_data_repr", None)
"""hyperframe's own payload repr (bench/transfer.py's reference), None where it has none."""


def install_frame_repr() -> None:
    """Replace hyperframe's payload repr with ``_raw_data_repr`` (same text, 11 bytes
    hexlified instead of the whole frame). ``Coordinator.serve`` and ``Worker.run`` call it; it
    is idempotent. hyperframe's function is private, so its absence is a clear error here (and
    in the test suite), not a silent slowdown."""
    if STOCK_RAW_DATA_REPR is None:
        raise RuntimeError(
            "hyperframe.frame._raw_data_repr is gone: this hyperframe release is not one zkedge "
            "supports (see the version bounds in pyproject.toml)"
        )
    hyperframe.frame._raw_data_repr = _raw_data_repr


_STOCK_SEND_DATA = grpclib.protocol.Stream.send_data
_DATA_HEADER = struct.Struct(">HBBBL")  # an HTTP/2 frame header: 24-bit length, type, flags, id


async def _send_data(
    self: grpclib.protocol.Stream, data: bytes | Parts, end_stream: bool = False
) -> None:
    """grpclib's ``Stream.send_data``, writing a ``_codec.Parts`` message's buffers to the
    transport frame by frame (:func:`install_bulk_send`)."""
    if isinstance(data, Parts):
        if data.size and _BULK_SEND:
            await _send_parts(self, data.parts, data.size, end_stream)
            return
        data = data.join()
    await _STOCK_SEND_DATA(self, data, end_stream=end_stream)


async def _send_parts(
    stream: grpclib.protocol.Stream, parts: list[bytes | memoryview], size: int, end: bool
) -> None:
    """Send ``parts`` (``size`` bytes in all) as DATA frames of stream ``stream``, as grpclib's
    ``send_data`` does (waiting for the transport and the flow-control windows, frames of at
    most the peer's size), but without h2 building the frames: h2 copies a frame's payload
    four times (into a frame, its serialisation, its outbound buffer and the bytes it hands
    out), and grpclib once more before that. Here h2 only accounts for each frame (its stream
    and connection states and windows) and the payload goes from the message's own buffers to
    the transport, which copies only what the socket does not take at once."""
    sid = stream.id
    assert sid is not None  # (grpclib opens the stream before it sends data)
    h2c = stream._h2_connection
    conn = stream.connection
    views: list[memoryview] = [memoryview(p).cast("B") for p in parts if len(p)]
    i, left = 0, size
    while left:
        await conn.write_ready.wait()
        window = h2c.local_flow_control_window(sid)
        if not window > 0:
            stream.window_updated.clear()
            await stream.window_updated.wait()
            continue  # (other streams may have sent meanwhile: look again)
        n = min(window, h2c.max_outbound_frame_size, left)
        last = n == left
        h2c.state_machine.process_input(ConnectionInputs.SEND_DATA)
        st = h2c._get_stream_by_id(sid)
        st.state_machine.process_input(StreamInputs.SEND_DATA)
        if last and end:
            st.state_machine.process_input(StreamInputs.SEND_END_STREAM)
        st.outbound_flow_control_window -= n
        h2c.outbound_flow_control_window -= n
        header = _DATA_HEADER.pack(n >> 8, n & 0xFF, 0, 1 if last and end else 0, sid)
        transport = stream._transport
        transport.write(h2c.data_to_send() + header)  # what h2 queued goes first
        k = n
        while k:
            v = views[i]
            if len(v) <= k:
                transport.write(v)
                k -= len(v)
                i += 1
            else:
                transport.write(v[:k])
                views[i] = v[k:]
                k = 0
        left -= n
        stream.data_sent += n
        conn.data_sent += n
        conn.data_send_process()


_BULK_SEND = False


def install_bulk_send() -> None:
    """Let grpclib send ``_codec.Parts`` messages (what the fleet's codec gives for a message
    with a large bytes field) frame by frame from their own buffers (``_send_parts``): 4 MiB
    of a task's values cost the sender about half the CPU they did (``bench/transfer.py``).
    Idempotent; the fleet's servers and channels call it. The h2 internals it uses are checked
    here: where they are missing, such messages are joined and sent as grpclib sends any
    message."""
    global _BULK_SEND
    if grpclib.protocol.Stream.send_data is not _send_data:
        grpclib.protocol.Stream.send_data = _send_data  # type: ignore[method-assign]
    needed = (
        hasattr(H2Connection, "_get_stream_by_id")
        and hasattr(H2Connection, "local_flow_control_window")
        and hasattr(ConnectionInputs, "SEND_DATA")
        and hasattr(StreamInputs, "SEND_END_STREAM")
    )
    _BULK_SEND = needed


MAX_FRAME_SIZE = 1 << 20
"""Largest HTTP/2 DATA frame either end accepts, advertised on every connection. h2's default,
16 KiB, cuts a 4 MB task into 257 frames, each a round of pure-Python frame handling on both
ends (half the CPU a task's delivery costs); frames never exceed the 1 MiB flow-control
window, so what a peer can make either end buffer stays the same."""


def accept_large_frames(h2conn: Any) -> None:
    """Advertise :data:`MAX_FRAME_SIZE` on h2 connection ``h2conn`` and accept such frames at
    once (the caller flushes the SETTINGS frame this queues).

    h2 raises its inbound limit only when it processes the peer's SETTINGS ACK, and parses a
    whole read under the limit in force when the read began: a read holding the ACK and the
    peer's first large frame would fail with FrameTooLargeError and lose the connection.
    Accepting large frames before the ACK is safe: the peer sends them only after it has the
    SETTINGS."""
    h2conn.update_settings({SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE})
    h2conn.max_inbound_frame_size = MAX_FRAME_SIZE


READ_BYTES = MAX_FRAME_SIZE
"""Bytes one socket read may take on a fleet connection. asyncio reads at most 256 KiB at a
time, so a 1 MiB frame took four or five rounds through the event loop, grpclib and h2;
reading a frame's worth at once takes a fifth of the CPU off a 4 MiB task's delivery
(``bench/transfer.py``). It bounds a read, not what a peer can make this end buffer."""


def _advertise_large_frames(protocol: H2Protocol, transport: Any) -> None:
    accept_large_frames(protocol.connection._connection)
    protocol.connection.flush()
    if isinstance(getattr(transport, "max_size", None), int):  # asyncio's plain socket transport
        transport.max_size = READ_BYTES


class _ClientProtocol(H2Protocol):
    """grpclib's client-side HTTP/2 protocol with :data:`MAX_FRAME_SIZE` frames."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        _advertise_large_frames(self, transport)


class _Channel(Channel):
    """grpclib's client channel over :class:`_ClientProtocol`."""

    def _protocol_factory(self) -> H2Protocol:
        return _ClientProtocol(Handler(), self._config, self._h2_config)


class _Protocol(H2Protocol):
    """grpclib's HTTP/2 protocol with :data:`MAX_FRAME_SIZE` frames, counting open connections
    per peer address for :class:`_Server` (which closes a connection over its peer's limit at
    once)."""

    def __init__(self, server: _Server, *args: Any) -> None:
        super().__init__(*args)
        self._server = server
        self._peer = ""

    def connection_made(self, transport: Any) -> None:
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""
        count = self._server.per_peer.get(self._peer, 0) + 1
        self._server.per_peer[self._peer] = count
        super().connection_made(transport)
        if count > self._server.max_connections_per_peer:
            log.warning("closing a connection from %s: over %d connections from that address",
                        self._peer, self._server.max_connections_per_peer)  # fmt: skip
            transport.close()
            return
        _advertise_large_frames(self, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        left = self._server.per_peer.get(self._peer, 1) - 1
        if left > 0:
            self._server.per_peer[self._peer] = left
        else:
            self._server.per_peer.pop(self._peer, None)
        super().connection_lost(exc)


class _Server(Server):
    """grpclib's Server, also closing accepted connections on shutdown (asyncio's
    ``Server.close`` leaves them open before Python 3.13, leaking sockets), with a bound on the
    connections one address may hold open."""

    def __init__(self, handlers: list[Any], *, max_connections_per_peer: int) -> None:
        # Small inbound windows bound what one stream and one connection can make the server
        # buffer before a handler reads it (a message over its limit is refused on its prefix).
        config = Configuration(
            http2_connection_window_size=_WINDOW, http2_stream_window_size=_WINDOW
        )
        install_bulk_send()
        super().__init__(handlers, codec=FastProtoCodec(parts=True), config=config)
        self._protocols: weakref.WeakSet[Any] = weakref.WeakSet()
        self.per_peer: dict[str, int] = {}
        self.max_connections_per_peer = max_connections_per_peer

    def _protocol_factory(self) -> Any:
        plain = super()._protocol_factory()
        proto = _Protocol(self, plain.handler, plain.config, plain.h2_config)
        self._protocols.add(proto)
        return proto

    def close_connections(self) -> None:
        for proto in list(self._protocols):
            transport = getattr(getattr(proto, "connection", None), "_transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()


_WINDOW = 1 << 20  # HTTP/2 inbound flow-control window per stream and per connection (bytes)


def health_service() -> object:
    """grpclib's standard health-checking service (``grpc.health.v1.Health``: ``Check`` and
    ``Watch``), answering SERVING for the server as a whole (service ``""``) while it runs.
    Pass it to :func:`serve_grpc` in ``extra_handlers``."""
    from grpclib.health.service import Health

    return Health()


async def serve_grpc(
    base: type[Any],
    impl: object,
    host: str,
    port: int,
    *,
    token: str | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    limits: Mapping[str, int] | None = None,
    max_connections_per_peer: int = 64,
    extra_handlers: Sequence[object] = (),
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``base`` (a generated ``*ServiceBase``) with trio object ``impl`` until cancelled.

    ``limits`` maps RPC names (snake_case) to their largest accepted request in bytes (``"*"``:
    every other RPC; default ``DEFAULT_MAX_MESSAGE``). An address holding more than
    ``max_connections_per_peer`` connections has the newest closed at once.
    ``extra_handlers`` are grpclib handler objects (asyncio code, e.g. :func:`health_service`)
    served on the same port as they are: no token check, grpclib's own message handling.
    ``task_status.started(port)`` reports the bound port once the socket listens (port 0 picks
    a free one); a failure to listen is an ``OSError`` naming the address. Cancellation stops
    accepting, cancels running handlers and waits for them.
    """
    if max_connections_per_peer < 1:
        raise ValueError("max_connections_per_peer must be >= 1")
    adapter = _Adapter(base, impl, token, limits)

    def make() -> _Server:  # inside the asyncio loop: grpclib's Server takes the running loop
        return _Server(
            [adapter, *extra_handlers], max_connections_per_peer=max_connections_per_peer
        )

    try:
        await _serve(make, host, port, ssl_context, task_status)
    except BaseExceptionGroup as group:  # trio-asyncio's internal nurseries wrap everything
        leaf = _unwrap(group)
        if leaf is None:
            raise
        raise leaf from None


async def _serve(
    make: Callable[[], _Server],
    host: str,
    port: int,
    ssl_context: _ssl.SSLContext | None,
    task_status: trio.TaskStatus[int],
) -> None:
    async with trio_asyncio.open_loop():

        async def _start() -> _Server:
            server = make()
            await server.start(host, port, ssl=ssl_context)
            return server

        try:
            server = await trio_asyncio.aio_as_trio(_start)()
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {why}") from None
        try:
            listener: Any = server._server
            sockets = listener.sockets if listener is not None else ()
            bound = sockets[0].getsockname()[1] if sockets else port
            task_status.started(bound)
            await trio.sleep_forever()
        finally:

            async def _stop() -> None:
                server.close()
                server.close_connections()
                await server.wait_closed()
                for _ in range(3):  # let the transports' close callbacks run
                    await asyncio.sleep(0)

            with trio.CancelScope(shield=True):
                await trio_asyncio.aio_as_trio(_stop)()


class GrpcClient:
    """Trio-facing calls over one grpclib channel (use :func:`open_client`)."""

    def __init__(self, channel: Channel, base: type[Any], token: str | None) -> None:
        self._channel = channel
        self._metadata = {"authorization": f"Bearer {token}"} if token is not None else None
        self._methods: dict[str, grpclib.const.Handler] = {
            _snake(path.rsplit("/", 1)[1]): grpclib.const.Handler(
                path, h.cardinality, h.request_type, h.reply_type
            )
            for path, h in base().__mapping__().items()
        }

    def _method(self, name: str) -> grpclib.const.Handler:
        try:
            return self._methods[name]
        except KeyError:
            raise ValueError(f"unknown RPC {name!r}") from None

    async def call(self, name: str, request: betterproto.Message) -> Any:
        """Unary RPC ``name`` (snake_case, e.g. ``"register_worker"``)."""
        path, _, req_t, reply_t = self._method(name)

        async def _call() -> Any:
            async with self._channel.request(
                path, grpclib.const.Cardinality.UNARY_UNARY, req_t, reply_t, metadata=self._metadata
            ) as stream:
                await stream.send_message(request, end=True)
                reply = await stream.recv_message()
                await stream.recv_trailing_metadata()
                return reply

        return await self._run(_call)

    async def stream(
        self,
        name: str,
        request: betterproto.Message,
        on_message: Callable[[Any], None],
    ) -> None:
        """Server-streaming RPC: call ``on_message(msg)`` (sync, in trio) for every message.

        Returns when the server ends the stream; cancelling the caller resets the stream.
        """
        path, _, req_t, reply_t = self._method(name)

        async def _consume() -> None:
            async with self._channel.request(
                path,
                grpclib.const.Cardinality.UNARY_STREAM,
                req_t,
                reply_t,
                metadata=self._metadata,
            ) as stream:
                await stream.send_message(request, end=True)
                while (msg := await stream.recv_message()) is not None:
                    on_message(msg)

        await self._run(_consume)

    @asynccontextmanager
    async def exchange(
        self, name: str
    ) -> AsyncIterator[Callable[[betterproto.Message], Awaitable[Any]]]:
        """Bidirectional-streaming RPC ``name`` where each request gets one reply: yields
        ``ask(request) -> reply``. The stream ends (cleanly) when the block does; an error, a
        status from the server included, comes out of ``ask`` as from :meth:`call`."""
        path, _, req_t, reply_t = self._method(name)
        cm = self._channel.request(
            path,
            grpclib.const.Cardinality.STREAM_STREAM,
            req_t,
            reply_t,
            metadata=self._metadata,
        )
        stream = await self._run(lambda: cm.__aenter__())

        async def _ask(request: betterproto.Message) -> Any:
            try:
                await stream.send_message(request)
                reply = await stream.recv_message()
            except grpclib.exceptions.StreamTerminatedError:
                # a server refusing a message sends its status and resets the stream (the
                # client's side of it is still open); grpclib's own exit turns that into the
                # status's error the same way (private: see the version bound)
                stream._maybe_raise()
                raise
            if reply is None:  # the server ended the stream: its status says why
                await stream.recv_trailing_metadata()
                raise grpclib.exceptions.StreamTerminatedError("the stream ended")
            return reply

        async def ask(request: betterproto.Message) -> Any:
            return await self._run(functools.partial(_ask, request))

        try:
            yield ask
        except BaseException as exc:
            with trio.CancelScope(shield=True):
                await self._close_quietly(cm, exc)
            raise
        else:

            async def _end() -> None:
                await stream.end()
                await stream.recv_trailing_metadata()

            try:
                await self._run(_end)
            finally:
                with trio.CancelScope(shield=True):
                    await self._close_quietly(cm, None)

    async def _close_quietly(self, cm: Any, exc: BaseException | None) -> None:
        """Leave a grpclib request context (resetting its stream if still open)."""

        async def _exit() -> None:
            await cm.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

        try:
            await trio_asyncio.aio_as_trio(_exit)()
        except Exception:  # the stream is going away; its error was reported
            pass

    async def collect(self, name: str, request: betterproto.Message) -> list[Any]:
        """Server-streaming RPC, all messages gathered into a list."""
        out: list[Any] = []
        await self.stream(name, request, out.append)
        return out

    async def _run(self, fn: Callable[[], Any]) -> Any:
        try:
            return await trio_asyncio.aio_as_trio(fn)()
        except grpclib.GRPCError as exc:
            raise RpcError(exc.status.name, exc.message or "") from None
        except _ssl.SSLError as exc:
            raise ConnectionLost(f"TLS failed: {exc.reason or exc}", tls=True) from None
        except (
            TimeoutError,
            OSError,
            grpclib.exceptions.StreamTerminatedError,
            grpclib.exceptions.ProtocolError,
        ) as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from None
        except AttributeError as exc:
            # grpclib deletes a lost connection's transport; a call made on it afterwards (a
            # cancel after the watch broke) fails on that attribute
            if "_transport" in str(exc):
                raise ConnectionLost("the connection to the coordinator is closed") from None
            raise


@asynccontextmanager
async def open_client(
    base: type[Any],
    host: str,
    port: int,
    *,
    token: str | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> AsyncIterator[GrpcClient]:
    """A :class:`GrpcClient` for service ``base`` at ``host:port``; the channel closes on exit.
    ``server_name`` overrides the name checked in the server's TLS certificate.

    Exceptions from the body come out as themselves, not wrapped in the exception groups of
    trio-asyncio's internal nurseries."""
    async with open_clients(
        base, host, port, 1, token=token, ssl_context=ssl_context, server_name=server_name
    ) as (client,):
        yield client


@asynccontextmanager
async def open_clients(
    base: type[Any],
    host: str,
    port: int,
    count: int,
    *,
    token: str | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> AsyncIterator[tuple[GrpcClient, ...]]:
    """``count`` clients, each over its own connection (one asyncio loop for all of them: one
    trio task cannot nest two). A worker keeps control traffic apart from bulk data this way."""
    try:
        async with trio_asyncio.open_loop():

            async def _make() -> Channel:
                config = Configuration(ssl_target_name_override=server_name)
                return _Channel(
                    host, port, ssl=ssl_context, config=config, codec=FastProtoCodec(parts=True)
                )

            install_bulk_send()
            channels = [await trio_asyncio.aio_as_trio(_make)() for _ in range(count)]
            try:
                yield tuple(GrpcClient(ch, base, token) for ch in channels)
            finally:
                for ch in channels:
                    ch.close()
    except BaseExceptionGroup as group:
        leaf = _unwrap(group)
        if leaf is None:
            raise
        raise leaf from None
