"""tools/reber_branch_profile.py and tools/reber_gradient_paths.py (docs/deviations.md, "The Reber gap": where
the branch is kept, and what the truncation removes from the gradient)."""

from __future__ import annotations

import numpy as np
import pytest

from reproductions.hochreiter1997.tasks.reber import embedded_reber


def test_separation_is_the_best_thresholds_balanced_accuracy(load_tool):
    tool = load_tool("reber_branch_profile")
    is_t = np.array([True, True, True, False, False, False, False, False])
    assert tool.separation(np.array([5.0, 6, 7, 1, 2, 3, 0, 4]), is_t) == 1.0  # T all above P
    assert tool.separation(np.array([-5.0, -6, -7, 1, 2, 3, 0, 4]), is_t) == 1.0  # the other direction
    # Equal values cannot be split, whatever the order they are listed in.
    assert tool.separation(np.zeros(8), is_t) == 0.5
    # One T among the P values: the best cut keeps 2 of 3 T above and every P below.
    assert tool.separation(np.array([5.0, 6, 0.5, 1, 2, 3, 0, 4]), is_t) == pytest.approx(0.5 * (2 / 3 + 1))


@pytest.fixture
def reber_net():
    import keras

    from lstm_hist.registry import load

    _, _, experiment, cfg = load("hochreiter1997/reber_3x2_lr05")
    keras.utils.set_random_seed(3)
    model = experiment.model(trials=2, **{**cfg["model"], "fast_path": False})
    # Larger recurrent weights than the initial range, so that the recurrent paths carry a visible gradient.
    rng = np.random.default_rng(0)
    recurrent = model.get_layer("lstm1997").cell.recurrent_kernel
    recurrent.assign(rng.uniform(-1.5, 1.5, recurrent.shape).astype("float32"))
    return experiment, cfg, model


def test_run_states_steps_the_model_itself(load_tool, reber_net):
    """The stepped cell outputs, through the output layer, give the model's own predictions."""
    from keras import ops

    tool = load_tool("reber_branch_profile")
    _, _, model = reber_net
    batch = embedded_reber(np.random.default_rng(1), 5)
    x, mask = np.tile(batch.x, (2, 1, 1)), np.tile(batch.mask(), (2, 1))
    s, gates, y_c = tool.run_states(model.get_layer("lstm1997").cell, x)
    assert s.shape == y_c.shape == (10, batch.x.shape[1], 6) and gates.shape == (10, batch.x.shape[1], 3)
    assert ((gates > 0) & (gates < 1)).all()
    out = np.asarray(model.get_layer("output")(ops.convert_to_tensor(y_c.astype("float32"))))
    want = np.asarray(model.predict_on_batch([x, mask]))
    real = mask.astype(bool)
    np.testing.assert_allclose(out[real], want[real], atol=1e-5)


def test_gradient_groups_cover_every_weight_once(load_tool, reber_net):
    tool = load_tool("reber_gradient_paths")
    _, cfg, model = reber_net
    groups = tool.group_slices(cells=6, blocks=3)
    shapes = {v.path.split("/")[-1] if v.path.startswith("lstm1997") else "output": v.shape[1:]
              for v in model.trainable_variables}
    covered = {name: np.zeros(shape, dtype=int) for name, shape in shapes.items()}
    for var, rows, cols in groups.values():
        target = covered[var]
        if cols is None:
            target[rows] += 1
        else:
            target[rows, cols] += 1
    for name, counts in covered.items():
        assert (counts == 1).all(), name


def _gradients(tool, experiment, cfg, model, lag_only, zero_recurrent=False):
    arrays = [np.asarray(v) for v in model.trainable_variables]
    if zero_recurrent:
        arrays[1] = np.zeros_like(arrays[1])
    pairs = [(embedded_reber(np.random.default_rng(4), 8), None)]  # both trials train on it (trial b uses pair b mod 1)
    truncated = tool.trial_gradients(experiment, cfg, arrays, pairs, True, lag_only)
    full = tool.trial_gradients(experiment, cfg, arrays, pairs, False, lag_only)
    return tool.compare(truncated, full, cells=6, blocks=3, trials=2)


def test_truncation_changes_the_gradient_only_through_recurrent_weights(load_tool, reber_net):
    tool = load_tool("reber_gradient_paths")
    experiment, cfg, model = reber_net
    rows = _gradients(tool, experiment, cfg, model, lag_only=True)
    for row in rows:
        # The output layer's gradient never passes the recurrent connections.
        assert row["outputs ← cells"]["cos"] == pytest.approx(1.0, abs=1e-5)
        assert row["outputs ← cells"]["kept"] == pytest.approx(1.0, abs=1e-5)
        # With strong recurrent weights the truncation drops a visible part of the cells' gradient.
        assert row["cells ← inputs"]["cos"] < 0.999
    # Without recurrent weights there is no path to cut: the two gradients agree in every group.
    for row in _gradients(tool, experiment, cfg, model, lag_only=False, zero_recurrent=True):
        for name, value in row.items():
            if name != "trial" and value["full"] > 0:
                assert value["kept"] == pytest.approx(1.0, abs=1e-4), name


def test_load_record_gives_the_records_trials_and_training_sets(load_tool):
    """A committed full-cap record (final weights beside it): 30 trial nets, its solved flags, its 3 set pairs."""
    import json
    from pathlib import Path

    load_tool("reber_branch_profile")  # puts tools/ on the path, as running a tool does
    from reber_record import load_record

    path = Path(__file__).resolve().parent.parent / "results/hochreiter1997/reber_4x1_lr05-seed0-20261130T072427-d46fd8.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    loaded = load_record(str(path))
    assert [a.shape[0] for a in loaded.arrays] == [30] * 5
    assert loaded.solved.sum() == sum(t["solved"] for t in record["trials"]) == 1
    assert loaded.seen == 200_000 and len(loaded.pairs) == 3
    train, test = loaded.pairs[0]
    assert len(train.lengths) == len(test.lengths) == 256
    model = loaded.model()
    np.testing.assert_array_equal(np.asarray(model.trainable_variables[0]), loaded.arrays[0])
