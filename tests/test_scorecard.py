"""Verdicts, tolerances in the configs, the scorecard on the results page, and `cite` for a result (issue 19)."""

from __future__ import annotations

from pathlib import Path


import pytest

from conftest import write
from lstm_hist import cli, records
from lstm_hist.config import load_config
from lstm_hist.errors import ConfigError
from lstm_hist.report import write_report
from lstm_hist.tolerance import row_rules
from lstm_hist.verdict import verdict

from test_report import record


# ----------------------------------------------------------------------------------------------- verdict


def test_relative_tolerance_is_symmetric_and_inclusive():
    assert verdict("test_nll", 8.54 * 1.03, 8.54, 0.03).within
    assert not verdict("test_nll", 8.54 * 1.031, 8.54, 0.03).within
    assert not verdict("test_nll", 8.54 * 0.969, 8.54, 0.03).within
    v = verdict("test_nll", 8.62, 8.54, 0.03)
    assert v.ratio == pytest.approx(8.62 / 8.54) and "within ±3% of the paper" in v.text


def test_ratio_bounds_open_side_and_paper_zero():
    assert verdict("success_rate", 1.0, 0.97, [1.0, None]).within
    assert not verdict("success_rate", 0.9, 1.0, [1.0, None]).within
    assert verdict("sequences_mean", 140_000, 74_000, [0.5, 2.0]).within
    assert not verdict("sequences_mean", 477_275, 74_000, [0.5, 2.0]).within
    zero = verdict("test_wrong", 0, 0, [0.5, 2.0])
    assert zero.within and zero.ratio is None
    assert not verdict("test_wrong", 1, 0, [0.5, 2.0]).within


def test_unmeasured_number_is_not_within():
    v = verdict("sequences_mean", None, 74_000, [0.5, 2.0])
    assert v.within is None and "no verdict" in v.text


@pytest.mark.parametrize("bad", [1.5, -0.1, True, [2.0, 1.0], [None, None], "5%", [1, 2, 3]])
def test_malformed_tolerances_are_rejected(bad):
    with pytest.raises(ValueError):
        verdict("m", 1.0, 1.0, bad)


# ------------------------------------------------------------------------------------------- tolerances


PAPER = """\
tolerance: {sequences_mean: [0.5, 2.0], success_rate: [1.0, null]}
deviation: "Fake deviations"
experiments:
  adding: {tolerance: {sequences_mean: 0.1}, deviation: "Fake adding"}
"""


def test_row_rules_merge_paper_experiment_and_row(configs):
    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    rules = row_rules("fakepaper", "adding", {"success_rate": None})
    assert rules == {"tolerance": {"sequences_mean": 0.1}, "deviation": "Fake adding"}
    assert row_rules("fakepaper", "other", None)["tolerance"] == {"sequences_mean": [0.5, 2.0],
                                                                    "success_rate": [1.0, None]}


def test_paper_file_is_not_a_row(configs):
    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    assert cli.main(["list", "--json"]) == 0  # and it does not appear as an experiment id
    from lstm_hist.registry import all_ids

    assert all_ids() == ["fakepaper/adding_t10", "fakepaper/adding_t20"]


@pytest.mark.parametrize("text, where", [
    ("tolerances: {a: 0.1}\n", "unknown key 'tolerances'"),
    ("experiments: {adding: {tolerence: {a: 0.1}}}\n", "unknown key 'tolerence'"),
    ("tolerance: {test_nll: 3}\n", "tolerance.test_nll"),
])
def test_paper_file_rejects_unknown_keys_and_bad_values(configs, text, where):
    write(configs / "fakepaper" / "_paper.yaml", text)
    with pytest.raises(ConfigError, match=where):
        row_rules("fakepaper", "adding", None)


def test_row_tolerance_is_validated_with_the_config(configs):
    path = configs / "fakepaper" / "adding_t10.yaml"
    path.write_text(path.read_text() + "tolerance: {sequences_mean: [3, 1]}\n")
    with pytest.raises(ConfigError, match="tolerance.sequences_mean"):
        load_config(path)
    path.write_text(path.read_text().replace("[3, 1]", "0.2"))
    assert load_config(path)["tolerance"] == {"sequences_mean": 0.2}


