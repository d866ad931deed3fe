"""One campaign task: ``python -m lstm_hist run ID --seed S --out DIR`` in a subprocess, with its thread limits.

Running the CLI, not the runner in-process, keeps everything that makes a run safe the run command's own: its
signal handling, its interrupted record and checkpoint, its lock, its exit status (0 completed, 2 user error,
3 diverged, 130 interrupted, 1 a bug). The task only starts it, stops it (SIGTERM: the run checkpoints and writes an
*interrupted* record) when the campaign is stopped or ``--time-limit`` or ``--until`` passes, and reports what it
wrote; a task whose turn comes after ``--until`` does not start.

On a Ray node that does not share the output folder with the driver, the run writes into a scratch folder; the
task unpacks the kept checkpoint it was handed there first and returns the new records and the (small)
checkpoint as bytes for the driver to write into the output folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lstm_hist.campaign import keep
from lstm_hist.seed_stats import record_seed

GRACE_SECONDS = 120.0  # time a stopped run gets to checkpoint and write its record before it is killed
START_MARGIN = 60.0  # a task reaching its turn with less than this before --until does not start
STATUS_BY_RC = {0: "completed", 2: "user error", 3: "diverged", 130: "interrupted"}


def command(spec: dict, out: str) -> list[str]:
    args = [spec.get("python") or sys.executable, "-m", "lstm_hist", "run", spec["id"], "--seed", str(spec["seed"]),
            "--out", out, "--quiet"]
    if spec.get("smoke"):
        args.append("--smoke")
    if spec.get("backend"):
        args += ["--backend", spec["backend"]]
    for item in spec.get("overrides") or ():
        args += ["--set", item]
    return args


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the run gets SIGTERM (and so checkpoints) if the task's process dies, instead of running on alone."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _records(folder: Path, exp_id: str, seed: int) -> dict[str, float]:
    found = {}
    for path in folder.glob(exp_id.split("/", 1)[1] + "*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("id") == exp_id and record_seed(record) == seed:
            found[path.name] = path.stat().st_mtime
    return found


def stop_requested(spec: dict, stop: Any = None) -> bool:
    """The campaign's stop request: ``stop`` (a threading.Event, or engine.RayStop) or, on the driver's machine,
    its stop file."""
    return (stop is not None and stop.is_set()) or bool(spec.get("stop_path") and os.path.exists(spec["stop_path"]))


def _wait(child: subprocess.Popen, spec: dict, stop: Any) -> bool:
    """Wait for the run; SIGTERM it on a stop request or at the time limit. True if the task stopped it."""
    deadline = _deadline(spec)
    stopped = cancelled = False
    while True:
        try:
            child.wait(timeout=0.5)
            return stopped
        except subprocess.TimeoutExpired:
            pass
        except KeyboardInterrupt:  # Ctrl-C reaching the task's process
            cancelled = True
        expired = deadline is not None and time.monotonic() > deadline
        if not stopped and (expired or cancelled or stop_requested(spec, stop)):
            child.send_signal(signal.SIGTERM)
            stopped = True
            deadline = time.monotonic() + GRACE_SECONDS
        elif stopped and expired:
            child.kill()


def _deadline(spec: dict) -> float | None:
    """When (time.monotonic) the run gets SIGTERM: --time-limit after its start or --until, whichever is first."""
    ends = []
    if spec.get("time_limit"):
        ends.append(time.monotonic() + spec["time_limit"])
    if spec.get("until"):
        ends.append(time.monotonic() + spec["until"] - time.time())
    return min(ends) if ends else None


def run_task(spec: dict, stop: Any = None) -> dict:
    """Run one (row, seed); ``stop`` has ``is_set()`` (a threading.Event, or engine.RayStop) or is None."""
    started = time.time()
    if spec.get("until") and started > spec["until"] - START_MARGIN:
        return {"id": spec["id"], "seed": spec["seed"], "rc": None, "stopped": False, "not_started": True,
                "records": [], "seconds": 0.0, "node": _node_id(), "remote": False, "log_tail": ""}
    paper = spec["id"].split("/", 1)[0]
    remote = bool(spec.get("driver_node")) and spec["driver_node"] != _node_id()
    scratch = tempfile.mkdtemp(prefix="lstm-hist-campaign-") if remote else None
    out = scratch or spec["out"]
    folder = Path(out) / paper
    folder.mkdir(parents=True, exist_ok=True)
    if remote and spec.get("restore"):
        keep.unpack(spec["restore"], folder)
    before = _records(folder, spec["id"], spec["seed"])
    log_path = Path(spec["log_path"]) if not remote else Path(scratch) / "run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.get("env", {}), "PYTHONUNBUFFERED": "1"}
    if spec.get("progress_path") and not remote:
        Path(spec["progress_path"]).unlink(missing_ok=True)  # an earlier session's progress is not this run's
        env["LSTM_HIST_PROGRESS_FILE"] = spec["progress_path"]
    cwd = spec.get("cwd") if spec.get("cwd") and Path(spec["cwd"]).is_dir() else None
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(command(spec, out))}\n".encode())
        log.flush()
        child = subprocess.Popen(command(spec, out), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                 preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        stopped = _wait(child, spec, stop)
    after = _records(folder, spec["id"], spec["seed"])
    new = sorted((name for name in after if before.get(name) != after[name]), key=after.get)
    result = {"id": spec["id"], "seed": spec["seed"], "rc": child.returncode, "stopped": stopped,
              "records": [f"{paper}/{name}" for name in new], "seconds": round(time.time() - started, 1),
              "node": _node_id(), "remote": remote, "log_tail": _tail(log_path)}
    if remote:
        result["files"] = _ship(folder, paper, new, spec)
    return result


def _ship(folder: Path, paper: str, new: list[str], spec: dict) -> dict[str, bytes]:
    """The records (and weights files) the run wrote, and its checkpoint folder as an archive, for the driver."""
    files = {}
    for name in new:
        for path in (folder / name, folder / name.replace(".json", ".weights.npz")):
            if path.is_file():
                files[f"{paper}/{path.name}"] = path.read_bytes()
    stem = spec["id"].split("/", 1)[1] + (".smoke" if spec.get("smoke") else "")
    archive = keep.pack(folder / f"{stem}.work", folder, spec.get("keep_limit"))
    if archive is not None:
        files["checkpoint.tgz"] = archive
    return files


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _node_id() -> str | None:
    if "ray" not in sys.modules:
        return None
    try:
        return sys.modules["ray"].get_runtime_context().get_node_id()
    except Exception:  # not inside Ray (the local engine)
        return None
