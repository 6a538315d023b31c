"""A plain-text progress bar on stderr, shown only for work that takes more than a moment."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Weighted steps; prints ``label [#####-----]  50% step`` once ``delay`` seconds passed.

    On a terminal the line is redrawn in place; otherwise one line per step is written. Disabled
    progress costs nothing.
    """

    def __init__(
        self,
        label: str,
        total: float,
        *,
        enabled: bool = True,
        delay: float = 0.5,
        stream: TextIO | None = None,
        width: int = 30,
    ) -> None:
        self.label = label
        self.total = max(total, 1e-9)
        self.enabled = enabled
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0.0
        self.t0 = time.monotonic()
        self.shown = False
        self.times: dict[str, float] = {}

    def _draw(self, step: str) -> None:
        if not self.enabled or time.monotonic() - self.t0 < self.delay:
            return
        frac = min(1.0, self.done / self.total)
        fill = int(frac * self.width)
        bar = "#" * fill + "-" * (self.width - fill)
        elapsed = time.monotonic() - self.t0
        line = f"{self.label} [{bar}] {frac * 100:3.0f}% {step:<10} {elapsed:6.1f} s"
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r" + line) if tty else line + "\n")
        self.stream.flush()
        self.shown = True

    @contextmanager
    def step(self, name: str, weight: float) -> Iterator[None]:
        """Run one step of the given weight, recording its wall time in ``times``."""
        self._draw(name)
        t = time.monotonic()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.monotonic() - t
            self.done += weight

    def update(self, done: float, name: str) -> None:
        """Set the amount of work done (for work reported from elsewhere, e.g. the fleet)."""
        self.done = done
        self._draw(name)

    def close(self) -> None:
        """Draw 100% (if anything was shown) and end the line."""
        if self.shown:
            self.done = self.total
            self._draw("done")
            if getattr(self.stream, "isatty", lambda: False)():
                self.stream.write("\n")
            self.stream.flush()
