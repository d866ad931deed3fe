"""The 1997 cell's JAX fast path against its generic keras.ops loop: ms per online update, one process, interleaved.

    KERAS_BACKEND=jax python benchmarks/bench_fast_1997.py [--rounds 7] [--updates 100]
        [--only adding_t100 adding_t1000 long_lag_2c_q1000_p1000 long_lag_2c_q200_p200 long_lag_2a]
        [--out benchmarks/results/cpu/fast_1997.json]

One update = one fresh sequence per trial, forward, truncated gradient (App. A.1), SGD step: the jitted step of
``reproductions.hochreiter1997.training.steps.Stepper`` that ``lstm-hist run`` uses. For each workload the paths are timed in turn,
round after round, in the same process (the project machine is shared: the ratio of the two paths within one
round is what the table reports, as the median over rounds; absolute times are the fastest round). Where a
Keras built-in applies, ``keras.layers.LSTM`` (the modern baseline's net, one model with one row per sequence) is
timed in the same rounds. ``forward_fast`` is the fast path's jitted forward pass alone (where the time goes).
"main" is today's main branch: the generic loop fed unaligned inputs (``lstm_hist.arrays``: JAX copies those on
every call, 89 MB per 2c update); "generic" is the generic loop with aligned inputs; "fast" the fast path on
one-hot vectors (main after the first issue-13 session); "symbols" (Exp 2 only) the fast path fed symbol indices
(``reproductions.hochreiter1997.symbols``), for 2a/2b the per-step RTRL of ``training.rtrl_symbols``. Under 2a's
``update: per_step`` the Keras model is not called while training, so "generic" and "fast" are the same one-hot
RTRL step there. Each path's process CPU time is recorded beside its wall time (``cpu_ms_per_update_*``); a
draw of one update's data (one-hot vectors or indices) is timed apart (``draw_cpu_ms``).

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

WORKLOADS = ("hochreiter1997/adding_t100", "hochreiter1997/adding_t1000", "hochreiter1997/long_lag_2c_q1000_p1000",
             "hochreiter1997/long_lag_2c_q200_p200", "hochreiter1997/long_lag_2a")
BASELINES = {"hochreiter1997/adding_t100": "hochreiter1997/adding_t100_keras_lstm"}


def flops_per_update(model_cfg: dict, trials: int, steps: int, symbols: bool = False, per_step: bool = False) -> float:
    """Forward + truncated backward FLOPs of one update: net inputs (2·(in + U)·U per step), ~12 elementwise
    operations per unit per step forward and as many backward, the input and recurrent weight gradients
    (2·(in + U)·U per step again). With symbol indices the input rows count as one (a gather, a scatter-add).
    Per-step RTRL (2a/2b): traces, gradient and update of W (~10·C·M + 2·M·U), and of the output weights V
    (Z × K, ~7 operations each: product, outer product, update; with indices only one input row of V)."""
    blocks, size = model_cfg["blocks"], model_cfg.get("block_size", 1)
    cells = blocks * size
    units = cells + blocks * (2 if model_cfg.get("output_gate", True) else 1)
    recurrent = units if model_cfg.get("recurrent", True) else 0
    inputs = 1 if symbols else model_cfg["inputs"]
    if per_step:
        m = model_cfg["inputs"] + recurrent + 1
        z = (inputs if model_cfg.get("output_sees_inputs") else 0) + cells + 1
        return float(trials * steps * (10 * cells * m + 2 * m * units + 7 * z * model_cfg["outputs"]))
    matmul = 2 * (inputs + recurrent) * units
    return float(trials * steps * (2 * matmul + 24 * units))


def _stepper(experiment, cfg, protocol, fast, seed=0, symbols=False):
    from reproductions.hochreiter1997.training.online import build_learner

    model_cfg = {**cfg["model"], "fast_path": fast, "symbol_inputs": symbols}
    model, _, stepper = build_learner(experiment, model_cfg, protocol, seed)
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


def _time(step, data, updates, cpu=False):
    """ms per update: wall time, or with ``cpu`` (wall, process CPU)."""
    x, mask, y, active = data
    k = x.shape[0]
    start, start_cpu = time.perf_counter(), time.process_time()
    for i in range(updates):
        step(x[i % k], mask[i % k], y[i % k], active)
    wall = (time.perf_counter() - start) / updates * 1e3
    return (wall, (time.process_time() - start_cpu) / updates * 1e3) if cpu else wall


def _draw_cpu_ms(data, repeats=3):
    """Process CPU ms to draw one update's data (all trials), median of ``repeats``."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        data.draw(1)
        times.append((time.process_time() - start) * 1e3)
    return round(statistics.median(times), 3)


