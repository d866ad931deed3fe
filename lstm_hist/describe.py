"""``lstm-hist describe``: one experiment row (config, paper numbers, parameter count), or one paper.

A paper is described from its package under ``reproductions/`` (module docstring, ``CITATION``, ``EXPERIMENTS``)
and its rows from ``configs/<paper>/``, which may be none: cho2014 supplies a cell and a citation but no table row.
"""

from __future__ import annotations

from typing import Any

from lstm_hist.errors import ConfigError
from lstm_hist.formatting import fmt
from lstm_hist.reported import comparisons, paper_metrics, reference_note


def describe_data(exp_id: str) -> dict[str, Any]:
    """The ``describe --json`` object of a row: the list entry plus ``parameters`` and the resolved ``config``."""
    from lstm_hist.registry import list_experiments, load

    full, path, experiment, cfg = load(exp_id)
    entry = next(e for e in list_experiments(full.split("/", 1)[0]) if e["id"] == full)
    config = {k: v for k, v in cfg.items() if k != "smoke"}
    return {
        **entry,
        "description": experiment.description,
        "parameters": count_parameters(experiment, cfg, path),
        "config": config,
    }


def count_parameters(experiment: Any, cfg: dict, path: Any) -> int | None:
    """Trainable parameters of one trial's model (``trials=None``), built on a one-sequence batch if needed."""
    try:
        model = experiment.model(trials=None, **cfg["model"])
        if not getattr(model, "built", True) and experiment.task is not None:  # a Keras model or an n-gram recipe
            import numpy as np

            batch = experiment.task(np.random.default_rng(0), 1, **cfg["task"])
            model([batch.x, batch.mask()])
    except ValueError as exc:
        raise ConfigError(f"{path}: model: {exc}") from None
    weights = getattr(model, "trainable_weights", None)
    if weights is not None:
        import math

        return int(sum(math.prod(w.shape) for w in weights))
    return int(model.count_params())


def print_row(data: dict[str, Any]) -> None:
    import yaml

    where = ", ".join(str(x) for x in (data.get("section"), data.get("table"), data.get("row")) if x)
    print(f"{data['id']} — {data.get('title') or ''}")
    if where:
        print(f"  paper:       {where}")
    if data.get("description"):
        print(f"  experiment:  {data['description']}")
    print(f"  parameters:  {fmt(data['parameters'])} trainable (one trial)")
    if data.get("expected_wall_time"):
        print(f"  wall time:   {data['expected_wall_time']}")
    print(f"  command:     {data.get('command') or 'lstm-hist run ' + data['id']}")
    print(f"  config file: {data['path']}")
    if paper_metrics(data["reported"]):
        print("  paper reports:")
        for key, value in paper_metrics(data["reported"]).items():
            print(f"    {key}: {fmt(value)}")
    if reference_note(data["reported"]):
        print(f"  note:        {reference_note(data['reported'])}")
    if comparisons(data["reported"]):
        print("  comparison methods the paper prints for this table (not run here):")
        for row in comparisons(data["reported"]):
            print("    " + ", ".join(f"{k} {v}" if k != "method" else str(v) for k, v in row.items()))
    print("  config:")
    for line in yaml.safe_dump({k: data["config"][k] for k in ("task", "model", "protocol")},
                               sort_keys=False).splitlines():
        print("    " + line)


def print_paper(data: dict[str, Any]) -> None:
    """A paper from :func:`lstm_hist.registry.paper_info`."""
    print(f"{data['paper']} — {data['citation']}")
    if data["summary"]:
        print("  " + "\n  ".join(data["summary"].splitlines()))
    if data["experiments"]:
        print("  experiments (reproductions.{}.EXPERIMENTS):".format(data["paper"]))
        for name, text in data["experiments"].items():
            print(f"    {name}: {text}" if text else f"    {name}")
    if data["rows"]:
        print(f"  table rows ({len(data['rows'])}): lstm-hist list --paper {data['paper']}")
    else:
        print("  table rows:  none (no configs/{}/*.yaml): nothing to run, the paper is cited".format(data["paper"]))
    print(f"  citation:    lstm-hist cite {data['paper']} --bibtex")
