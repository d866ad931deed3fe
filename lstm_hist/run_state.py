"""Run state, in one place: the config fingerprint, where a run's checkpoint lives, its lock, atomic checkpoint
save/load, and the segments a resumed run is made of.

The rules (README "Records and results", docs/architecture.md "Records"):

* A run is identified by its row, seed and **fingerprint**: a hash of the resolved task, model and protocol
  (minus the protocol fields a resume may change, e.g. ``epochs``), the seed and the backend. Its checkpoint
  folder is ``<out>/<paper>/<row>.work/seed<S>-<fingerprint[:12]>/``, so runs of other seeds or configs in the
  same ``--out`` never share (or delete) each other's checkpoints.
* A **lock** file in that folder names the run holding it (pid, host, start, command); a second live run on the
  same folder refuses with exit 2. The lock is an ``flock`` held for the life of the process, so the kernel frees
  it when a run dies; a lock file left by a dead pid on this host is taken over with a message.
* Records get a new, never-overwritten file: ``<row>-seed<S>-<UTC time>-<6 hex>.json``.
* Checkpoints are ``<name>.json`` (state, fingerprint, the sha256 of the arrays) plus ``<name>.npz`` (arrays),
  both written atomically, the JSON last; a missing, truncated or changed file is a :class:`UserError` that
  says how to start over (``--fresh``).
* ``run.json`` in the folder lists the segments of the run (wall seconds, status, record), so the final record
  carries the cost of all of them, and holds the run's resolved config (its ``--set`` overrides applied), so a
  checkpoint can be read back into the net that wrote it (``run_config``). A segment is listed as ``running``
  when it begins; one that died without a record (SIGKILL, a machine restart) is still ``running`` when the next
  segment begins, which counts it as ``killed`` with the wall seconds up to its last checkpoint (the work after
  that is lost and redone).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from lstm_hist.contract import TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.records import atomic_write, iso_time, to_jsonable

LOCK_FILE = "lock"
RUN_FILE = "run.json"
PROGRESS_FILE = "progress.json"
# Bookkeeping files of this module: their presence alone is not a checkpoint to resume.
_BOOKKEEPING = (LOCK_FILE, RUN_FILE, PROGRESS_FILE)
FRESH_HINT = "start over with --fresh"


# ---------------------------------------------------------------------------------------------- identity


def fingerprint(task_cfg: dict, model_cfg: dict, protocol: Any, seed: int, backend: str | None = None) -> str:
    """What makes a checkpoint resumable, as 16 hex digits.

    ``protocol`` is the protocol dataclass (every field, defaults included) or a plain dict; fields named in its
    ``TrainingProtocol.resumable_changes`` (e.g. ``epochs``: asking for more is allowed) are left out, and so are
    those in its ``fingerprint_omits_defaults`` while they hold their default.
    """
    from lstm_hist.backend import current_backend

    if dataclasses.is_dataclass(protocol) and not isinstance(protocol, type):
        fields = dataclasses.asdict(protocol)
    else:
        fields = dict(protocol or {})
    if isinstance(protocol, TrainingProtocol):
        for name in protocol.resumable_changes:
            fields.pop(name, None)
        defaults = {f.name: _default(f) for f in dataclasses.fields(protocol)} if dataclasses.is_dataclass(protocol) else {}
        for name in protocol.fingerprint_omits_defaults:
            if name in fields and fields[name] == defaults.get(name, dataclasses.MISSING):
                fields.pop(name)
    text = json.dumps({"task": task_cfg, "model": model_cfg, "protocol": fields, "seed": int(seed),
                       "backend": backend or current_backend()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _default(field: dataclasses.Field) -> Any:
    """A dataclass field's default, also when it comes from a ``default_factory`` (e.g. an empty dict)."""
    if field.default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _row_stem(exp_id: str, smoke: bool) -> tuple[str, str]:
    paper, stem = exp_id.split("/", 1)
    return paper, f"{stem}{'.smoke' if smoke else ''}"


def checkpoint_dir(out_dir: str | Path, exp_id: str, smoke: bool, seed: int, fp: str) -> Path:
    paper, stem = _row_stem(exp_id, smoke)
    return Path(out_dir) / paper / f"{stem}.work" / f"seed{int(seed)}-{fp[:12]}"


