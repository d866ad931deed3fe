"""The GRU of Cho et al. (2014) for ``lstm-hist gradients`` (the ``GRADIENT_UNITS`` hook).

Eqs. (5)–(8) as printed (reset before the recurrent product, h = z ⊙ h₋₁ + (1 − z) ⊙ h̃), 46 units (Chung et al.
2014 Table 1: the paper's 1000 are for translation), and the paper's initialisation (appendix A: weights
N(0, 0.01²), recurrent matrices orthogonal, biases zero).
"""

from __future__ import annotations

from lstm_hist.gradients import GradientUnit

from .cell import GRU2014Cell

UNITS = 46


def build_gru(seed: int) -> GRU2014Cell:
    import keras

    return GRU2014Cell(
        UNITS,
        reset_after=False,
        update_convention="cho",
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01, seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
    )


GRADIENT_UNITS = {
    "gru": GradientUnit(
        build=build_gru,
        label=f"GRU ({UNITS} units)",
        state_names=("h",),
        source="Cho et al. 2014 eqs. (5)-(8), appendix A initialisation; 46 units as Chung et al. Table 1",
        order=20,
    ),
}
