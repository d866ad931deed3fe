"""The numba stepper: :class:`.steps.Stepper`'s per-sequence SGD update, computed by :mod:`..fast_numba`.

Same interface as the JAX stepper where the online run uses it (``stepper(x, mask, y, active) -> predictions``,
``pull``, ``push``); the weights live in NumPy arrays between updates and go back to the Keras variables on
``push`` (checkpoints, the progress watch, the final test). It has no ``step_fn``, so blocks of updates
(:mod:`.block_steps`) and trial compaction (:mod:`.compact`) do not apply; what compaction gives the JAX step
it gets otherwise: a frozen trial is neither computed nor given data (``rows``). The periodic check of Exp 3's
check sets reads the outputs of its own forward pass (:meth:`NumbaStepper.on_trials`, the active trials only),
which at T = 1000 was most of a run's time through the Keras model. Its cost per update is the active trials'
own loops, with no per-call dispatch worth batching.

``protocol.kernel`` picks it: "auto" (the default) where :func:`unsupported` finds nothing against it, numba is
installed and the backend is JAX; "numba" insists (a one-line error where it does not apply); "keras" never.
How it is computed, not what: the numbers are the JAX stepper's to float rounding (tests/test_h97_numba_step.py),
and ``kernel`` stays out of the run fingerprint, so a checkpoint resumes under either.
"""

from __future__ import annotations

import numpy as np

from lstm_hist.errors import UserError

from ..layers import LSTM1997, TrialDense

def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def unsupported(model, protocol) -> str | None:
    """Why the numba update does not compute this run's update (None: it does)."""
    if protocol.update != "per_sequence":
        return "it computes per-sequence updates (protocol.update: per_sequence)"
    if protocol.target != "end" or protocol.construction:
        return "it needs the error at the sequence end and no sequential construction"
    if protocol.optimizer != "sgd":
        return "it applies the paper's plain gradient step (protocol.optimizer: sgd)"
    names = {layer.name for layer in model.layers} - {"x", "mask"}
    if names != {"lstm1997", "output"}:
        return "it needs the Table 10 net whose output units see the cells only"
    lstm, out = model.get_layer("lstm1997"), model.get_layer("output")
    cell = lstm.cell
    if not (isinstance(lstm, LSTM1997) and isinstance(out, TrialDense)) or lstm.return_sequences:
        return "it needs the Table 10 net with outputs at the sequence end"
    if not (cell.output_gate and cell.recurrent and cell.truncate_gradient and cell.trials):
        return "it needs output gates, connectivity F, the truncated gradient and a trial axis"
    if out.activation.__name__ != "sigmoid":
        return "it needs logistic output units"
    return None


def choose(model, protocol) -> str:
    """The stepper for this run: "numba" or "keras" (``protocol.kernel``; UserError for a "numba" that cannot be)."""
    import keras

    kernel = getattr(protocol, "kernel", "keras")
    if kernel == "keras":
        return "keras"
    reason = unsupported(model, protocol)
    if kernel == "numba":
        if reason is not None:
            raise UserError(f"protocol.kernel 'numba' does not apply to this run: {reason}")
        if not numba_available():
            raise UserError("protocol.kernel 'numba' needs numba (pip install numba)")
        return "numba"
    use = (reason is None and numba_available() and keras.backend.backend() == "jax"
           and model.get_layer("lstm1997").fast_path)  # fast_path: false asks for the generic loop
    return "numba" if use else "keras"


