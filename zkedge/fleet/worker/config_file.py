"""``zkedge worker --config /etc/zkedge/worker.toml``: the worker's settings from a TOML file.

:func:`load_worker_config` reads and validates the file (see ``packaging/worker.toml`` for a
commented example) and returns a dict keyed by the ``zkedge worker`` option names (argparse
``dest``), so the fleet CLI can merge it; flags given on the command line win over the file.
Two helpers wire that into an ``argparse`` worker parser::

    p = subparsers.add_parser("worker", ...)
    ...                                   # the worker's own flags
    add_config_argument(p)                # last: adds --config, remembers the flag defaults

    def cmd_worker(args):
        apply_config(args)                # file values where no flag was given on the line
        ...

The file layout (every key optional except ``coordinator``, here or as a flag)::

    coordinator = "gw.local:50051"
    worker_id = "pi-garage-1"
    threads = 4
    drain_grace = 30.0
    benchmark = true
    proof_tasks = true
    [cache]
    dir = "/var/cache/zkedge/bases"
    size_mb = 1024
    memory_mb = 64
    scalars_mb = 32
    [tls]
    enabled = true
    ca = "/etc/zkedge/ca.pem"
    cert = "/etc/zkedge/worker.pem"
    key = "/etc/zkedge/worker.key"
    [auth]
    token_file = "/etc/zkedge/token"      # or: token = "..."
"""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "add_config_argument", "apply_config", "load_worker_config"]

ENV_CONFIG = "ZKEDGE_WORKER_CONFIG"

# file key -> (option dest, type); sections are flattened as "section.key"
_KEYS: dict[str, tuple[str, type]] = {
    "coordinator": ("coordinator", str),
    "worker_id": ("worker_id", str),
    "threads": ("threads", int),
    "drain_grace": ("drain_grace", float),
    "keep_freed_mb": ("keep_freed_mb", int),
    "benchmark": ("no_benchmark", bool),  # inverted: the CLI flag is --no-benchmark
    "proof_tasks": ("no_proof_tasks", bool),  # inverted: --no-proof-tasks
    "cache.dir": ("cache_dir", Path),
    "cache.size_mb": ("cache_mb", int),
    "cache.memory_mb": ("cache_memory_mb", int),
    "cache.scalars_mb": ("scalar_cache_mb", int),
    "tls.enabled": ("tls", bool),
    "tls.ca": ("tls_ca", Path),
    "tls.cert": ("tls_cert", Path),
    "tls.key": ("tls_key", Path),
    "auth.token": ("token", str),
    "auth.token_file": ("token", Path),
}


class ConfigError(ValueError):
    """The config file is missing, not TOML, or has unknown keys / wrong types."""


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _convert(key: str, value: Any, typ: type, *, zero_ok: bool = False) -> Any:
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if value < (0 if zero_ok else 1):
            raise ConfigError(f"{key}: must be positive, got {value}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{key}: expected a non-negative number, got {value!r}")
        return float(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return Path(value) if typ is Path else value


def load_worker_config(path: str | Path) -> dict[str, Any]:
    """Options from a worker TOML file, keyed by ``zkedge worker`` option dest.

    Relative paths in the file are taken relative to the file's directory. ``auth.token_file``
    is read here (first line, stripped) and returned as ``token``. Raises :class:`ConfigError`.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    flat = _flatten(doc)
    unknown = sorted(set(flat) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{p}: unknown keys {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    if "auth.token" in flat and "auth.token_file" in flat:
        raise ConfigError(f"{p}: give auth.token or auth.token_file, not both")
    out: dict[str, Any] = {}
    for key, value in flat.items():
        dest, typ = _KEYS[key]
        v = _convert(f"{p}: {key}", value, typ, zero_ok=key in ("cache.memory_mb", "keep_freed_mb"))
        if isinstance(v, Path) and not v.is_absolute():
            v = p.parent / v
        if key in ("benchmark", "proof_tasks"):
            v = not v
        if key == "auth.token_file":
            try:
                v = v.read_text().strip().splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ConfigError(f"{p}: auth.token_file {value!r}: cannot read a token") from exc
        out[dest] = v
    return out


class _Default:
    """An option's default value, marked: :func:`apply_config` tells an option left out (still
    marked) from one given on the command line, even with the default's value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:  # argparse's help shows %(default)s
        return str(self.value)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--config PATH`` (default ``$ZKEDGE_WORKER_CONFIG``) to the worker's parser and
    mark the defaults of its other options, so :func:`apply_config` knows which were given;
    call it after adding them, and always call :func:`apply_config` on the parsed options."""
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get(ENV_CONFIG) or None,
        help=f"worker TOML file (default: ${ENV_CONFIG}); flags given on the command line win",
    )
    dests = {dest for dest, _ in _KEYS.values()}
    parser.set_defaults(**{d: _Default(parser.get_default(d)) for d in dests})


def apply_config(args: argparse.Namespace) -> argparse.Namespace:
    """Fill ``args`` from ``args.config`` for every option not given on the command line, and
    unmark the defaults of the rest.

    A flag given on the command line always wins, whatever its value. ``$ZKEDGE_TOKEN`` (the
    token option's default) beats the file's token. Options the parser lacks are set as new
    attributes. Raises :class:`ConfigError` for a bad file or when no coordinator is given
    anywhere.
    """
    path = getattr(args, "config", None)
    from_file = load_worker_config(path) if path else {}
    if os.environ.get("ZKEDGE_TOKEN"):
        from_file.pop("token", None)
    for dest, value in vars(args).copy().items():
        if isinstance(value, _Default):
            setattr(args, dest, from_file.get(dest, value.value))
    for dest, value in from_file.items():
        if not hasattr(args, dest):
            setattr(args, dest, value)
    if hasattr(args, "coordinator") and not args.coordinator:
        raise ConfigError("no coordinator: pass --coordinator HOST:PORT or set it in --config")
    return args
