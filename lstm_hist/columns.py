"""Fit a text table into a terminal width by cutting its text columns, never its ids."""

from __future__ import annotations

from typing import Sequence


def fit_columns(headers: list[str], rows: list[list[str]], width: int, shrink: Sequence[int]) -> list[list[str]]:
    """``rows`` with the ``shrink`` columns cut (ending in "…") so the table is at most ``width`` wide; the
    others keep their full text (an id must stay copyable). The shrinkable columns share what is left, each
    keeping at least its header's width."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    fixed = sum(w for i, w in enumerate(widths) if i not in shrink) + 2 * (len(widths) - 1)
    budget = width - fixed
    limits = {i: widths[i] for i in shrink}
    while sum(limits.values()) > budget:
        cuttable = [i for i in limits if limits[i] > len(headers[i])]
        if not cuttable:
            break
        limits[max(cuttable, key=lambda i: limits[i])] -= 1

    def cut(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"

    return [[cut(str(c), limits[i]) if i in limits else c for i, c in enumerate(row)] for row in rows]
