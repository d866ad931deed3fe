"""What a newcomer sees (issue 11, first-run polish): a verdict per headline metric with a pointer to the row's
deviations, no TensorFlow start-up noise, a list that fits 100 columns, an honest ETA, FSDD's size, no empty
spread column, and where ``report`` puts its images."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write
from lstm_hist import cli

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- verdicts


def test_verdict_within_outside_and_ratio():
    from lstm_hist.verdict import verdict

    far = verdict("sequences_mean", 477_275, 74_000, 0.25)
    assert far.within is False and far.ratio == pytest.approx(477_275 / 74_000)
    assert far.text == ("sequences_mean: outside ±25% of the paper — ours 477,275, paper 74,000 "
                        "(ours/paper 6.45)")
    near = verdict("test_nll", 3.3, 3.59, 0.1)
    assert near.within is True and near.ratio == pytest.approx(3.3 / 3.59) and "within ±10%" in near.text
    assert verdict("test_wrong", 0, 0, 0.25).within is True  # the paper's 0 matched: no ratio, still a verdict
    assert verdict("test_wrong", 3, 0, 0.25).within is False
    for missing in (verdict("x", None, 5, 0.25), verdict("x", float("nan"), 5, 0.25), verdict("x", 5, "≈170", 0.25)):
        assert missing.within is None and missing.ratio is None and "no verdict" in missing.text


def test_verdicts_follow_the_reported_block_and_withhold_on_other_data():
    from lstm_hist.verdict import verdicts

    out = verdicts({"train_nll": 2.0, "test_nll": 4.0}, {"train_nll": 2.31, "test_nll": 3.59}, 0.25)
    assert [(v.metric, v.within) for v in out] == [("train_nll", True), ("test_nll", True)]
    other = verdicts({"test_nll": 4.0}, {"reference_only": "Ubisoft A, not FSDD", "test_nll": 3.59}, 0.25)
    assert [(v.metric, v.within) for v in other] == [("test_nll", None)]
    assert "other data" in other[0].text and "ours/paper 1.11" in other[0].text


def test_a_mean_over_solved_trials_of_a_run_that_solved_none_says_so():
    from lstm_hist.verdict import verdicts

    reported = {"success_rate": 1.0, "sequences_mean": 2000, "weights": 28}
    none_solved = {"success_rate": 0.0, "sequences_mean": None, "solved_trials": 0, "trials": 20}
    out = {v.metric: v for v in verdicts(none_solved, reported, 0.25)}
    assert out["sequences_mean"].within is None
    assert out["sequences_mean"].text == ("sequences_mean: no verdict, none: 0 of 20 trials met the criterion "
                                          "(paper 2,000)")
    assert out["success_rate"].within is False  # the rate is judged as before
    # a metric the run never had is still "no value", even when nothing was solved
    assert out["weights"].text == "weights: no verdict, this run has no value for it (paper 28)"
    solved = verdicts({**none_solved, "solved_trials": 3}, reported, 0.25)
    assert "this run has no value for it" in solved[1].text  # None for another reason: not blamed on the criterion


def test_finished_run_prints_a_verdict_per_metric_and_the_deviations_pointer(configs, tmp_path, capsys):
    # the run judges by the scorecard's rule: the paper's tolerances in configs/<paper>/_paper.yaml
    (configs / "fakepaper" / "_paper.yaml").write_text(
        "tolerance: {success_rate: 0.25, sequences_mean: 0.25, weights: 0.25}\n", encoding="utf-8")
    assert cli.main(["run", "adding_t10", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("verdict: ")]
    assert lines == [
        "verdict: success_rate: within ±25% of the paper — ours 1, paper 1 (ours/paper 1)",
        "verdict: sequences_mean: within ±25% of the paper — ours 1,500, paper 2,000 (ours/paper 0.75)",
        "verdict: weights: no verdict, this run has no value for it (paper 28)",
    ]
    assert "deviations: no entry for fakepaper in docs/deviations.md; see the paper's §1" in out
    assert cli.main(["run", "adding_t10", "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    assert "verdict:" not in capsys.readouterr().out  # a smoke run is not compared with the paper


def test_deviations_pointer_finds_the_rows_heading(tmp_path):
    from lstm_hist.deviations import find_entry, pointer, slug

    doc = tmp_path / "deviations.md"
    doc.write_text("# Deviations\n\n## hochreiter1997 — shared\n\n## hochreiter1997 — Exp 4, the adding problem "
                   "(§5.4, Table 7)\n\ntext\n\n## Bengio et al. (2003): open choices\n\n### Data (§4)\n\n"
                   "### Baselines (§4.1)\n")
    text = doc.read_text()
    assert find_entry("hochreiter1997", "§5.4", text) == (
        "hochreiter1997 — Exp 4, the adding problem (§5.4, Table 7)",
        "hochreiter1997--exp-4-the-adding-problem-54-table-7", True)
    assert find_entry("bengio2003", "§4.1", text)[1] == "baselines-41"  # the exact section before the enclosing
    assert find_entry("bengio2003", "§4.3", text)[1] == "data-4"  # the enclosing §4
    assert find_entry("hochreiter1997", "§5.6", text) == ("hochreiter1997 — shared", "hochreiter1997--shared", False)
    assert find_entry("chung2014", "§4", text) is None
    assert "see the paper's §5.6" in pointer("hochreiter1997", "§5.6", doc)
    assert slug("Exp 3, two-sequence problem (§5.3, Tables 4–6)") == "exp-3-two-sequence-problem-53-tables-46"


def test_every_config_of_the_repository_points_somewhere_in_deviations_md():
    from lstm_hist.deviations import deviations_path, find_entry
    from lstm_hist.registry import configs_root

    text = deviations_path().read_text(encoding="utf-8")
    for path in sorted(configs_root().glob("*/*.yaml")):
        section = next((line.split(":", 1)[1].strip().strip('"') for line in path.read_text().splitlines()
                        if line.startswith("section:")), None)
        assert find_entry(path.parent.name, section, text) is not None, path


# ------------------------------------------------------------------------------------------ quiet imports


def test_no_tensorflow_start_up_lines_after_the_cli_started():
    code = ("import sys; from lstm_hist import cli; rc = cli.main(['list', '--json']); import tensorflow; "
            "print('imported', file=sys.stderr); sys.exit(rc)")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "LSTM_HIST_NATIVE_LOGS")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["imported"]


# -------------------------------------------------------------------------------------------- list width


def test_list_fits_100_columns_unless_wide(configs, capsys):
    long = "a very long table caption that goes on " * 4
    write(configs / "fakepaper" / "adding_t30.yaml",
          (configs / "fakepaper" / "adding_t10.yaml").read_text().replace("table: Table 1", f"table: {long}"))
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any("fakepaper/adding_t30" in line and "…" in line for line in lines)  # ids are never cut
    assert cli.main(["list", "--wide"]) == 0
    assert any(long.strip() in line for line in capsys.readouterr().out.splitlines())


# ------------------------------------------------------------------------------------------------ the ETA


def test_eta_waits_for_a_measured_rate_after_warm_up():
    from lstm_hist.progress import ETA_MIN_SECONDS, ProgressLine

    now = [0.0]
    stream = io.StringIO()
    line = ProgressLine(stream, interval=0, clock=lambda: now[0])
    # The first report comes after a 60 s compile: the protocol's own rate (10 seq/s) would say 1h39m.
    line({"sequences": 600, "max_sequences": 60_000, "rate": 10.0})
    now[0] += ETA_MIN_SECONDS / 2
    line({"sequences": 600 + int(ETA_MIN_SECONDS / 2 * 200), "max_sequences": 60_000, "rate": 10.0})
    assert "ETA" not in stream.getvalue() and "upd/s" not in stream.getvalue()
    now[0] += 10 - ETA_MIN_SECONDS / 2
    line({"sequences": 2600, "max_sequences": 60_000, "rate": 10.0})  # 2,000 in 10 s: 200/s, 287 s to go
    assert stream.getvalue().splitlines()[-1] == "seq 2,600/60,000 · 200 upd/s · ETA to cap 4m47s"


# ------------------------------------------------------------------------------------------ data list size


def test_data_list_shows_the_size_of_fsdd(capsys):
    assert cli.main(["data", "list"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("fsdd ")]
    assert "21.13 MB" in line and "0.00 MB" not in line


# ------------------------------------------------------------------------------- spread column, report img


def test_run_summary_has_no_spread_column_without_trials(tmp_path):
    from lstm_hist.run_summary import print_summary

    record = {"id": "fakepaper/adding_t10", "title": "t", "status": "interrupted", "metrics": {"ppl": 3.0},
              "reported": {"ppl": 2.0}, "trials": [], "provenance": {}}
    stream = io.StringIO()
    print_summary(record, tmp_path / "r.json", stream)
    assert "per-trial spread" not in stream.getvalue() and "ppl" in stream.getvalue()
    record["trials"] = [{"ppl": 2.0}, {"ppl": 4.0}]
    stream = io.StringIO()
    print_summary(record, tmp_path / "r.json", stream)
    assert "per-trial spread" in stream.getvalue()


def test_report_says_where_its_images_go(configs, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["run", "adding_t10", "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["report", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "site" / "r.md")]) == 0
    out = capsys.readouterr().out
    assert f"plots in {tmp_path / 'site' / 'img'}/" in out
    assert any((tmp_path / "site" / "img").glob("*.png"))
    assert json.loads(json.dumps(out))  # printable
