"""The 1997 cell for ``lstm-hist gradients`` (the ``GRADIENT_UNITS`` hook; docs/vanishing_gradients.md).

The net of the adding problem (Table 10 row 4: 2 blocks of 2 cells, input-gate biases −3 and −6, weights uniform
in ±0.1), once with the truncated gradient of App. A.1 and once with the full gradient. §4: the CEC's self-weight
is 1.0, so the error carried back through s_c is multiplied by exactly 1 per step; with truncation it is the only
way back in time.
"""

from __future__ import annotations

from lstm_hist.gradients import GradientUnit

from .cell import LSTM1997Cell

BLOCKS, BLOCK_SIZE, INPUT_GATE_BIAS, INIT_RANGE = 2, 2, (-3.0, -6.0), 0.1  # Table 10 row 4 (adding)


def cell_output(cell: LSTM1997Cell, states: list):
    """y^c, the first ``cells`` activations of the recurrent vector r (the output units see the cells only)."""
    return states[1][:, : cell.cells]


def _builder(truncate: bool):
    def build(seed: int) -> LSTM1997Cell:
        return LSTM1997Cell(BLOCKS, block_size=BLOCK_SIZE, input_gate_bias=list(INPUT_GATE_BIAS),
                            init_range=INIT_RANGE, truncate_gradient=truncate, seed=seed)

    return build


def _unit(truncate: bool) -> GradientUnit:
    kind = "truncated" if truncate else "full"
    return GradientUnit(
        build=_builder(truncate),
        label=f"1997 LSTM, {kind} gradient ({BLOCKS}x{BLOCK_SIZE})",
        state_names=("s_c", "r"),
        output=cell_output,
        cec_state="s_c",
        source=f"Hochreiter & Schmidhuber 1997 §4, App. A.1 ({kind} gradient), Table 10 row 4",
        order=50 if truncate else 60,
    )


GRADIENT_UNITS = {"lstm1997_truncated": _unit(True), "lstm1997_full": _unit(False)}
