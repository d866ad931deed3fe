"""lstm_hist.seeds reproduces, bit for bit, the derivations the committed records were made with.

Each expected value is the derivation as it was written at its old call site (online.py, to_criterion.py,
criterion_callback.py, gradients/command.py, minibatch.py, bengio2003/protocol.py), so a change of any
derivation fails here before it changes a record.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstm_hist import seeds

SEEDS = (0, 1, 7, 2**32 - 1)


def draws(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**62, size=8)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("purpose,key", [("train", 0), ("test", 1), ("check", 2)])
def test_trial_streams_are_the_spawned_children(seed, purpose, key):
    old = [np.random.default_rng(c) for c in np.random.SeedSequence(seed, spawn_key=(key,)).spawn(5)]
    new = seeds.trial_streams(seed, purpose, 5)
    for a, b in zip(old, new):
        assert np.array_equal(draws(a), draws(b))
    # trial b's stream does not depend on how many trials there are
    assert np.array_equal(draws(seeds.trial_streams(seed, purpose, 2)[1]), draws(seeds.trial_rng(seed, purpose, 1)))
    assert np.array_equal(draws(seeds.trial_rng(seed, purpose, 3)),
                          draws(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)).spawn(4)[3])))


@pytest.mark.parametrize("seed", SEEDS)
def test_per_trial_keys_of_the_1997_trainers(seed):
    old = lambda *key: draws(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key)))  # noqa: E731
    assert np.array_equal(draws(seeds.train_batch_rng(seed, 3, 11)), old(0, 3, 11))
    assert np.array_equal(draws(seeds.fixed_set_rng(seed, 2)), old(3, 2))
    assert np.array_equal(draws(seeds.epoch_order_rng(seed, 1, 4)), old(5, 1, 4))
    assert seeds.weights_seed_online(seed) == seed
    for trial in range(4):
        assert seeds.weights_seed_to_criterion(seed, trial) == int(
            np.random.SeedSequence(seed, spawn_key=(4, trial)).generate_state(1)[0] % 2**31)
    # the training batches of a baseline trial are children of the online trainer's stream of that trial
    parent = np.random.SeedSequence(seed, spawn_key=(0,)).spawn(4)[3]
    assert np.array_equal(draws(seeds.train_batch_rng(seed, 3, 2)), draws(np.random.default_rng(parent.spawn(3)[2])))


def test_pinned_first_words():
    """Numbers, not only identities: a NumPy that changed SeedSequence would change every record."""
    assert seeds.weights_seed_to_criterion(0, 0) == 1_905_993_885
    assert seeds.minibatch_seeds(0) == {"base": 0, "init": 821_328_062, "shuffle": 3_677_149_159,
                                        "noise": 745_650_761, "data": 737_436_698}
    assert int(seeds.trial_rng(0, "train", 0).integers(0, 2**31)) == 36_989_502


@pytest.mark.parametrize("seed", SEEDS)
def test_gradients_command_streams(seed):
    assert seeds.gradient_init_seeds(seed, 3) == [seed * 100_000 + 10 * i for i in range(3)]
    assert np.array_equal(draws(seeds.gradient_sequences_rng(seed, 1)),
                          draws(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, 1)))))
    assert np.array_equal(draws(seeds.gradient_training_rng(seed)),
                          draws(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))))


@pytest.mark.parametrize("seed", SEEDS)
def test_minibatch_and_bengio_streams(seed):
    states = np.random.SeedSequence(seed).generate_state(4)
    assert np.array_equal(seeds.minibatch_states(seed), states)
    assert seeds.minibatch_seeds(seed) == {"base": seed, "init": int(states[0] % 2**31), "shuffle": int(states[1]),
                                           "noise": int(states[2]), "data": int(states[3] % 2**31)}
    assert np.array_equal(draws(seeds.lr_candidates_rng(seed)),
                          draws(np.random.default_rng(np.random.SeedSequence([int(seed), 1412_3555]))))
    assert np.array_equal(draws(seeds.probe_rng()), draws(np.random.default_rng(0)))
    assert np.array_equal(draws(seeds.clustering_rng(seed)),
                          draws(np.random.default_rng(np.random.SeedSequence(seed))))


def test_table_describes_the_records_seeds_blocks():
    # the texts committed records carry (online.py, to_criterion.py, gradients/command.py)
    assert seeds.describe("train_streams", "test_streams", seed=3) == {
        "seed": 3, "train_streams": "SeedSequence(seed, spawn_key=(0,)).spawn(trials)",
        "test_streams": "SeedSequence(seed, spawn_key=(1,)).spawn(trials)"}
    assert seeds.STREAMS["train_batches"].derivation == "SeedSequence(seed, spawn_key=(0, trial, batch))"
    assert seeds.STREAMS["check_streams"].derivation == "SeedSequence(seed, spawn_key=(2,)).spawn(trials)"
    assert seeds.STREAMS["weights_to_criterion"].derivation == "SeedSequence(seed, spawn_key=(4, trial))"
    assert seeds.STREAMS["gradient_sequences"].derivation == "SeedSequence(seed, spawn_key=(2, j))"
    assert seeds.STREAMS["gradient_training"].derivation == "SeedSequence(seed, spawn_key=(3,))"
    with pytest.raises(KeyError):
        seeds.describe("no_such_stream")


def test_every_spawn_key_in_the_table_has_its_constant():
    """The first spawn key of each per-trial stream in the table is the module's named constant."""
    firsts = {name: int(m.group(1)) for name, s in seeds.STREAMS.items()
              if (m := re.search(r"spawn_key=\((\d)", s.derivation)) and not name.startswith("gradient")}
    assert firsts == {"train_streams": seeds.TRAIN, "train_batches": seeds.TRAIN, "test_streams": seeds.TEST,
                      "check_streams": seeds.CHECK, "check_fresh": seeds.CHECK, "fixed_sets": seeds.FIXED_SETS,
                      "weights_to_criterion": seeds.WEIGHTS_TO_CRITERION, "epoch_order": seeds.EPOCH_ORDER}
