"""Where trained embedded-Reber nets keep the branch (Exp 1, §5.1): is it written into a cell, and does it survive
the inner string?

    python tools/reber_branch_profile.py <record>.json [<record's .work>/checkpoint.npz] [--out F.json]

An embedded string is B, the branch (T or P), the inner string (B … E, whose own symbols include T and P), the
branch again, E. To predict the closing symbol at the long-lag step (length − 3) a net must write the branch into
a cell at step 1 and keep it there while the inner string's T and P arrive, among them the inner string's first
symbol at step 3, which follows a B exactly as the branch at step 1 does. Per trial, on its training strings,
this prints the cell whose state tells the two branches apart best at the long-lag step, how well it does so (the
balanced accuracy of the best threshold on s_c, 0.5 = not at all, 1 = perfectly) after step 1 and there, and the
input gate of its block at step 1 against its mean over the inner string (steps 3 to the long-lag step) and over
the inner string's T and P steps alone: a gate open over the inner string adds the inner symbols' g to the stored
branch, a sum that varies from string to string. Solved and unsolved trials are then summed up apart.

Reads the record's resolved config and seed as ``tools/reber_error_profile.py`` does; the weights are the record's
final weights (``<record>.weights.npz``) unless a run's checkpoint is given. docs/deviations.md ("The Reber gap")
uses it.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from trial_nets import run_states


def separation(values: np.ndarray, branch_is_t: np.ndarray) -> float:
    """Balanced accuracy of the best threshold (either direction) on ``values`` (strings,) for the two branches."""
    order = np.argsort(values, kind="stable")
    ranked, labels = values[order], branch_is_t[order]
    n_t, n_p = labels.sum(), (~labels).sum()
    if n_t == 0 or n_p == 0:
        return float("nan")
    # A threshold after the k smallest values (P below it, T above; the other direction is 1 − that), only
    # where the values change: equal values cannot be put on two sides.
    below_p = np.concatenate([[0], np.cumsum(~labels)])
    above_t = n_t - np.concatenate([[0], np.cumsum(labels)])
    cuts = np.concatenate([[True], ranked[1:] > ranked[:-1], [True]])
    accuracy = 0.5 * (below_p[cuts] / n_p + above_t[cuts] / n_t)
    return float(np.max(np.maximum(accuracy, 1 - accuracy)))


def profile(model, pairs, solved: np.ndarray) -> list[dict]:
    """Per trial: the cell that separates the branches best at the long-lag step, its separation after step 1 and
    there, and its block's input gate at step 1, over the inner string and over the inner string's T/P steps."""
    from reproductions.hochreiter1997.tasks.reber import INDEX

    cell = model.get_layer("lstm1997").cell
    trials, size = len(solved), cell.block_size
    rows = []
    for j, (train, _) in enumerate(pairs):
        n = len(train.lengths)
        s, gates, _ = run_states(cell, np.tile(train.x, (trials, 1, 1)))
        s, gates = s.reshape(trials, n, *s.shape[1:]), gates.reshape(trials, n, *gates.shape[1:])
        symbols = train.x.argmax(-1)
        branch_is_t = symbols[:, 1] == INDEX["T"]
        lag = train.lengths - 3
        steps = np.arange(train.x.shape[1])
        # The inner string from its first symbol (step 3) to its E (the long-lag step), and its T/P steps.
        inner = (steps >= 3) & (steps <= lag[:, None])
        inner_tp = inner & np.isin(symbols, [INDEX["T"], INDEX["P"]])
        for b in range(j, trials, len(pairs)):
            at_lag = s[b, np.arange(n), lag]  # (strings, cells)
            per_cell = [separation(at_lag[:, c], branch_is_t) for c in range(cell.cells)]
            best = int(np.nanargmax(per_cell))
            block = best // size
            rows.append({
                "trial": b, "solved": bool(solved[b]), "cell": best,
                "after_step_1": separation(s[b, :, 1, best], branch_is_t),
                "at_lag": per_cell[best],
                "gate_step_1": float(gates[b, :, 1, block].mean()),
                "gate_inner": float(gates[b, :, :, block][inner].mean()),
                "gate_inner_tp": float(gates[b, :, :, block][inner_tp].mean()),
            })
    return sorted(rows, key=lambda r: r["trial"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("checkpoint", nargs="?", help="default: the record's final weights, <record>.weights.npz")
    parser.add_argument("--out", help="also write the rows and the summary as JSON here")
    args = parser.parse_args(argv)

    from reber_record import load_record

    loaded = load_record(args.record, args.checkpoint)
    rows = profile(loaded.model(), loaded.pairs, loaded.solved)
    print("trial solved | cell | branch told apart (balanced accuracy): after step 1, at the long-lag step | "
          "its input gate: step 1, inner string, inner T/P")
    for r in rows:
        print(f"{r['trial']:5d} {'yes' if r['solved'] else 'no ':>6} | {r['cell']:4d} | {r['after_step_1']:.3f} "
              f"{r['at_lag']:.3f} | {r['gate_step_1']:.3f} {r['gate_inner']:.3f} {r['gate_inner_tp']:.3f}")
    keys = ("after_step_1", "at_lag", "gate_step_1", "gate_inner", "gate_inner_tp")
    summary = {}
    for name, group in (("solved", [r for r in rows if r["solved"]]), ("unsolved", [r for r in rows if not r["solved"]])):
        if group:
            summary[name] = {"trials": len(group), **{k: float(np.mean([r[k] for r in group])) for k in keys}}
            print(f"{name} ({len(group)}): " + ", ".join(f"{k} {summary[name][k]:.3f}" for k in keys))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"record": args.record, "rows": rows, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
