"""Exp 3's periodic check with and without its screen (``reproductions.hochreiter1997.training.checks``): the
full check set every time against its first eighth first, on an unsolved net (every trial fails the screen, as
all 10 trials of the kept 3b T = 1000 archive do at 163,800 sequences), beside one training update, so the cost
per training sequence of a run follows. One process, the two checks interleaved round after round.

    KERAS_BACKEND=jax nice -n 10 python benchmarks/bench_check_screen.py [--rounds 5]
        [--only two_sequence_3b_t1000_n1 two_sequence_3a_t1000_n3 two_sequence_3a_t100_n1]
        [--out benchmarks/results/cpu/check_screen.json]

Per sequence of a run: one update plus 1/check_every of a check. The limit is arithmetic: the screen runs 1/8 of
the set, so the check's share can shrink at most 8×; the update is untouched.
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

ROWS = ("two_sequence_3b_t1000_n1", "two_sequence_3a_t1000_n3", "two_sequence_3a_t100_n1")


def _ms(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e3


def bench_row(stem: str, rounds: int, updates: int) -> dict:
    import numpy as np

    from lstm_hist import seeds
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.checks import make_checker
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner

    _, _, experiment, cfg = load(f"hochreiter1997/{stem}")
    protocol = experiment.protocol(**cfg["protocol"])
    model, _, stepper = build_learner(experiment, cfg["model"], protocol, 0)
    task = task_for(experiment.task, model)
    data = TrainingData(task, cfg["task"], protocol, 0, seeds.trial_streams(0, "train", protocol.trials))
    x, mask, y = data.draw(updates)
    active = np.ones(protocol.trials, dtype=bool)
    checks = {name: make_checker(task, cfg["task"], protocol, 0, protocol.trials, None, screen=screen)
              for name, screen in (("full", 0), ("screened", None))}
    for check in checks.values():  # compile
        stepper.push()
        check(model)
        stepper.pull()
    stepper(x[0], mask[0], y[0], active)

    def step_all():
        for i in range(updates):
            stepper(x[i], mask[i], y[i], active)

    timed = {"update": [], "full": [], "screened": []}
    for _ in range(rounds):
        timed["update"].append(_ms(step_all, 1) / updates)
        stepper.push()
        for name, check in checks.items():
            timed[name].append(_ms(lambda: check(model), 1))
        stepper.pull()
    med = {k: statistics.median(v) for k, v in timed.items()}
    per_seq = {name: med["update"] + med[name] / protocol.check_every for name in ("full", "screened")}
    return {
        "row": stem,
        "trials": protocol.trials,
        "check_sequences": protocol.check_sequences,
        "check_every": protocol.check_every,
        "update_ms": round(med["update"], 3),
        "check_full_ms": round(med["full"], 2),
        "check_screened_ms": round(med["screened"], 2),
        "check_ratio": round(statistics.median(f / s for f, s in zip(timed["full"], timed["screened"])), 2),
        "per_sequence_full_ms": round(per_seq["full"], 3),
        "per_sequence_screened_ms": round(per_seq["screened"], 3),
        "per_sequence_ratio": round(per_seq["full"] / per_seq["screened"], 2),
        "check_share_before": round(med["full"] / protocol.check_every / per_seq["full"], 2),
        "rounds": {k: [round(v, 3) for v in vs] for k, vs in timed.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=30, help="training updates timed per round")
    parser.add_argument("--only", nargs="+", default=list(ROWS))
    parser.add_argument("--out", default="benchmarks/results/cpu/check_screen.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import provenance, utc_now, write_record

    start, rows = utc_now(), []
    for stem in args.only:
        row = bench_row(stem, args.rounds, args.updates)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
    prov = provenance(" ".join(sys.argv), start, utc_now(), os.environ["KERAS_BACKEND"])
    write_record(Path(args.out), {"benchmark": "check_screen", "rows": rows, "provenance": prov})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
