"""What an Exp 2a/2b net answers at the sequence end (§5.2; docs/deviations.md, "Task 2b: the end cannot be told").

    python tools/long_lag_end_profile.py <checkpoint.npz | record.weights.npz>
        [--config hochreiter1997/long_lag_2b] [--end-marker] [--sequences 400] [--seed 7] [--out profile.json]

The weights are a run's ``checkpoint.npz`` (in its ``.work`` folder, or inside a kept archive
``results/checkpoints/hochreiter1997/long_lag_2b-*.tgz``: extract a copy elsewhere) or a completed record's
``.weights.npz``; the construction stage (which trials have their cell, :mod:`reproductions.hochreiter1997.
construction`) comes with them. ``--end-marker`` draws the sequences under the ``task.end_marker`` reading.

Per trial, on the same fresh sequences: the outputs of the x and y units at the last prediction (the final
x|y, the only step 2b's criterion judges, E2.2) for sequences of each class, the same units' mean over the
middle steps (where both targets are 0), and the fraction of sequences that pass ABS(0.25) at the last
prediction (every output's error below 0.25). A net that cannot tell the last step from the middle ones
answers x and y alike everywhere; under squared error the best such answer is the rate at which each is the
target over all steps, ½ · 1/p (``base_rate``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from json_out import emit


def profile(pred: np.ndarray, codes: np.ndarray, p: int, threshold: float = 0.25) -> list[dict]:
    """Per trial, from pred (trials, n, p+1, p+1) and the symbol codes (n, p+1) of the sequences."""
    x_unit, y_unit = p - 1, p
    first = codes[:, 0]
    target = np.eye(p + 1)[codes[:, -1]]  # what the last prediction (made at step p − 1) should say
    rows = []
    for b, out in enumerate(pred):
        last, middle = out[:, -2], out[:, :-2]
        row = {"trial": b, "passes_at_end": round(float((np.abs(last - target) < threshold).all(-1).mean()), 4)}
        for name, unit in (("x", x_unit), ("y", y_unit)):
            of = first == unit
            row[f"class_{name}"] = {
                "end_out_x": round(float(last[of, x_unit].mean()), 4),
                "end_out_y": round(float(last[of, y_unit].mean()), 4),
                "middle_out_x": round(float(middle[of][..., x_unit].mean()), 4),
                "middle_out_y": round(float(middle[of][..., y_unit].mean()), 4),
            }
        rows.append(row)
    return rows


def load_model(path: Path, config: str):
    """(experiment, row config, model with the file's weights, sequences seen). A run's checkpoint stores the
    trainable then the non-trainable variables (``model_k``, with ``seen``); a record's ``.weights.npz`` stores
    ``model.weights`` in order (``arr_k``; ``seen`` from the record beside it). The construction stage is a
    non-trainable variable, so it comes with either."""
    import json

    from lstm_hist.registry import load

    _, _, experiment, cfg = load(config)
    with np.load(path) as f:
        final = "arr_0" in f.files
        if final:
            arrays = [f[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in f.files))]
            record = json.loads(Path(str(path).removesuffix(".weights.npz") + ".json").read_text(encoding="utf-8"))
            seen = int(record["metrics"].get("sequences_seen", 0))
        else:
            arrays = [f[f"model_{i}"] for i in range(sum(k.startswith("model_") for k in f.files))]
            seen = int(f["seen"])
    model = experiment.model(trials=arrays[0].shape[0], **cfg["model"])
    variables = model.weights if final else model.trainable_variables + model.non_trainable_variables
    for variable, value in zip(variables, arrays, strict=True):
        variable.assign(value)
    return experiment, cfg, model, seen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", type=Path, help="a run's checkpoint.npz or a record's .weights.npz")
    parser.add_argument("--config", default="hochreiter1997/long_lag_2b")
    parser.add_argument("--end-marker", action="store_true", help="draw sequences under task.end_marker")
    parser.add_argument("--sequences", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="also write the profile as JSON here")
    args = parser.parse_args(argv)

    from lstm_hist.backend import select_backend

    select_backend(None)
    from reproductions.hochreiter1997.tasks.long_lag import long_lag_symbols

    experiment, cfg, model, seen = load_model(args.weights, args.config)
    stage = model.non_trainable_variables
    task = {**cfg["task"], "end_marker": args.end_marker}
    batch = long_lag_symbols(np.random.default_rng(args.seed), args.sequences, **task)
    trials = model.get_layer("lstm1997").cell.trials
    x, mask = np.tile(batch.x, (trials, 1)), np.tile(batch.mask(), (trials, 1))
    p = task["p"]
    pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, args.sequences, p + 1, p + 1)
    emit({"weights": str(args.weights), "config": args.config, "task": task, "seen": seen,
          "sequences": args.sequences, "seed": args.seed, "base_rate": 0.5 / p,
          "cells_added": [int(a.sum()) for a in np.asarray(stage[0]).reshape(trials, -1)] if stage else None,
          "trials": profile(pred, batch.x, p, cfg["protocol"]["threshold"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
