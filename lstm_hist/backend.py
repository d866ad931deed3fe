"""Choose the Keras backend before Keras is imported.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the choice has to be made before any module
touches Keras. That is why nothing in ``lstm_hist`` imports Keras at module level and why the CLI calls
:func:`select_backend` before it resolves anything else.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from lstm_hist.errors import UserError

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_BACKEND = "jax"  # the fast path for custom cells on CPU (jit), and what `lstm-hist run` uses
# The package each backend imports, and how to install it (setup.cfg's extras; tensorflow is a base requirement).
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
INSTALL_HINTS = {"tensorflow": "pip install tensorflow", "jax": 'pip install -e ".[jax]"',
                 "torch": 'pip install -e ".[torch]"'}


def select_backend(name: str | None = None) -> str:
    """Set ``KERAS_BACKEND`` to ``name`` (or the env value, or ``"jax"``) and return it.

    Raises UserError for an unknown name, or when Keras is already imported with a different backend (too late to
    switch: Keras has built its backend module).
    """
    chosen = name or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise UserError(f"unknown backend {chosen!r}; choose one of {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        current = current_backend()
        if current != chosen:
            raise UserError(
                f"Keras is already imported with backend {current!r}, cannot switch to {chosen!r}; "
                "select the backend before importing keras (or set KERAS_BACKEND)"
            )
    os.environ["KERAS_BACKEND"] = chosen
    return chosen


def current_backend() -> str:
    """The backend in effect: Keras's own answer if it is imported, else what it would pick up."""
    if "keras" in sys.modules:
        try:
            return sys.modules["keras"].backend.backend()
        except AttributeError:  # a half-imported keras
            pass
    return os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND


def require_installed(name: str) -> None:
    """UserError naming the extra to install when backend ``name``'s package is missing (checked before Keras
    is imported, which would otherwise fail with a traceback deep inside its backend module)."""
    package = BACKEND_PACKAGES.get(name)
    if package is None or package in sys.modules and sys.modules[package] is not None:
        return
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserError(f"backend {name!r} needs the {package!r} package, which is not installed; "
                        f"install it with `{INSTALL_HINTS[name]}` (from the repository root), or choose "
                        f"another --backend ({', '.join(b for b in BACKENDS if b != name)})")
