"""The 1997 networks (§5, Table 10): 1997 memory-cell blocks, then logistic output units that see the cells only."""

from __future__ import annotations

import keras

from .cell import LSTM1997, TrialDense


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
    seed: int | None = None,
) -> keras.Model:
    """A Table 10 network with connectivity "F" and the error at the sequence end.

    Inputs ``[x (B, L, inputs), mask (B, L) bool]``; output (B, outputs): y^k = σ(Σ_c w_kc y^c + b_k) at each
    sequence's last real step, computed from the cell outputs of that same step (§5, order of computation).
    ``output_bias`` follows Table 10's bias column ("all": every non-input unit has a bias).
    With ``trials=N`` every weight has a leading axis N and batch row b belongs to trial b.
    """
    x = keras.Input((None, inputs), name="x")
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
        trials=trials,
        seed=seed,
        name="lstm1997",
    )(x, mask=mask)
    y = TrialDense(
        outputs,
        activation="sigmoid",
        use_bias=output_bias,
        init_range=init_range,
        trials=trials,
        seed=None if seed is None else seed + 100,
        name="output",
    )(cells)
    return keras.Model([x, mask], y, name="lstm1997_net")
