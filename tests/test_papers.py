"""Papers are found from their packages, not from configs/: a paper without rows (cho2014) is listed, described and
citable; the runner and bench call the protocol contract; ``lstm-hist summary`` hands a paper its records."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lstm_hist import cli, registry
from lstm_hist.contract import TrainingProtocol
from lstm_hist.experiment import Experiment

from conftest import FAKE_EXPERIMENTS, fake_model, fake_task


def test_papers_come_from_the_packages_even_without_any_configs(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_HIST_CONFIGS", str(tmp_path / "no-configs-here"))
    assert registry.all_ids() == []
    assert {"bengio2003", "cho2014", "chung2014", "hochreiter1997"} <= set(registry.papers())
    assert registry.list_experiments("cho2014") == []  # a known paper with no rows is not an error
    with pytest.raises(Exception, match="no experiments for paper 'nopaper'"):
        registry.list_experiments("nopaper")


def test_list_shows_the_paper_without_rows(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "hochreiter1997/adding_t100" in out
    assert "cho2014: a paper without table rows (lstm-hist describe cho2014)" in out
    assert cli.main(["list", "--paper", "cho2014"]) == 0
    assert "cho2014: a paper without table rows" in capsys.readouterr().out


def test_describe_and_cite_a_paper_without_configs(capsys):
    assert cli.main(["describe", "cho2014"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cho2014 — Kyunghyun Cho") and "gated recurrent unit" in out
    assert "table rows:  none" in out
    assert cli.main(["describe", "cho2014", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paper"] == "cho2014" and data["rows"] == [] and data["experiments"] == {}
    assert cli.main(["cite", "cho2014", "--bibtex"]) == 0
    assert "@inproceedings{cho2014rnnencdec" in capsys.readouterr().out


def test_describe_a_paper_with_rows_names_its_experiments(capsys):
    assert cli.main(["describe", "hochreiter1997"]) == 0
    out = capsys.readouterr().out
    assert "adding: Adding problem (§5.4)" in out and "lstm-hist list --paper hochreiter1997" in out


def test_summary_hands_the_paper_its_records_and_configs(tmp_path, capsys):
    (tmp_path / "bengio2003").mkdir()
    record = {"id": "bengio2003/kn3", "status": "completed", "smoke": False,
              "metrics": {"train_perplexity": 22.0, "valid_perplexity": 332.0, "test_perplexity": 310.0},
              "provenance": {"end": "2026-01-01T00:00:00"},
              "config": {"task": {"vocab_counts": "stream", "separators": True}}}
    (tmp_path / "bengio2003" / "kn3-x.json").write_text(json.dumps(record))
    assert cli.main(["summary", "bengio2003", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Kneser-Ney back-off n=3 |" in out and "332.0 | 310.0 |" in out and "kn3-x.json" in out
    assert "paper: best_network=MLP10" in out


def test_summary_of_a_paper_without_the_hook_is_a_user_error(tmp_path, capsys):
    assert cli.main(["summary", "cho2014", "--runs", str(tmp_path)]) == 2
    assert "supplies no summary_lines" in capsys.readouterr().err


# --------------------------------------------------------------------------------- the runner calls the contract


@dataclasses.dataclass
class NotAProtocol:  # has run() and bench(), but is not a TrainingProtocol: the runner does not guess
    trials: int = 10
    max_sequences: int = 1000
    learning_rate: float = 0.5

    def run(self, **kwargs):
        raise AssertionError("never called")


def test_a_protocol_off_the_contract_is_refused_before_it_runs(configs, monkeypatch, tmp_path):
    monkeypatch.setitem(FAKE_EXPERIMENTS, "adding", Experiment(task=fake_task, model=fake_model,
                                                               protocol=NotAProtocol))
    with pytest.raises(TypeError, match="is not a lstm_hist.contract.TrainingProtocol"):
        cli.main(["run", "adding_t10", "--out", str(tmp_path), "--quiet"])


@dataclasses.dataclass
class NoBench(NotAProtocol, TrainingProtocol):  # on the contract, with its default bench
    pass


def test_bench_of_a_protocol_without_bench_is_one_error_line(configs, monkeypatch, capsys):
    monkeypatch.setitem(FAKE_EXPERIMENTS, "adding", Experiment(task=fake_task, model=fake_model, protocol=NoBench))
    assert cli.main(["bench", "adding_t10"]) == 2
    assert capsys.readouterr().err.strip() == "error: protocol NoBench has no bench()"
