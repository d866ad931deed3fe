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

import numpy as np

import trial_nets
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    trial_nets.add_arguments(parser, "hochreiter1997/long_lag_2b", 400)
    parser.add_argument("--end-marker", action="store_true", help="draw sequences under task.end_marker")
    args = parser.parse_args(argv)

    experiment, cfg, model, seen = trial_nets.load_model(args.weights, args.config)
    from reproductions.hochreiter1997.tasks.long_lag import long_lag_symbols

    stage = model.non_trainable_variables
    trials = model.get_layer("lstm1997").cell.trials
    task = {**cfg["task"], "end_marker": args.end_marker}
    batch = long_lag_symbols(np.random.default_rng(args.seed), args.sequences, **task)
    pred = trial_nets.predict(model, batch)  # (trials, sequences, p + 1, p + 1)
    p = task["p"]
    emit({"weights": str(args.weights), "config": args.config, "task": task, "seen": seen,
          "sequences": args.sequences, "seed": args.seed, "base_rate": 0.5 / p,
          "cells_added": [int(a.sum()) for a in np.asarray(stage[0]).reshape(trials, -1)] if stage else None,
          "trials": profile(pred, batch.x, p, cfg["protocol"]["threshold"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
