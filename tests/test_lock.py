"""The pinned environment: constraints.txt parses, records name it by hash and list versions off their pins."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from lstm_hist import records
from lstm_hist.lock import lock_provenance, pins

ROOT = Path(__file__).resolve().parent.parent


def test_constraints_pin_the_libraries_that_change_the_numbers():
    pinned = pins((ROOT / "constraints.txt").read_text())
    for name in ("keras", "jax", "jaxlib", "numpy", "tensorflow", "scipy", "pyyaml", "pytest"):
        assert name in pinned, name
    assert "lstm-hist" not in pinned  # the package itself is installed editable, never pinned


def test_provenance_names_the_lock_by_hash_and_reports_mismatches(tmp_path):
    keras = metadata.version("keras")
    (tmp_path / "constraints.txt").write_text(f"# header\nkeras=={keras}\nnumpy==0.0.1\nnot-installed-pkg==1.0\n")
    lock = lock_provenance(tmp_path)
    assert lock["sha256"] == hashlib.sha256((tmp_path / "constraints.txt").read_bytes()).hexdigest()
    assert lock["mismatches"] == [f"numpy {metadata.version('numpy')} (pinned 0.0.1)"]
    assert lock_provenance(tmp_path / "nowhere") is None


def test_every_record_carries_the_lock():
    start = records.utc_now()
    prov = records.provenance("cmd", start, start, "jax")
    assert prov["constraints"]["file"] == "constraints.txt"
    assert prov["constraints"]["sha256"] == hashlib.sha256((ROOT / "constraints.txt").read_bytes()).hexdigest()
