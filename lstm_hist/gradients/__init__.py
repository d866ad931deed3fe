"""The vanishing gradient, measured (Hochreiter & Schmidhuber 1997 §3; ``lstm-hist gradients``).

For a recurrent cell and a task's sequences, how much of the error at the last step E(T) reaches earlier steps:
the norms of ∂E(T)/∂(state at T−k) and ∂E(T)/∂x(T−k) for every lag k, over many random initialisations, at
initialisation and after brief training. The shared layer holds the measurement (:mod:`.measure`), the brief
training (:mod:`.train`), the record, figure and page (:mod:`.command`, :mod:`.render`); papers supply their
units through the ``GRADIENT_UNITS`` hook (:class:`.units.GradientUnit`), found through the registry.
"""

from .units import GradientUnit, collect_units

__all__ = ["GradientUnit", "collect_units"]
