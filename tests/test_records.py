"""Run records: atomic writes, JSON hygiene, provenance, loading."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

import numpy as np
import pytest

from lstm_hist import records


def test_write_record_roundtrips_numpy_and_nan(tmp_path):
    path = records.write_record(tmp_path / "a" / "r.json", {"id": "p/x", "m": np.float32(0.5), "n": np.int64(3),
                                                            "arr": np.arange(3), "bad": float("nan")})
    data = json.loads(path.read_text())
    assert data == {"id": "p/x", "m": 0.5, "n": 3, "arr": [0, 1, 2], "bad": None}


def test_failed_serialization_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "r.json"
    records.write_record(path, {"id": "p/x", "v": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        records.write_record(path, {"id": "p/x", "v": object()})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.json"]


def test_interrupted_write_removes_temp(tmp_path, monkeypatch):
    path = tmp_path / "r.json"

    def fail(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(records.os, "replace", fail)
    with pytest.raises(OSError):
        records.write_record(path, {"id": "p/x"})
    assert os.listdir(tmp_path) == []


def test_provenance_keys(monkeypatch):
    monkeypatch.setattr("sys.argv", ["lstm-hist", "run", "adding_t100"])
    start = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    prov = records.provenance(None, start, start + dt.timedelta(seconds=90), "jax")
    for key in ("commit", "dirty", "versions", "backend", "device", "cpu", "python", "platform", "hostname",
                "command", "start", "end", "wall_seconds"):
        assert key in prov
    assert prov["command"] == "lstm-hist run adding_t100"
    assert prov["start"] == "2024-01-02T03:04:05Z" and prov["end"] == "2024-01-02T03:05:35Z"
    assert prov["wall_seconds"] == 90
    assert prov["backend"] == "jax" and {"lstm_hist", "keras", "numpy", "jax", "jaxlib"} <= set(prov["versions"])
    assert prov["device"].startswith(("cpu: ", "gpu", "cuda"))
    json.dumps(prov)


def test_provenance_without_git(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(records.subprocess, "run", no_git)
    assert records.git_state() == (None, None)


def test_load_records_skips_unreadable_and_work_dirs(tmp_path):
    records.write_record(tmp_path / "p" / "x-1.json", {"id": "p/x"})
    (tmp_path / "p" / "broken.json").write_text("{not json")
    (tmp_path / "p" / "x.work").mkdir()
    (tmp_path / "p" / "x.work" / "state.json").write_text("{}")
    with pytest.warns(UserWarning, match="broken.json"):
        loaded = records.load_records(tmp_path)
    assert [p.name for p, _ in loaded] == ["x-1.json"]


def test_load_records_summarises_non_records_in_one_warning(tmp_path):
    records.write_record(tmp_path / "p" / "x-1.json", {"id": "p/x"})
    for i in range(5):
        (tmp_path / "p" / f"profile{i}.json").write_text("{\"trials\": []}")
    with pytest.warns(UserWarning) as caught:
        loaded = records.load_records(tmp_path)
    assert [p.name for p, _ in loaded] == ["x-1.json"]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "5 JSON file(s)" in message and "profile0.json" in message and "and 2 more" in message


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_state_ignores_changes_under_results(tmp_path, monkeypatch):
    # A campaign updates or deletes the committed checkpoints under results/ as it runs: that is output, not code,
    # and must not mark the records it writes as made from uncommitted code.
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "ckpt.tgz").write_bytes(b"v1")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(records, "repo_root", lambda: tmp_path)
    (tmp_path / "results" / "ckpt.tgz").unlink()
    commit, dirty = records.git_state()
    assert len(commit) == 40 and dirty is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert records.git_state() == (commit, True)
