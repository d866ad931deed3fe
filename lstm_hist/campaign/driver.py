"""``lstm-hist campaign``: rows × seeds as tasks on Ray, each one ``run`` with its own record and checkpoint.

Re-running the same command continues a campaign: (row, seed)s with a completed record of the same config are
skipped, those with a checkpoint resume (kept archives are unpacked first: keep.py), the rest start. Resumes are
submitted before starts: a run partly done finishes (and frees its kept checkpoint) before new ones take the CPUs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from lstm_hist import interrupt, records, seed_stats
from lstm_hist.backend import current_backend
from lstm_hist.campaign import keep, monitor, selection, state
from lstm_hist.campaign.engine import LocalEngine, RayEngine, cluster_address
from lstm_hist.campaign.resources import idle_cpus_hint, resources_for, thread_env
from lstm_hist.campaign.task import STATUS_BY_RC

SCRATCH = ".campaign"  # logs and progress files under the output folder; ignored by git


def default_out(smoke: bool) -> str:
    """``results/`` (committed, what the report reads); smoke campaigns, not comparable to the paper, ``runs/``."""
    return "runs" if smoke else "results"


def _resolve_all(ids: list[str], smoke: bool, overrides: list[str]) -> tuple[dict[str, dict], dict[str, Any]]:
    """(id → resolved config, id → Experiment); every --set is checked for every row before anything starts."""
    from lstm_hist.runner import build_protocol, resolve

    configs, experiments = {}, {}
    for exp_id in ids:
        _, path, experiment, cfg = resolve(exp_id, smoke=smoke, overrides=overrides)
        build_protocol(experiment, cfg, path)  # a protocol the config cannot build fails here, once
        configs[exp_id], experiments[exp_id] = cfg, experiment
    return configs, experiments


def _spec(item: state.Planned, args: Any, out: Path, backend: str, resources) -> dict:
    paper = item.id.split("/", 1)[0]
    stem = state.row_stem(item.id, args.smoke)
    scratch = out / SCRATCH / f"{paper}.{stem}-seed{item.seed}"
    restore = keep.pack(item.workdir, out / paper, args.keep_limit) if item.workdir else None
    return {"id": item.id, "seed": item.seed, "smoke": args.smoke, "overrides": list(args.set), "backend": backend,
            "out": str(out), "cwd": os.getcwd(), "python": sys.executable, "time_limit": args.time_limit,
            "until": getattr(args, "until", None),
            "env": thread_env(resources, dict(os.environ)),
            "progress_path": str(scratch) + ".progress", "log_path": str(scratch) + ".log",
            "restore": restore, "keep_limit": args.keep_limit, "stop_path": str(_stop_file(out, args))}


def _stop_file(out: Path, args: Any) -> Path:
    """The file whose existence tells this campaign's tasks on this machine to stop their runs."""
    if not getattr(args, "_stop_token", None):
        args._stop_token = f"{os.getpid()}-{time.time_ns()}"
    return out / SCRATCH / f"stop-{args._stop_token}"


def _restore_kept(items: list[state.Planned], out: Path, smoke: bool, stream: TextIO) -> int:
    restored = 0
    for item in items:
        if item.action == "skip":
            continue
        archive = keep.archive_path(out, item.id, state.row_stem(item.id, smoke), item.seed, item.fingerprint)
        if keep.restore(archive, out / item.id.split("/", 1)[0]):
            print(f"restored the kept checkpoint of {item.label} from {archive}", file=stream)
            restored += 1
    return restored


def _after_task(result: dict, item: state.Planned, out: Path, args: Any) -> str:
    """Write what a remote task shipped, keep or drop the row's kept checkpoint; return the outcome. A checkpoint
    too large to keep sets ``result["not_kept"]`` to its bytes, for the caller to say so."""
    if result.get("not_started"):  # past --until: nothing ran, the row's files are as they were
        return "not run"
    paper = item.id.split("/", 1)[0]
    for name, data in (result.get("files") or {}).items():
        if name == "checkpoint.tgz":
            keep.unpack(data, out / paper)
        else:
            keep.atomic_write(out / name, lambda handle, data=data: handle.write(data))
    status = None
    for name in result.get("records") or ():
        try:
            status = json.loads((out / name).read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError):
            pass
    outcome = status or STATUS_BY_RC.get(result.get("rc"), f"exit {result.get('rc')}")
    archive = keep.archive_path(out, item.id, state.row_stem(item.id, args.smoke), item.seed, item.fingerprint)
    if outcome == "completed":
        archive.unlink(missing_ok=True)
    else:
        workdir = state.checkpoint_dir(out, item.id, args.smoke, item.seed, item.fingerprint)
        if workdir is not None and args.keep_limit > 0 and keep.keep(archive, workdir, out / paper,
                                                                     args.keep_limit) is None:
            size = keep.folder_size(workdir) if workdir.is_dir() else 0
            if size > args.keep_limit:
                result["not_kept"] = size
    return outcome


