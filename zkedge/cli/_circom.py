"""snarkjs-style commands: ``zkedge wtns calculate``, ``zkedge groth16 prove|verify|fullprove``
and ``zkedge zkey export verificationkey|soliditycalldata|solidityverifier``.

``zkedge.cli`` calls :func:`register` on its subparsers, and hands ``zkedge wtns ...`` to
:func:`main` without building the rest of its parser (the fleet's imports are most of the
start-up time of a witness calculation). Arguments follow snarkjs's order.
Exit codes: 0 done, 1 a runtime failure (an assert in the circuit, an invalid proof, wasmtime
missing), 2 bad input (files, signals, values).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from zkedge.cli._common import add_client_flags

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``wtns``, ``groth16`` and ``zkey`` to an ``argparse`` subparsers object. Nothing
    beyond the standard library is imported until a command runs."""
    p = subparsers.add_parser("wtns", help="witness files (like `snarkjs wtns`)")
    sub = p.add_subparsers(dest="wtns_command", required=True, metavar="SUBCOMMAND")
    q = sub.add_parser(
        "calculate",
        help="run a circom witness calculator (.wasm) on input.json",
        description="Like `snarkjs wtns calculate`, in-process (wasmtime), no Node.js needed.",
    )
    q.add_argument("wasm", type=Path, help="circuit.wasm (circom --wasm)")
    q.add_argument("input", type=Path, help="input.json")
    q.add_argument("witness", type=Path, help="output witness.wtns")
    q.set_defaults(func=cmd_wtns_calculate)

    p = subparsers.add_parser("groth16", help="Groth16 (like `snarkjs groth16`)")
    sub = p.add_subparsers(dest="groth16_command", required=True, metavar="SUBCOMMAND")
    q = sub.add_parser("prove", help="same as `zkedge prove`")
    _prove_args(q, witness=True)
    q.set_defaults(func=cmd_prove)
    q = sub.add_parser(
        "fullprove",
        help="witness from input.json and circuit.wasm, then the proof",
        description="Like `snarkjs groth16 fullprove`: input.json circuit.wasm circuit.zkey "
        "proof.json public.json.",
    )
    _prove_args(q, witness=False)
    q.set_defaults(func=cmd_fullprove)
    q = sub.add_parser("verify", help="same as `zkedge verify`")
    q.add_argument("vkey", type=Path, help="verification_key.json")
    q.add_argument("public", type=Path, help="public.json")
    q.add_argument("proof", type=Path, help="proof.json")
    q.set_defaults(func=cmd_verify)

    p = subparsers.add_parser("zkey", help="proving key exports (like `snarkjs zkey export`)")
    sub = p.add_subparsers(dest="zkey_command", required=True, metavar="SUBCOMMAND")
    q = sub.add_parser(
        "windows",
        help="window tables of a zkey's bases for `zkedge prove --windows` (faster MSMs)",
        description="Writes every point times 2^(w * window) for each window w of the zkey's "
        "point sets (16 times a set's size at 15-bit windows on BN254) for fixed-base MSMs: "
        "about a fifth less MSM work per proof. The prover maps the file and gives back its "
        "pages as it goes, so its memory does not grow; the page cache keeps the file.",
    )
    q.add_argument("zkey", type=Path, help="circuit.zkey")
    q.add_argument("out", type=Path, help="output window file (e.g. circuit.windows)")
    q.add_argument("--window", type=int, default=15, help="window width in bits, 2..15 (15)")
    q.add_argument("--sets", default="A,B1,B2,C,H", help="point sets, comma-separated")
    q.add_argument(
        "--max-size",
        metavar="SIZE",
        help="largest file, e.g. 200M or 2G: sets that do not fit are left out (kept in the "
        "order B2, H, A, B1, C)",
    )
    q.add_argument("--threads", type=int, help="threads (default: all cores)")
    q.set_defaults(func=cmd_zkey_windows)
    e = sub.add_parser("export", help="verification key, Solidity call data or verifier")
    sub = e.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    q = sub.add_parser("verificationkey", help="verification_key.json from circuit.zkey")
    q.add_argument("zkey", type=Path, help="circuit.zkey")
    q.add_argument("vkey", type=Path, nargs="?", default=Path("verification_key.json"))
    q.set_defaults(func=cmd_export_vkey)
    q = sub.add_parser("soliditycalldata", help="print verifyProof's arguments for a proof")
    q.add_argument("public", type=Path, nargs="?", default=Path("public.json"))
    q.add_argument("proof", type=Path, nargs="?", default=Path("proof.json"))
    q.set_defaults(func=cmd_export_calldata)
    q = sub.add_parser("solidityverifier", help="a Solidity Groth16 verifier (BN254)")
    q.add_argument("zkey", type=Path, help="circuit.zkey")
    q.add_argument("sol", type=Path, nargs="?", default=Path("verifier.sol"))
    q.set_defaults(func=cmd_export_solidity)


