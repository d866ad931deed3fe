"""A record made with an earlier version of its row's config is labelled and counted apart, not judged."""

from __future__ import annotations

from pathlib import Path

from lstm_hist.config_drift import drift, drift_text
from lstm_hist.scorecard import EARLIER, REPRODUCES, judge_row

CURRENT = {"experiment": "adding", "task": {"T": 100}, "model": {"blocks": 2},
           "protocol": {"learning_rate": 0.5, "epochs": 500}, "title": "today's title", "reported": {"x": 1}}


def record(config: dict, overrides=()) -> dict:
    return {"id": "hochreiter1997/adding_t100", "paper": "hochreiter1997", "status": "completed", "config": config,
            "overrides": list(overrides), "metrics": {"success_rate": 1.0, "sequences_mean": 70000.0},
            "reported": {"success_rate": 1.0, "sequences_mean": 74000}}


def test_only_the_keys_that_decide_the_numbers_count():
    same = {**CURRENT, "title": "an older title", "reported": {"x": 2}, "tolerance": {"x": 0.1}}
    assert drift(record(same), CURRENT) == []
    older = {**CURRENT, "protocol": {"learning_rate": 0.5, "epochs": 25}, "model": {}}
    assert drift(record(older), CURRENT) == ["model.blocks unset→2", "protocol.epochs 25→500"]
    assert drift_text(["a", "b", "c", "d"]) == "earlier config: a; b; c; +1 more"


def test_keys_set_by_the_run_itself_are_its_own_labelled_choice():
    run = {**CURRENT, "protocol": {"learning_rate": 0.5, "epochs": 25}}
    assert drift(record(run, ["protocol.epochs=25"]), CURRENT) == []


def test_scorecard_counts_an_earlier_config_apart_instead_of_judging_it():
    entry = {"id": "hochreiter1997/adding_t100", "paper": "hochreiter1997", "experiment": "adding",
             "reported": {"success_rate": 1.0, "sequences_mean": 74000}}
    picked = (Path("r.json"), record(CURRENT))
    assert judge_row(entry, picked)["status"] == REPRODUCES
    judged = judge_row(entry, picked, ["protocol.epochs 25→500"])
    assert judged["status"] == EARLIER and judged["verdicts"] == []


def test_report_labels_the_row_and_the_scorecard_counts_it(configs, tmp_path):
    from test_report import record as fake_record

    from lstm_hist import records
    from lstm_hist.report import write_report

    old = fake_record()
    old["config"]["protocol"]["learning_rate"] = 0.1  # the row's config has since moved to 0.5
    records.write_record(tmp_path / "results" / "fakepaper" / "adding_t10-1.json", old)
    text = write_report(tmp_path / "results", tmp_path / "docs" / "results.md", plots=False).read_text()
    assert "*(earlier config: protocol.learning_rate 0.1→0.5)*" in text
    assert "| fakepaper | Table 1 | 2 | 0 | 0 | 1 | 1 | 0 |" in text
