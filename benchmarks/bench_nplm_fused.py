"""Bengio et al. (2003) NPLM rows: updates/s of ``fit``'s step (``train_on_batch``) and of the fused path.

    python benchmarks/bench_nplm_fused.py [--ids bengio2003/mlp1 bengio2003/mlp9] [--updates 200]
        [--chunks 8] [--out benchmarks/results/gpu/nplm_fused.json]

One process. For each row (its full config, the real Brown stream) the same model and batches of 128 windows
are trained by each variant, alternating for ``--repeat`` rounds after every shape is compiled:

* ``fit_step``: ``model.train_on_batch`` per batch (the step ``fit`` dispatches, without fit's callbacks, so an
  upper bound on fit's rate);
* ``fused``: ``lstm_hist.training.minibatch.fused`` — ``fused_steps`` updates per jitted ``lax.scan`` call over
  batches gathered on the device.

The arithmetic limit beside them: forward and backward ≈ 3 × 2 × (h·(n−1)m + (h + (n−1)m·direct)·|V|) FLOP per
window (the output layer dominates), at the device's dense float32 rate (``--peak-tflops``; H200: ≈67 TFLOP/s by
the datasheet without TF32, which XLA may use for float32 products on Hopper).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def flops_per_window(model_cfg: dict) -> float:
    n, h, m, v = model_cfg["order"], model_cfg["hidden"], model_cfg["features"], model_cfg["vocab_size"]
    x = (n - 1) * m
    forward = h * x + (h + (x if model_cfg.get("direct", True) else 0)) * v
    return 3 * 2 * forward


def bench_row(exp_id: str, updates: int, chunks: int, repeat: int) -> dict:
    from lstm_hist import registry
    from lstm_hist.seeds import minibatch_seeds
    from lstm_hist.training.minibatch import fused
    from lstm_hist.training.minibatch.data import load_data
    from lstm_hist.training.minibatch.trainer import build_model

    _, _, experiment, cfg = registry.load(exp_id)
    protocol = experiment.protocol(**cfg["protocol"])
    seeds = minibatch_seeds(0)
    data = load_data(experiment, cfg["task"], seeds["data"])
    x, y = data["train"]
    batch = protocol.batch_size
    model = build_model(experiment, cfg["model"], protocol, seeds["init"])
    order = np.random.default_rng([seeds["shuffle"], 0]).permutation(len(x)).astype(np.int32)
    blocks = order[: (len(x) // batch) * batch].reshape(-1, batch)
    steps = fused.FusedSteps(model, x, y)
    k = protocol.fused_steps or 200

    def fit_step(i):
        rows = blocks[i % len(blocks)]
        return model.train_on_batch(x[rows], y[rows])

    def fused_chunks(state, i):
        state, losses = steps.train(state, blocks[(i * k) % (len(blocks) - k):][:k])
        np.asarray(losses)  # wait for the device
        return state

    fit_step(0), fit_step(1)
    state = fused_chunks(steps.state(), 0)
    rounds = []
    for r in range(repeat):
        start = time.perf_counter()
        for i in range(updates):
            fit_step(i)
        float(np.asarray(model.trainable_variables[0].value).ravel()[0])
        fit_rate = updates / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(chunks):
            state = fused_chunks(state, i + 1)
        fused_rate = chunks * k / (time.perf_counter() - start)
        rounds.append({"fit_step": fit_rate, "fused": fused_rate, "ratio": fused_rate / fit_rate})
    best_fit = max(r["fit_step"] for r in rounds)
    best_fused = max(r["fused"] for r in rounds)
    return {"id": exp_id, "batch_size": batch, "fused_steps": k, "batches_per_epoch": int(np.ceil(len(x) / batch)),
            "parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
            "flops_per_update": flops_per_window(cfg["model"]) * batch,
            "fit_step_updates_per_s": best_fit, "fused_updates_per_s": best_fused, "fused_over_fit": best_fused / best_fit,
            "fused_epoch_seconds": np.ceil(len(x) / batch) / best_fused, "rounds": rounds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", nargs="+", default=["bengio2003/mlp1", "bengio2003/mlp9"])
    parser.add_argument("--updates", type=int, default=200, help="fit steps timed per round")
    parser.add_argument("--chunks", type=int, default=8, help="fused calls timed per round")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=67.0, help="the device's dense float32 rate")
    parser.add_argument("--out", default=None, help="JSON file (default: print only)")
    args = parser.parse_args(argv)
    import jax
    import keras

    rows = [bench_row(i, args.updates, args.chunks, args.repeat) for i in args.ids]
    for row in rows:
        row["arithmetic_limit_updates_per_s"] = args.peak_tflops * 1e12 / row["flops_per_update"]
        print(f"{row['id']}: fit step {row['fit_step_updates_per_s']:.0f}/s, fused {row['fused_updates_per_s']:.0f}/s "
              f"({row['fused_over_fit']:.1f}x; epoch {row['fused_epoch_seconds']:.2f} s), arithmetic limit "
              f"{row['arithmetic_limit_updates_per_s']:.0f}/s at {args.peak_tflops} TFLOP/s")
    out = {"device": str(jax.devices()[0].device_kind), "platform": platform.platform(), "jax": jax.__version__,
           "keras": keras.__version__, "peak_tflops_assumed": args.peak_tflops, "rows": rows}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
