"""Where trained embedded-Reber nets go wrong (Exp 1, §5.1): per trial, which strings of its training and test
set fail the legal-next criterion, and at which step.

    python tools/reber_error_profile.py <record>.json [<record's .work>/checkpoint.npz]

Rebuilds the run's fixed training/test set pairs from the record's resolved config and seed, loads the trial
weights of the checkpoint (the ``.work`` folder a run leaves beside its record; the last checkpoint of a run
that reached its cap holds the final weights) and prints, per trial: strings wrong in its training set and in
its test set, how many of the wrong strings fail at the long-lag step (predicting the closing T/P, step
length − 3) and how many only elsewhere, and the mean length of right and wrong test strings. Then the same
summed over trials. Without a checkpoint, a completed record's final weights (``<record>.weights.npz``) are used.
Last, the long-lag step itself: the mean output of the right and of the wrong closing unit (T or P) there, on
each trial's training strings, and the mean σ′ = y(1 − y) of the right one (near 0: a saturated unit; ≈ 0.25:
an answer near ½ that the gradient can still move). docs/deviations.md ("The Reber gap") uses it.
"""

from __future__ import annotations

import argparse

import numpy as np


def step_ok(output: np.ndarray, legal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(…, L) bool: the legal-next rule of reproductions.hochreiter1997.training.criteria, per step (steps without a target ok)."""
    from reproductions.hochreiter1997.training.criteria import step_targets

    lowest_legal = np.min(np.where(legal, output, np.inf), axis=-1)
    highest_illegal = np.max(np.where(legal, -np.inf, output), axis=-1)
    return (lowest_legal > highest_illegal) | ~step_targets(mask)


def step_ok_argmax(output: np.ndarray, legal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(…, L) bool: a looser reading of "predicted correctly" than E1.4: the most active unit is a legal one."""
    from reproductions.hochreiter1997.training.criteria import step_targets

    top = np.argmax(output, axis=-1)
    return np.take_along_axis(legal, top[..., None], axis=-1)[..., 0] | ~step_targets(mask)


def closing_outputs(pred: np.ndarray, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per string, the outputs (…, strings) of the right and the wrong closing unit at the long-lag step (the step
    whose successor is the closing T/P, length − 3), from pred (…, strings, L, 7) and one-hot strings x."""
    from reproductions.hochreiter1997.tasks.reber import INDEX

    t, p = INDEX["T"], INDEX["P"]
    rows = np.arange(len(lengths))
    at = pred[..., rows, lengths - 3, :]
    branch = x[:, 1].argmax(-1)  # the embedded branch, T or P, which the closing symbol repeats
    return at[..., rows, branch], at[..., rows, np.where(branch == t, p, t)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("checkpoint", nargs="?", help="default: the record's final weights, <record>.weights.npz")
    args = parser.parse_args(argv)

    from reber_record import load_record

    loaded = load_record(args.record, args.checkpoint)
    experiment, pairs, solved, seen = loaded.experiment, loaded.pairs, loaded.solved, loaded.seen
    trials = len(solved)
    model = loaded.model()
    print(f"{trials} trials, weights at {seen} strings, solved {int(solved.sum())}")
    for j, (train, test) in enumerate(pairs):
        distinct = len({train.x[i, : train.lengths[i]].tobytes() for i in range(len(train.lengths))})
        print(f"pair {j}: {distinct} different training strings, mean length train "
              f"{train.lengths.mean():.1f}, test {test.lengths.mean():.1f}")
    totals = np.zeros(5, dtype=np.int64)
    print("trial solved | train wrong (lag / only other) | test wrong (lag / only other) | test len right/wrong")
    steps_ok = {}  # (pair, part) → (trials, strings, L): every trial's nets on that set
    loose = {}  # (pair, part) → (trials,): every string of the set passes the argmax reading
    closing = {}  # pair → (right, wrong), each (trials, strings): the closing units at the long-lag step, training set
    for j, pair in enumerate(pairs):
        for part, batch in enumerate(pair):
            x, mask = np.tile(batch.x, (trials, 1, 1)), np.tile(batch.mask(), (trials, 1))
            pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, len(batch.lengths), *batch.x.shape[1:])
            if part == 0:
                closing[j] = closing_outputs(pred, batch.x, batch.lengths)
            legal = experiment.task.legal_next(batch.x, batch.lengths)
            steps_ok[j, part] = step_ok(pred, legal[None], batch.mask()[None])
            loose[j, part] = step_ok_argmax(pred, legal[None], batch.mask()[None]).all(axis=-1).all(axis=-1)
    for b in range(trials):
        row = []
        for part, batch in enumerate(pairs[b % len(pairs)]):
            ok = steps_ok[b % len(pairs), part][b]
            wrong = ~ok.all(axis=1)
            lag = ~ok[np.arange(len(batch.lengths)), batch.lengths - 3]  # the step whose successor is the closing T/P
            row += [int(wrong.sum()), int(lag.sum()), int((wrong & ~lag).sum())]
            if part == 1:
                right_len = batch.lengths[~wrong].mean() if (~wrong).any() else float("nan")
                wrong_len = batch.lengths[wrong].mean() if wrong.any() else float("nan")
                row += [right_len, wrong_len]
        totals += [row[0], row[1], row[3], row[4], row[5]]
        print(f"{b:5d} {'yes' if solved[b] else 'no ':>6} | {row[0]:4d} ({row[1]:3d} / {row[2]:3d}) | "
              f"{row[3]:4d} ({row[4]:3d} / {row[5]:3d}) | {row[6]:.1f} / {row[7]:.1f}")
    print(f"sum: train wrong {totals[0]} (lag {totals[1]}), test wrong {totals[2]} (lag {totals[3]})")
    passes = [bool(loose[b % len(pairs), 0][b] and loose[b % len(pairs), 1][b]) for b in range(trials)]
    print(f"trials passing the looser reading (the most active unit legal at every step): {sum(passes)}")
    # Where the wrong steps sit in unsolved trials, by distance from the string's end (k = 3: the long-lag step).
    for part, name in ((0, "train"), (1, "test")):
        counts: dict[int, int] = {}
        for b in np.flatnonzero(~solved):
            batch, ok = pairs[b % len(pairs)][part], steps_ok[b % len(pairs), part][b]
            rows, steps = np.nonzero(~ok)
            for k in batch.lengths[rows] - steps:
                counts[int(k)] = counts.get(int(k), 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:6]
        print(f"{name}: wrong steps of unsolved trials by steps before the end: "
              + ", ".join(f"{k}: {v}" for k, v in top))
    print("long-lag step, training strings: trial solved | right closing unit (σ′) | wrong closing unit")
    for b in range(trials):
        right, wrong = (a[b] for a in closing[b % len(pairs)])
        print(f"{b:5d} {'yes' if solved[b] else 'no ':>6} | {right.mean():.3f} ({(right * (1 - right)).mean():.3f}) | "
              f"{wrong.mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
