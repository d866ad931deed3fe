"""The 1997 online update, Keras/JAX step against the numba stepper (``protocol.kernel``), on the rows still to run
(Table 3's q = 1000 rows, Exp 3's T = 1000 rows) and two short ones. One process, the two steppers interleaved round
after round on the same pre-drawn sequences, each from the row's initial weights (seed 0, all trials active). Wall
and process CPU time per update: on this shared machine the wall times swing 2-5x between rounds with the load, the
CPU times much less, so the CPU ratio is the figure to read.

    KERAS_BACKEND=jax nice -n 10 python benchmarks/bench_numba_1997.py [--rounds 3] [--updates 40]
        [--only long_lag_2c_q1000_p1000 ...] [--out benchmarks/results/cpu/numba_1997.json]

The arithmetic limit: one step of one trial is a few hundred flops (U = 6 or 9 units: U² recurrent products,
2U sigmoids, the traces), so the update is bound by per-step overhead, not arithmetic; the numba loop removes
the per-step kernel launches of XLA's scan and the backward pass's separate kernels, and is itself a serial loop
over trials and steps on one core.
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

ROWS = ("long_lag_2c_q1000_p1000", "long_lag_2c_q1000_p50", "two_sequence_3a_t1000_n3", "two_sequence_3b_t100_n1",
        "adding_t100")


def row_steppers(stem: str, kernels, updates: int):
    """``(steppers, protocol, (x, mask, y), active)``: the row's stepper per kernel, each from seed 0's initial
    weights, and ``updates`` pre-drawn sequences per trial, all trials active (also bench_numba_threads_1997)."""
    import dataclasses

    import numpy as np

    from lstm_hist import seeds
    from lstm_hist.runner import resolve
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner

    _, _, experiment, cfg = resolve(f"hochreiter1997/{stem}", smoke=False, overrides=[])
    base = experiment.protocol(**cfg["protocol"])
    steppers = {kernel: build_learner(experiment, cfg["model"], dataclasses.replace(base, kernel=kernel), 0)[2]
                for kernel in kernels}
    if "numba" in steppers:
        assert type(steppers["numba"]).__name__ == "NumbaStepper", "the numba stepper does not apply to this row"
    model = next(iter(steppers.values())).model
    data = TrainingData(task_for(experiment.task, model), cfg["task"], base, 0,
                        seeds.trial_streams(0, "train", base.trials))
    return steppers, base, data.draw(updates), np.ones(base.trials, dtype=bool)


def bench_row(stem: str, rounds: int, updates: int) -> dict:
    learners, base, (x, mask, y), active = row_steppers(stem, ("keras", "numba"), updates)
    for stepper in learners.values():  # compile and warm up
        for i in range(3):
            stepper(x[i], mask[i], y[i], active)
    times = {kernel: [] for kernel in learners}
    cpu = {kernel: [] for kernel in learners}
    for _ in range(rounds):
        for kernel, stepper in learners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in range(updates):
                stepper(x[i], mask[i], y[i], active)
            times[kernel].append((time.perf_counter() - start) / updates * 1e3)
            cpu[kernel].append((time.process_time() - start_cpu) / updates * 1e3)
    keras_ms, numba_ms = (statistics.median(times[k]) for k in ("keras", "numba"))
    keras_cpu, numba_cpu = (statistics.median(cpu[k]) for k in ("keras", "numba"))
    ratios = [k / n for k, n in zip(times["keras"], times["numba"])]
    return {"row": stem, "trials": base.trials, "steps": int(mask.shape[-1]), "keras_ms_per_update": round(keras_ms, 3),
            "numba_ms_per_update": round(numba_ms, 3), "speedup": round(keras_ms / numba_ms, 2),
            "speedup_per_round_median": round(statistics.median(ratios), 2),
            "keras_cpu_ms_per_update": round(keras_cpu, 3), "numba_cpu_ms_per_update": round(numba_cpu, 3),
            "cpu_speedup": round(keras_cpu / numba_cpu, 2),
            "rounds_ms": {k: [round(t, 3) for t in v] for k, v in times.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=40)
    parser.add_argument("--only", nargs="+", default=list(ROWS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for stem in args.only:
        row = bench_row(stem, args.rounds, args.updates)
        print(f"{row['row']:28s} {row['trials']:3d} trials ≤{row['steps']:5d} steps: "
              f"keras {row['keras_ms_per_update']:8.3f} ms/update, numba {row['numba_ms_per_update']:8.3f} ms/update, "
              f"{row['speedup']:.2f}× (per round "
              f"{row['speedup_per_round_median']:.2f}×); CPU {row['keras_cpu_ms_per_update']:.3f} against "
              f"{row['numba_cpu_ms_per_update']:.3f} ms, {row['cpu_speedup']:.2f}×", flush=True)
        rows.append(row)
    if args.out:
        import keras

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"backend": keras.backend.backend(), "cpu": os.cpu_count(),
                                        "note": "2-core shared machine, two campaigns running beside (nice 5)",
                                        "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
