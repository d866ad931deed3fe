"""Checks without retraining (issue 19): completed small-model records keep their final weights, and
`lstm-hist evaluate` recomputes the test metrics from them (n-grams: by refitting) — one record per paper."""

from __future__ import annotations

import re

import json
import types
from pathlib import Path

import numpy as np
import pytest

from lstm_hist.cli import main
from lstm_hist.weights import LIMIT_BYTES, keep_final_weights

pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
needs_brown = pytest.mark.skipif(not (SHARED / "brown" / "brown.zip").exists(), reason="shared/data/brown absent")
needs_jsb = pytest.mark.skipif(not (SHARED / "jsb_chorales").exists(),
                               reason="shared/data JSB Chorales absent")


def _run(out: Path, *args: str) -> Path:
    assert main(["run", *args, "--out", str(out), "--quiet"]) == 0
    (path,) = [p for p in out.rglob("*.json") if ".work" not in str(p.parent)]
    return path


def _evaluate(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["evaluate", str(path)])
    return code, capsys.readouterr().out


def test_1997_record_keeps_weights_and_evaluate_reproduces_its_test_metrics(tmp_path, capsys):
    path = _run(tmp_path, "hochreiter1997/temporal_order_6a", "--smoke")
    record = json.loads(path.read_text())
    kept = record["final_weights"]
    weights = path.with_name(path.stem + ".weights.npz")
    assert kept["kept"] and kept["file"] == weights.name and weights.is_file() and kept["bytes"] < LIMIT_BYTES
    code, out = _evaluate(path, capsys)
    assert code == 0 and "DIFFERS" not in out
    n = 3 * len(record["trials"])  # test_wrong, test_mse, test_mean_abs_error of each trial
    assert f"{n} of {n} numbers bit-identical" in out

    # A recorded number that the weights do not give is caught (exit 1) ...
    record["trials"][0]["test_mse"] *= 1.001
    path.write_text(json.dumps(record))
    code, out = _evaluate(path, capsys)
    assert code == 1 and "DIFFERS" in out and "does NOT match" in out
    # ... and so are weights changed after the run (their sha256 is in the record): a user error, exit 2.
    with np.load(weights) as data:
        arrays = [data[k] + 1.0 for k in data.files]
    np.savez(weights, *arrays)
    assert main(["evaluate", str(path)]) == 2
    assert "sha256" in capsys.readouterr().err


@needs_jsb
def test_chung_record_keeps_weights_and_evaluate_reproduces_its_nll(tmp_path, capsys):
    path = _run(tmp_path, "chung2014/jsb_gru", "--smoke", "--set", "protocol.lr_candidates=1",
                "--set", "protocol.epochs=1")
    assert json.loads(path.read_text())["final_weights"]["kept"]
    code, out = _evaluate(path, capsys)
    assert code == 0 and "test_nll" in out and "valid_nll" in out and "DIFFERS" not in out


@needs_brown
def test_bengio_ngram_record_is_checked_by_refitting(tmp_path, capsys):
    path = _run(tmp_path, "bengio2003/kn3", "--smoke")
    assert "final_weights" not in json.loads(path.read_text())  # an n-gram has counts, not weights
    code, out = _evaluate(path, capsys)
    assert code == 0 and "test_perplexity" in out and "DIFFERS" not in out


@pytest.mark.slow
@needs_brown
def test_committed_kn3_record_is_reproduced_exactly(capsys):
    (path,) = sorted((ROOT / "results" / "bengio2003").glob("kn3-*.json"))[-1:]
    code, out = _evaluate(path, capsys)
    counts = re.search(r"matches — (\d+) of (\d+) numbers bit-identical, (\d+) within rtol", out)
    assert code == 0 and counts and len(set(counts.groups())) == 1 and int(counts[1]) >= 10, out


def test_weights_over_the_limit_are_not_kept_and_the_record_says_why(tmp_path):
    big = types.SimpleNamespace(status="completed", final_weights=[np.zeros(LIMIT_BYTES // 4 + 1, np.float32)])
    kept = keep_final_weights(tmp_path / "mlp1-x.json", big)
    assert kept["kept"] is False and "MiB" in kept["reason"] and kept["bytes"] > LIMIT_BYTES
    assert not list(tmp_path.iterdir())
    interrupted = types.SimpleNamespace(status="interrupted", final_weights=[np.zeros(3)])
    assert keep_final_weights(tmp_path / "r.json", interrupted) is None


def test_record_without_weights_is_a_user_error(tmp_path, capsys):
    record = json.loads(next((ROOT / "results" / "chung2014").glob("jsb_gru-*.json")).read_text())
    record.pop("final_weights", None)
    path = tmp_path / "jsb_gru-old.json"
    path.write_text(json.dumps(record))
    assert main(["evaluate", str(path)]) == 2
    assert "keeps no final weights" in capsys.readouterr().err


def test_committed_1997_record_is_reproduced_exactly_from_its_weights(capsys):
    paths = sorted(p for p in (ROOT / "results" / "hochreiter1997").glob("two_sequence_3a_t100_n1-*.json")
                   if p.with_name(p.stem + ".weights.npz").exists())
    assert paths, "a committed 1997 record with its weights"
    code, out = _evaluate(paths[-1], capsys)
    # Bit-identical on the machine that made it (the report says so); another CPU may round the last float32 bit.
    assert code == 0 and "of 34 numbers bit-identical, 34 within rtol" in out


@needs_jsb
def test_committed_chung_record_is_reproduced_exactly_from_its_weights(capsys):
    paths = sorted(p for p in (ROOT / "results" / "chung2014").glob("jsb_tanh-*.json")
                   if p.with_name(p.stem + ".weights.npz").exists())
    assert paths, "a committed Chung record with its weights"
    code, out = _evaluate(paths[-1], capsys)
    assert code == 0 and "of 6 numbers bit-identical, 6 within rtol" in out
