"""Run one experiment end to end: config → protocol → run record → paper-vs-ours table.

The runner knows no paper and no training loop. It resolves the config (``--smoke``, ``--set``, ``--trials``),
hands the experiment to its protocol, and writes whatever comes back as a record, including runs that were
interrupted (resumable) or crashed (with the error), so no outcome goes unrecorded.
"""

from __future__ import annotations

import inspect
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from lstm_hist import interrupt, records, run_state
from lstm_hist.backend import current_backend
from lstm_hist.config import apply_overrides, apply_smoke, paper_metrics
from lstm_hist.errors import ConfigError, UserError
from lstm_hist.progress import ProgressLine, silent
from lstm_hist.progress_file import tee as tee_progress_file
from lstm_hist.registry import load
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
    return full, path, experiment, cfg


def build_protocol(experiment: Any, cfg: dict, path: Path) -> Any:
    """``experiment.protocol(**cfg["protocol"])``; a constructor's ValueError is the config's fault."""
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
    the default stderr line. Protocols must return a result with ``status``, ``metrics()``, ``per_trial()``,
    ``seeds`` and ``repeated_sequences`` (see docs/architecture.md).
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
        previous = run_state.segments(workdir) if resume else []
        run = dict(full=full, smoke=smoke, trials=trials, seed=seed, overrides=overrides, out_dir=out_dir)
        return _run_segment(run, cfg, experiment, protocol, workdir, resume, previous, fingerprint, backend,
                            progress, stdout)
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
    return "interrupted before the protocol could checkpoint"


def _progress_sink(progress, full: str):
    """``(callback, line to close or None)``: the caller's callable, a stderr progress line, or nothing."""
    if callable(progress):
        return progress, None
    if progress:
        line = ProgressLine(prefix=f"{full}: ")
        return line, line
    return silent, None


def _run_segment(run, cfg, experiment, protocol, workdir, resume, previous, fingerprint, backend, progress,
                 stdout) -> Path:
    full, smoke, seed, overrides = run["full"], run["smoke"], run["seed"], run["overrides"]
    callback, line = _progress_sink(progress, full)

    start = records.utc_now()
    out_path = run_state.record_path(run["out_dir"], full, smoke, seed, start)
    base = {
        "id": full,
        "title": cfg.get("title"),
        "paper": full.split("/", 1)[0],
        "table": cfg.get("table"),
        "row": cfg.get("row"),
        "section": cfg.get("section"),
        "smoke": smoke,
        "seed": seed,
        "fingerprint": fingerprint,
        "overrides": overrides,  # --set values (and --trials): a row run off the paper's config says so
        "reported": cfg.get("reported") or {},
        "config": cfg,
    }

    def finish(record: dict) -> Path:
        prov = records.provenance(None, start, records.utc_now(), backend)
        record["provenance"] = prov
        record["run"] = run_state.run_block(previous, prov["wall_seconds"], record["repeated_sequences"])
        written = run_state.write_new_record(out_path, record)
        run_state.add_segment(workdir, {"start": prov["start"], "end": prov["end"], "seconds": prov["wall_seconds"],
                                        "status": record["status"], "record": str(written)})
        return written

    try:
        with sigterm_as_interrupt():
            result = protocol.run(
                experiment=experiment,
                task_cfg=cfg["task"],
                model_cfg=cfg["model"],
                seed=seed,
                workdir=workdir,
                resume=resume,
                progress=tee_progress_file(callback),  # also to $LSTM_HIST_PROGRESS_FILE: a campaign's live view
            )
    except UserError:
        raise  # e.g. missing data: the user fixes it; there is no run to record
    except BaseException as exc:
        if line is not None:
            line.close()
        interrupted = isinstance(exc, KeyboardInterrupt)
        written = finish({
            **base,
            "status": "failed",
            "error": _interrupted_text(workdir) if interrupted
            else "".join(traceback.format_exception_only(type(exc), exc)).strip(),
            "metrics": {},
            "seeds": {"base": seed},
            "trials": [],
            "repeated_sequences": 0,
        })
        print(f"record (failed): {written}", file=sys.stderr)
        raise
    if line is not None:
        line.close()

    seeds = dict(getattr(result, "seeds", None) or {})
    seeds.setdefault("base", seed)
    record = {
        **base,
        "status": result.status,
        "metrics": result.metrics(),
        "seeds": seeds,
        "trials": result.per_trial(),
        "repeated_sequences": int(getattr(result, "repeated_sequences", 0) or 0),
    }
    kept = keep_final_weights(out_path, result)  # <record stem>.weights.npz, for `lstm-hist evaluate`
    if kept is not None:
        record["final_weights"] = kept  # names its file, so a record renamed on a clash still finds it
    out_path = finish(record)
    print_summary(record, out_path, stdout)
    if record["status"] == "interrupted":
        again = resume_command(full, smoke=smoke, trials=run["trials"], seed=seed, overrides=overrides,
                               out_dir=run["out_dir"])
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


# ------------------------------------------------------------------------------------------------ printing


