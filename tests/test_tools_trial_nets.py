"""tools/trial_nets.py loads a trial net from either weights file the 1997 runs write, construction stage included."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

ROW = "hochreiter1997/long_lag_2b"  # a net with a non-trainable variable (the construction stage) between weights


def _random_net(seed: int):
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(ROW)
    model = experiment.model(trials=2, **cfg["model"])
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(-1, 1, v.shape).astype("float32") if v.trainable else np.array([[1.0], [0.0]], "float32"))
    return model


@pytest.mark.parametrize("kind", ["record", "checkpoint"])
def test_both_weight_files_load_every_variable_in_place(tmp_path, load_tool, kind):
    tool = load_tool("trial_nets")
    model = _random_net(3)
    if kind == "record":  # keep_final_weights: model.weights in order, the record beside it says what was seen
        path = tmp_path / "r.weights.npz"
        np.savez(path, *[v.numpy() for v in model.weights])
        (tmp_path / "r.json").write_text(json.dumps({"metrics": {"sequences_seen": 1234}}))
    else:  # the online learner's checkpoint: trainable, then non-trainable variables, and `seen`
        path = tmp_path / "checkpoint.npz"
        variables = model.trainable_variables + model.non_trainable_variables
        np.savez(path, seen=1234, **{f"model_{k}": v.numpy() for k, v in enumerate(variables)})
    _, _, loaded, seen = tool.load_model(path, ROW)
    assert seen == 1234
    for want, got in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert loaded.get_layer("construction").active.numpy().ravel().tolist() == [1.0, 0.0]
