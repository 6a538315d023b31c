"""``zkedge prove`` and ``zkedge verify`` (snarkjs's argument order).

``zkedge.cli`` calls :func:`register` on its subparsers; each subcommand sets ``func`` (taking
the parsed namespace, returning an exit code).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable

from zkedge.cli._common import (
    CliError,
    add_client_flags,
    client_tls,
    hostport_arg,
    path_arg,
    setup_logs,
    standalone,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, TypeVar

    from zkedge.msm import MsmStop  # loads the native core: imported where it runs

    T = TypeVar("T")

__all__ = ["cmd_prove", "cmd_verify", "register"]


def register(subparsers: Any) -> None:
    """Add ``prove`` and ``verify`` to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "prove",
        help="Groth16 proof from a snarkjs .zkey and a circom .wtns",
        description="Like `snarkjs groth16 prove`: writes proof.json and public.json.",
    )
    p.add_argument("zkey", help="circuit.zkey (snarkjs Groth16 proving key)")
    p.add_argument("witness", help="witness.wtns")
    p.add_argument("proof", help="output proof.json")
    p.add_argument("public", help="output public.json")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="spread the MSMs over a zkedge fleet")
    add_client_flags(p)
    p.add_argument("--threads", type=int, help="threads for local work (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or timings")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the proof (pairing check: native, about 4 ms; py_ecc, about 1 s, without "
        "the native core) before writing it; always done with --coordinator and --windows",
    )
    add_windows_flag(p)
    p.set_defaults(func=cmd_prove, logs=False)  # a local proof logs nothing; see below

    p = subparsers.add_parser(
        "verify",
        help="check a Groth16 proof (snarkjs JSON)",
        description="Like `snarkjs groth16 verify`: exit 0 if the proof is valid, 1 if it is "
        "not, 2 if a file cannot be read or parsed.",
    )
    p.add_argument("vkey", help="verification_key.json")
    p.add_argument("public", help="public.json")
    p.add_argument("proof", help="proof.json")
    p.set_defaults(func=cmd_verify, logs=False)


def add_windows_flag(p: argparse.ArgumentParser) -> None:
    """``--windows FILE`` (a local proof's fixed-base window tables)."""
    p.add_argument(
        "--windows",
        type=path_arg,
        metavar="FILE",
        help="window tables for this zkey (`zkedge zkey windows`): MSMs about a fifth faster; "
        "the proof is checked before it is written",
    )


def _interruptible(fn: Callable[[MsmStop], T]) -> T:
    """``fn(stop)`` in a thread, so that Ctrl-C is seen at once rather than when a native call
    returns (a large MSM on a board runs for many seconds): it sets ``stop``, which ends the
    native MSM within about 256 points, waits for the thread, then raises KeyboardInterrupt."""
    from zkedge.msm import MsmStop

    stop = MsmStop()
    out: list[T] = []
    err: list[BaseException] = []
    done = threading.Event()  # not Thread.join: an interrupted join can leave it returning early

    def run() -> None:
        try:
            out.append(fn(stop))
        except BaseException as exc:  # handed to the calling thread
            err.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="zkedge-prove", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        stop.set()
        done.wait()
        raise
    if err:
        raise err[0]
    return out[0]


def check_output(path: str | os.PathLike[str]) -> None:
    """Fail before any work when ``path`` cannot be written: its directory is missing or not
    writable, or it is a directory (a proof takes long; losing it at the end is worse)."""
    name = os.fspath(path)
    parent = os.path.dirname(os.path.normpath(name)) or "."
    if os.path.isdir(name):
        raise CliError(f"{name}: is a directory", 2)
    if not os.path.isdir(parent):
        raise CliError(f"{name}: directory {parent} does not exist", 2)
    writable = os.access(parent, os.W_OK | os.X_OK)
    if not writable or (os.path.exists(name) and not os.access(name, os.W_OK)):
        raise CliError(f"{name}: not writable", 2)


