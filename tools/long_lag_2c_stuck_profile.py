"""What a 2c net (Exp 2, §5.2, Table 3) does, per trial: solved vs stuck at chance.

    python tools/long_lag_2c_stuck_profile.py <record>.json <checkpoint.npz | trace.npz> [--at SEEN]
        [--sequences 256] [--trials 14,0,1] [--labels 14,0,1]

The weights come from a run's ``checkpoint.npz`` (``model_k`` arrays; the kept archives
``results/checkpoints/hochreiter1997/long_lag_2c_*.tgz`` hold one: extract them under /tmp), from a completed
record's ``.weights.npz``, or from a trace
written by ``long_lag_2c_select_trials.py --trace`` (``--at`` picks the snapshot after that many sequences).
``--labels`` names the checkpoint's trials (default: a ``selection.yaml`` beside the record, else 0 … N−1).

Per trial, on ``--sequences`` fresh sequences drawn from ``default_rng(seed)`` (the same ones for every trial):

* ``window``: the fraction correct of the run's last window (the checkpoint's ring buffer), ``ok``: the fraction
  of the fresh sequences whose both outputs are within 0.2 of their target at the end (ABS(0.2)), ``flip``: the
  same with x ↔ y swapped at step 1 and the target swapped with it (1: the net answers from what it stored at step
  1; 0: from something else, e.g. the final x|y when it is fed, ``task.final_input``), ``mse``.
* per block j (2 blocks of 1 cell): y^in and y^out averaged over all real steps, at the trigger e (step L−2) and
  at the end (L−1); the state s_c at e and at the end, and ``sep``: the mean of h(s_c(end)) over x-sequences
  minus that over y-sequences (what the cell tells the outputs about the class; 0 = nothing stored).
* ``y_out end x/y``: the output gates at the end over x- and over y-sequences.
* ``net_k``: the output units' net input at the end, mean over x- and over y-sequences (unit 0 = x, unit 1 = y).
* the truncated gradient (App. A.1, the package's own: the model's JAX fast path, ``fast_jax``, with the row's
  ``loss_scale``) per weight group — cell input, input gate, output gate (each: the columns of the input and
  recurrent kernels feeding those units) and the output layer: ``|g|``, the L2 norm of one sequence's gradient,
  averaged over the sequences (one update's step is lr·|g|), and ``|ḡ|``, the norm of the mean gradient (the
  drift that persists over many updates), beside ``|w|``, the group's weight norm.
* ``w_og``: the mean weight into the output gates from the 6 recurrent units (cells and gates).

``--history S1,S2,…`` (a trace only): the weights from the inputs x and y into the two output gates at those
snapshots, per trial, with the window's fraction correct.

The forward trace runs the package's cell (``LSTM1997Cell.recurrent_step``) step by step; its input projection
is the kernel row of each step's symbol (the one-hot product, as the fast path's gather), and its final outputs
are checked against the model's own prediction (``agreement`` in the header). docs/deviations.md ("Table 3's rows
with q ≥ 200") uses it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GROUPS = ("cell", "in_gate", "out_gate", "output")


def load_weights(path: Path, at: int | None, record: dict) -> tuple[list[np.ndarray], dict]:
    """The model's trainable arrays and what else the file or the record says (window, seen)."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    if "arr_0" in arrays:  # a completed record's final weights (<record stem>.weights.npz)
        window = np.array([t.get("recent_correct_fraction", np.nan) for t in record["trials"]], dtype=float)
        return _numbered(arrays, "arr_"), {"seen": int(record.get("sequences_seen") or
                                                                    record["metrics"].get("sequences_seen", 0)),
                                                        "window": window, "solved": None}
    if "model_0" in arrays:
        weights = _numbered(arrays, "model_")
        correct = arrays["window_correct"].sum(1) / np.maximum(np.minimum(arrays["window_count"], 10_000), 1)
        return weights, {"seen": int(arrays["seen"]), "window": correct, "solved": arrays["solved"]}
    seen = list(arrays["seen"])
    i = len(seen) - 1 if at is None else seen.index(at)
    return [a[i] for a in _numbered(arrays, "w")], {"seen": int(seen[i]), "window": arrays["correct"][i],
                                                      "solved": None}


