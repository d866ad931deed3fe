"""The screen in Exp 3's periodic check (reproductions/hochreiter1997/training/checks.py, issue 17): the first
eighth of each check set decides "ST1 fails" for every trial before the full set is run, and the run's numbers
are those of the full check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist import seeds  # noqa: E402
from lstm_hist.registry import load  # noqa: E402
from reproductions.hochreiter1997.training import checks  # noqa: E402
from reproductions.hochreiter1997.training.data import predict_trials, stack_per_trial  # noqa: E402
from reproductions.hochreiter1997.training.online import OnlineRun  # noqa: E402


class _Answers:
    """A stand-in net: the check set's own targets for the trials in ``right`` (nothing misclassified), 0.5 for
    the others (everything misclassified at threshold 0.2)."""

    def __init__(self, targets, right):
        self.targets, self.right = targets, right

    def predict_on_batch(self, inputs):
        n, k = self.targets.shape[:2]
        out = np.where(np.asarray(self.right)[:, None, None], self.targets, 0.5)
        rows = len(inputs[0]) // n
        return out[:, :rows].reshape(n * rows, -1)


@pytest.mark.parametrize("row, trials, task", [("two_sequence_3a_t100_n1", 3, {"min_length": 30}),
                                               ("two_sequence_3a_t100_n1_keras_lstm", 1, {"min_length": 30})])
def test_a_sequence_gets_the_same_outputs_in_the_screen_as_in_the_full_set(row, trials, task):
    """The premise of the screen: the outputs of a check sequence do not depend on how many rows are computed
    beside it, bit for bit (Exp 3's net on its fast path, and the Keras LSTM baseline, one trial a model)."""
    _, _, exp, cfg = load(f"hochreiter1997/{row}")
    keras.utils.set_random_seed(3)
    model = exp.model(trials=None if row.endswith("keras_lstm") else trials, **cfg["model"])
    streams = seeds.trial_streams(0, "check", trials)
    x, mask, _ = stack_per_trial([exp.task(rng, 32, **{**cfg["task"], **task}) for rng in streams])
    full = predict_trials(model, x, mask)
    head = predict_trials(model, x[:, :4], mask[:, :4])
    np.testing.assert_array_equal(head, full[:, :4])


def test_a_screened_run_equals_the_run_with_full_checks(tmp_path, monkeypatch):
    """Seed 1: three of 4 trials reach ST1 (after 2,180 – 2,420 sequences), so the screen both stops checks and
    lets them through; counts, weights and checkpoint equal those of a run that checks the full set every time."""
    from reproductions.hochreiter1997.training import online

    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    protocol = exp.protocol(**{**cfg["protocol"], "trials": 4, "check_sequences": 64, "check_every": 20,
                               "max_sequences": 2500, "checkpoint_every": 500, "test_sequences": 8})
    task = {**cfg["task"], "min_length": 20}
    make, predict, sizes = checks.make_checker, checks.predict_trials, []
    monkeypatch.setattr(checks, "predict_trials",
                        lambda m, x, mask: sizes[-1].append(x.shape[1]) or predict(m, x, mask))
    results = []
    for screen in (0, None):
        sizes.append([])
        monkeypatch.setattr(online, "make_checker", lambda *a, screen=screen: make(*a, screen=screen))
        run = OnlineRun(protocol, exp, task, cfg["model"], 1, tmp_path / str(screen), None, 50)
        results.append(run.result(run.train()))
    full, screened = results
    assert (full.st1_at > 0).sum() == 3  # the screen's both branches are exercised below
    np.testing.assert_array_equal(full.st1_at, screened.st1_at)
    np.testing.assert_array_equal(full.st2_at, screened.st2_at)
    np.testing.assert_array_equal(full.sequences, screened.sequences)
    np.testing.assert_array_equal(full.solved, screened.solved)
    for a, b in zip(full.final_weights, screened.final_weights):
        np.testing.assert_array_equal(a, b)
    first, second = (np.load(tmp_path / n / "checkpoint.npz") for n in ("0", "None"))
    for key in first.files:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    full_checks, screened_checks = (calls[:-1] for calls in sizes)  # the last call: the final test's 8 sequences
    assert set(full_checks) == {64} and len(full_checks) == 125  # every 20th of 2,500 sequences, the full set
    screens, fulls = screened_checks.count(8), screened_checks.count(64)
    assert screens == 125 and 0 < fulls < 125  # each check screened, few run in full


def test_the_screen_is_an_eighth_of_the_check_set_and_off_below_eight(monkeypatch):
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    task = {**cfg["task"], "min_length": 20}
    predict, calls = checks.predict_trials, []
    monkeypatch.setattr(checks, "predict_trials", lambda m, x, mask: calls.append(x.shape[1]) or predict(m, x, mask))
    for sequences, first in ((256, 32), (64, 8), (7, 7)):
        protocol = dataclasses.replace(exp.protocol(**cfg["protocol"]), trials=2, check_sequences=sequences)
        calls.clear()
        checks.make_checker(exp.task, task, protocol, 0, 2, None)(_Answers(np.zeros((2, sequences, 1)), [False] * 2))
        assert calls == [first]  # every trial wrong: the screen alone, or the full set where there is no screen


def test_only_an_active_trial_passing_the_screen_runs_the_full_set(monkeypatch):
    """A solved trial is frozen and passes the screen at every check; the full set runs only for an active one."""
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    task = {**cfg["task"], "min_length": 20}
    protocol = dataclasses.replace(exp.protocol(**cfg["protocol"]), trials=3, check_sequences=64)
    streams = seeds.trial_streams(0, "check", 3)
    _, _, targets = stack_per_trial([exp.task(rng, 64, **task) for rng in streams])  # the checker's own draw
    predict, calls = checks.predict_trials, []
    monkeypatch.setattr(checks, "predict_trials", lambda m, x, mask: calls.append(x.shape[1]) or predict(m, x, mask))
    check = checks.make_checker(exp.task, task, protocol, 0, 3, None)
    net = _Answers(targets, right=[True, False, False])
    met, st1 = check(net, active=np.array([False, True, True]))  # trial 0 solved and frozen
    assert calls == [8] and not met.any() and not st1.any()
    calls.clear()
    met, st1 = check(net, active=np.array([True, True, True]))
    assert calls == [8, 64] and st1.tolist() == [True, False, False]

