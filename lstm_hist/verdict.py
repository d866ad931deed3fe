"""One verdict per headline metric: is our number within the paper's, and by what ratio.

Used by the scorecard at the top of docs/results.md and at the end of ``lstm-hist run``, so both say the same.
A tolerance bounds the ratio ours / paper:

* a number ``r`` means ±r relative: ``0.05`` is ``|ours − paper| ≤ 0.05·|paper|``;
* a pair ``[low, high]`` bounds the ratio directly, ``None`` leaving a side open: ``[0.5, 2.0]`` is "within a
  factor 2", ``[1.0, None]`` is "at least the paper's" (a success rate).

The pair is tested as ``low·paper ≤ ours ≤ high·paper`` (for the positive numbers papers print), so a paper value
of 0 (no test sequence wrong) is judged too: with a finite ``high`` only 0 is within. The tolerances live with the
paper's numbers in the configs (:mod:`lstm_hist.tolerance`); :data:`DEFAULT_TOLERANCE` is only the fallback. A metric
the run did not measure, a paper number that is not a number, or a paper number on other data
(``reported.reference_only``) gets ``within=None``: no verdict is better than a wrong one. A statistic over solved
trials of a run that solved none says so (:func:`no_value_reason`) rather than "no value".
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lstm_hist.reported import paper_metrics, reference_note

DEFAULT_TOLERANCE = 0.25  # |ours - paper| <= 25% of |paper| counts as agreeing, unless a config says otherwise

Bounds = tuple[float | None, float | None]


@dataclasses.dataclass(frozen=True)
class Verdict:
    metric: str
    ours: float | None
    paper: Any
    ratio: float | None  # ours / paper; None when either is missing or the paper's is 0
    within: bool | None  # None: no verdict possible (not measured, not a number, other data)
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
    """``±5%``, ``[0.5×, 2×]``, ``≥ 1×`` — how a tolerance reads, always followed by "the paper"."""
    if isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool):
        return f"±{tolerance:.0%}" if round(tolerance * 100, 6).is_integer() else f"±{100 * tolerance:g}%"
    low, high = bounds(tolerance)
    if high is None:
        return f"≥ {low:g}×"
    if low is None:
        return f"≤ {high:g}×"
    return f"[{low:g}×, {high:g}×]"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: Any) -> str:
    from lstm_hist.formatting import fmt

    return fmt(value)


def no_value_reason(metrics: dict | None, metric: str) -> str | None:
    """Why ``metric`` has no value, where the record says so: it is a statistic over solved trials (kept as
    ``None``, not left out) and none of the trials met the criterion. A metric the run never had gets None here."""
    metrics = metrics or {}
    if metric in metrics and metrics[metric] is None and metrics.get("solved_trials") == 0 and metrics.get("trials"):
        return f"0 of {metrics['trials']} trials met the criterion"
    return None


def verdict(metric: str, ours: Any, paper: Any, tolerance: Any = DEFAULT_TOLERANCE,
            no_value: str | None = None) -> Verdict:
    """The verdict on one metric under ``tolerance`` (see the module docstring); ``no_value`` says why ``ours`` is
    missing where the record knows (:func:`no_value_reason`)."""
    low, high = bounds(tolerance)
    mine, theirs = _number(ours), _number(paper)
    if theirs is None:
        return Verdict(metric, mine, paper, None, None,
                       f"{metric}: no verdict, the paper's value {paper!r} is not a number (ours {_fmt(mine)})")
    if mine is None:
        why = f"none: {no_value}" if no_value else "this run has no value for it"
        return Verdict(metric, None, theirs, None, None, f"{metric}: no verdict, {why} (paper {_fmt(paper)})")
    ratio = mine / theirs if theirs != 0 else None
    if isinstance(tolerance, (int, float)):
        within = abs(mine - theirs) <= tolerance * abs(theirs)
    else:
        within = (low is None or mine >= low * theirs) and (high is None or mine <= high * theirs)
    ratio_text = f"ours/paper {ratio:.3g}" if ratio is not None else "the paper's value is 0"
    where = "within" if within else "outside"
    return Verdict(metric, mine, theirs, ratio, within,
                   f"{metric}: {where} {describe(tolerance)} of the paper — ours {_fmt(ours)}, paper {_fmt(paper)} "
                   f"({ratio_text})")


def verdicts(metrics: dict, reported: dict | None, tolerance: Any = DEFAULT_TOLERANCE) -> list[Verdict]:
    """A verdict per number the paper reports for the row (in the config's order). ``tolerance`` is one tolerance
    for every number, or ``{metric: tolerance}`` (then only those metrics are judged: a row's rules from
    :func:`lstm_hist.tolerance.row_rules`). On a row whose paper numbers come from other data
    (``reference_only``) each verdict is withheld (``within=None``) but keeps its ratio."""
    note = reference_note(reported)
    out = []
    for key, paper in paper_metrics(reported).items():
        if isinstance(tolerance, dict) and key not in tolerance:
            continue
        rule = tolerance[key] if isinstance(tolerance, dict) else tolerance
        one = verdict(key, (metrics or {}).get(key), paper, rule, no_value_reason(metrics, key))
        if note and one.within is not None:
            ratio = f" (ours/paper {one.ratio:.3g})" if one.ratio is not None else ""
            text = (f"{key}: no verdict, the paper's number is on other data — ours {_fmt(one.ours)}, "
                    f"paper {_fmt(paper)}{ratio}")
            one = dataclasses.replace(one, within=None, text=text)
        out.append(one)
    return out