def cmd_prove(args: argparse.Namespace) -> int:
    """``zkedge prove``."""
    from zkedge.groth16 import FormatError, dump_json
    from zkedge.groth16.prover import load_inputs

    check_output(args.proof)
    check_output(args.public)
    windows = getattr(args, "windows", None)
    if args.coordinator:
        if windows is not None:
            raise CliError("--windows is for a local proof; the fleet keeps plain bases", 2)
        hostport_arg("--coordinator", args.coordinator)
        if not getattr(args, "logs", True):  # the fleet client logs
            setup_logs(args)
        return _prove_on_coordinator(args)
    t0 = time.monotonic()
    try:
        zk, wit = load_inputs(args.zkey, args.witness)
    except FormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t_read = time.monotonic() - t0
    try:
        from zkedge.groth16.prover import prove_points

        wf = None
        if windows is not None:
            from zkedge.groth16.windows import WindowFile

            wf = WindowFile(windows, zk)
        res = _interruptible(
            lambda stop: prove_points(
                zk, wit, threads=args.threads, progress=not args.quiet, stop=stop, windows=wf
            )
        )
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except FormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        if windows is None:
            raise
        # the zkey's points are checked as they load; the window blocks' are not
        print(
            f"error: {windows}: damaged window tables ({e}); make them again with "
            "`zkedge zkey windows`",
            file=sys.stderr,
        )
        return 2
    proof, public = res.to_json()
    if args.verify or windows is not None:
        from zkedge.groth16.verifier import explain_verify
        from zkedge.groth16.vkey import vkey_from_zkey

        why = explain_verify(vkey_from_zkey(zk), res.public, (res.a, res.b, res.c))
        if why is not None:
            hint = (
                "wrong witness, or damaged window tables (prove without --windows to tell)"
                if windows is not None
                else "wrong witness?"
            )
            print(f"error: the proof does not verify ({why}); {hint}", file=sys.stderr)
            return 1
    dump_json(proof, args.proof)
    dump_json(public, args.public)
    if not args.quiet:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in res.times.items())
        print(
            f"proved in {time.monotonic() - t0:.2f} s (read {t_read:.2f} s; {steps})",
            file=sys.stderr,
        )
    return 0


def _prove_on_coordinator(args: argparse.Namespace) -> int:
    """``zkedge prove --coordinator``: the coordinator proves, checks, and blames a lying
    worker; this process sends the zkey (once per coordinator) and the witness, or (from
    ``groth16 fullprove``) the inputs and the circuit's wasm for the coordinator to compute it."""
    from zkedge.fleet.client import ConnectionLost, RpcError, prove_on_coordinator
    from zkedge.fleet.common import FleetError
    from zkedge.groth16 import dump_json

    inputs: str | None = getattr(args, "inputs_json", None)
    wasm: Path | None = getattr(args, "wasm_path", None)
    witness = None if inputs is not None else args.witness
    for path in (args.zkey, witness, wasm):
        if path is not None and not os.path.isfile(path):
            raise CliError(f"{path}: no such file", 2)
    t0 = time.monotonic()
    try:
        res = prove_on_coordinator(
            args.coordinator,
            args.zkey,
            witness,
            inputs=inputs,
            wasm=wasm,
            token=args.token,
            tls=client_tls(args),
        )
    except KeyboardInterrupt:
        print("\ninterrupted (the proof job is cancelled)", file=sys.stderr)
        return 130
    except ConnectionLost as e:
        raise CliError(f"lost the coordinator at {args.coordinator}: {e}") from None
    except RpcError as e:
        raise CliError(str(e), 2 if e.status == "INVALID_ARGUMENT" else 1) from None
    except FleetError as e:
        raise CliError(str(e)) from None
    dump_json(res.proof, args.proof)
    dump_json(res.public, args.public)
    if not args.quiet:
        liars = f"; quarantined {', '.join(res.quarantined)}" if res.quarantined else ""
        print(
            f"proved by the fleet in {time.monotonic() - t0:.2f} s (job {res.job_id}{liars})",
            file=sys.stderr,
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``zkedge verify``: exit 0 valid, 1 invalid, 2 for a file that cannot be read or parsed
    (not JSON, wrong shape, a malformed number, a point off the curve)."""
    from zkedge.groth16 import FormatError, explain_verify
    from zkedge.groth16.proofjson import parse_proof, parse_public
    from zkedge.groth16.vkey import read_vkey

    try:
        vk = read_vkey(args.vkey)
        parse_proof(args.proof)  # explain_verify calls a malformed proof invalid: here it is 2
        parse_public(args.public)
        why = explain_verify(vk, args.public, args.proof)
    except FormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if why is None:
        print("OK: proof is valid")
        return 0
    print(f"INVALID: {why}")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m zkedge.cli._groth16 prove ...``)."""
    return standalone(register, argv)


if __name__ == "__main__":
    raise SystemExit(main())
