"""Task 2c (Exp 2, §5.2, Table 3): how far the cell states drift at the row's *initial* weights, and from where.

    KERAS_BACKEND=jax python tools/long_lag_2c_initial_drift.py [--rows long_lag_2c_q50_p50 ...] [--seed 0]
        [--sequences 128] [--set model.init_range=0.05] [--records REC.json ...] [--out FILE.json]

Per row and trial: the net the run starts from (the row's own construction, seed ``--seed``: the same initial
weights as the row's records of that seed), on ``--sequences`` fresh training sequences of the row, a forward pass
of the paper's cell (§5, eqs. 1–7; 2 blocks of 1 cell, no biases) that reports at the last step

* ``abs_s``: |s_c(T)| averaged over the sequences, per cell; ``h_slope``: h'(s_c(T)) / h'(0), the factor by which
  the state scales the error the cell receives at T (App. A.1: e_c = ∂E/∂y^c · y^out · h'(s_c(T)), the only
  error the CEC carries back; 1 = unsaturated);
* the same two with the recurrent weights into the cells from the four gate units set to 0 (``*_no_gate_input``):
  the gates' activations (≈ 0.5 at every step, no biases) enter net_c like a constant input, so each step adds
  about the same amount to s_c and the state moves linearly with the sequence's length (§4's internal state
  drift); without them only the inputs' and the cells' own contributions are left;
* ``cell`` (the trial's better cell by ``h_slope``) and, given ``--records`` of the row, each trial's outcome.

The summary per row: the median over trials of the better cell's ``abs_s`` and ``h_slope``, with and without the
gates' input, and, where records are given, the Spearman correlation of ``h_slope`` with the sequences a trial
needed (an unsolved trial counts as the cap), and the ranks (1 = the least saturated) of the solved trials and of
the learning ones (≥ 80 % of the run's last window correct, solved or not). Records must start from the same
initial weights (the row's, seed and ``--set`` as here; a learning rate or cap may differ). docs/deviations.md ("The
drift at the initial weights") uses it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LEARNING = 0.8  # a trial whose last window had this fraction correct counts as learning, solved or not


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def forward(kernel, recurrent, codes, lengths, gate_input=True):
    """(s_c, y^c) at each sequence's last real step: kernel (N, in, U), recurrent (N, U, U), codes (S, N, L) symbol
    indices (≥ in: a zero input), lengths (S, N) → two (S, N, C) arrays. Units [cells C, input gates B, output
    gates B], block size 1, g ∈ [−2, 2], h ∈ [−1, 1], y(0) = 0, float64."""
    n_trials, n_in, units = kernel.shape
    cells = units // 3
    rec = recurrent.astype(np.float64).copy()
    if not gate_input:
        rec[:, cells:, :cells] = 0.0
    padded = np.concatenate([kernel.astype(np.float64), np.zeros((n_trials, 1, units))], axis=1)
    seqs = codes.shape[0]
    r = np.zeros((seqs, n_trials, units))
    s = np.zeros((seqs, n_trials, cells))
    trial = np.arange(n_trials)[None, :]
    for t in range(codes.shape[2]):
        live = (t < lengths)[..., None]
        net = padded[trial, np.minimum(codes[:, :, t], n_in)] + np.einsum("snv,nvu->snu", r, rec)
        y_in, y_out = _sigmoid(net[..., cells:2 * cells]), _sigmoid(net[..., 2 * cells:])
        s_new = s + y_in * (4.0 * _sigmoid(net[..., :cells]) - 2.0)
        r_new = np.concatenate([y_out * (2.0 * _sigmoid(s_new) - 1.0), y_in, y_out], axis=-1)
        s = np.where(live, s_new, s)
        r = np.where(live, r_new, r)
    return s, r[..., :cells]


def _h_slope(s):
    sig = _sigmoid(s)
    return 4.0 * sig * (1.0 - sig)  # h'(s) / h'(0) for h = 2σ − 1


def _spearman(a, b) -> float:
    ra, rb = (np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float) for v in (a, b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


def profile_row(stem: str, seed: int, sequences: int, overrides: list[str],
                records: list[tuple[Path, dict]]) -> dict:
    import dataclasses

    from lstm_hist import seeds
    from lstm_hist.runner import resolve
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner

    _, _, experiment, cfg = resolve(f"hochreiter1997/{stem}", smoke=False, overrides=list(overrides))
    protocol = dataclasses.replace(experiment.protocol(**cfg["protocol"]), kernel="keras")
    model, _, _ = build_learner(experiment, cfg["model"], protocol, seed)
    cell = model.get_layer("lstm1997").cell
    kernel, recurrent = np.asarray(cell.kernel.numpy()), np.asarray(cell.recurrent_kernel.numpy())
    data = TrainingData(task_for(experiment.task, model), cfg["task"], protocol, seed,
                        seeds.trial_streams(seed, "train", protocol.trials))
    codes, mask, _ = data.draw(sequences)
    codes, lengths = np.asarray(codes), np.asarray(mask).sum(axis=-1)
    out = {"row": stem, "seed": seed, "overrides": list(overrides), "sequences": sequences,
           "q": cfg["task"]["q"], "p": cfg["task"]["p"], "trials": []}
    per = {}
    for label, gate_input in (("", True), ("_no_gate_input", False)):
        s, _ = forward(kernel, recurrent, codes, lengths, gate_input)
        per[label] = (np.abs(s).mean(axis=0), _h_slope(s).mean(axis=0))  # (N, C) each
    best = per[""][1].argmax(axis=1)
    pick = np.arange(kernel.shape[0])
    for n in pick:
        entry = {"trial": int(n), "cell": int(best[n])}
        for label, (abs_s, slope) in per.items():
            entry[f"abs_s{label}"] = [round(float(v), 3) for v in abs_s[n]]
            entry[f"h_slope{label}"] = [round(float(v), 4) for v in slope[n]]
        out["trials"].append(entry)
    summary = {}
    for label, (abs_s, slope) in per.items():
        summary[f"median_abs_s{label}"] = round(float(np.median(abs_s[pick, best])), 3)
        summary[f"median_h_slope{label}"] = round(float(np.median(slope[pick, best])), 4)
    out["summary"] = summary
    slope = per[""][1][pick, best]
    order = np.argsort(-slope, kind="stable")  # rank 1 = the least saturated trial
    rank = {int(n): i + 1 for i, n in enumerate(order)}
    outcomes = []
    for path, record in records:
        cap = record["config"]["protocol"]["max_sequences"]
        needed = np.array([t["sequences"] if t["solved"] else cap for t in record["trials"]], dtype=float)
        solved = [int(t["trial"]) for t in record["trials"] if t["solved"]]
        learning = [int(t["trial"]) for t in record["trials"] if t["recent_correct_fraction"] >= LEARNING]
        outcomes.append({"record": str(path), "cap": cap,
                         "solved": solved, "ranks_of_solved_by_h_slope": [rank[n] for n in solved],
                         "learning": learning, "ranks_of_learning_by_h_slope": sorted(rank[n] for n in learning),
                         "spearman_h_slope_vs_sequences": round(_spearman(slope, needed), 3)})
    out["records"] = outcomes
    return out


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=["long_lag_2c_q50_p50", "long_lag_2c_q100_p100",
                                                      "long_lag_2c_q200_p200", "long_lag_2c_q500_p500",
                                                      "long_lag_2c_q1000_p1000"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequences", type=int, default=128)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="a config override")
    parser.add_argument("--records", nargs="*", type=Path, default=[],
                        help="records of the rows (same seed and overrides): per-trial outcomes to correlate")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    records = [(path, json.loads(path.read_text(encoding="utf-8"))) for path in args.records]
    profiles = []
    for stem in args.rows:
        mine = [(path, record) for path, record in records if record["id"].endswith("/" + stem)]
        profile = profile_row(stem, args.seed, args.sequences, args.overrides, mine)
        profiles.append(profile)
        s = profile["summary"]
        print(f"{stem}: median |s_c(T)| {s['median_abs_s']:.2f} (without the gates' input "
              f"{s['median_abs_s_no_gate_input']:.2f}), h'(s_c)/h'(0) {s['median_h_slope']:.3f} "
              f"({s['median_h_slope_no_gate_input']:.3f})")
        for rec in profile["records"]:
            print(f"  {Path(rec['record']).name}: solved {rec['solved']}, their ranks by h' "
                  f"{rec['ranks_of_solved_by_h_slope']}, "
                  f"Spearman(h', sequences) {rec['spearman_h_slope_vs_sequences']}; learning (window >= 80 %) "
                  f"{rec['learning']}, their ranks {rec['ranks_of_learning_by_h_slope']}")
    if args.out:
        args.out.write_text(json.dumps(profiles, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