def test_real_configs_have_valid_paper_files():
    for paper in ("hochreiter1997", "bengio2003", "chung2014"):
        rules = row_rules(paper, None, None)
        assert rules["tolerance"], paper
    assert row_rules("bengio2003", "nplm", None)["tolerance"]["test_perplexity"] == 0.10
    assert row_rules("bengio2003", "kneser_ney", None)["tolerance"]["test_perplexity"] == 0.05
    jsb = load_config(Path(__file__).parent.parent / "configs/chung2014/jsb_gru.yaml")
    assert row_rules("chung2014", "music", jsb["tolerance"])["tolerance"]["test_nll"] == 0.03


# -------------------------------------------------------------------------------------------- scorecard


def _scorecard(text: str) -> list[str]:
    start = text.index("## Scorecard")
    return text[start:text.index("## fakepaper")].splitlines()


def test_scorecard_counts_rows_and_links_table_line_and_deviation(configs, tmp_path):
    write(configs / "fakepaper" / "_paper.yaml", PAPER.replace("sequences_mean: 0.1", "sequences_mean: [0.5, 2.0]"))
    docs = tmp_path / "docs"
    write(docs / "deviations.md", "# Deviations\n\n## Fake adding\n\ntext\n")
    runs = tmp_path / "results"
    # success rate 0.9 < the paper's 1.0: does not reproduce, although the sequences are within a factor 2.
    records.write_record(runs / "fakepaper" / "adding_t10-2.json", record())
    text = write_report(runs, docs / "results.md", plots=False).read_text()
    card = _scorecard(text)
    assert "| fakepaper | Table 1 | 2 | 0 | 1 (0.9×) | 1 | 0 | 0 | 0 |" in card
    row = next(line for line in card if "adding_t10-2" in line)
    assert "does not" in row and "success_rate 0.9 / 1 = 0.9× (≥ 1×) ✗" in row
    assert "[T=10](#rec-adding_t10-2)" in row and "(deviations.md#fake-adding)" in row
    assert '<a id="rec-adding_t10-2"></a>' in text.split("## fakepaper", 1)[1]  # the target of the link
    assert "`adding_t20`" in next(line for line in card if line.startswith("Not run"))

    records.write_record(runs / "fakepaper" / "adding_t10-3.json",
                         record(metrics={"success_rate": 1.0, "sequences_mean": 1500.0},
                                provenance={"end": "2024-06-01T00:00:00Z"}))
    card = _scorecard(write_report(runs, docs / "results.md", plots=False).read_text())
    assert "| fakepaper | Table 1 | 2 | 1 | 0 | 1 | 0 | 0 | 0 |" in card


def test_scorecard_does_not_judge_reference_only_rows(configs, tmp_path):
    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    runs = tmp_path / "results"
    reported = {"success_rate": 1.0, "sequences_mean": 2000, "reference_only": "another data set"}
    path = configs / "fakepaper" / "adding_t10.yaml"
    path.write_text(path.read_text().replace("reported: {", "reported: {reference_only: another data set, "))
    records.write_record(runs / "fakepaper" / "adding_t10-2.json", record(reported=reported))
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    assert "| fakepaper | Table 1 | 2 | 0 | 0 | 1 | 0 | 1 | 0 |" in card


def test_a_variant_row_is_judged_and_shown_but_not_counted(configs, tmp_path):
    """A modern baseline (the config's `variant`) answers the paper's row with another method: the scorecard shows
    its verdict, labelled, and keeps it out of the table's counts and ratio range, so those say how much of the
    paper reproduces."""
    write(configs / "fakepaper" / "_paper.yaml", PAPER.replace("sequences_mean: 0.1", "sequences_mean: [0.5, 2.0]"))
    for name in ("adding_t20", "adding_t30"):
        path = configs / "fakepaper" / f"{name}.yaml"
        text = (configs / "fakepaper" / "adding_t10.yaml").read_text().replace("row: T=10", f"row: {name}")
        path.write_text(text.replace("experiment: adding", "experiment: adding\nvariant: a modern baseline"))
    runs = tmp_path / "results"
    records.write_record(runs / "fakepaper" / "adding_t10-2.json", record())  # success 0.9: does not reproduce
    records.write_record(runs / "fakepaper" / "adding_t20-2.json",
                         record(id="fakepaper/adding_t20", row="adding_t20",
                                metrics={"success_rate": 1.0, "sequences_mean": 100.0}))  # 0.05×: does not
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    assert "| fakepaper | Table 1 | 1 | 0 | 1 (0.9×) | 0 | 0 | 0 | 2 |" in card
    line = next(line for line in card if "adding_t20-2" in line)
    assert "variant, not counted (a modern baseline): does not" in line and "0.05×" in line
    assert next(line for line in card if line.startswith("Not run")) == "Not run to completion (0): none."
    assert "Variants (not counted) not run to completion (1): `adding_t30`." in card


