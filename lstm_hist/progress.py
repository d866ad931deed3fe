"""A one-line progress display for long runs, with no dependencies.

Reproducing a 1997 table can mean millions of sequences; a run that prints nothing looks hung, and one that
prints a line per update floods a log. On a terminal the line is redrawn in place (``\\r``); in a log file (CI, nohup)
a line is written every ~10 s instead.

The ETA comes from the rate :class:`ProgressLine` measures itself, from the first report on: that report arrives
after the first compiled update, so the compile time (often most of the first minute) is left out of the rate. A
protocol's own ``rate`` counts from its start, compile included, and once said 32m48s for a 4-minute run. No ETA
is shown until the measurement spans :data:`ETA_MIN_SECONDS` and the count has moved.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

KNOWN_KEYS = ("sequences", "max_sequences", "solved", "trials", "error", "rate")
ETA_MIN_SECONDS = 5.0


def format_duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h14m``, ``3d4h``; ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf") or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def format_progress(info: dict[str, Any], eta: float | None = None) -> str:
    """One line from a progress dict (the keys in ``KNOWN_KEYS``; any other scalar keys are appended); ``eta``
    (seconds to the cap, from a measured rate) is shown only when given."""
    parts = []
    seq, cap = info.get("sequences"), info.get("max_sequences")
    if seq is not None:
        parts.append(f"seq {seq:,}" + (f"/{cap:,}" if cap else ""))
    if info.get("solved") is not None:
        parts.append(f"solved {info['solved']}" + (f"/{info['trials']}" if info.get("trials") else ""))
    if info.get("error") is not None:
        parts.append(f"err {info['error']:.4g}")
    rate = info.get("rate")
    if rate:
        parts.append(f"{rate:,.0f} upd/s" if rate >= 10 else f"{rate:.2f} upd/s")
    if eta is not None and seq is not None and cap:
        parts.append(f"ETA to cap {format_duration(eta)}")
    for key, value in info.items():
        if key in KNOWN_KEYS or not isinstance(value, (int, float, str)) or isinstance(value, bool):
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " · ".join(parts)


class ProgressLine:
    """Callable progress sink: ``progress(info_dict)``; call :meth:`close` when the run ends."""

    def __init__(self, stream: TextIO | None = None, *, interval: float | None = None, prefix: str = "",
                 clock=time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self._start: tuple[float, int] | None = None  # (time, sequences) of the first report: warm-up is over
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.prefix = prefix
        self._last = float("-inf")
        self._width = 0
        self._pending: dict | None = None

    def __call__(self, info: dict[str, Any]) -> None:
        now = self.clock()
        info = self._with_measured_rate(info, now)
        self._pending = info
        if now - self._last < self.interval:
            return
        self._last = now
        self._emit(info)
        self._pending = None

    def _with_measured_rate(self, info: dict[str, Any], now: float) -> dict[str, Any]:
        """``info`` with ``rate`` replaced by the rate since the first report and ``_eta`` added, once that
        measurement is meaningful; before, without ``rate`` (a compile-inflated number is worse than none)."""
        seq, cap = info.get("sequences"), info.get("max_sequences")
        if not isinstance(seq, (int, float)):
            return info
        if self._start is None or seq < self._start[1]:
            self._start = (now, seq)
        elapsed, done = now - self._start[0], seq - self._start[1]
        info = {k: v for k, v in info.items() if k != "rate"}
        if elapsed >= ETA_MIN_SECONDS and done > 0:
            info["rate"] = done / elapsed
            if cap:
                info["_eta"] = max(cap - seq, 0) / info["rate"]
        return info

    def _emit(self, info: dict[str, Any]) -> None:
        info = dict(info)
        line = self.prefix + format_progress(info, eta=info.pop("_eta", None))
        if self.tty:
            pad = max(self._width - len(line), 0)
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Show the last state (if throttled away) and end the line."""
        if self._pending is not None:
            self._emit(self._pending)
            self._pending = None
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def silent(info: dict[str, Any]) -> None:
    """The callback used with ``progress=False``: protocols can always call ``progress(...)``."""
