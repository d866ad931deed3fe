"""The CLI's contracts: JSON shapes, exit codes, one-line errors, and run → record end to end (fake paper)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FakeProtocol, write
from lstm_hist import cli

REPO = Path(__file__).resolve().parent.parent


def run_cli(*argv, env_configs=None):
    """The real console entry point in a fresh interpreter (nothing monkeypatched)."""
    env = dict(os.environ)
    if env_configs is not None:
        env["LSTM_HIST_CONFIGS"] = str(env_configs)
    return subprocess.run([sys.executable, "-m", "lstm_hist", *argv], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


def assert_one_error_line(stderr: str, *fragments: str):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_list_json_contract(configs, capsys):
    assert cli.main(["list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert isinstance(entries, list) and len(entries) == 2
    for entry in entries:
        assert {"id", "paper", "table", "row", "title", "reported"} <= set(entry)
    assert entries[0]["id"] == "fakepaper/adding_t10" and entries[0]["paper"] == "fakepaper"
    assert entries[0]["reported"] == {"success_rate": 1.0, "sequences_mean": 2000, "weights": 28}


def test_list_text_and_paper_filter(configs, capsys):
    assert cli.main(["list", "--paper", "fakepaper"]) == 0
    out = capsys.readouterr().out
    assert "fakepaper/adding_t10" in out and "Table 1" in out


def test_list_does_not_import_keras(configs):
    code = ("import sys; from lstm_hist.cli import main; rc = main(['list', '--json']); "
            "assert rc == 0; assert 'keras' not in sys.modules, 'keras imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "LSTM_HIST_CONFIGS": str(configs)})
    assert proc.returncode == 0, proc.stderr


def test_describe_json_contract(configs, capsys):
    assert cli.main(["describe", "adding_t10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"id", "paper", "table", "row", "title", "reported", "parameters", "config"} <= set(data)
    assert data["parameters"] == 28  # FakeModel: 7 * units(4)
    assert data["config"]["protocol"]["trials"] == 10 and "smoke" not in data["config"]


def test_describe_text(configs, capsys):
    assert cli.main(["describe", "fakepaper/adding_t20"]) == 0
    out = capsys.readouterr().out
    assert "parameters:" in out and "28" in out and "max_sequences: 5000" in out


def test_bad_id_exits_2_with_one_error_line(configs):
    proc = run_cli("run", "adding_t1O", env_configs=configs)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "unknown experiment 'adding_t1O'", "did you mean", "adding_t10")


def test_malformed_yaml_exits_2(tmp_path):
    write(tmp_path / "fakepaper" / "bad.yaml", "experiment: adding\ntask: {T: 10\n")
    proc = run_cli("run", "bad", env_configs=tmp_path)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "bad.yaml: malformed YAML at line")


def test_trials_zero_exits_2(configs, capsys):
    assert cli.main(["run", "adding_t10", "--trials", "0", "--out", str(configs.parent / "runs")]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(err, "--trials must be at least 1")


def test_set_unknown_key_exits_2(configs, capsys):
    assert cli.main(["run", "adding_t10", "--set", "protocol.trails=3"]) == 2
    assert_one_error_line(capsys.readouterr().err, "unknown key 'protocol.trails' for --set")


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--trials", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--backend", "theano"])
    assert info.value.code == 2


def test_run_writes_record_with_contract(configs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["lstm-hist", "run", "adding_t10", "--smoke"])
    out = tmp_path / "runs"
    assert cli.main(["run", "adding_t10", "--smoke", "--seed", "7", "--out", str(out), "--quiet",
                     "--set", "protocol.learning_rate=0.25"]) == 0
    stdout = capsys.readouterr().out
    files = list((out / "fakepaper").glob("adding_t10.smoke-*.json"))
    assert len(files) == 1 and f"record: {files[0]}" in stdout
    record = json.loads(files[0].read_text())
    for key in ("id", "title", "paper", "table", "row", "section", "status", "smoke", "metrics", "reported",
                "config", "seeds", "trials", "repeated_sequences", "provenance"):
        assert key in record
    assert record["id"] == "fakepaper/adding_t10" and record["status"] == "completed" and record["smoke"] is True
    assert record["config"]["protocol"] == {"trials": 2, "max_sequences": 300, "learning_rate": 0.25}
    assert record["metrics"] == {"success_rate": 1.0, "sequences_mean": 1500.0}
    assert record["seeds"]["base"] == 7 and len(record["trials"]) == 2
    prov = record["provenance"]
    for key in ("commit", "versions", "backend", "device", "command", "start", "end", "wall_seconds"):
        assert key in prov
    assert prov["command"] == "lstm-hist run adding_t10 --smoke"
    # the paper-vs-ours table
    assert "sequences_mean" in stdout and "2,000" in stdout and "1,500" in stdout
    assert "1,000–2,000" in stdout  # per-trial spread of "sequences"
    assert re.fullmatch(r"adding_t10\.smoke-seed7-\d{8}T\d{6}-[0-9a-f]{6}\.json", files[0].name)
    assert record["seed"] == 7 and re.fullmatch(r"[0-9a-f]{16}", record["fingerprint"])
    assert record["run"] == {"segments": 1, "train_seconds_total": prov["wall_seconds"], "repeated_sequences": 0}
    work = out / "fakepaper" / "adding_t10.smoke.work" / f"seed7-{record['fingerprint'][:12]}"
    assert FakeProtocol.last_call["workdir"] == work


def test_run_trials_flag_sets_protocol_trials(configs, tmp_path, capsys):
    assert cli.main(["run", "adding_t10", "--trials", "3", "--out", str(tmp_path), "--quiet"]) == 0
    assert FakeProtocol.last_call["protocol"].trials == 3


def test_run_interrupted_exits_130_and_resume_continues(configs, tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert cli.main(["run", "adding_t10", "--out", out, "--quiet", "--set", "protocol.behaviour=interrupt"]) == 130
    stdout = capsys.readouterr().out
    assert f"lstm-hist run fakepaper/adding_t10 --set protocol.behaviour=interrupt --out {out} --resume" in stdout
    assert cli.main(["run", "adding_t10", "--out", out, "--quiet", "--resume"]) == 0
    assert FakeProtocol.last_call["resume"] is True


def test_resume_without_checkpoint_is_user_error(configs, tmp_path, capsys):
    assert cli.main(["run", "adding_t20", "--out", str(tmp_path), "--resume"]) == 2
    assert_one_error_line(capsys.readouterr().err, "no checkpoint")


def test_crash_writes_failed_record_and_reraises(configs, tmp_path, capsys):
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["run", "adding_t10", "--out", str(tmp_path), "--quiet", "--set", "protocol.behaviour=crash"])
    (path,) = (tmp_path / "fakepaper").glob("adding_t10-*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "failed" and "boom" in record["error"]


def test_sigterm_becomes_keyboard_interrupt():
    from lstm_hist.runner import sigterm_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                time.sleep(0.001)
    assert signal.getsignal(signal.SIGTERM) is before


def test_signals_are_also_recorded_for_loops_that_check():
    from lstm_hist import interrupt
    from lstm_hist.runner import sigterm_as_interrupt

    with sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                time.sleep(0.001)
        except KeyboardInterrupt:
            pass  # as if native code had swallowed it: the request must still be there
        assert interrupt.requested()
        with pytest.raises(KeyboardInterrupt, match="signal 2"):
            interrupt.check()
        interrupt.check()  # acted on once: a second check passes
    assert not interrupt.requested()


def test_bench_prints_and_saves_estimate(configs, tmp_path, capsys):
    assert cli.main(["bench", "adding_t10", "--updates", "50", "--save", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "updates_per_second" in out and "50" in out and "1h01m" in out
    estimate = json.loads((tmp_path / "estimates" / "fakepaper.adding_t10.json").read_text())
    assert estimate["kind"] == "estimate" and estimate["bench"]["updates"] == 50
    assert FakeProtocol.last_bench_reported["sequences_mean"] == 2000  # bench may scale to the paper's counts


def test_cite(configs, capsys):
    assert cli.main(["cite", "fakepaper"]) == 0
    assert capsys.readouterr().out.strip() == (
        "Doe, J. and Roe, R. (1997). A Fake Paper. Journal of Tests 9(8), 1–2.")
    assert cli.main(["cite", "adding_t10", "--bibtex"]) == 0
    assert capsys.readouterr().out.startswith("@article{fake1997,")


def test_backend_flag_sets_env(configs, tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    assert cli.main(["run", "adding_t10", "--backend", "tensorflow", "--out", str(tmp_path), "--quiet"]) == 0
    assert os.environ["KERAS_BACKEND"] == "tensorflow"


def test_keyboard_interrupt_outside_run_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_list", interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == ""


def test_data_group_reports_when_unavailable(capsys):
    try:
        import lstm_hist.data.cli  # noqa: F401
    except ImportError:
        assert cli.main(["data", "list"]) == 2
        assert_one_error_line(capsys.readouterr().err, "data commands are not available")
    else:
        pytest.skip("lstm_hist.data.cli exists; its own tests cover it")


def test_help_mentions_examples():
    proc = run_cli("run", "--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout and "--smoke" in proc.stdout


def test_select_backend_refuses_switch_after_keras_import(monkeypatch):
    from lstm_hist.backend import select_backend
    from lstm_hist.errors import UserError

    fake_keras = type(sys)("keras")
    fake_keras.backend = type(sys)("keras.backend")
    fake_keras.backend.backend = lambda: "tensorflow"
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    assert select_backend("tensorflow") == "tensorflow"
    with pytest.raises(UserError, match="already imported with backend 'tensorflow'"):
        select_backend("jax")
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.delenv("KERAS_BACKEND")
    assert select_backend(None) == "jax" and os.environ["KERAS_BACKEND"] == "jax"


def test_progress_line_format_and_throttle():
    import io

    from lstm_hist.progress import ProgressLine, format_progress

    info = {"sequences": 12300, "max_sequences": 1_000_000, "solved": 3, "trials": 10, "error": 0.0412,
            "rate": 812.0, "correct": 0.5}
    line = format_progress(info, eta=1216)
    assert line == ("seq 12,300/1,000,000 · solved 3/10 · err 0.0412 · 812 upd/s · ETA to cap 20m16s"
                    " · correct 0.5")
    assert "ETA" not in format_progress(info)
    now = [100.0]
    stream = io.StringIO()
    progress = ProgressLine(stream, interval=3600, clock=lambda: now[0])
    progress(info)  # the first report: no measured rate yet, so neither the protocol's rate nor an ETA
    now[0] += 10
    progress({**info, "sequences": 20420})  # throttled, shown by close(): 8,120 sequences in 10 s
    progress.close()
    first = "seq 12,300/1,000,000 · solved 3/10 · err 0.0412 · correct 0.5"
    assert stream.getvalue().splitlines() == [first, line.replace("12,300", "20,420").replace("20m16s", "20m06s")]