def test_a_variant_must_say_what_it_is(configs):
    path = configs / "fakepaper" / "adding_t10.yaml"
    path.write_text(path.read_text().replace("experiment: adding", "experiment: adding\nvariant: 3"))
    with pytest.raises(ConfigError, match="'variant' must be a non-empty string"):
        load_config(path)


# ------------------------------------------------------------------------------------------------- cite


def test_cite_a_record_prints_both_bibtex_entries_and_a_checkable_sentence(configs, tmp_path, capsys):
    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    rec = record(config={"experiment": "adding", "protocol": {"trials": 3}},
                 metrics={"success_rate": 1.0, "sequences_mean": 1500.0, "solved_trials": 3, "trials": 3},
                 provenance={"python": "3.11.7", "versions": {"lstm_hist": "0.1.0", "keras": "3.15.1"},
                             "constraints": {"file": "constraints.txt", "sha256": "ab" * 32}})
    path = records.write_record(tmp_path / "results" / "fakepaper" / "adding_t10-2.json", rec)
    assert cli.main(["cite", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("@article{fake1997,") and "@software{lstm_hist," in out
    sentence = out.strip().splitlines()[-1]
    for part in ("`lstm-hist run fakepaper/adding_t10`", "Table 1", "row T=10", "sequences_mean 1,500 (paper: 2,000)",
                 "3 of 3 trials", str(path), "commit 0123456789ab", "keras 3.15.1", "constraints.txt sha256 abababababab"):
        assert part in sentence, part

    # A row id finds the same record under --runs; without a record it falls back to the paper's citation.
    assert cli.main(["cite", "adding_t10", "--runs", str(tmp_path / "results")]) == 0
    assert str(path) in capsys.readouterr().out
    assert cli.main(["cite", "adding_t20", "--runs", str(tmp_path / "results")]) == 0
    assert capsys.readouterr().out.startswith("Doe, J.")


def test_a_citation_names_the_paper_numbers_of_the_rows_config(configs, tmp_path, capsys):
    """A record run before its config named the paper's success rate is cited with it, as the scorecard judges the
    row; the record of a row whose config is gone keeps its own numbers."""
    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    old = record(reported={"sequences_mean": 2000}, metrics={"success_rate": 0.9, "sequences_mean": 1500.0})
    path = records.write_record(tmp_path / "results" / "fakepaper" / "adding_t10-old.json", old)
    assert cli.main(["cite", str(path)]) == 0
    sentence = capsys.readouterr().out.strip().splitlines()[-1]
    assert "success_rate 0.9 (paper: 1)" in sentence and "sequences_mean 1,500 (paper: 2,000)" in sentence
    gone = record(id="fakepaper/adding_t99", reported={"sequences_mean": 3000})
    path = records.write_record(tmp_path / "results" / "fakepaper" / "adding_t99-gone.json", gone)
    assert cli.main(["cite", str(path)]) == 0
    sentence = capsys.readouterr().out.strip().splitlines()[-1]
    assert "sequences_mean 1,500 (paper: 3,000)" in sentence and "success_rate" not in sentence


def test_cite_a_paper_without_configs():
    """cho2014 has a paper module but no table rows of its own: it is still a paper."""
    assert cli.main(["cite", "cho2014", "--bibtex"]) == 0


def test_cite_missing_record_file_is_a_user_error(capsys):
    assert cli.main(["cite", "no/such/record.json"]) == 2
    assert "no record file" in capsys.readouterr().err


def test_citation_cff_names_the_package_version():
    import lstm_hist
    from lstm_hist.cite import package_info

    assert package_info()["version"] == lstm_hist.__version__


def test_record_verdicts_are_the_scorecards(configs):
    from lstm_hist.tolerance import record_verdicts

    write(configs / "fakepaper" / "_paper.yaml", PAPER)
    rec = record(config={"experiment": "other", "tolerance": {"success_rate": None}})
    (v,) = record_verdicts(rec)
    assert v.metric == "sequences_mean" and v.within and v.ratio == pytest.approx(0.75)
    assert record_verdicts(record(reported={"sequences_mean": 2000, "reference_only": "other data"})) == []


@pytest.mark.parametrize("seed0, seed1, within", [
    (1500.0, 5000.0, True),   # newest (seed 1) alone is outside [0.5, 2]×2000; the mean 3250 is inside
    (800.0, 1100.0, False),   # newest alone (1100) is inside; the mean 950 is outside
])
def test_scorecard_judges_the_seed_mean_of_the_rows_config(configs, tmp_path, seed0, seed1, within):
    write(configs / "fakepaper" / "_paper.yaml", PAPER.replace("sequences_mean: 0.1", "sequences_mean: [0.5, 2.0]")
          .replace("success_rate: [1.0, null]", "success_rate: [0.5, null]"))
    runs = tmp_path / "results"
    for seed, value, end in ((0, seed0, "2024-06-01T00:00:00Z"), (1, seed1, "2024-06-02T00:00:00Z")):
        records.write_record(runs / "fakepaper" / f"adding_t10-seed{seed}-x.json",
                             record(seed=seed, metrics={"success_rate": 1.0, "sequences_mean": value},
                                    provenance={"end": end}))
    # a seed-2 record of an earlier config of the row is not part of the mean
    old = record(seed=2, metrics={"success_rate": 1.0, "sequences_mean": 1e6}, provenance={"end": "2024-05-03"})
    old["config"] = {**old["config"], "protocol": {**old["config"]["protocol"], "learning_rate": 0.1}}
    records.write_record(runs / "fakepaper" / "adding_t10-seed2-old.json", old)
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    row = next(line for line in card if "[T=10](#rec-adding_t10-seed1-x)" in line)
    mean = (seed0 + seed1) / 2
    sd = abs(seed1 - seed0) / 2 ** 0.5
    from lstm_hist.formatting import fmt

    assert f"sequences_mean {fmt(mean)} ± {fmt(sd)} (n=2) / 2,000" in row
    assert ("**reproduces**" in row) is within and ("does not" in row) is (not within)


def test_scorecard_with_one_seed_judges_that_record_as_before(configs, tmp_path):
    write(configs / "fakepaper" / "_paper.yaml", PAPER.replace("sequences_mean: 0.1", "sequences_mean: [0.5, 2.0]"))
    runs = tmp_path / "results"
    records.write_record(runs / "fakepaper" / "adding_t10-seed0-x.json", record(seed=0))
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    row = next(line for line in card if "adding_t10-seed0" in line)
    assert "sequences_mean 1,500 / 2,000 = 0.75×" in row and "n=" not in row


def test_scorecard_says_no_trial_met_the_criterion_instead_of_not_measured(configs, tmp_path):
    write(configs / "fakepaper" / "_paper.yaml", PAPER.replace("sequences_mean: 0.1", "sequences_mean: [0.5, 2.0]"))
    runs = tmp_path / "results"
    none_solved = {"success_rate": 0.0, "sequences_mean": None, "solved_trials": 0, "trials": 20}
    records.write_record(runs / "fakepaper" / "adding_t10-seed0-x.json", record(seed=0, metrics=none_solved))
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    row = next(line for line in card if "adding_t10-seed0" in line)
    assert "sequences_mean none (0 of 20 trials met the criterion) / 2,000" in row and "does not" in row
    # a mean that is simply absent (no count of solved trials) still reads "not measured"
    records.write_record(runs / "fakepaper" / "adding_t10-seed0-y.json",
                         record(seed=0, metrics={"success_rate": 0.0, "sequences_mean": None},
                                provenance={"end": "2030-01-01T00:00:00Z"}))
    card = _scorecard(write_report(runs, tmp_path / "docs" / "results.md", plots=False).read_text())
    row = next(line for line in card if "adding_t10-seed0" in line)
    assert "sequences_mean not measured / 2,000" in row
