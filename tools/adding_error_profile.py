"""Where a trained adding-problem net goes wrong (Exp 4, §5.4, Table 7), and, with ``--cells``, what its cells do.

    python tools/adding_error_profile.py <checkpoint.npz | record.weights.npz | --initial SEED>
        [--config hochreiter1997/adding_t100]
        [--sequences 4000] [--seed 7] [--cells [--min-length T] [--out profile.json]]
    python tools/adding_error_profile.py --summarise profile.json

The weights are a run's last checkpoint (``checkpoint.npz`` in the ``.work`` folder the run leaves beside its
record, or inside a kept archive ``results/checkpoints/hochreiter1997/adding_*.tgz``: extract a copy elsewhere) or
a completed record's ``.weights.npz`` (its record must lie beside it); ``--initial SEED`` takes instead the
weights a run of the row with that seed starts from. Fresh sequences come from the row's
generator with ``default_rng(seed)``, the same ones for every trial.

Default: per band of X1 + X2, how many sequences there were, the fraction of trials' outputs with absolute error
≥ 0.04 and the mean signed error. docs/deviations.md ("The adding-problem gap") uses it.

``--cells`` (docs/deviations.md, "Table 7, T = 1000: what the stuck trials look like"): per trial, on the fresh
sequences (``--min-length`` runs the net on another T than its row's),

* the output: its mean and spread (std over sequences) against the target's, their correlation, the MSE and the
  fraction wrong (ABS(0.04)): a net that answers a constant has spread ≈ 0 and MSE ≈ the target variance 1/24;
* per block, the input and output gates: mean, fraction of real steps > 0.9 and < 0.1, the input gate's mean at
  the two marked steps against all steps;
* per cell: |s_c| at the end and its maximum over the sequence, the fraction of real steps with |h(s_c)| > 0.9
  (h saturated), the state written at the two marked steps (|Δs| = y^in·g there, against an unmarked step's), the
  correlation of s_c(end) with X1 + X2 (does the cell store the sum?) and the drift after the later mark
  (s_c(end) − s_c(later mark): what the cell writes while it should hold);
* the signal: the output weights w_kc, |∂E/∂s_c(end)| (what the CEC carries back to every step, App. A.1), the
  value → cell weight's gradient split into the marked steps' part and the unmarked steps' part (RMS over
  sequences; the unmarked part is noise: the values there are uniform and unrelated to the target), and the
  per-group gradient norms of ``long_lag_2c_stuck_profile.gradients`` (one sequence's |g| against the mean
  gradient's |ḡ|).

The trace runs the package's cell (``LSTM1997Cell.recurrent_step``) step by step; ``agreement`` is the largest
difference between the output it implies and the model's own prediction.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`
from long_lag_2c_stuck_profile import gradients, load_weights

BANDS = [(-2.0, -1.8), (-1.8, -1.6), (-1.6, -1.2), (-1.2, 1.2), (1.2, 1.6), (1.6, 1.8), (1.8, 2.01)]
SAT = 0.9  # a gate or h(s_c) beyond this (or a gate below 1 − this) counts as saturated
UNSIGNED = ("corr_s_end_sum", "w_out", "value_to_cell", "cell_bias")  # --summarise: their size, either sign serves


def load_nets(path: Path | None, config: str, initial: int | None = None):
    """(experiment, row config, model with the file's trial weights, sequences seen); with ``initial`` (and no
    file) the weights a run of this row with that seed starts from (``online.build_learner``'s seeding)."""
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(config)
    if path is None:
        import keras

        from lstm_hist.seeds import weights_seed_online

        keras.utils.set_random_seed(weights_seed_online(initial))
        return experiment, cfg, experiment.model(trials=cfg["protocol"]["trials"], **cfg["model"]), 0
    stem = str(path).removesuffix(".weights.npz")
    record = json.loads(Path(stem + ".json").read_text(encoding="utf-8")) if stem != str(path) else {}
    weights, info = load_weights(path, None, record)
    model = experiment.model(trials=weights[0].shape[0], **cfg["model"])
    for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)
    return experiment, cfg, model, info["seen"]


def print_bands(pred: np.ndarray, target: np.ndarray, threshold: float) -> None:
    error = pred - target[None]
    wrong = np.abs(error) >= threshold
    total = 4.0 * (target - 0.5)  # X1 + X2
    print("wrong per trial:", wrong.sum(axis=1).tolist())
    for low, high in BANDS:
        band = (total >= low) & (total < high)
        print(f"X1+X2 in [{low:+.1f}, {high:+.1f}): {band.sum():5d} sequences, "
              f"wrong {wrong[:, band].mean():.3f}, mean error {error[:, band].mean():+.4f}")