def _prove_args(p: argparse.ArgumentParser, *, witness: bool) -> None:
    if witness:
        p.add_argument("zkey", type=Path, help="circuit.zkey (snarkjs Groth16 proving key)")
        p.add_argument("witness", type=Path, help="witness.wtns")
    else:
        p.add_argument("input", type=Path, help="input.json")
        p.add_argument("wasm", type=Path, help="circuit.wasm (circom --wasm)")
        p.add_argument("zkey", type=Path, help="circuit.zkey (snarkjs Groth16 proving key)")
    p.add_argument("proof", type=Path, help="output proof.json")
    p.add_argument("public", type=Path, help="output public.json")
    p.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="prove on a zkedge fleet (fullprove: the coordinator computes the witness too)",
    )
    add_client_flags(p)
    p.add_argument("--threads", type=int, help="threads for local work (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or timings")
    p.add_argument("--verify", action="store_true", help="check the proof before writing it")
    if witness:
        from zkedge.cli._groth16 import add_windows_flag

        add_windows_flag(p)


def _error(msg: object, rc: int) -> int:
    text = str(msg).strip().replace("\n", "; ")
    print(f"error: {text}", file=sys.stderr)
    return rc


def _witness(wasm: Path, input_json: Path) -> bytes | int:
    """The .wtns bytes, or an exit code after printing the error."""
    from zkedge.circom import InputError, WasmtimeUnavailable, WitnessError, calculate_witness

    try:
        return calculate_witness(wasm, input_json, log=lambda line: print(line, file=sys.stderr))
    except InputError as e:
        return _error(e, 2)
    except WitnessError as e:
        return _error(e, 1)
    except WasmtimeUnavailable as e:
        return _error(e, 1)


def cmd_prove(args: argparse.Namespace) -> int:
    """``zkedge groth16 prove``: ``zkedge prove`` itself."""
    from zkedge.cli._groth16 import cmd_prove as prove

    rc: int = prove(args)
    return rc


def cmd_verify(args: argparse.Namespace) -> int:
    """``zkedge groth16 verify``: ``zkedge verify`` itself."""
    from zkedge.cli._groth16 import cmd_verify as verify

    rc: int = verify(args)
    return rc


def cmd_wtns_calculate(args: argparse.Namespace) -> int:
    """``zkedge wtns calculate circuit.wasm input.json witness.wtns``."""
    data = _witness(args.wasm, args.input)
    if isinstance(data, int):
        return data
    try:
        args.witness.write_bytes(data)
    except OSError as e:
        return _error(f"{args.witness}: {e.strerror or e}", 2)
    return 0


