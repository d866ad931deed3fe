"""Experiment 3, noise and signal on the same input line (Hochreiter & Schmidhuber 1997, §5.3, Tables 4–6).

Task 3a (the "2-sequence problem" of Bengio et al. 1994): two classes, each with probability 0.5, one input
line. Only the first N real-valued elements carry information: 1.0 for class 1, −1.0 for class 2. Elements
at t > N are Gaussian noise with mean 0 and variance 0.2. Lengths are random in [T, T + T/10]. The target
at the sequence end is 1.0 (class 1) or 0.0 (class 2).

Task 3b: as 3a, plus Gaussian noise (mean 0, variance 0.2) on the informative elements too.

Task 3c: targets 0.2 (class 1) and 0.8 (class 2), plus Gaussian target noise (mean 0, variance 0.1).
Misclassified means |output − noise-free target| > 0.1, so tests draw with ``target_noise_variance=0``
(the generator draws the noise either way, so the input stream is the same).

Choices where §5.3 is open (docs/deviations.md, "hochreiter1997 — Exp 3"):

* Lengths are integers uniform in [T, T + ⌊T/10⌋], both ends included (as in Exp 4).
* Positions are 1-based: t ≤ N is the first N elements.
* 3c's informative elements: ``informative_noise`` is a switch; the configs follow the facts file's reading
  of 3c ("as 3a", noise-free informative elements).
"""

from __future__ import annotations

import numpy as np

from lstm_hist.experiment import SequenceBatch


def two_sequence(
    rng: np.random.Generator,
    n: int,
    min_length: int = 100,
    informative: int = 3,
    informative_noise: bool = False,
    targets: tuple[float, float] = (1.0, 0.0),
    target_noise_variance: float = 0.0,
    noise_variance: float = 0.2,
) -> SequenceBatch:
    """x (n, L, 1), y (n, 1); ``targets`` = (class 1, class 2) targets."""
    if informative < 1 or min_length <= informative:
        raise ValueError(
            f"need 1 ≤ informative < min_length, received informative={informative!r}, min_length={min_length!r}"
        )
    steps = two_sequence_length(min_length)
    lengths = rng.integers(min_length, steps + 1, size=n)
    class_two = rng.random(n) < 0.5
    noise = rng.normal(0.0, np.sqrt(noise_variance), size=(n, steps))
    target_noise = rng.normal(0.0, 1.0, size=n)  # drawn always, so the stream does not depend on the variance
    signal = np.where(class_two, -1.0, 1.0)[:, None] * np.ones((1, informative))
    values = noise.copy()
    values[:, :informative] = signal + (noise[:, :informative] if informative_noise else 0.0)
    values *= np.arange(steps)[None, :] < lengths[:, None]
    y = np.where(class_two, targets[1], targets[0]) + np.sqrt(target_noise_variance) * target_noise
    return SequenceBatch(values[..., None].astype(np.float32), lengths, y[:, None].astype(np.float32))


def two_sequence_length(min_length: int = 100, **_) -> int:
    return min_length + min_length // 10


two_sequence.max_length = two_sequence_length
