"""A row's headline over seeds: the mean with its sample standard deviation and n (CONVENTIONS: seeds and spread).

Used by ``lstm-hist report`` (rows with completed records of several seeds) and by a campaign's closing summary.
A record's seed is its ``seed`` field, or ``seeds.base`` in records written before that field existed.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Callable, Iterable


def record_seed(record: dict) -> int | None:
    seed = record.get("seed", (record.get("seeds") or {}).get("base"))
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def row_key(record: dict) -> str:
    """The report's row key: the id, plus the ``--set`` overrides of a run off the paper's config."""
    return record["id"] + "".join(f" {item}" for item in record.get("overrides") or [])


def mean_sd(values: Iterable[float]) -> tuple[float, float | None, int]:
    """``(mean, sample sd or None for n=1, n)`` of the finite numbers in ``values``; n=0 gives (nan, None, 0)."""
    xs = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if not xs:
        return math.nan, None, 0
    # statistics sums exactly: equal values give sd 0, where float sums left 8.5e-18 beside three 0.05s
    return statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else None, len(xs)


def format_mean_sd(values: Iterable[float], fmt: Callable[[object], str]) -> str:
    mean, sd, n = mean_sd(values)
    if n == 0:
        return fmt(None)
    if sd is None:
        return f"{fmt(mean)} (n=1)"
    return f"{fmt(mean)} ± {fmt(sd)} (n={n})"


def latest_per_seed(loaded: Iterable[tuple[Path, dict]], *, smoke: bool = False) -> dict[str, dict[int, dict]]:
    """row key → seed → that seed's latest completed record (smoke runs only with ``smoke=True``)."""
    out: dict[str, dict[int, dict]] = {}
    for _, record in loaded:
        if record.get("kind") == "estimate" or record.get("status") != "completed" or bool(record.get("smoke")) != smoke:
            continue
        seed = record_seed(record)
        if seed is None:
            continue
        seeds = out.setdefault(row_key(record), {})
        end = (record.get("provenance") or {}).get("end") or ""
        if seed not in seeds or end >= ((seeds[seed].get("provenance") or {}).get("end") or ""):
            seeds[seed] = record
    return out


def metric_over_seeds(per_seed: dict[int, dict], key: str) -> list[float]:
    return [(r.get("metrics") or {}).get(key) for _, r in sorted(per_seed.items())]


def report_cell(per_seed: dict[int, dict] | None, key: str, value, fmt: Callable[[object], str]) -> str:
    """The report's "ours" cell: mean ± sd (n) over seeds when the row has completed records of two or more
    seeds, else the one record's value."""
    if per_seed and len(per_seed) >= 2:
        values = metric_over_seeds(per_seed, key)
        if sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) >= 2:
            return format_mean_sd(values, fmt)
    return fmt(value)


def config_seeds(loaded: Iterable[tuple[Path, dict]], record: dict) -> list[dict]:
    """The latest completed record of each seed run with ``record``'s config (same row key, no drift in what decides
    the numbers, :mod:`lstm_hist.config_drift`), ``record`` standing for its own seed: what a row's seed mean is
    taken over. A record without a seed is alone."""
    from lstm_hist.config_drift import drift

    key, cfg = row_key(record), record.get("config") or {}
    same = [(p, r) for p, r in loaded if r.get("id") == record.get("id") and row_key(r) == key and not drift(r, cfg)]
    seed = record_seed(record)
    if seed is None:
        return [record]
    per_seed = latest_per_seed(same, smoke=bool(record.get("smoke"))).get(key, {})
    per_seed[seed] = record
    return [r for _, r in sorted(per_seed.items())]


def mean_metrics(group: list[dict]) -> tuple[dict, dict[str, tuple[float | None, int]]]:
    """``(metrics, spread)`` of a seed group: each numeric metric's mean over the records that have it, and its
    ``(sample sd, n)``; a group of one gives that record's metrics unchanged and n=1."""
    if len(group) == 1:
        metrics = dict(group[0].get("metrics") or {})
        return metrics, {k: (None, 1) for k in metrics}
    keys = [k for r in group for k in (r.get("metrics") or {})]
    metrics: dict = {}
    spread: dict[str, tuple[float | None, int]] = {}
    for key in dict.fromkeys(keys):
        mean, sd, n = mean_sd((r.get("metrics") or {}).get(key) for r in group)
        if n:
            metrics[key], spread[key] = mean, (sd, n)
    return metrics, spread