def cmd_fullprove(args: argparse.Namespace) -> int:
    """``zkedge groth16 fullprove input.json circuit.wasm circuit.zkey proof.json
    public.json``: the witness stays in memory and goes to ``zkedge prove``. With
    ``--coordinator`` the inputs and the wasm go to the coordinator, which computes the witness
    and proves there (a device sends inputs, not witnesses)."""
    if args.coordinator:
        try:
            text = Path(args.input).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return _error(f"{args.input}: {getattr(e, 'strerror', None) or e}", 2)
        ns = argparse.Namespace(**vars(args))
        ns.inputs_json, ns.wasm_path, ns.witness = text, Path(args.wasm), None
        return cmd_prove(ns)
    data = _witness(args.wasm, args.input)
    if isinstance(data, int):
        return data
    ns = argparse.Namespace(**vars(args))
    ns.witness = data
    return cmd_prove(ns)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from '123', '200M', '1.5G' (binary units, an optional trailing B or iB)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS and t[-1:] else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 200M, 2G)") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"not a size: {text!r} (e.g. 200M, 2G)")
    return int(value * _UNITS[unit])


def cmd_zkey_windows(args: argparse.Namespace) -> int:
    """``zkedge zkey windows circuit.zkey circuit.windows``."""
    from zkedge.cli._groth16 import check_output
    from zkedge.groth16 import FormatError, read_zkey
    from zkedge.groth16.windows import plan_windows, write_windows
    from zkedge.msm import fixed_windows

    check_output(args.out)
    if args.threads is not None and args.threads < 1:
        return _error(f"--threads must be at least 1, got {args.threads}", 2)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    try:
        max_size = None if args.max_size is None else parse_size(args.max_size)
        zk = read_zkey(args.zkey)
        if not fixed_windows(zk.curve, args.window):
            return _error(f"--window must be between 2 and 15, got {args.window}", 2)
        keep = plan_windows(zk, args.window, sets, max_size)
    except (FormatError, ValueError) as e:
        return _error(e, 2)
    if not keep:
        return _error("no point set fits in --max-size", 2)
    try:
        size = write_windows(zk, args.out, keep, args.window, threads=args.threads)
    except FormatError as e:
        return _error(e, 2)
    except OSError as e:
        return _error(f"{args.out}: {e.strerror or e}", 1)
    left = [s for s in sets if s not in keep]
    note = f"; left out: {', '.join(left)}" if left else ""
    print(f"{args.out}: {', '.join(keep)} at {args.window}-bit windows, {size / 1e6:.1f} MB{note}")
    return 0


def cmd_export_vkey(args: argparse.Namespace) -> int:
    """``zkedge zkey export verificationkey circuit.zkey [verification_key.json]``."""
    from zkedge.circom import vkey_json
    from zkedge.groth16 import FormatError
    from zkedge.groth16.proofjson import dump_json

    try:
        vk = vkey_json(args.zkey)
    except FormatError as e:
        return _error(e, 2)
    dump_json(vk, args.vkey)
    return 0


def cmd_export_calldata(args: argparse.Namespace) -> int:
    """``zkedge zkey export soliditycalldata [public.json] [proof.json]``: prints it."""
    from zkedge.circom import solidity_calldata
    from zkedge.groth16 import FormatError

    try:
        print(solidity_calldata(args.public, args.proof))
    except FormatError as e:
        return _error(e, 2)
    return 0


def cmd_export_solidity(args: argparse.Namespace) -> int:
    """``zkedge zkey export solidityverifier circuit.zkey [verifier.sol]``."""
    from zkedge.circom import solidity_verifier
    from zkedge.groth16 import FormatError, read_zkey, vkey_from_zkey

    try:
        vk = vkey_from_zkey(read_zkey(args.zkey))
        source = solidity_verifier(vk)
    except (FormatError, ValueError) as e:
        return _error(e, 2)
    args.sol.write_text(source)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``zkedge wtns|groth16|zkey ...`` with only these commands in the parser."""
    from zkedge.cli._common import standalone

    return standalone(register, argv)


if __name__ == "__main__":
    raise SystemExit(main())
