"""The ``zkedge`` command: one entry point for every subcommand.

Each layer registers its own subcommands (``register(subparsers)``); this module only builds the
parser, so ``zkedge --help`` lists everything and importing it stays cheap.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from zkedge import __version__
from zkedge.cli._common import Parser, add_global_flags, run_command

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import NoReturn


def _cmd_info(args: argparse.Namespace) -> int:
    from zkedge import native_info

    info = native_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:10} {v}")
    return 0


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full ``zkedge`` argument parser; ``only="groth16"``: just ``prove`` and ``verify``
    (their parsers as in the full one, without importing the fleet, the demo or the rest)."""
    from zkedge.cli import _groth16

    ap = Parser(
        prog="zkedge", description="A fleet of small ARM boards as one zero-knowledge prover."
    )
    ap.add_argument("--version", action="version", version=f"zkedge {__version__}")
    add_global_flags(ap)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if only == "groth16":
        _groth16.register(sub)
    else:
        from zkedge import selftest
        from zkedge.cli import _circom, _demo, _fleet

        _fleet.register(sub)
        _groth16.register(sub)
        _demo.register(sub)
        selftest.register(sub)
        _circom.register(sub)

        p = sub.add_parser("info", help="show the native build (limb width, compiler, threads)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=_cmd_info)
    for p in sub.choices.values():  # also after the subcommand: `zkedge status --debug`
        add_global_flags(p, suppress=True)
    return ap


ONE_SHOT = ("prove", "verify", "wtns")
"""Subcommands that end the process as soon as they return when ``zkedge`` runs as a command
(see :func:`main`)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zkedge`` with ``argv`` (default: the process arguments). A failure is one
    ``error:`` line on stderr and exit status 2 (usage, bad input) or 1 (runtime);
    ``--debug`` also prints its traceback.

    Run as the process's command (``argv`` None), a one-shot subcommand (:data:`ONE_SHOT`)
    ends the process when it returns, after flushing its output and logs, without the
    interpreter's finalisation: tearing down the modules and objects of a proof takes about
    10 ms, 5% of a 2^14 proof's whole run. Its files are written and closed by then."""
    words = list(sys.argv[1:] if argv is None else argv)
    rc = _dispatch(words)
    if argv is None and words[:1] and words[0] in ONE_SHOT:
        _exit_now(rc)
    return rc


def _dispatch(words: list[str]) -> int:
    if words[:1] == ["wtns"]:  # a witness needs none of the fleet's imports (about 0.2 s)
        from zkedge.cli._circom import main as circom_main

        return circom_main(words)
    if words[:1] in (["prove"], ["verify"]):  # a local proof needs none of the fleet's imports
        return run_command(build_parser("groth16"), words)
    return run_command(build_parser(), words)


def _exit_now(rc: int) -> NoReturn:
    """Flush the standard streams and the logs, then end the process with ``rc``."""
    import os

    logging = sys.modules.get("logging")  # imported only where something logs
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``) or a closed stream
            pass
    os._exit(rc)


if __name__ == "__main__":
    sys.exit(main())