def _numbered(arrays: dict, prefix: str) -> list[np.ndarray]:
    """arrays[prefix0], arrays[prefix1], … (the model's trainable variables in order)."""
    out = []
    while f"{prefix}{len(out)}" in arrays:
        out.append(arrays[f"{prefix}{len(out)}"])
    return out


def forward_trace(cell, codes: np.ndarray):
    """The cell over codes (N, k, L) with trial b's weights: s (L, N·k, C) and r (L, N·k, U)."""
    from keras import ops

    n, k, steps = codes.shape
    kernel = np.asarray(cell.kernel.numpy())
    padded = np.concatenate([kernel, np.zeros_like(kernel[:, :1])], axis=1)  # index `in` = a padded step: zeros
    proj = padded[np.arange(n)[:, None, None], np.minimum(codes, kernel.shape[1])]
    bias = cell.unit_bias()  # (N, U) or None (2c: no biases)
    if bias is not None:
        proj = proj + np.asarray(bias)[:, None, None, :]
    proj = proj.reshape(n * k, steps, -1)
    states = cell.get_initial_state(n * k)
    s_all, r_all = [], []
    for t in range(steps):
        _, states = cell.recurrent_step(ops.convert_to_tensor(proj[:, t]), states)
        s_all.append(np.asarray(states[0]))
        r_all.append(np.asarray(states[1]))
    return np.stack(s_all), np.stack(r_all)


def activations(cell, out_kernel, codes, lengths, which) -> dict[str, np.ndarray]:
    """Per trial (N, …): gate activations, states, class separation and output net inputs (see the module doc)."""
    n, k, steps = codes.shape
    s, r = forward_trace(cell, codes)  # r = [y^c, y^in, y^out]
    cells, blocks = cell.cells, cell.blocks
    s, r = s.reshape(steps, n, k, -1), r.reshape(steps, n, k, -1)
    t = np.arange(steps)[:, None, None]
    real = (t < lengths[None, None, :])[..., None]
    at = lambda a, step: np.take_along_axis(a, np.broadcast_to(step[None, None, :, None], (1, n, k, a.shape[-1])),
                                            axis=0)[0]  # noqa: E731
    end, trig = lengths - 1, lengths - 2
    y_in, y_out = r[..., cells : cells + blocks], r[..., cells + blocks :]
    with np.errstate(over="ignore"):  # exp overflows for |s_c| ≫ 1: h is then ±1, as it should be
        h_end = 2.0 / (1.0 + np.exp(-at(s, end))) - 1.0
    y_c_end = at(r, end)[..., :cells]
    net = np.einsum("nkc,nco->nko", y_c_end, out_kernel)
    is_x = which == 0
    return {
        "in_mean": (y_in * real).sum((0, 2)) / real.sum((0, 2)), "in_e": at(y_in, trig).mean(1),
        "in_end": at(y_in, end).mean(1), "out_mean": (y_out * real).sum((0, 2)) / real.sum((0, 2)),
        "out_e": at(y_out, trig).mean(1), "out_end": at(y_out, end).mean(1),
        "s_e": at(s, trig).mean(1), "s_end": at(s, end).mean(1), "abs_s_end": np.abs(at(s, end)).mean(1),
        "sep": h_end[:, is_x].mean(1) - h_end[:, ~is_x].mean(1),
        "out_end_x": at(y_out, end)[:, is_x].mean(1), "out_end_y": at(y_out, end)[:, ~is_x].mean(1),
        "net_x": net[:, is_x].mean(1), "net_y": net[:, ~is_x].mean(1), "out_pred": 1.0 / (1.0 + np.exp(-net)),
    }


def group_norms(grads: list[np.ndarray], cells: int, blocks: int) -> np.ndarray:
    """(N, 4) L2 norms of the gradient's groups: cell input, input gate, output gate, output layer."""
    cols = (slice(0, cells), slice(cells, cells + blocks), slice(cells + blocks, None))
    parts = [np.sqrt((grads[0][..., c] ** 2).sum((1, 2)) + (grads[1][..., c] ** 2).sum((1, 2))) for c in cols]
    return np.stack([*parts, np.sqrt((grads[2] ** 2).sum((1, 2)))], axis=-1)


