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


def test_a_record_run_with_overrides_loads_into_the_net_it_ran(tmp_path, load_tool):
    """A record written with ``--set model.initial_activation=0.5`` (3a's y(0) screen) holds weights of the net it
    ran: the loader builds that net from the record's own config, not from the row's file (y(0) = 0)."""
    from lstm_hist.registry import load

    tool = load_tool("trial_nets")
    row = "hochreiter1997/two_sequence_3a_t100_n3"
    full, _, experiment, cfg = load(row)
    ran = {**cfg, "model": {**cfg["model"], "initial_activation": 0.5}}
    model = experiment.model(trials=2, **ran["model"])
    path = tmp_path / "r.weights.npz"
    np.savez(path, *[v.numpy() for v in model.weights])
    record = {"id": full, "config": ran, "metrics": {"sequences_seen": 10}}
    (tmp_path / "r.json").write_text(json.dumps(record))
    _, got_cfg, loaded, _ = tool.load_model(path, row)
    assert loaded.get_layer("lstm1997").cell.initial_activation == 0.5
    assert got_cfg["model"]["initial_activation"] == 0.5
    (tmp_path / "r.json").write_text(json.dumps({**record, "id": "hochreiter1997/other_row"}))  # another row's record
    assert tool.load_model(path, row)[2].get_layer("lstm1997").cell.initial_activation == 0.0


def test_a_checkpoint_of_another_config_is_loaded_with_a_warning(tmp_path, load_tool, capsys):
    """A checkpoint folder written before run.json kept the config has only its run's fingerprint: the loader warns
    when it is not the given config's (a run with --set overrides) or its arrays are not the ones it names, and is
    silent when it loads."""
    from lstm_hist.backend import current_backend
    from lstm_hist.campaign.state import config_fingerprint
    from lstm_hist.registry import load

    tool = load_tool("trial_nets")
    model = _random_net(4)
    folder = tmp_path / "long_lag_2b.work" / "seed2-0123456789ab"
    folder.mkdir(parents=True)
    variables = model.trainable_variables + model.non_trainable_variables
    np.savez(folder / "checkpoint.npz", seen=5, **{f"model_{k}": v.numpy() for k, v in enumerate(variables)})
    _, _, experiment, cfg = load(ROW)
    for fingerprint, warned in ((config_fingerprint(cfg, 2, current_backend(), experiment), False), ("0" * 16, True)):
        (folder / "checkpoint.json").write_text(json.dumps({"seen": 5, "fingerprint": fingerprint}))
        assert tool.load_model(folder / "checkpoint.npz", ROW)[3] == 5
        assert ("different config" in capsys.readouterr().err) is warned
    right = config_fingerprint(cfg, 2, current_backend(), experiment)  # the right config, arrays not the ones written
    (folder / "checkpoint.json").write_text(json.dumps({"seen": 5, "fingerprint": right, "arrays_sha256": "0" * 64}))
    tool.load_model(folder / "checkpoint.npz", ROW)
    assert "truncated or changed" in capsys.readouterr().err


def test_a_checkpoint_loads_into_the_net_its_run_resolved(tmp_path, load_tool, capsys):
    """A run's folder keeps its resolved config in run.json (written as each segment begins): a checkpoint of a run
    with ``--set model.initial_activation=0.5`` loads into that net, silently, whatever the fingerprint says."""
    from lstm_hist import run_state
    from lstm_hist.registry import load

    tool = load_tool("trial_nets")
    row = "hochreiter1997/two_sequence_3a_t100_n3"
    _, _, experiment, cfg = load(row)
    ran = {**cfg, "model": {**cfg["model"], "initial_activation": 0.5}}
    model = experiment.model(trials=2, **ran["model"])
    folder = tmp_path / "two_sequence_3a_t100_n3.work" / "seed0-0123456789ab"
    folder.mkdir(parents=True)
    run_state.begin_segment(folder, run_state.dt.datetime.now(run_state.dt.timezone.utc), ran)
    assert run_state.segments(folder)[0]["status"] == "running" and run_state.run_config(folder) == ran
    run_state.add_segment(folder, {"status": "interrupted"})  # later writes keep the config
    assert run_state.run_config(folder) == ran
    variables = model.trainable_variables + model.non_trainable_variables
    np.savez(folder / "checkpoint.npz", seen=7, **{f"model_{k}": v.numpy() for k, v in enumerate(variables)})
    (folder / "checkpoint.json").write_text(json.dumps({"seen": 7, "fingerprint": "0" * 16}))
    _, got_cfg, loaded, _ = tool.load_model(folder / "checkpoint.npz", row)
    assert loaded.get_layer("lstm1997").cell.initial_activation == 0.5 and got_cfg == ran
    assert "different config" not in capsys.readouterr().err
    other = "hochreiter1997/two_sequence_3a_t100_n1"  # another row of the same net: its config, with the warning
    _, got_cfg, loaded, _ = tool.load_model(folder / "checkpoint.npz", other)
    assert loaded.get_layer("lstm1997").cell.initial_activation == 0.0 and got_cfg["task"]["informative"] == 1
    assert "different config" in capsys.readouterr().err
