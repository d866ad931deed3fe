"""Which test sequences a finished 3a/3b net misclassifies, and what sets them apart (§5.3, Tables 4–5).

    python tools/two_sequence_wrong_profile.py RECORD.weights.npz [--config hochreiter1997/two_sequence_3a_t100_n3]
        [--out profile.json] [--gates]

Tables 4–5 print, per row, the fraction of 2,560 test sequences misclassified after ST2. This scores every trial's
net on its own test sequences, drawn exactly as the run's final test draws them (``evaluate_trial``: the trial's
"test" stream, blocks of 256), and reports, per trial and pooled over the trials: the count wrong (it must equal
the record's ``test_wrong``, checked), the distribution of |output − target| (how far below ABS(0.2) the right
answers sit), and for the wrong sequences against the right ones: their class, length, and the noise they carry
(the sum of the non-informative elements, the largest excursion of its running sum, the largest single element
with the other class's sign, ``against_max``, and how many such elements exceed 1, the informative elements'
magnitude), so a tail of the noise or of the lengths shows up as a difference between the two groups.

With ``--gates`` it also steps each net's cell over the same sequences (``gate_features``) and reports, per trial
and block, the mean over the wrong sequences and over the right ones of each class of: the input gate over the
informative steps, over the noise steps, and at the step of the largest element with the other class's sign, and
how far that one step moves the cell state against the typical noise step; with each trial's weights from the
input line. So it shows whether the flips come from a gate left open at every noise step or from one opened by
the element itself.
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
GATE_KEYS = ("gate_informative", "gate_noise", "gate_at_against", "jump_at_against", "jump_typical")


def feature_keys(gates: bool) -> tuple[str, ...]:
    return KEYS + (GATE_KEYS if gates else ())


def gate_features(cell, x: np.ndarray, mask: np.ndarray, informative: int, at: np.ndarray) -> dict[str, np.ndarray]:
    """Per sequence and block (trials, k, blocks): the mean input gate y^in over the informative steps and over the
    noise steps, y^in at step ``at`` (trials, k; an index into the sequence), and per cell (trials, k, cells) |Δs_c|
    at that step and its mean over the noise steps; x (trials, k, L, 1), mask (trials, k, L), stepping the cell's own
    equations (rows trial-major, as the model's batches)."""
    n, k, length = x.shape[:3]
    s, gate, _ = trial_nets.run_states(cell, x.reshape(n * k, length, x.shape[-1]))
    jump = np.abs(np.diff(s, axis=1, prepend=0.0))  # the state starts at 0 (the cell's initial state)
    gate, jump = gate.reshape(n, k, length, -1), jump.reshape(n, k, length, -1)
    noise = (mask * (np.arange(length) >= informative)).astype(float)[..., None]
    pick = at[..., None, None]
    return {
        "gate_informative": gate[:, :, :informative].mean(axis=2),
        "gate_noise": (gate * noise).sum(axis=2) / noise.sum(axis=2),
        "gate_at_against": np.take_along_axis(gate, pick, axis=2)[:, :, 0],
        "jump_at_against": np.take_along_axis(jump, pick, axis=2)[:, :, 0],
        "jump_typical": (jump * noise).sum(axis=2) / noise.sum(axis=2),
    }


def test_sequence_features(exp, cfg: dict, model, seed: int, cell=None) -> list[dict[str, np.ndarray]]:
    """Per trial, per test sequence: ``wrong`` (the run's own ABS(threshold) judgement, ``sequence_scores``) and
    the features of KEYS, on the sequences ``evaluate_trials`` scores (the trial's "test" stream, blocks of 256);
    with ``cell`` (the model's LSTM cell) those of GATE_KEYS too."""
    from lstm_hist import seeds
    from reproductions.hochreiter1997.training.checks import draw_chunk
    from reproductions.hochreiter1997.training.criteria import sequence_scores
    from reproductions.hochreiter1997.training.data import predict_trials

    protocol = exp.protocol(**cfg["protocol"])
    task_cfg = {**cfg["task"], **protocol.test_task}
    informative = int(task_cfg.get("informative", 1))
    streams = seeds.trial_streams(seed, "test", protocol.trials)
    keys = ("wrong", *feature_keys(cell is not None))
    parts: list[dict[str, list]] = [{k: [] for k in keys} for _ in range(protocol.trials)]
    done = 0
    while done < protocol.test_sequences:
        count = min(256, protocol.test_sequences - done)
        x, mask, y = (np.swapaxes(a, 0, 1) for a in draw_chunk(exp.task, task_cfg, streams, count))
        pred = predict_trials(model, x, mask)
        _, correct, _, _ = sequence_scores(y, pred, mask, protocol.threshold, protocol.every_step,
                                           protocol.criterion_steps)  # fmt: skip
        out = np.asarray(pred)
        lengths = mask.sum(axis=2).astype(int)
        rows_at = np.arange(count)
        targets = np.stack([y[b][:, 0] if y[b].ndim == 2 else y[b][rows_at, lengths[b] - 1, 0]
                            for b in range(len(parts))])  # fmt: skip
        against_sign = np.where(targets < 0.5, 1.0, -1.0)[..., None]  # the other class's sign is positive
        against_all = x[..., informative:, 0] * mask[..., informative:] * against_sign
        if cell is not None:
            steps = np.where(mask[..., informative:] > 0, against_all, -np.inf)  # never a padded step
            gated = gate_features(cell, x, mask, informative, informative + np.argmax(steps, axis=2))
            for trial, rows in enumerate(parts):
                for key in GATE_KEYS:
                    rows[key].append(gated[key][trial])
        for trial, rows in enumerate(parts):
            last, o = lengths[trial] - 1, out[trial]
            answer = o[rows_at, last, 0] if o.ndim == 3 else o[:, 0]
            target = targets[trial]
            noise = x[trial][:, informative:, 0] * mask[trial][:, informative:]
            against = against_all[trial]
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
    parser.add_argument("--gates", action="store_true", help="also the input gates and state jumps (gate_features)")
    args = parser.parse_args()

    record = json.loads(Path(str(args.weights).removesuffix(".weights.npz") + ".json").read_text("utf-8"))
    config = args.config or record["id"]
    exp, cfg, model, _ = trial_nets.load_model(args.weights, config)
    seed = int(record.get("seed", (record.get("seeds") or {}).get("base", 0)))
    threshold = exp.protocol(**cfg["protocol"]).threshold
    result = {"record": str(args.weights), "config": config, "seed": seed, "threshold": threshold, "trials": []}
    pooled: dict[str, list] = {"wrong": [], "right": []}
    cell = model.get_layer("lstm1997").cell if args.gates else None
    keys = feature_keys(cell is not None)
    for trial, rows in enumerate(test_sequence_features(exp, cfg, model, seed, cell)):
        wrong = rows["wrong"]
        expected = record["trials"][trial].get("test_wrong")
        if expected is not None and int(wrong.sum()) != int(expected):
            raise SystemExit(f"error: trial {trial}: {int(wrong.sum())} wrong here, the record says {expected}")
        for group, sel in (("wrong", wrong), ("right", ~wrong)):
            pooled[group].append({k: rows[k][sel] for k in keys})
        result["trials"].append({
            "trial": trial, "wrong": int(wrong.sum()), "error": stats(rows["error"]),
            "right_error_above_0_1": int(((rows["error"] > 0.1) & ~wrong).sum()),
            "wrong_sequences": [{"length": int(rows["length"][i]), "class": 2 if rows["class_two"][i] else 1,
                                 **{k: round(float(rows[k][i]), 4) for k in ("error", "noise_sum", "noise_peak",
                                                                              "against_max")}}
                                for i in np.flatnonzero(wrong)],
        })
        if cell is not None:
            kernel = np.asarray(cell.kernel)[trial, 0]  # the one input line's weights to [cells, gates]
            result["trials"][-1]["input_weights"] = {
                "to_cells": [round(float(v), 3) for v in kernel[: cell.cells]],
                "to_input_gates": [round(float(v), 3) for v in kernel[cell.cells : cell.cells + cell.blocks]]}
            two = rows["class_two"]
            groups = (("wrong", wrong), ("right", ~wrong), ("right_class_1", ~wrong & ~two),
                      ("right_class_2", ~wrong & two))
            result["trials"][-1]["gates"] = {
                group: {k: [round(float(v), 4) for v in rows[k][sel].mean(axis=0)] if sel.any() else None
                        for k in GATE_KEYS} for group, sel in groups}
    for group, parts in pooled.items():
        joined = {k: np.concatenate([part[k] for part in parts]) for k in keys}
        result.setdefault("pooled", {})[group] = {
            "n": int(joined["error"].size),
            "class_two_fraction": float(joined["class_two"].mean()) if joined["error"].size else None,
            **{k: stats(joined[k]) for k in KEYS if k != "class_two"},
            **{f"{k}_{j}": stats(joined[k][:, j]) for k in GATE_KEYS if k in joined
               for j in range(joined[k].shape[1])}}
    emit(result, args.out)


if __name__ == "__main__":
    main()
