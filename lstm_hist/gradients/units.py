"""The units whose gradients ``lstm-hist gradients`` measures: what a paper hands the shared layer.

A paper module exposes ``GRADIENT_UNITS: dict[str, GradientUnit]`` in ``reproductions/<paper>/__init__.py``;
:func:`collect_units` gathers them through :func:`lstm_hist.registry.paper_hooks`, adds the one unit that belongs
to no paper (``keras.layers.LSTM``'s cell, :func:`keras_lstm_unit`) and orders them by ``order``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from lstm_hist.errors import UserError


def first_state(cell: Any, states: list) -> Any:
    """The cell's output is its first state (tanh RNN, GRU, LSTM: h)."""
    return states[0]


@dataclasses.dataclass(frozen=True)
class GradientUnit:
    """One recurrent unit to measure.

    build:        ``build(seed) -> cell``, an unbuilt Keras cell (``call(x_t, states) -> (output, new_states)``,
                  ``get_initial_state(batch_size)``), its random weights drawn from ``seed``.
    label:        legend text, e.g. ``"tanh RNN (Chung 2014 §2)"``.
    state_names:  one name per state tensor, in the cell's order (e.g. ``("h", "c")``).
    output:       ``output(cell, states) -> (B, out)``: the cell's output as a function of its new states (so the
                  error at T reaches the state at T through it); default: the first state.
    cec_state:    the name of a state whose step-to-step derivative the paper says is exactly 1 (the 1997 CEC
                  s_c, §4), or None. The measurement reports how far the measured factor is from 1.
    step_bound:   ``step_bound(cell, weights) -> float`` with ``weights`` the cell's weights by variable name
                  (one init): the §3 bound on the per-step factor of ‖∂E/∂state‖ (σ_max(U)·max f′ for
                  h = f(W x + U h₋₁ + b)), or None where the paper gives none.
    source:       where the unit comes from (paper and section).
    order:        position in tables and the figure legend.
    """

    build: Callable[[int], Any]
    label: str
    state_names: tuple[str, ...]
    output: Callable[[Any, list], Any] = first_state
    cec_state: str | None = None
    step_bound: Callable[[Any, dict], float] | None = None
    source: str = ""
    order: int = 100


def keras_lstm_unit(units: int = 36) -> GradientUnit:
    """``keras.layers.LSTMCell`` with Keras defaults (forget gate, bias 1 on it; Glorot/orthogonal weights).

    Not a paper's unit: the LSTM as practice uses it, beside the papers' (36 units, the size of Chung et al.'s
    LSTM, Table 1).
    """

    def build(seed: int):
        import keras

        return keras.layers.LSTMCell(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
        )

    return GradientUnit(build=build, label=f"Keras LSTM ({units} units, forget gate)", state_names=("h", "c"),
                        source="keras.layers.LSTMCell, Keras defaults", order=40)


def collect_units() -> dict[str, GradientUnit]:
    """Every unit: the papers' ``GRADIENT_UNITS`` (keys ``<paper>/<name>``) and ``keras/lstm``, ordered."""
    from lstm_hist.registry import paper_hooks

    units: dict[str, GradientUnit] = {"keras/lstm": keras_lstm_unit()}
    for paper, hook in paper_hooks("GRADIENT_UNITS").items():
        if not isinstance(hook, dict):
            raise UserError(f"reproductions.{paper}.GRADIENT_UNITS must be a dict of GradientUnit")
        for name, unit in hook.items():
            units[f"{paper}/{name}"] = unit
    return dict(sorted(units.items(), key=lambda kv: (kv[1].order, kv[0])))


def select_units(names: list[str] | None) -> dict[str, GradientUnit]:
    """The units named (full key or the part after the slash), or all of them; UserError for unknown names."""
    units = collect_units()
    if not names:
        return units
    chosen = {}
    for name in names:
        matches = [key for key in units if key == name or key.split("/", 1)[1] == name]
        if len(matches) != 1:
            raise UserError(f"unknown or ambiguous unit {name!r}; units: {', '.join(units)}")
        chosen[matches[0]] = units[matches[0]]
    return chosen
