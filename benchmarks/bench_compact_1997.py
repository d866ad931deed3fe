"""The tail of a 1997 online run: ms per update with all trials active, and with a few active, computed on all
trials (the frozen ones masked, as before issue 17) or compacted onto the active ones
(``reproductions.hochreiter1997.training.compact``). One process, the paths interleaved round after round.

    KERAS_BACKEND=jax nice -n 10 python benchmarks/bench_compact_1997.py [--rounds 3] [--updates 30]
        [--only long_lag_2c_q1000_p1000 long_lag_2c_q200_p200 adding_t1000]
        [--out benchmarks/results/cpu/compact_1997.json]

Paths: ``all_active`` (the full step, every trial active), ``few_masked`` (the full step, only a few trials
active: what the tail of a run cost before), ``few_compacted`` (the compacted step on those trials, fed their
data only), ``bucket_net_alone`` (a net built with trials = the bucket size, stepped directly: compaction without
its gather and scatter), ``few_compacted_4_per_call`` (compacted, 4 updates per jitted call). The data a run draws per update is timed apart (process CPU ms, all trials against the active
ones: ``draw_cpu_ms``), since compaction also skips the frozen trials' draws. The limit is the arithmetic one of
``bench_fast_1997.py`` (the update's FLOPs at ``--gflops``, or the sequential floor steps × ``--step-ns``,
whichever is larger) for the active trials.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fast_1997 import flops_per_update  # noqa: E402

WORKLOADS = {"long_lag_2c_q1000_p1000": 2, "long_lag_2c_q200_p200": 2, "adding_t1000": 1}  # row: active trials


def _draw_ms(data, rows, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.process_time()
        data.draw(1, 0, rows)
        times.append((time.process_time() - start) * 1e3)
    return round(statistics.median(times), 3)


def _paths(exp_id, n_active):
    """The timed steps of one workload (each ``step(i)`` makes update i of a few pre-drawn ones) and its facts."""
    import numpy as np

    from lstm_hist.registry import load
    from lstm_hist.seeds import trial_streams
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.block_steps import BlockStepper
    from reproductions.hochreiter1997.training.compact import bucket, trial_compaction
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner, build_unseeded

    _, _, experiment, cfg = load(exp_id)
    protocol = experiment.protocol(**cfg["protocol"])
    n = protocol.trials
    model, _, full = build_learner(experiment, cfg["model"], protocol, 0)
    _, _, other = build_learner(experiment, cfg["model"], protocol, 0)
    compaction = trial_compaction(protocol, other, lambda size: build_unseeded(
        experiment, cfg["model"], dataclasses.replace(protocol, trials=size))[2])
    task = task_for(experiment.task, model)
    data = TrainingData(task, cfg["task"], protocol, 0, trial_streams(0, "train", n))
    rows = np.linspace(0, n - 1, n_active).astype(int)  # a few trials spread over the axis
    x, mask, y = data.draw(4)
    few = np.zeros(n, dtype=bool)
    few[rows] = True
    xr, mr, yr = x[:, rows], mask[:, rows], y[:, rows]
    every = np.ones(n, dtype=bool)
    small = build_unseeded(experiment, cfg["model"], dataclasses.replace(protocol, trials=bucket(n_active, n)))[2]
    pad = np.concatenate([np.arange(n_active), np.zeros(bucket(n_active, n) - n_active, int)])
    on = (np.arange(len(pad)) < n_active).astype(np.float32)
    block = BlockStepper(other)
    paths = {
        "all_active": lambda i: full(x[i % 4], mask[i % 4], y[i % 4], every),
        "few_masked": lambda i: full(x[i % 4], mask[i % 4], y[i % 4], few),
        "few_compacted": lambda i: compaction(xr[i % 4], mr[i % 4], yr[i % 4], few, rows),
        # the bucket's own net alone (no gather/scatter): what compaction's bookkeeping costs
        "bucket_net_alone": lambda i: small(xr[i % 4][pad], mr[i % 4][pad], yr[i % 4][pad], on),
        # 4 updates per jitted call (protocol.updates_per_call=4), compacted; one call every 4th update
        "few_compacted_4_per_call": lambda i: None if i % 4 else compaction.block(xr, mr, yr, few, rows, block),
    }
    facts = {"id": exp_id, "trials": n, "active": n_active, "padded_steps": int(x.shape[2]),
             "symbols": bool(np.issubdtype(x.dtype, np.integer)),
             "draw_cpu_ms": {"all": _draw_ms(data, None), "active": _draw_ms(data, rows)}}
    return paths, facts, cfg["model"]


def _rounds(paths, rounds, updates):
    """Per path, wall and process-CPU ms per update of each round, the paths taking turns (rotating order)."""
    wall, cpu = {k: [] for k in paths}, {k: [] for k in paths}
    names = list(paths)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in range(updates):
                paths[name](i)
            wall[name].append((time.perf_counter() - start) / updates * 1e3)
            cpu[name].append((time.process_time() - start_cpu) / updates * 1e3)
    return wall, cpu


def bench_workload(stem, n_active, rounds, updates, gflops, step_ns) -> dict:
    paths, out, model_cfg = _paths(f"hochreiter1997/{stem}", n_active)
    for step in paths.values():  # compile and warm up
        for i in range(3):
            step(i)
    wall, cpu = _rounds(paths, rounds, updates)
    steps = out["padded_steps"]
    flops = flops_per_update(model_cfg, n_active, steps, out["symbols"])
    limit = max(flops / (gflops * 1e9) * 1e3, steps * step_ns * 1e-6)
    ratio = lambda a, b, t: round(statistics.median(x / y for x, y in zip(t[a], t[b])), 2)  # noqa: E731
    out.update({
        "rounds": rounds, "updates_per_round": updates,
        "ms_per_update_fastest": {k: round(min(v), 4) for k, v in wall.items()},
        "ms_per_update_median": {k: round(statistics.median(v), 4) for k, v in wall.items()},
        "ms_per_update_rounds": {k: [round(t, 4) for t in v] for k, v in wall.items()},
        "cpu_ms_per_update_median": {k: round(statistics.median(v), 4) for k, v in cpu.items()},
        "masked_over_compacted_median": ratio("few_masked", "few_compacted", wall),
        "masked_over_compacted_cpu_median": ratio("few_masked", "few_compacted", cpu),
        "all_over_compacted_median": ratio("all_active", "few_compacted", wall),
        "flops_per_update_active": flops,
        "limit_ms_active": round(limit, 4),
        "compacted_over_limit": round(min(wall["few_compacted"]) / limit, 1),
    })
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=list(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=30, help="updates per path and round (2c q=1000: a third)")
    parser.add_argument("--gflops", type=float, default=20.0, help="sustained GFLOP/s assumed for the limit")
    parser.add_argument("--step-ns", type=float, default=200.0, help="sequential floor per time step, ns")
    parser.add_argument("--out", default="benchmarks/results/cpu/compact_1997.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import device, provenance, utc_now, write_record

    start, rows = utc_now(), []
    for stem in args.only:
        updates = max(2, args.updates // 3) if "q1000" in stem else args.updates
        row = bench_workload(stem, WORKLOADS[stem], args.rounds, updates, args.gflops, args.step_ns)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if "rounds" not in k}), flush=True)
    prov = provenance(" ".join(sys.argv), start, utc_now(), os.environ["KERAS_BACKEND"])
    prov["device"] = device(os.environ["KERAS_BACKEND"])
    prov["load_average_at_end"] = list(os.getloadavg())
    record = {"kind": "benchmark", "what": "1997 online tail: all trials vs a few active, masked vs compacted",
              "assumptions": {"gflops": args.gflops, "step_ns": args.step_ns}, "rows": rows, "provenance": prov}
    write_record(args.out, record)  # atomic, folders made: the package's record writer
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
