"""Run records: the single source of every reproduced number, and where it came from.

A record is one JSON file per run. It is written atomically (temp file in the same directory, fsync, rename) so a
killed run never leaves a half-written file for the report to trip over, and it carries enough provenance (commit,
versions, backend, device, command, times) that a number in docs/results.md can be traced and rerun.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, Callable

import lstm_hist
from lstm_hist.lock import lock_provenance

BACKEND_PACKAGES = {"jax": ("jax", "jaxlib"), "tensorflow": ("tensorflow",), "torch": ("torch",)}


# ------------------------------------------------------------------------------------------------- writing


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from numpy scalars/arrays, Paths, tuples; non-finite floats become None (strict JSON).

    Raises TypeError for anything else, so a bug shows up before the record file is touched.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array, without importing numpy
        return to_jsonable(value.tolist())
    raise TypeError(f"record value of type {type(value).__name__} is not JSON-serializable: {value!r}")


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    A crash or an exception leaves either the old file or the complete new one, never a partial file.
    Records, checkpoints and progress markers all go through here.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a record is as readable as any file the user makes
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_record(path: str | Path, record: dict) -> Path:
    """Write ``record`` as JSON to ``path`` atomically; an existing file is replaced only by a complete one."""
    text = json.dumps(to_jsonable(record), indent=2, allow_nan=False) + "\n"  # fails before any file is opened
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def load_records(directory: str | Path) -> list[tuple[Path, dict]]:
    """Every JSON record under ``directory`` (recursively), sorted by path; unreadable files are skipped with a
    warning. ``*.work`` checkpoint folders are not records and are not read."""
    directory = Path(directory)
    out, not_records = [], []
    if not directory.is_dir():
        return out
    for path in sorted(directory.rglob("*.json")):
        if any(part.endswith(".work") for part in path.relative_to(directory).parts[:-1]):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.warn(f"skipping unreadable record {path}: {exc}", stacklevel=2)
            continue
        if not isinstance(record, dict) or "id" not in record:
            not_records.append(path)
            continue
        out.append((path, record))
    if not_records:
        # Tool outputs and profiles live beside the records they describe; one line for all of them keeps a real
        # problem (an unreadable record, above) visible instead of buried under dozens of these.
        shown = ", ".join(str(p.relative_to(directory)) for p in not_records[:3])
        more = f", and {len(not_records) - 3} more" if len(not_records) > 3 else ""
        warnings.warn(f"skipping {len(not_records)} JSON file(s) under {directory} that are not run records "
                      f"(no 'id'): {shown}{more}", stacklevel=2)
    return out


# ---------------------------------------------------------------------------------------------- provenance


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def provenance(
    command: str | None,
    start: dt.datetime,
    end: dt.datetime,
    backend: str | None,
    code: tuple[str | None, bool | None] | None = None,
) -> dict[str, Any]:
    """Where a number came from: commit, versions, backend, device, command, times.

    ``command`` defaults to ``sys.argv`` joined; ``backend`` defaults to ``KERAS_BACKEND``; ``code`` is the
    ``(commit, dirty)`` of :func:`git_state` taken when the work began (default: now). Backend libraries are
    only asked for their device when already imported, so a record never costs a fresh framework import.
    """
    backend = backend or os.environ.get("KERAS_BACKEND")
    commit, dirty = code if code is not None else git_state()
    return {
        "commit": commit,
        "dirty": dirty,
        "versions": versions(backend),
        "constraints": lock_provenance(repo_root()),  # the pinned environment (lstm_hist.lock)
        "backend": backend,
        "device": device(backend),
        "cpu": cpu_description(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "command": command if command is not None else " ".join(sys.argv),
        "start": iso_time(start),
        "end": iso_time(end),
        "wall_seconds": round((end - start).total_seconds(), 3),
    }


def iso_time(moment: dt.datetime) -> str:
    """``moment`` as the records write it: UTC, to the second, ``Z``-suffixed (naive times taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def repo_root() -> Path:
    return Path(lstm_hist.__file__).resolve().parent.parent


def git_state() -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the repo holding the package; ``(None, None)`` without git or commits.

    ``dirty`` counts tracked changes outside ``results/``: records and kept checkpoints there are the runs'
    output (a campaign updates and deletes them as it resumes and completes runs), not the code that ran.
    """
    root = repo_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions(backend: str | None) -> dict[str, str | None]:
    """Versions of lstm-hist, keras, numpy and the backend's libraries (from metadata: no imports)."""
    out = {"lstm_hist": lstm_hist.__version__, "keras": _version("keras"), "numpy": _version("numpy")}
    for dist in BACKEND_PACKAGES.get(backend or "", ()):
        out[dist] = _version(dist)
    return out


def cpu_description() -> str:
    """``cpu: <model name>, N cores``."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model}, {os.cpu_count()} cores"


def device(backend: str | None) -> str:
    """The accelerator the backend computes on, or the CPU description."""
    try:
        if backend == "jax" and "jax" in sys.modules:
            devices = sys.modules["jax"].devices()
            if devices and devices[0].platform != "cpu":
                return f"{devices[0].platform}: {devices[0].device_kind} x{len(devices)}"
        elif backend == "tensorflow" and "tensorflow" in sys.modules:
            tf = sys.modules["tensorflow"]
            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
                return f"gpu: {name} x{len(gpus)}"
        elif backend == "torch" and "torch" in sys.modules:
            torch = sys.modules["torch"]
            if torch.cuda.is_available():
                return f"gpu: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    except Exception:  # a device query must never lose a finished run's record
        pass
    return cpu_description()
