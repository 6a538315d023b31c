"""Logging of the ``zkedge`` command: timestamps, a level, text or JSON lines.

:func:`setup_logging` sends the ``zkedge`` loggers to stderr at the chosen level (INFO by
default: the lifecycle events of coordinators and workers) and everything else (grpclib, h2,
asyncio) at WARNING, which their DEBUG output would otherwise bury. ``text`` lines read
``2026-01-02T03:04:05.678Z INFO    zkedge.fleet.worker: registered ...``; ``json`` writes one
JSON object per line (``time``, ``level``, ``logger``, ``message``, and ``exception`` when
there is one) for log collectors.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from zkedge.cli._common import LEVELS

__all__ = ["LEVELS", "JsonFormatter", "TextFormatter", "setup_logging"]


def _utc(created: float) -> str:
    """ISO 8601 UTC time with milliseconds, e.g. ``2026-01-02T03:04:05.678Z``."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message>`` (and the traceback below, if any)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    """Route log records to stderr: ``zkedge.*`` at ``level``, other libraries at WARNING."""
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, got {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("zkedge").setLevel(level.upper())
