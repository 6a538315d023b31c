"""The one place zkedge touches asyncio: grpclib server and channel plumbing over trio-asyncio.

grpclib is an asyncio library; everything else in zkedge is trio. This module runs grpclib in a
trio-asyncio loop and exposes trio-flavoured entry points:

* :func:`serve_grpc` serves a generated betterproto service, dispatching every RPC to a plain
  trio object (``impl.register_worker(request)`` etc.), checking the shared token first. A
  unary RPC whose handler never waits may instead be implemented as ``<name>_sync(request)``.
* :class:`GrpcClient` (from :func:`open_client`) calls unary RPCs and consumes server streams
  from trio code.

Errors cross the boundary as :class:`RpcError` (a gRPC status name plus message) and
:class:`ConnectionLost`, so callers never import grpclib or asyncio.
"""

from __future__ import annotations

import asyncio
import binascii
import hmac
import re
import ssl as _ssl
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import betterproto
import grpclib
import grpclib.const
import grpclib.exceptions
import grpclib.server
import hyperframe.frame
import trio
import trio_asyncio
from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.protocol import H2Protocol
from grpclib.server import Server
from h2.settings import SettingCodes

from zkedge._codec import FastProtoCodec

__all__ = [
    "ConnectionLost",
    "GrpcClient",
    "RpcError",
    "TrioStream",
    "open_client",
    "serve_grpc",
]

M = TypeVar("M", bound=betterproto.Message)

# Status names callers may use in RpcError (a subset of grpclib.const.Status).
STATUS_NAMES = frozenset(s.name for s in grpclib.const.Status)


class RpcError(Exception):
    """A gRPC error status: raised by service implementations, seen by clients."""

    def __init__(self, status: str, message: str = "") -> None:
        if status not in STATUS_NAMES:
            raise ValueError(f"unknown gRPC status {status!r}")
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ConnectionLost(Exception):
    """The channel to the server could not be opened or broke mid-call."""


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


class _Adapter:
    """A grpclib handler object (``__mapping__``) dispatching to a trio implementation."""

    def __init__(self, base: type[Any], impl: object, token: str | None) -> None:
        self._impl = impl
        self._token = token
        self._mapping: dict[str, grpclib.const.Handler] = {}
        for path, h in base().__mapping__().items():
            name = _snake(path.rsplit("/", 1)[1])
            method = getattr(impl, name)
            sync = getattr(impl, f"{name}_sync", None)
            if h.cardinality is grpclib.const.Cardinality.UNARY_UNARY and callable(sync):
                func = self._unary_sync(sync)
            elif h.cardinality is grpclib.const.Cardinality.UNARY_UNARY:
                func = self._unary(method)
            elif h.cardinality is grpclib.const.Cardinality.UNARY_STREAM:
                func = self._server_stream(method)
            else:  # pragma: no cover - the contract has no such RPCs
                raise TypeError(f"{path}: unsupported cardinality {h.cardinality}")
            self._mapping[path] = grpclib.const.Handler(
                func, h.cardinality, h.request_type, h.reply_type
            )

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        return self._mapping

    async def _recv(self, stream: grpclib.server.Stream[Any, Any]) -> Any:
        if not _token_ok(stream.metadata or {}, self._token):
            raise grpclib.GRPCError(grpclib.const.Status.UNAUTHENTICATED, "missing or bad token")
        try:
            request = await stream.recv_message()
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise grpclib.GRPCError(
                grpclib.const.Status.INVALID_ARGUMENT, f"undecodable request: {exc}"
            ) from None
        if request is None:
            raise grpclib.GRPCError(grpclib.const.Status.INVALID_ARGUMENT, "empty request")
        return request

    def _unary(self, method: Callable[..., Any]) -> Callable[..., Any]:
        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream)
            try:
                reply = await trio_asyncio.trio_as_aio(method)(request)
            except RpcError as exc:
                raise grpclib.GRPCError(grpclib.const.Status[exc.status], exc.message) from None
            await stream.send_message(reply)

        return handle

    def _unary_sync(self, method: Callable[[Any], Any]) -> Callable[..., Any]:
        """Fast path for handlers that never wait (heartbeats): called in place, without a
        round trip through a new trio task. It still runs on trio's thread inside the trio run,
        so trio's clock and non-blocking channel operations work in it."""

        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream)
            try:
                reply = method(request)
            except RpcError as exc:
                raise grpclib.GRPCError(grpclib.const.Status[exc.status], exc.message) from None
            await stream.send_message(reply)

        return handle

    def _server_stream(self, method: Callable[..., Any]) -> Callable[..., Any]:
        async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
            request = await self._recv(stream)
            try:
                source: TrioStream = await trio_asyncio.trio_as_aio(method)(request)
            except RpcError as exc:
                raise grpclib.GRPCError(grpclib.const.Status[exc.status], exc.message) from None
            try:
                await stream.send_initial_metadata()
                while True:
                    msg = await trio_asyncio.trio_as_aio(source.receive)()
                    if msg is None:
                        break
                    await stream.send_message(msg)
            except RpcError as exc:
                raise grpclib.GRPCError(grpclib.const.Status[exc.status], exc.message) from None
            finally:
                source.close()

        return handle


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


