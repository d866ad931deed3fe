"""The two other units Chung et al. (2014) compare with the GRU (arXiv:1412.3555, §3.1, §2): the LSTM "as used
in Graves [2013]" (forget gate, diagonal peepholes) and the tanh RNN. The GRU is
:class:`reproductions.cho2014.GRU2014Cell` (with ``update_convention="chung"``).

Both are Keras cells (use them with ``keras.layers.RNN``). The papers' equations have no biases; ``use_bias``
(default True, as in Pylearn2 and Keras) adds them (docs/deviations.md (Chung section)).
"""

from __future__ import annotations

import keras
from keras import ops


def _check_units(units):
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"units must be a positive int, received units={units!r}")


@keras.saving.register_keras_serializable(package="lstm_hist")
class PeepholeLSTMCell(keras.layers.Layer):
    """Graves (2013) LSTM with forget gate and diagonal peepholes, as in Chung et al. (2014) §3.1; one step.

    The equations (σ the logistic sigmoid, ⊙ elementwise; V_i, V_f, V_o diagonal, stored as vectors)::

        i  = σ(W_i x + U_i h₋₁ + V_i ⊙ c₋₁ + b_i)
        f  = σ(W_f x + U_f h₋₁ + V_f ⊙ c₋₁ + b_f)
        c̃ = tanh(W_c x + U_c h₋₁ + b_c)
        c  = f ⊙ c₋₁ + i ⊙ c̃
        o  = σ(W_o x + U_o h₋₁ + V_o ⊙ c + b_o)      # the output-gate peephole sees the *new* cell state
        h  = o ⊙ tanh(c)

    Weight layout: ``kernel`` (inputs, 4·units), ``recurrent_kernel`` (units, 4·units), column blocks
    [i | f | c | o] (Keras's LSTM order); ``peephole_i``, ``peephole_f``, ``peephole_o`` (units,);
    ``bias`` (4·units,).

    Args:
        units: memory cells (Chung et al. Table 1, music: 36).
        use_bias: add biases (not in the paper's equations).
        unit_forget_bias: initialise the forget-gate bias to 1 (off by default: Chung et al. say nothing).
        kernel_initializer, recurrent_initializer, peephole_initializer, bias_initializer: Keras initializers.

    Call arguments:
        inputs: (batch, inputs); states: ``[h₋₁, c₋₁]``, each (batch, units).

    Returns ``(h, [h, c])``.
    """

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        unit_forget_bias: bool = False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        peephole_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        n = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * n), initializer=self.kernel_initializer,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(n, 4 * n), initializer=self.recurrent_initializer,
                                                name="recurrent_kernel")
        # A peephole is one weight per cell (diagonal V); see _peephole_init for fan-based initializers.
        self.peephole_i = self.add_weight(shape=(n,), initializer=self._peephole_init, name="peephole_i")
        self.peephole_f = self.add_weight(shape=(n,), initializer=self._peephole_init, name="peephole_f")
        self.peephole_o = self.add_weight(shape=(n,), initializer=self._peephole_init, name="peephole_o")
        if self.use_bias:
            if self.unit_forget_bias:
                base = self.bias_initializer

                def initializer(shape, dtype=None):
                    return ops.concatenate([base((n,), dtype=dtype), ops.ones((n,), dtype=dtype),
                                            base((2 * n,), dtype=dtype)])
            else:
                initializer = self.bias_initializer
            self.bias = self.add_weight(shape=(4 * n,), initializer=initializer, name="bias")
        else:
            self.bias = None

    def _peephole_init(self, shape, dtype=None):
        try:
            return self.peephole_initializer(shape, dtype=dtype)
        except ValueError:  # fan-based initializers need 2-D shapes
            return ops.reshape(self.peephole_initializer((1, shape[0]), dtype=dtype), shape)

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states[0], states[1]
        n = self.units
        pre = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            pre = pre + self.bias
        i = ops.sigmoid(pre[:, :n] + self.peephole_i * c_prev)
        f = ops.sigmoid(pre[:, n : 2 * n] + self.peephole_f * c_prev)
        c = f * c_prev + i * ops.tanh(pre[:, 2 * n : 3 * n])
        o = ops.sigmoid(pre[:, 3 * n :] + self.peephole_o * c)
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(2)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="lstm_hist")
class TanhRNNCell(keras.layers.Layer):
    """The tanh RNN of Chung et al. (2014) §2 (their baseline "tanh" unit); one step.

    ::

        h = tanh(W x + U h₋₁ + b)

    Args:
        units: hidden units (Chung et al. Table 1, music: 100).
        use_bias: add the bias b (not in the paper's equation).
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers.

    Call arguments:
        inputs: (batch, inputs); states: ``[h₋₁]`` (batch, units).

    Returns ``(h, [h])``.
    """

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel")
        self.bias = (self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
                     if self.use_bias else None)

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        pre = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            pre = pre + self.bias
        h = ops.tanh(pre)
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