def trace(cell, x: np.ndarray):
    """The cell over x (B, L, in), rows trial-major: s (L, B, C), r (L, B, U) and the net inputs (L, B, U)."""
    from keras import ops

    proj = np.asarray(cell.project_inputs(ops.convert_to_tensor(x)))
    trials, rows = cell.trials, x.shape[0]
    recurrent = np.repeat(np.asarray(cell.recurrent_kernel.numpy()), rows // trials, axis=0)  # (B, U, U)
    states = cell.get_initial_state(rows)
    s_all, r_all, net_all = [], [], []
    for t in range(x.shape[1]):
        net_all.append(proj[:, t] + np.einsum("bu,buv->bv", np.asarray(states[1]), recurrent))
        _, states = cell.recurrent_step(ops.convert_to_tensor(proj[:, t]), states)
        s_all.append(np.asarray(states[0]))
        r_all.append(np.asarray(states[1]))
    return np.stack(s_all), np.stack(r_all), np.stack(net_all)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


def cell_rows(cell, out_kernel, out_bias, pred, batch, loss_scale, threshold) -> list[dict]:
    """One dict per trial (see the module doc). pred (N, k); out_kernel (N, C, 1), out_bias (N,)."""
    n, k = pred.shape
    steps = batch.x.shape[1]
    x = np.tile(batch.x, (n, 1, 1))
    s, r, net = trace(cell, x)
    cells, blocks, size = cell.cells, cell.blocks, cell.block_size
    s, r, net = (a.reshape(steps, n, k, -1) for a in (s, r, net))
    y_in, y_out = r[..., cells : cells + blocks], r[..., cells + blocks :]
    with np.errstate(over="ignore"):
        h = 2.0 / (1.0 + np.exp(-s)) - 1.0
        sig_c = 1.0 / (1.0 + np.exp(-net[..., :cells]))
    g_slope = 4.0 * sig_c * (1.0 - sig_c)
    real = (np.arange(steps)[:, None] < batch.lengths[None, :])[:, None, :, None]  # (L, 1, k, 1)
    seq, end = np.arange(k), batch.lengths - 1
    marks = np.sort(np.argsort(-batch.x[..., 1], axis=1)[:, :2], axis=1)  # the two steps with marker 1.0
    is_mark = np.zeros((steps, k), bool)
    is_mark[marks[:, 0], seq] = is_mark[marks[:, 1], seq] = True
    unmarked = real[:, 0, :, 0] & ~is_mark
    target, total = batch.y[:, 0], batch.x[seq[:, None], marks, 0].sum(1)
    y_in_cells = np.repeat(y_in, size, axis=-1)
    delta_s = y_in_cells * (4.0 / (1.0 + np.exp(-net[..., :cells])) - 2.0)  # what step t writes: y^in·g(net_c)
    s_end, out_end = s[end, :, seq].transpose(1, 0, 2), y_out[end, :, seq].transpose(1, 0, 2)  # (N, k, ·)
    h_end = 2.0 / (1.0 + np.exp(-s_end)) - 1.0
    y_c_end = np.repeat(out_end, size, -1) * h_end
    pred_from_trace = 1.0 / (1.0 + np.exp(-(np.einsum("nkc,nc->nk", y_c_end, out_kernel[..., 0]) + out_bias[:, None])))
    # ∂E/∂s_c(end) for E = loss_scale·(y − d)², y = σ(Σ w_kc y^c + b): what the CEC carries back to every step
    d_s = (loss_scale * 2 * (pred - target[None]) * pred * (1 - pred))[..., None] * out_kernel[:, None, :, 0] \
        * np.repeat(out_end, size, -1) * 0.5 * (1 - h_end**2)
    per_step = y_in_cells * g_slope * batch.x[:, :, 0].T[:, None, :, None]  # ∂s_c(end)/∂w_value,c by step
    grad_mark = d_s * (per_step * is_mark[:, None, :, None]).sum(0)
    grad_rest = d_s * (per_step * unmarked[:, None, :, None]).sum(0)
    later = s[marks[:, 1], :, seq].transpose(1, 0, 2)
    rows = []
    for b in range(n):
        mean_real = lambda a: ((a[:, b] * real[:, 0]).sum((0, 1)) / real[:, 0].sum((0, 1))).tolist()  # noqa: E731
        rows.append({
            "trial": b, "agreement": float(np.abs(pred_from_trace[b] - pred[b]).max()),
            "output": {"mean": float(pred[b].mean()), "std": float(pred[b].std()),
                       "target_std": float(target.std()), "corr_target": corr(pred[b], target),
                       "mse": float(((pred[b] - target) ** 2).mean()),
                       "wrong": float((np.abs(pred[b] - target) >= threshold).mean())},
            "in_gate": {"mean": mean_real(y_in), "open": mean_real(y_in > SAT), "closed": mean_real(y_in < 1 - SAT),
                        "at_marks": y_in[:, b][is_mark].mean(0).tolist()},
            "out_gate": {"mean": mean_real(y_out), "open": mean_real(y_out > SAT),
                         "closed": mean_real(y_out < 1 - SAT), "at_end": out_end[b].mean(0).tolist()},
            "cells": {"abs_s_end": np.abs(s_end[b]).mean(0).tolist(),
                      "abs_s_max": np.abs(s[:, b] * real[:, 0]).max(0).mean(0).tolist(),
                      "h_saturated": mean_real(np.abs(h) > SAT),
                      "abs_ds_marked": np.abs(delta_s[:, b][is_mark]).mean(0).tolist(),
                      "abs_ds_unmarked": np.abs(delta_s[:, b][unmarked]).mean(0).tolist(),
                      "corr_s_end_sum": [corr(s_end[b, :, c], total) for c in range(cells)],
                      "drift_after_later_mark": np.abs(s_end[b] - later[b]).mean(0).tolist()},
            "signal": {"w_out": out_kernel[b, :, 0].tolist(), "abs_dE_ds_end": np.abs(d_s[b]).mean(0).tolist(),
                       "grad_value_to_cell_marked_rms": np.sqrt((grad_mark[b] ** 2).mean(0)).tolist(),
                       "grad_value_to_cell_unmarked_rms": np.sqrt((grad_rest[b] ** 2).mean(0)).tolist()},
        })
    return rows


def weights_of(cell, b: int) -> dict:
    """Trial b's weights the profile reads: value/marker → cells and gates, the input-gate biases."""
    kernel = np.asarray(cell.kernel.numpy())[b]
    c, j = cell.cells, cell.blocks
    return {"value_to_cell": kernel[0, :c].tolist(), "marker_to_in_gate": kernel[1, c : c + j].tolist(),
            "value_to_in_gate": kernel[0, c : c + j].tolist(),
            "in_gate_bias": np.asarray(cell.input_gate_bias_weight.numpy())[b].tolist(),
            "cell_bias": np.asarray(cell.cell_bias_weight.numpy())[b].tolist()}


def profile_cells(model, batch, cfg) -> list[dict]:
    from reproductions.hochreiter1997.training.protocol import OnlineProtocol

    cell = model.get_layer("lstm1997").cell
    out_layer = model.get_layer("output")
    trials, k = cell.trials, batch.x.shape[0]
    x, mask = np.tile(batch.x, (trials, 1, 1)), np.tile(batch.mask(), (trials, 1))
    pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, k)
    protocol = OnlineProtocol(**cfg["protocol"])
    rows = cell_rows(cell, np.asarray(out_layer.kernel.numpy()), np.asarray(out_layer.bias.numpy())[:, 0], pred, batch,
                     protocol.loss_scale,
                     cfg["protocol"].get("threshold", 0.04))
    paths = [v.path for v in model.trainable_variables]
    picks = [paths.index(v.path) for v in (cell.kernel, cell.recurrent_kernel, out_layer.kernel)]
    shape = (trials, k)
    per_seq, mean_g = gradients(model, x.reshape(*shape, *x.shape[1:]), mask.reshape(*shape, -1),
                                np.tile(batch.y, (trials, 1)).reshape(*shape, 1), protocol.loss_scale,
                                cell.cells, cell.blocks, picks)
    for b, row in enumerate(rows):
        row["weights"] = weights_of(cell, b)
        row["grad_groups"] = {"groups": ["cell", "in_gate", "out_gate", "output"],
                              "per_sequence": per_seq[b].tolist(), "of_mean": mean_g[b].tolist()}
    return rows


