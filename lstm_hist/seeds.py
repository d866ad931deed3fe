"""Every random stream of a run, derived from the run's one ``--seed`` in one place.

``STREAMS`` is the table: stream name → how it is derived from ``seed`` (the text records print under
``seeds``) and what it feeds. Trainers, protocols and commands turn the seed into a generator or a backend seed
through the functions below, named by what the stream is for, never by spawning keys of their own.

The derivations are those the committed records were made with, kept bit-for-bit (tests/test_seeds.py,
tests/test_pinned_numbers.py). Two of them share a spawn key without harm, and stay so that old records
reproduce: ``gradients`` task j's sequences use ``(2, j)``, the online check stream of trial j, and its
training sequences ``(3,)``, the parent of the fixed set pairs; ``lstm-hist gradients`` and a training run never
share a record, so nothing is drawn twice within one.

Independence: NumPy's ``SeedSequence`` children with distinct spawn keys are independent streams; the
trial-b stream depends on (seed, purpose, b) only, never on the number of trials, so a trial's data does not
change when ``--trials`` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Stream(NamedTuple):
    derivation: str  # as records print it (``seeds`` block); ``seed`` is the run's --seed
    feeds: str


# Spawn keys of the per-trial streams (the first element of ``SeedSequence(seed, spawn_key=(key, ...))``).
TRAIN, TEST, CHECK, FIXED_SETS, WEIGHTS_TO_CRITERION, EPOCH_ORDER = 0, 1, 2, 3, 4, 5
PURPOSES = {"train": TRAIN, "test": TEST, "check": CHECK}

# The seed of the minibatch trainer's learning-rate candidates (Chung 2014 §4): a second entropy word, so the
# candidates are independent of ``minibatch_seeds``' streams of the same seed.
LR_CANDIDATES_SALT = 1412_3555

STREAMS: dict[str, Stream] = {
    # Hochreiter & Schmidhuber 1997 online trainer (trial-parallel) and its minibatch baselines.
    "weights": Stream("seed", "keras.utils.set_random_seed before the trial-parallel 1997 net is built"),
    "train_streams": Stream("SeedSequence(seed, spawn_key=(0,)).spawn(trials)",
                            "trial b's training sequences, drawn in chunks (online trainer)"),
    "train_batches": Stream("SeedSequence(seed, spawn_key=(0, trial, batch))",
                            "minibatch `batch` of trial b's fresh training sequences (minibatch baselines)"),
    "test_streams": Stream("SeedSequence(seed, spawn_key=(1,)).spawn(trials)",
                           "trial b's test sequences after training (also lstm-hist evaluate)"),
    "check_streams": Stream("SeedSequence(seed, spawn_key=(2,)).spawn(trials)",
                            "trial b's check set (Exp 3's criterion, Exp 1's held-out strings)"),
    "check_fresh": Stream("SeedSequence(seed, spawn_key=(2, trial, seen))",
                          "trial b's check set at the check after `seen` training sequences (check_draw: fresh)"),
    "fixed_sets": Stream("SeedSequence(seed, spawn_key=(3, j))",
                         "fixed training/test set pair j (Exp 1: trial b trains on pair b mod fixed_sets)"),
    "weights_to_criterion": Stream("SeedSequence(seed, spawn_key=(4, trial))",
                                   "initial weights of trial b of a minibatch baseline (one model per trial)"),
    "epoch_order": Stream("SeedSequence(seed, spawn_key=(5, trial, epoch))",
                          "order of a fixed training set in epoch e of trial b (exemplar_order: epochs)"),
    # lstm-hist gradients.
    "gradient_inits": Stream("seed*100000 + 10*i", "weights of init i, every unit"),
    "gradient_sequences": Stream("SeedSequence(seed, spawn_key=(2, j))", "task j's measured sequences"),
    "gradient_training": Stream("SeedSequence(seed, spawn_key=(3,))", "the brief training's sequences"),
    # The shared minibatch trainer (Bengio 2003, Chung 2014).
    "minibatch": Stream("SeedSequence(seed).generate_state(4) -> init % 2**31, shuffle, noise, data % 2**31",
                        "initial weights, data order, weight noise, task data"),
    "one_graph_noise": Stream("jax.random.key(noise % 2**31), folded with epoch, step, variable index",
                              "weight noise of Chung candidates trained in one graph (reproductions/chung2014/"
                              "jit_step.py), instead of default_rng([noise, epoch, batch])"),
    "lr_candidates": Stream(f"SeedSequence([seed, {LR_CANDIDATES_SALT}])",
                            "the learning-rate candidates of a search (Chung 2014 §4)"),
    # Bengio et al. 2003 class n-gram.
    "clustering": Stream("SeedSequence(seed)", "exchange clustering's initial classes and visiting order"),
    # Not a stream of the run: a sequence drawn only to learn the data's shapes and sizes, never trained on.
    "probe": Stream("default_rng(0), whatever the seed", "a shape probe of the task's data (chunk sizes, widths)"),
}


def describe(*names: str, seed: int | None = None) -> dict[str, str | int]:
    """The ``seeds`` block of a record: each named stream's derivation (and ``seed`` first when given)."""
    block: dict[str, str | int] = {} if seed is None else {"seed": int(seed)}
    block.update({name: STREAMS[name].derivation for name in names})
    return block


