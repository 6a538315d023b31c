"""A small HTTP/1.1 server on trio for ``/metrics``, ``/healthz`` and the status page.

Only what an operator's tools need: ``GET`` and ``HEAD`` of fixed paths, one request per
connection (``Connection: close``), a bounded request head read within a deadline, and every
handler failure answered with 500 and logged rather than ending the server. Routes map a path
to a function returning a :class:`Response`; the function runs in trio's thread, so it may read
the coordinator's or the worker's state directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import trio

__all__ = ["Response", "serve_http"]

log = logging.getLogger("zkedge.fleet.http")

MAX_HEAD = 16 << 10
"""Largest request head (request line and headers) read, bytes."""
READ_TIMEOUT = 10.0
"""Seconds a client has to send its request head."""

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Response:
    """What a route returns: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Route = Callable[[], Response]


async def _read_head(stream: trio.SocketStream) -> bytes | None:
    """The request head up to its blank line; None if the client sent too much or nothing."""
    buf = bytearray()
    with trio.move_on_after(READ_TIMEOUT):
        while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
            if len(buf) > MAX_HEAD:
                return None
            chunk = await stream.receive_some(4096)
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)
    return None


def _respond(routes: Mapping[str, Route], head: bytes | None) -> tuple[Response, bool]:
    """The response to a request head, and whether to send its body (not for HEAD)."""
    if head is None:
        return Response(400, b"bad request\n"), True
    line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return Response(400, b"bad request\n"), True
    method, target = parts[0], parts[1]
    path = target.split("?", 1)[0]
    route = routes.get(path)
    if route is None:
        return Response(404, b"not found\n"), True
    if method not in ("GET", "HEAD"):
        return Response(405, b"only GET and HEAD\n"), True
    try:
        return route(), method == "GET"
    except Exception:
        log.exception("HTTP %s %s failed", method, path)
        return Response(500, b"internal error\n"), True


async def _handle(routes: Mapping[str, Route], stream: trio.SocketStream) -> None:
    try:
        response, with_body = _respond(routes, await _read_head(stream))
        reason = _REASONS.get(response.status, "")
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        await stream.send_all(head + response.body if with_body else head)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away
    finally:
        await trio.aclose_forcefully(stream)


async def serve_http(
    routes: Mapping[str, Route],
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``routes`` on ``host:port`` until cancelled; ``task_status.started(port)`` with the
    bound port once listening (port 0 picks a free one). A failure to listen is an ``OSError``
    naming the address."""
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(exc.errno, f"cannot listen on {host}:{port} (HTTP): {why}") from None
    bound: int = listeners[0].socket.getsockname()[1]
    task_status.started(bound)

    async def handler(stream: trio.SocketStream) -> None:
        await _handle(routes, stream)

    await trio.serve_listeners(handler, listeners)
