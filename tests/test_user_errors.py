"""Mistakes a user can fix get one ``error: ...`` line and exit 2 (no traceback, no record), and the answers that
looked like success are now errors or right (issue 11). Fake paper from conftest: no Keras, seconds in all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import FAKE_EXPERIMENTS, GOOD_CONFIG, FakeProtocol, write
from lstm_hist import cli
from lstm_hist.config import apply_overrides, load_config
from lstm_hist.errors import ConfigError

READ_ONLY = Path("/sys")  # a read-only folder even for root (chmod does not stop root)
needs_read_only = pytest.mark.skipif(not READ_ONLY.is_dir(), reason="no /sys to stand for a read-only folder")


def one_error_line(stderr: str, *fragments: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def records_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if ".work" not in str(p)) if folder.exists() else []


# ------------------------------------------------------------------------------------------------ --seed


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_seed_out_of_range_is_one_error_line_and_no_record(configs, tmp_path, capsys, seed):
    FakeProtocol.last_call = None
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "adding_t10", "--seed", seed, "--out", str(tmp_path / "runs"), "--quiet"])
    assert info.value.code == 2
    one_error_line(capsys.readouterr().err, "--seed", "2**32", seed)
    assert FakeProtocol.last_call is None and records_in(tmp_path / "runs") == []


def test_seed_limits_themselves_are_accepted(configs, tmp_path, capsys):
    for seed in ("0", str(2**32 - 1)):
        assert cli.main(["run", "adding_t10", "--smoke", "--seed", seed, "--out", str(tmp_path), "--quiet"]) == 0


# ------------------------------------------------------------------------------------------------- --out


def test_out_that_is_a_file_or_under_a_file_is_refused_before_training(configs, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, fragment in ((afile, "is a file"), (afile / "sub", f"is under the file {afile}")):
        FakeProtocol.last_call = None
        assert cli.main(["run", "adding_t10", "--out", str(out), "--quiet"]) == 2
        one_error_line(capsys.readouterr().err, "--out", fragment)
        assert FakeProtocol.last_call is None
    assert afile.read_text() == "x" and records_in(tmp_path) == []


@needs_read_only
def test_out_read_only_is_refused_before_training(configs, capsys):
    for out in (READ_ONLY, READ_ONLY / "lstm-hist-runs"):
        FakeProtocol.last_call = None
        assert cli.main(["run", "adding_t10", "--out", str(out), "--quiet"]) == 2
        one_error_line(capsys.readouterr().err, "--out", str(out))
        assert FakeProtocol.last_call is None


def test_report_out_directory_or_read_only_is_one_error_line(configs, tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    assert cli.main(["report", "--runs", str(runs), "--out", str(tmp_path), "--no-plots"]) == 2
    one_error_line(capsys.readouterr().err, "--out", "is a folder")
    if READ_ONLY.is_dir():
        assert cli.main(["report", "--runs", str(runs), "--out", str(READ_ONLY / "r.md"), "--no-plots"]) == 2
        one_error_line(capsys.readouterr().err, "--out", "not writable")


# ------------------------------------------------------------------------------------------- --backend torch


def test_backend_without_its_package_names_the_extra(configs, tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed (import torch fails)
    FakeProtocol.last_call = None
    assert cli.main(["run", "adding_t10", "--backend", "torch", "--out", str(tmp_path), "--quiet"]) == 2
    one_error_line(capsys.readouterr().err, "'torch'", 'pip install -e ".[torch]"')
    assert FakeProtocol.last_call is None and records_in(tmp_path) == []


# ---------------------------------------------------------------------------------------- non-UTF-8 config


def test_config_that_is_not_utf8_is_one_error_line(configs, tmp_path, capsys):
    bad = configs / "fakepaper" / "latin1.yaml"
    bad.write_bytes(GOOD_CONFIG.replace("Fake adding", "Caf\u00e9 adding").encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml: not UTF-8 text \(byte 0xe9 at line 3\)"):
        load_config(bad)
    assert cli.main(["run", "latin1", "--out", str(tmp_path), "--quiet"]) == 2
    one_error_line(capsys.readouterr().err, "latin1.yaml", "not UTF-8")
    assert records_in(tmp_path) == []


# ---------------------------------------------------------------------------------- --set 1e8 is a float


@pytest.mark.parametrize("text,value", [("1e8", 1e8), ("1.0e8", 1e8), ("1e-3", 1e-3), ("2", 2)])
def test_set_accepts_what_float_accepts_for_a_float_field(configs, tmp_path, capsys, text, value):
    assert cli.main(["run", "adding_t10", "--smoke", "--out", str(tmp_path), "--quiet",
                     "--set", f"protocol.learning_rate={text}"]) == 0
    (record,) = records_in(tmp_path)
    got = json.loads(record.read_text())["config"]["protocol"]["learning_rate"]
    assert got == value and type(got) is type(value)


def test_float_coercion_leaves_strings_where_strings_belong(configs):
    cfg = load_config(configs / "fakepaper" / "adding_t10.yaml")
    out = apply_overrides(cfg, ["protocol.behaviour=1e3"], experiment=FAKE_EXPERIMENTS["adding"])
    assert out["protocol"]["behaviour"] == "1e3"  # a str field keeps what was typed
    with pytest.raises(ConfigError, match="'protocol.learning_rate' must be float, got str 'fast'"):
        apply_overrides(cfg, ["protocol.learning_rate=fast"], experiment=FAKE_EXPERIMENTS["adding"])


def test_float_coercion_reaches_list_items():
    from typing import Optional

    from lstm_hist.config import coerce_floats

    assert coerce_floats(["1e-3", 0.1], list[float]) == [1e-3, 0.1]
    assert coerce_floats(["1e-3"], Optional[list[float]]) == [1e-3]
    assert coerce_floats("1e-3", Optional[float]) == 1e-3
    assert coerce_floats("1e-3", int) == "1e-3"  # an int field is not silently given a float


# --------------------------------------------------------------------------------------------- report --runs


def test_report_runs_that_does_not_exist_is_an_error(configs, tmp_path, capsys):
    assert cli.main(["report", "--runs", str(tmp_path / "nonexistent"), "--out", str(tmp_path / "r.md")]) == 2
    one_error_line(capsys.readouterr().err, "--runs", "does not exist")
    assert not (tmp_path / "r.md").exists()


def test_report_from_another_directory_reads_the_repository_results(configs, tmp_path, capsys, monkeypatch):
    repo_results = tmp_path / "repo" / "results"
    assert cli.main(["run", "adding_t10", "--out", str(repo_results), "--quiet"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("LSTM_HIST_RESULTS", str(repo_results))  # stands for results/ beside the package
    capsys.readouterr()
    assert cli.main(["report", "--out", "r.md", "--no-plots"]) == 0
    assert f"records from {repo_results}" in capsys.readouterr().out
    page = (elsewhere / "r.md").read_text()
    assert "## fakepaper" in page and "| T=10 |" in page


def test_report_default_runs_is_results_beside_the_package(monkeypatch):
    import lstm_hist
    from lstm_hist.runs_dirs import repo_results_dir

    monkeypatch.delenv("LSTM_HIST_RESULTS", raising=False)
    assert repo_results_dir() == Path(lstm_hist.__file__).resolve().parent.parent / "results"


def test_report_without_any_results_says_where_it_looked(configs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LSTM_HIST_RESULTS", str(tmp_path / "none"))
    assert cli.main(["report", "--out", "r.md"]) == 2
    one_error_line(capsys.readouterr().err, "looked in", str(tmp_path / "none"), "--runs")


def test_report_runs_is_repeatable_to_include_the_users_runs(configs, tmp_path, capsys):
    assert cli.main(["run", "adding_t10", "--out", str(tmp_path / "results"), "--quiet"]) == 0
    assert cli.main(["run", "adding_t20", "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    assert cli.main(["report", "--runs", str(tmp_path / "results"), "--runs", str(tmp_path / "runs"),
                     "--out", str(tmp_path / "r.md"), "--no-plots"]) == 0
    page = (tmp_path / "r.md").read_text()
    assert "| T=10 |" in page and "| T=20 |" in page and "Not yet run" not in page


# --------------------------------------------------------------------------------- one malformed config


def test_one_malformed_config_does_not_break_list_or_describe(configs, capsys):
    write(configs / "fakepaper" / "broken.yaml", "experiment: adding\ntask: {T: 10\n")
    assert cli.main(["list", "--json"]) == 0
    captured = capsys.readouterr()
    assert [e["id"] for e in json.loads(captured.out)] == ["fakepaper/adding_t10", "fakepaper/adding_t20"]
    warning = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "broken.yaml" in warning[0] and "malformed YAML at line" in warning[0]
    assert cli.main(["describe", "adding_t10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "fakepaper/adding_t10"
    assert cli.main(["describe", "broken"]) == 2
    one_error_line(capsys.readouterr().err, "broken.yaml", "malformed YAML")


# ------------------------------------------------------------------------------------------- task values


@pytest.mark.parametrize("override, fragment", [("task.max_length=5", "max_length"), ("task.targets=all", "targets")])
def test_a_task_value_its_generator_rejects_is_one_error_line_and_no_record(tmp_path, capsys, override, fragment):
    """The signature admits any int or str; the generator's own rule (Reber strings are ≥ 9 symbols long) used to
    surface as a ValueError traceback from the first draw, after the run had started."""
    args = ["run", "hochreiter1997/reber_3x2_lr05", "--smoke", "--set", override, "--out", str(tmp_path), "--quiet"]
    try:
        code = cli.main(args)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    one_error_line(capsys.readouterr().err, "reber_3x2_lr05", "task", fragment)
    assert records_in(tmp_path) == []