def gradients(model, codes, masks, targets, loss_scale, cells, blocks, picks):
    """(mean over sequences of the per-sequence group norms, norms of the mean gradient), each (N, 4); ``picks``:
    the positions of the input kernel, recurrent kernel and output kernel among the trainable variables (bias
    gradients, where a variant has biases, are left out)."""
    import jax
    import jax.numpy as jnp

    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]

    def loss(tv, x, mask, y):
        pred, _ = model.stateless_call(tv, ntv, [x, mask], training=True)
        return loss_scale * jnp.sum((y - pred) ** 2)  # eq. 16 with the row's loss_scale (trainer: steps.py)

    grad = jax.jit(jax.grad(loss))
    n, k = codes.shape[:2]
    norms, total = np.zeros((n, 4)), None
    for i in range(k):  # one sequence per trial: one online update's gradient
        every = grad(tv, codes[:, i], masks[:, i], targets[:, i])
        g = [np.asarray(every[j]) for j in picks]
        norms += group_norms(g, cells, blocks)
        total = g if total is None else [a + b for a, b in zip(total, g)]
    return norms / k, group_norms([a / k for a in total], cells, blocks)


def scores(model, codes, masks, targets, p: int, threshold: float):
    """The model's outputs (N, k, 2) and per trial: ABS(threshold) fraction, the same with x ↔ y swapped at step 1
    and the target with it (``flip``), and the MSE."""
    n, k = codes.shape[:2]

    def predict(x):
        return np.asarray(model.predict_on_batch([x.reshape(n * k, -1), masks.reshape(n * k, -1)])).reshape(n, k, -1)

    pred = predict(codes)
    flipped = codes.copy()
    flipped[..., 1] = 2 * p + 5 - flipped[..., 1]  # x ↔ y at step 1 (units p + 2, p + 3)
    ok = (np.abs(targets - pred) < threshold).all(-1).mean(1)
    stores = (np.abs(targets[..., ::-1] - predict(flipped)) < threshold).all(-1).mean(1)
    return pred, ok, stores, ((targets - pred) ** 2).mean((1, 2))


def print_activations(names, windows, ok, stores, mse, act, w_og, blocks: int, cells: int) -> None:
    print("trial window   ok   flip    mse  | y_in mean/e/end (blk0; blk1)      | y_out mean/e/end (blk0; blk1)     | "
          "y_out end x/y (b0; b1) | s_c e/end (c0; c1)          | sep c0 c1   | net_k x-seq / y-seq    | w_og")
    for i, b in enumerate(names):
        fmt3 = lambda a: "; ".join(" ".join(f"{act[f'{a}_{w}'][i, j]:.2f}" for w in ("mean", "e", "end"))  # noqa: E731
                                   for j in range(blocks))
        gates = "; ".join(f"{act['out_end_x'][i, j]:.2f} {act['out_end_y'][i, j]:.2f}" for j in range(blocks))
        states = "; ".join(f"{act['s_e'][i, c]:+.2f} {act['s_end'][i, c]:+.2f}" for c in range(cells))
        print(f"{b:5d} {windows[i]:6.3f} {ok[i]:5.3f} {stores[i]:5.3f} {mse[i]:6.3f} | {fmt3('in'):32s} | "
              f"{fmt3('out'):32s} | {gates:22s} | {states:27s} | {act['sep'][i, 0]:+.2f} {act['sep'][i, 1]:+.2f} | "
              f"{act['net_x'][i, 0]:+.2f} {act['net_x'][i, 1]:+.2f} / {act['net_y'][i, 0]:+.2f} "
              f"{act['net_y'][i, 1]:+.2f} | {w_og[i]:+.2f}")


