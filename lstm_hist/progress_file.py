"""The latest progress of a run, as a small JSON file another process can read (a campaign's live view).

``run`` writes it only when ``LSTM_HIST_PROGRESS_FILE`` names a file: the protocol's progress dict with the
run's start, the time of the update and the counters of the first report (for a rate without the compile time,
as lstm_hist.progress measures it), written atomically at most every ``interval`` seconds.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

from lstm_hist.records import atomic_write, to_jsonable

ENV = "LSTM_HIST_PROGRESS_FILE"
COUNTERS = {"sequences": "max_sequences", "epoch": "epochs"}  # counter → its cap, for an ETA


def eta_seconds(data: dict) -> float | None:
    """Seconds to the cap at the rate measured since the first report (so without the compile time), or None
    until that span is ``progress.ETA_MIN_SECONDS`` long and the counter has moved."""
    from lstm_hist.progress import ETA_MIN_SECONDS

    info, first = data.get("info") or {}, data.get("first") or {}
    for counter, cap_key in COUNTERS.items():
        done, cap, start = info.get(counter), info.get(cap_key), first.get(counter)
        if not all(isinstance(v, (int, float)) for v in (done, cap, start)) or not cap or done <= start:
            continue
        span = float(data.get("time", 0)) - float(first.get("time", 0))
        if span >= ETA_MIN_SECONDS:
            return max(0.0, (cap - done) * span / (done - start))
    return None


def tee(callback: Callable[[dict], None], *, interval: float = 2.0) -> Callable[[dict], None]:
    """``callback`` itself, or, with ``$LSTM_HIST_PROGRESS_FILE`` set, a callable that also writes that file."""
    path = os.environ.get(ENV)
    if not path:
        return callback
    started = time.time()
    last = [float("-inf")]
    first: dict[str, Any] = {}  # time and counters of the first report: the compile is over by then

    def both(info: dict[str, Any]) -> None:
        callback(info)
        now = time.monotonic()
        if not first:
            first.update(time=time.time(), **{k: info[k] for k in COUNTERS if isinstance(info.get(k), (int, float))})
        if now - last[0] < interval:
            return
        last[0] = now
        try:
            text = json.dumps({"started": started, "time": time.time(), "first": first,
                               "info": to_jsonable(info)}).encode()
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
