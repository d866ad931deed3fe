"""The analysis tools' output: the result as indented JSON on stdout and, with ``--out``, in a file.

The file is written through the package's atomic writer (a killed tool leaves no half file). NaN stays allowed:
a diverged candidate's losses are part of what the Chung tools measure, unlike a run record's metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from lstm_hist.records import atomic_write


def emit(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=1)
    if out:
        atomic_write(out, lambda handle: handle.write((text + "\n").encode("utf-8")))
    print(text)
