"""The gated recurrent unit of Cho et al. (2014), arXiv:1406.1078, §2.3, eqs. (5)–(8), one time step.

:class:`GRU2014Cell` is a Keras cell (use it with ``keras.layers.RNN``). Two switches cover the published forms:

* ``reset_after`` — where the reset gate acts (shared/papers/cho2014_chung2014.md A.2):
  ``False`` (default) is arXiv v3 / the EMNLP paper, eq. (8): ``h̃ = tanh(W x + U (r ⊙ h₋₁))``, reset *before*
  the recurrent product; ``True`` is arXiv v1 (Chung et al. 2014, footnote 1): ``h̃ = tanh(W x + r ⊙ (U h₋₁))``,
  reset *after* it — the form of cuDNN and of Keras's default ``GRU(reset_after=True)``. Unlike Keras, this v1
  form has one bias per gate (no separate recurrent bias), as in the papers' equations.
* ``update_convention`` — the role of z (eq. 7 vs Chung §3.2):
  ``"cho"``: ``h = z ⊙ h₋₁ + (1 − z) ⊙ h̃`` (z → 1 keeps the old state; Keras's convention);
  ``"chung"``: ``h = (1 − z) ⊙ h₋₁ + z ⊙ h̃`` (z → 1 takes the candidate). Since σ(−a) = 1 − σ(a), the two are
  the same family: negating the update gate's weights and bias maps one onto the other.

Weight layout (the same as ``keras.layers.GRUCell`` with ``reset_after=False``, so weights can be copied):
``kernel`` (inputs, 3·units) and ``recurrent_kernel`` (units, 3·units) with column blocks [z | r | h], ``bias``
(3·units,). The paper's equations have no biases; ``use_bias=False`` gives exactly them, ``True`` (the default,
as in Keras and Pylearn2) adds one per unit and gate (docs/deviations.md (Chung section)).
"""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

UPDATE_CONVENTIONS = ("cho", "chung")


@keras.saving.register_keras_serializable(package="lstm_hist")
class GRU2014Cell(keras.layers.Layer):
    """Cho et al. (2014) gated recurrent unit, eqs. (5)–(8); one time step.

    The equations (φ = tanh, σ the logistic sigmoid; biases b added when ``use_bias``)::

        r  = σ(W_r x + U_r h₋₁ + b_r)                           (5)  reset gate
        z  = σ(W_z x + U_z h₋₁ + b_z)                           (6)  update gate
        h̃ = φ(W x + U (r ⊙ h₋₁) + b)                            (8)  v3 (reset_after=False)
        h̃ = φ(W x + r ⊙ (U h₋₁) + b)                                 v1 (reset_after=True; Chung fn. 1)
        h  = z ⊙ h₋₁ + (1 − z) ⊙ h̃                              (7)  update_convention="cho"
        h  = (1 − z) ⊙ h₋₁ + z ⊙ h̃                                   update_convention="chung" (§3.2)

    Args:
        units: number of hidden units (Chung et al. Table 1, music: 46).
        reset_after: False = arXiv v3 / eq. (8) (reset before the recurrent product); True = arXiv v1.
        update_convention: "cho" (eq. 7) or "chung" (Chung et al. 2014 §3.2); see the module docstring.
        use_bias: add a bias per gate and candidate (not in the papers' equations).
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers (names or objects).

    Call arguments:
        inputs: (batch, inputs) the step's input.
        states: ``[h₋₁]`` with h₋₁ of shape (batch, units).

    Returns ``(h, [h])``.

    Example::

        layer = keras.layers.RNN(GRU2014Cell(46, update_convention="chung"), return_sequences=True)
    """

    def __init__(
        self,
        units: int,
        reset_after: bool = False,
        update_convention: Literal["cho", "chung"] = "cho",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"units must be a positive int, received units={units!r}")
        if update_convention not in UPDATE_CONVENTIONS:
            raise ValueError(f"update_convention must be one of {UPDATE_CONVENTIONS}, "
                             f"received update_convention={update_convention!r}")
        self.units = units
        self.reset_after = bool(reset_after)
        self.update_convention = update_convention
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        inputs = input_shape[-1]
        self.kernel = self.add_weight(shape=(inputs, 3 * self.units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 3 * self.units),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel")
        self.bias = (self.add_weight(shape=(3 * self.units,), initializer=self.bias_initializer, name="bias")
                     if self.use_bias else None)

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        n = self.units
        x_proj = ops.matmul(inputs, self.kernel)  # [W_z x | W_r x | W x]
        if self.bias is not None:
            x_proj = x_proj + self.bias
        u_zr = ops.matmul(h_prev, self.recurrent_kernel[:, : 2 * n])
        z = ops.sigmoid(x_proj[:, :n] + u_zr[:, :n])
        r = ops.sigmoid(x_proj[:, n : 2 * n] + u_zr[:, n:])
        u_h = self.recurrent_kernel[:, 2 * n :]
        if self.reset_after:
            recurrent = r * ops.matmul(h_prev, u_h)  # v1: r ⊙ (U h₋₁)
        else:
            recurrent = ops.matmul(r * h_prev, u_h)  # v3, eq. (8): U (r ⊙ h₋₁)
        candidate = ops.tanh(x_proj[:, 2 * n :] + recurrent)
        if self.update_convention == "cho":
            h = z * h_prev + (1.0 - z) * candidate  # eq. (7)
        else:
            h = (1.0 - z) * h_prev + z * candidate  # Chung et al. §3.2
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "reset_after": self.reset_after,
            "update_convention": self.update_convention,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
