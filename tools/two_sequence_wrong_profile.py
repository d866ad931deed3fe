"""Which test sequences a finished 3a/3b net misclassifies, and what sets them apart (§5.3, Tables 4–5).

    python tools/two_sequence_wrong_profile.py RECORD.weights.npz [--config hochreiter1997/two_sequence_3a_t100_n3]
        [--out profile.json]

Tables 4–5 print, per row, the fraction of 2,560 test sequences misclassified after ST2. This scores every trial's
net on its own test sequences, drawn exactly as the run's final test draws them (``evaluate_trial``: the trial's
"test" stream, blocks of 256), and reports, per trial and pooled over the trials: the count wrong (it must equal
the record's ``test_wrong``, checked), the distribution of |output − target| (how far below ABS(0.2) the right
answers sit), and for the wrong sequences against the right ones: their class, length, and the noise they carry
(the sum of the non-informative elements, the largest excursion of its running sum, the largest single element
with the other class's sign, ``against_max``, and how many such elements exceed 1, the informative elements'
magnitude), so a tail of the noise or of the lengths shows up as a difference between the two groups.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import trial_nets
from json_out import emit


def stats(values: np.ndarray) -> dict[str, float] | None:
    if values.size == 0:
        return None
    q = np.percentile(values, [5, 50, 95])
    return {"n": int(values.size), "mean": float(values.mean()), "p5": float(q[0]), "median": float(q[1]),
            "p95": float(q[2])}


KEYS = ("error", "length", "class_two", "noise_sum", "noise_peak", "against_max", "against_beyond_1")


def test_sequence_features(exp, cfg: dict, model, seed: int) -> list[dict[str, np.ndarray]]:
    """Per trial, per test sequence: ``wrong`` (the run's own ABS(threshold) judgement, ``sequence_scores``) and
    the features of KEYS, on the sequences ``evaluate_trials`` scores (the trial's "test" stream, blocks of 256)."""
    from lstm_hist import seeds
    from reproductions.hochreiter1997.training.checks import draw_chunk
    from reproductions.hochreiter1997.training.criteria import sequence_scores
    from reproductions.hochreiter1997.training.data import predict_trials

    protocol = exp.protocol(**cfg["protocol"])
    task_cfg = {**cfg["task"], **protocol.test_task}
    informative = int(task_cfg.get("informative", 1))
    streams = seeds.trial_streams(seed, "test", protocol.trials)
    parts: list[dict[str, list]] = [{k: [] for k in ("wrong", *KEYS)} for _ in range(protocol.trials)]
    done = 0
    while done < protocol.test_sequences:
        count = min(256, protocol.test_sequences - done)
        x, mask, y = (np.swapaxes(a, 0, 1) for a in draw_chunk(exp.task, task_cfg, streams, count))
        pred = predict_trials(model, x, mask)
        _, correct, _, _ = sequence_scores(y, pred, mask, protocol.threshold, protocol.every_step,
                                           protocol.criterion_steps)  # fmt: skip
        out = np.asarray(pred)
        lengths = mask.sum(axis=2).astype(int)
        for trial, rows in enumerate(parts):
            last, o = lengths[trial] - 1, out[trial]
            answer = o[np.arange(count), last, 0] if o.ndim == 3 else o[:, 0]
            target = y[trial][:, 0] if y[trial].ndim == 2 else y[trial][np.arange(count), last, 0]
            noise = x[trial][:, informative:, 0] * mask[trial][:, informative:]
            against = noise * np.where(target < 0.5, 1.0, -1.0)[:, None]  # the other class's sign is positive
            for key, value in (("wrong", ~np.asarray(correct[trial])), ("error", np.abs(answer - target)),
                               ("length", lengths[trial].astype(float)), ("class_two", target < 0.5),
                               ("noise_sum", noise.sum(axis=1)),
                               ("noise_peak", np.abs(np.cumsum(noise, axis=1)).max(axis=1)),
                               ("against_max", against.max(axis=1)),
                               ("against_beyond_1", (against > 1.0).sum(axis=1).astype(float))):
                rows[key].append(value)
        done += count
    return [{k: np.concatenate(v) for k, v in rows.items()} for rows in parts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path, help="a completed record's .weights.npz (its record beside it)")
    parser.add_argument("--config", default=None, help="default: the record's id")
    parser.add_argument("--out", type=Path, help="also write the profile as JSON here")
    args = parser.parse_args()

    record = json.loads(Path(str(args.weights).removesuffix(".weights.npz") + ".json").read_text("utf-8"))
    config = args.config or record["id"]
    exp, cfg, model, _ = trial_nets.load_model(args.weights, config)
    seed = int(record.get("seed", (record.get("seeds") or {}).get("base", 0)))
    threshold = exp.protocol(**cfg["protocol"]).threshold
    result = {"record": str(args.weights), "config": config, "seed": seed, "threshold": threshold, "trials": []}
    pooled: dict[str, list] = {"wrong": [], "right": []}
    for trial, rows in enumerate(test_sequence_features(exp, cfg, model, seed)):
        wrong = rows["wrong"]
        expected = record["trials"][trial].get("test_wrong")
        if expected is not None and int(wrong.sum()) != int(expected):
            raise SystemExit(f"error: trial {trial}: {int(wrong.sum())} wrong here, the record says {expected}")
        for group, sel in (("wrong", wrong), ("right", ~wrong)):
            pooled[group].append({k: rows[k][sel] for k in KEYS})
        result["trials"].append({
            "trial": trial, "wrong": int(wrong.sum()), "error": stats(rows["error"]),
            "right_error_above_0_1": int(((rows["error"] > 0.1) & ~wrong).sum()),
            "wrong_sequences": [{"length": int(rows["length"][i]), "class": 2 if rows["class_two"][i] else 1,
                                 **{k: round(float(rows[k][i]), 4) for k in ("error", "noise_sum", "noise_peak",
                                                                              "against_max")}}
                                for i in np.flatnonzero(wrong)],
        })
    for group, parts in pooled.items():
        joined = {k: np.concatenate([part[k] for part in parts]) for k in KEYS}
        result.setdefault("pooled", {})[group] = {
            "n": int(joined["error"].size),
            "class_two_fraction": float(joined["class_two"].mean()) if joined["error"].size else None,
            **{k: stats(joined[k]) for k in KEYS if k != "class_two"}}
    emit(result, args.out)


if __name__ == "__main__":
    main()
