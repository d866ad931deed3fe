"""One verdict per headline metric: is our number within the paper's, and by what ratio.

A finished run used to end with the paper's 74,000 beside our 477,275 and no word on what that means. A verdict
says it in one line: within or outside a relative tolerance of the paper's number, with ours/paper. The tolerance is
the caller's (a per-paper default with a per-row override lives in the configs); :data:`DEFAULT_TOLERANCE` is only
the fallback. A metric the run did not measure, a paper number that is not a number, or a paper number on other
data (``reported.reference_only``) gets ``within=None``: no verdict is better than a wrong one.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lstm_hist.config import paper_metrics, reference_note

DEFAULT_TOLERANCE = 0.25  # |ours - paper| <= 25% of |paper| counts as agreeing, unless a config says otherwise


@dataclasses.dataclass(frozen=True)
class Verdict:
    metric: str
    ours: float | None
    paper: Any
    ratio: float | None  # ours / paper; None when either is missing or the paper's is 0
    within: bool | None  # None: no verdict possible (not measured, not a number, other data)
    text: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: Any) -> str:
    from lstm_hist.runner import fmt

    return fmt(value)


def verdict(metric: str, ours: Any, paper: Any, tolerance: float = DEFAULT_TOLERANCE) -> Verdict:
    """The verdict on one metric: within when ``|ours - paper| <= tolerance * |paper|``."""
    mine, theirs = _number(ours), _number(paper)
    if theirs is None:
        return Verdict(metric, mine, paper, None, None,
                       f"{metric}: no verdict, the paper's value {paper!r} is not a number (ours {_fmt(mine)})")
    if mine is None:
        return Verdict(metric, None, theirs, None, None,
                       f"{metric}: no verdict, this run has no value for it (paper {_fmt(paper)})")
    ratio = mine / theirs if theirs != 0 else None
    within = abs(mine - theirs) <= tolerance * abs(theirs)
    ratio_text = f"ours/paper {ratio:.3g}" if ratio is not None else "the paper's value is 0"
    where = "within" if within else "outside"
    return Verdict(metric, mine, theirs, ratio, within,
                   f"{metric}: {where} ±{tolerance:.0%} of the paper — ours {_fmt(ours)}, paper {_fmt(paper)} "
                   f"({ratio_text})")


def verdicts(metrics: dict, reported: dict | None, tolerance: float = DEFAULT_TOLERANCE) -> list[Verdict]:
    """A verdict per number the paper reports for the row (in the config's order). On a row whose paper numbers
    come from other data (``reference_only``) each verdict is withheld (``within=None``) but keeps its ratio."""
    note = reference_note(reported)
    out = []
    for key, paper in paper_metrics(reported).items():
        one = verdict(key, (metrics or {}).get(key), paper, tolerance)
        if note and one.within is not None:
            ratio = f" (ours/paper {one.ratio:.3g})" if one.ratio is not None else ""
            text = (f"{key}: no verdict, the paper's number is on other data — ours {_fmt(one.ours)}, "
                    f"paper {_fmt(paper)}{ratio}")
            one = dataclasses.replace(one, within=None, text=text)
        out.append(one)
    return out
