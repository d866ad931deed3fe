"""Chung et al. (2014) music rows at batch 1: sequences/s of the fast and generic paths, and of Keras built-ins.

    python benchmarks/bench_fast_chung.py [--ids chung2014/jsb_gru chung2014/nottingham_gru ...]
        [--sequences 40] [--repeat 3] [--epoch-ids chung2014/jsb_gru]
        [--out benchmarks/results/cpu/chung_fast_path.json]

One process, one backend (``KERAS_BACKEND``, default JAX). For each row, the same sample of training pieces
(every ``len/sequences``-th piece, so short and long ones alike) is trained on at batch 1 with the row's
optimizer and loss (``train_on_batch``, as ``lstm-hist bench``), by each variant:

* ``main``: the generic ``keras.layers.RNN(cell)`` on batches padded to the split's longest piece (main before
  issue 13);
* ``generic``: the same layer, each batch cut to its own length (``lstm_hist.training.trim``);
* ``fast``: ``FastRecurrent`` (``model.fast_path: true``), cut batches;
* ``fast_jit_step`` (JAX only): the fast model's loss, gradient and optimizer update as one ``jax.jit`` function
  called directly (no ``train_on_batch``, no weight noise): what a protocol-level jitted step would save;
* ``keras_builtin``: ``keras.layers.GRU(reset_after=False)`` / ``LSTM`` (no peepholes) / ``SimpleRNN`` of the
  same size, cut batches — a reference for what Keras's own layers cost, not the paper's units.

Every shape is compiled before timing; the variants then alternate for ``--repeat`` rounds. The machine is
shared (load ~20 on 2 cores), so the figures are the process's CPU seconds (all its threads; the fastest round
of each variant, with every round's ratios kept) and the wall-clock rates are recorded beside them. Weight noise
and the other per-batch callbacks of ``fit`` are not in this loop; ``--epoch-ids`` times the second epoch of real two-epoch runs
(``train_minibatch``: ``fit`` with weight noise and every callback, validation) of ``main`` against ``fast``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")  # the package default; Keras reads it at its first import

# Assumed rates for the arithmetic limit (one core of the project's AMD EPYC, FP32): a (T, D) × (D, G) matmul
# over all steps runs near the vector units' speed; the per-step (1, n) × (n, G) product of batch 1 is a
# matrix-vector product bound by latency; and XLA's while loop costs about a microsecond per iteration
# (forward and backward together). Estimates, not measurements.
HOISTED_FLOPS_PER_S = 50e9
RECURRENT_FLOPS_PER_S = 10e9
LOOP_SECONDS_PER_STEP = 1e-6

VARIANTS = ("main", "generic", "fast", "fast_jit_step", "keras_builtin")


def _flops_per_step(unit: str, units: int, dim: int) -> dict[str, float]:
    """Multiply-adds ×2 of one step, forward; backward ≈ 2× forward. Split into the hoistable part (input
    projection and output layer: batched over all steps) and the sequential recurrent part."""
    gates = {"tanh": 1, "gru": 3, "lstm": 4}[unit]
    hoisted = 2 * dim * gates * units + 2 * units * dim
    recurrent = 2 * units * gates * units
    out = {"hoisted": 3.0 * hoisted, "recurrent": 3.0 * recurrent}
    out["limit_us_per_step"] = 1e6 * (out["hoisted"] / HOISTED_FLOPS_PER_S + out["recurrent"] / RECURRENT_FLOPS_PER_S
                                      + LOOP_SECONDS_PER_STEP)
    return out


def _builtin(unit: str, units: int, dim: int, init_range: float):
    import keras

    init = keras.initializers.RandomUniform(-init_range, init_range)
    common = dict(units=units, return_sequences=True, kernel_initializer=init, recurrent_initializer=init)
    layer = {"gru": lambda: keras.layers.GRU(reset_after=False, **common),
             "lstm": lambda: keras.layers.LSTM(**common),
             "tanh": lambda: keras.layers.SimpleRNN(**common)}[unit]()
    inputs = keras.Input(shape=(None, dim))
    return keras.Model(inputs, keras.layers.Dense(dim, kernel_initializer=init)(layer(inputs)))


def _jit_stepper(model):
    """``step(x, y, w)``: one update of ``model`` (its loss and optimizer) as a single jitted call."""
    import jax

    optimizer, loss_fn = model.optimizer, model.loss
    fixed = [v.value for v in model.non_trainable_variables]
    state = [[v.value for v in model.trainable_variables], [v.value for v in optimizer.variables]]

    @jax.jit
    def update(trainable, opt_vars, x, y, w):
        def loss_of(values):
            out, _ = model.stateless_call(values, fixed, x)
            return loss_fn(y, out, sample_weight=w)

        loss, grads = jax.value_and_grad(loss_of)(trainable)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return trainable, opt_vars, loss

    def step(x, y, w):
        state[0], state[1], loss = update(state[0], state[1], x, y, w)
        return float(loss)  # wait for the result, as train_on_batch does

    return step


def _sample(split, n: int):
    x, y, w = split
    rows = np.unique(np.linspace(0, len(x) - 1, min(n, len(x))).round().astype(int))
    return [(x[i : i + 1], y[i : i + 1], w[i : i + 1]) for i in rows]


def bench_row(exp_id: str, sequences: int, repeat: int, variants) -> dict:
    from lstm_hist.registry import load
    from lstm_hist.seeds import minibatch_seeds
    from lstm_hist.training.minibatch import build_model
    from lstm_hist.training.trim import trim_padding

    _, _, experiment, cfg = load(exp_id)
    protocol = experiment.protocol(**{**cfg["protocol"], "lr_candidates": None})
    model_cfg = dict(cfg["model"])
    data = experiment.task(**cfg["task"])
    padded = _sample(data["train"], sequences)
    cut = [trim_padding(b) for b in padded]
    seed = minibatch_seeds(0)["init"]
    models, batches = {}, {}
    for name in variants:
        if name == "keras_builtin":
            maker = types.SimpleNamespace(model=lambda **kw: _builtin(kw["unit"], kw["units"], kw["dim"],
                                                                       kw["init_range"]))
            models[name] = build_model(maker, model_cfg, protocol, seed)
        else:
            fast = name.startswith("fast")
            models[name] = build_model(experiment, {**model_cfg, "fast_path": fast}, protocol, seed)
        batches[name] = padded if name == "main" else cut
    steppers = {name: (_jit_stepper(model) if name == "fast_jit_step"
                       else lambda x, y, w, model=model: model.train_on_batch(x, y, sample_weight=w))
                for name, model in models.items()}

    def run(name):
        step = steppers[name]
        start, cpu = time.perf_counter(), time.process_time()
        for x, y, w in batches[name]:
            step(x, y, w)
        return time.process_time() - cpu, time.perf_counter() - start

    compile_s = {name: run(name)[1] for name in variants}  # every shape compiles here, untimed
    rounds, walls = [], []
    for _ in range(repeat):
        timed = {name: run(name) for name in variants}
        rounds.append({name: t[0] for name, t in timed.items()})
        walls.append({name: t[1] for name, t in timed.items()})
    steps = int(sum(w.sum() for _, _, w in padded))
    best = {name: min(r[name] for r in rounds) for name in variants}
    unit, units, dim = model_cfg["unit"], model_cfg["units"], model_cfg["dim"]
    flops = _flops_per_step(unit, units, dim)
    out = {
        "id": exp_id, "unit": unit, "units": units, "dim": dim, "sequences": len(padded), "real_steps": steps,
        "padded_steps": int(sum(b[0].shape[1] for b in padded)), "cut_steps": int(sum(b[0].shape[1] for b in cut)),
        "first_pass_seconds": compile_s, "round_cpu_seconds": rounds, "round_wall_seconds": walls,
        "wall_sequences_per_second": {n: len(padded) / min(r[n] for r in walls) for n in variants},
        "sequences_per_second": {n: len(padded) / best[n] for n in variants},
        "us_per_real_step": {n: 1e6 * best[n] / steps for n in variants},
        "flops_per_step": flops,
    }
    if "main" in variants:
        out["speedup_vs_main"] = {n: best["main"] / best[n] for n in variants}
        out["speedup_vs_main_per_round"] = {n: [r["main"] / r[n] for r in rounds] for n in variants}
    return out


def protocol_epoch(exp_id: str, variant: str) -> dict:
    """CPU seconds of the second epoch of a real run (``train_minibatch``: fit, weight noise and every other
    callback, validation, checkpoint-free): ``main`` = generic layer on padded batches, ``fast`` = this branch."""
    from unittest import mock

    from lstm_hist.registry import load
    from lstm_hist.training import minibatch
    from lstm_hist.training.minibatch import data, shuffled
    from lstm_hist.training.trim import trim_padding

    _, _, experiment, cfg = load(exp_id)
    protocol = experiment.protocol(**{**cfg["protocol"], "lr_candidates": None, "epochs": 2,
                                      "early_stopping_patience": None})
    marks = []
    model_cfg = {**cfg["model"], "fast_path": variant == "fast"}
    keep = (lambda batch: batch) if variant == "main" else trim_padding
    with mock.patch.object(data, "trim_padding", keep), mock.patch.object(shuffled, "trim_padding", keep):
        result = minibatch.train_minibatch(protocol, experiment=experiment, task_cfg=cfg["task"],
                                           model_cfg=model_cfg, seed=0,
                                           progress=lambda info: marks.append(time.process_time()))
    return {"status": result.status, "second_epoch_cpu_seconds": marks[1] - marks[0],
            "train_sequences": len(experiment.task(**cfg["task"])["train"][0])}


def kernel_us_per_step(unit: str, steps: int = 64, calls: int = 50, repeat: int = 3) -> dict:
    """CPU µs per time step of the jitted loss and gradient alone (JAX; one piece of ``steps`` random frames,
    Table 1 sizes, D=96): the recurrent layer's own cost, without any per-batch overhead."""
    import jax

    from lstm_hist.evaluation.metrics import frame_nll_loss
    from reproductions.chung2014.models import TABLE1_UNITS, build_music_model

    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(1, steps, 96)) < 0.05).astype("float32")
    w = np.ones((1, steps), "float32")
    loss_fn = frame_nll_loss()
    fns = {}
    for name in ("generic", "fast"):
        model = build_music_model(unit=unit, units=TABLE1_UNITS[unit], dim=96, fast_path=name == "fast")
        values = [v.value for v in model.trainable_variables]

        def loss(values, model=model):
            out, _ = model.stateless_call(values, [], x)
            return loss_fn(x, out, sample_weight=w)

        grad = jax.jit(jax.value_and_grad(loss))
        jax.block_until_ready(grad(values))
        fns[name] = lambda grad=grad, values=values: jax.block_until_ready(grad(values))
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):  # alternating
        for name, fn in fns.items():
            cpu = time.process_time()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], 1e6 * (time.process_time() - cpu) / calls / steps)
    return {"unit": unit, "steps": steps, "cpu_us_per_step": best,
            "limit_us_per_step": _flops_per_step(unit, TABLE1_UNITS[unit], 96)["limit_us_per_step"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", nargs="*", default=["chung2014/jsb_gru", "chung2014/jsb_lstm", "chung2014/jsb_tanh",
                                                     "chung2014/nottingham_gru", "chung2014/pianomidi_gru"])
    parser.add_argument("--sequences", type=int, default=40, help="training pieces per timed pass")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=None, choices=VARIANTS,
                        help="default: all (fast_jit_step only on JAX)")
    parser.add_argument("--epoch-ids", nargs="*", default=[],
                        help="rows whose second training epoch is timed through train_minibatch (main and fast)")
    parser.add_argument("--kernel-units", nargs="*", default=[], choices=("tanh", "gru", "lstm"),
                        help="also time the jitted loss and gradient alone (JAX), generic against fast")
    parser.add_argument("--out", default="benchmarks/results/cpu/chung_fast_path.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import provenance, utc_now

    started = utc_now()
    variants = args.variants or [v for v in VARIANTS if v != "fast_jit_step"
                                 or os.environ["KERAS_BACKEND"] == "jax"]
    backend = os.environ.get("KERAS_BACKEND", "jax")
    rows, epochs, kernels = [], [], []

    def write():  # after every row: an interrupted benchmark keeps what it measured
        doc = {"benchmark": "bench_fast_chung", "load_average_at_end": list(os.getloadavg()),
               "provenance": provenance("python benchmarks/bench_fast_chung.py " + " ".join(sys.argv[1:]), started,
                                        utc_now(), backend), "rows": rows, "protocol_epochs": epochs,
               "kernels": kernels}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(doc, indent=1, default=str) + "\n")

    for exp_id in args.ids:
        row = bench_row(exp_id, args.sequences, args.repeat, variants)
        rows.append(row)
        write()
        rates = ", ".join(f"{k} {v:.1f}/s" for k, v in row["sequences_per_second"].items())
        print(f"{exp_id}: {rates}; vs main: "
              + ", ".join(f"{k} {v:.2f}x" for k, v in row.get("speedup_vs_main", {}).items()), flush=True)
    for unit in args.kernel_units:
        kernels.append(kernel_us_per_step(unit))
        write()
        print(f"{unit} kernel: " + ", ".join(f"{k} {v:.1f} us/step" for k, v in kernels[-1]["cpu_us_per_step"].items()),
              flush=True)
    for exp_id in args.epoch_ids:
        runs = {"main": [], "fast": []}
        for _ in range(2):  # alternating
            for variant in runs:
                runs[variant].append(protocol_epoch(exp_id, variant))
        best = {v: min(r["second_epoch_cpu_seconds"] for r in rows_) for v, rows_ in runs.items()}
        epochs.append({"id": exp_id, "runs": runs, "best_epoch_cpu_seconds": best,
                       "speedup_vs_main": best["main"] / best["fast"]})
        write()
        print(f"{exp_id} epoch: main {best['main']:.2f} s, fast {best['fast']:.2f} s CPU, "
              f"{best['main'] / best['fast']:.2f}x", flush=True)
    write()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
