"""A 1997 row run under a documented reading (not the text) is labelled so in the report; the text's is not."""

from __future__ import annotations

import json

from lstm_hist import records


def test_a_record_under_the_end_marker_reading_is_labelled_and_the_literal_one_is_not():
    from reproductions.hochreiter1997 import record_label

    reading = {"id": "hochreiter1997/long_lag_2b", "config": {"task": {"p": 100, "random_middle": True,
                                                                        "end_marker": True}}}
    literal = {"id": "hochreiter1997/long_lag_2b", "config": {"task": {"p": 100, "random_middle": True,
                                                                        "end_marker": False}}}
    assert "E2.12" in record_label(reading) and "end-marker reading" in record_label(reading)
    assert record_label(literal) is None and record_label({"id": "hochreiter1997/adding_t100"}) is None


def test_the_report_labels_the_committed_2b_row(tmp_path):
    from lstm_hist.report import write_report

    folder = records.repo_root() / "results" / "hochreiter1997"
    chosen = [p for p in folder.glob("long_lag_2b-seed*.json")
              if json.loads(p.read_text())["config"]["task"].get("end_marker")]
    assert chosen, "the 2b row's committed record is under the end-marker reading (E2.12)"
    runs = tmp_path / "results" / "hochreiter1997"
    runs.mkdir(parents=True)
    (runs / chosen[0].name).write_text(chosen[0].read_text())
    text = write_report(tmp_path / "results", tmp_path / "docs" / "results.md", plots=False).read_text()
    (line,) = [x for x in text.splitlines() if x.startswith("| LSTM p=100 ") and "long_lag_2b" in x]
    assert "end-marker reading" in line and "E2.12" in line
