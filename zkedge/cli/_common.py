"""Flags every client subcommand shares: the coordinator's address, token and TLS."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from zkedge.fleet.common import TlsConfig

__all__ = ["add_client_flags", "add_token", "client_tls"]


def add_token(p: argparse.ArgumentParser) -> None:
    """``--token`` (default $ZKEDGE_TOKEN: preferred, it does not show in ``ps``)."""
    p.add_argument(
        "--token",
        default=os.environ.get("ZKEDGE_TOKEN"),
        help="shared token sent/required on every RPC (default: $ZKEDGE_TOKEN)",
    )


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """``--token`` and the client's TLS flags."""
    add_token(p)
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--tls-ca", type=Path, help="CA bundle to verify the coordinator with")
    p.add_argument("--tls-cert", type=Path, help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", type=Path, help="client key (mutual TLS)")
    p.add_argument("--tls-server-name", help="name expected in the coordinator's certificate")


def client_tls(args: argparse.Namespace) -> TlsConfig | None:
    """The client TLS settings the flags of :func:`add_client_flags` ask for (None: plain)."""
    if not (args.tls or args.tls_ca or args.tls_cert):
        return None
    return TlsConfig(
        cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca, server_name=args.tls_server_name
    )
