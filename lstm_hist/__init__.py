"""lstm-hist: reproductions of historical sequence-model papers, paper numbers beside ours.

Importing this package must not import Keras: the CLI picks the backend (``KERAS_BACKEND``) first, and Keras
reads it once, at its own import. Modules that need Keras import it inside functions.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
