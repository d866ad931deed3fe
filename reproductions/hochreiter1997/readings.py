"""Rows that run a documented reading of the paper's text rather than the text itself, and the label that says so
in ``lstm-hist report`` (the ``record_label`` hook), so a reader never takes such a row's number for the text's.

Each reading is a config key and value with the deviations entry that argues for it; the record's own config decides,
so a record made under the literal text keeps its plain label.
"""

from __future__ import annotations

# (block, key, value) -> the label; the entries of docs/deviations.md they cite hold the measurement
READINGS = {
    ("task", "end_marker", True): "*(end-marker reading: the random middle ends with a_{p−1}; deviations E2.12)*",
}


def record_label(record: dict, config: dict | None = None) -> str | None:
    """For ``lstm-hist report``: the label suffix of a record made under a reading (None for the text's)."""
    cfg = record.get("config") or {}
    labels = [text for (block, key, value), text in READINGS.items() if (cfg.get(block) or {}).get(key) is value]
    return " ".join(labels) or None
