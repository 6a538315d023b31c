"""TLS contexts for coordinator and worker (token checks live in :mod:`zkedge._aio`).

The fleet carries witness-derived scalars, so outside a lab: TLS with a server certificate, and
either the shared token or client certificates (mutual TLS) to authenticate workers.
Plain text stays available for development on loopback.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsConfig", "client_context", "server_context"]


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
