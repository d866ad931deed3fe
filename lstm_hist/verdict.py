"""Does one of our numbers reproduce the paper's? One rule, used by the scorecard and at the end of a run.

A tolerance bounds the ratio ours / paper:

* a number ``r`` means ±r relative: ``0.05`` is ours/paper in [0.95, 1.05];
* a pair ``(low, high)`` bounds the ratio directly, ``None`` leaving a side open: ``(0.5, 2.0)`` is "within a
  factor 2", ``(1.0, None)`` is "at least the paper's" (a success rate).

The test is written as ``low·paper ≤ ours ≤ high·paper`` so that a paper value of 0 (no test sequence wrong) is
judged too: with a finite ``high`` only 0 is within. Tolerances live beside the paper's numbers in the configs
(:mod:`lstm_hist.tolerance`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

Bounds = tuple[float | None, float | None]


class Verdict(NamedTuple):
    metric: str
    ours: float | None
    paper: float | None
    ratio: float | None  # ours / paper; None when either is missing or the paper's is 0
    within: bool
    text: str


def bounds(tolerance: Any) -> Bounds:
    """``(low, high)`` ratio bounds from a tolerance (a relative number or a pair); ValueError if malformed."""
    if isinstance(tolerance, bool):
        raise ValueError(f"a tolerance is a number or [low, high], got {tolerance!r}")
    if isinstance(tolerance, (int, float)):
        if not 0 <= tolerance < 1:
            raise ValueError(f"a relative tolerance must be in [0, 1), got {tolerance!r}")
        return (1.0 - float(tolerance), 1.0 + float(tolerance))
    if isinstance(tolerance, (list, tuple)) and len(tolerance) == 2:
        low, high = tolerance
        for side in (low, high):
            if side is not None and (isinstance(side, bool) or not isinstance(side, (int, float)) or side < 0):
                raise ValueError(f"ratio bounds must be non-negative numbers or null, got {list(tolerance)!r}")
        if low is None and high is None:
            raise ValueError("ratio bounds [null, null] judge nothing; give at least one side")
        if low is not None and high is not None and low > high:
            raise ValueError(f"ratio bounds need low <= high, got {list(tolerance)!r}")
        return (None if low is None else float(low), None if high is None else float(high))
    raise ValueError(f"a tolerance is a number (±relative) or [low, high] bounds on ours/paper, got {tolerance!r}")


def describe(tolerance: Any) -> str:
    """``±5 %``, ``[0.5×, 2×]``, ``≥ 1×`` — how the tolerance reads in a report."""
    if isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool):
        return f"±{100 * tolerance:g} %"
    low, high = bounds(tolerance)
    if high is None:
        return f"≥ {low:g}× the paper"
    if low is None:
        return f"≤ {high:g}× the paper"
    return f"[{low:g}×, {high:g}×] the paper"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def verdict(metric: str, ours: Any, paper: Any, tolerance: Any) -> Verdict:
    """Judge ``ours`` against ``paper`` under ``tolerance`` (see the module docstring)."""
    low, high = bounds(tolerance)
    o, p = _number(ours), _number(paper)
    rule = describe(tolerance)
    if p is None:
        return Verdict(metric, o, p, None, False, f"{metric}: the paper gives no number to compare with")
    if o is None:
        return Verdict(metric, o, p, None, False, f"{metric}: not measured (paper {p:g}); outside {rule}")
    ratio = o / p if p != 0 else None
    within = (low is None or o >= low * p) and (high is None or o <= high * p)
    shown = f"ratio {ratio:.3g}" if ratio is not None else "paper 0"
    word = "within" if within else "outside"
    return Verdict(metric, o, p, ratio, within, f"{metric}: ours {o:.4g} vs paper {p:.4g} ({shown}), {word} {rule}")
