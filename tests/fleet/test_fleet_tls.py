"""TLS (server certificate, and mutual TLS) on top of the token, with certificates made by the
``openssl`` command line tool (skipped where it is missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import trio
from support.fleet import TOKEN, port_of, start_coordinator

from zkedge.fleet import rpc
from zkedge.fleet.common import client_context
from zkedge.fleet.coordinator import TlsConfig
from zkedge.fleet.proto.coordinator.v1 import (
    CoordinatorServiceBase,
    NodeInfo,
    RegisterWorkerRequest,
)

NODE = NodeInfo(hostname="h", cores=1, bench_points_per_sec=1.0)


def make_pki(d: Path) -> dict[str, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
            "-out",
            f"{name}.pem",
        )
    return {k: d / k for k in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


async def register(port: int, tls: TlsConfig | None, worker_id: str = "w") -> str:
    ctx = client_context(tls) if tls is not None else None
    name = tls.server_name if tls is not None else None
    async with rpc.open_client(
        CoordinatorServiceBase, "127.0.0.1", port, token=TOKEN, ssl_context=ctx, server_name=name
    ) as c:
        reply = await c.call(
            "register_worker", RegisterWorkerRequest(worker_id=worker_id, node=NODE)
        )
        return str(reply.session_id)


async def test_tls_and_mutual_tls(nursery: trio.Nursery, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with trio.fail_after(30):
        server = TlsConfig(cert=pki["server.pem"], key=pki["server.key"])
        coord = await start_coordinator(nursery, None, tls=server)
        assert await register(port_of(coord), TlsConfig(ca=pki["ca.pem"]))
        with pytest.raises(rpc.ConnectionLost):  # plaintext client against a TLS server
            await register(port_of(coord), None)
        with pytest.raises(rpc.ConnectionLost):  # server cert not trusted
            await register(port_of(coord), TlsConfig())
        assert await register(port_of(coord), TlsConfig(ca=pki["ca.pem"], server_name="localhost"))
        with pytest.raises(rpc.ConnectionLost):  # name not in the certificate
            await register(port_of(coord), TlsConfig(ca=pki["ca.pem"], server_name="evil.example"))

        mutual = TlsConfig(cert=pki["server.pem"], key=pki["server.key"], client_ca=pki["ca.pem"])
        coord2 = await start_coordinator(nursery, None, tls=mutual)
        ok = TlsConfig(ca=pki["ca.pem"], cert=pki["client.pem"], key=pki["client.key"])
        assert await register(port_of(coord2), ok, worker_id="client")  # the certificate's CN
        with pytest.raises(rpc.RpcError) as info:  # a name the certificate does not carry
            await register(port_of(coord2), ok, worker_id="w")
        assert info.value.status == "PERMISSION_DENIED"
        with pytest.raises(rpc.ConnectionLost):  # no client certificate
            await register(port_of(coord2), TlsConfig(ca=pki["ca.pem"]))