def _print_plan(items: list[state.Planned], engine_text: str, out: Path, mon: monitor.Monitor) -> None:
    counts = {a: sum(i.action == a for i in items) for a in ("skip", "resume", "start")}
    mon.print(f"campaign: {len(items)} task(s) → {out}: {counts['start']} to start, {counts['resume']} to resume, "
              f"{counts['skip']} already complete (skipped); {engine_text}")
    for item in items:
        where = item.record.name if item.record else (str(item.workdir) if item.workdir else "")
        mon.print(f"  {item.action:<6} {item.label}  {where}".rstrip())


def _pool_cpus(args: Any) -> int | None:
    """The CPUs an embedded Ray or the local pool gets (both default to the machine's); None for a cluster."""
    if args.engine == "ray" and cluster_address(args.address):
        return None
    return args.num_cpus or os.cpu_count()


def run_campaign(args: Any, stream: TextIO | None = None) -> int:
    stream = stream or sys.stdout
    ids = selection.select_rows(args.rows, paper=args.paper, table=args.table)
    seeds = selection.parse_seeds(args.seeds)
    backend = current_backend()
    out = Path(args.out or default_out(args.smoke)).resolve()
    configs, experiments = _resolve_all(ids, args.smoke, list(args.set))
    replan = lambda: state.plan(out, configs, seeds, smoke=args.smoke, backend=backend,  # noqa: E731
                                experiments=experiments)
    items = replan()
    if _restore_kept(items, out, args.smoke, stream):
        items = replan()
    mon = monitor.Monitor(stream, args.status_every)
    todo = sorted((item for item in items if item.action != "skip"), key=lambda item: item.action != "resume")
    res = {i: resources_for(i, cpus=args.cpus_per_task, gpus=args.gpus_per_task, memory_gib=args.memory_per_task)
           for i in ids}
    hint = idle_cpus_hint(len(todo), _pool_cpus(args), args.cpus_per_task)
    if args.dry_run or not todo:
        _print_plan(items, "dry run" if args.dry_run else "nothing to run", out, mon)
        if hint:  # None when nothing is to run
            mon.print(hint)
        return _finish(ids, configs, items, args, mon, {}, stopped=False) if not args.dry_run else 0

    if args.engine == "local":
        engine: Any = LocalEngine(args.num_cpus, args.num_gpus, next(iter(res.values())))
    else:
        engine = RayEngine(args.address, args.num_cpus, args.num_gpus)
    outcomes: dict[str, int] = {}
    stopped = False
    try:
        _print_plan(items, engine.describe(), out, mon)
        asks = sorted({r.describe() for exp_id, r in res.items() if any(i.id == exp_id for i in todo)})
        mon.print(f"each task asks for {' or '.join(asks)}, with as many compute threads as CPUs")
        if hint:
            mon.print(hint)
        pending: dict[Any, list[tuple[state.Planned, dict]]] = {}
        log_sizes: dict[str, int] = {}  # a task's log grown past its size at submission marks it as running
        for item in todo:
            resources = res[item.id]
            engine.check(resources, item.label)
            spec = _spec(item, args, out, backend, resources)
            log_sizes[spec["log_path"]] = _size(spec["log_path"])
            pending[engine.submit([spec], resources)] = [(item, spec)]
        with interrupt.stop_on_signals():
            stopped = _loop(engine, pending, out, args, mon, outcomes, log_sizes)
    finally:
        engine.shutdown()
        _stop_file(out, args).unlink(missing_ok=True)
    return _finish(ids, configs, replan(), args, mon, outcomes, stopped)