def _block_path(stepper, batch, k):
    """The fast path, ``k`` updates per jitted call (``training.block_steps``): every k-th call runs the next block
    of k pre-drawn updates, the others do nothing, so ms per call is ms per update."""
    from reproductions.hochreiter1997.training.block_steps import BlockStepper

    block, (x, mask, y, active), calls = BlockStepper(stepper), batch, [0]
    blocks = x.shape[0] // k

    def step(xi, mi, yi, ai):
        if calls[0] % k == 0:
            j = (calls[0] // k % blocks) * k
            block(x[j : j + k], mask[j : j + k], y[j : j + k], active)
        calls[0] += 1

    return step


def _paths(exp_id, experiment, cfg, protocol, symbols, batch=None, block=0):
    """The steppers timed for one workload, and the dense fast path's model (for its forward pass alone)."""
    import numpy as np

    paths, fast_model = {}, None
    for name, fast in (("generic", False), ("fast", True)):
        model, paths[name] = _stepper(experiment, cfg, protocol, fast)
        fast_model = model if fast else fast_model
    paths["main"] = paths["generic"]
    if symbols:
        paths["symbols"] = _stepper(experiment, cfg, protocol, True, symbols=True)[1]
    if exp_id in BASELINES:
        lstm = _keras_lstm_stepper(BASELINES[exp_id], None)
        # one model, its N rows the N sequences per update (as many as N trials see); one "trial" to freeze
        paths["keras.layers.LSTM"] = lambda xi, mi, yi, ai, s=lstm: s(xi, mi, yi, np.ones(1, dtype=bool))
    if block > 1 and protocol.update == "per_sequence":
        paths[f"fast_{block}_per_call"] = _block_path(_stepper(experiment, cfg, protocol, True)[1], batch, block)
    return paths, fast_model


def _rounds(paths, batches, batch, rounds, updates):
    """Per path, ms per update of each round (wall and process CPU); the paths take turns every ``block``
    updates, so a load change hits them all alike, and the order rotates, so no path always follows the same one."""
    per_round = {name: [] for name in paths}
    cpu_round = {name: [] for name in paths}
    block = max(1, updates // 3)
    names = list(paths)
    for round_ in range(rounds):
        spent, spent_cpu = dict.fromkeys(paths, 0.0), dict.fromkeys(paths, 0.0)
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for _ in range(0, updates, block):
            for name in order:
                wall, cpu = _time(paths[name], batches.get(name, batch), block, cpu=True)
                spent[name] += wall * block
                spent_cpu[name] += cpu * block
        done = len(range(0, updates, block)) * block
        for name in paths:
            per_round[name].append(spent[name] / done)
            cpu_round[name].append(spent_cpu[name] / done)
    return per_round, cpu_round


def _ratios(per_round, slow, fast):
    return [a / b for a, b in zip(per_round[slow], per_round[fast])]


def bench_workload(exp_id: str, rounds: int, updates: int, gflops: float, step_ns: float, block: int = 8) -> dict:
    import jax
    import numpy as np

    from lstm_hist.registry import load
    from lstm_hist.seeds import trial_streams
    from reproductions.hochreiter1997.training.data import TrainingData

    _, _, experiment, cfg = load(exp_id)
    protocol = experiment.protocol(**cfg["protocol"])
    n, per_step = protocol.trials, protocol.update == "per_step"
    symbols = getattr(experiment.task, "symbols", None)
    data = TrainingData(experiment.task, cfg["task"], protocol, 0, trial_streams(0, "train", n))
    big = cfg["model"]["inputs"] > 500
    x, mask, y = data.draw(2 if big else 16)
    active = np.ones(n, dtype=bool)
    batch = (x, mask, y, active)
    batches = {"main": (_unaligned(x), mask, y, active)}  # main before issue 13: generic loop, unaligned inputs
    draw_ms = {"one_hot": _draw_cpu_ms(data)}
    if symbols is not None:  # the same streams, so the same sequences as indices
        index_data = TrainingData(symbols, cfg["task"], protocol, 0, trial_streams(0, "train", n))
        xs, ms, ys = index_data.draw(2 if big else 16)
        assert np.array_equal(ys, y) and np.array_equal(ms, mask)
        batches["symbols"] = (xs, ms, ys, active)
        draw_ms["symbols"] = _draw_cpu_ms(index_data)
    paths, fast_model = _paths(exp_id, experiment, cfg, protocol, symbols is not None, batch, 0 if big else block)
    for name, step in paths.items():  # compile and warm up
        _time(step, batches.get(name, batch), 2)
    if not per_step:
        tv = [v.value for v in fast_model.trainable_variables]
        forward = jax.jit(lambda tv, xi, mi: fast_model.stateless_call(tv, [], [xi, mi])[0])
        paths["forward_fast"] = lambda xi, mi, yi, ai: forward(tv, xi, mi).block_until_ready()
        _time(paths["forward_fast"], batch, 2)
    per_round, cpu_round = _rounds(paths, batches, batch, rounds, updates)
    steps = x.shape[2]
    new = "symbols" if symbols is not None else "fast"
    flops = flops_per_update(cfg["model"], n, steps, symbols is not None, per_step)
    limit_ms = max(flops / (gflops * 1e9) * 1e3, steps * step_ns * 1e-6)
    out = {
        "id": exp_id, "trials": n, "padded_steps": steps, "rounds": rounds, "updates_per_round": updates,
        "update": protocol.update, "new_path": new,
        "ms_per_update_fastest": {k: round(min(v), 4) for k, v in per_round.items()},
        "ms_per_update_median": {k: round(statistics.median(v), 4) for k, v in per_round.items()},
        "ms_per_update_rounds": {k: [round(t, 4) for t in v] for k, v in per_round.items()},
        "cpu_ms_per_update_median": {k: round(statistics.median(v), 4) for k, v in cpu_round.items()},
        "cpu_ms_per_update_rounds": {k: [round(t, 4) for t in v] for k, v in cpu_round.items()},
        "draw_cpu_ms": draw_ms,
        "flops_per_update": flops,
        "limit_ms": round(limit_ms, 4),
        f"{new}_over_limit": round(min(per_round[new]) / limit_ms, 1),
    }
    for slow, fast in (("generic", "fast"), ("main", "fast"), ("main", new), ("fast", new)):
        if fast == slow:
            continue
        ratios = _ratios(per_round, slow, fast)
        out[f"{slow}_over_{fast}_median"] = round(statistics.median(ratios), 2)
        out[f"{slow}_over_{fast}_per_round"] = [round(r, 2) for r in ratios]
        out[f"{slow}_over_{fast}_cpu_median"] = round(statistics.median(_ratios(cpu_round, slow, fast)), 2)
    blocked = f"fast_{block}_per_call"
    if blocked in per_round:
        out[f"fast_over_{blocked}_median"] = round(statistics.median(_ratios(per_round, "fast", blocked)), 2)
        out[f"main_over_{blocked}_median"] = round(statistics.median(_ratios(per_round, "main", blocked)), 2)
        out[f"fast_over_{blocked}_cpu_median"] = round(statistics.median(_ratios(cpu_round, "fast", blocked)), 2)
    if "keras.layers.LSTM" in per_round:
        out["keras_lstm_over_fast_median"] = round(statistics.median(_ratios(per_round, "keras.layers.LSTM",
                                                                             "fast")), 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=[w.split("/")[1] for w in WORKLOADS])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--updates", type=int, default=100, help="updates per round (2c: a tenth, at least 2)")
    parser.add_argument("--gflops", type=float, default=20.0, help="sustained GFLOP/s assumed for the limit")
    parser.add_argument("--step-ns", type=float, default=200.0, help="sequential floor per time step, ns")
    parser.add_argument("--block", type=int, default=8, help="updates per jitted call of the blocked path (0: off)")
    parser.add_argument("--out", default="benchmarks/results/cpu/fast_1997.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import device, provenance, utc_now, write_record

    start = utc_now()
    rows = []
    for stem in args.only:
        exp_id = f"hochreiter1997/{stem}"
        updates = max(2, args.updates // 10) if "2c" in stem else args.updates
        row = bench_workload(exp_id, args.rounds, updates, args.gflops, args.step_ns, args.block)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if "rounds" not in k and "per_round" not in k}), flush=True)
    prov = provenance(" ".join(sys.argv), start, utc_now(), os.environ["KERAS_BACKEND"])
    prov["device"] = device(os.environ["KERAS_BACKEND"])
    prov["load_average_at_end"] = list(os.getloadavg())
    record = {"kind": "benchmark", "what": "1997 cell: fast path (one-hot or symbol indices) vs generic loop", "assumptions": {
        "gflops": args.gflops, "step_ns": args.step_ns, "block": args.block}, "rows": rows, "provenance": prov}
    write_record(args.out, record)  # atomic, folders made: the package's record writer
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
