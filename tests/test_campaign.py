"""lstm-hist campaign: selection, seeds, skip/resume planning, kept checkpoints, and a campaign on embedded Ray.

The Ray test plugs a toy paper (no Keras, each run well under a second of work) into the campaign's subprocesses:
a folder ``reproductions/toycamp/`` put on PYTHONPATH joins the real package (reproductions/__init__.py extends
its path) and ``LSTM_HIST_CONFIGS`` points at its configs. Its protocol interrupts seed 1 of ``row_b`` once, with a
checkpoint, and reports ``repeated_sequences=1`` when it resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from lstm_hist import cli, seed_stats
from lstm_hist.campaign import keep, resources, selection, state
from lstm_hist.errors import UserError

TOY_MODULE = '''
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.experiment import Experiment, SequenceBatch


def task(rng, n, *, T: int = 5):
    return SequenceBatch(x=np.zeros((n, T, 1), "float32"), lengths=np.full(n, T), y=np.zeros((n, 1), "float32"))


def model(trials, units: int = 2):
    raise AssertionError("the toy protocol builds no model")


@dataclasses.dataclass
class Result(RunResult):
    status: str
    value: float
    repeated_sequences: int = 0
    seeds = {}

    def metrics(self):
        return {"sequences_mean": self.value} if self.status == "completed" else {}

    def per_trial(self):
        return []


@dataclasses.dataclass(frozen=True)
class Protocol(TrainingProtocol):
    trials: int = 1
    interrupt_seed: int = -1  # this seed stops once with a checkpoint, as a SIGTERM would leave it
    sleep: float = 0.0  # a long run: SIGTERM (the runner's KeyboardInterrupt) checkpoints and stops it

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir, resume, progress):
        progress({"sequences": 1, "max_sequences": 2})
        checkpoint = Path(workdir) / "state.json"
        if self.sleep and not resume:
            try:
                time.sleep(self.sleep)
            except KeyboardInterrupt:
                checkpoint.write_text(json.dumps({"seed": seed}))
                return Result("interrupted", 0.0)
        if seed == self.interrupt_seed and not checkpoint.exists():
            checkpoint.write_text(json.dumps({"seed": seed}))
            return Result("interrupted", 0.0)
        if resume:
            assert json.loads(checkpoint.read_text()) == {"seed": seed}
        return Result("completed", 1000.0 + 100 * seed, repeated_sequences=1 if resume else 0)


EXPERIMENTS = {"toy": Experiment(task=task, model=model, protocol=Protocol, description="campaign test")}
CITATION = "@article{toy2000, author = {Toy, T.}, title = {Toy}, journal = {J}, year = {2000}}"
'''

TOY_CONFIG = """\
experiment: toy
title: Toy row {name}
table: Table 1
row: {name}
task: {{T: 5}}
model: {{units: 2}}
protocol: {{trials: 1, interrupt_seed: {interrupt}}}
reported: {{sequences_mean: 1234}}
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy paper ``toycamp`` (rows row_a, row_b) visible to this process and to its subprocesses."""
    ext = tmp_path / "ext"
    (ext / "reproductions" / "toycamp").mkdir(parents=True)
    (ext / "reproductions" / "toycamp" / "__init__.py").write_text(textwrap.dedent(TOY_MODULE))
    configs = tmp_path / "configs" / "toycamp"
    configs.mkdir(parents=True)
    (configs / "row_a.yaml").write_text(TOY_CONFIG.format(name="A", interrupt=-1))
    (configs / "row_b.yaml").write_text(TOY_CONFIG.format(name="B", interrupt=1))
    monkeypatch.setenv("LSTM_HIST_CONFIGS", str(tmp_path / "configs"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ext), os.environ.get("PYTHONPATH")) if p))
    import reproductions

    monkeypatch.setattr(reproductions, "__path__", [*reproductions.__path__, str(ext / "reproductions")])
    return tmp_path


def _records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "toycamp").glob("*.json"))]


# ------------------------------------------------------------------------------------------- no Ray needed


def test_seeds_parse_ranges_and_lists():
    assert selection.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert selection.parse_seeds("0,2,7") == [0, 2, 7]
    assert selection.parse_seeds("3,0-1,3") == [3, 0, 1]
    for bad in ("", "a", "4-2", "1,,2", "-1"):
        with pytest.raises(UserError):
            selection.parse_seeds(bad)


def test_rows_by_id_glob_paper_and_table(configs):
    assert selection.select_rows(["adding_t10"]) == ["fakepaper/adding_t10"]
    assert selection.select_rows(["fakepaper/adding_*"]) == ["fakepaper/adding_t10", "fakepaper/adding_t20"]
    assert selection.select_rows(["*_t20"]) == ["fakepaper/adding_t20"]
    assert selection.select_rows([], paper="fakepaper") == ["fakepaper/adding_t10", "fakepaper/adding_t20"]
    assert selection.select_rows([], table="1") == selection.select_rows([], table="Table 1")
    with pytest.raises(UserError, match="say which rows"):
        selection.select_rows([])
    with pytest.raises(UserError, match="no rows match"):
        selection.select_rows(["nothing_*"])
    with pytest.raises(UserError, match="no rows in table"):
        selection.select_rows([], table="9")


def test_thread_env_limits_xla_and_blas_to_the_task_cpus():
    env = resources.thread_env(resources.TaskResources(num_cpus=2), {"XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    assert env["XLA_FLAGS"] == ("--xla_dump_to=/tmp/x --xla_cpu_multi_thread_eigen=false "
                                "intra_op_parallelism_threads=2")
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "2"
    assert env["NUMBA_NUM_THREADS"] == "2"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    gpu = resources.thread_env(resources.TaskResources(num_cpus=1, num_gpus=0.25))
    assert "CUDA_VISIBLE_DEVICES" not in gpu and gpu["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert resources.resources_for("bengio2003/mlp1").memory_bytes > resources.resources_for("x/y").memory_bytes \
        > resources.resources_for("hochreiter1997/adding_t100").memory_bytes
    assert resources.resources_for("a/b", cpus=2, gpus=0.5, memory_gib=1).ray_options() == {
        "num_cpus": 2.0, "num_gpus": 0.5, "memory": 1024**3}


def test_idle_cpus_are_named_with_the_flag_that_uses_them():
    hint = resources.idle_cpus_hint(1, 2, None)
    assert hint is not None and "leave 1 idle" in hint and "--cpus-per-task 2" in hint
    assert "--cpus-per-task 2" in resources.idle_cpus_hint(3, 8, None)  # floor(8 / 3)
    assert resources.idle_cpus_hint(1, 2, 1.0) is None  # the user chose a task's CPUs
    assert resources.idle_cpus_hint(2, 2, None) is None  # every CPU has a task
    assert resources.idle_cpus_hint(2, 3, None) is None  # one spare CPU cannot give both tasks a second
    assert resources.idle_cpus_hint(1, None, None) is None  # a cluster: its size is not known ahead


def test_a_dry_run_of_one_task_on_two_cpus_says_how_to_use_both(toy, capsys):
    command = ["campaign", "row_a", "--seeds", "0", "--out", str(toy / "out"), "--engine", "local",
               "--num-cpus", "2", "--dry-run"]
    assert cli.main(command) == 0
    assert "--cpus-per-task 2 gives each task 2 CPUs" in capsys.readouterr().out
    assert cli.main([*command, "--cpus-per-task", "2"]) == 0
    assert "idle" not in capsys.readouterr().out


def _write_record(out: Path, name: str, cfg: dict, seed: int, status: str, *, end: str, fingerprint=None) -> Path:
    record = {"id": "toycamp/row_a", "smoke": False, "status": status, "config": cfg, "seeds": {"base": seed},
              "provenance": {"backend": "jax", "end": end}}
    if fingerprint is not None:
        record.update(seed=seed, fingerprint=fingerprint)
    path = out / "toycamp" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_plan_skips_matching_completed_records_old_and_new(tmp_path):
    cfg = {"experiment": "toy", "task": {"T": 5}, "model": {}, "protocol": {"trials": 1}, "title": "x"}
    old = _write_record(tmp_path, "row_a-20260101T000000.json", {**cfg, "title": "renamed"}, 0, "completed",
                        end="2026-01-01")
    _write_record(tmp_path, "row_a-seed1-20260101T000000-abcdef.json", cfg, 1, "completed", end="2026-01-01",
                  fingerprint="their-own-hash")
    edited = {**cfg, "protocol": {"trials": 2}}
    _write_record(tmp_path, "row_a-seed2-20260101T000000-abcdef.json", edited, 2, "completed", end="2026-01-01")
    _write_record(tmp_path, "row_a-seed3-20260101T000000-abcdef.json", cfg, 3, "interrupted", end="2026-01-01")
    items = state.plan(tmp_path, {"toycamp/row_a": cfg}, [0, 1, 2, 3], smoke=False, backend="jax")
    assert [i.action for i in items] == ["skip", "skip", "start", "start"]
    assert items[0].record == old  # no fingerprint field: id, seed, status and the semantic config decide
    other_backend = state.plan(tmp_path, {"toycamp/row_a": cfg}, [0], smoke=False, backend="tensorflow")
    assert other_backend[0].action == "start"
    smoke = state.plan(tmp_path, {"toycamp/row_a": cfg}, [0], smoke=True, backend="jax")
    assert smoke[0].action == "start"


def test_a_completed_record_of_fewer_epochs_is_not_the_planned_run(tmp_path):
    """The run fingerprint leaves out the fields a resume may change (e.g. ``epochs``); the skip still compares them,
    so asking a campaign for more epochs runs the row (the run then resumes its checkpoint) instead of skipping."""
    import dataclasses
    from types import SimpleNamespace

    from lstm_hist.contract import TrainingProtocol

    @dataclasses.dataclass(frozen=True)
    class Extendable(TrainingProtocol):
        trials: int = 1
        epochs: int = 3
        resumable_changes = ("epochs",)

        def run(self, **kwargs):
            raise AssertionError("planning runs nothing")

    experiments = {"toycamp/row_a": SimpleNamespace(protocol=Extendable)}
    cfg = {"experiment": "toy", "task": {"T": 5}, "model": {}, "protocol": {"epochs": 3}}
    _write_record(tmp_path, "row_a-seed0-20260101T000000-abcdef.json", cfg, 0, "completed", end="2026-01-01")
    same = state.plan(tmp_path, {"toycamp/row_a": cfg}, [0], smoke=False, backend="jax", experiments=experiments)
    more = {**cfg, "protocol": {"epochs": 5}}
    longer = state.plan(tmp_path, {"toycamp/row_a": more}, [0], smoke=False, backend="jax", experiments=experiments)
    assert same[0].fingerprint == longer[0].fingerprint  # one checkpoint folder: the longer run resumes it
    assert [same[0].action, longer[0].action] == ["skip", "start"]


def test_kept_checkpoint_round_trip_and_size_limit(tmp_path):
    base = tmp_path / "out" / "toycamp"
    work = base / "row_b.work" / "seed1-0123456789ab"
    work.mkdir(parents=True)
    (work / "state.json").write_text('{"seen": 5}')
    (work / "checkpoint.npz").write_bytes(b"\0" * 1000)
    (work / "run.lock").write_text("pid 1")
    archive = tmp_path / "keep" / "row_b-seed1.tgz"
    assert keep.keep(archive, work, base, limit=999) is None  # over the limit: not kept
    assert keep.keep(archive, work, base, limit=5000) == archive
    shutil.rmtree(base)
    restored = keep.restore(archive, base)
    assert sorted(p.name for p in restored) == ["checkpoint.npz", "state.json"]  # never the lock
    assert (work / "state.json").read_text() == '{"seen": 5}'
    (work / "state.json").write_text('{"seen": 9}')
    assert keep.restore(archive, base) == []  # a local checkpoint wins over the kept one
    assert (work / "state.json").read_text() == '{"seen": 9}'


def test_mean_sd_over_seeds():
    assert seed_stats.mean_sd([1000.0, 1100.0]) == pytest.approx((1050.0, 70.7106781, 2))
    assert seed_stats.format_mean_sd([3.0], str) == "3.0 (n=1)"
    assert seed_stats.mean_sd([0.05, 0.05, 0.05]) == (0.05, 0.0, 3)  # no float residue as the spread of equal rates
    loaded = [(Path(f"r{s}.json"), {"id": "p/r", "status": "completed", "seed": s, "metrics": {"m": s},
                                     "provenance": {"end": "2026"}}) for s in (0, 1, 2)]
    loaded.append((Path("x.json"), {"id": "p/r", "status": "completed", "smoke": True, "seed": 5, "metrics": {}}))
    per_seed = seed_stats.latest_per_seed(loaded)
    assert list(per_seed) == ["p/r"] and sorted(per_seed["p/r"]) == [0, 1, 2]
    assert seed_stats.metric_over_seeds(per_seed["p/r"], "m") == [0, 1, 2]


def test_user_errors_exit_2(toy, capsys):
    assert cli.main(["campaign", "--seeds", "x", "row_a"]) == 2
    assert cli.main(["campaign", "no_such_row"]) == 2
    assert cli.main(["campaign", "row_a", "--set", "protocol.nope=1", "--dry-run"]) == 2
    assert "error:" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- on embedded Ray


def test_campaign_on_embedded_ray_records_skip_resume_and_keep(toy, capsys):
    pytest.importorskip("ray")
    out = toy / "out"
    command = ["campaign", "row_a", "row_b", "--seeds", "0,1", "--out", str(out), "--num-cpus", "2",
               "--status-every", "1"]

    # 1. Four tasks; row_b seed 1 is interrupted with a checkpoint: the campaign says so with status 130.
    assert cli.main(command) == 130
    first = _records(out)
    assert sorted((r["id"], r["seeds"]["base"], r["status"]) for r in first) == [
        ("toycamp/row_a", 0, "completed"), ("toycamp/row_a", 1, "completed"),
        ("toycamp/row_b", 0, "completed"), ("toycamp/row_b", 1, "interrupted")]
    kept = sorted((out / "checkpoints" / "toycamp").glob("*.tgz"))
    assert [p.name.split("-seed")[0] for p in kept] == ["row_b"] and "-seed1-" in kept[0].name
    text = capsys.readouterr().out
    assert "interrupted: toycamp/row_b seed 1" in text and "to continue: run the same command again" in text

    # 2. Another machine: only the committed files (records, kept checkpoints) came along, no .work folder.
    for work in (out / "toycamp").glob("*.work"):
        shutil.rmtree(work)
    assert cli.main(command) == 0
    text = capsys.readouterr().out
    assert "restored the kept checkpoint of toycamp/row_b seed 1" in text
    assert "3 already complete (skipped)" in text
    new = [r for r in _records(out) if r not in first]
    assert [(r["id"], r["seeds"]["base"], r["status"], r["repeated_sequences"]) for r in new] == [
        ("toycamp/row_b", 1, "completed", 1)]  # resumed from the kept checkpoint, not started over
    assert not list((out / "checkpoints" / "toycamp").glob("*.tgz"))  # done: its kept checkpoint is dropped
    assert "1,050 ± 70.7 (n=2)" in text  # the summary: sequences_mean over seeds 0 and 1, beside the paper's
    assert "1,234" in text

    # 3. Everything complete: nothing starts, nothing new is written.
    assert cli.main(command) == 0
    assert "nothing to run" in capsys.readouterr().out
    assert len(_records(out)) == 5


def test_a_task_on_another_node_ships_records_and_checkpoint_back(toy):
    """What a Ray node without the driver's folder does: run in scratch, return the files; the driver writes them."""
    from argparse import Namespace

    from lstm_hist.campaign import driver, task

    out = toy / "out"
    configs, experiments = driver._resolve_all(["toycamp/row_b"], False, [])
    (item,) = state.plan(out, configs, [1], smoke=False, backend="jax", experiments=experiments)
    args = Namespace(smoke=False, set=[], time_limit=None, keep_limit=keep.DEFAULT_LIMIT, out=str(out))
    spec = driver._spec(item, args, out, "jax", resources.TaskResources())
    spec["driver_node"] = "the-driver-is-elsewhere"
    result = task.run_task(spec)
    assert result["remote"] and result["rc"] == 130 and not (out / "toycamp").exists()
    assert set(result["files"]) == {*result["records"], "checkpoint.tgz"}
    assert driver._after_task(result, item, out, args) == "interrupted"
    assert [r["status"] for r in _records(out)] == ["interrupted"]
    (again,) = state.plan(out, configs, [1], smoke=False, backend="jax", experiments=experiments)
    assert again.action == "resume"  # the shipped checkpoint is in place for the next run here
    assert list((out / "checkpoints" / "toycamp").glob("row_b-seed1-*.tgz"))


