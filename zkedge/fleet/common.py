"""What both ends of the fleet share: addresses, TLS, protocol constants and errors.

Coordinator, worker and clients import these from here, so none of them imports another's
internals. The fleet carries witness-derived scalars, so outside a lab: TLS with a server
certificate, and either the shared token or client certificates (mutual TLS) to authenticate
workers (token checks live in the gRPC layer). Plain text stays available for loopback.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BENCH_POINTS",
    "FleetError",
    "JobFailed",
    "ProofRejected",
    "TlsConfig",
    "client_context",
    "parse_hostport",
    "server_context",
]

BENCH_POINTS = 1 << 13
"""Points in a worker's startup MSM micro-benchmark (``NodeInfo.bench_points_per_sec``)."""


class FleetError(Exception):
    """Base of the errors a fleet client sees: an RPC's error status, a lost connection, a
    failed job."""


class JobFailed(FleetError):
    """A job could not complete (a task exceeded its retry limit, or it was cancelled)."""


class ProofRejected(RuntimeError):
    """The fleet's partial sums gave an invalid proof (after re-running the tasks, where the
    caller can)."""


def parse_hostport(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``, or ``":port"``) -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or default_host
    return host, int(port)


@dataclass(frozen=True)
class TlsConfig:
    """Certificate files. Server: cert+key (+ client_ca to require client certs).
    Client: ca (to verify the server) (+ cert+key for mutual TLS)."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    client_ca: Path | None = None
    server_name: str | None = None  # override the name checked in the server's certificate


def server_context(cfg: TlsConfig) -> ssl.SSLContext:
    """SSL context for the coordinator (HTTP/2 via ALPN, TLS >= 1.2)."""
    if cfg.cert is None or cfg.key is None:
        raise ValueError("TLS server needs both a certificate and a key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cfg.cert), str(cfg.key))
    if cfg.client_ca is not None:
        ctx.load_verify_locations(str(cfg.client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    return ctx


def client_context(cfg: TlsConfig) -> ssl.SSLContext:
    """SSL context for a worker or CLI client."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cfg.ca is not None:
        ctx.load_verify_locations(str(cfg.ca))
    if cfg.cert is not None and cfg.key is not None:
        ctx.load_cert_chain(str(cfg.cert), str(cfg.key))
    ctx.set_alpn_protocols(["h2"])
    return ctx
