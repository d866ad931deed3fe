"""Final weights beside a run record, so its test metrics can be checked without retraining.

A completed run whose protocol hands back its trained weights (``result.final_weights``: the online protocol's
trial-parallel model, the minibatch protocol's evaluated model) gets ``<record stem>.weights.npz`` next to the
record, and the record's ``final_weights`` names the file with its sha256 and size. ``lstm-hist evaluate RECORD``
(:mod:`lstm_hist.evaluate`) loads them back.

The limit is :data:`LIMIT_BYTES` (2 MiB of raw arrays). Measured on the committed records: the 1997 nets hold
93–10,504 weights per trial, at most 756 kB for a whole run (2a: 10,504 × 18 trials × 4 bytes); Chung's units
24 k weights for the music rows (97 kB) and up to 337 k for speech (1.35 MB). The NPLM rows do not fit (1.9–5.0 M
weights, 7–20 MB per run): they keep no file, their record says so (``final_weights: {kept: false, bytes,
reason}``), and they are checked by rerunning them; the n-gram rows have no weights at all (their counts are
refitted from the corpus by ``evaluate``). The cap keeps results/ small enough to clone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from lstm_hist.contract import RunResult
from lstm_hist.errors import UserError
from lstm_hist.records import atomic_write

LIMIT_BYTES = 2 << 20
SUFFIX = ".weights.npz"


def weights_path(record_path: str | Path) -> Path:
    record_path = Path(record_path)
    return record_path.with_name(record_path.stem + SUFFIX)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keep_final_weights(record_path: str | Path, result: RunResult, limit: int = LIMIT_BYTES) -> dict | None:
    """Write ``result.final_weights`` beside the record when the run completed and they fit ``limit``.

    Returns what the record's ``final_weights`` says: ``{"kept": True, "file", "sha256", "bytes", "arrays"}``,
    ``{"kept": False, "bytes", "reason"}`` when over the limit, or None when the protocol gave no weights.
    """
    arrays = result.final_weights
    if arrays is None or result.status != "completed":
        return None
    arrays = [np.asarray(a) for a in arrays]
    size = int(sum(a.nbytes for a in arrays))
    if size > limit:
        return {"kept": False, "bytes": size,
                "reason": f"{size / 1e6:.1f} MB of weights exceed the {limit / 2**20:g} MiB kept beside a record"}
    path = weights_path(record_path)
    atomic_write(path, lambda handle: np.savez(handle, *arrays))
    return {"kept": True, "file": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size,
            "arrays": len(arrays)}


def load_final_weights(record_path: str | Path, record: dict) -> list[np.ndarray]:
    """The weights a record kept, checked against its sha256; UserError saying why when there are none."""
    info = record.get("final_weights")
    if not isinstance(info, dict):
        raise UserError(f"{record_path}: the record keeps no final weights (made before weights were kept, or by a "
                        "protocol that does not hand them back); rerun the row to check it")
    if not info.get("kept"):
        raise UserError(f"{record_path}: no weights kept beside this record ({info.get('reason')}); rerun the row "
                        "to check it")
    path = Path(record_path).with_name(str(info["file"]))
    if not path.is_file():
        raise UserError(f"{record_path}: its weights file {path} is missing")
    if _sha256(path) != info.get("sha256"):
        raise UserError(f"{path}: sha256 differs from the one the record holds; the weights were changed")
    with np.load(path, allow_pickle=False) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