def test_a_record_names_the_commit_its_run_started_from(toy, monkeypatch):
    """A segment runs for hours while commits land; its record must name the code that ran, not the HEAD of the
    moment it is written (here a commit lands while the protocol trains)."""
    from lstm_hist import records, runner

    head = {"now": ("a" * 40, False)}
    monkeypatch.setattr(records, "git_state", lambda: head["now"])
    train = runner._call_protocol

    def train_while_a_commit_lands(*args, **kwargs):
        result = train(*args, **kwargs)
        head["now"] = ("b" * 40, True)
        return result

    monkeypatch.setattr(runner, "_call_protocol", train_while_a_commit_lands)
    out = toy / "out"
    assert cli.main(["run", "toycamp/row_a", "--out", str(out), "--quiet"]) == 0
    (record,) = _records(out)
    assert (record["provenance"]["commit"], record["provenance"]["dirty"]) == ("a" * 40, False)


def test_a_checkpoint_over_the_keep_limit_is_named_not_dropped_silently(toy, capsys):
    """An FSDD checkpoint (tens of MB) is over the 5 MB default: the campaign must say that only this machine can
    resume the run, since "run the same command again" elsewhere would start it over."""
    out = toy / "out"
    command = ["campaign", "row_b", "--seeds", "1", "--out", str(out), "--engine", "local", "--num-cpus", "1"]
    assert cli.main([*command, "--keep-limit", "10"]) == 130
    text = capsys.readouterr().out
    assert "interrupted: toycamp/row_b seed 1" in text
    assert "is over --keep-limit (10 bytes)" in text and "only this machine can resume" in text
    assert not (out / "checkpoints").exists()
    assert any((out / "toycamp" / "row_b.work").iterdir())  # still here for a resume on this machine


