"""The latest progress of a run, as a small JSON file another process can read (a campaign's live view).

``run`` writes it only when ``LSTM_HIST_PROGRESS_FILE`` names a file: the protocol's progress dict with the
run's start and the time of the update, written atomically at most every ``interval`` seconds.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

from lstm_hist.records import atomic_write, to_jsonable

ENV = "LSTM_HIST_PROGRESS_FILE"


def tee(callback: Callable[[dict], None], *, interval: float = 2.0) -> Callable[[dict], None]:
    """``callback`` itself, or, with ``$LSTM_HIST_PROGRESS_FILE`` set, a callable that also writes that file."""
    path = os.environ.get(ENV)
    if not path:
        return callback
    started = time.time()
    last = [float("-inf")]

    def both(info: dict[str, Any]) -> None:
        callback(info)
        now = time.monotonic()
        if now - last[0] < interval:
            return
        last[0] = now
        try:
            text = json.dumps({"started": started, "time": time.time(), "info": to_jsonable(info)}).encode()
            atomic_write(path, lambda handle: handle.write(text))
        except (OSError, TypeError, ValueError):  # a display aid must never stop a run
            pass

    return both


def read(path: str | os.PathLike) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
