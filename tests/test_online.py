"""The trial-parallel online protocol: independence of trials, freezing, ST3, resume."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist.seeds import trial_streams  # noqa: E402
from reproductions.hochreiter1997.training.criteria import RecentWindow  # noqa: E402
from reproductions.hochreiter1997.training.data import draw_chunk  # noqa: E402
from reproductions.hochreiter1997.training.online import train_online  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402
from reproductions.hochreiter1997.training.steps import Stepper  # noqa: E402
from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402

ADDING = EXPERIMENTS["adding"]
MODEL = dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0], init_range=0.1)
TASK = dict(min_length=10)


def fresh_stepper(trials, seed=0, optimizer="sgd"):
    keras.utils.set_random_seed(seed)
    model = ADDING.model(trials=trials, **MODEL)
    opt = keras.optimizers.SGD(0.5) if optimizer == "sgd" else keras.optimizers.Adam(0.01)
    return model, Stepper(model, opt, loss_scale=0.5)


def trial_weights(model, b):
    return [keras.ops.convert_to_numpy(v)[b] for v in model.trainable_variables]


def test_a_trials_update_depends_only_on_its_own_data():
    x, mask, y = draw_chunk(ADDING.task, TASK, trial_streams(0, "train", 3), 5)
    other = x.copy()
    other[:, 2] = np.random.default_rng(9).uniform(-1, 1, size=other[:, 2].shape)  # change trial 2's data only
    runs = []
    for data in (x, other):
        model, stepper = fresh_stepper(3)
        for i in range(5):
            stepper(data[i], mask[i], y[i], np.ones(3, bool))
        stepper.push()
        runs.append(model)
    for b in (0, 1):
        for u, v in zip(trial_weights(runs[0], b), trial_weights(runs[1], b)):
            np.testing.assert_array_equal(u, v)
    assert any(np.abs(u - v).max() > 0 for u, v in zip(trial_weights(runs[0], 2), trial_weights(runs[1], 2)))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_frozen_trials_keep_their_weights(optimizer):
    x, mask, y = draw_chunk(ADDING.task, TASK, trial_streams(0, "train", 2), 3)
    model, stepper = fresh_stepper(2, optimizer=optimizer)
    before = [trial_weights(model, b) for b in (0, 1)]
    for i in range(3):
        stepper(x[i], mask[i], y[i], np.array([True, False]))
    stepper.push()
    assert any(np.abs(u - v).max() > 0 for u, v in zip(before[0], trial_weights(model, 0)))
    for u, v in zip(before[1], trial_weights(model, 1)):
        np.testing.assert_array_equal(u, v)


def test_a_trials_data_stream_does_not_depend_on_the_number_of_trials():
    few = draw_chunk(ADDING.task, TASK, trial_streams(5, "train", 2), 4)
    many = draw_chunk(ADDING.task, TASK, trial_streams(5, "train", 6), 4)
    for a, b in zip(few, many):
        np.testing.assert_array_equal(a[:, 1], b[:, 1])
    test = draw_chunk(ADDING.task, TASK, trial_streams(5, "test", 2), 4)
    assert not np.array_equal(test[0], few[0])


def test_st3_needs_a_full_window_all_correct_and_a_low_mean_error():
    window = RecentWindow(trials=3, window=4)
    rows = np.ones(3, bool)
    for step in range(4):
        error = np.array([0.001, 0.001, 0.02])
        correct = np.array([True, step != 1, True])
        assert not window.st3(0.01).any()  # window not yet full
        window.push(rows, error, correct)
    np.testing.assert_array_equal(window.st3(0.01), [True, False, False])
    expected = ([True, False, False], [True, True, False], [True, True, True])
    for want in expected:  # the wrong sequence and the high errors leave the window one by one
        window.push(rows, np.full(3, 0.001), np.ones(3, bool))
        np.testing.assert_array_equal(window.st3(0.01), want)


def small_protocol(**overrides):
    values = dict(trials=2, max_sequences=600, window=50, test_sequences=32, checkpoint_every=200)
    return OnlineProtocol(**{**values, **overrides})


@pytest.mark.parametrize("update", ["per_sequence", "per_step"])
def test_resume_after_an_interrupt_gives_the_uninterrupted_result(tmp_path, update):
    straight = train_online(protocol=small_protocol(update=update), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL,
                            seed=1, workdir=tmp_path / "a")  # fmt: skip

    def interrupt(info):
        if info["sequences"] >= 500:
            raise KeyboardInterrupt

    stopped = train_online(protocol=small_protocol(update=update), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL,
                           seed=1, workdir=tmp_path / "b", progress=interrupt, progress_every=100)  # fmt: skip
    assert stopped.status == "interrupted" and stopped.sequences_seen == 500
    resumed = train_online(protocol=small_protocol(update=update), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL,
                           seed=1, workdir=tmp_path / "b", resume=True)  # fmt: skip
    assert resumed.status == "completed"
    assert resumed.repeated_sequences == 100  # checkpoint at 400, killed at 500
    a, b = np.load(tmp_path / "a" / "checkpoint.npz"), np.load(tmp_path / "b" / "checkpoint.npz")
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
    assert straight.metrics() == {**resumed.metrics()}


def test_a_recorded_stop_request_interrupts_at_the_next_sequence(tmp_path):
    """A SIGTERM whose KeyboardInterrupt was lost inside the jitted step still stops the run (lstm_hist.interrupt)."""
    from lstm_hist import interrupt

    def request_stop(info):
        if info["sequences"] >= 300:
            interrupt.request(15)

    try:
        stopped = train_online(protocol=small_protocol(), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL, seed=1,
                               workdir=tmp_path, progress=request_stop, progress_every=100)  # fmt: skip
    finally:
        interrupt.clear()
    assert stopped.status == "interrupted" and stopped.sequences_seen == 300


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    from lstm_hist.errors import UserError

    train_online(protocol=small_protocol(max_sequences=200), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL,
                 seed=1, workdir=tmp_path)  # fmt: skip
    with pytest.raises(UserError, match="different config"):
        train_online(protocol=small_protocol(max_sequences=200), experiment=ADDING, task_cfg=TASK,
                     model_cfg=MODEL, seed=2, workdir=tmp_path, resume=True)  # fmt: skip


def test_a_short_run_reports_every_table7_key():
    result = train_online(protocol=small_protocol(max_sequences=300), experiment=ADDING,
                          task_cfg=TASK, model_cfg=MODEL, seed=0)  # fmt: skip
    metrics = result.metrics()
    assert metrics["weights"] == 93
    assert {"sequences_mean", "test_wrong", "success_rate"} <= set(metrics)
    assert metrics["success_rate"] == 0.0 and metrics["sequences_mean"] is None  # no trial solves it in 300
    assert len(result.per_trial()) == 2 and result.per_trial()[0]["sequences"] == 300


def test_exploded_weights_end_the_run_as_diverged_long_before_the_cap():
    # lr 1e8: one update moves the weights to ~1e7; the sigmoids saturate and the outputs stay finite (0), so only
    # the weight check (lstm_hist.training.divergence) can tell. It used to train to the cap and report "completed".
    result = train_online(protocol=small_protocol(learning_rate=1e8, max_sequences=20_000), experiment=ADDING,
                          task_cfg=TASK, model_cfg=MODEL, seed=0, progress_every=50)  # fmt: skip
    assert result.status == "diverged" and result.diverged.all()
    assert result.sequences_seen == 50 and result.test is None


def test_the_weight_limit_marks_only_the_trials_that_exploded():
    from lstm_hist.training.divergence import WEIGHT_LIMIT, exploded, exploded_trials

    weights = [np.zeros((3, 4)), np.zeros((3,))]
    weights[0][1, 2] = WEIGHT_LIMIT * 1.01
    weights[1][2] = np.nan
    np.testing.assert_array_equal(exploded_trials(weights, 3), [False, True, True])
    assert not exploded([np.full(5, -WEIGHT_LIMIT)]) and exploded([np.array([np.inf])])
    assert exploded_trials([np.array([1.0, np.inf])], 3).all()  # no trial axis: every trial


def test_a_truncated_online_checkpoint_is_a_user_error(tmp_path):
    from lstm_hist.errors import UserError

    kwargs = dict(protocol=small_protocol(max_sequences=200), experiment=ADDING, task_cfg=TASK, model_cfg=MODEL,
                  seed=1, workdir=tmp_path)
    train_online(**kwargs)
    npz = tmp_path / "checkpoint.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    with pytest.raises(UserError, match="truncated or changed.*--fresh"):
        train_online(**kwargs, resume=True)  # used to be a zipfile.BadZipFile traceback
