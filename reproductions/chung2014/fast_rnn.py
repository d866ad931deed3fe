"""A fast whole-sequence layer for the three Chung et al. (2014) units, beside the generic ``keras.layers.RNN``.

The generic path (``keras.layers.RNN(cell)``) runs the cell's ``call`` once per time step inside the backend's
scan: every step multiplies the input by the input kernel, and the scan carries a list of state arrays. This
layer computes the same equations (the cells' docstrings; Chung et al. §2–3.2, Cho et al. eqs. 5–8) with what
XLA's CPU scan runs fastest (issue 13; ``docs/performance.md``, "Chung units"):

* the input projection ``W x_t + b`` of **all** steps is one matmul before the time loop; only the recurrent
  product ``U h₋₁`` and the gates stay inside it;
* the scan carries **one** array (the LSTM's ``h`` and ``c`` packed side by side);
* the loop may be unrolled (``unroll`` steps per loop iteration).

The weights are the wrapped cell's own (same names, shapes, order and initialisers), so a checkpoint or
``get_weights()`` list of the generic model loads into the fast one and back. Written in ``keras.ops``, it runs on
every backend; ``tests/test_chung_fast_rnn.py`` checks outputs, loss and gradients against the generic path.
Padding needs no mask: the units are causal, so zero-padded steps after a sequence's end never change its
real steps' outputs (the loss weighs them 0).
"""

from __future__ import annotations

import keras
from keras import ops

from reproductions.cho2014 import GRU2014Cell

from .cells import PeepholeLSTMCell, TanhRNNCell

FAST_CELLS = (TanhRNNCell, GRU2014Cell, PeepholeLSTMCell)


def supports_fast(cell) -> bool:
    """Whether :class:`FastRecurrent` implements this cell's equations (exact type: subclasses may change them)."""
    return type(cell) in FAST_CELLS


def _tanh_step(cell):
    u = ops.convert_to_tensor(cell.recurrent_kernel)

    def step(h, xw):
        h = ops.tanh(xw + ops.matmul(h, u))
        return h, h

    return step


def _gru_step(cell):
    n, u = cell.units, ops.convert_to_tensor(cell.recurrent_kernel)
    u_zr, u_h = u[:, : 2 * n], u[:, 2 * n :]
    chung = cell.update_convention == "chung"

    def step(h, xw):
        if cell.reset_after:  # v1: r ⊙ (U h₋₁): one product for all three blocks
            uh = ops.matmul(h, u)
            z = ops.sigmoid(xw[:, :n] + uh[:, :n])
            r = ops.sigmoid(xw[:, n : 2 * n] + uh[:, n : 2 * n])
            candidate = ops.tanh(xw[:, 2 * n :] + r * uh[:, 2 * n :])
        else:  # v3, eq. (8): U (r ⊙ h₋₁)
            zr = ops.sigmoid(xw[:, : 2 * n] + ops.matmul(h, u_zr))
            z, r = zr[:, :n], zr[:, n:]
            candidate = ops.tanh(xw[:, 2 * n :] + ops.matmul(r * h, u_h))
        h = (1.0 - z) * h + z * candidate if chung else z * h + (1.0 - z) * candidate
        return h, h

    return step


def _lstm_step(cell):
    n, u = cell.units, ops.convert_to_tensor(cell.recurrent_kernel)
    p_i, p_f, p_o = (ops.convert_to_tensor(p) for p in (cell.peephole_i, cell.peephole_f, cell.peephole_o))

    def step(hc, xw):
        h, c = hc[:, :n], hc[:, n:]
        pre = xw + ops.matmul(h, u)
        i = ops.sigmoid(pre[:, :n] + p_i * c)
        f = ops.sigmoid(pre[:, n : 2 * n] + p_f * c)
        c = f * c + i * ops.tanh(pre[:, 2 * n : 3 * n])
        o = ops.sigmoid(pre[:, 3 * n :] + p_o * c)
        hc = ops.concatenate([o * ops.tanh(c), c], axis=-1)
        return hc, hc  # the packed state as output too: TF's scan wants outputs shaped like the carry

    return step


@keras.saving.register_keras_serializable(package="lstm_hist")
class FastRecurrent(keras.layers.RNN):
    """``keras.layers.RNN(cell, return_sequences=True)`` for a :data:`FAST_CELLS` cell, computed as above.

    A subclass, so it is a ``keras.layers.RNN`` wherever code asks (parameter counts, which weights get noise):
    the weights, their order and the layer's config are the generic layer's. Calls it does not cover (an initial
    state, a mask, a cell of another type, ``return_state``, ``go_backwards``, ``stateful``, ``unroll=True``)
    run the generic ``keras.layers.RNN.call``.

    Args:
        cell: a :class:`TanhRNNCell`, :class:`GRU2014Cell` or :class:`PeepholeLSTMCell`.
        scan_unroll: time steps per scan iteration (1 = a rolled loop; measured fastest on XLA CPU).
        **kwargs: ``keras.layers.RNN``'s (``return_sequences`` defaults to True here).
    """

    def __init__(self, cell, scan_unroll: int = 1, **kwargs):
        kwargs.setdefault("return_sequences", True)
        super().__init__(cell, **kwargs)
        if not isinstance(scan_unroll, int) or isinstance(scan_unroll, bool) or scan_unroll < 1:
            raise ValueError(f"scan_unroll must be a positive int, received scan_unroll={scan_unroll!r}")
        self.scan_unroll = scan_unroll

    def _covered(self, initial_state, mask) -> bool:
        return (supports_fast(self.cell) and initial_state is None and mask is None and self.return_sequences
                and not (self.return_state or self.go_backwards or self.stateful or self.unroll))

    def _step(self):
        if isinstance(self.cell, PeepholeLSTMCell):
            return _lstm_step(self.cell), 2 * self.cell.units
        if isinstance(self.cell, GRU2014Cell):
            return _gru_step(self.cell), self.cell.units
        return _tanh_step(self.cell), self.cell.units

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if not self._covered(initial_state, mask):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        xw = ops.matmul(sequences, self.cell.kernel)  # every step's input projection in one product
        if self.cell.bias is not None:
            xw = xw + self.cell.bias
        step, width = self._step()
        carry = ops.zeros((ops.shape(sequences)[0], width), dtype=xw.dtype)
        _, hs = ops.scan(step, carry, ops.transpose(xw, (1, 0, 2)), unroll=self.scan_unroll)
        return ops.transpose(hs[..., : self.cell.units], (1, 0, 2))

    def get_config(self):
        return {**super().get_config(), "scan_unroll": self.scan_unroll}
