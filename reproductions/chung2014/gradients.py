"""Chung et al. (2014) units for ``lstm-hist gradients`` (the ``GRADIENT_UNITS`` hook; docs/vanishing_gradients.md).

The tanh RNN (§2) and the LSTM with forget gate and peepholes (§3.1), at the sizes of Table 1 (music: 100 and 36
units) and this reproduction's initialisation (all weights uniform in ±0.1, biases zero: :func:`.models.make_cell`).
"""

from __future__ import annotations

import numpy as np

from lstm_hist.gradients import GradientUnit

from .models import TABLE1_UNITS, make_cell

TANH_MAX_DERIVATIVE = 1.0  # max of tanh′, at 0


def tanh_step_bound(cell, weights: dict) -> float:
    """Hochreiter & Schmidhuber 1997 §3 for h = tanh(W x + U h₋₁ + b): ∂h(t)/∂h(t−1) = diag(tanh′)·Uᵀ, so each step
    scales ‖∂E/∂h‖ by at most σ_max(U) · max tanh′ = σ_max(U)."""
    return float(np.linalg.norm(np.asarray(weights["recurrent_kernel"], dtype=np.float64), 2)) * TANH_MAX_DERIVATIVE


GRADIENT_UNITS = {
    "tanh": GradientUnit(
        build=lambda seed: make_cell("tanh", TABLE1_UNITS["tanh"], seed=seed),
        label=f"tanh RNN ({TABLE1_UNITS['tanh']} units)",
        state_names=("h",),
        step_bound=tanh_step_bound,
        source="Chung et al. 2014 §2, Table 1 size; weights uniform ±0.1",
        order=10,
    ),
    "lstm": GradientUnit(
        build=lambda seed: make_cell("lstm", TABLE1_UNITS["lstm"], seed=seed),
        label=f"LSTM, forget gate + peepholes ({TABLE1_UNITS['lstm']})",
        state_names=("h", "c"),
        source="Chung et al. 2014 §3.1 (Graves 2013), Table 1 size; weights uniform ±0.1",
        order=30,
    ),
}
