"""The 1997 networks (§5, Table 10): 1997 memory-cell blocks, then logistic output units that see the cells only."""

from __future__ import annotations

import keras

from .construction import LAYER_NAME, CellBlockMask, check_initial_blocks
from .layers import LSTM1997, TrialDense
from .symbols import SymbolOneHot, uses_symbols


def build_network(
    trials: int | None,
    inputs: int,
    outputs: int,
    blocks: int,
    block_size: int = 1,
    output_gate: bool = True,
    recurrent: bool = True,
    cell_bias: bool = True,
    gate_bias: bool = True,
    output_bias: bool = True,
    cell_input_activation: str = "g2",
    cell_output_activation: str = "h1",
    input_gate_bias: list[float] | None = None,
    output_gate_bias: list[float] | None = None,
    init_range: float = 0.1,
    truncate_gradient: bool = True,
    initial_activation: float = 0.0,
    outputs_every_step: bool = False,
    output_sees_inputs: bool = False,
    seed: int | None = None,
    input_gate_bias_range: float | None = None,
    fast_path: bool = True,
    initial_blocks: int | None = None,
    symbol_inputs: bool = False,
) -> keras.Model:
    """A Table 10 network: 1997 memory-cell blocks, then logistic output units.

    Inputs ``[x (B, L, inputs), mask (B, L) bool]``; output (B, outputs): y^k = σ(Σ_c w_kc y^c + b_k) at each
    sequence's last real step, computed from the cell outputs of that same step (§5, order of computation).
    ``output_bias`` follows Table 10's bias column ("all": every non-input unit has a bias).
    With ``trials=N`` every weight has a leading axis N and batch row b belongs to trial b.

    ``outputs_every_step=True`` (Exps 1, 2a, 2b: the next symbol is predicted at every step): the output is
    (B, L, outputs), the output units at every step. ``output_sees_inputs=True`` is Table 10's connectivity
    "B" of Exp 2a/2b ("each layer has connections from all layers below"): the output units see the input
    units as well as the cells; with ``recurrent=False`` the cell and its gate see the inputs only. The
    sizes of Table 10 follow (tests/test_h97_models.py): e.g. Exp 2a, 101 inputs, one cell with an input gate
    and no output gate, 101 outputs, no biases: 101·102 + 101 + 101 = 10,504 weights.

    ``fast_path`` (not the paper's: how it is computed) selects the JAX fast path of :class:`LSTM1997` where it
    applies; False (``--set model.fast_path=false``) forces the generic ``keras.ops`` loop.

    ``symbol_inputs`` (not the paper's: how it is computed; True for Exps 2a/2b/2c, whose inputs are one-hot): on
    the JAX fast path, x arrives as symbol indices (B, L) int32 instead of one-hot vectors, and the input
    projection is a gather (:mod:`.symbols`); elsewhere it has no effect. False keeps the one-hot vectors.

    ``initial_blocks`` (Exp 2a/2b, sequential construction): only the first ``initial_blocks`` blocks are present at
    the start, the others are added by the protocol's ``construction`` rule (:mod:`.construction`); None: all.
    """
    _check_arguments(output_sees_inputs, outputs_every_step, blocks, initial_blocks, recurrent)
    symbols = inputs if uses_symbols(symbol_inputs, fast_path, truncate_gradient) else None
    x = keras.Input((None, inputs), name="x") if symbols is None else keras.Input((None,), dtype="int32", name="x")
    mask = keras.Input((None,), dtype="bool", name="mask")
    cells = LSTM1997(
        blocks,
        block_size=block_size,
        output_gate=output_gate,
        recurrent=recurrent,
        cell_bias=cell_bias,
        gate_bias=gate_bias,
        cell_input_activation=cell_input_activation,
        cell_output_activation=cell_output_activation,
        input_gate_bias=input_gate_bias,
        output_gate_bias=output_gate_bias,
        init_range=init_range,
        truncate_gradient=truncate_gradient,
        initial_activation=initial_activation,
        input_gate_bias_range=input_gate_bias_range,
        trials=trials,
        seed=seed,
        return_sequences=outputs_every_step,
        fast_path=fast_path,
        symbols=symbols,
        name="lstm1997",
    )(x, mask=mask)
    x_seen = x if symbols is None else SymbolOneHot(symbols, name="one_hot")(x)
    seen = _what_outputs_see(x_seen, cells, blocks, block_size, initial_blocks, trials, output_sees_inputs)
    y = TrialDense(
        outputs,
        activation="sigmoid",
        use_bias=output_bias,
        init_range=init_range,
        trials=trials,
        seed=None if seed is None else seed + 100,
        name="output",
    )(seen)
    return keras.Model([x, mask], y, name="lstm1997_net")


def _check_arguments(output_sees_inputs, outputs_every_step, blocks, initial_blocks, recurrent) -> None:
    if output_sees_inputs and not outputs_every_step:
        raise ValueError("`output_sees_inputs` needs `outputs_every_step=True` (Exp 2a/2b), "
                         f"received output_sees_inputs={output_sees_inputs!r}, outputs_every_step=False")
    check_initial_blocks(blocks, initial_blocks, recurrent)


def _what_outputs_see(x, cells, blocks, block_size, initial_blocks, trials, output_sees_inputs):
    """The cells (those not yet added masked out, sequential construction), after the inputs for connectivity B."""
    if initial_blocks is not None:
        cells = CellBlockMask(blocks, block_size, initial_blocks, trials=trials, name=LAYER_NAME)(cells)
    if output_sees_inputs:
        cells = keras.layers.Concatenate(name="inputs_and_cells")([x, cells])
    return cells


def build_keras_lstm(
    trials: int | None,
    inputs: int,
    outputs: int,
    units: int,
    output_activation: str = "sigmoid",
    outputs_every_step: bool = False,
) -> keras.Model:
    """The modern baseline, *not* the paper's net: ``keras.layers.LSTM`` (with forget gate) + ``Dense``.

    Keras defaults throughout (Glorot-uniform input weights, orthogonal recurrent weights, forget-gate bias 1,
    tanh/sigmoid, no truncation), so it is the LSTM of Gers et al. (2000) as practice uses it, not the 1997
    cell of §4. Same interface as :func:`build_network`: inputs ``[x (B, L, inputs), mask (B, L) bool]``,
    output (B, outputs) at each sequence's last real step (Keras masking carries the state over the padding),
    or (B, L, outputs) with ``outputs_every_step``. ``units`` is chosen per task so that the weight count,
    4·units·(inputs + units + 1) + outputs·(units + 1), is near the paper's net (docs/deviations.md, "Modern
    baselines"). The baseline trains one trial per model, so ``trials`` must be None.
    """
    if trials is not None:
        raise ValueError(f"the Keras LSTM baseline trains one trial per model; received trials={trials!r}")
    if units < 1:
        raise ValueError(f"`units` must be at least 1, received units={units!r}")
    x = keras.Input((None, inputs), name="x")
    mask = keras.Input((None,), dtype="bool", name="mask")
    hidden = keras.layers.LSTM(units, return_sequences=outputs_every_step, name="lstm")(x, mask=mask)
    y = keras.layers.Dense(outputs, activation=output_activation, name="output")(hidden)
    return keras.Model([x, mask], y, name="keras_lstm_baseline")