def test_a_checkpoint_under_the_keep_limit_is_kept_without_a_word(toy, capsys):
    out = toy / "out"
    command = ["campaign", "row_b", "--seeds", "1", "--out", str(out), "--engine", "local", "--num-cpus", "1"]
    assert cli.main(command) == 130
    assert "keep-limit" not in capsys.readouterr().out
    assert list((out / "checkpoints" / "toycamp").glob("row_b-seed1-*.tgz"))


def test_the_checkpoint_a_campaign_finds_and_keeps_is_the_one_the_run_resumes(toy):
    """One fingerprint: the campaign plans with the run's (run_state.fingerprint), so the checkpoint folder it
    finds, the archive it keeps and restores, and the record's ``fingerprint`` are the run's own."""
    import io

    from lstm_hist import run_state
    from lstm_hist.backend import current_backend
    from lstm_hist.campaign import driver

    out = toy / "out"
    assert cli.main(["run", "toycamp/row_b", "--seed", "1", "--out", str(out), "--quiet"]) == 130
    (interrupted,) = _records(out)
    configs, experiments = driver._resolve_all(["toycamp/row_b"], False, [])
    (item,) = state.plan(out, configs, [1], smoke=False, backend=current_backend(), experiments=experiments)
    assert item.fingerprint == interrupted["fingerprint"]
    assert item.action == "resume"
    assert item.workdir == run_state.checkpoint_dir(out, "toycamp/row_b", False, 1, interrupted["fingerprint"])
    archive = keep.archive_path(out, item.id, "row_b", 1, item.fingerprint)
    assert keep.keep(archive, item.workdir, out / "toycamp") == archive
    shutil.rmtree(item.workdir.parent)  # another machine: only the kept archive came along
    assert driver._restore_kept([item], out, False, io.StringIO()) == 1
    assert cli.main(["run", "toycamp/row_b", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    (done,) = [r for r in _records(out) if r["status"] == "completed"]
    assert done["repeated_sequences"] == 1 and done["fingerprint"] == item.fingerprint  # resumed, not restarted


def test_every_committed_kept_checkpoint_is_the_one_its_campaign_restores():
    """Each archive in results/checkpoints/ (what the next session resumes) is named by today's config fingerprint of
    its row and seed, and holds the runner's checkpoint folder for it: a stale one would be silently ignored and its
    run would start again from nothing."""
    import re
    import tarfile

    from lstm_hist import records, run_state
    from lstm_hist.campaign import driver

    results = records.repo_root() / "results"
    for archive in sorted((results / keep.KEEP_FOLDER).glob("*/*.tgz")):
        match = re.fullmatch(r"(.+)-seed(\d+)-([0-9a-f]{12})\.tgz", archive.name)
        assert match, archive
        row, seed = f"{archive.parent.name}/{match[1]}", int(match[2])
        configs, experiments = driver._resolve_all([row], False, [])
        (item,) = state.plan(results, configs, [seed], smoke=False, backend="jax", experiments=experiments)
        assert keep.archive_path(results, item.id, match[1], seed, item.fingerprint) == archive, (archive, item.fingerprint)
        folder = run_state.checkpoint_dir(results, item.id, False, seed, item.fingerprint).relative_to(
            results / archive.parent.name).as_posix()
        with tarfile.open(archive) as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
        assert names and all(name.startswith(folder + "/") for name in names), (folder, names)
        files = {name.rsplit("/", 1)[1] for name in names}
        # the run's own record of itself and a checkpoint (the 1997 learner's `checkpoint`, Chung's `candidates`)
        assert "run.json" in files and files & {"checkpoint.json", "candidates.json"}, files


def test_local_engine_without_ray_runs_the_same_tasks(toy, capsys):
    """--engine local (a lent GPU has no Ray): the same tasks in a thread pool, the same skip on a rerun."""
    out = toy / "out"
    command = ["campaign", "row_a", "--seeds", "0-2", "--out", str(out), "--engine", "local", "--num-cpus", "2"]
    assert cli.main(command) == 0
    assert sorted(r["seeds"]["base"] for r in _records(out)) == [0, 1, 2]
    assert "local thread pool: 2 task(s) at a time" in capsys.readouterr().out
    assert cli.main(command) == 0
    assert "3 already complete (skipped)" in capsys.readouterr().out and len(_records(out)) == 3


def test_summary_gives_every_seed_of_the_row_beside_the_campaigns_own(toy, capsys):
    """A campaign of seeds 1, 2 where seed 0 ran earlier: its own mean has n=2, the row's (what the report shows) n=3."""
    out = toy / "out"
    base = ["campaign", "row_a", "--out", str(out), "--engine", "local", "--num-cpus", "1"]
    assert cli.main(base + ["--seeds", "0"]) == 0
    text = capsys.readouterr().out
    assert "every seed of its config" not in text  # nothing beyond the campaign's own seeds
    assert cli.main(base + ["--seeds", "1,2"]) == 0
    text = capsys.readouterr().out
    assert "every seed of its config here (n)" in text
    line = next(ln for ln in text.splitlines() if "toycamp/row_a" in ln and "sequences_mean" in ln)
    assert "1,150 ± 70.7 (n=2)" in line and "1,100 ± 100 (n=3)" in line


def test_time_limit_stops_a_run_which_checkpoints_and_continues_next_time(toy, capsys):
    """--time-limit: the run gets SIGTERM, writes an interrupted record and its checkpoint; the rerun resumes."""
    import time

    out = toy / "out"
    command = ["campaign", "row_a", "--out", str(out), "--engine", "local", "--set", "protocol.sleep=120",
               "--time-limit", "8"]
    start = time.monotonic()
    assert cli.main(command) == 130
    assert time.monotonic() - start < 60  # not the 120 s the run would sleep
    assert [r["status"] for r in _records(out)] == ["interrupted"]
    assert list((out / "checkpoints" / "toycamp").glob("row_a-seed0-*.tgz"))
    assert cli.main(command) == 0  # the resumed run skips the sleep (the toy protocol's resume)
    assert [r["status"] for r in _records(out)].count("completed") == 1
    assert "1 to resume" in capsys.readouterr().out


def test_until_stops_the_running_and_starts_no_queued_run(toy, capsys, monkeypatch):
    """--until is one deadline for the campaign: the running seed checkpoints at it, and the seed queued behind it
    (one CPU) is not started with a fresh --time-limit of its own; the same command later continues both."""
    import time

    from lstm_hist.campaign import task

    monkeypatch.setattr(task, "START_MARGIN", 2.0)  # the local engine runs tasks in this process

    out = toy / "out"
    command = ["campaign", "row_a", "--seeds", "0,1", "--out", str(out), "--engine", "local", "--num-cpus", "1",
               "--set", "protocol.sleep=120", "--time-limit", "3600"]
    start = time.monotonic()
    assert cli.main([*command, "--until", "+8"]) == 130
    assert time.monotonic() - start < 60  # not the 120 s the run would sleep, nor a second run's
    text = capsys.readouterr().out
    assert [r["status"] for r in _records(out)] == ["interrupted"]
    assert "not run: toycamp/row_a seed 1 (its turn came after --until)" in text, text
    assert cli.main([*command, "--dry-run"]) == 0
    assert "1 to start, 1 to resume" in capsys.readouterr().out


def test_an_interrupted_run_resumes_before_new_runs_start(toy, capsys):
    """On one CPU, seed 1 (interrupted, with a checkpoint) runs before seed 0, which has not started yet."""
    out = toy / "out"
    base = ["campaign", "row_b", "--out", str(out), "--engine", "local", "--num-cpus", "1"]
    assert cli.main([*base, "--seeds", "1"]) == 130  # row_b's seed 1 stops once with a checkpoint
    capsys.readouterr()
    assert cli.main([*base, "--seeds", "0,1"]) == 0
    text = capsys.readouterr().out
    assert "1 to start, 1 to resume" in text
    assert text.index("completed: toycamp/row_b seed 1") < text.index("completed: toycamp/row_b seed 0"), text


@pytest.mark.parametrize("text", ["+5", "23:59", "2999-01-01T00:00"])
def test_until_reads_a_duration_a_clock_time_or_a_date(text):
    import time

    from lstm_hist.campaign.cli import _until

    assert _until(text) > time.time()


@pytest.mark.parametrize("text", ["tomorrow", "2020-01-01T00:00", "+-3"])
def test_a_bad_until_is_one_error_line_and_exit_2(text, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["campaign", "row_a", "--until", text])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lstm-hist campaign: error: argument --until") or "error:" in err[-1], err


def test_eta_is_measured_from_the_first_report_not_from_the_start():
    from lstm_hist import progress_file
    from lstm_hist.campaign.monitor import eta_text

    data = {"started": 0.0, "time": 100.0, "first": {"time": 60.0, "sequences": 1000},
            "info": {"sequences": 5000, "max_sequences": 105000, "rate": 50.0}}
    assert progress_file.eta_seconds(data) == pytest.approx(1000.0)  # 4000 in 40 s, 100,000 to go
    assert "ETA to cap 16m40s" in eta_text(data, now=100.0)
    assert progress_file.eta_seconds({**data, "time": 62.0}) is None  # too short a span to measure
    epochs = {"time": 100.0, "first": {"time": 40.0, "epoch": 1}, "info": {"epoch": 4, "epochs": 10}}
    assert "ETA to the epoch cap 2m00s" in eta_text(epochs, now=100.0)
    assert eta_text(None) == "starting (no progress reported yet)"


def test_sigterm_stops_a_ray_campaign_whose_runs_checkpoint(toy, capsys):
    """SIGTERM to the campaign: every running run checkpoints and writes an interrupted record, the campaign exits
    130 with its summary, and the same command then resumes both seeds."""
    import signal
    import subprocess
    import sys
    import time

    pytest.importorskip("ray")
    out = toy / "out"
    command = ["campaign", "row_a", "--seeds", "0,1", "--out", str(out), "--num-cpus", "2",
               "--set", "protocol.sleep=120"]
    driver = subprocess.Popen([sys.executable, "-m", "lstm_hist", *command], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    progress = [out / ".campaign" / f"toycamp.row_a-seed{s}.progress" for s in (0, 1)]
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in progress) and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.5)
    assert all(p.exists() for p in progress), "the runs never reported progress"
    driver.send_signal(signal.SIGTERM)
    text, _ = driver.communicate(timeout=120)
    assert driver.returncode == 130, text
    assert "campaign stopping" in text and "campaign summary" in text
    assert sorted((r["seeds"]["base"], r["status"]) for r in _records(out)) == [(0, "interrupted"),
                                                                                (1, "interrupted")]
    assert len(list((out / "checkpoints" / "toycamp").glob("row_a-seed*.tgz"))) == 2
    assert cli.main(command) == 0
    assert "2 to resume" in capsys.readouterr().out
    assert sorted(r["status"] for r in _records(out)) == ["completed", "completed", "interrupted", "interrupted"]


def test_ray_runs_no_more_tasks_at_once_than_the_cpus_it_was_given(toy):
    """Four 4-second runs on an embedded Ray of 2 CPUs: never more than two overlap."""
    pytest.importorskip("ray")
    import datetime as dt

    out = toy / "out"
    assert cli.main(["campaign", "row_a", "--seeds", "0-3", "--out", str(out), "--num-cpus", "2",
                     "--set", "protocol.sleep=4"]) == 0
    spans = [(dt.datetime.fromisoformat(r["provenance"]["start"].replace("Z", "+00:00")),
              dt.datetime.fromisoformat(r["provenance"]["end"].replace("Z", "+00:00"))) for r in _records(out)]
    assert len(spans) == 4
    for start, _ in spans:  # runs live at each start (the one starting included)
        assert sum(s <= start < e for s, e in spans) <= 2


def test_a_started_task_counts_as_running_whatever_its_logs_timestamp(tmp_path):
    """The driver's status: a task whose log grew since submission is running, even when the kernel dates that write
    before the driver's clock (coarse timestamps) and the run never writes its log again; an earlier session's log
    that did not grow is still queued."""
    from lstm_hist.campaign import driver

    fresh, stale = tmp_path / "fresh.log", tmp_path / "stale.log"
    stale.write_text("$ an earlier session's run\n")
    specs = [{"log_path": str(fresh), "progress_path": str(tmp_path / "fresh.progress")},
             {"log_path": str(stale), "progress_path": str(tmp_path / "stale.progress")}]
    sizes = {s["log_path"]: driver._size(s["log_path"]) for s in specs}
    pending = {i: [(type("Item", (), {"label": f"row seed {i}"})(), s)] for i, s in enumerate(specs)}
    assert driver._counts(pending, {}, sizes, None) == {"done": 0, "running": 0, "queued": 2}
    fresh.write_text("$ lstm-hist run ...\n")
    an_hour_ago = fresh.stat().st_mtime - 3600
    os.utime(fresh, (an_hour_ago, an_hour_ago))
    os.utime(stale, (an_hour_ago + 7200, an_hour_ago + 7200))  # touched, not grown
    assert driver._counts(pending, {}, sizes, None) == {"done": 0, "running": 1, "queued": 1}
    assert [label for label, _ in driver._running(pending, sizes)] == ["row seed 0"]