_SEED_FOLDER = re.compile(r"seed(\d+)-[0-9a-f]+")


def checkpoint_owner(workdir: str | Path) -> tuple[str, bool, int] | None:
    """The row's name within its paper, the smoke flag and the seed of a folder laid out as :func:`checkpoint_dir`
    lays it out (``<row>[.smoke].work/seed<S>-<fp12>``); None for any other folder. The paper folder above is not
    read: a kept archive holds the layout from ``<row>.work`` down, and tools read copies extracted anywhere."""
    workdir = Path(workdir)
    seed, work = _SEED_FOLDER.fullmatch(workdir.name), workdir.parent.name
    if seed is None or not work.endswith(".work"):
        return None
    stem = work.removesuffix(".work")
    return stem.removesuffix(".smoke"), stem.endswith(".smoke"), int(seed.group(1))


def record_path(out_dir: str | Path, exp_id: str, smoke: bool, seed: int, start: dt.datetime) -> Path:
    """A record name no other run uses: row, seed, UTC start time and 6 random hex digits."""
    paper, stem = _row_stem(exp_id, smoke)
    when = start.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return Path(out_dir) / paper / f"{stem}-seed{int(seed)}-{when}-{secrets.token_hex(3)}.json"


def write_new_record(path: Path, record: dict) -> Path:
    """Write ``record`` to ``path`` atomically without ever replacing an existing file (a fresh random suffix is
    drawn on the improbable clash). Returns the path written."""
    text = json.dumps(to_jsonable(record), indent=2, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}.staged")
        atomic_write(staged, lambda handle: handle.write(text.encode("utf-8")))
        try:
            os.link(staged, path)  # fails if the name exists: never overwrite
            return path
        except FileExistsError:
            path = path.with_name(f"{path.stem.rsplit('-', 1)[0]}-{secrets.token_hex(3)}.json")
        finally:
            staged.unlink(missing_ok=True)
    raise RuntimeError(f"could not find a free record name beside {path}")


# -------------------------------------------------------------------------------------------------- lock


class RunLock:
    """An exclusive lock on a checkpoint folder for the life of this process (see the module docstring)."""

    def __init__(self, folder: Path, info: dict):
        self.path = Path(folder) / LOCK_FILE
        self.info = info
        self.fd: int | None = None

    def acquire(self, note=print) -> "RunLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read_lock(fd)
                os.close(fd)
                raise UserError(f"another run is using {self.path.parent}: {_describe(other)}; wait for it to end, "
                                "or use another --out or --seed") from None
            try:  # the file may have been removed and recreated between our open and our flock
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        previous = _read_lock(fd)
        if previous and previous.get("pid") is not None:
            if previous.get("host") != socket.gethostname():
                os.close(fd)
                raise UserError(f"{self.path} names a run on another host ({_describe(previous)}); if that run has "
                                "ended, delete the lock file and run again")
            note(f"taking over the lock of a run that is no longer running ({_describe(previous)})")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self.info).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)  # an empty lock file names nobody: the next run takes it without a message
        os.close(self.fd)  # closing drops the flock
        self.fd = None


def lock_info(command: str | None = None) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "start": iso_time(dt.datetime.now(dt.timezone.utc)),
            "command": command if command is not None else " ".join(sys.argv)}


def _read_lock(fd: int) -> dict:
    try:
        text = os.pread(fd, 65536, 0).decode("utf-8", "replace")
        value = json.loads(text) if text.strip() else {}
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    if not info:
        return "a run that did not say who it is"
    return (f"pid {info.get('pid')} on {info.get('host')}, started {info.get('start')}"
            + (f" ({info['command']})" if info.get("command") else ""))


# ------------------------------------------------------------------------------------------- checkpoints


def save(workdir: Path | None, name: str, state: dict, arrays: dict | None = None, *, fingerprint: str) -> None:
    """Write checkpoint ``name``: ``<name>.npz`` (if ``arrays``) then ``<name>.json``, each atomically.

    The JSON, written last, carries the fingerprint and the arrays' sha256, so a reader can tell a checkpoint
    whose parts do not belong together."""
    if workdir is None:
        return
    import numpy as np

    meta = {**state, "fingerprint": fingerprint}
    if arrays is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getvalue()
        atomic_write(Path(workdir) / f"{name}.npz", lambda handle: handle.write(data))
        meta["arrays_sha256"] = hashlib.sha256(data).hexdigest()
    text = json.dumps(to_jsonable(meta)).encode()
    atomic_write(Path(workdir) / f"{name}.json", lambda handle: handle.write(text))


