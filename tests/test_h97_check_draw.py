"""``protocol.check_draw`` (Exp 3, issue 17, deviations E3.7): "fixed" keeps each trial's one check set (E3.1, the
committed records and their checkpoints unchanged), "fresh" draws a new set at every check from a stream keyed by
the trial and the sequence count."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist import run_state, seeds  # noqa: E402
from lstm_hist.errors import UserError  # noqa: E402
from lstm_hist.registry import load  # noqa: E402
from reproductions.hochreiter1997.training import checks  # noqa: E402
from reproductions.hochreiter1997.training.online import OnlineRun  # noqa: E402


def _setup(check_draw, trials=3, check_sequences=16):
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3b_t100_n1")
    protocol = exp.protocol(**{**cfg["protocol"], "trials": trials, "check_sequences": check_sequences,
                               "check_draw": check_draw})
    task = {**cfg["task"], "min_length": 20}
    return exp, cfg, protocol, task


def _sets_seen(monkeypatch, check, **kwargs):
    """The inputs a check is judged on (its ``predict_trials`` replaced by one that records them)."""
    seen = []
    monkeypatch.setattr(checks, "predict_trials", lambda m, x, mask: seen.append(x) or np.zeros(x.shape[:2] + (1,)))
    check(None, **kwargs)
    return seen[-1]  # the full set (the screen, when it runs, comes first)


def test_fixed_is_the_default_and_keeps_the_fingerprint():
    """Checkpoints written before the field existed resume: its default stays out of the fingerprint."""
    exp, cfg, protocol, task = _setup("fixed")
    assert exp.protocol(**cfg["protocol"]).check_draw == "fixed"
    before = {k: v for k, v in dataclasses.asdict(protocol).items() if k != "check_draw"}
    assert run_state.fingerprint(task, cfg["model"], protocol, 0) == run_state.fingerprint(
        task, cfg["model"], exp.protocol(**before), 0)
    assert run_state.fingerprint(task, cfg["model"], dataclasses.replace(protocol, check_draw="fresh"), 0) != \
        run_state.fingerprint(task, cfg["model"], protocol, 0)


def test_an_unknown_draw_is_a_user_error():
    with pytest.raises(UserError, match="check_draw"):
        _setup("sometimes")


def test_fixed_sets_are_the_same_at_every_check(monkeypatch):
    exp, _, protocol, task = _setup("fixed")
    check = checks.make_checker(exp.task, task, protocol, 0, protocol.trials, None, screen=0)
    first, later = (_sets_seen(monkeypatch, check, at=at) for at in (100, 200))
    np.testing.assert_array_equal(first, later)
    own = exp.task(seeds.trial_rng(0, "check", 1), protocol.check_sequences, **task)
    np.testing.assert_array_equal(first[1].reshape(own.x.shape), own.x)


def test_fresh_sets_change_with_the_count_and_only_with_it(monkeypatch):
    """A pure function of (seed, trial, count): the same count gives the same sets (a resumed run), another count
    other sets, and a subset of trials (compaction's rows) gets exactly those trials' sets."""
    exp, _, protocol, task = _setup("fresh")
    check = checks.make_checker(exp.task, task, protocol, 0, protocol.trials, None, screen=0)
    at_100, again, at_200 = (_sets_seen(monkeypatch, check, at=at) for at in (100, 100, 200))
    np.testing.assert_array_equal(at_100, again)
    assert not np.array_equal(at_100, at_200)
    rows = _sets_seen(monkeypatch, check, rows=np.array([2, 0]), at=100)
    np.testing.assert_array_equal(rows, at_100[[2, 0]])
    own = exp.task(seeds.check_draw_rng(0, 1, 200), protocol.check_sequences, **task)
    np.testing.assert_array_equal(at_200[1].reshape(own.x.shape), own.x)
    fixed = exp.task(seeds.trial_rng(0, "check", 1), protocol.check_sequences, **task)
    assert not np.array_equal(own.x, fixed.x)


def test_a_fresh_run_trains_as_the_fixed_one_until_a_check_differs(tmp_path):
    """The training stream does not depend on the draw: two runs whose checks never pass (at most 0 wrong of 64,
    nothing learnt in 300 sequences) end with the same weights; the fresh run's record names its check stream."""
    exp, cfg, _, task = _setup("fixed")
    results = []
    for draw in ("fixed", "fresh"):
        protocol = exp.protocol(**{**cfg["protocol"], "trials": 2, "check_sequences": 64, "check_every": 50,
                                   "st1_max_wrong": 0, "max_sequences": 300, "checkpoint_every": 100,
                                   "test_sequences": 8, "check_draw": draw})
        run = OnlineRun(protocol, exp, task, cfg["model"], 0, tmp_path / draw, None, 100)
        results.append(run.result(run.train()))
    fixed, fresh = results
    assert not fixed.solved.any() and not fresh.solved.any()
    for a, b in zip(fixed.final_weights, fresh.final_weights):
        np.testing.assert_array_equal(a, b)
    assert "check_streams" in fixed.seeds and "check_fresh" in fresh.seeds