# --- Hochreiter & Schmidhuber 1997 -----------------------------------------------------------------------


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def trial_streams(seed: int, purpose: str, trials: int) -> list[np.random.Generator]:
    """One generator per trial for ``purpose`` ("train", "test" or "check"): trial b's is
    ``SeedSequence(seed, spawn_key=(key, b))``, i.e. ``SeedSequence(seed, spawn_key=(key,)).spawn(trials)[b]``."""
    return [trial_rng(seed, purpose, b) for b in range(trials)]


def trial_rng(seed: int, purpose: str, trial: int) -> np.random.Generator:
    """Trial ``trial``'s generator of :func:`trial_streams` alone."""
    return _rng(seed, PURPOSES[purpose], trial)


def check_draw_rng(seed: int, trial: int, seen: int) -> np.random.Generator:
    """Trial ``trial``'s check set at the check after ``seen`` training sequences (a set redrawn at every check):
    a pure function of the count, so a resumed run draws the same sets without a stream state to keep."""
    return _rng(seed, CHECK, trial, seen)


def train_batch_rng(seed: int, trial: int, batch: int) -> np.random.Generator:
    """Minibatch ``batch`` of trial ``trial``'s fresh training sequences: the ``batch``-th child of the trial's
    training stream, a pure function of its index (Keras may ask for batches out of order)."""
    return _rng(seed, TRAIN, trial, batch)


def fixed_set_rng(seed: int, pair: int) -> np.random.Generator:
    """Fixed training/test set pair ``pair`` (Exp 1's "t1" selection)."""
    return _rng(seed, FIXED_SETS, pair)


def epoch_order_rng(seed: int, trial: int, epoch: int) -> np.random.Generator:
    """The order in which trial ``trial`` visits its fixed training set in epoch ``epoch``."""
    return _rng(seed, EPOCH_ORDER, trial, epoch)


def weights_seed_online(seed: int) -> int:
    """The backend seed set before the trial-parallel 1997 net is built: the raw seed (every trial's weights
    come from the one initialiser draw, trial b taking slice b)."""
    return int(seed)


def weights_seed_to_criterion(seed: int, trial: int) -> int:
    """The backend seed of trial ``trial``'s own model in a minibatch baseline."""
    return int(np.random.SeedSequence(seed, spawn_key=(WEIGHTS_TO_CRITERION, trial)).generate_state(1)[0] % 2**31)


# --- lstm-hist gradients ---------------------------------------------------------------------------------


def gradient_init_seeds(seed: int, inits: int) -> list[int]:
    """The weight seed of each init (every unit's builder adds small offsets per weight matrix)."""
    return [seed * 100_000 + 10 * i for i in range(inits)]


def gradient_sequences_rng(seed: int, task_index: int) -> np.random.Generator:
    """Task ``task_index``'s measured sequences, one per init, the same for every unit."""
    return _rng(seed, 2, task_index)


def gradient_training_rng(seed: int) -> np.random.Generator:
    """The sequences of the brief training between the two measurements."""
    return _rng(seed, 3)


# --- the shared minibatch trainer and its papers ---------------------------------------------------------


def minibatch_states(seed: int) -> np.ndarray:
    """Four 32-bit words: initial weights, data order, weight noise, task data (see :func:`minibatch_seeds`)."""
    return np.random.SeedSequence(seed).generate_state(4)


def minibatch_seeds(seed: int) -> dict[str, int]:
    """Independent seeds for initialisation, data order, weight noise and the task, from one base seed.

    ``init`` and ``data`` are reduced below 2**31 (Keras/TensorFlow seeds); ``shuffle`` and ``noise`` stay full words.
    """
    states = minibatch_states(seed)
    return {"base": int(seed), "init": int(states[0] % 2**31), "shuffle": int(states[1]),
            "noise": int(states[2]), "data": int(states[3] % 2**31)}


def lr_candidates_rng(seed: int) -> np.random.Generator:
    """The generator of a learning-rate search's candidates (a pure function of the seed: a resumed search
    retrains the same candidates)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), LR_CANDIDATES_SALT]))


def probe_rng() -> np.random.Generator:
    """A generator for a shape probe: one draw of the task to learn its widths and sizes, never trained or tested on
    (so it needs no seed of the run)."""
    return np.random.default_rng(0)


def clustering_rng(seed: int) -> np.random.Generator:
    """Bengio 2003's class n-gram: the exchange clustering's generator."""
    return np.random.default_rng(np.random.SeedSequence(seed))
