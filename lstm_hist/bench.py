"""``lstm-hist bench``: time a few updates of an experiment's protocol (``TrainingProtocol.bench``) and print what
it estimates; ``--save`` keeps it as an estimate the report shows for rows that have no record yet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, TextIO

from lstm_hist import records
from lstm_hist.backend import current_backend
from lstm_hist.errors import UserError
from lstm_hist.formatting import fmt_quantity, table_lines
from lstm_hist.runner import build_protocol, resolve


def bench_experiment(
    exp_id: str,
    *,
    updates: int | None = None,
    trials: int | None = None,
    seed: int = 0,
    overrides: Iterable[str] = (),
    save_dir: str | Path | None = None,
    stdout: TextIO | None = None,
) -> dict:
    """Time the experiment's protocol for ``updates`` updates (None: the protocol's default) and print its estimate.

    With ``save_dir`` the result is also written as ``<save_dir>/estimates/<paper>.<stem>.json``
    (``kind: "estimate"``). A protocol without a bench raises :class:`lstm_hist.contract.BenchUnavailable`.
    """
    stdout = stdout or sys.stdout
    if updates is not None and updates < 1:
        raise UserError(f"--updates must be at least 1, got {updates}")
    full, path, experiment, cfg = resolve(exp_id, trials=trials, overrides=overrides)
    protocol = build_protocol(experiment, cfg, path)
    backend = current_backend()
    start = records.utc_now()
    # `reported` lets the estimate scale to the paper's sequence counts; `updates` is left out when not given, so
    # each protocol's own default count applies.
    result = dict(protocol.bench(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=seed,
                                 reported=cfg.get("reported") or {},
                                 **({"updates": updates} if updates is not None else {})))
    end = records.utc_now()
    print(f"{full} — bench ({type(protocol).__name__}, backend {backend})", file=stdout)
    for line in table_lines(["quantity", "value"], [[k, fmt_quantity(k, v)] for k, v in result.items()]):
        print("  " + line, file=stdout)
    if save_dir is not None:
        paper, stem = full.split("/", 1)
        estimate = {"kind": "estimate", "id": full, "bench": result, "config": cfg,
                    "provenance": records.provenance(None, start, end, backend)}
        out = records.write_record(Path(save_dir) / "estimates" / f"{paper}.{stem}.json", estimate)
        print(f"estimate: {out}", file=stdout)
    return result