def print_cells(rows: list[dict]) -> None:
    f = lambda v: " ".join(f"{a:.2f}" for a in v)  # noqa: E731
    e = lambda v: " ".join(f"{a:.1e}" for a in v)  # noqa: E731
    print("trial | out std/target std corr mse | in gate mean; >0.9; <0.1; at marks | out gate mean; >0.9; <0.1 | "
          "|s_end| | h sat | |ds| mark/unmarked | corr(s_end, X1+X2) | w_out | |dE/ds_end| | grad value→c mark/rest")
    for r in rows:
        o, i, g, c, s = r["output"], r["in_gate"], r["out_gate"], r["cells"], r["signal"]
        print(f"{r['trial']:>5} | {o['std']:.3f}/{o['target_std']:.3f} {o['corr_target']:+.2f} {o['mse']:.4f} | "
              f"{f(i['mean'])}; {f(i['open'])}; {f(i['closed'])}; {f(i['at_marks'])} | {f(g['mean'])}; "
              f"{f(g['open'])}; {f(g['closed'])} | {f(c['abs_s_end'])} | {f(c['h_saturated'])} | "
              f"{e(c['abs_ds_marked'])} / {e(c['abs_ds_unmarked'])} | {f(c['corr_s_end_sum'])} | "
              f"{e(s['w_out'])} | {e(s['abs_dE_ds_end'])} | {e(s['grad_value_to_cell_marked_rms'])} / "
              f"{e(s['grad_value_to_cell_unmarked_rms'])}")


