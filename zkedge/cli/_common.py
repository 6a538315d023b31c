"""What every subcommand shares: client flags (address, token, TLS), the global flags
(``--debug``, ``--log-level``, ``--log-format``) and turning failures into one ``error:`` line.

Every failure a user can cause ends the command with one line on stderr, ``error: ...``, and
exit status 2 (usage, bad input) or 1 (a runtime failure: unreachable coordinator, refused
token, port in use, ...); ``--debug`` also prints the traceback. The table of these messages is
in docs/errors.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    # zkedge.fleet.common loads ssl (OpenSSL): imported where it is needed
    from zkedge.fleet.common import TlsConfig

__all__ = [
    "LEVELS",
    "CliError",
    "Parser",
    "add_client_flags",
    "add_global_flags",
    "add_token",
    "client_tls",
    "describe",
    "hostport_arg",
    "path_arg",
    "run_command",
    "standalone",
]


LEVELS = ("debug", "info", "warning", "error")
"""The values ``--log-level`` accepts."""


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it ($COLUMNS, then the
    terminal of stdout, then 80), without importing shutil (with bz2 and lzma, about 2 ms)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter with the width from :func:`_columns`: argparse makes a
    formatter for every ``add_argument`` (to check its metavar), and the stock one imports
    shutil for the width each time it is not given."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


class Parser(argparse.ArgumentParser):
    """The ``zkedge`` parsers: argparse's, with :class:`_Formatter` (its subcommands' parsers
    are of this class too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


class CliError(Exception):
    """A failure to report as ``error: <message>`` with exit status ``code`` (2: usage or bad
    input, 1: runtime)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def hostport_arg(flag: str, value: str) -> tuple[str, int]:
    """``HOST:PORT`` of a flag, or a usage error naming the flag."""
    from zkedge.fleet.common import parse_hostport

    try:
        return parse_hostport(value)
    except ValueError as exc:
        raise CliError(f"{flag}: {exc}", 2) from None


def add_token(p: argparse.ArgumentParser) -> None:
    """``--token`` (default $ZKEDGE_TOKEN: preferred, it does not show in ``ps``)."""
    p.add_argument(
        "--token",
        default=os.environ.get("ZKEDGE_TOKEN"),
        help="shared token sent/required on every RPC (default: $ZKEDGE_TOKEN)",
    )


def path_arg(text: str) -> Path:
    """argparse ``type`` for an optional path: a :class:`pathlib.Path`, with pathlib loaded
    only when the option is given (a local proof's start-up goes without it)."""
    from pathlib import Path

    return Path(text)


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """``--token`` and the client's TLS flags."""
    add_token(p)
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--tls-ca", type=path_arg, help="CA bundle to verify the coordinator with")
    p.add_argument("--tls-cert", type=path_arg, help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", type=path_arg, help="client key (mutual TLS)")
    p.add_argument("--tls-server-name", help="name expected in the coordinator's certificate")


def client_tls(args: argparse.Namespace) -> TlsConfig | None:
    """The client TLS settings the flags of :func:`add_client_flags` ask for (None: plain)."""
    if not (args.tls or args.tls_ca or args.tls_cert):
        return None
    from zkedge.fleet.common import TlsConfig

    return TlsConfig(
        cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca, server_name=args.tls_server_name
    )


def add_global_flags(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``--debug``, ``--log-level``, ``--log-format``. On a subcommand's parser
    (``suppress=True``) they have no default, so ``zkedge --debug status`` and
    ``zkedge status --debug`` both work."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    p.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="print the traceback of a failure (and log at debug level)",
    )
    p.add_argument(
        "--log-level",
        type=str.lower,
        choices=LEVELS,
        default=default(os.environ.get("ZKEDGE_LOG", "info").lower()),
        help="level of zkedge's log lines on stderr (default: $ZKEDGE_LOG or info)",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=default("text"),
        help="text lines with a UTC time, or one JSON object per line (for log collectors)",
    )


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested groups (trio's nurseries wrap what their tasks
    raise; several tasks losing one connection raise the same error each)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> tuple[int, str]:
    """(exit status, one-line message) for a failure that reached the command line."""
    exc = _leaf(exc)
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    # an exception of a module that was never imported cannot have been raised: the fleet's
    # modules and ssl are looked at only when loaded (a local command loads none of them)
    rpc, common, ssl = (
        sys.modules.get(m) for m in ("zkedge.fleet.rpc", "zkedge.fleet.common", "ssl")
    )
    if rpc is not None and isinstance(exc, rpc.RpcError):
        if exc.status == "UNAUTHENTICATED":
            return 1, (
                f"the coordinator refused the token (UNAUTHENTICATED: {exc.message}): pass "
                "--token or set "
                "$ZKEDGE_TOKEN to the coordinator's token"
            )
        if exc.status == "PERMISSION_DENIED":
            return 1, f"the coordinator refused this client: {exc.message}"
        return 1, f"the coordinator answered {exc.status}: {exc.message}"
    if rpc is not None and isinstance(exc, rpc.ConnectionLost):
        return 1, f"lost the connection to the coordinator: {exc}"
    if common is not None and isinstance(exc, common.FleetError):
        return 1, str(exc)
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return 1, f"TLS: {exc.reason or exc}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return 1, f"{where}{exc.strerror or exc}"
    if isinstance(exc, ValueError):
        return 2, str(exc)
    return 1, f"{type(exc).__name__}: {exc} (an internal error: --debug shows where)"


def _one_line(message: str) -> str:
    return " ".join(message.split()) or "failed"


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, set up logging and run the chosen subcommand's ``func``; a failure is
    one ``error:`` line and exit status 1 or 2 (the traceback too with ``--debug``)."""
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    if getattr(args, "logs", True):
        setup_logs(args)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure a user can cause ends here as one line
        if isinstance(_leaf(exc), KeyboardInterrupt):
            print("interrupted", file=sys.stderr)
            return 130
        code, message = describe(exc)
        if debug:
            import traceback

            traceback.print_exception(exc)
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return code


def setup_logs(args: argparse.Namespace) -> None:
    """Logging as the global flags say (:func:`zkedge.cli._log.setup_logging`). Subcommands
    that log nothing set ``logs=False`` (a local ``zkedge prove``): importing logging, with
    traceback, is about 4 ms of their start-up; one that logs only sometimes calls this itself."""
    from zkedge.cli._log import setup_logging

    level = "debug" if getattr(args, "debug", False) else getattr(args, "log_level", "info")
    setup_logging(level, getattr(args, "log_format", "text"))


def standalone(register: Callable[[Any], None], argv: Sequence[str] | None = None) -> int:
    """Run one group of subcommands on its own (``python -m zkedge.cli._fleet ...``): a parser
    with the global flags and only what ``register`` adds."""
    ap = Parser(prog="zkedge")
    add_global_flags(ap)
    register(ap.add_subparsers(dest="command", required=True))
    return run_command(ap, argv)