def history(trace: Path, p: int, at: list[int]) -> None:
    """From a trace: per snapshot and trial, the input weights x → and y → the two output gates (units p+2, p+3 →
    output-gate columns) and the window's fraction correct: how each block's gate takes its side."""
    with np.load(trace) as f:
        seen, kernel, correct, labels = list(f["seen"]), f["w0"], f["correct"], list(f["indices"])
    gates = slice(kernel.shape[-1] - 2, None)
    print("seen | " + " | ".join(f"trial {b}: x→og0 og1, y→og0 og1, correct" for b in labels))
    for s in at:
        i = seen.index(s)
        print(f"{s:>6} | " + " | ".join(
            f"{kernel[i, j, p + 2, gates][0]:+.2f} {kernel[i, j, p + 2, gates][1]:+.2f}, "
            f"{kernel[i, j, p + 3, gates][0]:+.2f} {kernel[i, j, p + 3, gates][1]:+.2f}, {correct[i, j]:.2f}"
            for j in range(len(labels))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("weights", type=Path)
    parser.add_argument("--at", type=int, help="a trace's snapshot: after this many sequences (default: the last)")
    parser.add_argument("--sequences", type=int, default=256)
    parser.add_argument("--trials", help="comma-separated trials of the file to profile (default: all)")
    parser.add_argument("--labels", help="comma-separated names of the file's trials")
    parser.add_argument("--history", help="a trace only: comma-separated snapshots (seen) of the x/y → output-gate "
                                          "weights to print instead of the profile")
    args = parser.parse_args(argv)
    if args.history:
        record = json.loads(Path(args.record).read_text(encoding="utf-8"))
        history(args.weights, record["config"]["task"]["p"], [int(s) for s in args.history.split(",")])
        return 0

    from lstm_hist.backend import select_backend

    select_backend("jax")
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.training.protocol import OnlineProtocol

    record = json.loads(Path(args.record).read_text(encoding="utf-8"))
    _, _, experiment, _ = load(record["id"].split(".smoke")[0])
    cfg, seed = record["config"], int(record.get("seed", 0))
    weights, info = load_weights(args.weights, args.at, record)
    keep = list(range(weights[0].shape[0])) if not args.trials else [int(b) for b in args.trials.split(",")]
    selection = Path(args.record).parent.parent / "selection.yaml"
    labels = ([int(b) for b in args.labels.split(",")] if args.labels else
              json.loads(selection.read_text())["indices"] if selection.exists() else list(range(len(weights[0]))))
    weights = [w[keep] for w in weights]
    n = len(keep)
    # The forward pass is the same either way; the gradients printed are App. A.1's truncated ones (the fast
    # path), also for a run that trained with the full gradient.
    model = experiment.model(trials=n, **{**cfg["model"], "truncate_gradient": True})
    for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)
    cell = model.get_layer("lstm1997").cell
    out_layer = model.get_layer("output")
    paths = [v.path for v in model.trainable_variables]
    picks = [paths.index(v.path) for v in (cell.kernel, cell.recurrent_kernel, out_layer.kernel)]
    kernel, recurrent, out_kernel = (weights[j] for j in picks)

    # Records without task.final_input were made before it existed, when the final x|y was always fed.
    task_cfg = {"final_input": True, **cfg["task"]}
    batch = experiment.task.symbols(np.random.default_rng(seed), args.sequences, **task_cfg)
    codes = np.broadcast_to(batch.x, (n, *batch.x.shape)).astype(np.int32)
    masks = np.broadcast_to(batch.mask(), (n, *batch.x.shape))
    targets = np.broadcast_to(batch.y, (n, *batch.y.shape)).astype(np.float32)
    which = np.argmax(batch.y, axis=-1)
    act = activations(cell, out_kernel, codes, batch.lengths, which)
    threshold = cfg["protocol"].get("threshold", 0.2)
    pred, ok, stores, mse = scores(model, codes, masks, targets, cfg["task"]["p"], threshold)
    protocol = OnlineProtocol(**cfg["protocol"])
    per_seq, drift = gradients(model, codes, masks, targets, protocol.loss_scale, cell.cells, cell.blocks, picks)
    w_norm = group_norms([kernel, recurrent, out_kernel], cell.cells, cell.blocks)
    w_og = recurrent[..., cell.cells + cell.blocks :].mean((1, 2))

    print(f"{record['id']}  {args.weights.name} after {info['seen']:,} sequences; {args.sequences} fresh sequences "
          f"(default_rng({seed}), final x|y {'fed' if task_cfg['final_input'] else 'not fed'}); lr "
          f"{protocol.learning_rate}; agreement of the cell trace with the model's output "
          f"{np.abs(act['out_pred'] - pred).max():.1e}")
    names = [labels[j] for j in keep]
    windows = [info["window"][j] for j in keep]
    print_activations(names, windows, ok, stores, mse, act, w_og, cell.blocks, cell.cells)
    print("trial | |g| per sequence: cell in_gate out_gate output | |mean g| over the sequences     | "
          "|w|: cell in_gate out_gate output")
    for i, b in enumerate(names):
        row = lambda a: " ".join(f"{v:8.1e}" for v in a[i])  # noqa: E731
        print(f"{b:5d} | {row(per_seq)} | {row(drift)} | {' '.join(f'{v:6.2f}' for v in w_norm[i])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
