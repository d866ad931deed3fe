"""Which part of the temporal order a trained Exp 6 net misses (§5.6, Table 9; docs/deviations.md, Exp 6).

    python tools/temporal_order_profile.py <record.weights.npz | checkpoint.npz>
        [--config hochreiter1997/temporal_order_6b] [--sequences 2560] [--seed 7] [--out profile.json]

The weights are a completed record's ``.weights.npz`` (its record beside it) or a run's ``checkpoint.npz``. Every
trial answers the same fresh sequences (the row's generator with ``default_rng(seed)``). Per trial:

* ``wrong``: sequences failing ABS(threshold) (any output's absolute error at or above the row's threshold), the
  paper's test count; ``argmax_wrong``: sequences whose most active output is not the target class;
* ``bit_error``: per relevant symbol k (X/Y at t_k), the fraction of sequences whose argmax class reads symbol k
  wrong (class = binary number of the symbols, X = 0, first most significant: task E6.2). A net that has learnt
  t1 and t2 but not t3 shows ≈ 0, 0, 0.5;
* ``bit_error_by_position``: the same per symbol, split at the middle of its position range (early / late t_k);
* ``class_correct``: per class (Q, R, S, U[, V, A, B, C]), the fraction of its sequences answered with it;
  ``never_answered``: the classes that are no sequence's argmax; ``own_output``: per class, the mean and the
  largest activation of its output unit on the sequences of that class (target 1), and ``own_slope``: the
  mean σ'(net) = y(1 − y) there, the factor by which the sigmoid scales that unit's error (eq. 19): a unit
  whose slope is ~0 on its own class cannot learn to answer it (a flat spot of squared error on a sigmoid);
* ``confusions``: the most frequent (target, argmax) class pairs among the wrong answers.
"""

from __future__ import annotations

import argparse

import numpy as np

import trial_nets
from json_out import emit

CLASSES = ("Q", "R", "S", "U", "V", "A", "B", "C")
X, Y = 6, 7  # input codes of the relevant symbols (reproductions/hochreiter1997/tasks/temporal_order.py)


def relevant_positions(x: np.ndarray, relevant: int) -> np.ndarray:
    """(n, relevant) 1-based positions of the X/Y symbols in one-hot inputs x (n, L, 8)."""
    marked = x[..., X] + x[..., Y] > 0.5
    positions = np.stack([np.flatnonzero(row) + 1 for row in marked])
    if positions.shape[1] != relevant:
        raise ValueError(f"expected {relevant} relevant symbols per sequence, found {positions.shape[1]}")
    return positions


def profile(pred: np.ndarray, target: np.ndarray, positions: np.ndarray, ranges, threshold: float) -> list[dict]:
    """Per trial, from pred (trials, n, 2**r) and one-hot target (n, 2**r): the measures of the module docstring."""
    relevant = positions.shape[1]
    true = target.argmax(-1)
    shifts = np.arange(relevant - 1, -1, -1)
    true_bits = (true[:, None] >> shifts) & 1
    rows = []
    for b, p in enumerate(pred):
        guess = p.argmax(-1)
        bits_wrong = ((guess[:, None] >> shifts) & 1) != true_bits
        by_position = []
        for k, (low, high) in enumerate(ranges):
            early = positions[:, k] <= (low + high) / 2
            by_position.append({"early": float(bits_wrong[early, k].mean()), "late": float(bits_wrong[~early, k].mean())})
        off = guess != true
        pairs, counts = np.unique(np.stack([true[off], guess[off]], 1), axis=0, return_counts=True) if off.any() \
            else (np.zeros((0, 2), int), np.zeros(0, int))
        order = np.argsort(-counts)[:5]
        rows.append({
            "trial": b,
            "wrong": int((np.abs(p - target) >= threshold).any(-1).sum()),
            "argmax_wrong": int(off.sum()),
            "bit_error": [round(float(v), 4) for v in bits_wrong.mean(0)],
            "bit_error_by_position": by_position,
            "class_correct": {CLASSES[c]: round(float((guess[true == c] == c).mean()), 4) for c in range(p.shape[-1])},
            "never_answered": [CLASSES[c] for c in range(p.shape[-1]) if not (guess == c).any()],
            "own_output": {CLASSES[c]: [round(float(p[true == c, c].mean()), 4), round(float(p[true == c, c].max()), 4)]
                           for c in range(p.shape[-1])},
            "own_slope": {CLASSES[c]: float(f"{(p[true == c, c] * (1 - p[true == c, c])).mean():.3g}")
                          for c in range(p.shape[-1])},
            "confusions": [{"target": CLASSES[t], "answer": CLASSES[a], "count": int(c)}
                           for (t, a), c in zip(pairs[order], counts[order])],
        })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    trial_nets.add_arguments(parser, "hochreiter1997/temporal_order_6b", 2560)
    args = parser.parse_args(argv)

    experiment, cfg, model, seen = trial_nets.load_model(args.weights, args.config)
    from reproductions.hochreiter1997.tasks.temporal_order import POSITIONS

    batch = experiment.task(np.random.default_rng(args.seed), args.sequences, **cfg["task"])
    pred = trial_nets.predict(model, batch)  # (trials, sequences, classes)
    relevant = cfg["task"]["relevant"]
    rows = profile(pred, batch.y, relevant_positions(batch.x, relevant), POSITIONS[relevant],
                   cfg["protocol"]["threshold"])
    emit({"weights": str(args.weights), "config": args.config, "seen": seen, "sequences": args.sequences,
          "seed": args.seed, "threshold": cfg["protocol"]["threshold"], "trials": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
