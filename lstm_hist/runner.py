"""Run one experiment end to end: config → protocol → run record → paper-vs-ours table.

The runner knows no paper and no training loop. It resolves the config (``--smoke``, ``--set``, ``--trials``),
hands the experiment to its protocol, and writes whatever comes back as a record, including runs that were
interrupted (resumable) or crashed (with the error), so no outcome goes unrecorded.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

import numpy as np

from lstm_hist import contract, interrupt, records, run_state
from lstm_hist.backend import current_backend
from lstm_hist.config import apply_overrides, apply_smoke
from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.errors import ConfigError, UserError
from lstm_hist.progress import ProgressLine, silent
from lstm_hist.progress_file import tee as tee_progress_file
from lstm_hist.registry import load
from lstm_hist.run_summary import print_summary
from lstm_hist.weights import keep_final_weights


def resolve(exp_id: str, *, smoke: bool = False, trials: int | None = None, overrides: Iterable[str] = ()):
    """``(full id, config path, experiment, resolved config)`` after smoke, ``--set`` and ``--trials``."""
    full, path, experiment, cfg = load(exp_id)
    if smoke:
        cfg = apply_smoke(cfg, path)
    overrides = list(overrides)
    if trials is not None:
        if trials < 1:
            raise UserError(f"--trials must be at least 1, got {trials}")
        overrides.append(f"protocol.trials={trials}")
    cfg = apply_overrides(cfg, overrides, experiment=experiment, source=path)
    cfg.pop("smoke", None)  # applied or not, it is not part of what ran
    check_task(experiment, cfg, path)
    return full, path, experiment, cfg


def check_task(experiment: Any, cfg: dict, path: Path) -> None:
    """Draw one sequence with the run's ``task`` values: a value the signature admits but the generator's own
    rules refuse (a Reber ``max_length`` under 9 symbols) is the config's fault, reported before anything starts
    instead of as a traceback from the trainer's first draw. Generators are pure functions of the RNG, so the
    probe touches no run's stream. Only sequence generators (a task with the ``max_length`` attribute of the
    Experiment contract) are probed: a corpus task loads its data set, which the protocol does once."""
    if not hasattr(experiment.task, "max_length"):
        return
    task_cfg = cfg.get("task") or {}
    try:
        experiment.task(np.random.default_rng(0), 1, **task_cfg)
    except ValueError as exc:
        raise ConfigError(f"{path}: task: {exc}") from None


def build_protocol(experiment: Any, cfg: dict, path: Path) -> TrainingProtocol:
    """``experiment.protocol(**cfg["protocol"])``; a constructor's ValueError is the config's fault, a class that
    is not a :class:`~lstm_hist.contract.TrainingProtocol` the paper module's (TypeError)."""
    if not (isinstance(experiment.protocol, type) and issubclass(experiment.protocol, TrainingProtocol)):
        raise TypeError(f"{path}: the experiment's protocol {experiment.protocol!r} is not a "
                        "lstm_hist.contract.TrainingProtocol")
    try:
        return experiment.protocol(**cfg["protocol"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: protocol: {exc}") from None


def sigterm_as_interrupt():
    """SIGTERM and Ctrl-C become KeyboardInterrupt, which protocols catch to checkpoint and return
    ``status="interrupted"`` (see lstm_hist.interrupt for why a plain raising handler is not enough)."""
    return interrupt.stop_on_signals()


def run_experiment(
    exp_id: str,
    *,
    smoke: bool = False,
    trials: int | None = None,
    seed: int = 0,
    overrides: Iterable[str] = (),
    out_dir: str | Path = "runs",
    resume: bool = False,
    fresh: bool = False,
    progress: bool | Callable[[dict], None] = True,
    stdout: TextIO | None = None,
) -> Path:
    """Run ``exp_id`` with its protocol, write the record, print paper vs ours; return the record path.

    The run's checkpoint folder is keyed by row, seed and config fingerprint and locked while it runs
    (lstm_hist.run_state). An unfinished checkpoint there is resumed (and the run says so); ``fresh`` discards it;
    ``resume`` insists on one. ``progress`` may be a callable to receive the protocol's progress dicts instead of
    the default stderr line. The protocol is called through :mod:`lstm_hist.contract`.
    """
    stdout = stdout or sys.stdout
    if resume and fresh:
        raise UserError("--resume and --fresh contradict each other: --resume continues the checkpoint, "
                        "--fresh discards it")
    overrides = list(overrides)
    full, path, experiment, cfg = resolve(exp_id, smoke=smoke, trials=trials, overrides=overrides)
    protocol = build_protocol(experiment, cfg, path)
    backend = current_backend()
    fingerprint = run_state.fingerprint(cfg["task"], cfg["model"], protocol, seed, backend)
    workdir = run_state.checkpoint_dir(out_dir, full, smoke, seed, fingerprint)
    lock = run_state.RunLock(workdir, run_state.lock_info()).acquire(note=_note)
    try:
        resume = choose_start(workdir, resume=resume, fresh=fresh)
        run = dict(full=full, smoke=smoke, trials=trials, seed=seed, overrides=overrides, out_dir=out_dir)
        return _run_segment(run, cfg, experiment, protocol, workdir, resume, fingerprint, backend, progress, stdout)
    finally:
        lock.release()


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def choose_start(workdir: Path, *, resume: bool, fresh: bool) -> bool:
    """Whether this run resumes the checkpoint in ``workdir`` (README "Records and results" has the rule)."""
    present = run_state.has_checkpoint(workdir)
    if fresh:
        if present:
            _note(f"--fresh: discarding the checkpoint in {workdir}")
        run_state.discard(workdir)
        return False
    if resume:
        if not present:
            others = sorted(p.name for p in workdir.parent.iterdir() if p.is_dir() and p != workdir
                            and run_state.has_checkpoint(p))
            hint = f" (this row has checkpoints for: {', '.join(others)})" if others else ""
            raise UserError(f"--resume: no checkpoint for this row, seed and config in {workdir}{hint}; "
                            "run without --resume to start")
        run_state.verify(workdir)
        _note(f"resuming from the checkpoint in {workdir}")
        return True
    if present and run_state.finished(workdir) is None:
        run_state.verify(workdir)
        _note(f"resuming the interrupted run in {workdir} (same row, seed and config); --fresh starts over instead")
        return True
    if present:
        done = run_state.finished(workdir)
        _note(f"starting a new run: the checkpoint in {workdir} is of a finished run ({done.get('status')}, record "
              f"{done.get('record')}), which --resume would continue instead")
    run_state.discard(workdir)  # a finished run's checkpoint, or the bookkeeping of a run that never checkpointed
    return False


def _interrupted_text(workdir: Path) -> str:
    if run_state.has_checkpoint(workdir):  # e.g. stopped during the final test: the next run resumes from there
        return "interrupted outside the protocol's checkpointing; its last checkpoint is kept and a rerun resumes it"
    return "interrupted before the protocol could checkpoint; a rerun starts the run afresh"


def _progress_sink(progress, full: str):
    """``(callback, line to close or None)``: the caller's callable, a stderr progress line, or nothing."""
    if callable(progress):
        return progress, None
    if progress:
        line = ProgressLine(prefix=f"{full}: ")
        return line, line
    return silent, None


def _record_base(run: dict, cfg: dict, fingerprint: str) -> dict:
    """The record keys the runner knows before the protocol runs."""
    full = run["full"]
    return {
        "id": full,
        "title": cfg.get("title"),
        "paper": full.split("/", 1)[0],
        "table": cfg.get("table"),
        "row": cfg.get("row"),
        "section": cfg.get("section"),
        "smoke": run["smoke"],
        "seed": run["seed"],
        "fingerprint": fingerprint,
        "overrides": run["overrides"],  # --set values (and --trials): a row run off the paper's config says so
        "reported": cfg.get("reported") or {},
        "config": cfg,
    }


def _write_segment(record: dict, out_path: Path, start: str, backend: str, previous: list, workdir: Path,
                   code: tuple) -> Path:
    """Add provenance and the run block, write the record (never over another) and list it as a segment."""
    prov = records.provenance(None, start, records.utc_now(), backend, code)
    record["provenance"] = prov
    record["run"] = run_state.run_block(previous, prov["wall_seconds"], record["repeated_sequences"])
    written = run_state.write_new_record(out_path, record)
    run_state.add_segment(workdir, {"start": prov["start"], "end": prov["end"], "seconds": prov["wall_seconds"],
                                    "status": record["status"], "record": str(written)})
    return written


def _call_protocol(protocol: TrainingProtocol, experiment, cfg: dict, seed: int, workdir: Path, resume: bool,
                   callback) -> RunResult:
    with sigterm_as_interrupt():
        return protocol.run(
            experiment=experiment,
            task_cfg=cfg["task"],
            model_cfg=cfg["model"],
            seed=seed,
            workdir=workdir,
            resume=resume,
            progress=tee_progress_file(callback),  # also to $LSTM_HIST_PROGRESS_FILE: a campaign's live view
        )


def _run_segment(run, cfg, experiment, protocol, workdir, resume, fingerprint, backend, progress, stdout) -> Path:
    seed = run["seed"]
    callback, line = _progress_sink(progress, run["full"])
    start = records.utc_now()
    # The code that runs is the code checked out now: commits land during a segment of hours, and the record,
    # written at its end, must not name one of them.
    code = records.git_state()
    # Listed before the protocol starts, so a segment killed without a record still counts when the run resumes
    # (choose_start has emptied the folder unless this run resumes).
    previous = run_state.begin_segment(workdir, start, cfg)
    out_path = run_state.record_path(run["out_dir"], run["full"], run["smoke"], seed, start)
    base = _record_base(run, cfg, fingerprint)
    try:
        result = _call_protocol(protocol, experiment, cfg, seed, workdir, resume, callback)
    except UserError:
        run_state.forget_segment(workdir)
        raise  # e.g. missing data: the user fixes it; there is no run to record
    except BaseException as exc:
        if line is not None:
            line.close()
        error = (_interrupted_text(workdir) if isinstance(exc, KeyboardInterrupt)
                 else "".join(traceback.format_exception_only(type(exc), exc)).strip())
        fields = contract.failed_record_fields(seed, error)
        if isinstance(exc, KeyboardInterrupt):  # a stop, not a fault: a rerun resumes (or starts) the run
            fields["status"] = "interrupted"
        written = _write_segment({**base, **fields}, out_path, start, backend, previous, workdir, code)
        print(f"record ({fields['status']}): {written}", file=sys.stderr)
        raise
    if line is not None:
        line.close()
    record = {**base, **contract.record_fields(result, seed)}
    kept = keep_final_weights(out_path, result)  # <record stem>.weights.npz, for `lstm-hist evaluate`
    if kept is not None:
        record["final_weights"] = kept  # names its file, so a record renamed on a clash still finds it
    out_path = _write_segment(record, out_path, start, backend, previous, workdir, code)
    print_summary(record, out_path, stdout)
    if record["status"] == "interrupted":
        again = resume_command(run["full"], smoke=run["smoke"], trials=run["trials"], seed=seed,
                               overrides=run["overrides"], out_dir=run["out_dir"])
        print(f"interrupted; checkpoint in {workdir}; continue with: {again} (a plain run resumes too)", file=stdout)
    return out_path


def resume_command(exp_id, *, smoke, trials, seed, overrides, out_dir) -> str:
    """The command that continues this run: the same config, seed and output (the checkpoint checks them)."""
    args = ["lstm-hist", "run", exp_id]
    if smoke:
        args.append("--smoke")
    if trials is not None:
        args += ["--trials", str(trials)]
    if seed:
        args += ["--seed", str(seed)]
    for item in overrides:
        args += ["--set", item]
    if Path(out_dir) != Path("runs"):
        args += ["--out", str(out_dir)]
    return shlex.join(args + ["--resume"])
