"""tools/chung_noisy_summary.py: mean and sd over seeds of noisy-weight scores, the paper's numbers from the record."""

from __future__ import annotations

import json
import statistics


def _scored(row: str, weights: str, clean: tuple, noisy: tuple) -> dict:
    splits = ("train", "valid", "test")
    return {"row": row, "weights": weights, "overrides": [],
            "splits": {s: {"nll": v} for s, v in zip(splits, clean)},
            "noisy": {s: {"nll": v} for s, v in zip(splits, noisy)}}


def test_summary_against_hand_computed_values(load_tool, tmp_path):
    tool = load_tool("chung_noisy_summary")
    records, scores = tmp_path / "records", tmp_path / "scores"
    records.mkdir(), scores.mkdir()
    (records / "jsb_gru-seed0-a.json").write_text(json.dumps({"reported": {"train_nll": 6.0, "test_nll": 8.0}}))
    for seed, clean, noisy in ((0, (7.0, 8.0, 8.2), (7.1, 8.1, 8.4)), (1, (7.2, 8.2, 8.4), (7.3, 8.3, 8.8))):
        weights = f"records/jsb_gru-seed{seed}-a.weights.npz"
        (scores / f"jsb_gru-seed{seed}-a.json").write_text(json.dumps(_scored("chung2014/jsb_gru", weights, clean, noisy)))
    (scores / "jsb_gru-seed9-a.json").write_text(json.dumps({"row": "chung2014/jsb_gru", "splits": {}}))  # clean only: skipped
    (scores / "summary.json").write_text("{}")  # not a scored record

    row = tool.summarise(scores, tmp_path)["jsb_gru"]
    assert row["n"] == 2 and row["records"] == ["jsb_gru-seed0-a.json", "jsb_gru-seed1-a.json"]
    assert abs(row["test_clean_mean"] - 8.3) < 1e-12 and abs(row["test_noisy_mean"] - 8.6) < 1e-12
    assert abs(row["test_noisy_sd"] - statistics.stdev([8.4, 8.8])) < 1e-12
    assert (row["paper_train"], row["paper_test"]) == (6.0, 8.0)
    assert abs(row["test_noisy_over_paper"] - 8.6 / 8.0) < 1e-12
