"""The 1997 run summary's sequence statistics are over the solved trials only; a spread needs two of them."""

import numpy as np

from reproductions.hochreiter1997.training.result import OnlineResult


def _result(sequences, solved):
    n = len(sequences)
    return OnlineResult(status="completed", trials=n, parameters=10, sequences=np.array(sequences),
                        solved=np.array(solved), diverged=np.zeros(n, bool), sequences_seen=int(sum(sequences)),
                        repeated_sequences=0, seeds={}, train_seconds=1.0)


def test_two_solved_trials_give_their_sample_sd_and_the_unsolved_are_left_out():
    m = _result([100, 300, 5_000_000], [True, True, False]).metrics()
    assert m["solved_trials"] == 2 and m["sequences_mean"] == 200.0
    assert m["sequences_std"] == np.std([100, 300], ddof=1)


def test_one_solved_trial_has_no_spread_rather_than_a_spread_of_zero():
    m = _result([2_814_741, 5_000_000], [True, False]).metrics()
    assert m["sequences_mean"] == 2_814_741.0 and m["sequences_std"] is None


def test_no_solved_trial_has_no_sequence_statistics():
    m = _result([5_000_000, 5_000_000], [False, False]).metrics()
    assert m["success_rate"] == 0.0 and m["sequences_mean"] is None and m["sequences_std"] is None
