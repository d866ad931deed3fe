"""Per-step NLL of a Chung et al. (2014) music model's kept weights, broken down by piece length and by position.

Why (docs/deviations.md, Chung section, "Nottingham at the full protocol"): Nottingham's pieces run up to ~1,800
steps (median 255) and its test NLL is 0.1 nats above its validation NLL. If the gap to the paper sat in the long
pieces or late positions (a state that drifts over hundreds of steps, or noise that hurts long pieces most), the
per-step NLL would grow with the piece's length or the position in it. Evaluation only (no training): the row's
model with the record's ``.weights.npz``, each split's per-step NLL (summed over the note units, the report's
metric) pooled by piece-length bin and by position bin; the pooled total equals the record's ``<split>_nll``.
``nll_piece_mean`` is the other per-step average, each piece's mean NLL per step averaged over the pieces (long
pieces weigh as much as short ones): the paper does not say which of the two its Table 2 reports.
With ``--noise-draws N`` the same at the weights the training step sees (σ = the protocol's ``weight_noise`` on its
noisy variables, N draws): the difference from the clean NLL is what the weight noise costs each length/position.

    PYTHONPATH=$PWD python tools/chung_nll_by_length.py chung2014/nottingham_gru \
        --weights results/chung2014/nottingham_gru-seed0-20261130T122825-754650.weights.npz \
        --out results/explorations/chung_nottingham/nll_by_length.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`

LENGTH_BINS = (0, 128, 256, 384, 512, 1024, 10**6)
POSITION_BINS = (0, 64, 128, 256, 384, 512, 1024, 10**6)


def step_nll(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(B, T) Bernoulli NLL per step summed over the units, from logits: softplus(z) − y·z."""
    z = logits.astype(np.float64)
    return (np.logaddexp(0.0, z) - targets * z).sum(axis=-1)


def binned(values: list[np.ndarray], keys: list[np.ndarray], edges, pieces: bool = False) -> list[dict]:
    v, k = np.concatenate(values), np.concatenate(keys)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (k >= lo) & (k < hi)
        if sel.any():
            row = {"from": int(lo), "to": int(hi), "steps": int(sel.sum()), "nll": float(v[sel].mean())}
            if pieces:  # keys are the piece lengths: count the pieces in the bin
                row["pieces"] = int(sum(1 for key in keys if lo <= len(key) < hi))
            out.append(row)
    return out


def split_breakdown(model, split, batch_size: int = 32) -> dict:
    x, y, w = split
    per_step, length_key, position_key = [], [], []
    for start in range(0, len(x), batch_size):
        xb, yb, wb = x[start:start + batch_size], y[start:start + batch_size], w[start:start + batch_size]
        nll = step_nll(np.asarray(model.predict_on_batch(xb)), yb)
        for i in range(len(xb)):
            mask = wb[i] > 0
            n = int(mask.sum())
            per_step.append(nll[i][mask])
            length_key.append(np.full(n, n))
            position_key.append(np.arange(n))
    total = float(np.concatenate(per_step).mean())
    # the other way to average per step: each piece's own mean, then the mean over pieces (what a per-piece
    # monitor averaged over batches of one piece gives); equal to ``nll`` when every piece has one length
    piece_mean = float(np.mean([a.mean() for a in per_step if len(a)]))
    return {"nll": total, "nll_piece_mean": piece_mean, "pieces": len(per_step),
            "steps": int(sum(len(a) for a in per_step)),
            "nll_pieces_up_to_1024_steps": float(np.concatenate([a for a in per_step if len(a) <= 1024]).mean()),
            "by_piece_length": binned(per_step, length_key, LENGTH_BINS, pieces=True),
            "by_position": binned(per_step, position_key, POSITION_BINS)}


def noisy_breakdown(model, split, variables: list, std: float, draws: int, seed: int) -> dict:
    """``split_breakdown`` averaged over ``draws`` draws of N(0, std²) added to ``variables`` (the protocol's noisy
    weights; one draw for the whole split, as one draw per piece has the same per-piece distribution), the clean
    values restored afterwards."""
    rng = np.random.default_rng(seed)
    clean = [np.asarray(v.value) for v in variables]
    runs = []
    try:
        for _ in range(draws):
            for v, c in zip(variables, clean):
                v.assign(c + rng.normal(0.0, std, c.shape).astype(c.dtype))
            runs.append(split_breakdown(model, split))
    finally:
        for v, c in zip(variables, clean):
            v.assign(c)

    def mean_rows(key: str) -> list[dict]:
        return [{**row, "nll": float(np.mean([r[key][i]["nll"] for r in runs]))} for i, row in enumerate(runs[0][key])]

    return {"draws": draws, "std": std, "nll": float(np.mean([r["nll"] for r in runs])),
            "nll_per_draw": [r["nll"] for r in runs],
            "by_piece_length": mean_rows("by_piece_length"), "by_position": mean_rows("by_position")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", help="experiment id, e.g. chung2014/nottingham_gru")
    parser.add_argument("--weights", type=Path, required=True, help="a record's .weights.npz")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config overrides the record ran with")
    parser.add_argument("--noise-draws", type=int, default=0,
                        help="also score each split at the noisy weights (the protocol's weight_noise on its noisy "
                             "variables), averaged over this many draws (default 0: clean only)")
    parser.add_argument("--splits", default="train,valid,test", help="comma-separated splits (default all three)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.weights.is_file():
        print(f"error: no such file: {args.weights}", file=sys.stderr)
        return 2
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from lstm_hist.runner import build_protocol, resolve
    from lstm_hist.training.minibatch import build_model, derive_seeds
    from reproductions.chung2014.candidates import load_task

    full, path, experiment, cfg = resolve(args.row, overrides=args.overrides)
    protocol = build_protocol(experiment, cfg, path)
    data = load_task(experiment, cfg["task"], derive_seeds(0)["data"])
    # steps_per_epoch only feeds the (unused here) learning-rate schedule, which needs a value
    model = build_model(experiment, cfg["model"], protocol, derive_seeds(0)["init"],
                        steps_per_epoch=len(data["train"][0]))
    with np.load(args.weights) as npz:  # keras get_weights order, saved as arr_0, arr_1, ...
        model.set_weights([npz[f"arr_{i}"] for i in range(len(npz.files))])
    result = {"row": full, "weights": str(args.weights), "overrides": args.overrides,
              "splits": {name: split_breakdown(model, data[name]) for name in args.splits.split(",")}}
    if args.noise_draws > 0:
        variables = protocol.noisy_variables(model)
        result["noisy_variables"] = [v.path for v in variables]
        result["noisy"] = {name: noisy_breakdown(model, data[name], variables, protocol.weight_noise,
                                                 args.noise_draws, seed=k)
                           for k, name in enumerate(args.splits.split(","))}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
