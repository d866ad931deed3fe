"""Trial-parallel scaling of the online protocol: updates/s for 1, 10 and 30 trials, per backend.

    python benchmarks/bench_trials.py [--id hochreiter1997/adding_t100] [--backends jax tensorflow]
        [--trials 1 10 30] [--updates 400] [--out benchmarks/results/trials_scaling.json]

Each backend runs in its own process (KERAS_BACKEND must be set before Keras is imported). The
report is the cost of one update (one sequence per trial) and its ratio to the 1-trial cost on the same
backend: the brief's goal is 30 trials ≤ 1.2 × one trial.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
from lstm_hist.registry import load
exp_id, updates, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
trials = [int(t) for t in sys.argv[4:]]
full_id, path, experiment, cfg = load(exp_id)
best = {}
for _ in range(repeat):  # interleave the trial counts and keep each one's fastest round: robust to load
    for n in trials:
        protocol = experiment.protocol(**{**cfg["protocol"], "trials": n})
        out = protocol.bench(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=0,
                             updates=updates, reported=cfg["reported"])
        if n not in best or out["ms_per_update"] < best[n]["ms_per_update"]:
            best[n] = {**out, "repeats": repeat}
import os
from lstm_hist.records import device
where = device(os.environ.get("KERAS_BACKEND"))  # the child computes: its device, not the parent's
for n in trials:
    print("BENCH " + json.dumps({**best[n], "device": where}), flush=True)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--id", default="hochreiter1997/adding_t100")
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--trials", nargs="+", type=int, default=[1, 10, 30])
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest of each trial count is kept")
    parser.add_argument("--out", default="benchmarks/results/trials_scaling.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import provenance, utc_now, write_record

    start = utc_now()
    rows = []
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, "-c", CHILD, args.id, str(args.updates), str(args.repeat), *map(str, args.trials)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        results = [json.loads(line[6:]) for line in done.stdout.splitlines() if line.startswith("BENCH ")]
        base = next(r["ms_per_update"] for r in results if r["trials"] == min(args.trials))
        for r in results:
            r["ratio_to_fewest_trials"] = round(r["ms_per_update"] / base, 2)
            rows.append(r)
            print(f"{backend:10s} trials={r['trials']:3d}  {r['ms_per_update']:8.3f} ms/update  "
                  f"{r['updates_per_second']:8.1f} updates/s  {r['sequences_per_second']:9.1f} seq/s  "
                  f"x{r['ratio_to_fewest_trials']}")
    prov = provenance(" ".join(sys.argv), start, utc_now(), ",".join(args.backends))
    prov["device"] = ", ".join(sorted({r["device"] for r in rows})) or prov["device"]
    record = {"id": args.id, "kind": "benchmark", "rows": rows, "provenance": prov}
    write_record(args.out, record)  # atomic, folders made: the package's record writer
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
