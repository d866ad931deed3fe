"""Stop requests (SIGTERM from ``timeout`` or a batch scheduler, Ctrl-C) that native code cannot swallow.

A Python signal handler runs between bytecodes of the main thread; when the signal lands while JAX/XLA native
code is running, the KeyboardInterrupt it raises can be lost. Observed on 2026-11-27: a Keras ``fit`` on the
JAX backend ignored SIGTERM and SIGINT for minutes. So the handler also records the request, and the training
loops call :func:`check` at every batch or update, which raises KeyboardInterrupt from plain Python code.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_pending: list[int] = []


def request(signum: int) -> None:
    _pending.append(signum)


def requested() -> bool:
    return bool(_pending)


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested and not yet acted on (then forget the request)."""
    if _pending:
        signum = _pending[-1]
        _pending.clear()
        raise KeyboardInterrupt(f"signal {signum}")


def clear() -> None:
    _pending.clear()


@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGTERM, signal.SIGINT)):
    """Within the block, SIGTERM and SIGINT raise KeyboardInterrupt now and also leave a request for
    :func:`check`; protocols catch KeyboardInterrupt to checkpoint and return ``status="interrupted"``."""
    if threading.current_thread() is not threading.main_thread():  # signal.signal only works there
        yield
        return

    def handler(signum, frame):
        request(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    with _handling(signals, handler):
        clear()
        try:
            yield
        finally:
            clear()


@contextlib.contextmanager
def _handling(signals, handler):
    """``handler`` for ``signals`` within the block; the previous handlers back after it."""
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deferred(signals=(signal.SIGTERM, signal.SIGINT)):
    """Within the block, SIGTERM and SIGINT only record a stop request; the loop's own :func:`check` (at a batch
    or update end) raises it, where the training state is whole. A second signal while one is pending raises at
    once (a stop that will not wait). Leaving the block raises a request no check saw.

    Why: Keras's JAX ``fit`` holds the weights outside the variables while a step runs (it empties them at the
    first step of each ``fit`` and of each validation pass and refills them at the end); a KeyboardInterrupt
    raised by :func:`stop_on_signals`' handler inside that window (the first step's compile is the longest part
    of a first epoch) leaves variables without values, and no checkpoint can be written from them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if requested():
            raise KeyboardInterrupt(f"signal {signum} (second)")
        request(signum)

    with _handling(signals, handler):
        yield
    check()