_STOCK_RAW_DATA_REPR = hyperframe.frame._raw_data_repr  # kept for bench/transfer.py's reference
hyperframe.frame._raw_data_repr = _raw_data_repr

# Largest HTTP/2 DATA frame we accept (the peer may send up to this). h2's default, 16 KiB,
# cuts a 2 MB task (its scalars) into 128 frames, each a round of pure-Python frame handling on
# both ends; 1 MiB frames make that 2.
MAX_FRAME_SIZE = 1 << 20


def _accept_large_frames(h2conn: Any) -> None:
    """Advertise :data:`MAX_FRAME_SIZE` to the peer, and accept such frames at once: h2 raises
    its own limit only once it has processed the peer's ACK, and parses a whole read with the
    limit in force when the read began, so a read holding the ACK and the peer's first large
    frame would fail (FrameTooLargeError: the connection is lost)."""
    h2conn.update_settings({SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE})
    h2conn.max_inbound_frame_size = MAX_FRAME_SIZE


class _Protocol(H2Protocol):
    """grpclib's HTTP/2 protocol, advertising :data:`MAX_FRAME_SIZE` to the peer."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        _accept_large_frames(self.connection._connection)
        self.connection.flush()


class _Channel(Channel):
    """grpclib's client channel with :class:`_Protocol`."""

    def _protocol_factory(self) -> H2Protocol:
        return _Protocol(Handler(), self._config, self._h2_config)


class _Server(Server):
    """grpclib's Server, also closing accepted connections on shutdown (asyncio's
    ``Server.close`` leaves them open before Python 3.13, leaking sockets)."""

    def __init__(self, handlers: list[Any]) -> None:
        super().__init__(handlers, codec=FastProtoCodec())
        self._protocols: weakref.WeakSet[Any] = weakref.WeakSet()

    def _protocol_factory(self) -> Any:
        plain = super()._protocol_factory()
        proto = _Protocol(plain.handler, plain.config, plain.h2_config)
        self._protocols.add(proto)
        return proto

    def close_connections(self) -> None:
        for proto in list(self._protocols):
            transport = getattr(getattr(proto, "connection", None), "_transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()


async def serve_grpc(
    base: type[Any],
    impl: object,
    host: str,
    port: int,
    *,
    token: str | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``base`` (a generated ``*ServiceBase``) with trio object ``impl`` until cancelled.

    ``task_status.started(port)`` reports the bound port once the socket listens (port 0 picks
    a free one). Cancellation stops accepting, cancels running handlers and waits for them.
    """
    try:
        await _serve(base, impl, host, port, token, ssl_context, task_status)
    except BaseExceptionGroup as group:  # trio-asyncio's internal nurseries wrap everything
        leaf = _unwrap(group)
        if leaf is None:
            raise
        raise leaf from None


async def _serve(
    base: type[Any],
    impl: object,
    host: str,
    port: int,
    token: str | None,
    ssl_context: _ssl.SSLContext | None,
    task_status: trio.TaskStatus[int],
) -> None:
    async with trio_asyncio.open_loop():

        async def _start() -> _Server:
            server = _Server([_Adapter(base, impl, token)])
            await server.start(host, port, ssl=ssl_context)
            return server

        server = await trio_asyncio.aio_as_trio(_start)()
        try:
            sockets = server._server.sockets if server._server is not None else ()
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
        except (
            TimeoutError,
            OSError,
            grpclib.exceptions.StreamTerminatedError,
            grpclib.exceptions.ProtocolError,
        ) as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from None


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
    try:
        async with trio_asyncio.open_loop():

            async def _make() -> Channel:
                config = Configuration(ssl_target_name_override=server_name)
                return _Channel(host, port, ssl=ssl_context, config=config, codec=FastProtoCodec())

            channel = await trio_asyncio.aio_as_trio(_make)()
            try:
                yield GrpcClient(channel, base, token)
            finally:
                channel.close()
    except BaseExceptionGroup as group:
        leaf = _unwrap(group)
        if leaf is None:
            raise
        raise leaf from None
