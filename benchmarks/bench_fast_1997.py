"""The 1997 cell's JAX fast path against its generic keras.ops loop: ms per online update, one process, interleaved.

    KERAS_BACKEND=jax python benchmarks/bench_fast_1997.py [--rounds 7] [--updates 100]
        [--only adding_t100 adding_t1000 long_lag_2c_q1000_p1000] [--out benchmarks/results/cpu/fast_1997.json]

One update = one fresh sequence per trial, forward, truncated gradient (App. A.1), SGD step: the jitted step of
``reproductions.hochreiter1997.training.steps.Stepper`` that ``lstm-hist run`` uses. For each workload the paths are timed in turn,
round after round, in the same process (the project machine is shared: the ratio of the two paths within one
round is what the table reports, as the median over rounds; absolute times are the fastest round). Where a
Keras built-in applies, ``keras.layers.LSTM`` (the modern baseline's net, one model with one row per sequence) is
timed in the same rounds. ``forward_fast`` is the fast path's jitted forward pass alone (where the time goes).
"main" is today's main branch: the generic loop fed unaligned inputs (``lstm_hist.arrays``: JAX copies those on
every call, 89 MB per 2c update); "generic" is the generic loop with this branch's aligned inputs.

The limit is arithmetic, not measured: the larger of (a) the update's floating-point operations at
``--gflops`` (what two cores sustain on small vector work) and (b) the sequential floor, steps × ``--step-ns``
(one time step's chain of ~20 dependent vector operations cannot run faster than a few ns each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORKLOADS = ("hochreiter1997/adding_t100", "hochreiter1997/adding_t1000", "hochreiter1997/long_lag_2c_q1000_p1000")
BASELINES = {"hochreiter1997/adding_t100": "hochreiter1997/adding_t100_keras_lstm"}


def flops_per_update(model_cfg: dict, trials: int, steps: int) -> float:
    """Forward + truncated backward FLOPs of one update: net inputs (2·(in + U)·U per step), ~12 elementwise
    operations per unit per step forward and as many backward, the input and recurrent weight gradients
    (2·(in + U)·U per step again)."""
    blocks, size = model_cfg["blocks"], model_cfg.get("block_size", 1)
    cells = blocks * size
    units = cells + blocks * (2 if model_cfg.get("output_gate", True) else 1)
    recurrent = units if model_cfg.get("recurrent", True) else 0
    matmul = 2 * (model_cfg["inputs"] + recurrent) * units
    return float(trials * steps * (2 * matmul + 24 * units))


def _stepper(experiment, cfg, protocol, fast, seed=0):
    from reproductions.hochreiter1997.training.online import build_learner

    model, _, stepper = build_learner(experiment, {**cfg["model"], "fast_path": fast}, protocol, seed)
    return model, stepper


def _keras_lstm_stepper(exp_id, trials):
    import keras

    from lstm_hist.registry import load
    from reproductions.hochreiter1997.training.steps import Stepper

    _, _, experiment, cfg = load(exp_id)
    keras.utils.set_random_seed(0)
    model = experiment.model(trials=None, **cfg["model"])
    return Stepper(model, keras.optimizers.SGD(0.1), 0.5)


def _unaligned(a):
    """A copy of ``a`` whose data starts 4 bytes past a 64-byte boundary: how main handed data to JAX."""
    import numpy as np

    buffer = np.empty(a.nbytes + 68, dtype=np.uint8)
    start = (-buffer.ctypes.data) % 64 + 4
    out = buffer[start : start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _time(step, data, updates):
    x, mask, y, active = data
    k = x.shape[0]
    start = time.perf_counter()
    for i in range(updates):
        step(x[i % k], mask[i % k], y[i % k], active)
    return (time.perf_counter() - start) / updates * 1e3


def bench_workload(exp_id: str, rounds: int, updates: int, gflops: float, step_ns: float) -> dict:
    import jax
    import numpy as np

    from lstm_hist.registry import load
    from lstm_hist.seeds import trial_streams
    from reproductions.hochreiter1997.training.data import TrainingData

    _, _, experiment, cfg = load(exp_id)
    protocol = experiment.protocol(**cfg["protocol"])
    n = protocol.trials
    data = TrainingData(experiment.task, cfg["task"], protocol, 0, trial_streams(0, "train", n))
    big = cfg["model"]["inputs"] > 100
    x, mask, y = data.draw(2 if big else 16)
    active = np.ones(n, dtype=bool)
    batch = (x, mask, y, active)
    batches = {"main": (_unaligned(x), mask, y, active)}  # today's main: generic loop, unaligned inputs
    paths = {}
    fast_model = None
    for name, fast in (("generic", False), ("fast", True)):
        model, stepper = _stepper(experiment, cfg, protocol, fast)
        fast_model = model if fast else fast_model
        paths[name] = stepper
        if not fast:
            paths["main"] = stepper
    if exp_id in BASELINES:
        lstm = _keras_lstm_stepper(BASELINES[exp_id], None)
        # one model, its N rows the N sequences per update (as many as N trials see); one "trial" to freeze
        paths["keras.layers.LSTM"] = lambda xi, mi, yi, ai, s=lstm: s(xi, mi, yi, np.ones(1, dtype=bool))
    tv = [v.value for v in fast_model.trainable_variables]
    forward = jax.jit(lambda tv, xi, mi: fast_model.stateless_call(tv, [], [xi, mi])[0])
    for name, step in paths.items():  # compile and warm up
        _time(step, batches.get(name, batch), 2)
    paths["forward_fast"] = lambda xi, mi, yi, ai: forward(tv, xi, mi).block_until_ready()
    _time(paths["forward_fast"], batch, 2)
    per_round = {name: [] for name in paths}
    block = max(1, updates // 3)
    names = list(paths)
    for round_ in range(rounds):  # the paths take turns every `block` updates: a load change hits them all alike;
        spent = dict.fromkeys(paths, 0.0)  # the order rotates, so no path always follows the same other one
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for start in range(0, updates, block):
            for name in order:
                spent[name] += _time(paths[name], batches.get(name, batch), block) * block
        for name in paths:
            per_round[name].append(spent[name] / (len(range(0, updates, block)) * block))
    steps = x.shape[2]
    flops = flops_per_update(cfg["model"], n, steps)
    limit_ms = max(flops / (gflops * 1e9) * 1e3, steps * step_ns * 1e-6)
    ratios = [g / f for g, f in zip(per_round["generic"], per_round["fast"])]
    main_ratios = [g / f for g, f in zip(per_round["main"], per_round["fast"])]
    out = {
        "id": exp_id, "trials": n, "padded_steps": steps, "rounds": rounds, "updates_per_round": updates,
        "ms_per_update_fastest": {k: round(min(v), 4) for k, v in per_round.items()},
        "ms_per_update_median": {k: round(statistics.median(v), 4) for k, v in per_round.items()},
        "ms_per_update_rounds": {k: [round(t, 4) for t in v] for k, v in per_round.items()},
        "generic_over_fast_median": round(statistics.median(ratios), 2),
        "generic_over_fast_per_round": [round(r, 2) for r in ratios],
        "main_over_fast_median": round(statistics.median(main_ratios), 2),
        "main_over_fast_per_round": [round(r, 2) for r in main_ratios],
        "flops_per_update": flops,
        "limit_ms": round(limit_ms, 4),
        "fast_over_limit": round(min(per_round["fast"]) / limit_ms, 1),
    }
    if "keras.layers.LSTM" in per_round:
        out["keras_lstm_over_fast_median"] = round(statistics.median(
            [k / f for k, f in zip(per_round["keras.layers.LSTM"], per_round["fast"])]), 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=[w.split("/")[1] for w in WORKLOADS])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--updates", type=int, default=100, help="updates per round (2c: a tenth, at least 2)")
    parser.add_argument("--gflops", type=float, default=20.0, help="sustained GFLOP/s assumed for the limit")
    parser.add_argument("--step-ns", type=float, default=200.0, help="sequential floor per time step, ns")
    parser.add_argument("--out", default="benchmarks/results/cpu/fast_1997.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import device, provenance, utc_now

    start = utc_now()
    rows = []
    for stem in args.only:
        exp_id = f"hochreiter1997/{stem}"
        updates = max(2, args.updates // 10) if "2c" in stem else args.updates
        row = bench_workload(exp_id, args.rounds, updates, args.gflops, args.step_ns)
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("id", "ms_per_update_median", "generic_over_fast_median",
                                              "main_over_fast_median", "limit_ms", "fast_over_limit")}), flush=True)
    prov = provenance(" ".join(sys.argv), start, utc_now(), os.environ["KERAS_BACKEND"])
    prov["device"] = device(os.environ["KERAS_BACKEND"])
    prov["load_average_at_end"] = list(os.getloadavg())
    record = {"kind": "benchmark", "what": "1997 cell: fast path vs generic loop", "assumptions": {
        "gflops": args.gflops, "step_ns": args.step_ns}, "rows": rows, "provenance": prov}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
