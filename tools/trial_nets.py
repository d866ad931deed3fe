"""What the per-trial profile tools share (``temporal_order_profile``, ``long_lag_end_profile``): their common
arguments, a weights file's trial nets, and every trial's answers to the same fresh sequences."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser, config: str, sequences: int) -> None:
    parser.add_argument("weights", type=Path, help="a record's .weights.npz or a run's checkpoint.npz")
    parser.add_argument("--config", default=config)
    parser.add_argument("--sequences", type=int, default=sequences)
    parser.add_argument("--seed", type=int, default=7, help="of the fresh sequences, default_rng(SEED)")
    parser.add_argument("--out", type=Path, help="also write the profile as JSON here")


def load_model(path: Path, config: str):
    """(experiment, config, model with the file's weights, sequences seen). A run's checkpoint stores the
    trainable then the non-trainable variables (``model_k``, with ``seen``); a record's ``.weights.npz`` stores
    ``model.weights`` in order (``arr_k``; ``seen`` from the record beside it). Non-trainable state, such as a
    construction stage (:mod:`reproductions.hochreiter1997.construction`), comes with either. A record's weights
    are built into the net its record ran: that record's own config when it is of ``config``'s row; a checkpoint's
    likewise, from the ``run.json`` beside it."""
    from lstm_hist.backend import select_backend

    select_backend(None)  # the package default (JAX) unless KERAS_BACKEND says otherwise
    from lstm_hist.registry import load

    experiment_id, _, experiment, cfg = load(config)
    with np.load(path) as f:
        final = "arr_0" in f.files
        prefix = "arr_" if final else "model_"
        arrays = [f[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in f.files))]
        seen = None if final else int(f["seen"])
    if final:
        record = json.loads(Path(str(path).removesuffix(".weights.npz") + ".json").read_text(encoding="utf-8"))
        seen = int(record["metrics"].get("sequences_seen", 0))
        if record.get("id") == experiment_id and record.get("config"):
            cfg = record["config"]  # what the run used, its --set overrides included (e.g. model.initial_activation)
    else:
        cfg = _checkpoint_config(Path(path), experiment_id, cfg, experiment, config)
    model = experiment.model(trials=arrays[0].shape[0], **cfg["model"])
    variables = model.weights if final else model.trainable_variables + model.non_trainable_variables
    for variable, value in zip(variables, arrays, strict=True):
        variable.assign(value)
    return experiment, cfg, model, seen


def _checkpoint_config(path: Path, experiment_id: str, cfg: dict, experiment, config: str) -> dict:
    """The config a checkpoint's run resolved (``run.json`` in its folder) when the folder is of ``config``'s row
    (run_state.checkpoint_owner); else ``cfg``, with a warning when the checkpoint does not load as ``cfg``'s
    (``run_state.load``: its fingerprint, then its arrays' checksum): folders written before run.json kept the
    config hold only the fingerprint, and a run with ``--set`` overrides that keep the shapes (e.g. y(0)) would load
    into the row's net without a word."""
    import sys

    from lstm_hist import run_state
    from lstm_hist.backend import current_backend
    from lstm_hist.campaign.state import config_fingerprint
    from lstm_hist.errors import UserError

    owner, ran = run_state.checkpoint_owner(path.parent), run_state.run_config(path.parent)
    if ran is not None and owner is not None and owner[0] == experiment_id.split("/", 1)[1]:
        return ran
    if owner is None or not run_state.exists(path.parent, path.stem):
        return cfg
    try:  # the runner's own check of a checkpoint against a config (fingerprint, then the arrays' checksum)
        run_state.load(path.parent, path.stem, fingerprint=config_fingerprint(cfg, owner[2], current_backend(),
                                                                              experiment))
    except UserError as exc:
        reason = str(exc).removesuffix(f"; {run_state.FRESH_HINT}")  # the hint is for a run, not a profile
        print(f"warning: {reason}: its weights are loaded into the net of {config} as given; profile its record's "
              ".weights.npz instead", file=sys.stderr)
    return cfg


def predict(model, batch) -> np.ndarray:
    """Every trial's outputs on the same sequences: (trials, sequences, …); ``batch.x`` one-hot or symbol codes."""
    trials = model.get_layer("lstm1997").cell.trials
    n = len(batch.lengths)
    x = np.tile(batch.x, (trials,) + (1,) * (batch.x.ndim - 1))
    mask = np.tile(batch.mask(), (trials, 1))
    out = np.asarray(model.predict_on_batch([x, mask]))
    return out.reshape(trials, n, *out.shape[1:])


def run_states(cell, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell states s (rows, L, cells) after each step, input gates y^in (rows, L, blocks) and cell outputs y^c
    (rows, L, cells), stepping the cell's own equations; rows trial-major as the model's batches are (the 1997
    cell's internals, which the model's own forward pass does not return)."""
    from keras import ops

    projected = cell.project_inputs(ops.convert_to_tensor(x.astype("float32")))
    states = cell.get_initial_state(batch_size=x.shape[0])
    s_steps, gate_steps, out_steps = [], [], []
    for t in range(x.shape[1]):
        y_c, states = cell.recurrent_step(projected[:, t], states)
        s_steps.append(np.asarray(states[0]))
        gate_steps.append(np.asarray(states[1])[:, cell.cells : cell.cells + cell.blocks])
        out_steps.append(np.asarray(y_c))
    return np.stack(s_steps, axis=1), np.stack(gate_steps, axis=1), np.stack(out_steps, axis=1)