def exists(workdir: Path | None, name: str) -> bool:
    return workdir is not None and (Path(workdir) / f"{name}.json").is_file()


def load(workdir: Path | None, name: str, *, fingerprint: str) -> tuple[dict, dict | None]:
    """``(state, arrays or None)`` of checkpoint ``name``; a UserError saying what is wrong if it is missing,
    unreadable, of another config or seed, or its arrays are missing, truncated or changed."""
    import numpy as np

    folder = Path(workdir) if workdir is not None else None
    meta_path = folder / f"{name}.json" if folder is not None else None
    if meta_path is None or not meta_path.is_file():
        raise UserError(f"nothing to resume: no checkpoint {name}.json in {folder}; run without --resume, "
                        f"or {FRESH_HINT}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise UserError(f"the checkpoint {meta_path} is unreadable ({exc}); {FRESH_HINT}") from None
    if meta.pop("fingerprint", None) != fingerprint:
        raise UserError(f"the checkpoint in {folder} was made with a different config, seed or backend; "
                        f"{FRESH_HINT}")
    digest = meta.pop("arrays_sha256", None)
    if digest is None:
        return meta, None
    npz = folder / f"{name}.npz"
    try:
        data = npz.read_bytes()
    except OSError as exc:
        raise UserError(f"the checkpoint's arrays {npz} are missing or unreadable ({exc.strerror}); "
                        f"{FRESH_HINT}") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise UserError(f"the checkpoint's arrays {npz} are truncated or changed (checksum differs from "
                        f"{name}.json); {FRESH_HINT}")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return meta, {key: arrays[key] for key in arrays.files}


def verify(workdir: Path) -> None:
    """Check every checkpoint under ``workdir`` the way :func:`load` does (readable JSON, arrays present and
    matching their checksum), before a run announces that it resumes; the fingerprint is the protocol's to check."""
    for meta_path in sorted(Path(workdir).rglob("*.json")):
        if meta_path.name in _BOOKKEEPING or meta_path.name.startswith("."):
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            digest = meta.get("arrays_sha256") if isinstance(meta, dict) else None
        except (OSError, ValueError) as exc:
            raise UserError(f"the checkpoint {meta_path} is unreadable ({exc}); {FRESH_HINT}") from None
        npz = meta_path.with_suffix(".npz")
        if digest is not None and (not npz.is_file() or hashlib.sha256(npz.read_bytes()).hexdigest() != digest):
            what = "missing" if not npz.is_file() else "truncated or changed (checksum differs)"
            raise UserError(f"the checkpoint's arrays {npz} are {what}; {FRESH_HINT}")


def note_progress(workdir: Path | None, seen: int) -> None:
    """How far training got since the last checkpoint: a resume reports the difference as repeated work."""
    if workdir is not None:
        text = json.dumps({"seen": int(seen)}).encode()
        atomic_write(Path(workdir) / PROGRESS_FILE, lambda handle: handle.write(text))


def progress_reached(workdir: Path | None, default: int) -> int:
    try:
        return int(json.loads((Path(workdir) / PROGRESS_FILE).read_text())["seen"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def _saved_files(workdir: Path):
    """The files a protocol saved in the folder (its subfolders included), bookkeeping aside."""
    return (p for p in Path(workdir).rglob("*")
            if p.is_file() and p.name not in _BOOKKEEPING and not p.name.startswith("."))


def has_checkpoint(workdir: Path) -> bool:
    """Whether the folder holds anything a protocol saved (its subfolders included), besides bookkeeping."""
    return Path(workdir).is_dir() and any(_saved_files(workdir))


def discard(workdir: Path) -> None:
    """Delete everything in the folder but the lock (which this run holds)."""
    for entry in Path(workdir).iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- segments


def _run_file(workdir: Path) -> dict:
    try:
        value = json.loads((Path(workdir) / RUN_FILE).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _listed(run: dict) -> list[dict]:
    listed = run.get("segments")
    return [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []


def segments(workdir: Path) -> list[dict]:
    """The segments of the run in ``workdir`` as listed (oldest first); [] when there are none."""
    return _listed(_run_file(workdir))


def run_config(workdir: Path) -> dict | None:
    """The resolved config of the run in ``workdir`` (as its records carry it), or None for a folder written before
    run.json kept it."""
    config = _run_file(workdir).get("config")
    return config if isinstance(config, dict) else None


def _write_segments(workdir: Path, every: list[dict], config: dict | None = None, kept: dict | None = None) -> None:
    """Write ``every`` as the segments, keeping run.json's other keys (``kept``: the file as the caller read it)."""
    kept = _run_file(workdir) if kept is None else kept
    value = {**kept, "segments": every, **({"config": config} if config is not None else {})}
    text = json.dumps(to_jsonable(value), indent=1).encode()
    atomic_write(Path(workdir) / RUN_FILE, lambda handle: handle.write(text))


def last_checkpoint_time(workdir: Path) -> dt.datetime | None:
    """When the protocol last saved anything in ``workdir`` (newest file time, bookkeeping aside)."""
    times = [p.stat().st_mtime for p in _saved_files(workdir)]
    return dt.datetime.fromtimestamp(max(times), dt.timezone.utc) if times else None


def _as_killed(segment: dict, workdir: Path) -> dict:
    """A segment still ``running`` while another begins died without a record: count it up to its last
    checkpoint, the last moment whose work the next segment keeps."""
    if segment.get("status") != "running":
        return segment
    start = _parse_time(segment.get("start"))
    saved = last_checkpoint_time(workdir)
    end = saved if start is not None and saved is not None and saved > start else start
    seconds = round((end - start).total_seconds(), 3) if start is not None else 0.0
    return {**segment, "status": "killed", "end": iso_time(end) if end is not None else None, "seconds": seconds,
            "note": "ended without a record (killed); seconds up to its last checkpoint"}


def begin_segment(workdir: Path, start: dt.datetime, config: dict | None = None) -> list[dict]:
    """List a new segment as ``running`` (the caller holds the lock), with the run's resolved ``config``; returns
    the earlier segments, any that died without a record counted as ``killed``."""
    kept = _run_file(workdir)
    before = [_as_killed(s, workdir) for s in _listed(kept)]
    _write_segments(workdir, before + [{"start": iso_time(start), "status": "running", "pid": os.getpid(),
                                        "host": socket.gethostname()}], config, kept)
    return before


def _without_own_entry(workdir: Path) -> list[dict]:
    """The listed segments minus this process's trailing ``running`` entry (the caller holds the lock)."""
    every = segments(workdir)
    return every[:-1] if every and every[-1].get("status") == "running" else every


def forget_segment(workdir: Path) -> None:
    """Unlist this process's ``running`` entry: a segment that stopped on the user's error (e.g. missing data)
    trained nothing and writes no record, so the next segment must not count it as killed."""
    _write_segments(workdir, _without_own_entry(workdir))


def add_segment(workdir: Path, segment: dict) -> list[dict]:
    """Replace this process's ``running`` entry (if any) by the finished ``segment``; returns every segment."""
    every = _without_own_entry(workdir) + [segment]
    _write_segments(workdir, every)
    return every


def finished(workdir: Path) -> dict | None:
    """The last segment if it ended the run (completed or diverged), else None."""
    done = segments(workdir)
    return done[-1] if done and done[-1].get("status") in ("completed", "diverged") else None


def run_block(previous: list[dict], seconds: float, repeated: int) -> dict:
    """The record's ``run`` block: all segments' wall seconds, their number (``killed_segments``: how many of
    them died without a record, when any did), the sequences trained twice."""
    block = {"segments": len(previous) + 1,
             "train_seconds_total": round(sum(float(s.get("seconds") or 0) for s in previous) + seconds, 3),
             "repeated_sequences": int(repeated)}
    killed = sum(1 for s in previous if s.get("status") == "killed")
    if killed:
        block["killed_segments"] = killed
    return block


def _parse_time(text: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
