"""How numbers and tables look in the terminal and in docs/results.md: one place for the runner, report, CLI,
scorecard, cite and evaluate, below all of them (it imports nothing of the package but ``progress``'s durations).
"""

from __future__ import annotations

from typing import Any

from lstm_hist.progress import format_duration


def fmt(value: Any) -> str:
    """Compact human number: 1,234,567 · 0.0123 · 97.5 · — for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def fmt_quantity(key: str, value: Any) -> str:
    """``fmt`` plus, for a duration of a minute or more (a key ending in ``seconds``/``_s``), its readable form."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith(("seconds", "_s")):
        return f"{fmt(value)} ({format_duration(value)})" if value >= 60 else fmt(value)
    return fmt(value)


def trial_values(key: str, trials: list[dict]) -> list[float]:
    """Per-trial numbers behind a summary metric: ``key`` itself, or ``key`` minus ``_mean``/``_median``.

    When trials carry a ``solved`` flag only solved trials count: the summary metrics (like the paper's means)
    are over the trials that met the criterion.
    """
    trials = [t for t in trials if isinstance(t, dict)]
    if any("solved" in t for t in trials):
        trials = [t for t in trials if t.get("solved")]
    for candidate in (key, key.removesuffix("_mean"), key.removesuffix("_median")):
        values = [t.get(candidate) for t in trials]
        values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(values) >= 2:
            return values
    return []


def spread(key: str, trials: list[dict]) -> str:
    """``min–max (sd s, n=k)`` of a metric's per-trial values; empty with fewer than two."""
    values = trial_values(key, trials)
    if not values:
        return ""
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{fmt(min(values))}–{fmt(max(values))} (sd {fmt(sd)}, n={len(values)})"


def table_lines(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table: left-aligned columns, a dashed rule under the headers."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return lines
