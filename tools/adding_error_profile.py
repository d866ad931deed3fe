"""Where a trained adding-problem net goes wrong: ABS(0.04) error rate by X1 + X2.

    python tools/adding_error_profile.py results/hochreiter1997/adding_t100.work/seed0-<fingerprint>/checkpoint.npz \
        [--config hochreiter1997/adding_t100] [--sequences 4000] [--seed 7]

Loads the trial weights of a run's last checkpoint (the ``.work`` folder the run leaves beside its record),
draws fresh sequences and prints, per band of X1 + X2, how many there were, the fraction of trials' outputs
with absolute error ≥ 0.04 and the mean signed error. docs/deviations.md ("The adding-problem gap") uses it.
"""

from __future__ import annotations

import argparse

import numpy as np

BANDS = [(-2.0, -1.8), (-1.8, -1.6), (-1.6, -1.2), (-1.2, 1.2), (1.2, 1.6), (1.6, 1.8), (1.8, 2.01)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--config", default="hochreiter1997/adding_t100")
    parser.add_argument("--sequences", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from lstm_hist.backend import select_backend

    select_backend(None)  # the package default (JAX) unless KERAS_BACKEND says otherwise
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(args.config)
    weights = np.load(args.checkpoint)
    trials = weights["model_0"].shape[0]
    model = experiment.model(trials=trials, **cfg["model"])
    for k, variable in enumerate(model.trainable_variables):
        variable.assign(weights[f"model_{k}"])
    batch = experiment.task(np.random.default_rng(args.seed), args.sequences, **cfg["task"])
    x = np.tile(batch.x, (trials, 1, 1))  # trial-major rows: every trial sees the same sequences
    mask = np.tile(batch.mask(), (trials, 1))
    pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, -1)
    target = batch.y[:, 0]
    error = pred - target[None]
    wrong = np.abs(error) >= cfg["protocol"].get("threshold", 0.04)
    total = 4.0 * (target - 0.5)  # X1 + X2
    print(f"{trials} trials, {args.sequences} sequences, checkpoint at {int(weights['seen'])} sequences")
    print("wrong per trial:", wrong.sum(axis=1).tolist())
    for low, high in BANDS:
        band = (total >= low) & (total < high)
        print(f"X1+X2 in [{low:+.1f}, {high:+.1f}): {band.sum():5d} sequences, "
              f"wrong {wrong[:, band].mean():.3f}, mean error {error[:, band].mean():+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
