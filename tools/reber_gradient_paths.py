"""What the truncation removes from the embedded-Reber gradient (Exp 1, §5.1; App. A.1 against §6's full gradient).

    python tools/reber_gradient_paths.py <record>.json [<record's .work>/checkpoint.npz] [--initial]
                                         [--steps all|lag] [--out F.json]

Per trial, on its 256 training strings and at its weights (the record's final weights unless a run's checkpoint is
given; ``--initial``: the weights the run started from, drawn as the runner draws them from the record's seed),
the gradient of ½·SSE (eq. 16 with H1's factor; ``--steps lag``: only the long-lag step's error, the
prediction of the closing T/P) summed over the strings, once with App. A.1's truncated gradient and once with the
full gradient (backpropagation through each string), both with the record's initial activations. Each weight
group is printed with the two gradients' norms and their cosine: the groups are the weights into the cells, the
input gates and the output gates, each split into those from the input units (and the gate biases) and those from
the recurrent units (cells and gates at t − 1), and the output units' weights. A cosine near 1 means the
truncation keeps that group's direction; a small norm under truncation beside a large full one means the group
learns through the paths the truncation cuts; "kept" is the full gradient's component along itself that the
truncated one has, (truncated · full) / |full|² (1: all of it). Solved and unsolved trials are summed up apart.

Both gradients are the sum over the strings of one update each, not the per-step updates the row trains with:
this compares directions, not the training. docs/deviations.md ("The Reber gap") uses it.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def group_slices(cells: int, blocks: int) -> dict[str, tuple[str, slice, slice | None]]:
    """name → (variable, rows, columns) of each weight group; columns index the units [cells, in gates, out gates]."""
    units = {"cells": slice(0, cells), "input gates": slice(cells, cells + blocks),
             "output gates": slice(cells + blocks, cells + 2 * blocks)}
    groups = {}
    for name, cols in units.items():
        groups[f"{name} ← inputs"] = ("kernel", slice(None), cols)
        groups[f"{name} ← recurrent"] = ("recurrent_kernel", slice(None), cols)
    groups["input gate biases"] = ("input_gate_bias", slice(None), None)
    groups["output gate biases"] = ("output_gate_bias", slice(None), None)
    groups["outputs ← cells"] = ("output", slice(None), slice(None))
    return groups


def trial_gradients(experiment, cfg: dict, arrays: list[np.ndarray], pairs, truncate: bool, lag_only: bool):
    """Per variable, the gradient (trials, …) of ½·SSE over each trial's training strings."""
    import jax
    import jax.numpy as jnp

    from reproductions.hochreiter1997.training.criteria import step_targets

    trials = arrays[0].shape[0]
    model = experiment.model(trials=trials, **{**cfg["model"], "truncate_gradient": truncate, "fast_path": False})
    for variable, value in zip(model.trainable_variables, arrays, strict=True):
        variable.assign(value)
    names = [v.path.split("/")[-1] if v.path.startswith("lstm1997") else "output" for v in model.trainable_variables]
    total = [np.zeros_like(a) for a in arrays]
    for j, (train, _) in enumerate(pairs):
        n = len(train.lengths)
        x = np.tile(train.x, (trials, 1, 1)).astype("float32")
        mask = np.tile(train.mask(), (trials, 1))
        weight = step_targets(mask)
        if lag_only:
            weight = np.zeros_like(weight)
            weight[np.arange(trials * n), np.tile(train.lengths - 3, trials)] = True
        # Only the trials that use pair j (b mod pairs = j) count: the others' rows get no error.
        rows_of = np.repeat(np.arange(trials) % len(pairs) == j, n)
        weight = (weight & rows_of[:, None]).astype("float32")
        target = np.zeros_like(x)
        target[:, :-1] = x[:, 1:]

        def loss(values):
            out, _ = model.stateless_call(values, [], [x, mask])
            return 0.5 * jnp.sum(weight[..., None] * (out - target) ** 2)

        grads = jax.grad(loss)([jnp.asarray(a) for a in arrays])
        for k, g in enumerate(grads):
            total[k] += np.asarray(g)
    return dict(zip(names, total, strict=True))


def compare(truncated: dict, full: dict, cells: int, blocks: int, trials: int) -> list[dict]:
    rows = []
    for b in range(trials):
        row = {"trial": b}
        for name, (var, r, c) in group_slices(cells, blocks).items():
            gt = truncated[var][b][r] if c is None else truncated[var][b][r][..., c]
            gf = full[var][b][r] if c is None else full[var][b][r][..., c]
            nt, nf = float(np.linalg.norm(gt)), float(np.linalg.norm(gf))
            dot = float(np.sum(gt * gf))
            cos = dot / (nt * nf) if nt > 0 and nf > 0 else float("nan")
            kept = dot / nf**2 if nf > 0 else float("nan")  # the full gradient's share along itself that truncation keeps
            row[name] = {"truncated": nt, "full": nf, "cos": cos, "kept": kept}
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("checkpoint", nargs="?", help="default: the record's final weights, <record>.weights.npz")
    parser.add_argument("--initial", action="store_true", help="the run's initial weights (from its seed)")
    parser.add_argument("--steps", choices=("all", "lag"), default="all")
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    from reber_record import load_record

    loaded = load_record(args.record, args.checkpoint, backend="jax")
    experiment, cfg, pairs, solved, arrays = loaded.experiment, loaded.cfg, loaded.pairs, loaded.solved, loaded.arrays
    if args.initial:
        import keras

        from lstm_hist import seeds

        keras.utils.set_random_seed(seeds.weights_seed_online(loaded.seed))
        start = experiment.model(trials=arrays[0].shape[0], **cfg["model"])  # as training/online.py builds it
        arrays = [np.asarray(v) for v in start.trainable_variables]
    trials = arrays[0].shape[0]
    blocks, cells = cfg["model"]["blocks"], cfg["model"]["blocks"] * cfg["model"].get("block_size", 1)
    lag_only = args.steps == "lag"
    truncated = trial_gradients(experiment, cfg, arrays, pairs, True, lag_only)
    full = trial_gradients(experiment, cfg, arrays, pairs, False, lag_only)
    rows = compare(truncated, full, cells, blocks, trials)
    for r in rows:
        r["solved"] = bool(solved[r["trial"]])
    groups = list(group_slices(cells, blocks))
    summary = {}
    print(f"error at {'the long-lag step only' if lag_only else 'every step with a target'}; per group: norm "
          "truncated / full, cosine, kept = (truncated · full) / |full|² (means over the trials)")
    for label, members in (("solved", [r for r in rows if r["solved"]]), ("unsolved", [r for r in rows if not r["solved"]])):
        if not members:
            continue
        summary[label] = {g: {k: float(np.nanmean([r[g][k] for r in members]))
                              for k in ("truncated", "full", "cos", "kept")} for g in groups}
        print(f"{label} ({len(members)} trials)")
        for g in groups:
            s = summary[label][g]
            print(f"  {g:24s} {s['truncated']:9.4f} / {s['full']:9.4f}   cos {s['cos']:+.3f}   kept {s['kept']:+.2f}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"record": args.record, "steps": args.steps, "rows": rows, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