class NumbaStepper:
    """``stepper(x, mask, y, active) -> predictions (N, out)``: one update of every active trial (see module)."""

    name = "numba"
    takes_rows = True  # data for some trials only (the active ones: .online draws no sequences for frozen trials)

    def __init__(self, model, optimizer, learning_rate: float, loss_scale: float):
        from ..fast_numba import squash_kinds

        self.model, self.optimizer = model, optimizer
        lstm = model.get_layer("lstm1997")
        self.cell, self.out = lstm.cell, model.get_layer("output")
        self.symbols = lstm.symbols is not None
        self.learning_rate, self.loss_scale = float(learning_rate), float(loss_scale)
        self.g_kind, self.h_kind = squash_kinds(self.cell.cell_input_activation, self.cell.cell_output_activation)
        cell = self.cell
        self._bias_parts = [(cell.cell_bias_weight, cell.cells), (cell.input_gate_bias_weight, cell.blocks),
                            (cell.output_gate_bias_weight, cell.blocks)]
        self.bias_on = np.concatenate([np.full(size, w is not None) for w, size in self._bias_parts])
        self.updates = 0  # since the last push: the optimizer's iteration count follows on push
        self.pull()

    def pull(self):
        """Read the model's weights (after building or restoring, and after anything that changed them)."""
        def array(v):
            return np.ascontiguousarray(np.asarray(v.numpy(), dtype=np.float32))

        cell, n = self.cell, self.cell.trials
        self.kernel, self.recurrent = array(cell.kernel), array(cell.recurrent_kernel)
        self.bias = np.concatenate([array(w) if w is not None else np.zeros((n, size), np.float32)
                                    for w, size in self._bias_parts], axis=1)
        self.out_kernel = array(self.out.kernel)
        self.out_bias = (array(self.out.bias) if self.out.bias is not None
                         else np.zeros((n, self.out.units), np.float32))

    def push(self):
        """Write the weights into the Keras variables (before saving, checking or evaluating)."""
        cell = self.cell
        cell.kernel.assign(self.kernel)
        cell.recurrent_kernel.assign(self.recurrent)
        start = 0
        for weight, size in self._bias_parts:
            if weight is not None:
                weight.assign(self.bias[:, start : start + size])
            start += size
        self.out.kernel.assign(self.out_kernel)
        if self.out.bias is not None:
            self.out.bias.assign(self.out_bias)
        if self.updates and self.optimizer is not None:  # as the optimizer's own steps would have counted
            self.optimizer.iterations.assign(int(self.optimizer.iterations.numpy()) + self.updates)
        self.updates = 0

    def on_trials(self, rows=None):
        """What the periodic check reads the outputs from (``.data.predict_trials``): this stepper's forward pass
        for trials ``rows`` (None: all), in place of the Keras model's."""
        return _Outputs(self, rows)

    def predict(self, x, mask, rows=None) -> np.ndarray:
        """x (R, k, L[, in]), mask (R, k, L) for trials ``rows`` → the outputs at each sequence's end (R, k, out)."""
        from ..fast_numba import forward_outputs

        mask = np.asarray(mask, dtype=bool)
        lengths = _prefix_lengths(mask.reshape(-1, mask.shape[-1])).reshape(mask.shape[:2])
        codes, dense = self._inputs(x, 3)
        trial_of = np.arange(self.kernel.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        pred = np.empty((*mask.shape[:2], self.out_kernel.shape[2]), np.float32)
        forward_outputs(self.kernel, self.recurrent, self.bias, self.out_kernel, self.out_bias, codes, dense,
                        self.symbols, lengths, trial_of, self.cell.block_size, self.g_kind, self.h_kind,
                        np.float32(self.cell.initial_activation), pred)
        return pred

    def _inputs(self, x, symbol_ndim):
        """(codes, dense): the data as symbol indices or as vectors, the other a placeholder of the same rank."""
        if self.symbols:
            return np.ascontiguousarray(x, dtype=np.int32), np.zeros((1,) * (symbol_ndim + 1), np.float32)
        return np.zeros((1,) * symbol_ndim, np.int32), np.ascontiguousarray(x, dtype=np.float32)

    def __call__(self, x, mask, y, active, rows=None) -> np.ndarray:
        """``rows``: the trials the data's first axis holds (None: all); the predictions come back for all N
        trials, NaN where a trial is frozen or has no data."""
        from ..fast_numba import sgd_update

        lengths = _prefix_lengths(np.asarray(mask, dtype=bool))
        codes, dense = self._inputs(x, 2)
        trials = self.kernel.shape[0]
        trial_of = np.arange(trials) if rows is None else np.asarray(rows, dtype=np.int64)
        pred = np.empty((len(trial_of), self.out_kernel.shape[2]), np.float32)
        sgd_update(self.kernel, self.recurrent, self.bias, self.bias_on, self.out_kernel, self.out_bias,
                   self.out.bias is not None, codes, dense, self.symbols, lengths.astype(np.int64),
                   np.asarray(y, dtype=np.float32), trial_of, np.asarray(active, dtype=bool), self.cell.block_size,
                   self.g_kind, self.h_kind, np.float32(self.cell.initial_activation), np.float32(self.learning_rate),
                   np.float32(self.loss_scale), pred)
        self.updates += 1
        if rows is None:
            return pred
        full = np.full((trials, pred.shape[1]), np.nan, np.float32)
        full[trial_of] = pred
        return full


def _prefix_lengths(mask: np.ndarray) -> np.ndarray:
    """Real steps per row of a (rows, L) mask, which must be a non-empty prefix (padding at the end)."""
    lengths = mask.sum(axis=1)
    if not np.array_equal(mask, np.arange(mask.shape[1])[None, :] < lengths[:, None]) or (lengths < 1).any():
        raise ValueError("the numba stepper needs each mask to be a non-empty prefix (padding at the end)")
    return lengths.astype(np.int64)


class _Outputs:
    """A net's outputs as ``.data.predict_trials`` reads them, from a :class:`NumbaStepper` for some trials."""

    def __init__(self, stepper: NumbaStepper, rows):
        self.stepper, self.rows = stepper, rows

    def predict_trials(self, x, mask) -> np.ndarray:
        return self.stepper.predict(x, mask, self.rows)
