"""Which of a row's numbers are judged, under what tolerance, and where its deviation entry is.

The tolerances sit beside the paper's numbers, in ``configs/<paper>/``:

* ``configs/<paper>/_paper.yaml`` (the registry skips ``_`` files: it is not a row) holds the paper's defaults::

      tolerance:                     # metric → ±relative (0.05) or [low, high] on ours/paper (null = open side)
        test_perplexity: 0.05
      deviation: "Bengio et al. (2003): open choices and departures"   # a heading of docs/deviations.md
      experiments:                   # per experiment (a row config's `experiment:`), over the paper's defaults
        nplm: {tolerance: {test_perplexity: 0.10}, deviation: "Network (§2) and training (§3–4)"}

* a row config may add ``tolerance:`` next to ``reported:`` (``metric: null`` stops judging a metric).

A row is judged on the metrics that both its tolerance and its ``reported`` block name. Unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lstm_hist.errors import ConfigError
from lstm_hist.verdict import Verdict, bounds, verdicts

PAPER_FILE = "_paper.yaml"
PAPER_KEYS = ("tolerance", "deviation", "experiments")
EXPERIMENT_KEYS = ("tolerance", "deviation")


def check_tolerance(value: Any, where: str, *, allow_null: bool = False) -> dict:
    """A ``tolerance:`` block as a dict, each value checked by :func:`lstm_hist.verdict.bounds`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'tolerance' must map metric names to tolerances, got {type(value).__name__}")
    for metric, spec in value.items():
        if spec is None and allow_null:
            continue
        try:
            bounds(spec)
        except ValueError as exc:
            raise ConfigError(f"{where}: 'tolerance.{metric}': {exc}") from None
    return dict(value)


def _check_keys(block: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in block:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(allowed)}")


def load_paper_file(path: Path) -> dict:
    """The validated ``_paper.yaml`` (an empty dict when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a YAML mapping, got {type(data).__name__}")
    _check_keys(data, PAPER_KEYS, str(path))
    data["tolerance"] = check_tolerance(data.get("tolerance"), str(path))
    experiments = data.get("experiments") or {}
    if not isinstance(experiments, dict):
        raise ConfigError(f"{path}: 'experiments' must map experiment names to blocks")
    for name, block in experiments.items():
        where = f"{path}: experiments.{name}"
        if not isinstance(block, dict):
            raise ConfigError(f"{where} must be a mapping with 'tolerance' and/or 'deviation'")
        _check_keys(block, EXPERIMENT_KEYS, where)
        block["tolerance"] = check_tolerance(block.get("tolerance"), where, allow_null=True)
    data["experiments"] = experiments
    return data


def paper_settings(paper: str, root: Path | None = None) -> dict:
    if root is None:
        from lstm_hist.registry import configs_root

        root = configs_root()
    return load_paper_file(Path(root) / paper / PAPER_FILE)


def row_rules(paper: str, experiment: str | None, row_tolerance: dict | None, root: Path | None = None) -> dict:
    """``{"tolerance": {metric: spec}, "deviation": heading or None}`` for one row: paper defaults, then the
    experiment's block, then the row's own ``tolerance:`` (a null drops a metric)."""
    settings = paper_settings(paper, root)
    block = (settings.get("experiments") or {}).get(experiment or "", {})
    merged = {**settings.get("tolerance", {}), **block.get("tolerance", {}), **(row_tolerance or {})}
    return {"tolerance": {k: v for k, v in merged.items() if v is not None},
            "deviation": block.get("deviation") or settings.get("deviation")}


def judge(reported: dict, metrics: dict, tolerance: dict) -> list[Verdict]:
    """One verdict per metric that the tolerance and the paper's numbers both name (in the paper's order)."""
    return verdicts(metrics, reported, tolerance)


def record_verdicts(record: dict, root: Path | None = None) -> list[Verdict]:
    """The verdicts of one run record, as the scorecard judges its row: what ``lstm-hist run`` prints at the end
    (empty for a row whose paper column is another data set's, or that no tolerance covers)."""
    from lstm_hist.reported import paper_metrics, reference_note

    if reference_note(record.get("reported")):
        return []
    cfg = record.get("config") or {}
    paper = record.get("paper") or str(record.get("id", "")).split("/", 1)[0]
    rules = row_rules(paper, cfg.get("experiment"), cfg.get("tolerance"), root)
    return judge(paper_metrics(record.get("reported")), record.get("metrics") or {}, rules["tolerance"])
