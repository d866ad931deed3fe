"""Chung et al. (2014) §4 music models: one recurrent layer, sigmoid outputs, sized per Table 1.

Table 1 (music): LSTM 36 units (≈19.8×10³ parameters), GRU 46 (≈20.2×10³), tanh 100 (≈20.1×10³). We use the unit
counts; the printed parameter totals match no accounting we found (shared/papers/cho2014_chung2014.md B.3), and
``lstm-hist describe`` prints the count our models get (docs/deviations.md (Chung section), "Parameter counts").

The network: inputs x_t (D binary notes) → recurrent layer → affine D outputs. The outputs are the logits of D
independent Bernoulli (logistic sigmoid) units; the sigmoid itself is applied inside the loss
(``frame_nll_bernoulli`` with ``from_logits=True``), which is the same model, computed stably.
"""

from __future__ import annotations

from typing import Literal

import keras

from reproductions.cho2014 import GRU2014Cell

from .cells import PeepholeLSTMCell, TanhRNNCell
from .initializers import BlockOrthogonal

UNITS = ("tanh", "gru", "lstm")
TABLE1_UNITS = {"lstm": 36, "gru": 46, "tanh": 100}  # Table 1, music
TABLE1_PARAMETERS = {"lstm": 19_800, "gru": 20_200, "tanh": 20_100}  # Table 1, "≈" as printed


GATE_BLOCKS = {"tanh": 1, "gru": 3, "lstm": 4}  # n×n blocks of each cell's recurrent kernel
RECURRENT_INITS = ("uniform", "orthogonal")