def _loop(engine, pending, out, args, mon, outcomes, log_sizes) -> bool:
    """Collect results until every task ended; a Ctrl-C/SIGTERM stops the runs (they checkpoint) and waits."""
    stopped = False
    while pending:
        try:
            if interrupt.requested() and not stopped:
                raise KeyboardInterrupt
            for handle, result in engine.wait(list(pending), timeout=1.0):
                members = pending.pop(handle)
                results = result if isinstance(result, list) else []
                for (item, _), res in zip(members, results):
                    outcome = _after_task(res, item, out, args)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    when = "(its turn came after --until)" if res.get("not_started") else f"after {res['seconds']} s"
                    mon.print(f"{outcome}: {item.label} {when}"
                              + (f" ({', '.join(res['records'])})" if res.get("records") else ""))
                    if res.get("not_kept"):
                        # else "run the same command again" reads as if any machine could continue it
                        mon.print(f"  its checkpoint ({res['not_kept'] / 1e6:.1f} MB) is over --keep-limit "
                                  f"({args.keep_limit:,} bytes), so it is not kept under {out / keep.KEEP_FOLDER}: "
                                  "only this machine can resume the run (a larger --keep-limit keeps it)")
                    if outcome not in ("completed", "interrupted", "diverged") and res.get("log_tail"):
                        mon.print("  " + res["log_tail"].replace("\n", "\n  "))
                for item, _ in members[len(results):]:
                    outcome = "not run"
                    if isinstance(result, BaseException) and not stopped:
                        outcome = f"task error: {type(result).__name__}: {result}".splitlines()[0]
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    mon.print(f"{outcome}: {item.label}")
            if pending and mon.due():
                mon.status(_counts(pending, outcomes, log_sizes, getattr(engine, "address", None)),
                           _running(pending, log_sizes))
        except KeyboardInterrupt:
            if stopped:
                continue
            stopped = True
            mon.print("campaign stopping: the running rows checkpoint and write interrupted records "
                      "(run the same command again to continue)")
            stop_file = _stop_file(out, args)
            stop_file.parent.mkdir(parents=True, exist_ok=True)
            stop_file.touch()
            engine.stop(list(pending))
    return stopped


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def _started(spec: dict, log_sizes: dict[str, int]) -> bool:
    """A started task appends its command line to its log (task.run_task). Sizes, not mtimes: the kernel's coarse
    timestamps can date that first write before the instant the driver read the clock, and a quiet run never
    writes its log again."""
    return _size(spec["log_path"]) > log_sizes.get(spec["log_path"], -1)


def _running(pending, log_sizes) -> list[tuple[str, Path]]:
    rows = []
    for members in pending.values():
        live = [(item, spec) for item, spec in members if _started(spec, log_sizes)]
        if live:
            item, spec = live[-1]
            rows.append((item.label, Path(spec["progress_path"])))
    return rows


def _counts(pending, outcomes, log_sizes, cluster) -> dict[str, int]:
    """A task counts as running once its log here was written; on a cluster, others may run on other nodes."""
    running = sum(1 for members in pending.values() if any(_started(s, log_sizes) for _, s in members))
    queued = sum(len(members) for members in pending.values()) - running
    waiting = "queued or running on other nodes" if cluster else "queued"
    return {"done": sum(outcomes.values()), "running here" if cluster else "running": running, waiting: queued}


def _finish(ids, configs, items, args, mon, outcomes, stopped) -> int:
    seeds = list(dict.fromkeys(item.seed for item in items))
    out = Path(args.out or default_out(args.smoke)).resolve()
    per_seed: dict[str, dict[int, dict]] = {}
    for item in items:
        if item.record is not None:
            per_seed.setdefault(item.id, {})[item.seed] = json.loads(item.record.read_text(encoding="utf-8"))
    done = sum(1 for item in items if item.action == "skip")
    mon.print(f"\ncampaign summary: {done}/{len(items)} (row, seed) complete in {out}"
              + (f"; this session: {', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}" if outcomes else ""))
    for line in monitor.summary_lines(ids, configs, per_seed, seeds, _row_groups(per_seed, items)):
        mon.print("  " + line)
    if done < len(items):
        mon.print(f"to continue: run the same command again ({len(items) - done} (row, seed) left)")
    return exit_status(outcomes, stopped)


def _row_groups(per_seed: dict[str, dict[int, dict]], items) -> dict[str, list[dict]]:
    """Per row this campaign has a record of: every seed of that record's config in the record's folder."""
    folders = {item.id: item.record.parent for item in items if item.record is not None}
    loaded = {folder: records.load_records(folder) for folder in set(folders.values())}
    return {exp_id: seed_stats.config_seeds(loaded[folders[exp_id]], record)
            for exp_id, by_seed in per_seed.items() if by_seed
            for record in [by_seed[max(by_seed)]]}


def exit_status(outcomes: dict[str, int], stopped: bool) -> int:
    """130 stopped by the user; 1 a task crashed or failed; 2 a user error; 3 a row diverged; 130 a row was
    interrupted (``--time-limit``); else 0."""
    if stopped:
        return 130
    if any(k not in ("completed", "interrupted", "diverged", "user error", "not run") for k in outcomes):
        return 1
    for name, code in (("user error", 2), ("diverged", 3), ("interrupted", 130), ("not run", 130)):
        if outcomes.get(name):
            return code
    return 0