def summarise(path: Path) -> None:
    """A saved ``--cells`` profile in one line per quantity: per cell (or block) min / median / max over the trials."""
    profile = json.loads(path.read_text(encoding="utf-8"))
    trials = profile["trials"]
    print(f"{profile['weights']} ({profile['config']}, T={profile['task']['min_length']}, "
          f"{profile['sequences']} sequences, {len(trials)} trials): min / median / max over the trials")
    for part in ("output", "in_gate", "out_gate", "cells", "signal", "weights", "grad_groups"):
        for key in trials[0][part]:
            if key == "groups":
                continue
            values = np.array([np.ravel(t[part][key]) for t in trials], dtype=float)  # (trials, units)
            if key in UNSIGNED:
                values = np.abs(values)
            cols = " | ".join(f"{np.min(v):.2g} / {np.median(v):.2g} / {np.max(v):.2g}" for v in values.T)
            print(f"{part}.{'|' + key + '|' if key in UNSIGNED else key}: {cols}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, nargs="?", help="the weights (or --initial)")
    parser.add_argument("--initial", type=int, help="no weights file: the row's initial weights for this seed")
    parser.add_argument("--config", default="hochreiter1997/adding_t100")
    parser.add_argument("--sequences", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cells", action="store_true", help="the cell profile instead of the error bands")
    parser.add_argument("--min-length", type=int, help="--cells: run the net on this T (default: the row's)")
    parser.add_argument("--out", type=Path, help="--cells: also write the profile as JSON here")
    parser.add_argument("--summarise", type=Path, help="print a saved --cells profile's ranges over the trials")
    args = parser.parse_args(argv)
    if args.summarise:
        summarise(args.summarise)
        return 0
    if (args.checkpoint is None) == (args.initial is None):
        parser.error("give exactly one of: a weights file, --initial SEED")

    from lstm_hist.backend import select_backend

    select_backend(None)  # the package default (JAX) unless KERAS_BACKEND says otherwise
    experiment, cfg, model, seen = load_nets(args.checkpoint, args.config, args.initial)
    task = {**cfg["task"], **({"min_length": args.min_length} if args.min_length else {})}
    batch = experiment.task(np.random.default_rng(args.seed), args.sequences, **task)
    trials = model.get_layer("lstm1997").cell.trials
    print(f"{trials} trials, {args.sequences} sequences of T={task['min_length']}, weights after {seen:,} sequences")
    if not args.cells:
        x, mask = np.tile(batch.x, (trials, 1, 1)), np.tile(batch.mask(), (trials, 1))
        pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, -1)
        print_bands(pred, batch.y[:, 0], cfg["protocol"].get("threshold", 0.04))
        return 0
    rows = profile_cells(model, batch, cfg)
    print_cells(rows)
    if args.out:
        emit({"weights": str(args.checkpoint) if args.checkpoint else f"initial, seed {args.initial}", "config": args.config, "seen": seen, "task": task,
              "sequences": args.sequences, "seed": args.seed, "saturation": SAT, "trials": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