def make_cell(unit: str, units: int, *, init_range: float = 0.1, use_bias: bool = True,
              gru_reset_after: bool = False, gru_update_convention: str = "chung", seed: int | None = None,
              recurrent_init: str = "uniform"):
    """The recurrent cell of one Table 2 column: input weights (and peepholes) uniform in ±init_range, biases zero,
    the recurrent kernel uniform too (``recurrent_init="uniform"``) or one random orthogonal n×n block per gate
    (``"orthogonal"``, Pylearn2's recurrent layers used by jych/librnn)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, received unit={unit!r}")
    if recurrent_init not in RECURRENT_INITS:
        raise ValueError(f"recurrent_init must be one of {RECURRENT_INITS}, received recurrent_init={recurrent_init!r}")

    def uniform(offset):
        return keras.initializers.RandomUniform(-init_range, init_range, seed=None if seed is None else seed + offset)

    recurrent = uniform(1) if recurrent_init == "uniform" else BlockOrthogonal(GATE_BLOCKS[unit], seed=seed)
    common = dict(units=units, use_bias=use_bias, kernel_initializer=uniform(0), recurrent_initializer=recurrent)
    if unit == "gru":
        return GRU2014Cell(reset_after=gru_reset_after, update_convention=gru_update_convention, **common)
    if unit == "lstm":
        return PeepholeLSTMCell(peephole_initializer=uniform(2), **common)
    return TanhRNNCell(**common)


def recurrent_layer(cell, unit: str, *, unroll: bool = False, fast_path: bool = True) -> keras.layers.Layer:
    """The whole-sequence layer: the fast one where it supports the cell, else ``keras.layers.RNN``."""
    from .fast_rnn import FastRecurrent, supports_fast

    if fast_path and not unroll and supports_fast(cell):
        return FastRecurrent(cell, name=f"{unit}_rnn")
    return keras.layers.RNN(cell, return_sequences=True, unroll=unroll, name=f"{unit}_rnn")


def build_music_model(
    trials: int | None = None,
    unit: Literal["tanh", "gru", "lstm"] = "gru",
    units: int = 46,
    dim: int = 96,
    init_range: float = 0.1,
    use_bias: bool = True,
    gru_reset_after: bool = False,
    gru_update_convention: Literal["cho", "chung"] = "chung",
    fast_path: bool = True,
    unroll: bool = False,
    recurrent_init: Literal["uniform", "orthogonal"] = "uniform",
) -> keras.Model:
    """Next-step model of D-dimensional binary frames: ``x (B, T, D) → logits (B, T, D)``.

    unit: "tanh", "gru" or "lstm" (Table 2's columns); units: Table 1 sizes (36 / 46 / 100 for music).
    dim: D, the input and output width (Chung §4: 93 / 96 / 105 / 108; 88 for the keyboard layout). Must equal
        the task's ``dim``.
    init_range: every weight uniform in [−init_range, init_range], biases zero. Not stated in the paper;
        jych/librnn's JSB config uses ``irange: 0.1`` (docs/deviations.md (Chung section)).
    use_bias: biases in the recurrent layer (not in the papers' equations; Pylearn2 layers have them).
    gru_reset_after: False = reset before the recurrent product (Chung §3.2, Cho v3 eq. 8); True = v1.
    gru_update_convention: "chung" (§3.2, the default here) or "cho" (eq. 7): equivalent families.
    fast_path: True = :class:`~reproductions.chung2014.fast_rnn.FastRecurrent` (the same equations and weights,
        input projection hoisted out of the time loop; issue 13); False = the generic ``keras.layers.RNN``.
        Not used with ``unroll: true``.
    unroll: unroll the time loop (only for short fixed-length inputs).
    recurrent_init: "uniform" (±init_range, like every other weight) or "orthogonal" (one random orthogonal block
        per gate, the Pylearn2 layers of jych/librnn; docs/deviations.md (Chung section)).
    trials: must be None (the shared layer passes it; Chung's protocol trains one network per run).
    """
    if trials is not None:
        raise ValueError(f"the music models train one network per run; received trials={trials!r}")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, received dim={dim!r}")
    cell = make_cell(unit, units, init_range=init_range, use_bias=use_bias, gru_reset_after=gru_reset_after,
                     gru_update_convention=gru_update_convention, recurrent_init=recurrent_init)
    inputs = keras.Input(shape=(None, dim), name="frames")
    hidden = recurrent_layer(cell, unit, unroll=unroll, fast_path=fast_path)(inputs)
    logits = keras.layers.Dense(
        dim, name="note_logits",
        kernel_initializer=keras.initializers.RandomUniform(-init_range, init_range),
        bias_initializer="zeros",
    )(hidden)
    return keras.Model(inputs, logits, name=f"chung2014_{unit}{units}")


def recurrent_parameters(model: keras.Model) -> int:
    """Parameters of the recurrent layer alone (the accounting that matches Table 1's speech counts)."""
    return int(sum(layer.count_params() for layer in model.layers if isinstance(layer, keras.layers.RNN)))


TABLE1_SPEECH_UNITS = {"lstm": 195, "gru": 227, "tanh": 400}  # Table 1, speech
TABLE1_SPEECH_PARAMETERS = {"lstm": 169_100, "gru": 168_900, "tanh": 168_400}  # Table 1, "≈" as printed


def build_speech_model(
    trials: int | None = None,
    unit: Literal["tanh", "gru", "lstm"] = "gru",
    units: int = 227,
    input_samples: int = 20,
    output_samples: int = 10,
    components: int = 20,
    init_range: float = 0.1,
    use_bias: bool = True,
    gru_reset_after: bool = False,
    gru_update_convention: Literal["cho", "chung"] = "chung",
    fast_path: bool = True,
    unroll: bool = False,
    recurrent_init: Literal["uniform", "orthogonal"] = "uniform",
) -> keras.Model:
    """Raw-speech model (§4): ``x (B, T, 20 samples) → raw mixture parameters (B, T, K·(2·10 + 1))``.

    unit, units: Table 2's columns, Table 1's speech sizes (LSTM 195, GRU 227, tanh 400). Table 1's ≈169×10³
        parameters are the recurrent layer alone (facts B.3: 169,065 / 168,888 / 168,400 with biases and the
        LSTM's 3·n peepholes); the mixture output layer adds units·K·21 + K·21 (docs/deviations.md).
    input_samples, output_samples: samples read and predicted per step (§4: 20 and 10).
    components: Gaussians in the output mixture (§4: 20); the output layout is :mod:`reproductions.chung2014.mog`'s.
    init_range, use_bias, gru_*, recurrent_init: as for :func:`build_music_model`.
    trials: must be None (one network per run).
    fast_path: as for :func:`build_music_model`.
    """
    from .mog import mog_output_size

    if trials is not None:
        raise ValueError(f"the speech models train one network per run; received trials={trials!r}")
    for name, value in (("input_samples", input_samples), ("output_samples", output_samples),
                        ("components", components)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, received {name}={value!r}")
    cell = make_cell(unit, units, init_range=init_range, use_bias=use_bias, gru_reset_after=gru_reset_after,
                     gru_update_convention=gru_update_convention, recurrent_init=recurrent_init)
    inputs = keras.Input(shape=(None, input_samples), name="samples")
    hidden = recurrent_layer(cell, unit, unroll=unroll, fast_path=fast_path)(inputs)
    mixture = keras.layers.Dense(
        mog_output_size(output_samples, components), name="mixture_parameters",
        kernel_initializer=keras.initializers.RandomUniform(-init_range, init_range),
        bias_initializer="zeros",
    )(hidden)
    return keras.Model(inputs, mixture, name=f"chung2014_speech_{unit}{units}")
