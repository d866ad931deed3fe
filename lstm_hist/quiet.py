"""Keep TensorFlow's, absl's and CUDA's start-up log lines off the user's terminal.

TensorFlow prints "oneDNN custom operations are on", "Could not find cuda drivers", "All log messages before
absl::InitializeLog() ..." from its native libraries while they load, even with ``TF_CPP_MIN_LOG_LEVEL=3`` (which
only silences the later C++ logs). None of that is the user's business, and it hides the one line that is
(``error: ...`` or the run's progress). So the CLI sets the log-level variables before anything imports those
libraries and sends file descriptor 2 to /dev/null while ``tensorflow`` is first imported, wherever that import
happens (Keras with any backend, tensorflow-datasets). Python exceptions still propagate; only the native noise
of that import is dropped. ``LSTM_HIST_NATIVE_LOGS=1`` keeps everything, for debugging an installation.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys

ENV_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ logs after absl is initialised
    "GRPC_VERBOSITY": "ERROR",
    "ABSL_MIN_LOG_LEVEL": "3",
}
NOISY_PACKAGES = ("tensorflow",)
PY_LOGGERS = ("tensorflow", "absl", "jax._src.xla_bridge")


def silence() -> None:
    """Set the environment defaults and install the import hook (idempotent; a user's own settings win)."""
    if os.environ.get("LSTM_HIST_NATIVE_LOGS"):
        return
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    for name in PY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of a noisy top-level package in :class:`_QuietLoader`."""

    def __init__(self) -> None:
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in NOISY_PACKAGES or self._busy:
            return None
        self._busy = True  # find_spec below asks every finder again, this one included
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader) -> None:
        self._loader = loader

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with _stderr_to_devnull():
            self._loader.exec_module(module)
        if "absl.logging" in sys.modules:
            sys.modules["absl.logging"].set_verbosity("error")


class _stderr_to_devnull:
    """File descriptor 2 (what native code writes to) goes to /dev/null inside the block."""

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        return False
