"""The minibatch trainer's checkpoint: ``workdir/minibatch.npz`` (arrays) and ``workdir/minibatch.json`` (state),
written atomically by :mod:`lstm_hist.run_state` at every epoch end.

Which arrays a checkpoint holds is the protocol's ``checkpoint_arrays`` / ``restore_checkpoint`` hook; the default
(:func:`model_arrays`, :func:`restore_model_arrays`) keeps the weights (``w<i>``), the optimizer variables
(``o<i>``) and the best-validation weights (``b<i>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist import run_state
from lstm_hist.errors import UserError

CHECKPOINT = "minibatch"  # lstm_hist.run_state writes minibatch.json (state) and minibatch.npz (arrays)
STATE_FILE = f"{CHECKPOINT}.json"
WEIGHTS_FILE = f"{CHECKPOINT}.npz"


def sync(model) -> None:
    """JAX keeps the training state outside the variables during fit; pull it back before reading them."""
    state_sync = getattr(model, "jax_state_sync", None)
    if state_sync is not None:
        state_sync()


def variable_value(variable) -> np.ndarray:
    """A Keras variable's value as a NumPy array (any backend)."""
    from keras import ops

    return np.array(ops.convert_to_numpy(variable.value))


def model_arrays(model, state: dict) -> dict[str, np.ndarray]:
    """Weights ``w<i>``, optimizer variables ``o<i>`` and (once there are any) best weights ``b<i>``."""
    arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": variable_value(v) for i, v in enumerate(model.optimizer.variables)})
    for i, w in enumerate(state["best_weights"] or []):
        arrays[f"b{i}"] = w
    return arrays


def restore_model_arrays(model, arrays, state: dict) -> None:
    """The inverse of :func:`model_arrays`: weights and optimizer variables into ``model``, best weights into
    ``state["best_weights"]``. KeyError / ValueError when the arrays do not fit the model."""
    weights = [arrays[f"w{i}"] for i in range(len(model.get_weights()))]
    optimizer = [arrays[f"o{i}"] for i in range(len(model.optimizer.variables))]
    best = [arrays[f"b{i}"] for i in range(len(weights))] if "b0" in arrays else None
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, optimizer):
        variable.assign(value)
    state["best_weights"] = best


def save(protocol, workdir: Path | None, model, state: dict, fingerprint: str) -> None:
    """Write the checkpoint of ``model`` and ``state`` (nothing without a workdir)."""
    if workdir is None:
        return
    sync(model)
    arrays = protocol.checkpoint_arrays(model, state)
    meta = {k: v for k, v in state.items() if k != "best_weights"}
    run_state.save(workdir, CHECKPOINT, meta, arrays, fingerprint=fingerprint)


def restore(protocol, model, workdir: Path, meta: dict, arrays: Any, state: dict) -> None:
    """Load a checkpoint read by ``run_state.load`` into ``model`` and ``state``; UserError if it does not fit."""
    try:
        protocol.restore_checkpoint(model, arrays, state)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the checkpoint in {workdir} does not fit this model ({exc}); "
                        f"{run_state.FRESH_HINT}") from None
    best = state.get("best_weights")
    state.update(meta)
    state["best_weights"] = best
    state["diverged"] = False


def exists(workdir: Path | None) -> bool:
    """Whether ``workdir`` holds a minibatch checkpoint."""
    return workdir is not None and run_state.exists(workdir, CHECKPOINT)


def discard(workdir: Path | None) -> None:
    """Remove the minibatch checkpoint in ``workdir`` (a run that starts afresh there)."""
    if workdir is None:
        return
    for name in (STATE_FILE, WEIGHTS_FILE):
        (Path(workdir) / name).unlink(missing_ok=True)
