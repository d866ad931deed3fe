"""How many of a trial's check sequences no net can classify in task 3b (§5.3, Table 5; docs/deviations.md E3.7).

    python tools/two_sequence_check_floor.py [--config hochreiter1997/two_sequence_3b_t100_n1] [--seeds 0 1 2]
        [--weights RECORD.weights.npz] [--out floor.json]

In 3b the N informative elements carry Gaussian noise too, so a sequence whose informative elements sum to the
other class's sign looks like the other class: the most probable class given the input is the wrong one (the
noise elements after N are independent of the class), and a net that classifies by the evidence misclassifies
it. Per seed and trial this counts such sequences in the trial's **fixed** check set (the one ST1/ST2 are judged
on, ``check_draw: fixed``, drawn exactly as the run draws it): where the count exceeds ``st1_max_wrong`` ST1 cannot
be met by such a net, and the trial runs to the cap. ``expected_unreachable`` is the chance of that per trial,
P(Binomial(check_sequences, p) > st1_max_wrong) with p = Φ(−√N / σ) the chance that the noise flips the sign.

With ``--weights`` (a completed record's ``.weights.npz``, its record beside it; the seed is the record's), each
trial's net also answers its own check set: ``wrong`` (misclassified at the row's threshold, ST1's count) and
``wrong_of_floor`` (how many of the sign-flipped sequences are among them).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from json_out import emit
from lstm_hist import seeds


def binomial_tail(n: int, p: float, k: int) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    return 1.0 - sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))


def check_sets(exp, cfg, protocol, seed: int):
    """Each trial's fixed check set, drawn as the run draws it (reproductions/hochreiter1997/training/checks.py)."""
    task = {**cfg["task"], **protocol.test_task}
    streams = seeds.trial_streams(seed, "check", protocol.trials)
    return [exp.task(rng, protocol.check_sequences, **task) for rng in streams]


def floor_of(batch, informative: int) -> np.ndarray:
    """Per sequence: whether its informative elements' sum has the other class's sign (targets: class 1 above)."""
    evidence = batch.x[:, :informative, 0].sum(axis=1)
    class_one = batch.y[:, 0] > 0.5
    return (evidence > 0) != class_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="hochreiter1997/two_sequence_3b_t100_n1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--weights", type=Path, help="a completed record's .weights.npz (its seed is used)")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()

    from lstm_hist.backend import select_backend

    select_backend(None)
    from lstm_hist.registry import load

    _, _, exp, cfg = load(args.config)
    protocol = exp.protocol(**cfg["protocol"])
    task = cfg["task"]
    if not task.get("informative_noise"):
        raise SystemExit(f"error: {args.config} has noise-free informative elements: every check set is learnable")
    n_inf, sigma = task["informative"], math.sqrt(task.get("noise_variance", 0.2))
    p_flip = 0.5 * math.erfc(math.sqrt(n_inf) / sigma / math.sqrt(2))
    result = {
        "config": args.config,
        "check_sequences": protocol.check_sequences,
        "st1_max_wrong": protocol.st1_max_wrong,
        "p_flip": p_flip,
        "expected_unreachable": binomial_tail(protocol.check_sequences, p_flip, protocol.st1_max_wrong),
        "seeds": {},
    }
    model = None
    if args.weights is not None:
        import trial_nets
        from reproductions.hochreiter1997.training.criteria import sequence_scores
        from reproductions.hochreiter1997.training.data import predict_trials, stack_per_trial

        record = json.loads(Path(str(args.weights).removesuffix(".weights.npz") + ".json").read_text("utf-8"))
        args.seeds = [int(record["seed"])]
        _, _, model, _ = trial_nets.load_model(args.weights, args.config)
    for seed in args.seeds:
        sets = check_sets(exp, cfg, protocol, seed)
        floors = [floor_of(b, n_inf) for b in sets]
        rows = [{"trial": b, "floor": int(f.sum()), "unreachable": bool(f.sum() > protocol.st1_max_wrong)}
                for b, f in enumerate(floors)]
        if model is not None:
            x, mask, y = stack_per_trial(sets)
            _, correct, _, _ = sequence_scores(y, predict_trials(model, x, mask), mask, protocol.threshold,
                                               protocol.every_step, protocol.criterion_steps)  # fmt: skip
            for row, ok, f in zip(rows, correct, floors):
                row.update(wrong=int((~ok).sum()), wrong_of_floor=int((~ok & f).sum()))
        result["seeds"][str(seed)] = rows
    emit(result, args.out)


if __name__ == "__main__":
    main()