def fmt(value: Any) -> str:
    """Compact human number: 1,234,567 · 0.0123 · 97.5 · — for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def trial_values(key: str, trials: list[dict]) -> list[float]:
    """Per-trial numbers behind a summary metric: ``key`` itself, or ``key`` minus ``_mean``/``_median``.

    When trials carry a ``solved`` flag only solved trials count: the summary metrics (like the paper's means)
    are over the trials that met the criterion.
    """
    trials = [t for t in trials if isinstance(t, dict)]
    if any("solved" in t for t in trials):
        trials = [t for t in trials if t.get("solved")]
    for candidate in (key, key.removesuffix("_mean"), key.removesuffix("_median")):
        values = [t.get(candidate) for t in trials]
        values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(values) >= 2:
            return values
    return []


def spread(key: str, trials: list[dict]) -> str:
    values = trial_values(key, trials)
    if not values:
        return ""
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{fmt(min(values))}–{fmt(max(values))} (sd {fmt(sd)}, n={len(values)})"


def table_lines(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return lines


def print_summary(record: dict, path: Path, stream: TextIO) -> None:
    """The paper-vs-ours table for one record."""
    reported, metrics = paper_metrics(record.get("reported")), record.get("metrics") or {}
    trials = record.get("trials") or []
    where = " ".join(str(x) for x in (record.get("section"), record.get("table"), record.get("row")) if x)
    print(f"\n{record['id']} — {record.get('title') or ''} ({where})", file=stream)
    print(f"status: {record['status']}" + ("  [smoke run: not comparable to the paper]" if record.get("smoke") else ""),
          file=stream)
    keys = list(reported) + [k for k in metrics if k not in reported]
    rows = [[k, fmt(reported.get(k)) if k in reported else "", fmt(metrics.get(k)), spread(k, trials)] for k in keys]
    headers = ["metric", "paper", "ours", "per-trial spread (solved trials)"]
    if not any(row[3] for row in rows):  # no trials to spread over: no empty column
        headers, rows = headers[:3], [row[:3] for row in rows]
    if rows:
        for line in table_lines(headers, rows):
            print("  " + line, file=stream)
    prov = record.get("provenance", {})
    run = record.get("run") or {}
    total = (f" ({run['train_seconds_total']} s over {run['segments']} segments, "
             f"{run.get('repeated_sequences', 0):,} sequences repeated)" if run.get("segments", 1) > 1 else "")
    print(f"backend {prov.get('backend')} on {prov.get('device')}, wall {prov.get('wall_seconds')} s{total}",
          file=stream)
    if record["status"] == "completed" and not record.get("smoke"):
        print_verdicts(record, stream)
    print(f"record: {path}", file=stream)


def print_verdicts(record: dict, stream: TextIO) -> None:
    """One verdict line per number the paper reports, and where docs/deviations.md discusses the row."""
    from lstm_hist.deviations import pointer
    from lstm_hist.tolerance import record_verdicts

    judged = record_verdicts(record)  # the scorecard's rule, so the run and docs/results.md agree
    for one in judged:
        print(f"verdict: {one.text}", file=stream)
    if not judged:
        print("verdict: none (no tolerance in configs/<paper>/_paper.yaml or the row covers these numbers, "
              "or the paper's numbers are on other data)", file=stream)
    print(pointer(record.get("paper") or record["id"].split("/", 1)[0], record.get("section")), file=stream)


# -------------------------------------------------------------------------------------------------- bench


def bench_experiment(
    exp_id: str,
    *,
    updates: int | None = None,
    trials: int | None = None,
    seed: int = 0,
    overrides: Iterable[str] = (),
    save_dir: str | Path | None = None,
    stdout: TextIO | None = None,
) -> dict:
    """Time the experiment's protocol for a few updates (``protocol.bench``) and print what it reports.

    With ``save_dir`` the result is also written as ``<save_dir>/estimates/<paper>.<stem>.json``
    (``kind: "estimate"``), which the report shows for rows that have no record yet.
    """
    stdout = stdout or sys.stdout
    if updates is not None and updates < 1:
        raise UserError(f"--updates must be at least 1, got {updates}")
    full, path, experiment, cfg = resolve(exp_id, trials=trials, overrides=overrides)
    protocol = build_protocol(experiment, cfg, path)
    if not hasattr(protocol, "bench"):
        raise UserError(f"{full}: protocol {type(protocol).__name__} has no bench()")
    kwargs: dict[str, Any] = {"updates": updates} if updates is not None else {}
    if _accepts(protocol.bench, "reported"):  # lets bench scale its timing to the paper's sequence counts
        kwargs["reported"] = cfg.get("reported") or {}
    backend = current_backend()
    start = records.utc_now()
    result = dict(protocol.bench(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=seed,
                                 **kwargs))
    end = records.utc_now()
    print(f"{full} — bench ({type(protocol).__name__}, backend {backend})", file=stdout)
    for line in table_lines(["quantity", "value"], [[k, _bench_value(k, v)] for k, v in result.items()]):
        print("  " + line, file=stdout)
    if save_dir is not None:
        paper, stem = full.split("/", 1)
        estimate = {"kind": "estimate", "id": full, "bench": result, "config": cfg,
                    "provenance": records.provenance(None, start, end, backend)}
        out = records.write_record(Path(save_dir) / "estimates" / f"{paper}.{stem}.json", estimate)
        print(f"estimate: {out}", file=stdout)
    return result


def _accepts(func: Callable, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _bench_value(key: str, value: Any) -> str:
    from lstm_hist.progress import format_duration

    if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith(("seconds", "_s")):
        return f"{fmt(value)} ({format_duration(value)})" if value >= 60 else fmt(value)
    return fmt(value)
