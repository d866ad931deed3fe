"""What the added cell of a 2a/2b net (Exp 2, §5.2) has learnt: per trial, from a record and its final weights.

    python tools/long_lag_cell_profile.py <record>.json [<record>.weights.npz]

The net of Table 10 row 2a/2b has one cell and its input gate, both seeing the p+1 input units only (no biases,
no output gate, g = logistic, h = identity), and p+1 output units that see the inputs and the cell. The task is
solved when the cell stores which of x or y began the sequence and the outputs read it at the last step. Printed
per trial: when the cell was added, the fraction of the last window's sequences that met ABS(0.25) at the end of
the run, the cell-input and input-gate weights from x and from y, their means over the middle symbols a_i, and
the cell → output x / output y weights. ``stored`` is the state the first step writes, y^in(x)·g(x) for an
x-sequence and y^in(y)·g(y) for a y-sequence: the task needs them apart, while a cell whose x and y rows are
alike (both near 1: the cell used as a bias, §4's "abuse problem"; both near 0: a dead cell) stores nothing
about the class. For 2a (fixed middle) it also runs the two training sequences through the net (a NumPy forward
pass of the net above: s(t) = s(t−1) + y^in(t)·g(net_c(t)), y_k = f(w_k,u(t) + w_k,c·s(t))) and prints the largest
absolute output error over every step and output unit, and the step where it occurs (p−1 = the last target, the
x/y prediction): the quantity ABS(0.25) bounds. docs/deviations.md (Exp 2) uses it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) → inf for very negative nets: the logistic is then 0, as it should be
        return 1.0 / (1.0 + np.exp(-x))


def profile(record: dict, weights: dict) -> list[dict]:
    """One row per trial. ``weights``: the ``.weights.npz`` arrays (cell/gate kernel (N, p+1, 2) with columns
    [cell input, input gate]; output kernel (N, p+2, p+1), last input row the cell)."""
    kernels = [np.asarray(a) for a in weights.values()]
    hidden = next(a for a in kernels if a.ndim == 3 and a.shape[-1] == 2)
    output = next(a for a in kernels if a.ndim == 3 and a.shape[1] == hidden.shape[1] + 1)
    p = hidden.shape[1] - 1
    x, y = p - 1, p  # deviations E2.1: a_1 … a_(p-1) = units 0 … p-2, x = p-1, y = p
    mask = next((a for a in kernels if a.ndim == 2 and a.shape[0] == hidden.shape[0]), None)
    fixed_middle = not (record.get("config") or {}).get("task", {}).get("random_middle", False)
    rows = []
    for b, trial in enumerate(record.get("trials") or []):
        stored = {k: float(sigmoid(hidden[b, u, 0]) * sigmoid(hidden[b, u, 1])) for k, u in (("x", x), ("y", y))}
        rows.append({
            "trial": b, "added_at": trial.get("blocks_added_at"), "solved": trial.get("solved"),
            "correct": trial.get("recent_correct_fraction"),
            "x_cell": float(hidden[b, x, 0]), "x_gate": float(hidden[b, x, 1]),
            "y_cell": float(hidden[b, y, 0]), "y_gate": float(hidden[b, y, 1]),
            "a_cell": float(hidden[b, :x, 0].mean()), "a_gate": float(hidden[b, :x, 1].mean()),
            "cell_to_x": float(output[b, -1, x]), "cell_to_y": float(output[b, -1, y]),
            "stored_x": stored["x"], "stored_y": stored["y"],
            "worst_x": worst_error(hidden, output, mask, b, x) if fixed_middle else None,
            "worst_y": worst_error(hidden, output, mask, b, y) if fixed_middle else None,
        })
    return rows


def worst_error(hidden: np.ndarray, output: np.ndarray, mask: np.ndarray | None, b: int, first: int) -> tuple:
    """(largest |target − output| over steps and units, its step, the final state) for the 2a sequence that
    begins and ends with unit ``first`` (x or y) and has a_1 … a_(p−1) between."""
    p = hidden.shape[1] - 1
    active = 1.0 if mask is None else float(np.ravel(mask[b])[0])
    sequence = [first, *range(p - 1), first]
    state, worst = 0.0, (0.0, -1)
    for t, unit in enumerate(sequence[:-1]):
        state += active * sigmoid(hidden[b, unit, 1]) * sigmoid(hidden[b, unit, 0])
        out = sigmoid(output[b, unit, :] + output[b, -1, :] * active * state)
        target = np.zeros(p + 1)
        target[sequence[t + 1]] = 1.0
        error = float(np.max(np.abs(target - out)))
        if error > worst[0]:
            worst = (error, t)
    return (*worst, state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("weights", nargs="?", help="default: the record's .weights.npz beside it")
    args = parser.parse_args(argv)
    record = json.loads(Path(args.record).read_text(encoding="utf-8"))
    weights_path = Path(args.weights or str(args.record).removesuffix(".json") + ".weights.npz")
    with np.load(weights_path) as arrays:
        rows = profile(record, {k: arrays[k] for k in arrays.files})
    print("trial added_at solved correct | x: cell gate | y: cell gate | a_i: cell gate | cell→x cell→y | "
          "stored x   y | worst error (step) x-seq, y-seq")
    for r in rows:
        print(f"{r['trial']:>5} {str(r['added_at']):>8} {str(r['solved']):>6} {r['correct']:>7.3f} | "
              f"{r['x_cell']:6.2f} {r['x_gate']:6.2f} | {r['y_cell']:6.2f} {r['y_gate']:6.2f} | "
              f"{r['a_cell']:6.2f} {r['a_gate']:6.2f} | {r['cell_to_x']:6.2f} {r['cell_to_y']:6.2f} | "
              f"{r['stored_x']:.3f} {r['stored_y']:.3f} | "
              + ", ".join(f"{w[0]:.3f} ({w[1]})" for w in (r["worst_x"], r["worst_y"]) if w is not None))
    apart = sum(abs(r["stored_x"] - r["stored_y"]) > 0.5 for r in rows)
    print(f"trials whose cell stores x and y at least 0.5 apart: {apart} of {len(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
