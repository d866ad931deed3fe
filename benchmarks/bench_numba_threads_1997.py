"""The 1997 numba update on 1 thread against several (its trials split across cores), one process, same data.

``fast_numba.sgd_update`` runs its trials in a ``prange``: each trial's update is a serial chain of steps, but the
trials are independent, so T threads can take T chains at once. Here one row's numba stepper is timed round after
round at each thread count (``numba.set_num_threads``), interleaved, on the same pre-drawn sequences from the row's
initial weights (seed 0, all trials active). Wall time per update is the figure: the point is fewer seconds per
update, not less CPU. The arithmetic limit: ``min(threads, cores, trials)``× the 1-thread rate, less the Python
work between updates (drawing the chunk, judging the outputs), which stays serial.

    KERAS_BACKEND=jax python benchmarks/bench_numba_threads_1997.py [--row long_lag_2c_q1000_p50] [--threads 1 2]
        [--rounds 5] [--updates 40] [--out benchmarks/results/cpu/numba_threads_1997.json]
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

from bench_numba_1997 import row_steppers  # noqa: E402


def bench(stem: str, threads: list[int], rounds: int, updates: int) -> dict:
    import numba

    steppers, protocol, (x, mask, y), active = row_steppers(stem, ("numba",), updates)
    stepper = steppers["numba"]
    for n in threads:  # compile and warm up
        numba.set_num_threads(n)
        for i in range(3):
            stepper(x[i], mask[i], y[i], active)
    times = {n: [] for n in threads}
    for _ in range(rounds):
        for n in threads:
            numba.set_num_threads(n)
            start = time.perf_counter()
            for i in range(updates):
                stepper(x[i], mask[i], y[i], active)
            times[n].append((time.perf_counter() - start) / updates * 1e3)
    ms = {n: statistics.median(v) for n, v in times.items()}
    first = threads[0]
    return {"row": stem, "trials": protocol.trials, "steps": int(mask.shape[-1]), "cores": os.cpu_count(),
            "threading_layer": numba.threading_layer(),
            "ms_per_update": {str(n): round(v, 3) for n, v in ms.items()},
            "speedup_over_first": {str(n): round(ms[first] / v, 2) for n, v in ms.items()},
            "rounds_ms": {str(n): [round(t, 3) for t in v] for n, v in times.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", default="long_lag_2c_q1000_p50")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=40)
    parser.add_argument("--note", default="", help="what else ran on the machine (stored with the result)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    row = bench(args.row, args.threads, args.rounds, args.updates)
    for n in args.threads:
        print(f"{row['row']}: {n} thread(s) {row['ms_per_update'][str(n)]:8.3f} ms/update "
              f"({row['speedup_over_first'][str(n)]:.2f}× over {args.threads[0]}; rounds {row['rounds_ms'][str(n)]})")
    if args.out:
        import keras

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"backend": keras.backend.backend(), "note": args.note, **row}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
