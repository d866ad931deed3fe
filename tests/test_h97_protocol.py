"""The online protocol's additions for Hochreiter & Schmidhuber (1997) Exps 1, 2, 3, 5: every-step targets,
the criteria of Tables 1–8, fixed training/test sets, and one smoke run per experiment family via the CLI."""

import dataclasses
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from lstm_hist import seeds  # noqa: E402
from reproductions.hochreiter1997.training.criteria import last_target, legal_next_correct, sequence_scores, step_targets  # noqa: E402
from reproductions.hochreiter1997.training.data import TrainingData, fixed_set_pairs  # noqa: E402
from reproductions.hochreiter1997.training.online import train_online  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402
from reproductions.hochreiter1997.training.steps import every_step_loss  # noqa: E402
from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402
from reproductions.hochreiter1997.tasks import reber  # noqa: E402


def test_every_step_targets_are_the_steps_with_a_successor():
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    np.testing.assert_array_equal(step_targets(mask), [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(last_target(mask), [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])


def test_every_step_loss_ignores_steps_without_a_target():
    rng = np.random.default_rng(0)
    y, pred = rng.uniform(size=(2, 5, 3)).astype("float32"), rng.uniform(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    got = np.asarray(every_step_loss(ops, y, pred, mask, 0.5))
    want = [0.5 * np.sum((y[b, :n] - pred[b, :n]) ** 2) for b, n in ((0, 2), (1, 4))]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_sequence_scores_judge_all_steps_or_only_the_last():
    y = np.zeros((1, 4, 2), "float32")
    pred = np.zeros((1, 4, 2), "float32")
    mask = np.ones((1, 4), bool)
    pred[0, 0, 1] = 0.3  # a wrong middle step (2b: unpredictable)
    _, correct_all, _, _ = sequence_scores(y, pred, mask, 0.25, every_step=True, steps="all")
    _, correct_last, _, count = sequence_scores(y, pred, mask, 0.25, every_step=True, steps="last")
    assert not correct_all[0] and correct_last[0] and count[0] == 3 * 2
    pred[0, 2, 0] = 0.26  # the final prediction (step length − 2) wrong
    assert not sequence_scores(y, pred, mask, 0.25, every_step=True, steps="last")[1][0]
    pred[0, 3, 0] = 9.0  # the last step has no target: ignored
    assert sequence_scores(y, pred, mask, 0.25, every_step=True, steps="last")[0][0] == pytest.approx(0.09 + 0.0676)


def test_legal_next_means_every_legal_unit_above_every_illegal_one():
    legal = np.zeros((1, 3, 4), bool)
    legal[0, 0, [0, 1]] = True
    legal[0, 1, 2] = True
    mask = np.array([[1, 1, 1]], bool)  # steps 0, 1 have targets
    out = np.array([[[0.6, 0.5, 0.4, 0.1], [0.1, 0.1, 0.9, 0.2], [1, 1, 1, 1]]])
    assert legal_next_correct(out, legal, mask)[0]
    out[0, 0, 2] = 0.55  # an illegal symbol above one legal symbol
    assert not legal_next_correct(out, legal, mask)[0]
    out[0, 0, 2] = 0.5  # a tie is not "the most active"
    assert not legal_next_correct(out, legal, mask)[0]


def reber_protocol(**overrides):
    values = dict(trials=3, fixed_sets=2, training_set=24, test_set=24, target="every_step", criterion="legal_next",
                  learning_rate=0.5, max_sequences=100, check_every=50, window=20, checkpoint_every=50)
    return OnlineProtocol(**{**values, **overrides})


def test_fixed_sets_are_disjoint_deterministic_and_the_only_training_data():
    task, cfg = EXPERIMENTS["embedded_reber"].task, {"max_length": 30}
    protocol = reber_protocol()
    pairs = fixed_set_pairs(task, cfg, protocol, seed=4)
    again = fixed_set_pairs(task, cfg, protocol, seed=4)
    for (train, test), (train2, test2) in zip(pairs, again):
        np.testing.assert_array_equal(train.x, train2.x)
        np.testing.assert_array_equal(test.x, test2.x)
        known = {reber.decode(train.x[i], train.lengths[i]) for i in range(24)}
        tested = {reber.decode(test.x[i], test.lengths[i]) for i in range(24)}
        assert len(test.lengths) == 24 and not known & tested
    assert not np.array_equal(pairs[0][0].x, pairs[1][0].x)
    data = TrainingData(task, cfg, protocol, 4, seeds.trial_streams(4, "train", 3))
    x, mask, y = data.draw(200)
    for b in range(3):  # trial b draws only from pair b mod 2's training set
        train = pairs[b % 2][0]
        known = {train.x[i].tobytes() for i in range(24)}
        assert all(x[i, b].tobytes() in known for i in range(200))


def test_fixed_sets_with_distinct_training_strings():
    """``task.distinct``: no training string twice, and still no test string in the training set."""
    task, cfg = EXPERIMENTS["embedded_reber"].task, {"max_length": 50, "distinct": True}
    protocol = reber_protocol(training_set=256, test_set=256)
    for train, test in fixed_set_pairs(task, cfg, protocol, seed=1):
        known = [reber.decode(train.x[i], train.lengths[i]) for i in range(256)]
        tested = {reber.decode(test.x[i], test.lengths[i]) for i in range(256)}
        assert len(set(known)) == 256 and len(test.lengths) == 256 and not set(known) & tested
    plain = fixed_set_pairs(task, {"max_length": 50}, protocol, seed=1)[0][0]
    assert len({reber.decode(plain.x[i], plain.lengths[i]) for i in range(256)}) < 150


def test_exemplar_order_epochs_shows_every_training_string_once_per_epoch():
    task, cfg = EXPERIMENTS["embedded_reber"].task, {"max_length": 30}
    protocol = reber_protocol(exemplar_order="epochs")
    pairs = fixed_set_pairs(task, cfg, protocol, seed=4)
    data = TrainingData(task, cfg, protocol, 4, seeds.trial_streams(4, "train", 3))
    x = data.draw(100)[0]  # 4 epochs of 24, and 4 strings of the fifth
    for b in range(3):
        train = pairs[b % 2][0].x
        index = [next(i for i in range(24) if np.array_equal(x[k, b], train[i])) for k in range(100)]
        for e in range(4):  # rows of a set may repeat (the grammar's frequencies): compare as multisets of rows
            assert sorted(train[i].tobytes() for i in index[24 * e : 24 * e + 24]) == sorted(r.tobytes() for r in train)
        assert index[:24] != index[24:48]  # a fresh order each epoch
    np.testing.assert_array_equal(data.draw(30, 70)[0], x[70:])  # a resumed run draws the same exemplars
    with pytest.raises(Exception, match="exemplar_order"):
        reber_protocol(exemplar_order="sorted")


def test_window_criteria_and_the_start_of_the_successful_run(monkeypatch):
    """'window' solves after `window` successive correct sequences and counts from where they began."""
    # Exp 2c with a lag of 3 and 2 distractors; an all-correct stream is forced by a huge threshold.
    protocol = OnlineProtocol(trials=2, criterion="window", threshold=10.0, window=30, max_sequences=100,
                              test_sequences=8, learning_rate=0.01, checkpoint_every=50)  # fmt: skip
    model = dict(inputs=6, outputs=2, blocks=2, cell_bias=False, gate_bias=False, output_bias=False, init_range=0.2)
    result = train_online(protocol=protocol, experiment=EXPERIMENTS["long_lag_2c"],
                          task_cfg=dict(p=2, q=3, max_extra=5), model_cfg=model, seed=0)  # fmt: skip
    assert result.solved.all() and (result.sequences == 0).all() and result.sequences_seen == 30
    wrong = dataclasses.replace(protocol, criterion="window_wrong", max_wrong=1, threshold=1e-6)
    result = train_online(protocol=wrong, experiment=EXPERIMENTS["long_lag_2c"],
                          task_cfg=dict(p=2, q=3, max_extra=5), model_cfg=model, seed=0)  # fmt: skip
    assert not result.solved.any() and result.sequences_seen == 100


def test_check_set_records_st1_and_st2():
    protocol = OnlineProtocol(trials=2, criterion="check_set", check_every=20, check_sequences=16, threshold=10.0,
                              st2_error=0.0, max_sequences=60, window=20, test_sequences=16,
                              checkpoint_every=60)  # fmt: skip
    model = dict(inputs=1, outputs=1, blocks=3, output_bias=False, input_gate_bias=[-1.0, -3.0, -5.0],
                 output_gate_bias=[-2.0, -4.0, -6.0])  # fmt: skip
    result = train_online(protocol=protocol, experiment=EXPERIMENTS["two_sequence"], task_cfg={"min_length": 10},
                          model_cfg=model, seed=0)  # fmt: skip
    # ST1 (nothing misclassified under a huge threshold) holds at the first check; ST2 (error < 0) never
    np.testing.assert_array_equal(result.st1_at, [20, 20])
    np.testing.assert_array_equal(result.st2_at, [0, 0])
    metrics = result.metrics()
    assert not result.solved.any() and metrics["st1_mean"] is None  # means are over solved trials only
    assert [row["st1"] for row in result.per_trial()] == [20, 20]


def test_the_fingerprint_tells_protocol_fields_seed_and_backend_apart():
    from lstm_hist.run_state import fingerprint

    protocol = OnlineProtocol(trials=10, learning_rate=0.5)
    base = fingerprint({"min_length": 100}, {}, protocol, 0, "jax")
    assert base == fingerprint({"min_length": 100}, {}, OnlineProtocol(trials=10, learning_rate=0.5), 0, "jax")
    assert base != fingerprint({"min_length": 100}, {}, dataclasses.replace(protocol, target="every_step"), 0, "jax")
    assert base != fingerprint({"min_length": 100}, {}, protocol, 1, "jax")
    assert base != fingerprint({"min_length": 100}, {}, protocol, 0, "tensorflow")
    assert base != fingerprint({"min_length": 50}, {}, protocol, 0, "jax")


def test_bad_protocol_combinations_are_refused():
    from lstm_hist.errors import UserError

    with pytest.raises(UserError, match="legal_next"):
        OnlineProtocol(criterion="legal_next")
    with pytest.raises(UserError, match="max_wrong"):
        OnlineProtocol(criterion="window_wrong")
    with pytest.raises(UserError, match="target"):
        OnlineProtocol(target="sometimes")


SMOKE_FAST = ["reber_3x2_lr05", "two_sequence_3c_t100_n1"]
SMOKE_SLOW = ["long_lag_2a", "long_lag_2b", "long_lag_2c_q50_p50", "two_sequence_3a_t100_n3", "multiplication_nseq13",
              "temporal_order_6b"]  # fmt: skip


def smoke(stem, tmp_path, capsys):
    from lstm_hist.cli import main

    assert main(["run", f"hochreiter1997/{stem}", "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    record = json.loads(next((tmp_path / "hochreiter1997").glob(f"{stem}.smoke-*.json")).read_text())
    assert record["status"] == "completed" and record["smoke"]
    assert {"success_rate", "sequences_mean", "weights"} <= set(record["metrics"])
    return record


@pytest.mark.parametrize("stem", SMOKE_FAST)
def test_smoke_run_through_the_cli(stem, tmp_path, capsys):
    record = smoke(stem, tmp_path, capsys)
    if stem.startswith("reber"):  # Exp 1: success is judged on the fixed sets; there is no ABS test
        assert record["metrics"]["weights"] == 276 and "test_wrong" not in record["metrics"]
    if stem.startswith("two_sequence"):
        assert {"fraction_misclassified", "test_mean_abs_error"} <= set(record["metrics"])


@pytest.mark.slow
@pytest.mark.parametrize("stem", SMOKE_SLOW)
def test_smoke_run_through_the_cli_other_families(stem, tmp_path, capsys):
    smoke(stem, tmp_path, capsys)
